package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"math/big"
	"slices"
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
	// order's or in another token than the order's currency (WrongCurrency), or to a deposit
	// address on a chain of the other mode (testnet tokens to a live address). A token outside the
	// registry, with no Currency, never counts either.
	Ignored bool
	// WrongCurrency says the transfer is a registry token on the order's chain, but not the order's
	// currency: recorded against the order and reported (order.wrong_currency), never counted.
	WrongCurrency bool
}

// Credited reports whether the transfer counts: a registry token, on its order's chain.
func (t *Transfer) Credited() bool { return t.Currency != "" && !t.Ignored }

// Recipient is whom a watched address belongs to, as far as deciding what a transfer to it
// counts for: a deposit binding of a mode, or an order of a currency on a chain.
type Recipient struct {
	Deposit  bool
	Mode     Mode
	ChainID  string // an order's chain
	Currency string // an order's currency
}

// Classify decides what a transfer to a watched address is (DESIGN §2), given the chain it was
// seen on; t.Currency is the registry's symbol of its token, or empty for a token outside the
// registry. It reports false for what is no payment at all and is not recorded: a transfer of
// zero (anyone can send one, for the gas alone). Otherwise it sets t.Ignored and t.WrongCurrency:
// an order is paid only by its own token on its own chain; a deposit address takes every registry
// token on every chain of its mode, and nothing on a chain of the other mode.
func Classify(t *Transfer, r Recipient, on chain.Chain) bool {
	if t.Amount == nil || t.Amount.Sign() <= 0 {
		return false
	}
	t.Ignored, t.WrongCurrency = false, false
	switch {
	case t.Currency == "":
	case r.Deposit:
		t.Ignored = on.Testnet == r.Mode.Live()
	case r.ChainID != on.Slug:
		t.Ignored = true
	case t.Currency != r.Currency:
		t.Ignored, t.WrongCurrency = true, true
	}
	return true
}

// Watch is an address the scanner matches transfers against, and whom it belongs to.
type Watch struct {
	Protocol  chain.Protocol
	Address   string
	ProjectID string
	Mode      Mode
	OrderID   string
	ChainID   string    // the order's chain: a payment on another chain is not the order's
	Currency  string    // the order's currency: another token is not the order's either
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
	// without a chain), provided the order is not completed and has paidAmount paidBefore still
	// (what the simulation was computed from); otherwise it changes nothing and returns ErrChanged.
	SimulatePayment(ctx context.Context, t *Transfer, paidBefore *big.Int, now time.Time) error
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
	// EventOrderWrongCurrency reports a registry token other than the order's currency sent to the
	// order's address on its chain: never counted, one event per such transfer.
	EventOrderWrongCurrency = "order.wrong_currency"
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
	// CompletedBy is the payment whose confirmation made the confirmed total reach what is due,
	// when that happened while these totals were added up (empty otherwise).
	CompletedBy string
	// WrongCurrency says a registry token other than the order's currency arrived on its chain.
	WrongCurrency bool
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
		FirstBlock: o.FirstBlock, FirstLogIndex: o.FirstLogIndex, Late: o.PaidLate, WrongCurrency: o.WrongCurrency}, true
}

// TotalsOf sums an order's transfers.
func TotalsOf(o *Order, transfers []*Transfer) PaymentTotals {
	pt := PaymentTotals{Seen: new(big.Int), Confirmed: new(big.Int)}
	var confirmed []*Transfer
	for _, t := range transfers {
		pt.Add(o, t)
		if t.Credited() && t.Confirmed {
			confirmed = append(confirmed, t)
		}
	}
	pt.Confirm(o, confirmed...)
	return pt
}

// Add counts a credited transfer as seen (its confirmation is counted by Confirm); a transfer in
// the wrong currency only marks the totals.
func (pt *PaymentTotals) Add(o *Order, t *Transfer) {
	if t.WrongCurrency {
		pt.WrongCurrency = true
	}
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

// Confirm counts the confirmations of credited payments, in chain order (confirmations follow the
// chain, so the payment that makes the confirmed total reach what is due is the one that completed
// the order).
func (pt *PaymentTotals) Confirm(o *Order, ts ...*Transfer) {
	ts = slices.Clone(ts)
	slices.SortStableFunc(ts, func(a, b *Transfer) int {
		return cmp.Or(cmp.Compare(a.BlockNumber, b.BlockNumber), cmp.Compare(a.LogIndex, b.LogIndex))
	})
	due := o.Due()
	for _, t := range ts {
		if !t.Credited() {
			continue
		}
		before := pt.Confirmed.Cmp(due) >= 0
		pt.Confirmed.Add(pt.Confirmed, t.Amount)
		if !before && pt.Confirmed.Cmp(due) >= 0 {
			pt.CompletedBy = t.TxHash
		}
	}
}

// Settle sets an order from the totals of its credited transfers (DESIGN §2): completed once
// confirmed payments reach what is due, underpaid when everything paid is confirmed but short,
// confirming while a payment waits for confirmations, pending with none — and expired when the
// deadline has passed with nothing paid, or with everything paid confirmed and short (what was
// paid is kept: paidAmount). It returns the events the change calls for; reorged says the
// transfers changed because blocks were undone.
func Settle(o *Order, pt PaymentTotals, now time.Time, reorged bool) []string {
	seen, confirmed, count, late := pt.Seen, pt.Confirmed, pt.Count, pt.Late
	before := o.Status
	wasLate := o.PaidLate
	o.PaidAmount, o.ConfirmedAmount, o.PaymentCount = seen, confirmed, count
	o.MultiplePayments = count > 1
	o.Overpaid = confirmed.Cmp(o.Amount) > 0
	o.PaidLate = late
	o.WrongCurrency = pt.WrongCurrency
	o.FirstBlock, o.FirstLogIndex = 0, 0
	if count > 0 {
		o.FirstBlock, o.FirstLogIndex = pt.FirstBlock, pt.FirstLogIndex
	}
	switch {
	case count > 0 && confirmed.Cmp(o.Due()) >= 0:
		o.Status = OrderCompleted
	case count > 0 && confirmed.Cmp(seen) != 0:
		o.Status = OrderConfirming
	case count == 0 && before == OrderExpired, o.Expired(now):
		o.Status = OrderExpired
	case count == 0:
		o.Status = OrderPending
	default:
		o.Status = OrderUnderpaid
	}
	// txHash is the payment that completed the order, and only a completed order has one.
	switch {
	case o.Status != OrderCompleted:
		o.TxHash = ""
	case pt.CompletedBy != "" && (before != OrderCompleted || reorged || o.TxHash == ""):
		o.TxHash = pt.CompletedBy
	case o.TxHash == "":
		o.TxHash = pt.FirstTx
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

// Expired reports whether the order's deadline (expiresAt + grace) has passed at now: from then on
// an order with nothing paid, or with every payment confirmed and short, is expired.
func (o *Order) Expired(now time.Time) bool { return now.After(o.Deadline()) }

// Holds reports whether an order of a payment link in the status holds a unit of its inventory:
// from checkout until it completes (sold) or expires (released).
func (s OrderStatus) Holds() bool { return s != OrderCompleted && s != OrderExpired }

// OrderEventData is the data of an order event, as PayIn's webhooks carry it.
func OrderEventData(o *Order) json.RawMessage {
	c, _ := chain.Lookup(o.ChainID)
	tok, _ := c.Token(o.Currency)
	return MarshalJSON(orderEventData(o, tok))
}

func orderEventData(o *Order, tok chain.Token) map[string]any {
	d := map[string]any{"orderId": o.ID, "orderReference": o.Reference, "status": o.Status,
		"amount": money.Format(o.Amount, tok.Decimals), "paidAmount": money.Format(o.PaidAmount, tok.Decimals),
		"currency": o.Currency, "chainId": o.ChainID, "address": o.Address,
		"overpaid": o.Overpaid, "paidLate": o.PaidLate, "multiplePayments": o.MultiplePayments, "wrongCurrency": o.WrongCurrency}
	if o.TxHash != "" {
		d["txHash"] = o.TxHash
	}
	if o.CompletedAt != nil {
		d["completedAt"] = o.CompletedAt.UTC().Format(time.RFC3339Nano)
	}
	return d
}

// WrongCurrencyEventData is the data of an order.wrong_currency event: the order, and the transfer
// that was not counted, in its own token's units.
func WrongCurrencyEventData(o *Order, t *Transfer) json.RawMessage {
	c, _ := chain.Lookup(o.ChainID)
	tok, _ := c.Token(o.Currency)
	got, _ := c.Token(t.Currency)
	d := orderEventData(o, tok)
	d["transfer"] = map[string]any{"txHash": t.TxHash, "logIndex": t.LogIndex, "blockNumber": t.BlockNumber, "from": t.From,
		"currency": t.Currency, "tokenAddress": t.Token, "amount": money.Format(t.Amount, got.Decimals)}
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

// WrongPayment is a transfer of another registry token than the order's currency to the order's
// address on its chain: shown on the order, never counted.
type WrongPayment struct {
	Payment
	Currency     string
	TokenAddress string
	Decimals     int
}

// OrderPayments returns the order's payments with their confirmations counted from the chain's
// scanned head, and the transfers it received in another currency.
func (s *Service) OrderPayments(ctx context.Context, o *Order) ([]Payment, []WrongPayment, error) {
	if (o.Status == OrderPending || o.Status == OrderExpired) && o.PaidAmount.Sign() == 0 && !o.WrongCurrency {
		return nil, nil, nil // nothing was sent to the address that the order shows
	}
	transfers, err := s.Store.OrderTransfers(ctx, o.ID)
	if err != nil || len(transfers) == 0 {
		return nil, nil, err
	}
	head, _, err := s.Store.Cursor(ctx, o.ChainID)
	if err != nil {
		return nil, nil, err
	}
	c, _ := chain.Lookup(o.ChainID)
	var out []Payment
	var wrong []WrongPayment
	for _, t := range transfers {
		p := Payment{TxHash: t.TxHash, LogIndex: t.LogIndex, Amount: t.Amount, BlockNumber: t.BlockNumber, From: t.From}
		if head.Number >= t.BlockNumber {
			p.Confirmations = head.Number - t.BlockNumber + 1
		}
		switch {
		case t.Credited():
			out = append(out, p)
		case t.WrongCurrency:
			tok, _ := c.Token(t.Currency)
			wrong = append(wrong, WrongPayment{Payment: p, Currency: t.Currency, TokenAddress: t.Token, Decimals: tok.Decimals})
		}
	}
	return out, wrong, nil
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
