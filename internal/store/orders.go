package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

// errReferenceRace is returned inside a transaction that lost a race to insert the same
// reference; CreateOrder then reads the winner.
var errReferenceRace = errors.New("order reference inserted concurrently")

// CreateOrder stores o with a fresh address, or returns the order stored under its reference.
func (s *Store) CreateOrder(ctx context.Context, o *gateway.Order, req gateway.AddressRequest) (*gateway.Order, error) {
	for attempt := 0; ; attempt++ {
		var existing *gateway.Order
		err := s.inTx(ctx, func(t *tx) error {
			var err error
			existing, err = findOrderByReference(ctx, t, o.ProjectID, o.Mode, o.Reference)
			if err != nil || existing != nil {
				return err
			}
			if o.Address, err = s.allocateAddress(ctx, t, o, req); err != nil {
				return err
			}
			_, err = t.exec(ctx, `INSERT INTO orders (id, project_id, mode, order_reference, status, amount, currency, chain_id, address,
				success_url, cancel_url, metadata, payment_window_minutes, grace_minutes, expires_at, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				o.ID, o.ProjectID, string(o.Mode), o.Reference, string(o.Status), o.Amount.String(), o.Currency, o.ChainID, o.Address,
				o.SuccessURL, o.CancelURL, nullString(o.Metadata), o.PaymentWindowMinutes, o.GraceMinutes, ms(o.ExpiresAt), ms(o.CreatedAt))
			if err != nil && s.d.IsUniqueViolation(err) {
				return errReferenceRace
			} else if err != nil {
				return fmt.Errorf("insert order: %w", err)
			}
			return nil
		})
		if errors.Is(err, errReferenceRace) && attempt < 3 {
			continue
		}
		if err != nil {
			o.Address = ""
			return nil, err
		}
		return existing, nil
	}
}

// allocateAddress takes an unused pool address when the project's mode has a pool for the
// protocol, and otherwise derives the next address from the project's counter.
func (s *Store) allocateAddress(ctx context.Context, t *tx, o *gateway.Order, req gateway.AddressRequest) (string, error) {
	var addr string
	err := t.queryRow(ctx, `UPDATE addresses SET order_id = ?, assigned_at = ?
		WHERE protocol = ? AND address = (SELECT address FROM addresses
			WHERE project_id = ? AND mode = ? AND protocol = ? AND source = 'pool' AND order_id IS NULL
			ORDER BY created_at LIMIT 1 `+s.d.SkipLocked+`)
		RETURNING address`, o.ID, ms(o.CreatedAt), string(req.Protocol), o.ProjectID, string(o.Mode), string(req.Protocol)).Scan(&addr)
	if err == nil {
		return addr, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("take pool address: %w", err)
	}
	var hasPool int
	err = t.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM addresses WHERE project_id = ? AND mode = ? AND protocol = ? AND source = 'pool' LIMIT 1) x`,
		o.ProjectID, string(o.Mode), string(req.Protocol)).Scan(&hasPool)
	if err != nil {
		return "", fmt.Errorf("check pool: %w", err)
	}
	if hasPool > 0 {
		return "", gateway.Errorf(gateway.EInsufficientAddresses, "", "No available addresses in pool for protocol: %s", req.Protocol)
	}
	if req.Derive == nil {
		return "", gateway.Errorf(gateway.EInsufficientAddresses, "", "No available addresses in pool for protocol: %s (the project has no %s xpub; import addresses with POST /api/v1/address-pool/import)", req.Protocol, req.Protocol)
	}
	var index int64
	err = t.queryRow(ctx, `INSERT INTO address_counters (project_id, protocol, next_index) VALUES (?, ?, 1)
		ON CONFLICT (project_id, protocol) DO UPDATE SET next_index = address_counters.next_index + 1
		RETURNING next_index - 1`, o.ProjectID, string(req.Protocol)).Scan(&index)
	if err != nil {
		return "", fmt.Errorf("next address index: %w", err)
	}
	if addr, err = req.Derive(uint32(index)); err != nil {
		return "", fmt.Errorf("derive address %d: %w", index, err)
	}
	if _, err := t.exec(ctx, `INSERT INTO addresses (protocol, address, project_id, mode, source, derivation_index, order_id, created_at, assigned_at)
		VALUES (?, ?, ?, ?, 'derived', ?, ?, ?, ?)`, string(req.Protocol), addr, o.ProjectID, string(o.Mode), index, o.ID, ms(o.CreatedAt), ms(o.CreatedAt)); err != nil {
		return "", fmt.Errorf("record derived address %d: %w", index, err)
	}
	return addr, nil
}

const orderColumns = `id, project_id, mode, order_reference, status, amount, currency, chain_id, address, success_url, cancel_url,
	metadata, payment_window_minutes, grace_minutes, expires_at, created_at, completed_at, tx_hash`

func scanOrder(sc interface{ Scan(...any) error }) (*gateway.Order, error) {
	var o gateway.Order
	var mode, status, amount string
	var meta sql.NullString
	var expires, created int64
	var completed sql.NullInt64
	if err := sc.Scan(&o.ID, &o.ProjectID, &mode, &o.Reference, &status, &amount, &o.Currency, &o.ChainID, &o.Address,
		&o.SuccessURL, &o.CancelURL, &meta, &o.PaymentWindowMinutes, &o.GraceMinutes, &expires, &created, &completed, &o.TxHash); err != nil {
		return nil, err
	}
	v, err := money.ParseBase(amount)
	if err != nil {
		return nil, err
	}
	o.Mode, o.Status, o.Amount = gateway.Mode(mode), gateway.OrderStatus(status), v
	if meta.Valid {
		o.Metadata = []byte(meta.String)
	}
	o.ExpiresAt, o.CreatedAt, o.CompletedAt = fromMS(expires), fromMS(created), nullMS(completed)
	return &o, nil
}

func findOrderByReference(ctx context.Context, t *tx, projectID string, mode gateway.Mode, ref string) (*gateway.Order, error) {
	o, err := scanOrder(t.queryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE project_id = ? AND mode = ? AND order_reference = ?`,
		projectID, string(mode), ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("find order by reference: %w", err)
	}
	return o, nil
}

// FindOrder returns one order of a project and mode, or gateway.ErrNotFound.
func (s *Store) FindOrder(ctx context.Context, projectID string, mode gateway.Mode, id string) (*gateway.Order, error) {
	o, err := scanOrder(s.queryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = ? AND project_id = ? AND mode = ?`, id, projectID, string(mode)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find order: %w", err)
	}
	return o, nil
}

// ListOrders returns a page of a project's orders in one mode, newest first, and the total count.
func (s *Store) ListOrders(ctx context.Context, f gateway.OrderFilter) ([]*gateway.Order, int, error) {
	where := []string{"project_id = ?", "mode = ?"}
	args := []any{f.ProjectID, string(f.Mode)}
	for _, c := range []struct{ col, v string }{{"status", string(f.Status)}, {"chain_id", f.ChainID}, {"currency", f.Currency}, {"order_reference", f.Reference}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM orders WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count orders: %w", err)
	}
	rows, err := s.query(ctx, `SELECT `+orderColumns+` FROM orders WHERE `+cond+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		append(args, f.Limit, (f.Page-1)*f.Limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list orders: %w", err)
	}
	defer rows.Close()
	out := []*gateway.Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list orders: %w", err)
		}
		out = append(out, o)
	}
	return out, total, rows.Err()
}

func nullString(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
