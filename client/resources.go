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
	Status                string          `json:"status"` // pending, confirming, completed, underpaid, expired, invalid
	Amount                string          `json:"amount"`
	Currency              string          `json:"currency"`
	ChainID               string          `json:"chainId"`
	Address               string          `json:"address"`
	PayAmount             string          `json:"payAmount"` // what to send: amount plus the offset on a shared address
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
	ResolvedManually      bool            `json:"resolvedManually"`
	Resolution            *Resolution     `json:"resolution,omitempty"`
	Payments              []Payment       `json:"payments,omitempty"`
	WrongCurrencyPayments []WrongPayment  `json:"wrongCurrencyPayments,omitempty"`
	Livemode              bool            `json:"livemode"`
}

// Resolution is how an order was resolved by hand (ResolveOrder).
type Resolution struct {
	Outcome string    `json:"outcome"` // completed or invalid
	Reason  string    `json:"reason"`
	By      string    `json:"by"` // "key cred_…" or "user ana@…"
	At      time.Time `json:"at"`
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

// WrongPayment is a transfer of another token than the order's to its address: recorded, never
// counted.
type WrongPayment struct {
	Payment
	Currency     string `json:"currency"`
	TokenAddress string `json:"tokenAddress"`
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

// ResolveOrder sets an order's status by hand (needs the secret): outcome completed (paid some
// other way) or invalid (closed), with the reason. Nothing is credited: the ledger holds only what
// arrived on chain.
func (c *Client) ResolveOrder(ctx context.Context, orderID, outcome, reason string) (*Order, error) {
	var o Order
	body := struct {
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
	}{outcome, reason}
	return &o, c.do(ctx, http.MethodPost, "/api/v1/orders/"+url.PathEscape(orderID)+"/resolve", nil, body, &o, "")
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

// Deposit is a transfer to a deposit address.
type Deposit struct {
	DepositReference string    `json:"depositReference"`
	Address          string    `json:"address"`
	Status           string    `json:"status"` // pending, confirmed, ignored
	Amount           string    `json:"amount"`
	Currency         string    `json:"currency"` // empty for a token outside the registry
	Token            string    `json:"token"`
	ChainID          string    `json:"chainId"`
	TxHash           string    `json:"txHash"`
	LogIndex         uint64    `json:"logIndex"`
	BlockNumber      uint64    `json:"blockNumber"`
	From             string    `json:"from"`
	ExplorerURL      string    `json:"explorerUrl,omitempty"`
	DetectedAt       time.Time `json:"detectedAt"`
	Livemode         bool      `json:"livemode"`
}

// DepositFilter selects deposits (GET /api/v1/deposits); empty fields select all.
type DepositFilter struct {
	DepositReference, Status, ChainID, Currency string
	Limit                                       int
}

// ListDeposits reads one page of deposits, newest first.
func (c *Client) ListDeposits(ctx context.Context, f DepositFilter, page int) ([]Deposit, Pagination, error) {
	var out struct {
		Deposits   []Deposit  `json:"deposits"`
		Pagination Pagination `json:"pagination"`
	}
	q := query("depositReference", f.DepositReference, "status", f.Status, "chainId", f.ChainID, "currency", f.Currency)
	setPage(q, page, f.Limit)
	err := c.do(ctx, http.MethodGet, "/api/v1/deposits", q, nil, &out, "")
	return out.Deposits, out.Pagination, err
}

// Deposits iterates over the deposits the filter selects, page after page.
func (c *Client) Deposits(ctx context.Context, f DepositFilter) iter.Seq2[Deposit, error] {
	return pages(func(page int) ([]Deposit, Pagination, error) { return c.ListDeposits(ctx, f, page) })
}

// UnbindDeposit ends a user's binding: the address is still watched and its deposits recorded.
func (c *Client) UnbindDeposit(ctx context.Context, depositReference string) (*DepositAddress, error) {
	var d DepositAddress
	body := map[string]string{"depositReference": depositReference}
	return &d, c.do(ctx, http.MethodPost, "/api/v1/deposits/unbind", nil, body, &d, "")
}
