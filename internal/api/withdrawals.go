package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

// WithdrawalView is a withdrawal as the API shows it.
type WithdrawalView struct {
	WithdrawalID     string             `json:"withdrawalId" example:"wdr_abcdefghijklmnopqrstuvwx"`
	Reference        string             `json:"reference" doc:"Your unique id of the withdrawal"`
	Status           string             `json:"status" enum:"pending_approval,approved,awaiting_funds,broadcast,completed,rejected,failed" doc:"pending_approval → approved → broadcast → completed; awaiting_funds: approved, but the hot wallet lacks the token or its gas (see waiting); rejected; failed (its transaction reverted or was dropped; the amount is released)"`
	Amount           string             `json:"amount" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	Currency         string             `json:"currency"`
	ChainID          string             `json:"chainId"`
	TokenAddress     string             `json:"tokenAddress"`
	Address          string             `json:"address" doc:"The destination"`
	DepositReference string             `json:"depositReference,omitempty" doc:"A user withdrawal: the deposit reference whose balance pays it"`
	From             string             `json:"from" doc:"The hot wallet it is sent from"`
	Approvals        []ApprovalView     `json:"approvals" doc:"Who approved it: an API key's id (cred_…), a dashboard user's (usr_…, with a two-factor code), or policy"`
	Reason           string             `json:"reason,omitempty" doc:"Why it was rejected"`
	Waiting          string             `json:"waiting,omitempty" doc:"Why it awaits funds"`
	Failure          string             `json:"failure,omitempty"`
	OutgoingID       string             `json:"outgoingTransactionId,omitempty" doc:"Its transaction (GET /api/v1/outgoing-transactions/{id}), once queued"`
	TxHash           string             `json:"txHash,omitempty"`
	ExplorerURL      string             `json:"explorerUrl,omitempty"`
	GasUsed          uint64             `json:"gasUsed,omitempty"`
	Fee              *CoinBalance       `json:"fee,omitempty" doc:"Gas paid, in the chain's coin (posted to the fees account)"`
	Metadata         json.RawMessage    `json:"metadata,omitempty"`
	CreatedAt        time.Time          `json:"createdAt"`
	UpdatedAt        time.Time          `json:"updatedAt"`
	CompletedAt      *time.Time         `json:"completedAt,omitempty" doc:"When it became completed, rejected or failed"`
	History          []WithdrawalChange `json:"history,omitempty" doc:"Every change (GET by id)"`
	Transaction      *OutgoingView      `json:"transaction,omitempty" doc:"Its transaction with its attempts (GET by id, once queued)"`
	Livemode         bool               `json:"livemode"`
}

// ApprovalView is one approval of a withdrawal.
type ApprovalView struct {
	By string    `json:"by" doc:"The id of the API key that approved it, or policy"`
	At time.Time `json:"at"`
}

// WithdrawalChange is one entry of a withdrawal's history.
type WithdrawalChange struct {
	At     time.Time `json:"at"`
	Status string    `json:"status"`
	Note   string    `json:"note,omitempty"`
}

// WithdrawalList is a page of withdrawals.
type WithdrawalList struct {
	Withdrawals []WithdrawalView `json:"withdrawals"`
	Pagination  Pagination       `json:"pagination"`
}

type createWithdrawalInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes a retry return the first response (kept 24 h); the reference does the same for good"`
	Body           struct {
		Reference        string          `json:"reference" maxLength:"128" doc:"Your unique id: sending it again returns the existing withdrawal" example:"payout_123"`
		Amount           string          `json:"amount" maxLength:"100" doc:"Decimal string in token units, greater than zero" example:"25.00" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
		Currency         string          `json:"currency" maxLength:"16" example:"USDT"`
		ChainID          string          `json:"chainId" maxLength:"32" doc:"An EVM chain of the key's mode (TRON withdrawals are not supported yet)" example:"devnet"`
		Address          string          `json:"address" maxLength:"100" doc:"The destination: EIP-55 checksummed when in mixed case; not the zero address, a token contract, or one of this gateway's own addresses unless allowOwnAddress" example:"0x52908400098527886E0F7030069857D2E4169EE7"`
		DepositReference string          `json:"depositReference,omitempty" maxLength:"128" doc:"Pay it from this deposit reference's balance (a user withdrawal); without it, from the project's balance"`
		AllowOwnAddress  bool            `json:"allowOwnAddress,omitempty" doc:"Allow a destination that is one of this gateway's own addresses"`
		Metadata         json.RawMessage `json:"metadata,omitempty" doc:"Your own JSON object, returned as sent (at most 16 KiB)"`
	}
}

type withdrawalOutput struct {
	Status int
	Body   Envelope[WithdrawalView]
}

type withdrawalIDInput struct {
	ID string `path:"withdrawalId" maxLength:"64" example:"wdr_abcdefghijklmnopqrstuvwx"`
}

type rejectWithdrawalInput struct {
	ID   string `path:"withdrawalId" maxLength:"64" example:"wdr_abcdefghijklmnopqrstuvwx"`
	Body *struct {
		Reason string `json:"reason,omitempty" maxLength:"1000" doc:"Why: kept with the withdrawal and sent with withdrawal.rejected"`
	}
}

type listWithdrawalsInput struct {
	Status           string `query:"status" doc:"pending_approval, approved, awaiting_funds, broadcast, completed, rejected or failed"`
	ChainID          string `query:"chainId" maxLength:"32"`
	Currency         string `query:"currency" maxLength:"16"`
	DepositReference string `query:"depositReference" maxLength:"128"`
	Page             int    `query:"page" default:"1" doc:"Page number, from 1"`
	Limit            int    `query:"limit" default:"20" doc:"Results per page (default 20); above 100 it is capped at 100"`
}

type listWithdrawalsOutput struct {
	Body Envelope[WithdrawalList]
}

// PolicyView is the project's withdrawal policy in the key's mode.
type PolicyView struct {
	AutoApproveBelow     string            `json:"autoApproveBelow" doc:"Withdrawals of less than this amount (token units) are approved when created; empty: every withdrawal waits for an approval"`
	DailyLimits          map[string]string `json:"dailyLimits" doc:"Per currency, the most the withdrawals created in any 24 hours may sum to (rejected and failed ones left out)"`
	Allowlist            bool              `json:"allowlist" doc:"Withdrawals may only go to addresses on the allowlist, once their cooling period has passed"`
	CoolingPeriodMinutes int               `json:"coolingPeriodMinutes" doc:"How long a new allowlisted address waits before it can be used (default 1440: 24 h)"`
	TwoApprovals         bool              `json:"twoApprovals" doc:"A withdrawal needs the approvals of two different API keys (the creating key may be one, never the only one)"`
	UpdatedAt            *time.Time        `json:"updatedAt,omitempty"`
	Livemode             bool              `json:"livemode"`
}

type policyOutput struct {
	Body Envelope[PolicyView]
}

type putPolicyInput struct {
	Body struct {
		AutoApproveBelow     *string           `json:"autoApproveBelow,omitempty" maxLength:"100" doc:"\"\" turns auto-approval off"`
		DailyLimits          map[string]string `json:"dailyLimits,omitempty" doc:"Replaces the limits; a currency set to \"\" has none"`
		Allowlist            *bool             `json:"allowlist,omitempty"`
		CoolingPeriodMinutes *int              `json:"coolingPeriodMinutes,omitempty" minimum:"0" maximum:"43200"`
		TwoApprovals         *bool             `json:"twoApprovals,omitempty"`
	}
}

// DestinationView is an address on the withdrawal allowlist.
type DestinationView struct {
	Protocol string    `json:"protocol" enum:"evm,tron"`
	Address  string    `json:"address"`
	Label    string    `json:"label,omitempty"`
	AddedAt  time.Time `json:"addedAt"`
	UsableAt time.Time `json:"usableAt" doc:"From when withdrawals may go to it: addedAt + the cooling period"`
	Usable   bool      `json:"usable"`
}

// DestinationList is the allowlist.
type DestinationList struct {
	Destinations []DestinationView `json:"destinations"`
	Livemode     bool              `json:"livemode"`
}

type destinationOutput struct {
	Status int
	Body   Envelope[DestinationView]
}

type destinationListOutput struct {
	Body Envelope[DestinationList]
}

type addDestinationInput struct {
	Body struct {
		Protocol string `json:"protocol,omitempty" enum:"evm,tron" doc:"Default evm: the address is usable on every EVM chain"`
		Address  string `json:"address" maxLength:"100" example:"0x52908400098527886E0F7030069857D2E4169EE7"`
		Label    string `json:"label,omitempty" maxLength:"200"`
	}
}

type removeDestinationInput struct {
	Address  string `path:"address" maxLength:"100" example:"0x52908400098527886E0F7030069857D2E4169EE7"`
	Protocol string `query:"protocol" enum:"evm,tron" doc:"Default evm"`
}

func (s *Server) registerWithdrawals() {
	tags := []string{"Withdrawals"}
	huma.Register(s.API, huma.Operation{OperationID: "createWithdrawal", Method: http.MethodPost, Path: "/api/v1/withdrawals", Tags: tags,
		Summary: "Request a withdrawal", DefaultStatus: http.StatusCreated, Description: "A payout from the project's available balance, " +
			"or — with depositReference — a user withdrawal from that reference's balance. The amount is held at once (nothing is " +
			"held if the balance is short: 409 InsufficientFunds). It waits for an approval (POST .../approve) unless the policy " +
			"approves it; then the hot wallet sends it, one transfer, completed after the chain's confirmations. 201 when created; " +
			"200 with the existing withdrawal when the reference was used before with the same request (409 with another). " +
			"NetworkMismatch (400): an address of the other chain family; LimitExceeded (422): the policy's daily limit.",
		Responses: alsoOK("The withdrawal already created under this reference", "EnvelopeWithdrawalView")}, s.createWithdrawal)
	huma.Register(s.API, huma.Operation{OperationID: "listWithdrawals", Method: http.MethodGet, Path: "/api/v1/withdrawals", Tags: tags,
		Summary: "List withdrawals", Description: "Newest first."}, s.listWithdrawals)
	huma.Register(s.API, huma.Operation{OperationID: "getWithdrawal", Method: http.MethodGet, Path: "/api/v1/withdrawals/{withdrawalId}", Tags: tags,
		Summary: "Get a withdrawal", Description: "With its history and its transaction."}, s.getWithdrawal)
	huma.Register(s.API, huma.Operation{OperationID: "approveWithdrawal", Method: http.MethodPost, Path: "/api/v1/withdrawals/{withdrawalId}/approve",
		Tags: tags, Summary: "Approve a withdrawal", Description: "Only a pending_approval withdrawal: approving it again, or one rejected, " +
			"is 409 and sends nothing. With the policy's twoApprovals, the first key's approval is recorded and a second key must approve."},
		s.approveWithdrawal)
	huma.Register(s.API, huma.Operation{OperationID: "rejectWithdrawal", Method: http.MethodPost, Path: "/api/v1/withdrawals/{withdrawalId}/reject",
		Tags: tags, Summary: "Reject a withdrawal", Description: "A withdrawal nothing was sent for yet (pending_approval, approved " +
			"before its transaction is queued, awaiting_funds): its amount is released to the balance it came from."}, s.rejectWithdrawal)
	huma.Register(s.API, huma.Operation{OperationID: "getWithdrawalPolicy", Method: http.MethodGet, Path: "/api/v1/withdrawal-policy", Tags: tags,
		Summary: "Get the withdrawal policy"}, s.getPolicy)
	huma.Register(s.API, huma.Operation{OperationID: "putWithdrawalPolicy", Method: http.MethodPut, Path: "/api/v1/withdrawal-policy", Tags: tags,
		Summary: "Change the withdrawal policy", Description: "Fields left out stay as they are."}, s.putPolicy)
	huma.Register(s.API, huma.Operation{OperationID: "listWithdrawalDestinations", Method: http.MethodGet, Path: "/api/v1/withdrawal-destinations",
		Tags: tags, Summary: "List the withdrawal allowlist"}, s.listDestinations)
	huma.Register(s.API, huma.Operation{OperationID: "addWithdrawalDestination", Method: http.MethodPost, Path: "/api/v1/withdrawal-destinations",
		Tags: tags, Summary: "Add an address to the withdrawal allowlist", DefaultStatus: http.StatusCreated, Description: "Usable once the " +
			"policy's cooling period has passed (usableAt). Adding it again returns it unchanged (200).",
		Responses: alsoOK("The address was on the allowlist already", "EnvelopeDestinationView")}, s.addDestination)
	huma.Register(s.API, huma.Operation{OperationID: "removeWithdrawalDestination", Method: http.MethodDelete, Path: "/api/v1/withdrawal-destinations/{address}",
		Tags: tags, Summary: "Remove an address from the withdrawal allowlist"}, s.removeDestination)
}

func (s *Server) createWithdrawal(ctx context.Context, in *createWithdrawalInput) (*withdrawalOutput, error) {
	b := in.Body
	w, created, err := s.svc.CreateWithdrawal(ctx, principalFrom(ctx), gateway.WithdrawalInput{Reference: b.Reference, Amount: b.Amount,
		Currency: b.Currency, ChainID: b.ChainID, Address: b.Address, DepositReference: b.DepositReference, Metadata: b.Metadata,
		AllowOwnAddress: b.AllowOwnAddress})
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	if !created {
		return &withdrawalOutput{Status: http.StatusOK, Body: ok(s.withdrawal(w), "Withdrawal already exists")}, nil
	}
	msg := "Withdrawal created: it waits for an approval"
	if w.Status == gateway.WithdrawalApproved {
		msg = "Withdrawal created and approved by the policy"
	}
	return &withdrawalOutput{Status: http.StatusCreated, Body: ok(s.withdrawal(w), msg)}, nil
}

func (s *Server) listWithdrawals(ctx context.Context, in *listWithdrawalsInput) (*listWithdrawalsOutput, error) {
	in.Limit = gateway.PageLimit(in.Limit)
	if in.Page < 1 {
		return nil, s.apiError(ctx, gateway.Errorf(gateway.EInvalid, "page", "page must be 1 or more"))
	}
	ws, total, err := s.svc.ListWithdrawals(ctx, principalFrom(ctx), gateway.WithdrawalFilter{Status: gateway.WithdrawalStatus(in.Status),
		ChainID: in.ChainID, Currency: in.Currency, DepositReference: in.DepositReference, Page: in.Page, Limit: in.Limit})
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out := WithdrawalList{Withdrawals: make([]WithdrawalView, len(ws)), Pagination: paginate(in.Page, in.Limit, total)}
	for i, w := range ws {
		out.Withdrawals[i] = s.withdrawal(w)
	}
	return &listWithdrawalsOutput{Body: ok(out, "")}, nil
}

func (s *Server) getWithdrawal(ctx context.Context, in *withdrawalIDInput) (*withdrawalOutput, error) {
	pr := principalFrom(ctx)
	w, err := s.svc.FindWithdrawal(ctx, pr, in.ID)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	v := s.withdrawal(w)
	for _, c := range w.History {
		v.History = append(v.History, WithdrawalChange{At: c.At, Status: string(c.Status), Note: c.Note})
	}
	if w.OutgoingID != "" {
		t, err := s.svc.Outgoing(ctx, pr, w.OutgoingID)
		if err != nil && !errors.Is(err, gateway.ErrNotFound) && gateway.ErrorCode(err) != gateway.ENotFound {
			return nil, s.apiError(ctx, err)
		}
		if t != nil {
			tv := s.outgoing(t)
			v.Transaction = &tv
		}
	}
	return &withdrawalOutput{Status: http.StatusOK, Body: ok(v, "")}, nil
}

func (s *Server) approveWithdrawal(ctx context.Context, in *withdrawalIDInput) (*withdrawalOutput, error) {
	w, err := s.svc.ApproveWithdrawal(ctx, principalFrom(ctx), in.ID)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	msg := "Withdrawal approved: it is sent from the hot wallet"
	if w.Status == gateway.WithdrawalPendingApproval {
		msg = "Approval recorded: a second key must approve it too"
	}
	return &withdrawalOutput{Status: http.StatusOK, Body: ok(s.withdrawal(w), msg)}, nil
}

func (s *Server) rejectWithdrawal(ctx context.Context, in *rejectWithdrawalInput) (*withdrawalOutput, error) {
	reason := ""
	if in.Body != nil {
		reason = in.Body.Reason
	}
	w, err := s.svc.RejectWithdrawal(ctx, principalFrom(ctx), in.ID, reason)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &withdrawalOutput{Status: http.StatusOK, Body: ok(s.withdrawal(w), "Withdrawal rejected: its amount is released")}, nil
}

func (s *Server) withdrawal(w *gateway.Withdrawal) WithdrawalView {
	c, _ := s.svc.ChainRegistry().Lookup(w.ChainID)
	tok, _ := c.Token(w.Currency)
	v := WithdrawalView{WithdrawalID: w.ID, Reference: w.Reference, Status: string(w.Status), Amount: money.Format(w.Amount, tok.Decimals),
		Currency: w.Currency, ChainID: w.ChainID, TokenAddress: w.Token, Address: w.Address, DepositReference: w.DepositReference, From: w.From,
		Approvals: []ApprovalView{}, Reason: w.Reason, Waiting: w.Waiting, Failure: w.Failure, OutgoingID: w.OutgoingID, TxHash: w.TxHash,
		GasUsed: w.GasUsed, Fee: s.coin(w.ChainID, w.Fee), Metadata: w.Metadata, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
		CompletedAt: w.CompletedAt, Livemode: w.Mode.Live()}
	if w.TxHash != "" {
		v.ExplorerURL = c.TxURL(w.TxHash)
	}
	for _, a := range w.Approvals {
		v.Approvals = append(v.Approvals, ApprovalView{By: a.By, At: a.At})
	}
	return v
}

func (s *Server) policy(pr *gateway.Principal, p *gateway.WithdrawalPolicy) PolicyView {
	v := PolicyView{AutoApproveBelow: p.AutoApproveBelow, DailyLimits: p.DailyLimits, Allowlist: p.Allowlist,
		CoolingPeriodMinutes: int(p.CoolingPeriod / time.Minute), TwoApprovals: p.TwoApprovals, Livemode: pr.Mode.Live()}
	if v.DailyLimits == nil {
		v.DailyLimits = map[string]string{}
	}
	if !p.UpdatedAt.IsZero() {
		at := p.UpdatedAt
		v.UpdatedAt = &at
	}
	return v
}

func (s *Server) getPolicy(ctx context.Context, _ *struct{}) (*policyOutput, error) {
	pr := principalFrom(ctx)
	p, err := s.svc.WithdrawalPolicy(ctx, pr)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &policyOutput{Body: ok(s.policy(pr, p), "")}, nil
}

func (s *Server) putPolicy(ctx context.Context, in *putPolicyInput) (*policyOutput, error) {
	pr := principalFrom(ctx)
	b := in.Body
	p, err := s.svc.SetWithdrawalPolicy(ctx, pr, gateway.PolicyInput{AutoApproveBelow: b.AutoApproveBelow, DailyLimits: b.DailyLimits,
		Allowlist: b.Allowlist, CoolingPeriodMinutes: b.CoolingPeriodMinutes, TwoApprovals: b.TwoApprovals})
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &policyOutput{Body: ok(s.policy(pr, p), "Withdrawal policy updated")}, nil
}

func (s *Server) destination(d *gateway.Destination) DestinationView {
	return DestinationView{Protocol: string(d.Protocol), Address: d.Address, Label: d.Label, AddedAt: d.AddedAt, UsableAt: d.UsableAt,
		Usable: !s.now().Before(d.UsableAt)}
}

func (s *Server) listDestinations(ctx context.Context, _ *struct{}) (*destinationListOutput, error) {
	pr := principalFrom(ctx)
	ds, err := s.svc.Destinations(ctx, pr)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out := DestinationList{Destinations: []DestinationView{}, Livemode: pr.Mode.Live()}
	for i := range ds {
		out.Destinations = append(out.Destinations, s.destination(&ds[i]))
	}
	sort.SliceStable(out.Destinations, func(i, j int) bool { return out.Destinations[i].AddedAt.Before(out.Destinations[j].AddedAt) })
	return &destinationListOutput{Body: ok(out, "")}, nil
}

func (s *Server) addDestination(ctx context.Context, in *addDestinationInput) (*destinationOutput, error) {
	d, created, err := s.svc.AddDestination(ctx, principalFrom(ctx), in.Body.Protocol, in.Body.Address, in.Body.Label)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	if !created {
		return &destinationOutput{Status: http.StatusOK, Body: ok(s.destination(d), "Address already on the allowlist")}, nil
	}
	return &destinationOutput{Status: http.StatusCreated, Body: ok(s.destination(d), "Address added: usable from usableAt")}, nil
}

func (s *Server) removeDestination(ctx context.Context, in *removeDestinationInput) (*destinationListOutput, error) {
	pr := principalFrom(ctx)
	if err := s.svc.RemoveDestination(ctx, pr, in.Protocol, in.Address); err != nil {
		return nil, s.apiError(ctx, err)
	}
	return s.listDestinations(ctx, nil)
}
