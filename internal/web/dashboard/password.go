package dashboard

import (
	"net/http"

	"github.com/stablegate/stablegate/internal/gateway"
)

type passwordView struct {
	page
	Done bool
}

func (h *Handler) passwordPage(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.render(w, "password", http.StatusOK, passwordView{page: page{Title: "Password", User: u}, Done: r.URL.Query().Get("done") == "1"})
}

// password changes the signed-in user's password, given the current one; the user's other
// sessions end.
func (h *Handler) password(w http.ResponseWriter, r *http.Request, sess *gateway.Session, u *gateway.User) {
	if err := r.ParseForm(); err != nil {
		h.message(w, http.StatusRequestEntityTooLarge, "Refused", "The form is larger than a password change can be.")
		return
	}
	err := h.svc.ChangePassword(r.Context(), u, sess, r.PostForm.Get("current"), r.PostForm.Get("password"))
	if msg, ok := userMessage(err); ok {
		h.render(w, "password", http.StatusBadRequest, passwordView{page: page{Title: "Password", User: u, Error: msg}})
		return
	} else if err != nil {
		h.failed(w, r, err)
		return
	}
	h.cfg.Log.Info("dashboard: password changed", "user", u.ID)
	http.Redirect(w, r, "/dashboard/password?done=1", http.StatusSeeOther)
}
