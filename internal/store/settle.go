package store

import (
	"context"
	"fmt"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// settleChunk bounds the order ids of one IN list.
const settleChunk = 500

// settle settles the touched orders, stores those that changed and writes their events. An order
// with a delta and stored totals is settled from the totals plus the delta; the others (after a
// reorg, or paid before totals were kept) from all their transfers, read with one query per chunk.
func (s *Store) settle(ctx context.Context, t *tx, touched map[string]*delta, now time.Time, reorged bool) error {
	ids := make([]string, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	for len(ids) > 0 {
		chunk := ids[:min(settleChunk, len(ids))]
		ids = ids[len(chunk):]
		if err := s.settleChunk(ctx, t, chunk, touched, now, reorged); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) settleChunk(ctx context.Context, t *tx, ids []string, touched map[string]*delta, now time.Time, reorged bool) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := t.QueryContext(ctx, s.q(`SELECT `+orderColumns+` FROM orders WHERE id IN (`+placeholders(len(ids))+`)`), args...)
	if err != nil {
		return fmt.Errorf("settle: read orders: %w", err)
	}
	var orders []*gateway.Order
	var resum []any // orders summed from their transfers
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("settle: %w", err)
		}
		orders = append(orders, o)
		if _, ok := o.Totals(); !ok || touched[o.ID] == nil {
			resum = append(resum, o.ID)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	byOrder := map[string][]*gateway.Transfer{}
	if len(resum) > 0 {
		all, err := s.scanTransfers(t.QueryContext(ctx, s.q(`SELECT `+transferColumns+` FROM transfers WHERE order_id IN (`+placeholders(len(resum))+`)`), resum...))
		if err != nil {
			return fmt.Errorf("settle: read transfers: %w", err)
		}
		for _, tr := range all {
			byOrder[tr.OrderID] = append(byOrder[tr.OrderID], tr)
		}
	}
	for _, o := range orders {
		before := *o
		pt, ok := o.Totals()
		d := touched[o.ID]
		if ok && d != nil {
			for _, tr := range d.added {
				pt.Add(o, tr)
			}
			for _, tr := range d.wrong {
				pt.Add(o, tr)
			}
			pt.Confirm(o, d.confirmed...)
		} else {
			pt = gateway.TotalsOf(o, byOrder[o.ID])
		}
		events := gateway.Settle(o, pt, now, reorged)
		var wrong []*gateway.Transfer
		if d != nil {
			wrong = d.wrong
		}
		if err := saveSettled(ctx, t, &before, o, events, wrong, now); err != nil {
			return err
		}
	}
	return nil
}

// saveSettled stores an order that settling changed, keeps its payment link's inventory with it,
// and writes its events: one order.wrong_currency for each new transfer in another currency, then
// those of the change.
func saveSettled(ctx context.Context, t *tx, before, o *gateway.Order, events []string, wrong []*gateway.Transfer, now time.Time) error {
	if unchanged(before, o) && len(events) == 0 && len(wrong) == 0 {
		return nil
	}
	if _, err := t.exec(ctx, `UPDATE orders SET status = ?, paid_amount = ?, confirmed_amount = ?, payment_count = ?, first_block = ?,
		first_log_index = ?, overpaid = ?, paid_late = ?, multiple_payments = ?, tx_hash = ?, completed_at = ?, wrong_currency = ? WHERE id = ?`,
		string(o.Status), o.PaidAmount.String(), o.ConfirmedAmount.String(), o.PaymentCount, int64(o.FirstBlock), int64(o.FirstLogIndex),
		b2i(o.Overpaid), b2i(o.PaidLate), b2i(o.MultiplePayments), o.TxHash, nullTime(o.CompletedAt), b2i(o.WrongCurrency), o.ID); err != nil {
		return fmt.Errorf("settle %s: %w", o.ID, err)
	}
	if err := moveInventory(ctx, t, o, before.Status); err != nil {
		return err
	}
	for _, tr := range wrong {
		if err := writeEvent(ctx, t, &gateway.Event{ID: gateway.NewID("evt"), ProjectID: o.ProjectID, Mode: o.Mode,
			Type: gateway.EventOrderWrongCurrency, Data: gateway.WrongCurrencyEventData(o, tr), CreatedAt: now}); err != nil {
			return err
		}
	}
	return writeEvents(ctx, t, o, events, now)
}

// unchanged reports whether settling left every stored field of the order as it was.
func unchanged(a, b *gateway.Order) bool {
	sameTime := (a.CompletedAt == nil) == (b.CompletedAt == nil) && (a.CompletedAt == nil || a.CompletedAt.Equal(*b.CompletedAt))
	sameTotals := (a.ConfirmedAmount == nil) == (b.ConfirmedAmount == nil) &&
		(a.ConfirmedAmount == nil || a.ConfirmedAmount.Cmp(b.ConfirmedAmount) == 0) && a.PaymentCount == b.PaymentCount &&
		a.FirstBlock == b.FirstBlock && a.FirstLogIndex == b.FirstLogIndex
	return a.Status == b.Status && a.PaidAmount.Cmp(b.PaidAmount) == 0 && a.Overpaid == b.Overpaid && a.PaidLate == b.PaidLate &&
		a.WrongCurrency == b.WrongCurrency &&
		a.MultiplePayments == b.MultiplePayments && a.TxHash == b.TxHash && sameTime && sameTotals
}

// writeEvents writes the events of an order's change.
func writeEvents(ctx context.Context, t *tx, o *gateway.Order, types []string, now time.Time) error {
	for _, typ := range types {
		if err := writeEvent(ctx, t, &gateway.Event{ID: gateway.NewID("evt"), ProjectID: o.ProjectID, Mode: o.Mode,
			Type: typ, Data: gateway.OrderEventData(o), CreatedAt: now}); err != nil {
			return err
		}
	}
	return nil
}

// moveInventory keeps a payment link's inventory with an order that settling moved: a unit it held
// is sold when it completes and released when it expires; a late payment that completes an expired
// order sells one it no longer held.
func moveInventory(ctx context.Context, t *tx, o *gateway.Order, before gateway.OrderStatus) error {
	if o.PaymentLinkID == "" || o.Status == before {
		return nil
	}
	switch {
	case o.Status == gateway.OrderCompleted:
		release := 0
		if before.Holds() {
			release = 1
		}
		if _, err := t.exec(ctx, `UPDATE payment_links SET sold = sold + 1, reserved = reserved - ? WHERE id = ?`, release, o.PaymentLinkID); err != nil {
			return fmt.Errorf("payment link inventory: %w", err)
		}
	case o.Status == gateway.OrderExpired && before.Holds():
		return releaseInventory(ctx, t, o)
	case o.Status.Holds() && !before.Holds():
		// Back from completed (a reorg) or expired (a late payment seen): the unit is held again.
		sold := 0
		if before == gateway.OrderCompleted {
			sold = 1
		}
		if _, err := t.exec(ctx, `UPDATE payment_links SET sold = sold - ?, reserved = reserved + 1 WHERE id = ?`, sold, o.PaymentLinkID); err != nil {
			return fmt.Errorf("payment link inventory: %w", err)
		}
	}
	return nil
}

// releaseInventory gives back the unit of payment-link inventory an expiring order held.
func releaseInventory(ctx context.Context, t *tx, o *gateway.Order) error {
	if o.PaymentLinkID == "" {
		return nil
	}
	if _, err := t.exec(ctx, `UPDATE payment_links SET reserved = reserved - 1 WHERE id = ? AND reserved > 0`, o.PaymentLinkID); err != nil {
		return fmt.Errorf("payment link inventory: %w", err)
	}
	return nil
}
