package dashboard

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

type balanceRow struct {
	ChainID, Currency, Available, Held, Pending string
}

type payoutsView struct {
	*scope
	Balances []balanceRow
	// Options are the chain and currency pairs a payout may use ("bsc USDT").
	Options                          []string
	Reference                        string
	Option, Amount, Address, Confirm string
}

// payoutsPage shows the project's balances and the payout form. The form carries a reference
// made when it is shown, so that sending it twice (a double click, a reload) makes one payout.
func (h *Handler) payoutsPage(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.renderPayouts(w, r, u, r.URL.Query(), http.StatusOK, "")
}

func (h *Handler) renderPayouts(w http.ResponseWriter, r *http.Request, u *gateway.User, values url.Values, status int, errText string) {
	sc := h.scopeOf(w, r, u, values, "Payouts")
	if sc == nil {
		return
	}
	sc.Nav, sc.Error = "payouts", errText
	v := payoutsView{scope: sc, Reference: values.Get("reference"), Option: values.Get("option"), Amount: values.Get("amount"), Address: values.Get("address")}
	if !validReferenceField(v.Reference) {
		v.Reference = "payout_" + gateway.NewID("")[1:]
	}
	bs, err := h.svc.Balances(r.Context(), sc.pr)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	for _, b := range bs {
		tok, _ := h.svc.ChainRegistry().Token(b.ChainID, b.Currency)
		v.Balances = append(v.Balances, balanceRow{ChainID: b.ChainID, Currency: b.Currency, Available: money.Format(b.Available, tok.Decimals),
			Held: money.Format(b.Held, tok.Decimals)})
	}
	for _, c := range h.svc.EnabledChains(sc.pr.Mode) {
		if c.Protocol != chain.EVM {
			continue // the sender sends on EVM chains only (a TRON withdrawal is refused)
		}
		for _, sym := range c.Symbols() {
			v.Options = append(v.Options, c.Slug+" "+sym)
		}
	}
	h.render(w, "payouts", status, v)
}

func validReferenceField(s string) bool {
	return s != "" && len(s) <= 64 && gateway.TextProblem(s) == "" && !strings.ContainsAny(s, " \t")
}

// payout sends money from the project's balance to an address, after the user's two-factor
// code: created and approved at once (3PAY's dashboard payouts), unless the project's policy
// asks for a second approval.
func (h *Handler) payout(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	var wd *gateway.Withdrawal
	h.run(w, r, u, action{title: "Payouts", perm: gateway.PermMoney, code: true,
		act: func(pr *gateway.Principal) error {
			f := r.PostForm
			chainID, currency, _ := strings.Cut(f.Get("option"), " ")
			var err error
			wd, _, err = h.svc.CreateWithdrawal(r.Context(), pr, gateway.WithdrawalInput{Reference: f.Get("reference"), Amount: strings.TrimSpace(f.Get("amount")),
				Currency: currency, ChainID: chainID, Address: strings.TrimSpace(f.Get("address"))})
			if err == nil && wd.Status == gateway.WithdrawalPendingApproval && len(wd.Approvals) == 0 {
				wd, err = h.svc.ApproveWithdrawal(r.Context(), pr, wd.ID)
			}
			return err
		},
		again: func(status int, msg string) { h.renderPayouts(w, r, u, r.PostForm, status, msg) },
		done: func(sc *scope) {
			done := "payout"
			if wd.Status == gateway.WithdrawalPendingApproval {
				done = "payout-pending"
			}
			back(w, r, "/dashboard/withdrawals", sc, "done="+done+"&id="+url.QueryEscape(wd.ID))
		}})
}
