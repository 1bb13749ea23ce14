package dashboard

import (
	"net/http"

	"github.com/stablegate/stablegate/internal/gateway"
)

type securityView struct {
	page
	Enrolment *gateway.Enrolment
	CodesLeft int
	Due       bool
}

// securityPage shows whether two-factor authentication is on, or the enrolment under way: the
// QR code, the secret to type instead, and the form that confirms it with a first code.
func (h *Handler) securityPage(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.renderSecurity(w, r, u, http.StatusOK, "")
}

func (h *Handler) renderSecurity(w http.ResponseWriter, r *http.Request, u *gateway.User, status int, errText string) {
	v := securityView{page: page{Title: "Security", User: u, Nav: "security", Error: errText}}
	if u.TwoFactor() {
		n, err := h.svc.RecoveryCodesLeft(r.Context(), u)
		if err != nil {
			h.failed(w, r, err)
			return
		}
		v.CodesLeft = n
	} else {
		e, err := h.svc.PendingTwoFactor(u)
		if err != nil {
			h.failed(w, r, err)
			return
		}
		v.Enrolment = e
		members, err := h.svc.Memberships(r.Context(), u)
		if err != nil {
			h.failed(w, r, err)
			return
		}
		v.Due = gateway.TwoFactorDue(h.cfg.TwoFactor, u, members)
	}
	h.render(w, "security", status, v)
}

// securityQR is the pending enrolment's QR code (an image, so that the page needs no script).
func (h *Handler) securityQR(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	e, err := h.svc.PendingTwoFactor(u)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	if e == nil {
		h.message(w, http.StatusNotFound, "Not found", "There is no enrolment under way.")
		return
	}
	png, err := e.QR(240)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(png)
}

// securityBegin makes a new secret to enrol (replacing one not yet confirmed).
func (h *Handler) securityBegin(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	if _, err := h.svc.BeginTwoFactor(r.Context(), u); err != nil {
		if msg, ok := userMessage(err); ok {
			h.renderSecurity(w, r, u, statusOf(err), msg)
			return
		}
		h.failed(w, r, err)
		return
	}
	http.Redirect(w, r, "/dashboard/security", http.StatusSeeOther)
}

type recoveryView struct {
	page
	Codes []string
}

// securityConfirm turns two-factor authentication on with a first code of the pending secret
// and shows the recovery codes, once: the page is not stored, and nothing shows them again.
func (h *Handler) securityConfirm(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	if err := r.ParseForm(); err != nil {
		h.message(w, http.StatusRequestEntityTooLarge, "Refused", "The form is larger than a code can be.")
		return
	}
	codes, err := h.svc.ConfirmTwoFactor(r.Context(), u, r.PostForm.Get("code"))
	if msg, ok := userMessage(err); ok {
		h.renderSecurity(w, r, u, statusOf(err), msg)
		return
	} else if err != nil {
		h.failed(w, r, err)
		return
	}
	h.cfg.Log.Info("dashboard: two-factor authentication on", "user", u.ID)
	h.render(w, "recovery", http.StatusOK, recoveryView{page: page{Title: "Recovery codes", User: u, Nav: "security"}, Codes: codes})
}
