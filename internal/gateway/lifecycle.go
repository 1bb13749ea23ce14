package gateway

import (
	"cmp"
	"math/big"
	"slices"
	"time"
)

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
	pay := o.PayAmount()
	if o.UnderpaymentPPM <= 0 {
		return pay
	}
	short := new(big.Int).Mul(pay, big.NewInt(int64(o.UnderpaymentPPM)))
	short.Quo(short, big.NewInt(1_000_000))
	return short.Sub(pay, short)
}

// PayAmount is what the payer is asked to pay: the amount, plus the order's offset on a shared
// address.
func (o *Order) PayAmount() *big.Int {
	if o.PayOffset == nil || o.PayOffset.Sign() == 0 {
		return o.Amount
	}
	return new(big.Int).Add(o.Amount, o.PayOffset)
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
	o.Overpaid = confirmed.Cmp(o.PayAmount()) > 0
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
	if o.Resolution != "" {
		o.Status = o.Resolution // resolved by hand: what arrives since changes the totals, not the status
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
		if o.ResolvedAt != nil {
			t = *o.ResolvedAt
		}
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
	// A late payment is one story, never two: order.completed is the one event to fulfil on (with
	// paidLate when late money completed the order); order.paid_late says that money arrived after
	// the deadline and did not complete the order — sent once, when the order was completed
	// already, or when everything paid is confirmed and short (it stays expired or underpaid).
	switch {
	case o.Status == OrderCompleted && before != OrderCompleted:
	case o.Status == OrderCompleted && o.PaidLate && !wasLate, lateShort(o.Status, o.PaidLate) && !lateShort(before, wasLate):
		events = append(events, EventOrderPaidLate)
	}
	return events
}

// lateShort reports whether an order in the status, with a late payment or not, holds late money
// that did not complete it: everything paid is confirmed, and short.
func lateShort(s OrderStatus, late bool) bool {
	return late && (s == OrderExpired || s == OrderUnderpaid)
}

// ExpireNow expires a pending order before its deadline (a test-mode simulation of a payer who
// never pays), with its event; an order that is not pending does not expire (ok false). Afterwards
// Settle keeps it expired until a payment arrives, as any expired order.
func ExpireNow(o *Order) (events []string, ok bool) {
	if o.Status != OrderPending {
		return nil, false
	}
	o.Status = OrderExpired
	return []string{EventOrderExpired}, true
}

// Expired reports whether the order's deadline (expiresAt + grace) has passed at now: from then on
// an order with nothing paid, or with every payment confirmed and short, is expired.
func (o *Order) Expired(now time.Time) bool { return now.After(o.Deadline()) }
