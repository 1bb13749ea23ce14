package dashboard

import (
	"net/http"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

type depositRow struct {
	Reference, ChainID, Amount, Currency, Status, TxHash, ExplorerURL, From, Seen string
}

type referenceView struct {
	Reference, Address, Protocol, Bound, Unbound string
	Balances                                     []balanceRow
	Pending                                      map[string]string
}

type depositsView struct {
	*scope
	Reference string
	Found     *referenceView
	Deposits  []depositRow
	Total     int
}

// deposits lists the latest deposits to the project's deposit addresses (?reference=… narrows
// them to one reference and shows its address and its user balances).
func (h *Handler) deposits(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	sc := h.scopeOf(w, r, u, r.URL.Query(), "Deposits")
	if sc == nil {
		return
	}
	sc.Nav = "deposits"
	ctx := r.Context()
	v := depositsView{scope: sc, Reference: strings.TrimSpace(r.URL.Query().Get("reference"))}
	if v.Reference != "" {
		b, _, err := h.svc.DepositReference(ctx, sc.pr, v.Reference)
		if msg, ok := userMessage(err); ok {
			sc.Error = msg
		} else if err != nil {
			h.failed(w, r, err)
			return
		} else {
			ref := &referenceView{Reference: b.Reference, Address: b.Address, Protocol: string(b.Protocol), Bound: b.BoundAt.UTC().Format(time.RFC3339)}
			if b.UnboundAt != nil {
				ref.Unbound = b.UnboundAt.UTC().Format(time.RFC3339)
			}
			bs, err := h.svc.UserBalances(ctx, sc.pr, v.Reference)
			if err != nil {
				h.failed(w, r, err)
				return
			}
			for _, x := range bs {
				tok, _ := h.svc.ChainRegistry().Token(x.ChainID, x.Currency)
				ref.Balances = append(ref.Balances, balanceRow{ChainID: x.ChainID, Currency: x.Currency, Available: money.Format(x.Available, tok.Decimals),
					Held: money.Format(x.Held, tok.Decimals), Pending: money.Format(x.Pending, tok.Decimals)})
			}
			v.Found = ref
		}
	}
	f := gateway.DepositFilter{Page: 1, Limit: 50}
	if v.Found != nil {
		f.Reference = v.Found.Reference
	}
	list, total, err := h.svc.ListDeposits(ctx, sc.pr, f)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	v.Total = total
	for _, d := range list {
		c, _ := h.svc.ChainRegistry().Lookup(d.ChainID)
		tok, _ := c.Token(d.Currency)
		v.Deposits = append(v.Deposits, depositRow{Reference: d.Reference, ChainID: d.ChainID, Amount: money.Format(d.Amount, tok.Decimals), Currency: d.Currency,
			Status: d.Status, TxHash: d.TxHash, ExplorerURL: c.TxURL(d.TxHash), From: d.From, Seen: d.SeenAt.UTC().Format(time.RFC3339)})
	}
	h.render(w, "deposits", http.StatusOK, v)
}
