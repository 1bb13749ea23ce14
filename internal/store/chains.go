package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

var _ gateway.ChainStore = (*Store)(nil)

// keepBlocks is how far back applied blocks are remembered to find a reorg's fork point.
const keepBlocks = 4096

// Cursor returns the last applied block of a chain.
func (s *Store) Cursor(ctx context.Context, chainID string) (gateway.BlockRef, bool, error) {
	var b gateway.BlockRef
	var n int64
	err := s.queryRow(ctx, `SELECT block_number, block_hash FROM chain_cursors WHERE chain_id = ?`, chainID).Scan(&n, &b.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return b, false, nil
	} else if err != nil {
		return b, false, fmt.Errorf("read cursor: %w", err)
	}
	b.Number = uint64(n)
	return b, true, nil
}

// RecentBlocks returns the remembered applied blocks, newest first.
func (s *Store) RecentBlocks(ctx context.Context, chainID string) ([]gateway.BlockRef, error) {
	rows, err := s.query(ctx, `SELECT block_number, block_hash FROM chain_blocks WHERE chain_id = ? ORDER BY block_number DESC LIMIT 256`, chainID)
	if err != nil {
		return nil, fmt.Errorf("recent blocks: %w", err)
	}
	defer rows.Close()
	var out []gateway.BlockRef
	for rows.Next() {
		var b gateway.BlockRef
		var n int64
		if err := rows.Scan(&n, &b.Hash); err != nil {
			return nil, err
		}
		b.Number = uint64(n)
		out = append(out, b)
	}
	return out, rows.Err()
}

// WatchedAddresses returns the addresses of the protocol assigned since the time: to orders whose
// deadline (expiresAt + grace) is not before activeAfter, and to deposit bindings (for good).
func (s *Store) WatchedAddresses(ctx context.Context, p chain.Protocol, since, activeAfter time.Time) ([]gateway.Watch, error) {
	rows, err := s.query(ctx, `SELECT a.address, a.project_id, a.mode, a.order_id, '', a.assigned_at, o.chain_id, o.currency, o.expires_at + o.grace_minutes * 60000
		FROM addresses a JOIN orders o ON o.id = a.order_id
		WHERE a.protocol = ? AND a.assigned_at >= ? AND a.order_id IS NOT NULL AND o.expires_at + o.grace_minutes * 60000 >= ?
		UNION ALL
		SELECT a.address, a.project_id, a.mode, '', COALESCE(a.deposit_id, ''), a.assigned_at, '', '', 0
		FROM addresses a WHERE a.protocol = ? AND a.assigned_at >= ? AND (a.deposit_id IS NOT NULL OR a.shared = 1)`,
		string(p), ms(since), ms(activeAfter), string(p), ms(since))
	if err != nil {
		return nil, fmt.Errorf("watched addresses: %w", err)
	}
	defer rows.Close()
	var out []gateway.Watch
	for rows.Next() {
		w := gateway.Watch{Protocol: p}
		var mode string
		var assigned, deadline int64
		if err := rows.Scan(&w.Address, &w.ProjectID, &mode, &w.OrderID, &w.DepositID, &assigned, &w.ChainID, &w.Currency, &deadline); err != nil {
			return nil, err
		}
		w.Mode, w.CreatedAt, w.Deadline = gateway.Mode(mode), fromMS(assigned), fromMS(deadline)
		if w.OrderID == "" {
			w.Deadline = time.Time{} // a deposit's or a shared address: watched for good
			w.Shared = w.DepositID == ""
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// AcquireLease takes the named lease if it is free or expired, or renews it for its holder.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	held := false
	err := s.inTx(ctx, func(t *tx) error {
		var got string
		err := t.queryRow(ctx, `INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
			WHERE leases.holder = excluded.holder OR leases.until < ?
			RETURNING holder`, name, holder, ms(now.Add(ttl)), ms(now)).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			held = false
			return nil
		}
		held = err == nil && got == holder
		return err
	})
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	return held, nil
}

func setCursor(ctx context.Context, t *tx, chainID string, number uint64, hash string, now time.Time) error {
	if _, err := t.exec(ctx, `INSERT INTO chain_cursors (chain_id, block_number, block_hash, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (chain_id) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash, updated_at = excluded.updated_at`,
		chainID, int64(number), hash, ms(now)); err != nil {
		return fmt.Errorf("move cursor: %w", err)
	}
	if _, err := t.exec(ctx, `INSERT INTO chain_blocks (chain_id, block_number, block_hash) VALUES (?, ?, ?)
		ON CONFLICT (chain_id, block_number) DO UPDATE SET block_hash = excluded.block_hash`, chainID, int64(number), hash); err != nil {
		return fmt.Errorf("remember block: %w", err)
	}
	if _, err := t.exec(ctx, `DELETE FROM chain_blocks WHERE chain_id = ? AND block_number < ?`, chainID, int64(number)-keepBlocks); err != nil {
		return fmt.Errorf("forget old blocks: %w", err)
	}
	return nil
}

// AddressOwner returns the order or deposit binding an address was given to, whatever its window.
func (s *Store) AddressOwner(ctx context.Context, p chain.Protocol, address string) (*gateway.Watch, error) {
	w := gateway.Watch{Protocol: p}
	var mode string
	var assigned, deadline, shared int64
	err := s.queryRow(ctx, `SELECT a.address, a.project_id, a.mode, COALESCE(a.order_id, ''), COALESCE(a.deposit_id, ''), a.assigned_at,
		COALESCE(o.chain_id, ''), COALESCE(o.currency, ''), COALESCE(o.expires_at + o.grace_minutes * 60000, 0), a.shared
		FROM addresses a LEFT JOIN orders o ON o.id = a.order_id
		WHERE a.protocol = ? AND a.address = ? AND (a.order_id IS NOT NULL OR a.deposit_id IS NOT NULL OR a.shared = 1)`, string(p), address).
		Scan(&w.Address, &w.ProjectID, &mode, &w.OrderID, &w.DepositID, &assigned, &w.ChainID, &w.Currency, &deadline, &shared)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("address owner: %w", err)
	}
	w.Mode, w.CreatedAt, w.Deadline, w.Shared = gateway.Mode(mode), fromMS(assigned), fromMS(deadline), shared == 1
	return &w, nil
}
