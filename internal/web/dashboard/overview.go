package dashboard

import (
	"net/http"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

type orderRow struct {
	ID, Reference, Status, Amount, Currency, ChainID, Created string
}

type overviewView struct {
	page
	Members                   []gateway.Membership
	Total, Completed, Pending int
	Orders                    []orderRow
}

// overview shows one project of the user in one mode (?project=…&mode=test|live; the first
// project and test mode by default): its order counts and recent orders.
func (h *Handler) overview(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	ctx := r.Context()
	members, err := h.svc.Memberships(ctx, u)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	if len(members) == 0 {
		h.message(w, http.StatusOK, "No project", "Your account belongs to no project yet: ask a project's owner to invite you.")
		return
	}
	projectID := r.URL.Query().Get("project")
	if projectID == "" {
		projectID = members[0].ProjectID
	}
	mode := gateway.Test
	if r.URL.Query().Get("mode") == "live" {
		mode = gateway.Live
	}
	pr, _, err := h.svc.MemberPrincipal(ctx, u, projectID, mode)
	if gateway.ErrorCode(err) == gateway.ENotFound {
		h.message(w, http.StatusNotFound, "Not found", "There is no such project among yours.")
		return
	} else if err != nil {
		h.failed(w, r, err)
		return
	}
	v := overviewView{Members: members}
	for i := range members {
		if members[i].ProjectID == pr.Project.ID {
			v.page = page{Title: members[i].Project, User: u, Member: &members[i], Live: mode.Live()}
		}
	}
	orders, total, err := h.svc.ListOrders(ctx, pr, gateway.OrderFilter{Page: 1, Limit: 10})
	if err != nil {
		h.failed(w, r, err)
		return
	}
	v.Total = total
	for _, st := range []struct {
		status gateway.OrderStatus
		n      *int
	}{{gateway.OrderCompleted, &v.Completed}, {gateway.OrderPending, &v.Pending}} {
		if _, *st.n, err = h.svc.ListOrders(ctx, pr, gateway.OrderFilter{Status: st.status, Page: 1, Limit: 1}); err != nil {
			h.failed(w, r, err)
			return
		}
	}
	for _, o := range orders {
		v.Orders = append(v.Orders, orderRow{ID: o.ID, Reference: o.Reference, Status: string(o.Status), Amount: money.Format(o.Amount, o.Token.Decimals),
			Currency: o.Currency, ChainID: o.ChainID, Created: o.CreatedAt.UTC().Format(time.RFC3339)})
	}
	h.render(w, "overview", http.StatusOK, v)
}
