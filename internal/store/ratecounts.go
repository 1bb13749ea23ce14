package store

import (
	"context"
	"fmt"
	"time"

	"github.com/stablegate/stablegate/internal/ratelimit"
)

// RateCounts keeps rate-limit windows in the database, so that every replica on it shares one
// count (a ratelimit.Counter).
type RateCounts struct{ Store *Store }

// RateCounter is where the gateway counts its rate limits: in the database on PostgreSQL, which
// replicas share (the requests of one process for one key grouped into one upsert at a time), in
// memory on SQLite, which one process writes.
func (s *Store) RateCounter() ratelimit.Counter {
	if s.d.Name == "postgres" {
		return ratelimit.Grouped(RateCounts{Store: s})
	}
	return ratelimit.NewMemory()
}

// Add adds n to the key's count in the window that starts at start, and returns the count: one
// atomic upsert (a read when n is 0).
func (rc RateCounts) Add(ctx context.Context, key string, start time.Time, n int) (int, error) {
	s := rc.Store
	var count int
	if n == 0 {
		err := s.write.QueryRowContext(ctx, s.q(`SELECT COALESCE(MAX(count), 0) FROM rate_counts WHERE key = ? AND window_start = ?`),
			key, ms(start)).Scan(&count)
		if err != nil {
			return 0, fmt.Errorf("read rate count: %w", err)
		}
		return count, nil
	}
	err := s.write.QueryRowContext(ctx, s.q(`INSERT INTO rate_counts (key, window_start, count) VALUES (?, ?, ?)
		ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counts.count + excluded.count RETURNING count`),
		key, ms(start), n).Scan(&count)
	if err != nil {
		return 0, fmt.Errorf("count request: %w", err)
	}
	return count, nil
}

// Purge deletes the windows that started before the time.
func (rc RateCounts) Purge(ctx context.Context, before time.Time) error {
	s := rc.Store
	if _, err := s.write.ExecContext(ctx, s.q(`DELETE FROM rate_counts WHERE window_start < ?`), ms(before)); err != nil {
		return fmt.Errorf("purge rate counts: %w", err)
	}
	return nil
}
