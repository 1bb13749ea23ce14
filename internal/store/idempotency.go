package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// BeginIdempotent records a running request under its key, or returns the live record already
// there. A record older than staleBefore is replaced. Taking the key is one statement, so of
// requests racing for it exactly one gets it (the others, on PostgreSQL, wait for its insert to
// commit and then find it).
func (s *Store) BeginIdempotent(ctx context.Context, r *gateway.IdempotencyRecord, staleBefore time.Time) (*gateway.IdempotencyRecord, error) {
	var existing *gateway.IdempotencyRecord
	err := s.inTx(ctx, func(t *tx) error {
		var got string
		err := t.queryRow(ctx, `INSERT INTO idempotency_keys (project_id, mode, idem_key, request_hash, status, body, created_at, secret_proven)
			VALUES (?, ?, ?, ?, 0, NULL, ?, ?)
			ON CONFLICT (project_id, mode, idem_key) DO UPDATE SET request_hash = excluded.request_hash, status = 0, body = NULL,
				created_at = excluded.created_at, secret_proven = excluded.secret_proven
			WHERE idempotency_keys.created_at < ?
			RETURNING request_hash`,
			r.ProjectID, string(r.Mode), r.Key, r.RequestHash, ms(r.CreatedAt), b2i(r.SecretProven), ms(staleBefore)).Scan(&got)
		if err == nil {
			return nil // the key is ours
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("take idempotency key: %w", err)
		}
		var e gateway.IdempotencyRecord
		var body sql.NullString
		var created int64
		var proven int
		err = t.queryRow(ctx, `SELECT request_hash, status, body, created_at, secret_proven FROM idempotency_keys WHERE project_id = ? AND mode = ? AND idem_key = ?`,
			r.ProjectID, string(r.Mode), r.Key).Scan(&e.RequestHash, &e.Status, &body, &created, &proven)
		if err != nil {
			return fmt.Errorf("find idempotency key: %w", err)
		}
		e.ProjectID, e.Mode, e.Key, e.Done, e.CreatedAt, e.SecretProven = r.ProjectID, r.Mode, r.Key, e.Status != 0, fromMS(created), proven != 0
		if body.Valid {
			e.Body = []byte(body.String)
		}
		existing = &e
		return nil
	})
	return existing, err
}

// FinishIdempotent stores the response of the request that holds the key.
func (s *Store) FinishIdempotent(ctx context.Context, r *gateway.IdempotencyRecord) error {
	return s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `UPDATE idempotency_keys SET status = ?, body = ? WHERE project_id = ? AND mode = ? AND idem_key = ? AND request_hash = ?`,
			r.Status, string(r.Body), r.ProjectID, string(r.Mode), r.Key, r.RequestHash)
		if err != nil {
			return fmt.Errorf("finish idempotency key: %w", err)
		}
		return nil
	})
}

// DeleteIdempotent forgets a key, so that a request that failed without a stored answer can be
// retried with it.
func (s *Store) DeleteIdempotent(ctx context.Context, projectID string, mode gateway.Mode, key string) error {
	return s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE project_id = ? AND mode = ? AND idem_key = ?`, projectID, string(mode), key)
		if err != nil {
			return fmt.Errorf("delete idempotency key: %w", err)
		}
		return nil
	})
}

// PurgeIdempotent deletes records created before the time.
func (s *Store) PurgeIdempotent(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, ms(before))
		if err != nil {
			return fmt.Errorf("purge idempotency keys: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}
