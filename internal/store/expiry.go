package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// ExpireOrders settles the orders that may expire — pending, or underpaid with every payment
// confirmed — whose window and grace are over, with their events (the state machine decides:
// gateway.Settle).
func (s *Store) ExpireOrders(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.inTx(ctx, func(t *tx) error {
		n = 0
		rows, err := t.QueryContext(ctx, s.q(`SELECT `+orderColumns+` FROM orders
			WHERE status IN ('pending', 'underpaid') AND expires_at <= ? AND expires_at + grace_minutes * 60000 < ? LIMIT 1000`), ms(now), ms(now))
		if err != nil {
			return fmt.Errorf("find expired orders: %w", err)
		}
		var due []*gateway.Order
		for rows.Next() {
			o, err := scanOrder(rows)
			if err != nil {
				rows.Close()
				return err
			}
			due = append(due, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var resum []*gateway.Order
		for _, o := range due {
			if _, ok := o.Totals(); !ok {
				resum = append(resum, o)
			}
		}
		byOrder := map[string][]*gateway.Transfer{}
		for _, o := range resum { // paid before totals were kept: rare, one query each
			trs, err := s.scanTransfers(t.QueryContext(ctx, s.q(`SELECT `+transferColumns+` FROM transfers WHERE order_id = ?`), o.ID))
			if err != nil {
				return fmt.Errorf("expire: read transfers: %w", err)
			}
			byOrder[o.ID] = trs
		}
		for _, o := range due {
			before := *o
			pt, ok := o.Totals()
			if !ok {
				pt = gateway.TotalsOf(o, byOrder[o.ID])
			}
			events := gateway.Settle(o, pt, now, false)
			if err := saveSettled(ctx, t, &before, o, events, nil, now); err != nil {
				return err
			}
			if o.Status == gateway.OrderExpired {
				n++
			}
		}
		return nil
	})
	return n, err
}

// ExpireOrder expires a pending order now, with its event; an order that is not pending is
// gateway.ErrNotFound.
func (s *Store) ExpireOrder(ctx context.Context, projectID string, mode gateway.Mode, id string, now time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		o, err := scanOrder(t.queryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = ?`, id)) // by key alone: see FindOrder
		if errors.Is(err, sql.ErrNoRows) {
			return gateway.ErrNotFound
		} else if err != nil {
			return fmt.Errorf("expire order: %w", err)
		}
		if o.ProjectID != projectID || o.Mode != mode || o.Status != gateway.OrderPending {
			return gateway.ErrNotFound
		}
		// Take the row's lock, still pending (PostgreSQL re-reads the row if another took it first).
		res, err := t.exec(ctx, `UPDATE orders SET status = status WHERE id = ? AND status = 'pending'`, o.ID)
		if err != nil {
			return fmt.Errorf("expire order: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 { // expired or paid meanwhile
			return gateway.ErrNotFound
		}
		before := *o
		events, ok := gateway.ExpireNow(o)
		if !ok {
			return gateway.ErrNotFound
		}
		return saveSettled(ctx, t, &before, o, events, nil, now)
	})
}
