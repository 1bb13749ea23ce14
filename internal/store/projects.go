package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

// CreateProject stores a project, its credentials and its webhook endpoints in one transaction.
func (s *Store) CreateProject(ctx context.Context, p *gateway.Project, creds []*gateway.Credential, webhooks []*gateway.WebhookEndpoint) error {
	host, verr := gateway.WebsiteHost(p.Website)
	if verr != nil {
		return verr
	}
	return s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `INSERT INTO projects (id, name, website, website_host, underpayment_ppm, payment_window_minutes, grace_minutes,
			xpub_evm, xpub_tron, sealed_seed, created_at, live_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.Name, p.Website, host, p.UnderpaymentPPM, p.PaymentWindowMinutes, p.GraceMinutes,
			p.XPubs[chain.EVM], p.XPubs[chain.TRON], p.SealedSeed, ms(p.CreatedAt), nullableMS(p.LiveAt))
		if err != nil {
			if s.d.IsUniqueViolation(err) {
				return gateway.Errorf(gateway.EConflict, "website", "website host %q is already linked to another project", host)
			}
			return fmt.Errorf("insert project: %w", err)
		}
		for _, c := range creds {
			if _, err := t.exec(ctx, `INSERT INTO api_keys (id, project_id, mode, key_hash, secret_hash, key_hint, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, c.ID, p.ID, string(c.Mode), c.KeyHash, c.SecretHash, c.KeyHint, ms(c.CreatedAt)); err != nil {
				return fmt.Errorf("insert api key: %w", err)
			}
		}
		for _, e := range webhooks {
			if err := insertEndpoint(ctx, t, e, ""); err != nil {
				return err
			}
		}
		return nil
	})
}

const projectColumns = `p.id, p.name, p.website, p.underpayment_ppm, p.payment_window_minutes, p.grace_minutes, p.confirmations, p.disabled_at,
	p.allowed_origins, p.xpub_evm, p.xpub_tron, p.sealed_seed, p.created_at, p.live_at, p.shared_amounts`

func scanProject(sc interface{ Scan(...any) error }, extra ...any) (*gateway.Project, error) {
	var p gateway.Project
	var evm, tron string
	var created int64
	var disabled, live sql.NullInt64
	var confirmations, origins, shared string
	dest := append([]any{&p.ID, &p.Name, &p.Website, &p.UnderpaymentPPM, &p.PaymentWindowMinutes, &p.GraceMinutes, &confirmations, &disabled,
		&origins, &evm, &tron, &p.SealedSeed, &created, &live, &shared}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	p.XPubs = map[chain.Protocol]string{}
	if evm != "" {
		p.XPubs[chain.EVM] = evm
	}
	if tron != "" {
		p.XPubs[chain.TRON] = tron
	}
	p.CreatedAt, p.DisabledAt, p.LiveAt = fromMS(created), nullMS(disabled), nullMS(live)
	if err := json.Unmarshal([]byte(confirmations), &p.Confirmations); err != nil {
		return nil, fmt.Errorf("project %s: confirmations: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(origins), &p.AllowedOrigins); err != nil {
		return nil, fmt.Errorf("project %s: allowed origins: %w", p.ID, err)
	}
	if shared != "{}" {
		if err := json.Unmarshal([]byte(shared), &p.SharedAmounts); err != nil {
			return nil, fmt.Errorf("project %s: shared amounts: %w", p.ID, err)
		}
	}
	return &p, nil
}

// UpdateProject stores the project's changeable settings.
func (s *Store) UpdateProject(ctx context.Context, p *gateway.Project) error {
	host, verr := gateway.WebsiteHost(p.Website)
	if verr != nil {
		return verr
	}
	disabled := nullableMS(p.DisabledAt)
	confirmations, err := json.Marshal(p.Confirmations)
	if err != nil || p.Confirmations == nil {
		confirmations = []byte("{}")
	}
	origins, err := json.Marshal(p.AllowedOrigins)
	if err != nil || p.AllowedOrigins == nil {
		origins = []byte("[]")
	}
	shared, err := json.Marshal(p.SharedAmounts)
	if err != nil || len(p.SharedAmounts) == 0 {
		shared = []byte("{}")
	}
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE projects SET name = ?, website = ?, website_host = ?, underpayment_ppm = ?, payment_window_minutes = ?,
			grace_minutes = ?, confirmations = ?, allowed_origins = ?, disabled_at = ?, live_at = ?, shared_amounts = ? WHERE id = ?`,
			p.Name, p.Website, host, p.UnderpaymentPPM, p.PaymentWindowMinutes, p.GraceMinutes, string(confirmations), string(origins), disabled,
			nullableMS(p.LiveAt), string(shared), p.ID)
		if err != nil && s.d.IsUniqueViolation(err) {
			return gateway.Errorf(gateway.EConflict, "website", "website host %q is already linked to another project", host)
		}
		return affected(res, err, "update project")
	})
}

// FindProject returns the project with the id, or gateway.ErrNotFound.
func (s *Store) FindProject(ctx context.Context, id string) (*gateway.Project, error) {
	p, err := scanProject(s.queryRow(ctx, `SELECT `+projectColumns+` FROM projects p WHERE p.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find project: %w", err)
	}
	return p, nil
}

// ListProjects returns every project, oldest first.
func (s *Store) ListProjects(ctx context.Context) ([]*gateway.Project, error) {
	rows, err := s.query(ctx, `SELECT `+projectColumns+` FROM projects p ORDER BY p.created_at, p.id`)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	defer rows.Close()
	var out []*gateway.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, fmt.Errorf("list projects: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// FindCredential returns the credential with the key hash and its project.
func (s *Store) FindCredential(ctx context.Context, keyHash string) (*gateway.Credential, *gateway.Project, error) {
	var c gateway.Credential
	var mode string
	var created int64
	var revoked sql.NullInt64
	p, err := scanProject(s.queryRow(ctx, `SELECT `+projectColumns+`, k.id, k.mode, k.key_hash, k.secret_hash, k.key_hint, k.created_at, k.revoked_at
		FROM api_keys k JOIN projects p ON p.id = k.project_id WHERE k.key_hash = ?`, keyHash),
		&c.ID, &mode, &c.KeyHash, &c.SecretHash, &c.KeyHint, &created, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, nil, fmt.Errorf("find credential: %w", err)
	}
	c.ProjectID, c.Mode, c.CreatedAt, c.RevokedAt = p.ID, gateway.Mode(mode), fromMS(created), nullMS(revoked)
	return &c, p, nil
}

// AddCredential stores another API key pair of a project.
func (s *Store) AddCredential(ctx context.Context, c *gateway.Credential) error {
	return s.inTx(ctx, func(t *tx) error {
		var one int
		if err := t.queryRow(ctx, `SELECT 1 FROM projects WHERE id = ?`, c.ProjectID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return gateway.ErrNotFound
		} else if err != nil {
			return fmt.Errorf("add api key: %w", err)
		}
		if _, err := t.exec(ctx, `INSERT INTO api_keys (id, project_id, mode, key_hash, secret_hash, key_hint, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, c.ID, c.ProjectID, string(c.Mode), c.KeyHash, c.SecretHash, c.KeyHint, ms(c.CreatedAt)); err != nil {
			return fmt.Errorf("add api key: %w", err)
		}
		return nil
	})
}

// ListCredentials returns a project's API keys, revoked ones included, oldest first.
func (s *Store) ListCredentials(ctx context.Context, projectID string) ([]*gateway.Credential, error) {
	return s.credentials(ctx, `WHERE project_id = ? ORDER BY created_at, id`, projectID)
}

// FindCredentialByID returns the API key with the id, revoked or not, or gateway.ErrNotFound.
func (s *Store) FindCredentialByID(ctx context.Context, id string) (*gateway.Credential, error) {
	cs, err := s.credentials(ctx, `WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, gateway.ErrNotFound
	}
	return cs[0], nil
}

func (s *Store) credentials(ctx context.Context, tail string, args ...any) ([]*gateway.Credential, error) {
	rows, err := s.query(ctx, `SELECT id, project_id, mode, key_hash, secret_hash, key_hint, created_at, revoked_at FROM api_keys `+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var out []*gateway.Credential
	for rows.Next() {
		var c gateway.Credential
		var mode string
		var created int64
		var revoked sql.NullInt64
		if err := rows.Scan(&c.ID, &c.ProjectID, &mode, &c.KeyHash, &c.SecretHash, &c.KeyHint, &created, &revoked); err != nil {
			return nil, fmt.Errorf("list api keys: %w", err)
		}
		c.Mode, c.CreatedAt, c.RevokedAt = gateway.Mode(mode), fromMS(created), nullMS(revoked)
		out = append(out, &c)
	}
	return out, rows.Err()
}

// RevokeCredential marks a credential revoked; requests with its key fail from then on.
func (s *Store) RevokeCredential(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(at), id)
		if err != nil {
			return fmt.Errorf("revoke credential: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return gateway.ErrNotFound
		}
		return nil
	})
}

// nullableMS is a time as stored (milliseconds), or NULL for none.
func nullableMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ms(*t)
}
