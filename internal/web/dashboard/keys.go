package dashboard

import (
	"net/http"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

type keyRow struct {
	ID, Hint, Created, Revoked string
}

type keysView struct {
	*scope
	Keys []keyRow
	// New is the key pair just made: shown on this answer only.
	New *gateway.KeyPair
}

// keys lists the project's API keys of the mode (hints only), with the forms that make one (shown
// once) and revoke one, each with a two-factor code.
func (h *Handler) keys(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.renderKeys(w, r, u, http.StatusOK, "", nil)
}

func (h *Handler) renderKeys(w http.ResponseWriter, r *http.Request, u *gateway.User, status int, errText string, made *gateway.KeyPair) {
	values := r.URL.Query()
	if r.Method == http.MethodPost {
		values = r.PostForm
	}
	sc := h.scopeOf(w, r, u, values, "API keys")
	if sc == nil {
		return
	}
	sc.Nav, sc.Error = "keys", errText
	if r.URL.Query().Get("done") == "revoked" {
		sc.Notice = "Key revoked: requests with it are refused from now on."
	}
	list, err := h.svc.ProjectKeys(r.Context(), sc.pr)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	v := keysView{scope: sc, New: made}
	for _, c := range list {
		row := keyRow{ID: c.ID, Hint: c.KeyHint, Created: c.CreatedAt.UTC().Format(time.RFC3339)}
		if c.RevokedAt != nil {
			row.Revoked = c.RevokedAt.UTC().Format(time.RFC3339)
		}
		v.Keys = append(v.Keys, row)
	}
	h.render(w, "keys", status, v)
}

// createKey makes a key pair and shows it in this answer, once: the page is not stored and
// nothing shows the secret again.
func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	var made gateway.KeyPair
	h.run(w, r, u, action{title: "API keys", perm: gateway.PermKeys, code: true,
		act:   func(pr *gateway.Principal) (err error) { made, _, err = h.svc.CreateKey(r.Context(), pr); return err },
		again: func(status int, msg string) { h.renderKeys(w, r, u, status, msg, nil) },
		done:  func(*scope) { h.renderKeys(w, r, u, http.StatusOK, "", &made) }})
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.run(w, r, u, action{title: "API keys", perm: gateway.PermKeys, code: true,
		act:   func(pr *gateway.Principal) error { return h.svc.RevokeKey(r.Context(), pr, r.PathValue("id")) },
		again: func(status int, msg string) { h.renderKeys(w, r, u, status, msg, nil) },
		done:  func(sc *scope) { back(w, r, "/dashboard/keys", sc, "done=revoked") }})
}
