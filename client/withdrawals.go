package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// WithdrawalInput requests a withdrawal (POST /api/v1/withdrawals; needs the secret).
type WithdrawalInput struct {
	Reference        string          `json:"reference"`
	Amount           string          `json:"amount"`
	Currency         string          `json:"currency"`
	ChainID          string          `json:"chainId"`
	Address          string          `json:"address"`
	DepositReference string          `json:"depositReference,omitempty"`
	AllowOwnAddress  bool            `json:"allowOwnAddress,omitempty"`
	Metadata         json.RawMessage `json:"metadata,omitempty"`
	// IdempotencyKey, when set, is sent instead of a generated one.
	IdempotencyKey string `json:"-"`
}

// Withdrawal is a payout and where it is.
type Withdrawal struct {
	WithdrawalID          string             `json:"withdrawalId"`
	Reference             string             `json:"reference"`
	Status                string             `json:"status"` // pending_approval, approved, awaiting_funds, broadcast, completed, rejected, failed
	Amount                string             `json:"amount"`
	Currency              string             `json:"currency"`
	ChainID               string             `json:"chainId"`
	TokenAddress          string             `json:"tokenAddress"`
	Address               string             `json:"address"`
	DepositReference      string             `json:"depositReference,omitempty"`
	From                  string             `json:"from"`
	Approvals             []Approval         `json:"approvals"`
	Reason                string             `json:"reason,omitempty"`
	Waiting               string             `json:"waiting,omitempty"`
	Failure               string             `json:"failure,omitempty"`
	TxHash                string             `json:"txHash,omitempty"`
	ExplorerURL           string             `json:"explorerUrl,omitempty"`
	GasUsed               uint64             `json:"gasUsed,omitempty"`
	Fee                   *CoinAmount        `json:"fee,omitempty"`
	OutgoingTransactionID string             `json:"outgoingTransactionId,omitempty"`
	Transaction           *OutgoingTx        `json:"transaction,omitempty"` // on GetWithdrawal, once queued
	History               []WithdrawalChange `json:"history,omitempty"`     // on GetWithdrawal
	Metadata              json.RawMessage    `json:"metadata,omitempty"`
	CreatedAt             time.Time          `json:"createdAt"`
	UpdatedAt             time.Time          `json:"updatedAt"`
	CompletedAt           *time.Time         `json:"completedAt,omitempty"`
	Livemode              bool               `json:"livemode"`
}

// Approval is who approved a withdrawal: an API key's id, or "policy".
type Approval struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// WithdrawalChange is a change of a withdrawal's status.
type WithdrawalChange struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	Note   string    `json:"note,omitempty"`
}

// CoinAmount is an amount of a chain's own coin (gas), in its units.
type CoinAmount struct {
	Amount string `json:"amount"`
	Symbol string `json:"symbol"`
}

// WithdrawalFilter selects withdrawals (GET /api/v1/withdrawals); empty fields select all.
type WithdrawalFilter struct {
	Status, ChainID, Currency, DepositReference string
	Limit                                       int
}

// CreateWithdrawal requests a withdrawal; the amount is held at once and nothing is sent until it
// is approved.
func (c *Client) CreateWithdrawal(ctx context.Context, in WithdrawalInput) (*Withdrawal, error) {
	var w Withdrawal
	return &w, c.do(ctx, http.MethodPost, "/api/v1/withdrawals", nil, in, &w, in.IdempotencyKey)
}

// GetWithdrawal reads a withdrawal, with its transaction and history.
func (c *Client) GetWithdrawal(ctx context.Context, withdrawalID string) (*Withdrawal, error) {
	var w Withdrawal
	return &w, c.do(ctx, http.MethodGet, "/api/v1/withdrawals/"+url.PathEscape(withdrawalID), nil, nil, &w, "")
}

// ListWithdrawals reads one page of withdrawals, newest first.
func (c *Client) ListWithdrawals(ctx context.Context, f WithdrawalFilter, page int) ([]Withdrawal, Pagination, error) {
	var out struct {
		Withdrawals []Withdrawal `json:"withdrawals"`
		Pagination  Pagination   `json:"pagination"`
	}
	q := query("status", f.Status, "chainId", f.ChainID, "currency", f.Currency, "depositReference", f.DepositReference)
	setPage(q, page, f.Limit)
	err := c.do(ctx, http.MethodGet, "/api/v1/withdrawals", q, nil, &out, "")
	return out.Withdrawals, out.Pagination, err
}

// Withdrawals iterates over the withdrawals the filter selects, page after page.
func (c *Client) Withdrawals(ctx context.Context, f WithdrawalFilter) iter.Seq2[Withdrawal, error] {
	return pages(func(page int) ([]Withdrawal, Pagination, error) { return c.ListWithdrawals(ctx, f, page) })
}

// ApproveWithdrawal approves a pending withdrawal (needs the secret).
func (c *Client) ApproveWithdrawal(ctx context.Context, withdrawalID string) (*Withdrawal, error) {
	var w Withdrawal
	return &w, c.do(ctx, http.MethodPost, "/api/v1/withdrawals/"+url.PathEscape(withdrawalID)+"/approve", nil, nil, &w, "")
}

// RejectWithdrawal rejects a pending withdrawal with a reason (needs the secret).
func (c *Client) RejectWithdrawal(ctx context.Context, withdrawalID, reason string) (*Withdrawal, error) {
	var w Withdrawal
	body := map[string]string{"reason": reason}
	return &w, c.do(ctx, http.MethodPost, "/api/v1/withdrawals/"+url.PathEscape(withdrawalID)+"/reject", nil, body, &w, "")
}

// WithdrawalPolicy is what withdrawals of the key's mode must pass.
type WithdrawalPolicy struct {
	AutoApproveBelow     string            `json:"autoApproveBelow"` // empty: every withdrawal waits for an approval
	TwoApprovals         bool              `json:"twoApprovals"`
	Allowlist            bool              `json:"allowlist"`
	CoolingPeriodMinutes int               `json:"coolingPeriodMinutes"`
	DailyLimits          map[string]string `json:"dailyLimits"` // per currency, in token units
	UpdatedAt            *time.Time        `json:"updatedAt,omitempty"`
	Livemode             bool              `json:"livemode"`
}

// WithdrawalPolicyInput changes the policy (PUT /api/v1/withdrawal-policy; needs the secret): the
// fields that are set change, the others stay.
type WithdrawalPolicyInput struct {
	AutoApproveBelow     *string           `json:"autoApproveBelow,omitempty"` // "" turns auto-approval off
	TwoApprovals         *bool             `json:"twoApprovals,omitempty"`
	Allowlist            *bool             `json:"allowlist,omitempty"`
	CoolingPeriodMinutes *int              `json:"coolingPeriodMinutes,omitempty"`
	DailyLimits          map[string]string `json:"dailyLimits,omitempty"` // replaces the limits; "" for a currency: none
}

// GetWithdrawalPolicy reads the withdrawal policy.
func (c *Client) GetWithdrawalPolicy(ctx context.Context) (*WithdrawalPolicy, error) {
	var p WithdrawalPolicy
	return &p, c.do(ctx, http.MethodGet, "/api/v1/withdrawal-policy", nil, nil, &p, "")
}

// PutWithdrawalPolicy changes the withdrawal policy (needs the secret).
func (c *Client) PutWithdrawalPolicy(ctx context.Context, in WithdrawalPolicyInput) (*WithdrawalPolicy, error) {
	var p WithdrawalPolicy
	return &p, c.do(ctx, http.MethodPut, "/api/v1/withdrawal-policy", nil, in, &p, "")
}

// Destination is an allowlisted withdrawal address.
type Destination struct {
	Address  string    `json:"address"`
	Protocol string    `json:"protocol"`
	Label    string    `json:"label,omitempty"`
	AddedAt  time.Time `json:"addedAt"`
	UsableAt time.Time `json:"usableAt"` // addedAt + the cooling period
	Usable   bool      `json:"usable"`
}

// ListWithdrawalDestinations reads the allowlist.
func (c *Client) ListWithdrawalDestinations(ctx context.Context) ([]Destination, error) {
	var out struct {
		Destinations []Destination `json:"destinations"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/withdrawal-destinations", nil, nil, &out, "")
	return out.Destinations, err
}

// AddWithdrawalDestination allowlists an address (protocol evm or tron; empty: evm) with a label
// (needs the secret); it is usable once the cooling period has passed.
func (c *Client) AddWithdrawalDestination(ctx context.Context, address, protocol, label string) (*Destination, error) {
	var d Destination
	body := struct {
		Address  string `json:"address"`
		Protocol string `json:"protocol,omitempty"`
		Label    string `json:"label,omitempty"`
	}{address, protocol, label}
	return &d, c.do(ctx, http.MethodPost, "/api/v1/withdrawal-destinations", nil, body, &d, "")
}

// RemoveWithdrawalDestination takes an address off the allowlist (needs the secret) and returns
// what is left.
func (c *Client) RemoveWithdrawalDestination(ctx context.Context, address, protocol string) ([]Destination, error) {
	var out struct {
		Destinations []Destination `json:"destinations"`
	}
	err := c.do(ctx, http.MethodDelete, "/api/v1/withdrawal-destinations/"+url.PathEscape(address), query("protocol", protocol), nil, &out, "")
	return out.Destinations, err
}
