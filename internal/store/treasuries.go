package store

import (
	"context"
	"fmt"

	"github.com/stablegate/stablegate/internal/gateway"
)

// ListTreasuries returns the project's treasury addresses in the mode, by chain.
func (s *Store) ListTreasuries(ctx context.Context, projectID string, mode gateway.Mode) ([]gateway.Treasury, error) {
	rows, err := s.query(ctx, `SELECT chain_id, address, ceiling, updated_at FROM treasuries WHERE project_id = ? AND mode = ? ORDER BY chain_id`,
		projectID, string(mode))
	if err != nil {
		return nil, fmt.Errorf("list treasuries: %w", err)
	}
	defer rows.Close()
	out := []gateway.Treasury{}
	for rows.Next() {
		var t gateway.Treasury
		var at int64
		if err := rows.Scan(&t.ChainID, &t.Address, &t.Ceiling, &at); err != nil {
			return nil, fmt.Errorf("list treasuries: %w", err)
		}
		t.UpdatedAt = fromMS(at)
		out = append(out, t)
	}
	return out, rows.Err()
}

// SetTreasury stores the treasury of a chain, replacing the one there was.
func (s *Store) SetTreasury(ctx context.Context, projectID string, mode gateway.Mode, t gateway.Treasury) error {
	return s.inTx(ctx, func(tx *tx) error {
		_, err := tx.exec(ctx, `INSERT INTO treasuries (project_id, mode, chain_id, address, ceiling, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (project_id, mode, chain_id) DO UPDATE SET address = excluded.address, ceiling = excluded.ceiling, updated_at = excluded.updated_at`,
			projectID, string(mode), t.ChainID, t.Address, t.Ceiling, ms(t.UpdatedAt))
		if err != nil {
			return fmt.Errorf("set treasury: %w", err)
		}
		return nil
	})
}

// DeleteTreasury removes the treasury of a chain, or answers gateway.ErrNotFound.
func (s *Store) DeleteTreasury(ctx context.Context, projectID string, mode gateway.Mode, chainID string) error {
	return s.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `DELETE FROM treasuries WHERE project_id = ? AND mode = ? AND chain_id = ?`, projectID, string(mode), chainID)
		return affected(res, err, "delete treasury")
	})
}
