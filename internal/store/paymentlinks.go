package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// CreatePaymentLink stores a payment link.
func (s *Store) CreatePaymentLink(ctx context.Context, l *gateway.PaymentLink) error {
	currencies, _ := json.Marshal(l.Currencies)
	var inventory any
	if l.InventoryTotal != nil {
		inventory = *l.InventoryTotal
	}
	return s.inTx(ctx, func(t *tx) error {
		if _, err := t.exec(ctx, `INSERT INTO payment_links (id, project_id, mode, slug, title, description, amount, currencies, inventory_total,
			reservation_minutes, status, expires_at, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, l.ID, l.ProjectID, string(l.Mode), l.Slug,
			l.Title, l.Description, l.Amount, string(currencies), inventory, l.ReservationMinutes, l.Status, nullTime(l.ExpiresAt), nullString(l.Metadata), ms(l.CreatedAt)); err != nil {
			return fmt.Errorf("insert payment link: %w", err)
		}
		return nil
	})
}

// holdingOrders counts the orders of the payment link l that hold a unit of its inventory at the
// moment given as its one argument (ms): the SQL of gateway.Order.HoldsUnit.
const holdingOrders = `(SELECT COUNT(*) FROM orders o WHERE o.payment_link_id = l.id
	AND (o.status IN ('confirming', 'underpaid') OR (o.status = 'pending' AND o.created_at > ? - l.reservation_minutes * 60000)))`

// linkColumns reads a link with its units held counted at a moment (one argument, ms).
const linkColumns = `l.id, l.project_id, l.mode, l.slug, l.title, l.description, l.amount, l.currencies, l.inventory_total,
	l.reservation_minutes, l.sold, ` + holdingOrders + `, l.status, l.expires_at, l.metadata, l.created_at`

func scanLink(sc interface{ Scan(...any) error }) (*gateway.PaymentLink, error) {
	var l gateway.PaymentLink
	var mode, currencies string
	var inventory, expires sql.NullInt64
	var meta sql.NullString
	var created int64
	if err := sc.Scan(&l.ID, &l.ProjectID, &mode, &l.Slug, &l.Title, &l.Description, &l.Amount, &currencies, &inventory, &l.ReservationMinutes, &l.Sold, &l.Reserved,
		&l.Status, &expires, &meta, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(currencies), &l.Currencies); err != nil {
		return nil, fmt.Errorf("payment link currencies: %w", err)
	}
	if inventory.Valid {
		n := int(inventory.Int64)
		l.InventoryTotal = &n
	}
	if meta.Valid {
		l.Metadata = []byte(meta.String)
	}
	l.Mode, l.ExpiresAt, l.CreatedAt = gateway.Mode(mode), nullMS(expires), fromMS(created)
	return &l, nil
}

func (s *Store) findLink(ctx context.Context, at time.Time, where string, arg any) (*gateway.PaymentLink, error) {
	l, err := scanLink(s.queryRow(ctx, `SELECT `+linkColumns+` FROM payment_links l WHERE `+where, ms(at), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find payment link: %w", err)
	}
	return l, nil
}

// FindPaymentLink returns a project's payment link, or gateway.ErrNotFound.
// Like FindOrder, it reads by the primary key alone and checks the owner here.
func (s *Store) FindPaymentLink(ctx context.Context, projectID string, mode gateway.Mode, id string, at time.Time) (*gateway.PaymentLink, error) {
	l, err := s.findLink(ctx, at, `l.id = ?`, id)
	if err != nil {
		return nil, err
	}
	if l.ProjectID != projectID || l.Mode != mode {
		return nil, gateway.ErrNotFound
	}
	return l, nil
}

// FindPaymentLinkBySlug returns the payment link with the slug, or gateway.ErrNotFound.
func (s *Store) FindPaymentLinkBySlug(ctx context.Context, slug string, at time.Time) (*gateway.PaymentLink, error) {
	return s.findLink(ctx, at, `l.slug = ?`, slug)
}

// SetPaymentLinkStatus moves a link from one of the statuses to another.
func (s *Store) SetPaymentLinkStatus(ctx context.Context, id string, from []string, to string) error {
	args := []any{to, id}
	for _, f := range from {
		args = append(args, f)
	}
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE payment_links SET status = ? WHERE id = ? AND status IN (`+placeholders(len(from))+`)`, args...)
		return affected(res, err, "set payment link status")
	})
}

// ListPaymentLinks returns a page of the project's payment links, newest first.
func (s *Store) ListPaymentLinks(ctx context.Context, projectID string, mode gateway.Mode, page, limit int, at time.Time) ([]*gateway.PaymentLink, int, error) {
	var total int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM payment_links WHERE project_id = ? AND mode = ?`, projectID, string(mode)).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count payment links: %w", err)
	}
	rows, err := s.query(ctx, `SELECT `+linkColumns+` FROM payment_links l WHERE l.project_id = ? AND l.mode = ?
		ORDER BY l.created_at DESC, l.id DESC LIMIT ? OFFSET ?`, ms(at), projectID, string(mode), limit, (page-1)*limit)
	if err != nil {
		return nil, 0, fmt.Errorf("list payment links: %w", err)
	}
	defer rows.Close()
	var out []*gateway.PaymentLink
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, l)
	}
	return out, total, rows.Err()
}
