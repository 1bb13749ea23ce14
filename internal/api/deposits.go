package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

// DepositAddress is a deposit reference's permanent address.
type DepositAddress struct {
	DepositReference string          `json:"depositReference"`
	Address          string          `json:"address"`
	Protocol         string          `json:"protocol" enum:"evm,tron"`
	MonitoredChains  []string        `json:"monitoredChains" doc:"Every chain of the protocol, in the key's mode, that this gateway follows"`
	Bound            bool            `json:"bound" doc:"False after unbind: the address is still watched and its deposits still recorded"`
	Metadata         json.RawMessage `json:"metadata,omitempty"`
	CreatedAt        time.Time       `json:"createdAt"`
	UnboundAt        *time.Time      `json:"unboundAt,omitempty"`
	Livemode         bool            `json:"livemode"`
}

func (s *Server) depositAddress(b *gateway.DepositBinding) DepositAddress {
	chains := s.svc.MonitoredChains(b.Protocol, b.Mode)
	if chains == nil {
		chains = []string{}
	}
	return DepositAddress{DepositReference: b.Reference, Address: b.Address, Protocol: string(b.Protocol), MonitoredChains: chains,
		Bound: b.UnboundAt == nil, Metadata: b.Metadata, CreatedAt: b.BoundAt, UnboundAt: b.UnboundAt, Livemode: b.Mode.Live()}
}

type bindInput struct {
	Body struct {
		DepositReference string          `json:"depositReference" maxLength:"128" doc:"Your user's id; binding it again returns the same address" example:"user_42"`
		Protocol         string          `json:"protocol" enum:"evm,tron" doc:"evm: one address for every EVM chain; tron: a T… address"`
		Metadata         json.RawMessage `json:"metadata,omitempty" doc:"Your own JSON object (at most 16 KiB)"`
	}
}

type depositAddressOutput struct {
	Status int
	Body   Envelope[DepositAddress]
}

type unbindInput struct {
	Body struct {
		DepositReference string `json:"depositReference" maxLength:"128" example:"user_42"`
	}
}

// DepositReference is a reference's address with the totals of its deposits.
type DepositReference struct {
	DepositAddress
	TotalDeposits   int               `json:"totalDeposits" doc:"Confirmed deposits"`
	PendingDeposits int               `json:"pendingDeposits" doc:"Deposits waiting for confirmations"`
	TotalAmount     *string           `json:"totalAmount" doc:"Sum of the confirmed deposits when they are all in one currency (\"0\" with none); null when there are several: see totals"`
	Totals          map[string]string `json:"totals" doc:"Sum of the confirmed deposits per currency, in token units"`
	Balances        []BalanceView     `json:"balances" doc:"The reference's balances per chain and currency (3PAY's wallet balance): available is its confirmed deposits less its withdrawals, held what its withdrawals not final yet hold, pending its deposits waiting for confirmations"`
	BoundAt         time.Time         `json:"boundAt"`
}

type referenceInput struct {
	Reference string `path:"depositReference" maxLength:"128" example:"user_42"`
}

type referenceOutput struct {
	Body Envelope[DepositReference]
}

// DepositView is one deposit: a transfer to a deposit address.
type DepositView struct {
	DepositReference string    `json:"depositReference"`
	Address          string    `json:"address"`
	Status           string    `json:"status" enum:"pending,confirmed,ignored"`
	Amount           string    `json:"amount" doc:"In token units (base units for an ignored token outside the registry)" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	Currency         string    `json:"currency" doc:"Empty for a token outside the registry"`
	Token            string    `json:"token" doc:"The token contract"`
	ChainID          string    `json:"chainId"`
	TxHash           string    `json:"txHash"`
	LogIndex         uint64    `json:"logIndex"`
	BlockNumber      uint64    `json:"blockNumber"`
	From             string    `json:"from"`
	ExplorerURL      string    `json:"explorerUrl,omitempty"`
	DetectedAt       time.Time `json:"detectedAt"`
	Livemode         bool      `json:"livemode"`
}

// DepositList is a page of deposits.
type DepositList struct {
	Deposits   []DepositView `json:"deposits"`
	Pagination Pagination    `json:"pagination"`
}

type listDepositsInput struct {
	DepositReference string `query:"depositReference"`
	Status           string `query:"status" doc:"pending, confirmed (or completed) or ignored"`
	ChainID          string `query:"chainId"`
	Currency         string `query:"currency"`
	Page             int    `query:"page" default:"1" doc:"Page number, from 1"`
	Limit            int    `query:"limit" default:"20" doc:"Results per page (default 20); above 100 it is capped at 100"`
}

type listDepositsOutput struct {
	Body Envelope[DepositList]
}

func (s *Server) registerDeposits() {
	tags := []string{"Deposits"}
	huma.Register(s.API, huma.Operation{OperationID: "bindDeposit", Method: http.MethodPost, Path: "/api/v1/deposits/bind",
		Summary: "Bind a deposit address", Tags: tags, DefaultStatus: http.StatusCreated, Description: "Gives a reference (your user) " +
			"one permanent address; binding it again returns the same address (200). Every transfer to it, on every monitored " +
			"chain, is a deposit.", Responses: alsoOK("The reference was already bound: its address", "EnvelopeDepositAddress")}, s.bindDeposit)
	huma.Register(s.API, huma.Operation{OperationID: "unbindDeposit", Method: http.MethodPost, Path: "/api/v1/deposits/unbind",
		Summary: "Unbind a deposit address", Tags: tags, DefaultStatus: http.StatusOK, Description: "The address stays watched: a " +
			"deposit to it is still recorded and reported. Binding the reference again binds the same address."}, s.unbindDeposit)
	huma.Register(s.API, huma.Operation{OperationID: "getDepositReference", Method: http.MethodGet, Path: "/api/v1/deposits/references/{depositReference}",
		Summary: "Get a deposit reference", Tags: tags}, s.getDepositReference)
	huma.Register(s.API, huma.Operation{OperationID: "listDeposits", Method: http.MethodGet, Path: "/api/v1/deposits",
		Summary: "List deposits", Tags: tags, Description: "Newest first."}, s.listDeposits)
}

func (s *Server) bindDeposit(ctx context.Context, in *bindInput) (*depositAddressOutput, error) {
	b, created, err := s.svc.BindDeposit(ctx, principalFrom(ctx), in.Body.DepositReference, in.Body.Protocol, in.Body.Metadata)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	if !created {
		return &depositAddressOutput{Status: http.StatusOK, Body: ok(s.depositAddress(b), "Deposit address already bound")}, nil
	}
	return &depositAddressOutput{Status: http.StatusCreated, Body: ok(s.depositAddress(b), "Deposit address bound")}, nil
}

func (s *Server) unbindDeposit(ctx context.Context, in *unbindInput) (*depositAddressOutput, error) {
	b, err := s.svc.UnbindDeposit(ctx, principalFrom(ctx), in.Body.DepositReference)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &depositAddressOutput{Status: http.StatusOK, Body: ok(s.depositAddress(b), "Deposit address unbound")}, nil
}

func (s *Server) getDepositReference(ctx context.Context, in *referenceInput) (*referenceOutput, error) {
	pr := principalFrom(ctx)
	b, totals, err := s.svc.DepositReference(ctx, pr, in.Reference)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	balances, err := s.svc.UserBalances(ctx, pr, in.Reference)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out := DepositReference{DepositAddress: s.depositAddress(b), TotalDeposits: totals.Confirmed, PendingDeposits: totals.Pending,
		Totals: totals.ByCurrency, Balances: s.balanceViews(balances), BoundAt: b.BoundAt}
	switch len(totals.ByCurrency) {
	case 0:
		zero := "0"
		out.TotalAmount = &zero
	case 1:
		for _, v := range totals.ByCurrency {
			out.TotalAmount = &v
		}
	}
	return &referenceOutput{Body: ok(out, "")}, nil
}

func (s *Server) listDeposits(ctx context.Context, in *listDepositsInput) (*listDepositsOutput, error) {
	in.Limit = gateway.PageLimit(in.Limit) // capped, as 3PAY caps pagination at 100
	deposits, total, err := s.svc.ListDeposits(ctx, principalFrom(ctx), gateway.DepositFilter{Reference: in.DepositReference,
		Status: in.Status, ChainID: in.ChainID, Currency: in.Currency, Page: in.Page, Limit: in.Limit})
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out := DepositList{Deposits: make([]DepositView, len(deposits)), Pagination: paginate(in.Page, in.Limit, total)}
	for i, d := range deposits {
		c, _ := s.svc.ChainRegistry().Lookup(d.ChainID)
		amount := d.Amount.String()
		if tok, ok := c.Token(d.Currency); ok && d.Currency != "" {
			amount = money.Format(d.Amount, tok.Decimals)
		}
		out.Deposits[i] = DepositView{DepositReference: d.Reference, Address: d.To, Status: d.Status, Amount: amount, Currency: d.Currency,
			Token: d.Token, ChainID: d.ChainID, TxHash: d.TxHash, LogIndex: d.LogIndex, BlockNumber: d.BlockNumber, From: d.From,
			ExplorerURL: c.TxURL(d.TxHash), DetectedAt: d.SeenAt, Livemode: d.Mode.Live()}
	}
	return &listDepositsOutput{Body: ok(out, "")}, nil
}
