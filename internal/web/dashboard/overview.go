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
	*scope
	Total, Completed, Pending int
	Orders                    []orderRow
}

// overview shows one project of the user in one mode: its order counts and recent orders.
func (h *Handler) overview(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	sc := h.scopeOf(w, r, u, r.URL.Query(), "")
	if sc == nil {
		return
	}
	ctx, pr := r.Context(), sc.pr
	sc.Title, sc.Nav = sc.Member.Project, "overview"
	v := overviewView{scope: sc}
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
