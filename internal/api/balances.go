package api

import (
	"context"
	"math/big"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

// BalanceView is a balance on one chain in one currency, in token units.
type BalanceView struct {
	ChainID   string `json:"chainId"`
	Currency  string `json:"currency"`
	Pending   string `json:"pending" doc:"Payments and deposits seen, waiting for confirmations" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	Available string `json:"available" doc:"Confirmed, and not held by a withdrawal: what a withdrawal can take" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	Held      string `json:"held" doc:"Held by withdrawals not final yet (released if they are rejected or fail)" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
}

// BalanceList is the project's balances in the key's mode, or a deposit reference's.
type BalanceList struct {
	DepositReference string        `json:"depositReference,omitempty" doc:"Set when the balances are this deposit reference's"`
	Balances         []BalanceView `json:"balances"`
	Livemode         bool          `json:"livemode"`
}

type balancesInput struct {
	DepositReference string `query:"depositReference" maxLength:"128" doc:"The balances of this deposit reference (a user's wallet balance) instead of the project's"`
}

type balancesOutput struct {
	Body Envelope[BalanceList]
}

func (s *Server) registerBalances() {
	huma.Register(s.API, huma.Operation{OperationID: "listBalances", Method: http.MethodGet, Path: "/api/v1/balances",
		Summary: "Balances", Tags: []string{"Balances"}, Description: "Per chain and currency, from the ledger: what confirmed order " +
			"payments and deposits credited (available), what withdrawals hold (held) and what waits for confirmations (pending). With " +
			"depositReference, that reference's own balances: its deposits less its withdrawals."}, s.balances)
}

func (s *Server) balances(ctx context.Context, in *balancesInput) (*balancesOutput, error) {
	pr := principalFrom(ctx)
	var bs []gateway.Balance
	var err error
	if in.DepositReference != "" {
		bs, err = s.svc.UserBalances(ctx, pr, in.DepositReference)
	} else {
		bs, err = s.svc.Balances(ctx, pr)
	}
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out := BalanceList{DepositReference: in.DepositReference, Balances: s.balanceViews(bs), Livemode: pr.Mode.Live()}
	return &balancesOutput{Body: ok(out, "")}, nil
}

func (s *Server) balanceViews(bs []gateway.Balance) []BalanceView {
	out := make([]BalanceView, len(bs))
	for i, b := range bs {
		tok, _ := s.svc.ChainRegistry().Token(b.ChainID, b.Currency)
		out[i] = BalanceView{ChainID: b.ChainID, Currency: b.Currency, Pending: money.Format(b.Pending, tok.Decimals),
			Available: money.Format(b.Available, tok.Decimals), Held: money.Format(bigOr0(b.Held), tok.Decimals)}
	}
	return out
}

func bigOr0(v *big.Int) *big.Int {
	if v == nil {
		return new(big.Int)
	}
	return v
}
