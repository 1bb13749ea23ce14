package dashboard

import (
	"errors"
	"net/http"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/ratelimit"
)

type signinView struct {
	page
	Email string
}

func (h *Handler) signinPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, "signin", http.StatusOK, signinView{page: page{Title: "Sign in"}})
}

// signin checks the email and password and opens a session: a new token each time, so a token
// planted before sign-in is worth nothing after. Every failure gets one answer (gateway.ErrSignIn).
func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.message(w, http.StatusRequestEntityTooLarge, "Refused", "The form is larger than a sign-in can be.")
		return
	}
	email := r.PostForm.Get("email")
	v := signinView{page: page{Title: "Sign in"}, Email: email}
	// Failed sign-ins count against the address's auth tier, with the API's failed proofs: an
	// address over it is refused before any password is checked.
	addr := h.clientAddress(r)
	if h.cfg.Limiter != nil {
		d, err := h.cfg.Limiter.Peek(r.Context(), ratelimit.Auth, addr)
		if err != nil {
			h.failed(w, r, err)
			return
		}
		if !d.Allowed {
			d.SetHeaders(w.Header())
			v.Error = "Too many failed attempts from your address: wait and try again later."
			h.render(w, "signin", http.StatusTooManyRequests, v)
			return
		}
	}
	if c, err := r.Cookie(CookieName); err == nil {
		_ = h.svc.SignOut(r.Context(), c.Value) // whatever session the browser had ends here
	}
	token, u, err := h.svc.SignIn(r.Context(), email, r.PostForm.Get("password"), r.PostForm.Get("code"), addr, r.UserAgent())
	if errors.Is(err, gateway.ErrSignIn) {
		h.cfg.Log.Warn("dashboard: sign-in refused", "client", addr)
		if h.cfg.Limiter != nil {
			if _, err := h.cfg.Limiter.Take(r.Context(), ratelimit.Auth, addr); err != nil {
				h.cfg.Log.Error("rate limit", "err", err)
			}
		}
		v.Error, _ = userMessage(err)
		h.render(w, "signin", http.StatusUnauthorized, v)
		return
	} else if err != nil {
		h.failed(w, r, err)
		return
	}
	h.cfg.Log.Info("dashboard: signed in", "user", u.ID, "client", addr)
	h.setCookie(w, token)
	http.Redirect(w, r, "/dashboard/", http.StatusSeeOther)
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		if err := h.svc.SignOut(r.Context(), c.Value); err != nil {
			h.failed(w, r, err)
			return
		}
	}
	h.clearCookie(w)
	http.Redirect(w, r, "/dashboard/signin", http.StatusSeeOther)
}
