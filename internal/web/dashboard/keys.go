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
	h.keyAction(w, r, u, func(pr *gateway.Principal) (*gateway.KeyPair, error) {
		kp, _, err := h.svc.CreateKey(r.Context(), pr)
		return &kp, err
	})
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.keyAction(w, r, u, func(pr *gateway.Principal) (*gateway.KeyPair, error) {
		return nil, h.svc.RevokeKey(r.Context(), pr, r.PathValue("id"))
	})
}

func (h *Handler) keyAction(w http.ResponseWriter, r *http.Request, u *gateway.User, act func(*gateway.Principal) (*gateway.KeyPair, error)) {
	if err := r.ParseForm(); err != nil {
		h.message(w, http.StatusRequestEntityTooLarge, "Refused", "The form is larger than it can be.")
		return
	}
	sc := h.scopeOf(w, r, u, r.PostForm, "API keys")
	if sc == nil {
		return
	}
	made, err := func() (*gateway.KeyPair, error) {
		pr, err := h.acting(r, u, sc, gateway.PermKeys)
		if err != nil {
			return nil, err
		}
		return act(pr)
	}()
	if msg, ok := userMessage(err); ok {
		h.renderKeys(w, r, u, statusOf(err), msg, nil)
		return
	} else if err != nil {
		h.failed(w, r, err)
		return
	}
	if made == nil {
		h.cfg.Log.Info("dashboard: key revoked", "user", u.ID, "key", r.PathValue("id"))
		http.Redirect(w, r, "/dashboard/keys?"+string(sc.Query())+"&done=revoked", http.StatusSeeOther)
		return
	}
	h.cfg.Log.Info("dashboard: key created", "user", u.ID)
	h.renderKeys(w, r, u, http.StatusOK, "", made)
}
