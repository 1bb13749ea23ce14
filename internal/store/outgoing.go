package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

const outgoingColumns = `id, project_id, mode, chain_id, purpose, purpose_id, from_address, to_address, value, data, gas_limit,
	status, nonce, tx_hash, block_number, block_hash, gas_used, effective_gas_price, failure, created_at, updated_at, authorize, delegate, after_id`

// QueueOutgoing stores new transactions, queued.
func (s *Store) QueueOutgoing(ctx context.Context, txs []*gateway.OutgoingTx) error {
	return s.inTx(ctx, func(t *tx) error {
		for _, o := range txs {
			if err := insertOutgoing(ctx, t, o); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertOutgoing(ctx context.Context, t *tx, o *gateway.OutgoingTx) error {
	if _, err := t.exec(ctx, `INSERT INTO outgoing_transactions (`+outgoingColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '', 0, '', 0, '', '', ?, ?, ?, ?, ?)`,
		o.ID, o.ProjectID, string(o.Mode), o.ChainID, o.Purpose, o.PurposeID, o.From, o.To, o.Value.String(), o.Data, int64(o.GasLimit),
		string(gateway.OutQueued), ms(o.CreatedAt), ms(o.UpdatedAt), strings.Join(o.Authorize, ","), o.Delegate, o.After); err != nil {
		return fmt.Errorf("queue outgoing: %w", err)
	}
	return addHistory(ctx, t, o.ID, gateway.OutgoingChange{At: o.CreatedAt, Status: gateway.OutQueued})
}

func addHistory(ctx context.Context, t *tx, id string, c gateway.OutgoingChange) error {
	if _, err := t.exec(ctx, `INSERT INTO outgoing_history (outgoing_id, seq, at, status, note)
		VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM outgoing_history WHERE outgoing_id = ?), ?, ?, ?)`,
		id, id, ms(c.At), string(c.Status), c.Note); err != nil {
		return fmt.Errorf("outgoing history: %w", err)
	}
	return nil
}

// SignOutgoing stores a queued transaction's nonce and first attempt, while holder holds the
// lease.
func (s *Store) SignOutgoing(ctx context.Context, o *gateway.OutgoingTx, lease, holder string, now time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		var got string
		err := t.queryRow(ctx, `SELECT holder FROM leases WHERE name = ? AND until > ? `+s.d.ForUpdate, lease, ms(now)).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) || err == nil && got != holder {
			return fmt.Errorf("sign outgoing %s: lease %s is not held by %s: %w", o.ID, lease, holder, gateway.ErrChanged)
		} else if err != nil {
			return fmt.Errorf("sign outgoing: %w", err)
		}
		res, err := t.exec(ctx, `UPDATE outgoing_transactions SET status = ?, nonce = ?, updated_at = ? WHERE id = ? AND status = 'queued'`,
			string(o.Status), int64(o.Nonce), ms(o.UpdatedAt), o.ID)
		if err != nil && s.d.IsUniqueViolation(err) {
			return fmt.Errorf("sign outgoing %s: nonce %d of %s is taken: %w", o.ID, o.Nonce, o.From, gateway.ErrChanged)
		}
		if err := affected(res, err, "sign outgoing"); errors.Is(err, gateway.ErrNotFound) {
			return fmt.Errorf("sign outgoing %s: not queued any more: %w", o.ID, gateway.ErrChanged)
		} else if err != nil {
			return err
		}
		if err := saveAttempts(ctx, t, o); err != nil {
			return err
		}
		return addHistory(ctx, t, o.ID, gateway.OutgoingChange{At: o.UpdatedAt, Status: o.Status, Note: fmt.Sprintf("nonce %d", o.Nonce)})
	})
}

// saveAttempts writes the transaction's attempts: new ones inserted, known ones' broadcast time
// and error updated (what is signed never changes).
func saveAttempts(ctx context.Context, t *tx, o *gateway.OutgoingTx) error {
	for i, a := range o.Attempts {
		if _, err := t.exec(ctx, `INSERT INTO outgoing_attempts (tx_hash, outgoing_id, seq, raw, gas_limit, tip_cap, max_fee, signed_at, broadcast_at, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tx_hash) DO UPDATE SET broadcast_at = excluded.broadcast_at, error = excluded.error`,
			a.Hash, o.ID, i+1, a.Raw, int64(a.GasLimit), a.Fees.TipCap.String(), a.Fees.MaxFee.String(), ms(a.SignedAt), zeroMS(a.BroadcastAt), a.Error); err != nil {
			return fmt.Errorf("outgoing attempt: %w", err)
		}
	}
	return nil
}

// SaveOutgoing stores a step of a transaction whose stored status is from, and its effects.
func (s *Store) SaveOutgoing(ctx context.Context, o *gateway.OutgoingTx, from gateway.OutgoingStatus, c gateway.OutgoingChange, fx *gateway.OutgoingEffects) error {
	return s.inTx(ctx, func(t *tx) error {
		price := ""
		if o.EffectiveGasPrice != nil {
			price = o.EffectiveGasPrice.String()
		}
		res, err := t.exec(ctx, `UPDATE outgoing_transactions SET status = ?, tx_hash = ?, block_number = ?, block_hash = ?, gas_used = ?,
			effective_gas_price = ?, failure = ?, gas_limit = ?, updated_at = ? WHERE id = ? AND status = ?`,
			string(o.Status), o.TxHash, int64(o.BlockNumber), o.BlockHash, int64(o.GasUsed), price, o.Failure, int64(o.GasLimit), ms(o.UpdatedAt), o.ID, string(from))
		if err := affected(res, err, "save outgoing"); errors.Is(err, gateway.ErrNotFound) {
			return fmt.Errorf("save outgoing %s: not %s any more: %w", o.ID, from, gateway.ErrChanged)
		} else if err != nil {
			return err
		}
		if err := saveAttempts(ctx, t, o); err != nil {
			return err
		}
		if c.Status != from || c.Note != "" {
			if err := addHistory(ctx, t, o.ID, c); err != nil {
				return err
			}
		}
		return applyEffects(ctx, t, fx)
	})
}

// FindOutgoing returns a transaction of the project and mode with its attempts and history.
func (s *Store) FindOutgoing(ctx context.Context, projectID string, mode gateway.Mode, id string) (*gateway.OutgoingTx, error) {
	txs, err := s.listOutgoing(ctx, `WHERE project_id = ? AND mode = ? AND id = ?`, []any{projectID, string(mode), id}, "")
	if err != nil {
		return nil, err
	}
	if len(txs) == 0 {
		return nil, gateway.ErrNotFound
	}
	o := txs[0]
	rows, err := s.query(ctx, `SELECT at, status, note FROM outgoing_history WHERE outgoing_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("outgoing history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c gateway.OutgoingChange
		var at int64
		var status string
		if err := rows.Scan(&at, &status, &c.Note); err != nil {
			return nil, fmt.Errorf("outgoing history: %w", err)
		}
		c.At, c.Status = fromMS(at), gateway.OutgoingStatus(status)
		o.History = append(o.History, c)
	}
	return o, rows.Err()
}

// ListOutgoing returns a project's transactions, newest first.
func (s *Store) ListOutgoing(ctx context.Context, f gateway.OutgoingFilter) ([]*gateway.OutgoingTx, error) {
	where := []string{"project_id = ?", "mode = ?"}
	args := []any{f.ProjectID, string(f.Mode)}
	for _, c := range []struct{ col, v string }{{"chain_id", f.ChainID}, {"status", string(f.Status)}, {"purpose", f.Purpose}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	return s.listOutgoing(ctx, "WHERE "+strings.Join(where, " AND "), args, fmt.Sprintf("ORDER BY %s DESC LIMIT %d", s.d.EventSeq, limit))
}

// UnfinishedOutgoing returns the chain's transactions that are not final: per sending address,
// signed ones by nonce, then queued ones in the order they were queued.
func (s *Store) UnfinishedOutgoing(ctx context.Context, chainID string) ([]*gateway.OutgoingTx, error) {
	return s.listOutgoing(ctx, `WHERE chain_id = ? AND status NOT IN ('confirmed', 'failed')`, []any{chainID},
		`ORDER BY from_address, CASE WHEN nonce IS NULL THEN 1 ELSE 0 END, nonce, `+s.d.EventSeq)
}

// NextNonce is one more than the highest nonce stored for the address on the chain.
func (s *Store) NextNonce(ctx context.Context, chainID, from string) (uint64, error) {
	var n sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MAX(nonce) FROM outgoing_transactions WHERE chain_id = ? AND from_address = ?`, chainID, from).Scan(&n); err != nil {
		return 0, fmt.Errorf("next nonce: %w", err)
	}
	if !n.Valid {
		return 0, nil
	}
	return uint64(n.Int64) + 1, nil
}

func (s *Store) listOutgoing(ctx context.Context, where string, args []any, tail string) ([]*gateway.OutgoingTx, error) {
	rows, err := s.query(ctx, `SELECT `+outgoingColumns+`, COALESCE((SELECT a.status FROM outgoing_transactions a WHERE a.id = outgoing_transactions.after_id), '')
		FROM outgoing_transactions `+where+" "+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("list outgoing: %w", err)
	}
	defer rows.Close()
	out := []*gateway.OutgoingTx{}
	byID := map[string]*gateway.OutgoingTx{}
	for rows.Next() {
		var o gateway.OutgoingTx
		var mode, status, value, price, authorize, afterStatus string
		var gasLimit, block, gasUsed, created, updated int64
		var nonce sql.NullInt64
		if err := rows.Scan(&o.ID, &o.ProjectID, &mode, &o.ChainID, &o.Purpose, &o.PurposeID, &o.From, &o.To, &value, &o.Data, &gasLimit,
			&status, &nonce, &o.TxHash, &block, &o.BlockHash, &gasUsed, &price, &o.Failure, &created, &updated, &authorize, &o.Delegate, &o.After,
			&afterStatus); err != nil {
			return nil, fmt.Errorf("list outgoing: %w", err)
		}
		if authorize != "" {
			o.Authorize = strings.Split(authorize, ",")
		}
		o.AfterStatus = gateway.OutgoingStatus(afterStatus)
		o.Mode, o.Status = gateway.Mode(mode), gateway.OutgoingStatus(status)
		o.Nonce, o.GasLimit, o.BlockNumber, o.GasUsed = uint64(nonce.Int64), uint64(gasLimit), uint64(block), uint64(gasUsed)
		o.CreatedAt, o.UpdatedAt = fromMS(created), fromMS(updated)
		var ok bool
		if o.Value, ok = new(big.Int).SetString(value, 10); !ok {
			return nil, fmt.Errorf("list outgoing: %s: bad value %q", o.ID, value)
		}
		if price != "" {
			if o.EffectiveGasPrice, ok = new(big.Int).SetString(price, 10); !ok {
				return nil, fmt.Errorf("list outgoing: %s: bad gas price %q", o.ID, price)
			}
		}
		out = append(out, &o)
		byID[o.ID] = &o
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list outgoing: %w", err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]any, 0, len(out))
	for _, o := range out {
		ids = append(ids, o.ID)
	}
	arows, err := s.query(ctx, `SELECT outgoing_id, tx_hash, raw, gas_limit, tip_cap, max_fee, signed_at, broadcast_at, error
		FROM outgoing_attempts WHERE outgoing_id IN (`+placeholders(len(ids))+`) ORDER BY outgoing_id, seq`, ids...)
	if err != nil {
		return nil, fmt.Errorf("outgoing attempts: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var id, tip, fee string
		var a gateway.TxAttempt
		var gas, signed, broadcast int64
		if err := arows.Scan(&id, &a.Hash, &a.Raw, &gas, &tip, &fee, &signed, &broadcast, &a.Error); err != nil {
			return nil, fmt.Errorf("outgoing attempts: %w", err)
		}
		a.GasLimit, a.SignedAt = uint64(gas), fromMS(signed)
		if broadcast != 0 {
			a.BroadcastAt = fromMS(broadcast)
		}
		a.Fees.TipCap, _ = new(big.Int).SetString(tip, 10)
		a.Fees.MaxFee, _ = new(big.Int).SetString(fee, 10)
		if a.Fees.TipCap == nil || a.Fees.MaxFee == nil {
			return nil, fmt.Errorf("outgoing attempts: %s: bad fees %q, %q", a.Hash, tip, fee)
		}
		if o := byID[id]; o != nil {
			o.Attempts = append(o.Attempts, a)
		}
	}
	return out, arows.Err()
}

// zeroMS is ms, with the zero time stored as 0.
func zeroMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}
