package dashboard

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

type auditRow struct {
	At, Action, Actor, Address, Subject, Details, Mode string
}

type auditView struct {
	*scope
	Lines       []auditRow
	Page, Pages int
}

// audit lists the project's audit log in the mode, with the project-wide lines, newest first:
// who did what, when, from where (owners and admins: it shows who moved money where).
func (h *Handler) audit(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	sc := h.scopeOf(w, r, u, r.URL.Query(), "Audit log")
	if sc == nil {
		return
	}
	sc.Nav = "audit"
	if !sc.Member.Role.Can(gateway.PermSettings) {
		h.message(w, http.StatusForbidden, "Refused", "Your role in this project ("+string(sc.Member.Role)+") does not show the audit log.")
		return
	}
	v := auditView{scope: sc, Page: 1}
	if p, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && p > 1 && p < 1_000_000 {
		v.Page = p
	}
	lines, total, err := h.svc.Store.ListAudit(r.Context(), gateway.AuditFilter{ProjectID: sc.pr.Project.ID, Mode: sc.pr.Mode, Page: v.Page, Limit: 50})
	if err != nil {
		h.failed(w, r, err)
		return
	}
	v.Pages = max(1, (total+49)/50)
	for _, l := range lines {
		details, _ := json.Marshal(l.Details)
		v.Lines = append(v.Lines, auditRow{At: l.CreatedAt.UTC().Format(time.RFC3339), Action: string(l.Action), Actor: string(l.Actor.Kind) + " " + l.Actor.ID,
			Address: l.Actor.Address, Subject: l.Subject, Details: string(details), Mode: string(l.Mode)})
	}
	h.render(w, "audit", http.StatusOK, v)
}
