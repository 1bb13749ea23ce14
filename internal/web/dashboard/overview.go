package dashboard

import (
	"net/http"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

type orderRow struct {
	ID, Reference, Status, Amount, Currency, ChainID, Created string
}

type chainRow struct {
	ChainID, State string
	OK             bool
}

type overviewView struct {
	*scope
	Total, Completed, Pending int
	Orders                    []orderRow
	Balances                  []balanceRow
	Wallets                   []hotWalletRow
	Chains                    []chainRow
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
		v.Orders = append(v.Orders, orderRowOf(o))
	}
	bs, err := h.svc.Balances(ctx, pr)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	for _, b := range bs {
		tok, _ := h.svc.ChainRegistry().Token(b.ChainID, b.Currency)
		v.Balances = append(v.Balances, balanceRow{ChainID: b.ChainID, Currency: b.Currency, Available: money.Format(b.Available, tok.Decimals),
			Held: money.Format(b.Held, tok.Decimals), Pending: money.Format(b.Pending, tok.Decimals)})
	}
	watched := map[string]bool{}
	for _, c := range h.svc.EnabledChains(pr.Mode) {
		watched[c.Slug] = true
		if c.Protocol == chain.EVM && !pr.Project.WatchOnly() {
			addr, err := h.svc.HotWalletAddress(ctx, pr.Project.ID, pr.Mode, c.Slug)
			if err != nil {
				h.failed(w, r, err)
				return
			}
			v.Wallets = append(v.Wallets, hotWalletRow{ChainID: c.Slug, Address: addr})
		}
	}
	if h.cfg.Chains != nil {
		for _, c := range h.cfg.Chains() {
			d, ok := c.(interface{ DegradedReason() (string, string) })
			if !ok {
				continue
			}
			slug, why := d.DegradedReason()
			if !watched[slug] {
				continue // the other mode's chain
			}
			row := chainRow{ChainID: slug, State: "following the chain", OK: why == ""}
			if why != "" {
				row.State = why
			}
			v.Chains = append(v.Chains, row)
		}
	}
	h.render(w, "overview", http.StatusOK, v)
}
