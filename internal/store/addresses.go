package store

import (
	"context"
	"fmt"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

// ImportAddresses adds pool addresses; an address already known (in any project or mode) is
// skipped, so an address is never handed to two owners.
func (s *Store) ImportAddresses(ctx context.Context, projectID string, mode gateway.Mode, p chain.Protocol, addrs []string, importedBy string, at time.Time) (added, skipped int, err error) {
	err = s.inTx(ctx, func(t *tx) error {
		added, skipped = 0, 0
		for _, a := range addrs {
			res, err := t.exec(ctx, `INSERT INTO addresses (protocol, address, project_id, mode, source, created_at, imported_by)
				VALUES (?, ?, ?, ?, 'pool', ?, ?) ON CONFLICT (protocol, address) DO NOTHING`, string(p), a, projectID, string(mode), ms(at), importedBy)
			if err != nil {
				return fmt.Errorf("import address: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				added++
			} else {
				skipped++
			}
		}
		return nil
	})
	return added, skipped, err
}

// PoolStats counts a pool's unused and total addresses.
func (s *Store) PoolStats(ctx context.Context, projectID string, mode gateway.Mode, p chain.Protocol) (available, total int, err error) {
	err = s.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN order_id IS NULL AND deposit_id IS NULL THEN 1 ELSE 0 END), 0)
		FROM addresses WHERE project_id = ? AND mode = ? AND protocol = ? AND source = 'pool'`,
		projectID, string(mode), string(p)).Scan(&total, &available)
	if err != nil {
		return 0, 0, fmt.Errorf("pool stats: %w", err)
	}
	return available, total, nil
}
