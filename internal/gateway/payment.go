package gateway

import (
	"context"
	"encoding/json"
	"math/big"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/money"
)

// Transfer is one token Transfer log to a watched address. (ChainID, TxHash, LogIndex) is its
// on-chain key: stored once, so never counted twice.
type Transfer struct {
	ChainID     string
	TxHash      string
	LogIndex    uint64
	BlockNumber uint64
	BlockHash   string
	Token       string // contract address
	Currency    string // registry symbol; empty for a token outside the registry (ignored)
	From, To    string
	Amount      *big.Int
	OrderID     string
	ProjectID   string
	Mode        Mode
	Confirmed   bool
	SeenAt      time.Time
	// DepositID is the deposit binding whose address received the transfer (OrderID is then empty).
	DepositID string
	// Ignored says the transfer is recorded but never counts: a payment on another chain than its
	// order's, or to a deposit address on a chain of the other mode (testnet tokens to a live
	// address). A token outside the registry, with no Currency, never counts either.
	Ignored bool
}

// Credited reports whether the transfer counts: a registry token, on its order's chain.
func (t *Transfer) Credited() bool { return t.Currency != "" && !t.Ignored }

// Watch is an address the scanner matches transfers against, and whom it belongs to.
type Watch struct {
	Protocol  chain.Protocol
	Address   string
	ProjectID string
	Mode      Mode
	OrderID   string
	ChainID   string    // the order's chain: a payment on another chain is not the order's
	DepositID string    // for a deposit address: its binding (OrderID and ChainID are empty)
	CreatedAt time.Time // when the address was assigned to the order
	Deadline  time.Time // the order's expiresAt + grace
}

// BlockRef names a block.
type BlockRef struct {
	Number uint64
	Hash   string
}

// ScanBatch is what one scanner step applies in one transaction: the transfers found in blocks
// From..To, the new cursor (To, ToHash), and the head that confirmations count from.
type ScanBatch struct {
	ChainID  string
	From, To uint64 // From > To: no new blocks, only confirmations
	ToHash   string
	Head     uint64
	Required int
	// Final, when set, is the chain's finalized (or safe) block by tag: a payment also waits for
	// it, whatever its count of confirmations.
	Final     *uint64
	Transfers []*Transfer
	// Blocks are further blocks of the range to remember (those near the head), so that a reorg's
	// fork point is found without rescanning far.
	Blocks []BlockRef
	Now    time.Time
}

// ChainStore is what the chain scanner needs of storage.
type ChainStore interface {
	// AcquireLease takes or renews the named lease for the holder until now+ttl, and reports
	// whether the holder has it: a lease another holder renewed and whose time is not over is
	// refused.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	Cursor(ctx context.Context, chainID string) (BlockRef, bool, error)
	RecentBlocks(ctx context.Context, chainID string) ([]BlockRef, error)
	// WatchedAddresses returns the addresses of the protocol assigned to orders since the time, of
	// orders whose deadline is not before activeAfter.
	WatchedAddresses(ctx context.Context, p chain.Protocol, since, activeAfter time.Time) ([]Watch, error)
	// ApplyScan stores new transfers, marks confirmations, settles the orders they touch and
	// writes their events, and moves the cursor, all in one transaction.
	ApplyScan(ctx context.Context, b *ScanBatch) error
	// Rewind undoes everything above the block (a reorg): its transfers are removed and their
	// orders settled again, with order.reorged events.
	Rewind(ctx context.Context, chainID string, to BlockRef, now time.Time) (removed int, err error)
	// SimulatePayment stores a confirmed test-mode payment and settles its order (test mode
	// without a chain).
	SimulatePayment(ctx context.Context, t *Transfer, now time.Time) error
	// ExpireOrder expires one pending order now, or reports ErrNotFound.
	ExpireOrder(ctx context.Context, projectID string, mode Mode, id string, now time.Time) error
	// ExpireOrders moves pending orders past expiresAt + grace to expired.
	ExpireOrders(ctx context.Context, now time.Time) (int, error)
	OrderTransfers(ctx context.Context, orderID string) ([]*Transfer, error)
}

// Event types of orders.
const (
	EventOrderCompleted = "order.completed"
	EventOrderUnderpaid = "order.underpaid"
	EventOrderExpired   = "order.expired"
	EventOrderPaidLate  = "order.paid_late"
	EventOrderReorged   = "order.reorged"
)

// Event is an outbox row: written in the transaction of the change it reports.
type Event struct {
	ID        string
	ProjectID string
	Mode      Mode
	Type      string
	Data      json.RawMessage
	CreatedAt time.Time
}

// PaymentTotals sum up an order's credited transfers: what Settle decides from. The store keeps them
// on the order and adds each new transfer and confirmation, so settling does not re-read history.
type PaymentTotals struct {
	Seen, Confirmed *big.Int
	Count           int
	// The earliest payment, by block and log index.
	FirstTx                   string
	FirstBlock, FirstLogIndex uint64
	Late                      bool // a payment arrived after the deadline
}

// Due is what confirmed payments must reach to complete the order: its amount less the
// underpayment tolerance it was created under (rounded in the merchant's favour).
func (o *Order) Due() *big.Int {
	if o.UnderpaymentPPM <= 0 {
		return o.Amount
	}
	short := new(big.Int).Mul(o.Amount, big.NewInt(int64(o.UnderpaymentPPM)))
	short.Quo(short, big.NewInt(1_000_000))
	return short.Sub(o.Amount, short)
}

// Deadline is when an order stops taking payments as on time: expiresAt plus the grace period.
func (o *Order) Deadline() time.Time {
	return o.ExpiresAt.Add(time.Duration(o.GraceMinutes) * time.Minute)
}

// Totals returns the totals stored on the order, or ok false when the order has none (it was paid
// before totals were kept: sum its transfers with TotalsOf).
func (o *Order) Totals() (PaymentTotals, bool) {
	if o.ConfirmedAmount == nil {
		return PaymentTotals{}, false
	}
	return PaymentTotals{Seen: new(big.Int).Set(o.PaidAmount), Confirmed: new(big.Int).Set(o.ConfirmedAmount), Count: o.PaymentCount,
		FirstTx: o.TxHash, FirstBlock: o.FirstBlock, FirstLogIndex: o.FirstLogIndex, Late: o.PaidLate}, true
}

// TotalsOf sums an order's transfers.
func TotalsOf(o *Order, transfers []*Transfer) PaymentTotals {
	pt := PaymentTotals{Seen: new(big.Int), Confirmed: new(big.Int)}
	for _, t := range transfers {
		pt.Add(o, t)
		if t.Credited() && t.Confirmed {
			pt.Confirm(t.Amount)
		}
	}
	return pt
}

// Add counts a credited transfer as seen (its confirmation is counted by Confirm).
func (pt *PaymentTotals) Add(o *Order, t *Transfer) {
	if !t.Credited() {
		return
	}
	pt.Count++
	pt.Seen.Add(pt.Seen, t.Amount)
	if pt.Count == 1 || t.BlockNumber < pt.FirstBlock || (t.BlockNumber == pt.FirstBlock && t.LogIndex < pt.FirstLogIndex) {
		pt.FirstTx, pt.FirstBlock, pt.FirstLogIndex = t.TxHash, t.BlockNumber, t.LogIndex
	}
	if t.SeenAt.After(o.Deadline()) {
		pt.Late = true
	}
}

// Confirm counts a credited payment's confirmation.
func (pt *PaymentTotals) Confirm(amount *big.Int) { pt.Confirmed.Add(pt.Confirmed, amount) }

// Settle sets an order from the totals of its credited transfers (DESIGN §2): completed once
// confirmed payments reach the amount, underpaid when everything paid is confirmed but short,
// confirming while a payment waits for confirmations, pending (or expired) with none. It returns the
// events the change calls for; reorged says the transfers changed because blocks were undone.
func Settle(o *Order, pt PaymentTotals, now time.Time, reorged bool) []string {
	seen, confirmed, count, late := pt.Seen, pt.Confirmed, pt.Count, pt.Late
	deadline := o.Deadline()
	before := o.Status
	wasLate := o.PaidLate
	o.PaidAmount, o.ConfirmedAmount, o.PaymentCount = seen, confirmed, count
	o.MultiplePayments = count > 1
	o.Overpaid = confirmed.Cmp(o.Amount) > 0
	o.PaidLate = late
	o.TxHash, o.FirstBlock, o.FirstLogIndex = "", 0, 0
	if count > 0 {
		o.TxHash, o.FirstBlock, o.FirstLogIndex = pt.FirstTx, pt.FirstBlock, pt.FirstLogIndex
	}
	switch {
	case count == 0 && before == OrderExpired:
	case count == 0 && now.After(deadline):
		o.Status = OrderExpired
	case count == 0:
		o.Status = OrderPending
	case confirmed.Cmp(o.Due()) >= 0:
		o.Status = OrderCompleted
	case confirmed.Cmp(seen) == 0:
		o.Status = OrderUnderpaid
	default:
		o.Status = OrderConfirming
	}
	if o.Status == OrderCompleted && o.CompletedAt == nil {
		t := now
		o.CompletedAt = &t
	} else if o.Status != OrderCompleted {
		o.CompletedAt = nil
	}
	var events []string
	if reorged && (before != o.Status || o.PaidAmount.Sign() == 0) && (before == OrderCompleted || before == OrderConfirming || before == OrderUnderpaid) {
		events = append(events, EventOrderReorged)
	}
	if o.Status != before {
		switch o.Status {
		case OrderCompleted:
			events = append(events, EventOrderCompleted)
		case OrderUnderpaid:
			events = append(events, EventOrderUnderpaid)
		case OrderExpired:
			events = append(events, EventOrderExpired)
		}
	}
	if o.PaidLate && !wasLate {
		events = append(events, EventOrderPaidLate)
	}
	return events
}

// OrderEventData is the data of an order event, as PayIn's webhooks carry it.
func OrderEventData(o *Order) json.RawMessage {
	c, _ := chain.Lookup(o.ChainID)
	tok, _ := c.Token(o.Currency)
	d := map[string]any{"orderId": o.ID, "orderReference": o.Reference, "status": o.Status,
		"amount": money.Format(o.Amount, tok.Decimals), "paidAmount": money.Format(o.PaidAmount, tok.Decimals),
		"currency": o.Currency, "chainId": o.ChainID, "address": o.Address,
		"overpaid": o.Overpaid, "paidLate": o.PaidLate, "multiplePayments": o.MultiplePayments}
	if o.TxHash != "" {
		d["txHash"] = o.TxHash
	}
	if o.CompletedAt != nil {
		d["completedAt"] = o.CompletedAt.UTC().Format(time.RFC3339Nano)
	}
	return MarshalJSON(d)
}

// Payment is one payment of an order as the API shows it.
type Payment struct {
	TxHash        string
	LogIndex      uint64
	Amount        *big.Int
	BlockNumber   uint64
	Confirmations uint64
	From          string
}

// OrderPayments returns the order's payments with their confirmations counted from the chain's
// scanned head.
func (s *Service) OrderPayments(ctx context.Context, o *Order) ([]Payment, error) {
	if o.Status == OrderPending || o.Status == OrderExpired {
		return nil, nil // Settle leaves these statuses only to orders without payments
	}
	transfers, err := s.Store.OrderTransfers(ctx, o.ID)
	if err != nil || len(transfers) == 0 {
		return nil, err
	}
	head, _, err := s.Store.Cursor(ctx, o.ChainID)
	if err != nil {
		return nil, err
	}
	out := make([]Payment, 0, len(transfers))
	for _, t := range transfers {
		if !t.Credited() {
			continue
		}
		p := Payment{TxHash: t.TxHash, LogIndex: t.LogIndex, Amount: t.Amount, BlockNumber: t.BlockNumber, From: t.From}
		if head.Number >= t.BlockNumber {
			p.Confirmations = head.Number - t.BlockNumber + 1
		}
		out = append(out, p)
	}
	return out, nil
}

// RunExpiry expires overdue pending orders every interval until ctx ends.
func (s *Service) RunExpiry(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.Store.ExpireOrders(ctx, s.now()); err != nil && ctx.Err() == nil && s.Log != nil {
			s.Log.Warn("expire orders", "err", err)
		} else if n > 0 && s.Log != nil {
			s.Log.Info("orders expired", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
