package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

type hotWalletRow struct {
	ChainID, Address string
	// Treasury and Ceiling: where sweeps forward what the hot wallet holds above the ceiling.
	Treasury, Ceiling string
}

type sweepRow struct {
	ID, ChainID, Currency, Total, Status, TxHash, Failure, Created string
	Addresses                                                      int
}

type sweepsView struct {
	*scope
	Chains   []string
	Chain    string
	Wallets  []hotWalletRow
	Sweeps   []sweepRow
	Estimate *estimateView
}

type estimateView struct {
	ChainID, Cost, Native, NativeBalance string
	Gas                                  uint64
	NeedsSweeper                         bool
	Sweeps                               []sweepRow
	Skipped                              []string
}

// sweepsPage shows the hot wallets, the latest sweeps, and the forms that estimate a sweep and
// run one (with a two-factor code).
func (h *Handler) sweepsPage(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.renderSweeps(w, r, u, r.URL.Query(), http.StatusOK, "", nil)
}

func (h *Handler) renderSweeps(w http.ResponseWriter, r *http.Request, u *gateway.User, values url.Values, status int, errText string, est *gateway.SweepPlan) {
	sc := h.scopeOf(w, r, u, values, "Sweeps")
	if sc == nil {
		return
	}
	sc.Nav, sc.Error = "sweeps", errText
	switch r.URL.Query().Get("done") {
	case "sweep":
		sc.Notice = "Sweep queued: the hot wallet receives the funds once its transactions confirm."
	case "nothing":
		sc.Notice = "Nothing to sweep: no address holds confirmed funds that are not on their way already."
	}
	v := sweepsView{scope: sc, Chain: values.Get("chainId")}
	ctx := r.Context()
	treasuries, err := h.svc.Treasuries(ctx, sc.pr)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	if !sc.pr.Project.WatchOnly() {
		for _, c := range h.svc.EnabledChains(sc.pr.Mode) {
			if c.Protocol != chain.EVM {
				continue
			}
			v.Chains = append(v.Chains, c.Slug)
			addr, err := h.svc.HotWalletAddress(ctx, sc.pr.Project.ID, sc.pr.Mode, c.Slug)
			if err != nil {
				h.failed(w, r, err)
				return
			}
			row := hotWalletRow{ChainID: c.Slug, Address: addr}
			for _, t := range treasuries {
				if t.ChainID == c.Slug {
					row.Treasury, row.Ceiling = t.Address, t.Ceiling
				}
			}
			v.Wallets = append(v.Wallets, row)
		}
	}
	list, err := h.svc.Sweeps(ctx, sc.pr, 20)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	for _, s := range list {
		v.Sweeps = append(v.Sweeps, h.sweepRowOf(s))
	}
	if est != nil {
		c, _ := h.svc.ChainRegistry().Lookup(est.ChainID)
		e := &estimateView{ChainID: est.ChainID, Gas: est.Gas, Cost: money.Format(est.Cost, c.NativeDecimals()), Native: est.Native,
			NativeBalance: money.Format(est.NativeBalance, c.NativeDecimals()), NeedsSweeper: est.NeedsSweeper}
		for _, s := range est.Sweeps {
			e.Sweeps = append(e.Sweeps, h.sweepRowOf(s))
		}
		for _, sk := range est.Skipped {
			tok, _ := c.Token(sk.Currency)
			e.Skipped = append(e.Skipped, fmt.Sprintf("%s %s at %s: %s", money.Format(sk.Amount, tok.Decimals), sk.Currency, sk.Address, sk.Reason))
		}
		v.Estimate = e
	}
	h.render(w, "sweeps", status, v)
}

func (h *Handler) sweepRowOf(s *gateway.Sweep) sweepRow {
	tok, _ := h.svc.ChainRegistry().Token(s.ChainID, s.Currency)
	return sweepRow{ID: s.ID, ChainID: s.ChainID, Currency: s.Currency, Total: money.Format(s.Total(), tok.Decimals), Status: string(s.Status),
		TxHash: s.TxHash, Failure: s.Failure, Created: s.CreatedAt.UTC().Format(time.RFC3339), Addresses: len(s.Legs)}
}

// sweep estimates a sweep of a chain (estimate: nothing is sent, no code asked, the role must
// move money) or runs it with the user's two-factor code.
func (h *Handler) sweep(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	if err := r.ParseForm(); err != nil { // before run: whether it is an estimate decides the code
		h.message(w, http.StatusRequestEntityTooLarge, "Refused", "The form is larger than it can be.")
		return
	}
	dry := r.PostForm.Get("estimate") != ""
	var plan *gateway.SweepPlan
	h.run(w, r, u, action{title: "Sweeps", perm: gateway.PermMoney, code: !dry,
		act: func(pr *gateway.Principal) (err error) {
			if dry {
				est := *pr
				est.SecretProven = true // an estimate reads balances and fees and sends nothing: the role is enough
				pr = &est
			}
			plan, err = h.svc.Sweep(r.Context(), pr, gateway.SweepRequest{ChainID: r.PostForm.Get("chainId"), DryRun: dry})
			return err
		},
		again: func(status int, msg string) { h.renderSweeps(w, r, u, r.PostForm, status, msg, nil) },
		done: func(sc *scope) {
			if dry {
				h.renderSweeps(w, r, u, r.PostForm, http.StatusOK, "", plan)
				return
			}
			done := "sweep"
			if len(plan.Sweeps) == 0 {
				done = "nothing"
			}
			back(w, r, "/dashboard/sweeps", sc, "chainId="+url.QueryEscape(plan.ChainID)+"&done="+done)
		}})
}
