package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

// Shared addresses and their pay amounts (gateway/shared.go decides; this file carries it out).
// amount_reservations' primary key (chain, address, currency, pay amount) is what keeps two orders
// from holding one pay amount: an insert takes a free amount, or one whose holder's hold ended
// before the request's ReclaimBefore, in one statement.

// SharedAddress returns the shared address of a project's mode and protocol.
func (s *Store) SharedAddress(ctx context.Context, projectID string, mode gateway.Mode, p chain.Protocol) (string, error) {
	var addr string
	err := s.queryRow(ctx, `SELECT address FROM addresses WHERE project_id = ? AND mode = ? AND protocol = ? AND shared = 1`,
		projectID, string(mode), string(p)).Scan(&addr)
	if errors.Is(err, sql.ErrNoRows) {
		return "", gateway.ErrNotFound
	} else if err != nil {
		return "", fmt.Errorf("shared address: %w", err)
	}
	return addr, nil
}

// AddSharedAddress records the derived address as the shared address of the project's mode and
// protocol, or returns the one recorded first (the partial unique index decides a race).
func (s *Store) AddSharedAddress(ctx context.Context, projectID string, mode gateway.Mode, p chain.Protocol, d gateway.DerivedAddress, at time.Time) (string, error) {
	err := s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `INSERT INTO addresses (protocol, address, project_id, mode, source, derivation_index, created_at, assigned_at, shared)
			VALUES (?, ?, ?, ?, 'derived', ?, ?, ?, 1)`, string(p), d.Address, projectID, string(mode), int64(d.Index), ms(at), ms(at))
		return err
	})
	if err != nil && !s.d.IsUniqueViolation(err) {
		return "", fmt.Errorf("record shared address: %w", err)
	}
	return s.SharedAddress(ctx, projectID, mode, p)
}

// orderAddress gives a new order its address: the shared one with a pay amount, or its own.
func (s *Store) orderAddress(ctx context.Context, t *tx, o *gateway.Order, owner addressOwner, req gateway.AddressRequest) (string, error) {
	if req.Shared == nil {
		return s.allocateAddress(ctx, t, owner, req)
	}
	if err := reservePayAmount(ctx, t, o, req.Shared); err != nil {
		return "", err
	}
	return req.Shared.Address, nil
}

// reservePayAmount takes the first of the request's offsets whose pay amount is free on the
// shared address (or held by an order whose hold ended before ReclaimBefore) and sets it on the
// order. One statement per offset tried; the first is nearly always free.
func reservePayAmount(ctx context.Context, t *tx, o *gateway.Order, r *gateway.SharedRequest) error {
	for _, off := range r.Offsets {
		o.PayOffset = off
		var holder string
		err := t.queryRow(ctx, `INSERT INTO amount_reservations (chain_id, address, currency, pay_amount, order_id, created_at, until)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (chain_id, address, currency, pay_amount) DO UPDATE
				SET order_id = excluded.order_id, created_at = excluded.created_at, until = excluded.until
				WHERE amount_reservations.until < ?
			RETURNING order_id`, o.ChainID, r.Address, o.Currency, o.PayAmount().String(), o.ID, ms(o.CreatedAt), ms(r.Until),
			ms(r.ReclaimBefore)).Scan(&holder)
		if errors.Is(err, sql.ErrNoRows) {
			continue // held
		} else if err != nil {
			return fmt.Errorf("reserve pay amount: %w", err)
		}
		return nil
	}
	o.PayOffset = nil
	return gateway.Errorf(gateway.EInsufficientAmounts, "amount",
		"every pay amount tried for %s %s is held by another open order on the shared address; retry, or widen the project's sharedAddress offsets",
		money.Format(o.Amount, o.Token.Decimals), o.Currency)
}

// Reservations returns the pay amounts held on each transfer's chain, address, currency and amount.
func (p paymentTx) Reservations(ctx context.Context, ts []*gateway.Transfer) ([]*gateway.Reservation, error) {
	var out []*gateway.Reservation
	for len(ts) > 0 {
		chunk := ts[:min(idChunk/4, len(ts))]
		ts = ts[len(chunk):]
		var q strings.Builder
		q.WriteString(`SELECT chain_id, address, currency, pay_amount, order_id, created_at, until FROM amount_reservations WHERE `)
		args := make([]any, 0, 4*len(chunk))
		for i, t := range chunk {
			if i > 0 {
				q.WriteString(" OR ")
			}
			q.WriteString("(chain_id = ? AND address = ? AND currency = ? AND pay_amount = ?)")
			args = append(args, t.ChainID, t.To, t.Currency, t.Amount.String())
		}
		rows, err := p.t.QueryContext(ctx, p.t.s.q(q.String()), args...)
		if err != nil {
			return nil, fmt.Errorf("read reservations: %w", err)
		}
		for rows.Next() {
			r := &gateway.Reservation{}
			var amount string
			var created, until int64
			if err := rows.Scan(&r.ChainID, &r.Address, &r.Currency, &amount, &r.OrderID, &created, &until); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read reservations: %w", err)
			}
			v, err := money.ParseBase(amount)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("read reservations: %w", err)
			}
			r.PayAmount, r.CreatedAt, r.Until = v, fromMS(created), fromMS(until)
			out = append(out, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read reservations: %w", err)
		}
	}
	return out, nil
}
