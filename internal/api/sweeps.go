package api

import (
	"context"
	"math/big"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

// SweepView is one sweep: amounts of one token moved from many addresses into the hot wallet in
// one transaction.
type SweepView struct {
	SweepID      string         `json:"sweepId"`
	Status       string         `json:"status" enum:"deploying,sending,completed,failed" doc:"deploying: waiting for the hot wallet's sweeper contract; sending: its transaction is on its way; completed; failed (nothing moved)"`
	ChainID      string         `json:"chainId"`
	Currency     string         `json:"currency"`
	TokenAddress string         `json:"tokenAddress"`
	To           string         `json:"to" doc:"The hot wallet"`
	Method       string         `json:"method" enum:"batch,topup" doc:"batch: one transaction from the hot wallet (EIP-7702); topup: a gas top-up, then a transfer from the address (a chain without EIP-7702)"`
	Amount       string         `json:"amount" doc:"What the ledger says the addresses hold: what the sweep moves" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	Moved        string         `json:"moved,omitempty" doc:"What the transaction's Transfer logs moved (final sweeps)" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	Addresses    []SweepLegView `json:"addresses"`
	OutgoingID   string         `json:"outgoingTransactionId,omitempty" doc:"Its transaction (GET /api/v1/outgoing-transactions/{id}); empty while deploying"`
	TxHash       string         `json:"txHash,omitempty"`
	GasUsed      uint64         `json:"gasUsed,omitempty"`
	Fee          *CoinBalance   `json:"fee,omitempty" doc:"Gas paid, in the chain's coin"`
	Failure      string         `json:"failure,omitempty"`
	CreatedAt    time.Time      `json:"createdAt"`
	UpdatedAt    time.Time      `json:"updatedAt"`
	CompletedAt  *time.Time     `json:"completedAt,omitempty"`
	Livemode     bool           `json:"livemode"`
}

// SweepLegView is one address of a sweep.
type SweepLegView struct {
	Address   string `json:"address"`
	Amount    string `json:"amount" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	OnChain   string `json:"onChain" doc:"What balanceOf said before the sweep" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	Moved     string `json:"moved,omitempty" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	OrderID   string `json:"orderId,omitempty"`
	DepositID string `json:"depositId,omitempty"`
}

// SweepPlanView is what a sweep request made: the sweeps, what was left out, and the estimate.
type SweepPlanView struct {
	DryRun      bool                 `json:"dryRun"`
	Sweeps      []SweepView          `json:"sweeps"`
	Skipped     []SkippedAddressView `json:"skipped" doc:"Addresses with funds left alone, and why"`
	Differences []HoldingDiffView    `json:"differences" doc:"Addresses whose on-chain balance is not what the ledger says: reported, not papered over"`
	Method      string               `json:"method" enum:"batch,topup"`
	Estimate    SweepEstimateView    `json:"estimate"`
	Livemode    bool                 `json:"livemode"`
}

// SkippedAddressView is an address a sweep left alone.
type SkippedAddressView struct {
	Address  string `json:"address"`
	Currency string `json:"currency"`
	Amount   string `json:"amount" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	Reason   string `json:"reason"`
}

// HoldingDiffView is an address whose balance differs from the ledger's.
type HoldingDiffView struct {
	Address  string `json:"address"`
	Currency string `json:"currency"`
	Ledger   string `json:"ledger" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	OnChain  string `json:"onChain" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
}

// SweepEstimateView is what the sweeps cost, at the network's fees now.
type SweepEstimateView struct {
	Gas              uint64       `json:"gas"`
	Cost             CoinBalance  `json:"cost"`
	NeedsSweeper     bool         `json:"needsSweeper" doc:"The hot wallet has no sweeper contract yet: the first sweep deploys it (in the estimate)"`
	HotWalletBalance *CoinBalance `json:"hotWalletBalance,omitempty" doc:"The hot wallet's coin, which pays the gas"`
}

// SweepList is the project's sweeps, newest first.
type SweepList struct {
	Sweeps   []SweepView `json:"sweeps"`
	Livemode bool        `json:"livemode"`
}

type sweepInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes a retry return the first response instead of sweeping twice (kept 24 h)"`
	Body           struct {
		ChainID           string   `json:"chainId" maxLength:"32" doc:"An EVM chain of the key's mode" example:"ethereum-sepolia"`
		Currency          string   `json:"currency,omitempty" maxLength:"16" doc:"Only this token (default: every registry token of the chain)"`
		Addresses         []string `json:"addresses,omitempty" maxItems:"10000" doc:"Only these addresses (default: every address holding funds)"`
		IncludeCollecting bool     `json:"includeCollecting,omitempty" doc:"Sweep addresses whose order still takes payments too"`
		DryRun            bool     `json:"dryRun,omitempty" doc:"Plan and estimate only: nothing is stored or sent"`
	}
}

type sweepPlanOutput struct {
	Status int
	Body   Envelope[SweepPlanView]
}

type sweepOutput struct {
	Body Envelope[SweepView]
}

type sweepListOutput struct {
	Body Envelope[SweepList]
}

type getSweepInput struct {
	SweepID string `path:"sweepId" maxLength:"64" example:"swp_abcdefghijklmnopqrstuvwx"`
}

type listSweepsInput struct {
	Limit int `query:"limit" default:"20" doc:"At most this many (capped at 100)"`
}

func (s *Server) registerSweeps() {
	tags := []string{"Sweeps"}
	huma.Register(s.API, huma.Operation{OperationID: "createSweep", Method: http.MethodPost, Path: "/api/v1/sweeps", Tags: tags,
		Summary: "Sweep addresses into the hot wallet", DefaultStatus: http.StatusCreated, Description: "Moves what the ledger says each " +
			"order and deposit address of the chain holds into the project's hot wallet: one transaction per token and batch, paid by " +
			"the hot wallet (EIP-7702; no coin is sent to the addresses). Each address's balance is checked on chain first; a " +
			"difference is reported, and an address holding less than the ledger says is left out. Addresses whose order still " +
			"takes payments are left out unless includeCollecting. With dryRun, only the plan and its estimate (200). " +
			"201 with the sweeps made; 200 when there was nothing to sweep. TRON chains cannot be swept (400); a watch-only " +
			"project has no hot wallet (409 WatchOnlyProject).",
		Responses: alsoOK("A dry run, or nothing to sweep", "EnvelopeSweepPlanView")}, s.createSweep)
	huma.Register(s.API, huma.Operation{OperationID: "listSweeps", Method: http.MethodGet, Path: "/api/v1/sweeps", Tags: tags,
		Summary: "List sweeps"}, s.listSweeps)
	huma.Register(s.API, huma.Operation{OperationID: "getSweep", Method: http.MethodGet, Path: "/api/v1/sweeps/{sweepId}", Tags: tags,
		Summary: "Get a sweep"}, s.getSweep)
}

func (s *Server) createSweep(ctx context.Context, in *sweepInput) (*sweepPlanOutput, error) {
	pr := principalFrom(ctx)
	b := in.Body
	plan, err := s.svc.Sweep(ctx, pr, gateway.SweepRequest{ChainID: b.ChainID, Currency: b.Currency, Addresses: b.Addresses,
		IncludeCollecting: b.IncludeCollecting, DryRun: b.DryRun})
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	status, msg := http.StatusCreated, "Sweeps created"
	switch {
	case plan.DryRun:
		status, msg = http.StatusOK, "Dry run: nothing was sent"
	case len(plan.Sweeps) == 0:
		status, msg = http.StatusOK, "Nothing to sweep"
	}
	return &sweepPlanOutput{Status: status, Body: ok(s.sweepPlan(pr, plan), msg)}, nil
}

func (s *Server) listSweeps(ctx context.Context, in *listSweepsInput) (*sweepListOutput, error) {
	pr := principalFrom(ctx)
	sweeps, err := s.svc.Sweeps(ctx, pr, in.Limit)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out := SweepList{Sweeps: []SweepView{}, Livemode: pr.Mode.Live()}
	for _, w := range sweeps {
		out.Sweeps = append(out.Sweeps, s.sweep(w))
	}
	return &sweepListOutput{Body: ok(out, "")}, nil
}

func (s *Server) getSweep(ctx context.Context, in *getSweepInput) (*sweepOutput, error) {
	w, err := s.svc.FindSweep(ctx, principalFrom(ctx), in.SweepID)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &sweepOutput{Body: ok(s.sweep(w), "")}, nil
}

// decimalsOf are the decimals of a currency on a chain of the registry (0 when unknown).
func (s *Server) decimalsOf(chainID, currency string) int {
	tok, _ := s.svc.ChainRegistry().Token(chainID, currency)
	return tok.Decimals
}

// coin is an amount of the chain's own coin (nil: nil).
func (s *Server) coin(chainID string, v *big.Int) *CoinBalance {
	if v == nil {
		return nil
	}
	c, _ := s.svc.ChainRegistry().Lookup(chainID)
	return &CoinBalance{Symbol: c.Native, Amount: money.Format(v, c.NativeDecimals())}
}

func (s *Server) sweep(w *gateway.Sweep) SweepView {
	dec := s.decimalsOf(w.ChainID, w.Currency)
	v := SweepView{SweepID: w.ID, Status: string(w.Status), ChainID: w.ChainID, Currency: w.Currency, TokenAddress: w.Token, To: w.To, Method: w.Method,
		Amount: money.Format(w.Total(), dec), Addresses: []SweepLegView{}, OutgoingID: w.OutgoingID, TxHash: w.TxHash, GasUsed: w.GasUsed,
		Fee: s.coin(w.ChainID, w.Fee), Failure: w.Failure, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, CompletedAt: w.CompletedAt,
		Livemode: w.Mode.Live()}
	if w.Status.Final() {
		v.Moved = money.Format(w.Moved(), dec)
	}
	for _, l := range w.Legs {
		leg := SweepLegView{Address: l.Address, Amount: money.Format(l.Amount, dec), OnChain: money.Format(l.OnChain, dec), OrderID: l.OrderID,
			DepositID: l.DepositID}
		if l.Moved != nil {
			leg.Moved = money.Format(l.Moved, dec)
		}
		v.Addresses = append(v.Addresses, leg)
	}
	return v
}

func (s *Server) sweepPlan(pr *gateway.Principal, p *gateway.SweepPlan) SweepPlanView {
	v := SweepPlanView{DryRun: p.DryRun, Method: p.Method, Sweeps: []SweepView{}, Skipped: []SkippedAddressView{}, Differences: []HoldingDiffView{},
		Livemode: pr.Mode.Live()}
	for _, w := range p.Sweeps {
		v.Sweeps = append(v.Sweeps, s.sweep(w))
	}
	for _, k := range p.Skipped {
		v.Skipped = append(v.Skipped, SkippedAddressView{Address: k.Address, Currency: k.Currency, Reason: k.Reason,
			Amount: money.Format(k.Amount, s.decimalsOf(p.ChainID, k.Currency))})
	}
	for _, d := range p.Differences {
		dec := s.decimalsOf(p.ChainID, d.Currency)
		v.Differences = append(v.Differences, HoldingDiffView{Address: d.Address, Currency: d.Currency, Ledger: money.Format(d.Ledger, dec),
			OnChain: money.Format(d.OnChain, dec)})
	}
	v.Estimate = SweepEstimateView{Gas: p.Gas, NeedsSweeper: p.NeedsSweeper, HotWalletBalance: s.coin(p.ChainID, p.NativeBalance)}
	if c := s.coin(p.ChainID, p.Cost); c != nil {
		v.Estimate.Cost = *c
	}
	return v
}
