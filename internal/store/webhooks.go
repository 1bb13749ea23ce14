package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// writeEvent writes an event and its webhook delivery in the caller's transaction (the outbox):
// pending when the project's endpoint in the event's mode takes the type, skipped otherwise.
func writeEvent(ctx context.Context, t *tx, e *gateway.Event) error {
	if _, err := t.exec(ctx, `INSERT INTO events (id, project_id, mode, type, data, created_at, subject) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.ProjectID, string(e.Mode), e.Type, string(e.Data), ms(e.CreatedAt), e.Subject); err != nil {
		return fmt.Errorf("write event %s: %w", e.Type, err)
	}
	if _, err := t.exec(ctx, `INSERT INTO webhook_deliveries (event_id, project_id, mode, status, next_attempt_at, created_at)
		VALUES (?, ?, ?, COALESCE((SELECT 'pending' FROM webhook_endpoints w WHERE w.project_id = ? AND w.mode = ? AND w.url <> ''
			AND (w.events = '' OR ',' || w.events || ',' LIKE ?)), 'skipped'), ?, ?)`,
		e.ID, e.ProjectID, string(e.Mode), e.ProjectID, string(e.Mode), "%,"+e.Type+",%", ms(e.CreatedAt), ms(e.CreatedAt)); err != nil {
		return fmt.Errorf("write delivery of %s: %w", e.Type, err)
	}
	t.events = true
	return nil
}

// insertEndpoint inserts a webhook endpoint; suffix may make it conditional (ON CONFLICT …).
func insertEndpoint(ctx context.Context, t *tx, e *gateway.WebhookEndpoint, suffix string) error {
	if _, err := t.exec(ctx, `INSERT INTO webhook_endpoints (project_id, mode, url, events, secret, secret_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`+suffix,
		e.ProjectID, string(e.Mode), e.URL, strings.Join(e.Events, ","), e.Secret, ms(e.SecretAt), ms(e.UpdatedAt)); err != nil {
		return fmt.Errorf("insert webhook endpoint: %w", err)
	}
	return nil
}

// EnsureWebhookEndpoint stores e unless the project has an endpoint in e's mode.
func (s *Store) EnsureWebhookEndpoint(ctx context.Context, e *gateway.WebhookEndpoint) error {
	return s.inTx(ctx, func(t *tx) error {
		return insertEndpoint(ctx, t, e, ` ON CONFLICT (project_id, mode) DO NOTHING`)
	})
}

// FindWebhookEndpoint returns the project's endpoint in the mode, or gateway.ErrNotFound.
func (s *Store) FindWebhookEndpoint(ctx context.Context, projectID string, mode gateway.Mode) (*gateway.WebhookEndpoint, error) {
	e := gateway.WebhookEndpoint{ProjectID: projectID, Mode: mode}
	var events, format string
	var secretAt, updated int64
	var prevUntil, disabled sql.NullInt64
	err := s.queryRow(ctx, `SELECT url, events, format, secret, secret_at, previous_secret, previous_until, disabled_at, disabled_reason, updated_at
		FROM webhook_endpoints WHERE project_id = ? AND mode = ?`, projectID, string(mode)).
		Scan(&e.URL, &events, &format, &e.Secret, &secretAt, &e.PreviousSecret, &prevUntil, &disabled, &e.DisabledReason, &updated)
	e.Format = gateway.WebhookFormat(format)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find webhook endpoint: %w", err)
	}
	if events != "" {
		e.Events = strings.Split(events, ",")
	}
	e.SecretAt, e.UpdatedAt = fromMS(secretAt), fromMS(updated)
	e.PreviousUntil, e.DisabledAt = nullMS(prevUntil), nullMS(disabled)
	return &e, nil
}

// SetWebhookURL sets the endpoint's URL and event types and enables it.
func (s *Store) SetWebhookURL(ctx context.Context, projectID string, mode gateway.Mode, url string, events []string, format gateway.WebhookFormat,
	at time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE webhook_endpoints SET url = ?, events = ?, format = ?, disabled_at = NULL, disabled_reason = '', updated_at = ?
			WHERE project_id = ? AND mode = ?`, url, strings.Join(events, ","), string(format), ms(at), projectID, string(mode))
		return affected(res, err, "set webhook url")
	})
}

// RotateWebhookSecret makes secret current and keeps the old one until previousUntil.
func (s *Store) RotateWebhookSecret(ctx context.Context, projectID string, mode gateway.Mode, secret []byte, at, previousUntil time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE webhook_endpoints SET previous_secret = secret, previous_until = ?, secret = ?, secret_at = ?, updated_at = ?
			WHERE project_id = ? AND mode = ?`, ms(previousUntil), secret, ms(at), ms(at), projectID, string(mode))
		return affected(res, err, "rotate webhook secret")
	})
}

// affected turns an UPDATE that matched no row into gateway.ErrNotFound.
func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	} else if n == 0 {
		return gateway.ErrNotFound
	}
	return nil
}

// ClaimDeliveries leases up to limit due deliveries of enabled endpoints until leaseUntil. On
// PostgreSQL rows another replica is claiming are skipped; SQLite's single writer serializes
// claims.
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*gateway.Delivery, error) {
	var out []*gateway.Delivery
	err := s.inTx(ctx, func(t *tx) error {
		out = out[:0]
		rows, err := t.query(ctx, `SELECT d.event_id, d.step, ev.project_id, ev.mode, ev.type, ev.data, ev.created_at,
				w.url, w.secret, w.previous_secret, w.previous_until, w.format,
				CASE WHEN w.format = 'cryptopay' THEN (SELECT c.id FROM api_keys c WHERE c.project_id = d.project_id AND c.mode = d.mode
					AND c.revoked_at IS NULL ORDER BY c.created_at DESC, c.id DESC LIMIT 1) END,
				CASE WHEN w.format = 'cryptopay' THEN (SELECT c.secret_hash FROM api_keys c WHERE c.project_id = d.project_id AND c.mode = d.mode
					AND c.revoked_at IS NULL ORDER BY c.created_at DESC, c.id DESC LIMIT 1) END
			FROM webhook_deliveries d
			JOIN events ev ON ev.id = d.event_id
			JOIN webhook_endpoints w ON w.project_id = d.project_id AND w.mode = d.mode
			WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND d.lease_until <= ? AND w.url <> '' AND w.disabled_at IS NULL
				AND NOT EXISTS (SELECT 1 FROM events e2 JOIN webhook_deliveries d2 ON d2.event_id = e2.id
					WHERE ev.subject <> '' AND e2.subject <> '' AND e2.subject = ev.subject AND e2.`+s.d.EventSeq+` < ev.`+s.d.EventSeq+` AND d2.status = 'pending')
			ORDER BY d.next_attempt_at LIMIT ? `+strings.Replace(s.d.SkipLocked, "FOR UPDATE", "FOR UPDATE OF d", 1),
			ms(now), ms(now), limit)
		if err != nil {
			return fmt.Errorf("claim deliveries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var d gateway.Delivery
			var mode, data string
			var created int64
			var secret, prev []byte
			var prevUntil sql.NullInt64
			var format string
			var credID sql.NullString
			if err := rows.Scan(&d.Event.ID, &d.Step, &d.Event.ProjectID, &mode, &d.Event.Type, &data, &created,
				&d.URL, &secret, &prev, &prevUntil, &format, &credID, &d.APISecret); err != nil {
				return fmt.Errorf("claim deliveries: %w", err)
			}
			d.Event.Mode, d.Event.Data, d.Event.CreatedAt = gateway.Mode(mode), []byte(data), fromMS(created)
			d.Format, d.CredentialID = gateway.WebhookFormat(format), credID.String
			d.Secrets = [][]byte{secret}
			if prev != nil && prevUntil.Valid && prevUntil.Int64 > ms(now) {
				d.Secrets = append(d.Secrets, prev)
			}
			out = append(out, &d)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claim deliveries: %w", err)
		}
		rows.Close()
		for _, d := range out {
			if _, err := t.exec(ctx, `UPDATE webhook_deliveries SET lease_until = ? WHERE event_id = ?`, ms(leaseUntil), d.Event.ID); err != nil {
				return fmt.Errorf("lease delivery: %w", err)
			}
		}
		return nil
	})
	return out, err
}

// RecordDeliveries records attempts and the new state of their events in one transaction; an
// endpoint that answered 410 is disabled (unless its URL changed meanwhile).
func (s *Store) RecordDeliveries(ctx context.Context, results []*gateway.DeliveryResult) error {
	return s.inTx(ctx, func(t *tx) error {
		for _, r := range results {
			next := r.At
			if r.NextAttemptAt != nil {
				next = *r.NextAttemptAt
			}
			var delivered any
			if r.Status == gateway.DeliveryDelivered {
				delivered = ms(r.At)
			}
			if _, err := t.exec(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, step = ?, next_attempt_at = ?,
				lease_until = 0, last_status_code = ?, last_error = ?, delivered_at = COALESCE(?, delivered_at) WHERE event_id = ?`,
				r.Status, r.Step, ms(next), r.StatusCode, r.Error, delivered, r.EventID); err != nil {
				return fmt.Errorf("record delivery: %w", err)
			}
			if _, err := t.exec(ctx, `INSERT INTO webhook_attempts (event_id, attempt, attempted_at, url, status_code, error, duration_ms)
				VALUES (?, (SELECT attempts FROM webhook_deliveries WHERE event_id = ?), ?, ?, ?, ?, ?)`,
				r.EventID, r.EventID, ms(r.At), r.URL, r.StatusCode, r.Error, r.Duration.Milliseconds()); err != nil {
				return fmt.Errorf("record attempt: %w", err)
			}
			if r.Disable != "" {
				if _, err := t.exec(ctx, `UPDATE webhook_endpoints SET disabled_at = ?, disabled_reason = ?, updated_at = ?
					WHERE project_id = ? AND mode = ? AND url = ? AND disabled_at IS NULL`,
					ms(r.At), r.Disable, ms(r.At), r.ProjectID, string(r.Mode), r.URL); err != nil {
					return fmt.Errorf("disable webhook endpoint: %w", err)
				}
			}
		}
		return nil
	})
}

// ListWebhookEvents returns a page of the project's events with their delivery state and
// attempts, newest first, and how many match.
func (s *Store) ListWebhookEvents(ctx context.Context, f gateway.WebhookEventFilter) ([]*gateway.WebhookEvent, int, error) {
	where := ` WHERE d.project_id = ? AND d.mode = ?`
	args := []any{f.ProjectID, string(f.Mode)}
	if f.Status != "" {
		where += ` AND d.status = ?`
		args = append(args, f.Status)
	}
	if f.Type != "" {
		where += ` AND ev.type = ?`
		args = append(args, f.Type)
	}
	if f.Subject != "" {
		where += ` AND ev.subject = ?`
		args = append(args, f.Subject)
	}
	from := ` FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id`
	var total int
	if err := s.queryRow(ctx, `SELECT COUNT(*)`+from+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count webhook events: %w", err)
	}
	rows, err := s.query(ctx, `SELECT ev.id, ev.type, ev.data, ev.created_at, d.status, d.attempts, d.next_attempt_at, d.last_status_code,
		d.last_error, d.delivered_at`+from+where+` ORDER BY d.created_at DESC, d.event_id DESC LIMIT ? OFFSET ?`,
		append(args, f.Limit, (f.Page-1)*f.Limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list webhook events: %w", err)
	}
	defer rows.Close()
	var out []*gateway.WebhookEvent
	byID := map[string]*gateway.WebhookEvent{}
	for rows.Next() {
		e := &gateway.WebhookEvent{Event: gateway.Event{ProjectID: f.ProjectID, Mode: f.Mode}}
		var data string
		var created, next int64
		var delivered sql.NullInt64
		if err := rows.Scan(&e.ID, &e.Type, &data, &created, &e.Status, &e.AttemptCount, &next, &e.LastStatusCode,
			&e.LastError, &delivered); err != nil {
			return nil, 0, fmt.Errorf("list webhook events: %w", err)
		}
		e.Data, e.CreatedAt, e.DeliveredAt = []byte(data), fromMS(created), nullMS(delivered)
		if e.Status == gateway.DeliveryPending {
			t := fromMS(next)
			e.NextAttemptAt = &t
		}
		out = append(out, e)
		byID[e.ID] = e
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list webhook events: %w", err)
	}
	if len(out) == 0 {
		return out, total, nil
	}
	ids := make([]any, 0, len(out))
	for _, e := range out {
		ids = append(ids, e.ID)
	}
	arows, err := s.query(ctx, `SELECT event_id, attempt, attempted_at, url, status_code, error, duration_ms FROM webhook_attempts
		WHERE event_id IN (`+placeholders(len(ids))+`) ORDER BY event_id, attempt`, ids...)
	if err != nil {
		return nil, 0, fmt.Errorf("list webhook attempts: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var id string
		var a gateway.DeliveryAttempt
		var at, dur int64
		if err := arows.Scan(&id, &a.Attempt, &at, &a.URL, &a.StatusCode, &a.Error, &dur); err != nil {
			return nil, 0, fmt.Errorf("list webhook attempts: %w", err)
		}
		a.At, a.Duration = fromMS(at), time.Duration(dur)*time.Millisecond
		byID[id].Attempts = append(byID[id].Attempts, a)
	}
	return out, total, arows.Err()
}

// RetryWebhookEvent makes the event pending and due at once, with the retry schedule restarted.
func (s *Store) RetryWebhookEvent(ctx context.Context, projectID string, mode gateway.Mode, eventID string, at time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		var owner, ownerMode string // by key alone, the owner checked here: see FindOrder
		err := t.queryRow(ctx, `SELECT project_id, mode FROM webhook_deliveries WHERE event_id = ?`, eventID).Scan(&owner, &ownerMode)
		if errors.Is(err, sql.ErrNoRows) || err == nil && (owner != projectID || ownerMode != string(mode)) {
			return gateway.ErrNotFound
		} else if err != nil {
			return fmt.Errorf("retry webhook event: %w", err)
		}
		res, err := t.exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', step = 0, next_attempt_at = ? WHERE event_id = ?`, ms(at), eventID)
		if err := affected(res, err, "retry webhook event"); err != nil {
			return err
		}
		t.events = true
		return nil
	})
}

// WebhookStats counts pending deliveries and disabled endpoints.
func (s *Store) WebhookStats(ctx context.Context) (gateway.WebhookStats, error) {
	var st gateway.WebhookStats
	var oldest sql.NullInt64
	if err := s.queryRow(ctx, `SELECT COUNT(*), MIN(created_at) FROM webhook_deliveries WHERE status = 'pending'`).
		Scan(&st.Pending, &oldest); err != nil {
		return st, fmt.Errorf("webhook stats: %w", err)
	}
	st.OldestPendingAt = nullMS(oldest)
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM webhook_endpoints WHERE disabled_at IS NOT NULL`).Scan(&st.DisabledEndpoints); err != nil {
		return st, fmt.Errorf("webhook stats: %w", err)
	}
	return st, nil
}
