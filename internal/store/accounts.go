package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// Dashboard accounts, memberships and sessions (gateway/accounts.go decides).

const userColumns = `id, email, password_hash, must_change_password, failed_sign_ins, locked_until, totp_secret, totp_pending, totp_step, created_at`

func scanUser(row *sql.Row) (*gateway.User, error) {
	var u gateway.User
	var must int
	var locked sql.NullInt64
	var created int64
	err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &must, &u.FailedSignIns, &locked, &u.TOTPSecret, &u.TOTPPending, &u.TOTPStep, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	u.MustChangePassword, u.LockedUntil, u.CreatedAt = must != 0, nullMS(locked), fromMS(created)
	return &u, nil
}

// CreateUser stores a user and its first membership.
func (s *Store) CreateUser(ctx context.Context, u *gateway.User, m gateway.Membership) error {
	return s.inTx(ctx, func(t *tx) error {
		if _, err := t.exec(ctx, `INSERT INTO dashboard_users (id, email, password_hash, must_change_password, created_at) VALUES (?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.PasswordHash, b2i(u.MustChangePassword), ms(u.CreatedAt)); err != nil {
			if s.d.IsUniqueViolation(err) {
				return gateway.Errorf(gateway.EConflict, "email", "a dashboard user with the email %s exists already", u.Email)
			}
			return fmt.Errorf("insert user: %w", err)
		}
		if _, err := t.exec(ctx, `INSERT INTO dashboard_members (user_id, project_id, role, created_at) VALUES (?, ?, ?, ?)`,
			m.UserID, m.ProjectID, string(m.Role), ms(u.CreatedAt)); err != nil {
			return fmt.Errorf("insert membership: %w", err)
		}
		return nil
	})
}

func (s *Store) FindUserByEmail(ctx context.Context, email string) (*gateway.User, error) {
	return scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM dashboard_users WHERE email = ?`, email))
}

func (s *Store) FindUser(ctx context.Context, id string) (*gateway.User, error) {
	return scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM dashboard_users WHERE id = ?`, id))
}

func (s *Store) SignInFailed(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.inTx(ctx, func(t *tx) error {
		return t.queryRow(ctx, `UPDATE dashboard_users SET failed_sign_ins = failed_sign_ins + 1 WHERE id = ? RETURNING failed_sign_ins`,
			userID).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("count failed sign-in: %w", err)
	}
	return n, nil
}

func (s *Store) LockUser(ctx context.Context, userID string, until time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE dashboard_users SET locked_until = ? WHERE id = ?`, ms(until), userID)
		return affected(res, err, "lock user")
	})
}

func (s *Store) SignedIn(ctx context.Context, sess *gateway.Session) error {
	return s.inTx(ctx, func(t *tx) error {
		if _, err := t.exec(ctx, `UPDATE dashboard_users SET failed_sign_ins = 0, locked_until = NULL WHERE id = ?`, sess.UserID); err != nil {
			return fmt.Errorf("clear failed sign-ins: %w", err)
		}
		if _, err := t.exec(ctx, `INSERT INTO dashboard_sessions (id, user_id, created_at, last_seen_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?)`,
			sess.ID, sess.UserID, ms(sess.CreatedAt), ms(sess.LastSeenAt), sess.IP, sess.UserAgent); err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		return nil
	})
}

func (s *Store) SetPassword(ctx context.Context, userID, hash string) error {
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE dashboard_users SET password_hash = ?, must_change_password = 0 WHERE id = ?`, hash, userID)
		return affected(res, err, "set password")
	})
}

func (s *Store) Memberships(ctx context.Context, userID string) ([]gateway.Membership, error) {
	rows, err := s.query(ctx, `SELECT m.user_id, m.project_id, p.name, m.role FROM dashboard_members m JOIN projects p ON p.id = m.project_id
		WHERE m.user_id = ? ORDER BY p.name, m.project_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	defer rows.Close()
	var out []gateway.Membership
	for rows.Next() {
		var m gateway.Membership
		var role string
		if err := rows.Scan(&m.UserID, &m.ProjectID, &m.Project, &role); err != nil {
			return nil, fmt.Errorf("memberships: %w", err)
		}
		m.Role = gateway.Role(role)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *Store) FindSession(ctx context.Context, id string) (*gateway.Session, error) {
	var sess gateway.Session
	var created, seen int64
	err := s.queryRow(ctx, `SELECT id, user_id, created_at, last_seen_at, ip, user_agent FROM dashboard_sessions WHERE id = ?`, id).
		Scan(&sess.ID, &sess.UserID, &created, &seen, &sess.IP, &sess.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	sess.CreatedAt, sess.LastSeenAt = fromMS(created), fromMS(seen)
	return &sess, nil
}

func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `UPDATE dashboard_sessions SET last_seen_at = ? WHERE id = ?`, ms(at), id)
		return err
	})
}

func (s *Store) DeleteSessions(ctx context.Context, userID, keep string) error {
	return s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `DELETE FROM dashboard_sessions WHERE user_id = ? AND id <> ?`, userID, keep)
		return err
	})
}

func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `DELETE FROM dashboard_sessions WHERE id = ?`, id)
		return err
	})
}

func (s *Store) SetTOTPPending(ctx context.Context, userID string, sealed []byte) error {
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE dashboard_users SET totp_pending = ? WHERE id = ? AND totp_secret IS NULL`, sealed, userID)
		return affected(res, err, "begin two-factor enrolment")
	})
}

func (s *Store) EnableTOTP(ctx context.Context, userID string, pending []byte, step int64, codeHashes []string, at time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE dashboard_users SET totp_secret = totp_pending, totp_pending = NULL, totp_step = ?
			WHERE id = ? AND totp_secret IS NULL AND totp_pending = ?`, step, userID, pending)
		if err != nil {
			return fmt.Errorf("enable two-factor: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("enable two-factor: %w", err)
		} else if n == 0 {
			return gateway.ErrChanged
		}
		if _, err := t.exec(ctx, `DELETE FROM dashboard_recovery_codes WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("recovery codes: %w", err)
		}
		for _, h := range codeHashes {
			if _, err := t.exec(ctx, `INSERT INTO dashboard_recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)`, userID, h, ms(at)); err != nil {
				return fmt.Errorf("recovery codes: %w", err)
			}
		}
		return nil
	})
}

func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	var n int64
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE dashboard_users SET totp_step = ? WHERE id = ? AND totp_step < ?`, step, userID, step)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("use two-factor code: %w", err)
	}
	return n == 1, nil
}

func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) (bool, error) {
	var n int64
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE dashboard_recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
			ms(at), userID, hash)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	return n == 1, nil
}

func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM dashboard_recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("recovery codes: %w", err)
	}
	return n, nil
}

func (s *Store) ClearSignInFailures(ctx context.Context, userID string) error {
	return s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `UPDATE dashboard_users SET failed_sign_ins = 0 WHERE id = ? AND failed_sign_ins > 0`, userID)
		return err
	})
}

func (s *Store) TeamMembers(ctx context.Context, projectID string) ([]gateway.Member, error) {
	return teamMembers(ctx, s.query, projectID, "")
}

// teamMembers reads a project's members, owners first (lock: the dialect's FOR UPDATE, in a
// transaction).
func teamMembers(ctx context.Context, query func(context.Context, string, ...any) (*sql.Rows, error), projectID, lock string) ([]gateway.Member, error) {
	rows, err := query(ctx, `SELECT m.user_id, u.email, m.role, u.totp_secret IS NOT NULL, m.created_at FROM dashboard_members m
		JOIN dashboard_users u ON u.id = m.user_id WHERE m.project_id = ? ORDER BY m.role = 'owner' DESC, u.email `+lock, projectID)
	if err != nil {
		return nil, fmt.Errorf("team: %w", err)
	}
	defer rows.Close()
	var out []gateway.Member
	for rows.Next() {
		var m gateway.Member
		var role string
		var since int64
		if err := rows.Scan(&m.UserID, &m.Email, &role, &m.TwoFactor, &since); err != nil {
			return nil, fmt.Errorf("team: %w", err)
		}
		m.Role, m.Since = gateway.Role(role), fromMS(since)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *Store) CreateInvite(ctx context.Context, inv *gateway.Invite) error {
	return s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `INSERT INTO dashboard_invites (id, project_id, email, role, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			inv.ID, inv.ProjectID, inv.Email, string(inv.Role), inv.CreatedBy, ms(inv.CreatedAt), ms(inv.ExpiresAt))
		if err != nil {
			return fmt.Errorf("insert invite: %w", err)
		}
		return nil
	})
}

func (s *Store) FindInvite(ctx context.Context, id string) (*gateway.Invite, error) {
	var inv gateway.Invite
	var role string
	var created, expires int64
	var used sql.NullInt64
	err := s.queryRow(ctx, `SELECT i.id, i.project_id, p.name, i.email, i.role, i.created_by, i.created_at, i.expires_at, i.used_at
		FROM dashboard_invites i JOIN projects p ON p.id = i.project_id WHERE i.id = ?`, id).
		Scan(&inv.ID, &inv.ProjectID, &inv.Project, &inv.Email, &role, &inv.CreatedBy, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("read invite: %w", err)
	}
	inv.Role, inv.CreatedAt, inv.ExpiresAt, inv.UsedAt = gateway.Role(role), fromMS(created), fromMS(expires), nullMS(used)
	return &inv, nil
}

func (s *Store) AcceptInvite(ctx context.Context, id string, u *gateway.User, newUser bool, at time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		var projectID, role string
		err := t.queryRow(ctx, `UPDATE dashboard_invites SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ? RETURNING project_id, role`,
			ms(at), id, ms(at)).Scan(&projectID, &role)
		if errors.Is(err, sql.ErrNoRows) {
			return gateway.ErrChanged
		} else if err != nil {
			return fmt.Errorf("use invite: %w", err)
		}
		if newUser {
			if _, err := t.exec(ctx, `INSERT INTO dashboard_users (id, email, password_hash, must_change_password, created_at) VALUES (?, ?, ?, 0, ?)`,
				u.ID, u.Email, u.PasswordHash, ms(u.CreatedAt)); err != nil {
				if s.d.IsUniqueViolation(err) {
					return gateway.ErrChanged // the email got an account meanwhile: accept again with its password
				}
				return fmt.Errorf("insert user: %w", err)
			}
		}
		if _, err := t.exec(ctx, `INSERT INTO dashboard_members (user_id, project_id, role, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id, project_id) DO NOTHING`, u.ID, projectID, role, ms(at)); err != nil {
			return fmt.Errorf("insert membership: %w", err)
		}
		return nil
	})
}

func (s *Store) ChangeMembers(ctx context.Context, projectID string, decide func([]gateway.Member) (string, gateway.Role, error)) error {
	return s.inTx(ctx, func(t *tx) error {
		members, err := teamMembers(ctx, t.query, projectID, s.d.ForUpdate)
		if err != nil {
			return err
		}
		userID, role, err := decide(members)
		if err != nil {
			return err
		}
		if role == "" {
			_, err = t.exec(ctx, `DELETE FROM dashboard_members WHERE project_id = ? AND user_id = ?`, projectID, userID)
		} else {
			_, err = t.exec(ctx, `UPDATE dashboard_members SET role = ? WHERE project_id = ? AND user_id = ?`, string(role), projectID, userID)
		}
		if err != nil {
			return fmt.Errorf("change membership: %w", err)
		}
		return nil
	})
}

func (s *Store) ResetTOTP(ctx context.Context, userID string) error {
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE dashboard_users SET totp_secret = NULL, totp_pending = NULL WHERE id = ?`, userID)
		if err := affected(res, err, "reset two-factor"); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM dashboard_recovery_codes WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("recovery codes: %w", err)
		}
		if _, err := t.exec(ctx, `DELETE FROM dashboard_sessions WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("sessions: %w", err)
		}
		return nil
	})
}
