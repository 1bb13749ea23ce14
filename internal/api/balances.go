package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/money"
)

// BalanceView is a balance on one chain in one currency, in token units.
type BalanceView struct {
	ChainID   string `json:"chainId"`
	Currency  string `json:"currency"`
	Pending   string `json:"pending" doc:"Payments and deposits seen, waiting for confirmations" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	Available string `json:"available" doc:"Confirmed" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
}

// BalanceList is the project's balances in the key's mode.
type BalanceList struct {
	Balances []BalanceView `json:"balances"`
	Livemode bool          `json:"livemode"`
}

type balancesOutput struct {
	Body Envelope[BalanceList]
}

func (s *Server) registerBalances() {
	huma.Register(s.API, huma.Operation{OperationID: "listBalances", Method: http.MethodGet, Path: "/api/v1/balances",
		Summary: "Balances", Tags: []string{"Balances"}, Description: "Per chain and currency, from the ledger: what confirmed order " +
			"payments and deposits credited (available) and what waits for confirmations (pending)."}, s.balances)
}

func (s *Server) balances(ctx context.Context, _ *struct{}) (*balancesOutput, error) {
	pr := principalFrom(ctx)
	bs, err := s.svc.Balances(ctx, pr)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out := BalanceList{Balances: make([]BalanceView, len(bs)), Livemode: pr.Mode.Live()}
	for i, b := range bs {
		tok, _ := s.svc.ChainRegistry().Token(b.ChainID, b.Currency)
		out.Balances[i] = BalanceView{ChainID: b.ChainID, Currency: b.Currency, Pending: money.Format(b.Pending, tok.Decimals),
			Available: money.Format(b.Available, tok.Decimals)}
	}
	return &balancesOutput{Body: ok(out, "")}, nil
}
