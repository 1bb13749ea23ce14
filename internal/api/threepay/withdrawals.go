package threepay

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

// WithdrawalRequest is a 3PAY withdrawal request: a withdrawal of the native API, in 3PAY's words.
type WithdrawalRequest struct {
	ID        string     `json:"id" doc:"The request's id (the withdrawal's id in the native API)" example:"wdr_abcdefghijklmnopqrstuvwx"`
	Reference string     `json:"reference" doc:"Your unique id of the withdrawal"`
	UserID    string     `json:"userId,omitempty" doc:"The user whose balance pays it"`
	Status    string     `json:"status" enum:"pending,approved,processing,completed,rejected,failed" doc:"pending: waiting for your approval; approved: approved, waiting to be sent (or for funds); processing: sent, not yet confirmed; completed; rejected; failed"`
	Amount    string     `json:"amount" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	Currency  string     `json:"currency"`
	Network   string     `json:"network" enum:"ERC20,TRC20,BEP20"`
	ChainID   string     `json:"chainId"`
	Address   string     `json:"address" doc:"The destination"`
	Reason    string     `json:"reason,omitempty" doc:"Why it was rejected, or why it failed"`
	TxHash    string     `json:"txHash,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
	DoneAt    *time.Time `json:"completedAt,omitempty"`
	Livemode  bool       `json:"livemode"`
}

// WithdrawalRequestList is a page of withdrawal requests.
type WithdrawalRequestList struct {
	Requests   []WithdrawalRequest `json:"requests"`
	Pagination Paging              `json:"pagination"`
}

// Paging is where a page is (the native API's pagination).
type Paging struct {
	Page       int `json:"page"`
	Limit      int `json:"limit"`
	Total      int `json:"total"`
	TotalPages int `json:"totalPages"`
}

type threePayWithdrawalInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Also serves as the reference when none is given"`
	Body           struct {
		UserID    string `json:"userId" maxLength:"128" doc:"The user (deposit reference) whose balance pays it" example:"user_42"`
		Amount    string `json:"amount" maxLength:"100" doc:"Decimal string, greater than zero" example:"10.00" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
		Currency  string `json:"currency,omitempty" maxLength:"16" doc:"USDT (default)" example:"USDT"`
		Network   string `json:"network,omitempty" enum:"ERC20,TRC20,BEP20" doc:"ERC20 (default), TRC20 or BEP20" example:"ERC20"`
		Address   string `json:"address" maxLength:"100" doc:"The destination, of the network: 0x… for ERC20 and BEP20, T… for TRC20" example:"0x52908400098527886E0F7030069857D2E4169EE7"`
		Reference string `json:"reference,omitempty" maxLength:"128" doc:"Your unique id of the withdrawal: sending it again returns the same request (default: the Idempotency-Key header; one of them is required)" example:"payout_123"`
	}
}

type requestOutput struct {
	Status int
	Body   Envelope[WithdrawalRequest]
}

type listRequestsInput struct {
	Status string `query:"status" enum:"pending,approved,processing,completed,rejected,failed,all" default:"pending" doc:"Which requests (default pending: those waiting for your approval)"`
	UserID string `query:"userId" maxLength:"128"`
	Page   int    `query:"page" default:"1" doc:"Page number, from 1"`
	Limit  int    `query:"limit" default:"20" doc:"Results per page (default 20); above 100 it is capped at 100"`
}

type listRequestsOutput struct {
	Body Envelope[WithdrawalRequestList]
}

type requestIDInput struct {
	ID string `path:"id" maxLength:"64" example:"wdr_abcdefghijklmnopqrstuvwx"`
}

type threePayRejectInput struct {
	ID   string `path:"id" maxLength:"64" example:"wdr_abcdefghijklmnopqrstuvwx"`
	Body *struct {
		Reason string `json:"reason,omitempty" maxLength:"500" doc:"Why (kept on the request)" example:"duplicate request"`
	}
}

type payoutInput struct {
	ID string `query:"id" maxLength:"64" required:"true" doc:"The payout's (withdrawal request's) id" example:"wdr_abcdefghijklmnopqrstuvwx"`
}

// SecretOperations are the adapter's operations that need the API secret (DESIGN §11: they move
// money or decide where it goes).
var SecretOperations = []string{"threePayCreateWithdrawal", "threePayApproveWithdrawal", "threePayRejectWithdrawal"}

func (a *adapter) registerWithdrawals(api huma.API) {
	tags := []string{Tag}
	huma.Register(api, huma.Operation{OperationID: "threePayCreateWithdrawal", Method: http.MethodPost, Path: "/api/v1/public/user/withdrawal/create",
		Summary: "Request a user withdrawal (3PAY)", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "A withdrawal from the user's balance to an address of the network. It waits for your approval (or is approved by the " +
			"withdrawal policy); the amount is held at once. An address of the other network is NetworkMismatch."}, a.createWithdrawal)
	huma.Register(api, huma.Operation{OperationID: "threePayListWithdrawalRequests", Method: http.MethodGet, Path: "/api/v1/public/withdrawal-requests",
		Summary: "List withdrawal requests (3PAY)", Tags: tags, Description: "Newest first; by default those waiting for your approval."}, a.listRequests)
	huma.Register(api, huma.Operation{OperationID: "threePayApproveWithdrawal", Method: http.MethodPost, Path: "/api/v1/public/withdrawal-requests/{id}/approve",
		Summary: "Approve a withdrawal request (3PAY)", Tags: tags, DefaultStatus: http.StatusOK}, a.approve)
	huma.Register(api, huma.Operation{OperationID: "threePayRejectWithdrawal", Method: http.MethodPost, Path: "/api/v1/public/withdrawal-requests/{id}/reject",
		Summary: "Reject a withdrawal request (3PAY)", Tags: tags, DefaultStatus: http.StatusOK}, a.reject)
	huma.Register(api, huma.Operation{OperationID: "threePayGetPayout", Method: http.MethodGet, Path: "/api/v1/public/payout/get",
		Summary: "Get a payout (3PAY)", Tags: tags, Description: "Read-only, as in 3PAY v2: a payout (withdrawal) by its id."}, a.getPayout)
}

func (a *adapter) createWithdrawal(ctx context.Context, in *threePayWithdrawalInput) (*requestOutput, error) {
	pr := a.host.Principal(ctx)
	if err := gateway.RequireSecret(pr); err != nil {
		return nil, a.host.Error(ctx, err)
	}
	b := in.Body
	ref := b.Reference
	if ref == "" {
		ref = in.IdempotencyKey
	}
	if ref == "" {
		return nil, a.host.Error(ctx, gateway.Errorf(gateway.EInvalid, "reference",
			"reference is required (or an Idempotency-Key header): your unique id of the withdrawal, so that a retried request never pays twice"))
	}
	if b.UserID == "" {
		return nil, a.host.Error(ctx, gateway.Errorf(gateway.EInvalid, "userId", "userId is required: the user whose balance pays the withdrawal"))
	}
	c, currency, err := a.network(ctx, pr, b.Network, b.Currency)
	if err != nil {
		return nil, err
	}
	w, created, err := a.svc.CreateWithdrawal(ctx, pr, gateway.WithdrawalInput{Reference: ref, Amount: b.Amount, Currency: currency, ChainID: c.Slug,
		Address: b.Address, DepositReference: b.UserID})
	if err != nil {
		return nil, a.host.Error(ctx, rename(err, withdrawalNames))
	}
	status, msg := http.StatusCreated, "Withdrawal request created"
	if !created {
		status, msg = http.StatusOK, "Withdrawal request already exists"
	}
	return &requestOutput{Status: status, Body: Envelope[WithdrawalRequest]{Success: true, Data: a.request(w), Message: msg}}, nil
}

// withdrawalNames are 3PAY's names of a withdrawal's fields.
var withdrawalNames = map[string]string{"depositReference": "userId", "chainId": "network", "withdrawalId": "id"}

// statuses maps 3PAY's request statuses to the withdrawal statuses they cover.
var statuses = map[string][]gateway.WithdrawalStatus{
	"pending":    {gateway.WithdrawalPendingApproval},
	"approved":   {gateway.WithdrawalApproved, gateway.WithdrawalAwaitingFunds},
	"processing": {gateway.WithdrawalBroadcast},
	"completed":  {gateway.WithdrawalCompleted},
	"rejected":   {gateway.WithdrawalRejected},
	"failed":     {gateway.WithdrawalFailed},
}

// RequestStatus is a withdrawal's status in 3PAY's words.
func RequestStatus(s gateway.WithdrawalStatus) string {
	for name, covered := range statuses {
		for _, c := range covered {
			if c == s {
				return name
			}
		}
	}
	return string(s)
}

func (a *adapter) listRequests(ctx context.Context, in *listRequestsInput) (*listRequestsOutput, error) {
	pr := a.host.Principal(ctx)
	limit := min(max(in.Limit, 1), 100)
	page := max(in.Page, 1)
	var wanted []gateway.WithdrawalStatus
	if in.Status != "all" {
		wanted = statuses[in.Status]
	}
	// "approved" covers two statuses: list each and merge, newest first.
	var all []*gateway.Withdrawal
	total := 0
	if len(wanted) <= 1 {
		f := gateway.WithdrawalFilter{DepositReference: in.UserID, Page: page, Limit: limit}
		if len(wanted) == 1 {
			f.Status = wanted[0]
		}
		ws, n, err := a.svc.ListWithdrawals(ctx, pr, f)
		if err != nil {
			return nil, a.host.Error(ctx, rename(err, withdrawalNames))
		}
		all, total = ws, n
	} else {
		for _, st := range wanted {
			ws, n, err := a.svc.ListWithdrawals(ctx, pr, gateway.WithdrawalFilter{Status: st, DepositReference: in.UserID, Page: 1, Limit: page * limit})
			if err != nil {
				return nil, a.host.Error(ctx, rename(err, withdrawalNames))
			}
			all, total = append(all, ws...), total+n
		}
		sortNewest(all)
		from := min((page-1)*limit, len(all))
		all = all[from:min(from+limit, len(all))]
	}
	out := WithdrawalRequestList{Requests: []WithdrawalRequest{}, Pagination: Paging{Page: page, Limit: limit, Total: total,
		TotalPages: (total + limit - 1) / limit}}
	for _, w := range all {
		out.Requests = append(out.Requests, a.request(w))
	}
	return &listRequestsOutput{Body: Envelope[WithdrawalRequestList]{Success: true, Data: out}}, nil
}

func sortNewest(ws []*gateway.Withdrawal) {
	slices.SortStableFunc(ws, func(a, b *gateway.Withdrawal) int { return b.CreatedAt.Compare(a.CreatedAt) })
}

func (a *adapter) approve(ctx context.Context, in *requestIDInput) (*requestOutput, error) {
	w, err := a.svc.ApproveWithdrawal(ctx, a.host.Principal(ctx), in.ID)
	if err != nil {
		return nil, a.host.Error(ctx, rename(err, withdrawalNames))
	}
	return &requestOutput{Status: http.StatusOK, Body: Envelope[WithdrawalRequest]{Success: true, Data: a.request(w), Message: "Withdrawal request approved"}}, nil
}

func (a *adapter) reject(ctx context.Context, in *threePayRejectInput) (*requestOutput, error) {
	reason := ""
	if in.Body != nil {
		reason = in.Body.Reason
	}
	w, err := a.svc.RejectWithdrawal(ctx, a.host.Principal(ctx), in.ID, reason)
	if err != nil {
		return nil, a.host.Error(ctx, rename(err, withdrawalNames))
	}
	return &requestOutput{Status: http.StatusOK, Body: Envelope[WithdrawalRequest]{Success: true, Data: a.request(w), Message: "Withdrawal request rejected"}}, nil
}

func (a *adapter) getPayout(ctx context.Context, in *payoutInput) (*requestOutput, error) {
	w, err := a.svc.FindWithdrawal(ctx, a.host.Principal(ctx), in.ID)
	if err != nil {
		return nil, a.host.Error(ctx, rename(err, withdrawalNames))
	}
	return &requestOutput{Status: http.StatusOK, Body: Envelope[WithdrawalRequest]{Success: true, Data: a.request(w)}}, nil
}

func (a *adapter) request(w *gateway.Withdrawal) WithdrawalRequest {
	c, _ := a.svc.ChainRegistry().Lookup(w.ChainID)
	tok, _ := c.Token(w.Currency)
	reason := w.Reason
	if reason == "" {
		reason = w.Failure
	}
	return WithdrawalRequest{ID: w.ID, Reference: w.Reference, UserID: w.DepositReference, Status: RequestStatus(w.Status),
		Amount: money.Format(w.Amount, tok.Decimals), Currency: w.Currency, Network: gateway.NetworkName(c), ChainID: w.ChainID, Address: w.Address,
		Reason: reason, TxHash: w.TxHash, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, DoneAt: w.CompletedAt, Livemode: w.Mode.Live()}
}
