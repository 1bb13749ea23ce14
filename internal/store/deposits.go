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

// BindDeposit stores b with its address, or returns the binding stored under its reference (the
// unique index decides a race, as for orders).
func (s *Store) BindDeposit(ctx context.Context, b *gateway.DepositBinding, req gateway.AddressRequest) (*gateway.DepositBinding, error) {
	err := s.inTx(ctx, func(t *tx) error {
		addr, err := s.allocateAddress(ctx, t, addressOwner{b.ProjectID, b.Mode, "", b.ID, b.BoundAt}, req)
		if err != nil {
			return err
		}
		_, err = t.exec(ctx, `INSERT INTO deposit_bindings (id, project_id, mode, reference, protocol, address, metadata, bound_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, b.ID, b.ProjectID, string(b.Mode), b.Reference, string(b.Protocol), addr, nullString(b.Metadata), ms(b.BoundAt))
		if err != nil && s.d.IsUniqueViolation(err) {
			return errReferenceRace
		} else if err != nil {
			return fmt.Errorf("insert deposit binding: %w", err)
		}
		b.Address = addr
		return nil
	})
	if errors.Is(err, errReferenceRace) {
		return s.FindDepositBinding(ctx, b.ProjectID, b.Mode, b.Reference)
	}
	return nil, err
}

const bindingColumns = `id, project_id, mode, reference, protocol, address, metadata, bound_at, unbound_at`

func scanBinding(sc interface{ Scan(...any) error }) (*gateway.DepositBinding, error) {
	var b gateway.DepositBinding
	var mode, proto string
	var meta sql.NullString
	var bound int64
	var unbound sql.NullInt64
	if err := sc.Scan(&b.ID, &b.ProjectID, &mode, &b.Reference, &proto, &b.Address, &meta, &bound, &unbound); err != nil {
		return nil, err
	}
	b.Mode, b.Protocol, b.BoundAt, b.UnboundAt = gateway.Mode(mode), chain.Protocol(proto), fromMS(bound), nullMS(unbound)
	if meta.Valid {
		b.Metadata = []byte(meta.String)
	}
	return &b, nil
}

// FindDepositBinding returns the binding of a reference, or gateway.ErrNotFound.
func (s *Store) FindDepositBinding(ctx context.Context, projectID string, mode gateway.Mode, ref string) (*gateway.DepositBinding, error) {
	b, err := scanBinding(s.queryRow(ctx, `SELECT `+bindingColumns+` FROM deposit_bindings WHERE project_id = ? AND mode = ? AND reference = ?`,
		projectID, string(mode), ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find deposit binding: %w", err)
	}
	return b, nil
}

// SetDepositBound binds (unboundAt nil) or unbinds a binding.
func (s *Store) SetDepositBound(ctx context.Context, id string, unboundAt *time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE deposit_bindings SET unbound_at = ? WHERE id = ?`, nullTime(unboundAt), id)
		return affected(res, err, "set deposit binding")
	})
}

// DepositTransfers returns every transfer to a binding's address, in chain order.
func (s *Store) DepositTransfers(ctx context.Context, bindingID string) ([]*gateway.Transfer, error) {
	return s.scanTransfers(s.query(ctx, `SELECT `+transferColumns+` FROM transfers WHERE deposit_id = ? ORDER BY block_number, log_index`, bindingID))
}

// ListDeposits returns a page of the project's deposits, newest first, and how many match.
func (s *Store) ListDeposits(ctx context.Context, f gateway.DepositFilter) ([]*gateway.Deposit, int, error) {
	where := ` WHERE t.project_id = ? AND t.mode = ? AND t.deposit_id IS NOT NULL`
	args := []any{f.ProjectID, string(f.Mode)}
	if f.Reference != "" {
		where += ` AND b.reference = ?`
		args = append(args, f.Reference)
	}
	if f.ChainID != "" {
		where += ` AND t.chain_id = ?`
		args = append(args, f.ChainID)
	}
	if f.Currency != "" {
		where += ` AND t.currency = ?`
		args = append(args, f.Currency)
	}
	switch f.Status {
	case gateway.DepositPending:
		where += ` AND t.status = 'credited' AND t.confirmed = 0`
	case gateway.DepositConfirmed:
		where += ` AND t.status = 'credited' AND t.confirmed = 1`
	case gateway.DepositIgnored:
		where += ` AND t.status = 'ignored'`
	}
	from := ` FROM transfers t JOIN deposit_bindings b ON b.id = t.deposit_id`
	var total int
	if err := s.queryRow(ctx, `SELECT COUNT(*)`+from+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count deposits: %w", err)
	}
	rows, err := s.query(ctx, `SELECT `+prefixed("t.", transferColumns)+`, b.reference`+from+where+
		` ORDER BY t.seen_at DESC, t.block_number DESC, t.log_index DESC LIMIT ? OFFSET ?`, append(args, f.Limit, (f.Page-1)*f.Limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list deposits: %w", err)
	}
	defer rows.Close()
	var out []*gateway.Deposit
	for rows.Next() {
		var d gateway.Deposit
		if err := scanTransfer(rows, &d.Transfer, &d.Reference); err != nil {
			return nil, 0, fmt.Errorf("list deposits: %w", err)
		}
		d.Status = gateway.DepositStatus(&d.Transfer)
		out = append(out, &d)
	}
	return out, total, rows.Err()
}
