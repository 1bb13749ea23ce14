package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stablegate/stablegate/internal/gateway"
)

// audit writes the entry the context carries, if any, in the transaction of its change.
func (t *tx) audit(ctx context.Context) error {
	for _, e := range gateway.AuditOf(ctx) {
		if err := t.auditOne(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) auditOne(ctx context.Context, e *gateway.AuditEntry) error {
	details := []byte("{}")
	if len(e.Details) > 0 {
		var err error
		if details, err = json.Marshal(e.Details); err != nil {
			return fmt.Errorf("audit %s: details: %w", e.Action, err)
		}
	}
	if _, err := t.exec(ctx, `INSERT INTO audit_log (id, project_id, mode, actor_kind, actor_id, address, request_id, action, subject, details, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.ProjectID, string(e.Mode), string(e.Actor.Kind), e.Actor.ID, e.Actor.Address,
		e.Actor.RequestID, string(e.Action), e.Subject, string(details), ms(e.CreatedAt)); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// ListAudit lists lines of the audit log, newest first.
func (s *Store) ListAudit(ctx context.Context, f gateway.AuditFilter) ([]*gateway.AuditEntry, int, error) {
	var where []string
	var args []any
	if f.ProjectID != "" {
		where, args = append(where, "project_id = ?"), append(args, f.ProjectID)
	}
	if f.Mode != "" {
		where, args = append(where, "mode IN (?, '')"), append(args, string(f.Mode))
	}
	if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, string(f.Action))
	}
	cond := ""
	if len(where) > 0 {
		cond = "WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM audit_log `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count audit log: %w", err)
	}
	rows, err := s.query(ctx, `SELECT id, project_id, mode, actor_kind, actor_id, address, request_id, action, subject, details, created_at
		FROM audit_log `+cond+` ORDER BY seq DESC LIMIT ? OFFSET ?`, append(args, f.Limit, (max(f.Page, 1)-1)*f.Limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit log: %w", err)
	}
	defer rows.Close()
	out := []*gateway.AuditEntry{}
	for rows.Next() {
		var e gateway.AuditEntry
		var mode, kind, action, details string
		var at int64
		if err := rows.Scan(&e.ID, &e.ProjectID, &mode, &kind, &e.Actor.ID, &e.Actor.Address, &e.Actor.RequestID, &action, &e.Subject,
			&details, &at); err != nil {
			return nil, 0, fmt.Errorf("list audit log: %w", err)
		}
		e.Mode, e.Actor.Kind, e.Action, e.CreatedAt = gateway.Mode(mode), gateway.ActorKind(kind), gateway.AuditAction(action), fromMS(at)
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return nil, 0, fmt.Errorf("audit %s: details: %w", e.ID, err)
		}
		out = append(out, &e)
	}
	return out, total, rows.Err()
}
