package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/stablegate/stablegate/internal/metrics"
)

// Stats counts what the metrics report from the database: orders by mode and status, outgoing
// transactions by chain and status, and the webhook deliveries waiting. It reads; on SQLite from
// the read pool, so a scrape never waits for a write.
func (s *Store) Stats(ctx context.Context) (metrics.Stats, error) {
	var st metrics.Stats
	var err error
	if st.Orders, err = s.counts(ctx, `SELECT mode, status, COUNT(*) FROM orders GROUP BY mode, status`); err != nil {
		return st, err
	}
	if st.Outgoing, err = s.counts(ctx, `SELECT chain_id, status, COUNT(*) FROM outgoing_transactions GROUP BY chain_id, status`); err != nil {
		return st, err
	}
	var oldest sql.NullInt64
	if err := s.queryRow(ctx, `SELECT COUNT(*), MIN(created_at) FROM webhook_deliveries WHERE status = 'pending'`).Scan(&st.WebhooksPending, &oldest); err != nil {
		return st, fmt.Errorf("count webhook deliveries: %w", err)
	}
	if oldest.Valid {
		st.OldestPendingWebhook = fromMS(oldest.Int64)
	}
	return st, nil
}

func (s *Store) counts(ctx context.Context, q string) ([]metrics.Count, error) {
	rows, err := s.query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	defer rows.Close()
	var out []metrics.Count
	for rows.Next() {
		var a, b string
		var n int
		if err := rows.Scan(&a, &b, &n); err != nil {
			return nil, fmt.Errorf("stats: %w", err)
		}
		out = append(out, metrics.Count{Labels: []string{a, b}, N: n})
	}
	return out, rows.Err()
}

// Pools are the store's connection pools by name, for their metrics: "write" and "read" (the same
// pool on PostgreSQL, named once).
func (s *Store) Pools() map[string]*sql.DB {
	if s.read == nil || s.read == s.write {
		return map[string]*sql.DB{"write": s.write}
	}
	return map[string]*sql.DB{"write": s.write, "read": s.read}
}
