package gateway

import (
	"encoding/json"
	"math/big"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
)

// OrderStatus is where an order is in its life cycle (DESIGN §2).
type OrderStatus string

// Order statuses.
const (
	OrderPending    OrderStatus = "pending"
	OrderConfirming OrderStatus = "confirming"
	OrderCompleted  OrderStatus = "completed"
	OrderUnderpaid  OrderStatus = "underpaid"
	OrderExpired    OrderStatus = "expired"
	// OrderInvalid is an order the merchant closed by hand (ResolveOrder): it takes no payment as
	// its own any more; what arrives is still credited to the ledger.
	OrderInvalid OrderStatus = "invalid"
)

// Valid reports whether s is a known status.
func (s OrderStatus) Valid() bool {
	switch s {
	case OrderPending, OrderConfirming, OrderCompleted, OrderUnderpaid, OrderExpired, OrderInvalid:
		return true
	}
	return false
}

// Order is a one-time payment request: an amount of a token on a chain, paid to a fresh address.
type Order struct {
	ID string
	// Number is the order's integer id, unique across the gateway and increasing as orders are
	// created (given by the store): Crypto Pay's payment_id.
	Number    int64
	ProjectID string
	Mode      Mode
	Reference string
	Status    OrderStatus
	Amount    *big.Int // base units of the token
	Currency  string
	ChainID   string
	Address   string
	// PayOffset is what the payer pays above Amount, so that the order is told apart from the
	// others paid to its project's shared address (nil or zero: the address is the order's own).
	PayOffset            *big.Int
	SuccessURL           string
	CancelURL            string
	Metadata             json.RawMessage // a JSON object, or nil
	PaymentWindowMinutes int
	GraceMinutes         int
	UnderpaymentPPM      int    // the project's tolerance when the order was created
	PaymentLinkID        string // the payment link the payer checked out from, if any
	ExpiresAt            time.Time
	CreatedAt            time.Time
	CompletedAt          *time.Time
	TxHash               string // the payment that completed the order; empty until it completes
	PaidAmount           *big.Int
	// ConfirmedAmount, PaymentCount and the first payment's position are the running totals Settle
	// works from; ConfirmedAmount is nil for an order paid before they were kept.
	ConfirmedAmount           *big.Int
	PaymentCount              int
	FirstBlock, FirstLogIndex uint64
	Overpaid                  bool
	PaidLate                  bool
	MultiplePayments          bool
	// WrongCurrency says a registry token other than the order's currency was sent to its address on
	// its chain: recorded, reported, never counted.
	WrongCurrency bool
	// Resolution is the status the merchant set by hand (OrderCompleted or OrderInvalid; empty:
	// none), for the reason, by whom ("key cred_…" or "user ana@…") and when: from then on the
	// order keeps that status whatever arrives.
	Resolution       OrderStatus
	ResolutionReason string
	ResolvedBy       string
	ResolvedAt       *time.Time
	// Chain and Token are the order's chain and token as this gateway's registry has them: set on
	// every order the Service hands out (never stored), so that presenters need no lookup.
	Chain chain.Chain
	Token chain.Token
}

// ResolvedManually reports whether the merchant resolved the order by hand.
func (o *Order) ResolvedManually() bool { return o.Resolution != "" }

// Order defaults and limits.
const (
	DefaultPaymentWindowMinutes = 10
	DefaultGraceMinutes         = 5
	MaxPaymentWindowMinutes     = 7 * 24 * 60
	MaxGraceMinutes             = 24 * 60
	MaxReferenceLength          = 128
	MaxMetadataBytes            = 16 << 10
	MaxListLimit                = 100
	DefaultListLimit            = 20
)
