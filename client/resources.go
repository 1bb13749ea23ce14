package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Amounts are decimal strings in token units ("10.5"), as the API gives them: never floats.

// OrderInput creates an order (POST /api/v1/orders).
type OrderInput struct {
	OrderReference       string          `json:"orderReference"`
	Amount               string          `json:"amount"`
	Currency             string          `json:"currency"`
	ChainID              string          `json:"chainId"`
	SuccessURL           string          `json:"successUrl,omitempty"`
	CancelURL            string          `json:"cancelUrl,omitempty"`
	PaymentWindowMinutes *int            `json:"paymentWindowMinutes,omitempty"`
	GraceMinutes         *int            `json:"graceMinutes,omitempty"`
	Metadata             json.RawMessage `json:"metadata,omitempty"`
	// IdempotencyKey, when set, is sent instead of a generated one: the same key makes a retry
	// from your side return the first answer.
	IdempotencyKey string `json:"-"`
}

// Order is an order (an invoice) and what was paid to it.
type Order struct {
	OrderID               string          `json:"orderId"`
	OrderReference        string          `json:"orderReference"`
	Status                string          `json:"status"` // pending, confirming, completed, underpaid, expired
	Amount                string          `json:"amount"`
	Currency              string          `json:"currency"`
	ChainID               string          `json:"chainId"`
	Address               string          `json:"address"`
	TokenAddress          string          `json:"tokenAddress"`
	Decimals              int             `json:"decimals"`
	PaymentURL            string          `json:"paymentUrl"`
	SuccessURL            string          `json:"successUrl,omitempty"`
	CancelURL             string          `json:"cancelUrl,omitempty"`
	PaymentWindowMinutes  int             `json:"paymentWindowMinutes"`
	GraceMinutes          int             `json:"graceMinutes"`
	ExpiresAt             time.Time       `json:"expiresAt"`
	TxHash                string          `json:"txHash,omitempty"`
	CompletedAt           *time.Time      `json:"completedAt,omitempty"`
	CreatedAt             time.Time       `json:"createdAt"`
	Metadata              json.RawMessage `json:"metadata,omitempty"`
	PaymentLinkID         string          `json:"paymentLinkId,omitempty"`
	PaidAmount            string          `json:"paidAmount"`
	Overpaid              bool            `json:"overpaid"`
	PaidLate              bool            `json:"paidLate"`
	MultiplePayments      bool            `json:"multiplePayments"`
	WrongCurrency         bool            `json:"wrongCurrency"`
	Payments              []Payment       `json:"payments,omitempty"`
	WrongCurrencyPayments []Payment       `json:"wrongCurrencyPayments,omitempty"`
	Livemode              bool            `json:"livemode"`
}

// Payment is a transfer that paid an order.
type Payment struct {
	TxHash                string `json:"txHash"`
	LogIndex              uint64 `json:"logIndex"`
	From                  string `json:"from"`
	Amount                string `json:"amount"`
	BlockNumber           uint64 `json:"blockNumber,omitempty"`
	Confirmations         int    `json:"confirmations,omitempty"`
	RequiredConfirmations int    `json:"requiredConfirmations,omitempty"`
	ExplorerURL           string `json:"explorerUrl,omitempty"`
	Simulated             bool   `json:"simulated,omitempty"`
}

// OrderFilter selects orders (GET /api/v1/orders); empty fields select all.
type OrderFilter struct {
	Status, ChainID, Currency, OrderReference string
	Limit                                     int // per page, at most 100 (default 20)
}

// CreateOrder creates an order, or returns the one already created with the reference.
func (c *Client) CreateOrder(ctx context.Context, in OrderInput) (*Order, error) {
	var o Order
	return &o, c.do(ctx, http.MethodPost, "/api/v1/orders", nil, in, &o, in.IdempotencyKey)
}

// GetOrder reads an order by its id.
func (c *Client) GetOrder(ctx context.Context, orderID string) (*Order, error) {
	var o Order
	return &o, c.do(ctx, http.MethodGet, "/api/v1/orders/"+url.PathEscape(orderID), nil, nil, &o, "")
}

// ListOrders reads one page of orders, newest first.
func (c *Client) ListOrders(ctx context.Context, f OrderFilter, page int) ([]Order, Pagination, error) {
	var out struct {
		Orders     []Order    `json:"orders"`
		Pagination Pagination `json:"pagination"`
	}
	q := query("status", f.Status, "chainId", f.ChainID, "currency", f.Currency, "orderReference", f.OrderReference)
	setPage(q, page, f.Limit)
	err := c.do(ctx, http.MethodGet, "/api/v1/orders", q, nil, &out, "")
	return out.Orders, out.Pagination, err
}

// Orders iterates over every order the filter selects, page after page; it stops at the first
// error, which it yields.
func (c *Client) Orders(ctx context.Context, f OrderFilter) iter.Seq2[Order, error] {
	return pages(func(page int) ([]Order, Pagination, error) { return c.ListOrders(ctx, f, page) })
}

// SimulatePayment drives a test-mode order: outcome completed, underpaid or expired (amount: the
// payment, optional). Refused with live credentials.
func (c *Client) SimulatePayment(ctx context.Context, orderID, outcome, amount string) (*Order, error) {
	var o Order
	body := struct {
		Outcome string `json:"outcome"`
		Amount  string `json:"amount,omitempty"`
	}{outcome, amount}
	return &o, c.do(ctx, http.MethodPost, "/api/v1/orders/"+url.PathEscape(orderID)+"/simulate", nil, body, &o, "")
}

// DepositAddress is a user's permanent deposit address (POST /api/v1/deposits/bind).
type DepositAddress struct {
	DepositReference string          `json:"depositReference"`
	Address          string          `json:"address"`
	Protocol         string          `json:"protocol"`
	MonitoredChains  []string        `json:"monitoredChains"`
	Bound            bool            `json:"bound"`
	Metadata         json.RawMessage `json:"metadata,omitempty"`
	CreatedAt        time.Time       `json:"createdAt"`
	UnboundAt        *time.Time      `json:"unboundAt,omitempty"`
	Livemode         bool            `json:"livemode"`
}

// DepositReference is a user's address with its deposits' totals and its balances.
type DepositReference struct {
	DepositAddress
	TotalDeposits   int               `json:"totalDeposits"`
	PendingDeposits int               `json:"pendingDeposits"`
	TotalAmount     *string           `json:"totalAmount"`
	Totals          map[string]string `json:"totals"`
	Balances        []Balance         `json:"balances"`
	BoundAt         time.Time         `json:"boundAt"`
}

// Balance is what a project (or a user) holds of a currency on a chain.
type Balance struct {
	ChainID   string `json:"chainId"`
	Currency  string `json:"currency"`
	Pending   string `json:"pending"`
	Available string `json:"available"`
	Held      string `json:"held"`
}

// BindDeposit gives the user (depositReference) a permanent address of the protocol (evm or
// tron); binding again returns the same address.
func (c *Client) BindDeposit(ctx context.Context, depositReference, protocol string) (*DepositAddress, error) {
	var d DepositAddress
	body := map[string]string{"depositReference": depositReference, "protocol": protocol}
	return &d, c.do(ctx, http.MethodPost, "/api/v1/deposits/bind", nil, body, &d, "")
}

// GetDepositReference reads a user's address, totals and balances.
func (c *Client) GetDepositReference(ctx context.Context, depositReference string) (*DepositReference, error) {
	var d DepositReference
	return &d, c.do(ctx, http.MethodGet, "/api/v1/deposits/references/"+url.PathEscape(depositReference), nil, nil, &d, "")
}

// Balances reads the project's balances, or a user's when depositReference is set.
func (c *Client) Balances(ctx context.Context, depositReference string) ([]Balance, error) {
	var out struct {
		Balances []Balance `json:"balances"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/balances", query("depositReference", depositReference), nil, &out, "")
	return out.Balances, err
}

// WithdrawalInput requests a withdrawal (POST /api/v1/withdrawals; needs the secret).
type WithdrawalInput struct {
	Reference        string          `json:"reference"`
	Amount           string          `json:"amount"`
	Currency         string          `json:"currency"`
	ChainID          string          `json:"chainId"`
	Address          string          `json:"address"`
	DepositReference string          `json:"depositReference,omitempty"`
	Metadata         json.RawMessage `json:"metadata,omitempty"`
}

// Withdrawal is a payout and where it is.
type Withdrawal struct {
	WithdrawalID     string          `json:"withdrawalId"`
	Reference        string          `json:"reference"`
	Status           string          `json:"status"` // pending_approval, approved, awaiting_funds, broadcast, completed, rejected, failed
	Amount           string          `json:"amount"`
	Currency         string          `json:"currency"`
	ChainID          string          `json:"chainId"`
	TokenAddress     string          `json:"tokenAddress"`
	Address          string          `json:"address"`
	DepositReference string          `json:"depositReference,omitempty"`
	From             string          `json:"from"`
	Reason           string          `json:"reason,omitempty"`
	TxHash           string          `json:"txHash,omitempty"`
	Metadata         json.RawMessage `json:"metadata,omitempty"`
	CreatedAt        time.Time       `json:"createdAt"`
	UpdatedAt        time.Time       `json:"updatedAt"`
	CompletedAt      *time.Time      `json:"completedAt,omitempty"`
	Livemode         bool            `json:"livemode"`
}

// CreateWithdrawal requests a withdrawal; the amount is held at once and nothing is sent until it
// is approved.
func (c *Client) CreateWithdrawal(ctx context.Context, in WithdrawalInput) (*Withdrawal, error) {
	var w Withdrawal
	return &w, c.do(ctx, http.MethodPost, "/api/v1/withdrawals", nil, in, &w, "")
}

// GetWithdrawal reads a withdrawal.
func (c *Client) GetWithdrawal(ctx context.Context, withdrawalID string) (*Withdrawal, error) {
	var w Withdrawal
	return &w, c.do(ctx, http.MethodGet, "/api/v1/withdrawals/"+url.PathEscape(withdrawalID), nil, nil, &w, "")
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

// query builds a query of the pairs whose value is set.
func query(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q
}

func setPage(q url.Values, page, limit int) {
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
}

// pages iterates over the items of a list, page after page.
func pages[T any](list func(page int) ([]T, Pagination, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for page := 1; ; page++ {
			items, p, err := list(page)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if page >= p.TotalPages || len(items) == 0 {
				return
			}
		}
	}
}
