package gateway

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The mechanics of one transaction of the payment story (ingest.go tells the stories): what a
// step gathers — the orders it touches, the ledger postings, the events — and how it settles and
// writes them.

// step is what one transaction of the payment story changes, gathered before it is written: the
// orders to settle, the ledger postings and the deposit events.
type step struct {
	svc     *Service
	now     time.Time
	reorged bool
	// orders are the touched orders by id; a nil delta: sum the order again from its transfers.
	orders   map[string]*orderDelta
	postings []Posting
	// deposits are the deposit events, written in this order: those of transfers seen (pending)
	// or reorged, then those confirmed.
	deposits, depositsConfirmed []depositEvent
	events                      []*Event // the orders' events, written after the deposits'
}

// orderDelta is what a step adds to an order's totals.
type orderDelta struct {
	added, confirmed []*Transfer
	wrong            []*Transfer // new transfers in another registry token than the order's
}

type depositEvent struct {
	tr  *Transfer
	typ string
}

func (s *Service) newStep(now time.Time, reorged bool) *step {
	return &step{svc: s, now: now, reorged: reorged, orders: map[string]*orderDelta{}}
}

// counts reports whether a transfer is money the gateway holds: credited, to an order or a deposit.
func counts(tr *Transfer) bool { return tr.Credited() && (tr.OrderID != "" || tr.DepositID != "") }

func (st *step) order(id string) *orderDelta {
	d := st.orders[id]
	if d == nil {
		d = &orderDelta{}
		st.orders[id] = d
	}
	return d
}

func (st *step) post(tr *Transfer, from, to, reason string) {
	p := Posting{Transfer: tr, From: from, To: to, Reason: reason, At: st.now}
	if tr.DepositID != "" && (from == AccountAvailable || to == AccountAvailable) {
		p.User = tr.DepositID // a user's balance is its share of available
	}
	st.postings = append(st.postings, p)
}

// added takes the transfers the step stored: a credited one is posted from external to pending
// when seen — or straight to available when it is seen already confirmed (catching up); one in the
// wrong currency is only reported on its order.
func (st *step) added(trs []*Transfer) {
	for _, tr := range trs {
		if tr.Unmatched {
			st.events = append(st.events, st.svc.unmatchedEvent(tr, st.now))
			continue
		}
		if tr.WrongCurrency && tr.OrderID != "" {
			d := st.order(tr.OrderID)
			d.wrong = append(d.wrong, tr)
			continue
		}
		if !counts(tr) {
			continue
		}
		if tr.Confirmed {
			st.post(tr, AccountExternal, AccountAvailable, "confirmed")
		} else {
			st.post(tr, AccountExternal, AccountPending, "seen")
		}
		if tr.DepositID != "" {
			pending := *tr
			pending.Confirmed = false
			st.deposits = append(st.deposits, depositEvent{&pending, EventDepositPending})
			if tr.Confirmed {
				st.depositsConfirmed = append(st.depositsConfirmed, depositEvent{tr, EventDepositConfirmed})
			}
			continue
		}
		d := st.order(tr.OrderID)
		d.added = append(d.added, tr)
		if tr.Confirmed {
			d.confirmed = append(d.confirmed, tr)
		}
	}
}

// confirmed takes the transfers stored earlier that the step confirmed: posted from pending to
// available.
func (st *step) confirmed(trs []*Transfer) {
	for _, tr := range trs {
		if !counts(tr) {
			continue
		}
		st.post(tr, AccountPending, AccountAvailable, "confirmed")
		if tr.DepositID != "" {
			st.depositsConfirmed = append(st.depositsConfirmed, depositEvent{tr, EventDepositConfirmed})
			continue
		}
		d := st.order(tr.OrderID)
		d.confirmed = append(d.confirmed, tr)
	}
}

// commit settles the touched orders (locked, in the order of their ids), then posts the ledger and
// writes the events.
func (st *step) commit(ctx context.Context, tx PaymentTx) error {
	if len(st.orders) > 0 {
		ids := make([]string, 0, len(st.orders))
		for id := range st.orders {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		orders, err := tx.LockOrders(ctx, ids)
		if err != nil {
			return err
		}
		if err := st.settle(ctx, tx, orders); err != nil {
			return err
		}
	}
	return st.write(ctx, tx)
}

// settle settles locked orders through the state machine and saves those that changed. An order
// with a delta and stored totals is settled from the totals plus the delta; the others (after a
// reorg, or paid before totals were kept) from all their transfers.
func (st *step) settle(ctx context.Context, tx PaymentTx, orders []*Order) error {
	st.svc.resolve(orders...)
	var resum []string
	for _, o := range orders {
		if _, ok := o.Totals(); !ok || st.orders[o.ID] == nil {
			resum = append(resum, o.ID)
		}
	}
	byOrder := map[string][]*Transfer{}
	if len(resum) > 0 {
		all, err := tx.TransfersOf(ctx, resum)
		if err != nil {
			return err
		}
		for _, tr := range all {
			byOrder[tr.OrderID] = append(byOrder[tr.OrderID], tr)
		}
	}
	for _, o := range orders {
		before := *o
		pt, ok := o.Totals()
		d := st.orders[o.ID]
		if ok && d != nil {
			for _, tr := range d.added {
				pt.Add(o, tr)
			}
			for _, tr := range d.wrong {
				pt.Add(o, tr)
			}
			pt.Confirm(o, d.confirmed...)
		} else {
			pt = TotalsOf(o, byOrder[o.ID])
		}
		events := Settle(o, pt, st.now, st.reorged)
		var wrong []*Transfer
		if d != nil {
			wrong = d.wrong
		}
		if err := st.save(ctx, tx, &before, o, events, wrong); err != nil {
			return err
		}
	}
	return nil
}

// save stores an order that settling changed, keeps its payment link's inventory with it, and
// queues its events: one order.wrong_currency for each new transfer in another currency, then
// those of the change.
func (st *step) save(ctx context.Context, tx PaymentTx, before, o *Order, events []string, wrong []*Transfer) error {
	if unchanged(before, o) && len(events) == 0 && len(wrong) == 0 {
		return nil
	}
	if err := tx.SaveOrder(ctx, o); err != nil {
		return err
	}
	if sold := unitsSold(o, before.Status); sold != 0 {
		if err := tx.MoveInventory(ctx, o.PaymentLinkID, sold); err != nil {
			return err
		}
	}
	for _, tr := range wrong {
		st.events = append(st.events, &Event{ID: NewID("evt"), Subject: o.ID, ProjectID: o.ProjectID, Mode: o.Mode,
			Type: EventOrderWrongCurrency, Data: WrongCurrencyEventData(o, tr), CreatedAt: st.now})
	}
	for _, typ := range events {
		st.events = append(st.events, &Event{ID: NewID("evt"), Subject: o.ID, ProjectID: o.ProjectID, Mode: o.Mode,
			Type: typ, Data: OrderEventData(o), CreatedAt: st.now})
	}
	return nil
}

// write posts the step's ledger entries and writes its events: the deposits' first, then the
// orders'.
func (st *step) write(ctx context.Context, tx PaymentTx) error {
	if len(st.postings) > 0 {
		if err := tx.Post(ctx, st.postings); err != nil {
			return err
		}
	}
	deposits := slices.Concat(st.deposits, st.depositsConfirmed)
	events := make([]*Event, 0, len(deposits)+len(st.events))
	if len(deposits) > 0 {
		var ids []string
		for _, de := range deposits {
			ids = append(ids, de.tr.DepositID)
		}
		slices.Sort(ids)
		bindings, err := tx.DepositBindings(ctx, slices.Compact(ids))
		if err != nil {
			return err
		}
		reg := st.svc.ChainRegistry()
		for _, de := range deposits {
			tok, _ := reg.Token(de.tr.ChainID, de.tr.Currency)
			b := bindings[de.tr.DepositID]
			if b == nil {
				b = &DepositBinding{}
			}
			data := DepositEventData(de.tr, tok, b)
			if de.typ == EventDepositReorged {
				data = DepositReorgedEventData(de.tr, tok, b)
			}
			subject := fmt.Sprintf("deposit:%s/%s/%d", de.tr.ChainID, de.tr.TxHash, de.tr.LogIndex)
			events = append(events, &Event{ID: NewID("evt"), Subject: subject, ProjectID: de.tr.ProjectID, Mode: de.tr.Mode, Type: de.typ,
				Data: data, CreatedAt: st.now})
		}
	}
	events = append(events, st.events...)
	if len(events) == 0 {
		return nil
	}
	return tx.AddEvents(ctx, events)
}

// unitsSold is what an order that settling moved does to its payment link's units sold: one more
// when it completes, one fewer when a reorg takes it back from completed. (Which orders hold a unit
// meanwhile follows from their status and age: Order.HoldsUnit.)
func unitsSold(o *Order, before OrderStatus) int {
	switch {
	case o.PaymentLinkID == "" || o.Status == before:
		return 0
	case o.Status == OrderCompleted:
		return 1
	case before == OrderCompleted:
		return -1
	}
	return 0
}

// unchanged reports whether settling left every stored field of the order as it was.
func unchanged(a, b *Order) bool {
	sameTime := (a.CompletedAt == nil) == (b.CompletedAt == nil) && (a.CompletedAt == nil || a.CompletedAt.Equal(*b.CompletedAt))
	sameTotals := (a.ConfirmedAmount == nil) == (b.ConfirmedAmount == nil) &&
		(a.ConfirmedAmount == nil || a.ConfirmedAmount.Cmp(b.ConfirmedAmount) == 0) && a.PaymentCount == b.PaymentCount &&
		a.FirstBlock == b.FirstBlock && a.FirstLogIndex == b.FirstLogIndex
	return a.Status == b.Status && a.PaidAmount.Cmp(b.PaidAmount) == 0 && a.Overpaid == b.Overpaid && a.PaidLate == b.PaidLate &&
		a.WrongCurrency == b.WrongCurrency && a.Resolution == b.Resolution &&
		a.MultiplePayments == b.MultiplePayments && a.TxHash == b.TxHash && sameTime && sameTotals
}
