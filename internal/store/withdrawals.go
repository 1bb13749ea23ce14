package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

const withdrawalColumns = `id, project_id, mode, reference, chain_id, currency, token, amount, address, deposit_reference, deposit_id, metadata,
	status, created_by, approvals, reason, waiting, failure, from_address, outgoing_id, tx_hash, gas_used, fee, created_at, updated_at, completed_at`

type approvalJSON struct {
	By string `json:"by"`
	At int64  `json:"at"`
}

func scanWithdrawal(row interface{ Scan(...any) error }) (*gateway.Withdrawal, error) {
	var w gateway.Withdrawal
	var mode, amount, status, approvals, fee string
	var meta sql.NullString
	var gasUsed, created, updated int64
	var completed sql.NullInt64
	if err := row.Scan(&w.ID, &w.ProjectID, &mode, &w.Reference, &w.ChainID, &w.Currency, &w.Token, &amount, &w.Address, &w.DepositReference,
		&w.DepositID, &meta, &status, &w.CreatedBy, &approvals, &w.Reason, &w.Waiting, &w.Failure, &w.From, &w.OutgoingID, &w.TxHash, &gasUsed,
		&fee, &created, &updated, &completed); err != nil {
		return nil, err
	}
	w.Mode, w.Status = gateway.Mode(mode), gateway.WithdrawalStatus(status)
	var ok bool
	if w.Amount, ok = new(big.Int).SetString(amount, 10); !ok {
		return nil, fmt.Errorf("withdrawal %s: amount %q", w.ID, amount)
	}
	if fee != "" {
		if w.Fee, ok = new(big.Int).SetString(fee, 10); !ok {
			return nil, fmt.Errorf("withdrawal %s: fee %q", w.ID, fee)
		}
	}
	if meta.Valid {
		w.Metadata = json.RawMessage(meta.String)
	}
	var as []approvalJSON
	if err := json.Unmarshal([]byte(approvals), &as); err != nil {
		return nil, fmt.Errorf("withdrawal %s: approvals: %w", w.ID, err)
	}
	for _, a := range as {
		w.Approvals = append(w.Approvals, gateway.WithdrawalApproval{By: a.By, At: fromMS(a.At)})
	}
	w.GasUsed = uint64(gasUsed)
	w.CreatedAt, w.UpdatedAt, w.CompletedAt = fromMS(created), fromMS(updated), nullMS(completed)
	return &w, nil
}

// withdrawalTx is the store's side of a withdrawal's transaction.
type withdrawalTx struct{ t *tx }

var _ gateway.WithdrawalTx = withdrawalTx{}

// InWithdrawalTx runs fn in one write transaction.
func (s *Store) InWithdrawalTx(ctx context.Context, fn func(gateway.WithdrawalTx) error) error {
	return s.inTx(ctx, func(t *tx) error { return fn(withdrawalTx{t}) })
}

// LockPolicy returns the policy, its row made if missing and locked (PostgreSQL; SQLite runs one
// write transaction at a time).
func (w withdrawalTx) LockPolicy(ctx context.Context, projectID string, mode gateway.Mode) (*gateway.WithdrawalPolicy, error) {
	return w.policy(ctx, projectID, mode, w.t.s.d.ForUpdate)
}

// SharePolicy returns the policy, its row made if missing and locked against change but shared
// with other transactions that read it so.
func (w withdrawalTx) SharePolicy(ctx context.Context, projectID string, mode gateway.Mode) (*gateway.WithdrawalPolicy, error) {
	return w.policy(ctx, projectID, mode, w.t.s.d.ForShare)
}

func (w withdrawalTx) policy(ctx context.Context, projectID string, mode gateway.Mode, lock string) (*gateway.WithdrawalPolicy, error) {
	t := w.t
	if _, err := t.exec(ctx, `INSERT INTO withdrawal_policies (project_id, mode) VALUES (?, ?) ON CONFLICT (project_id, mode) DO NOTHING`,
		projectID, string(mode)); err != nil {
		return nil, fmt.Errorf("withdrawal policy: %w", err)
	}
	return scanPolicy(t.queryRow(ctx, `SELECT `+policyColumns+` FROM withdrawal_policies WHERE project_id = ? AND mode = ? `+lock,
		projectID, string(mode)))
}

// LockWithdrawal returns the withdrawal, locked.
func (w withdrawalTx) LockWithdrawal(ctx context.Context, projectID string, mode gateway.Mode, id string) (*gateway.Withdrawal, error) {
	t := w.t
	wd, err := scanWithdrawal(t.queryRow(ctx, `SELECT `+withdrawalColumns+` FROM withdrawals WHERE project_id = ? AND mode = ? AND id = ? `+t.s.d.ForUpdate,
		projectID, string(mode), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	}
	return wd, err
}

// WithdrawalByReference returns the withdrawal with the merchant reference.
func (w withdrawalTx) WithdrawalByReference(ctx context.Context, projectID string, mode gateway.Mode, ref string) (*gateway.Withdrawal, error) {
	wd, err := scanWithdrawal(w.t.queryRow(ctx, `SELECT `+withdrawalColumns+` FROM withdrawals WHERE project_id = ? AND mode = ? AND reference = ?`,
		projectID, string(mode), ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	}
	return wd, err
}

// Withdrawn sums the currency's withdrawals created since the time, rejected and failed ones left
// out.
func (w withdrawalTx) Withdrawn(ctx context.Context, projectID string, mode gateway.Mode, currency string, since time.Time) (*big.Int, error) {
	rows, err := w.t.query(ctx, `SELECT amount FROM withdrawals WHERE project_id = ? AND mode = ? AND currency = ? AND created_at >= ?
		AND status NOT IN ('rejected', 'failed')`, projectID, string(mode), currency, ms(since))
	if err != nil {
		return nil, fmt.Errorf("withdrawn: %w", err)
	}
	defer rows.Close()
	sum := new(big.Int)
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("withdrawn: %w", err)
		}
		v, ok := new(big.Int).SetString(a, 10)
		if !ok {
			return nil, fmt.Errorf("withdrawn: amount %q", a)
		}
		sum.Add(sum, v)
	}
	return sum, rows.Err()
}

// Apply writes a withdrawal change's effects.
func (w withdrawalTx) Apply(ctx context.Context, fx *gateway.WithdrawalEffects) error {
	return applyWithdrawals(ctx, w.t, fx)
}

func applyWithdrawals(ctx context.Context, t *tx, fx *gateway.WithdrawalEffects) error {
	if fx == nil {
		return nil
	}
	for _, sv := range fx.Saves {
		if err := saveWithdrawal(ctx, t, sv); err != nil {
			return err
		}
	}
	if err := postLedger(ctx, t, fx.Postings); err != nil {
		return err
	}
	for _, o := range fx.Queue {
		if err := insertOutgoing(ctx, t, o); err != nil {
			return err
		}
	}
	for _, e := range fx.Events {
		if err := writeEvent(ctx, t, e); err != nil {
			return err
		}
	}
	return nil
}

func saveWithdrawal(ctx context.Context, t *tx, sv gateway.WithdrawalSave) error {
	w := sv.W
	as := make([]approvalJSON, 0, len(w.Approvals))
	for _, a := range w.Approvals {
		as = append(as, approvalJSON{By: a.By, At: ms(a.At)})
	}
	approvals, _ := json.Marshal(as)
	fee := ""
	if w.Fee != nil {
		fee = w.Fee.String()
	}
	var completed any
	if w.CompletedAt != nil {
		completed = ms(*w.CompletedAt)
	}
	if sv.From == "" {
		if _, err := t.exec(ctx, `INSERT INTO withdrawals (`+withdrawalColumns+`) VALUES (`+placeholders(26)+`)`,
			w.ID, w.ProjectID, string(w.Mode), w.Reference, w.ChainID, w.Currency, w.Token, w.Amount.String(), w.Address, w.DepositReference,
			w.DepositID, nullString(w.Metadata), string(w.Status), w.CreatedBy, string(approvals), w.Reason, w.Waiting, w.Failure, w.From,
			w.OutgoingID, w.TxHash, int64(w.GasUsed), fee, ms(w.CreatedAt), ms(w.UpdatedAt), completed); err != nil {
			if t.s.d.IsUniqueViolation(err) {
				return fmt.Errorf("withdrawal %s: %w", w.Reference, gateway.ErrChanged)
			}
			return fmt.Errorf("insert withdrawal: %w", err)
		}
	} else {
		res, err := t.exec(ctx, `UPDATE withdrawals SET status = ?, approvals = ?, reason = ?, waiting = ?, failure = ?, outgoing_id = ?, tx_hash = ?,
			gas_used = ?, fee = ?, updated_at = ?, completed_at = ? WHERE id = ? AND status = ?`,
			string(w.Status), string(approvals), w.Reason, w.Waiting, w.Failure, w.OutgoingID, w.TxHash, int64(w.GasUsed), fee, ms(w.UpdatedAt),
			completed, w.ID, string(sv.From))
		if err := affected(res, err, "save withdrawal"); errors.Is(err, gateway.ErrNotFound) {
			return fmt.Errorf("save withdrawal %s: not %s any more: %w", w.ID, sv.From, gateway.ErrChanged)
		} else if err != nil {
			return err
		}
	}
	c := sv.Change
	if _, err := t.exec(ctx, `INSERT INTO withdrawal_history (withdrawal_id, seq, at, status, note)
		VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM withdrawal_history WHERE withdrawal_id = ?), ?, ?, ?)`,
		w.ID, w.ID, ms(c.At), string(c.Status), c.Note); err != nil {
		return fmt.Errorf("withdrawal history: %w", err)
	}
	return nil
}

// FindWithdrawal returns a withdrawal of the project and mode with its history.
func (s *Store) FindWithdrawal(ctx context.Context, projectID string, mode gateway.Mode, id string) (*gateway.Withdrawal, error) {
	w, err := scanWithdrawal(s.queryRow(ctx, `SELECT `+withdrawalColumns+` FROM withdrawals WHERE project_id = ? AND mode = ? AND id = ?`,
		projectID, string(mode), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find withdrawal: %w", err)
	}
	rows, err := s.query(ctx, `SELECT at, status, note FROM withdrawal_history WHERE withdrawal_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("withdrawal history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c gateway.WithdrawalChange
		var at int64
		var status string
		if err := rows.Scan(&at, &status, &c.Note); err != nil {
			return nil, fmt.Errorf("withdrawal history: %w", err)
		}
		c.At, c.Status = fromMS(at), gateway.WithdrawalStatus(status)
		w.History = append(w.History, c)
	}
	return w, rows.Err()
}

// ListWithdrawals returns a page of the project's withdrawals, newest first, and how many match.
func (s *Store) ListWithdrawals(ctx context.Context, f gateway.WithdrawalFilter) ([]*gateway.Withdrawal, int, error) {
	where := []string{"project_id = ?", "mode = ?"}
	args := []any{f.ProjectID, string(f.Mode)}
	for _, c := range []struct{ col, v string }{{"status", string(f.Status)}, {"chain_id", f.ChainID}, {"currency", f.Currency},
		{"deposit_reference", f.DepositReference}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM withdrawals WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count withdrawals: %w", err)
	}
	ws, err := s.listWithdrawals(ctx, `WHERE `+cond+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, f.Limit, (f.Page-1)*f.Limit)...)
	return ws, total, err
}

func (s *Store) listWithdrawals(ctx context.Context, tail string, args ...any) ([]*gateway.Withdrawal, error) {
	rows, err := s.query(ctx, `SELECT `+withdrawalColumns+` FROM withdrawals `+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("list withdrawals: %w", err)
	}
	defer rows.Close()
	out := []*gateway.Withdrawal{}
	for rows.Next() {
		w, err := scanWithdrawal(rows)
		if err != nil {
			return nil, fmt.Errorf("list withdrawals: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// WithdrawalOf returns the withdrawal whose transaction is outgoingID.
func (s *Store) WithdrawalOf(ctx context.Context, outgoingID string) (*gateway.Withdrawal, error) {
	ws, err := s.listWithdrawals(ctx, `WHERE outgoing_id = ?`, outgoingID)
	if err != nil {
		return nil, err
	}
	if len(ws) == 0 {
		return nil, gateway.ErrNotFound
	}
	return ws[0], nil
}

// WithdrawalsToSend returns the chain's approved and awaiting withdrawals with no transaction.
func (s *Store) WithdrawalsToSend(ctx context.Context, chainID string, limit int) ([]*gateway.Withdrawal, error) {
	return s.listWithdrawals(ctx, `WHERE chain_id = ? AND status IN ('approved', 'awaiting_funds') AND outgoing_id = '' ORDER BY created_at, id LIMIT ?`,
		chainID, limit)
}

// InFlightFrom sums what the unconfirmed token transfers of withdrawals and treasury sends from
// the address will take, by currency.
func (s *Store) InFlightFrom(ctx context.Context, chainID, from string) (map[string]*big.Int, error) {
	out := map[string]*big.Int{}
	for _, q := range []string{
		`SELECT w.currency, w.amount FROM withdrawals w WHERE w.chain_id = ? AND w.from_address = ? AND w.outgoing_id <> ''
			AND w.status IN ('approved', 'broadcast')`,
		`SELECT t.currency, t.amount FROM treasury_sends t JOIN outgoing_transactions o ON o.id = t.outgoing_id
			WHERE t.chain_id = ? AND o.from_address = ? AND t.status NOT IN ('confirmed', 'failed')`,
	} {
		if err := sumInto(ctx, s, out, q, chainID, from); err != nil {
			return nil, fmt.Errorf("in flight: %w", err)
		}
	}
	return out, nil
}

func sumInto(ctx context.Context, s *Store, out map[string]*big.Int, q string, args ...any) error {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var currency, amount string
		if err := rows.Scan(&currency, &amount); err != nil {
			return err
		}
		v, ok := new(big.Int).SetString(amount, 10)
		if !ok {
			return fmt.Errorf("amount %q", amount)
		}
		if out[currency] == nil {
			out[currency] = new(big.Int)
		}
		out[currency].Add(out[currency], v)
	}
	return rows.Err()
}

const policyColumns = `project_id, mode, auto_approve_below, daily_limits, allowlist, cooling_seconds, two_approvals, updated_at`

func scanPolicy(row interface{ Scan(...any) error }) (*gateway.WithdrawalPolicy, error) {
	var p gateway.WithdrawalPolicy
	var mode, limits string
	var allowlist, cooling, two, updated int64
	if err := row.Scan(&p.ProjectID, &mode, &p.AutoApproveBelow, &limits, &allowlist, &cooling, &two, &updated); err != nil {
		return nil, err
	}
	p.Mode, p.Allowlist, p.TwoApprovals = gateway.Mode(mode), allowlist == 1, two == 1
	p.CoolingPeriod = time.Duration(cooling) * time.Second
	if updated != 0 {
		p.UpdatedAt = fromMS(updated)
	}
	p.DailyLimits = map[string]string{}
	if err := json.Unmarshal([]byte(limits), &p.DailyLimits); err != nil {
		return nil, fmt.Errorf("withdrawal policy: daily limits: %w", err)
	}
	return &p, nil
}

// WithdrawalPolicy returns the project's policy in the mode, or the default.
func (s *Store) WithdrawalPolicy(ctx context.Context, projectID string, mode gateway.Mode) (*gateway.WithdrawalPolicy, error) {
	p, err := scanPolicy(s.queryRow(ctx, `SELECT `+policyColumns+` FROM withdrawal_policies WHERE project_id = ? AND mode = ?`, projectID, string(mode)))
	if errors.Is(err, sql.ErrNoRows) {
		return gateway.DefaultWithdrawalPolicy(projectID, mode), nil
	}
	return p, err
}

// SetWithdrawalPolicy stores the policy.
func (s *Store) SetWithdrawalPolicy(ctx context.Context, p *gateway.WithdrawalPolicy) error {
	limits, _ := json.Marshal(p.DailyLimits)
	err := s.inTx(ctx, func(t *tx) error {
		_, err := t.exec(ctx, `INSERT INTO withdrawal_policies (`+policyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (project_id, mode) DO UPDATE SET auto_approve_below = excluded.auto_approve_below, daily_limits = excluded.daily_limits,
		allowlist = excluded.allowlist, cooling_seconds = excluded.cooling_seconds, two_approvals = excluded.two_approvals, updated_at = excluded.updated_at`,
			p.ProjectID, string(p.Mode), p.AutoApproveBelow, string(limits), boolInt(p.Allowlist), int64(p.CoolingPeriod/time.Second), boolInt(p.TwoApprovals),
			ms(p.UpdatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("set withdrawal policy: %w", err)
	}
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// ListDestinations returns the project's allowlist, oldest first.
func (s *Store) ListDestinations(ctx context.Context, projectID string, mode gateway.Mode) ([]gateway.Destination, error) {
	rows, err := s.query(ctx, `SELECT protocol, address, label, added_at, usable_at FROM withdrawal_destinations WHERE project_id = ? AND mode = ?
		ORDER BY added_at, address`, projectID, string(mode))
	if err != nil {
		return nil, fmt.Errorf("destinations: %w", err)
	}
	defer rows.Close()
	out := []gateway.Destination{}
	for rows.Next() {
		d := gateway.Destination{ProjectID: projectID, Mode: mode}
		var protocol string
		var added, usable int64
		if err := rows.Scan(&protocol, &d.Address, &d.Label, &added, &usable); err != nil {
			return nil, fmt.Errorf("destinations: %w", err)
		}
		d.Protocol, d.AddedAt, d.UsableAt = chain.Protocol(protocol), fromMS(added), fromMS(usable)
		out = append(out, d)
	}
	return out, rows.Err()
}

// AddDestination stores d unless its address is on the allowlist already (then the transaction,
// and the audit entry it would have written, is rolled back).
func (s *Store) AddDestination(ctx context.Context, d *gateway.Destination) (*gateway.Destination, error) {
	errListed := errors.New("listed already")
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `INSERT INTO withdrawal_destinations (project_id, mode, protocol, address, label, added_at, usable_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, mode, protocol, address) DO NOTHING`, d.ProjectID, string(d.Mode),
			string(d.Protocol), d.Address, d.Label, ms(d.AddedAt), ms(d.UsableAt))
		if err != nil {
			return err
		}
		if added, err := res.RowsAffected(); err != nil || added == 1 {
			return err
		}
		return errListed
	})
	if err == nil {
		return nil, nil
	} else if !errors.Is(err, errListed) {
		return nil, fmt.Errorf("add destination: %w", err)
	}
	ds, err := s.ListDestinations(ctx, d.ProjectID, d.Mode)
	if err != nil {
		return nil, err
	}
	for i := range ds {
		if ds[i].Protocol == d.Protocol && ds[i].Address == d.Address {
			return &ds[i], nil
		}
	}
	return nil, fmt.Errorf("add destination: %s vanished", d.Address)
}

// RemoveDestination deletes an address from the allowlist.
func (s *Store) RemoveDestination(ctx context.Context, projectID string, mode gateway.Mode, protocol chain.Protocol, address string) error {
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `DELETE FROM withdrawal_destinations WHERE project_id = ? AND mode = ? AND protocol = ? AND address = ?`,
			projectID, string(mode), string(protocol), address)
		return affected(res, err, "remove destination")
	})
}

// UserBalances returns the deposit binding's balances: available from user_balances, held from
// its withdrawals not final.
func (s *Store) UserBalances(ctx context.Context, depositID string) ([]gateway.Balance, error) {
	rows, err := s.query(ctx, `SELECT chain_id, currency, balance FROM user_balances WHERE deposit_id = ? ORDER BY chain_id, currency`, depositID)
	if err != nil {
		return nil, fmt.Errorf("user balances: %w", err)
	}
	defer rows.Close()
	out := []gateway.Balance{}
	for rows.Next() {
		b := gateway.Balance{Pending: new(big.Int), Held: new(big.Int)}
		var v string
		if err := rows.Scan(&b.ChainID, &b.Currency, &v); err != nil {
			return nil, fmt.Errorf("user balances: %w", err)
		}
		var ok bool
		if b.Available, ok = new(big.Int).SetString(v, 10); !ok {
			return nil, fmt.Errorf("user balance %q", v)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("user balances: %w", err)
	}
	rows.Close()
	wrows, err := s.query(ctx, `SELECT chain_id, currency, amount FROM withdrawals WHERE deposit_id = ? AND status NOT IN ('completed', 'rejected', 'failed')`, depositID)
	if err != nil {
		return nil, fmt.Errorf("user balances: %w", err)
	}
	defer wrows.Close()
	for wrows.Next() {
		var chainID, currency, amount string
		if err := wrows.Scan(&chainID, &currency, &amount); err != nil {
			return nil, fmt.Errorf("user balances: %w", err)
		}
		v, ok := new(big.Int).SetString(amount, 10)
		if !ok {
			return nil, fmt.Errorf("user balances: amount %q", amount)
		}
		i := slices.IndexFunc(out, func(b gateway.Balance) bool { return b.ChainID == chainID && b.Currency == currency })
		if i < 0 {
			out = append(out, gateway.Balance{ChainID: chainID, Currency: currency, Pending: new(big.Int), Available: new(big.Int), Held: new(big.Int)})
			i = len(out) - 1
		}
		out[i].Held.Add(out[i].Held, v)
	}
	return out, wrows.Err()
}

// OwnAddress reports whether stablegate watches the address (any project's order or deposit).
func (s *Store) OwnAddress(ctx context.Context, p chain.Protocol, address string) (bool, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM addresses WHERE protocol = ? AND address = ?`, string(p), address).Scan(&n); err != nil {
		return false, fmt.Errorf("own address: %w", err)
	}
	return n > 0, nil
}

type userKey struct {
	deposit, chain, currency, project string
	mode                              gateway.Mode
}

// applyUserDeltas changes each user balance by its delta; one that would go below zero is
// gateway.ErrBalance (the database refuses it too).
func applyUserDeltas(ctx context.Context, t *tx, deltas map[userKey]*big.Int) error {
	keys := make([]userKey, 0, len(deltas))
	for k := range deltas {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b userKey) int {
		return strings.Compare(a.deposit+"/"+a.chain+"/"+a.currency, b.deposit+"/"+b.chain+"/"+b.currency)
	})
	for _, k := range keys {
		delta := deltas[k]
		if delta.Sign() == 0 {
			continue
		}
		if _, err := t.exec(ctx, `INSERT INTO user_balances (deposit_id, chain_id, currency, project_id, mode, balance) VALUES (?, ?, ?, ?, ?, '0')
			ON CONFLICT (deposit_id, chain_id, currency) DO NOTHING`, k.deposit, k.chain, k.currency, k.project, string(k.mode)); err != nil {
			return fmt.Errorf("user balance: %w", err)
		}
		var cur string
		if err := t.queryRow(ctx, `SELECT balance FROM user_balances WHERE deposit_id = ? AND chain_id = ? AND currency = ? `+t.s.d.ForUpdate,
			k.deposit, k.chain, k.currency).Scan(&cur); err != nil {
			return fmt.Errorf("user balance: %w", err)
		}
		v, ok := new(big.Int).SetString(cur, 10)
		if !ok {
			return fmt.Errorf("user balance %q is not an integer", cur)
		}
		if v.Add(v, delta); v.Sign() < 0 {
			return fmt.Errorf("%w: the %s balance of deposit %s on %s", gateway.ErrBalance, k.currency, k.deposit, k.chain)
		}
		if _, err := t.exec(ctx, `UPDATE user_balances SET balance = ? WHERE deposit_id = ? AND chain_id = ? AND currency = ?`,
			v.String(), k.deposit, k.chain, k.currency); err != nil {
			return fmt.Errorf("user balance: %w", err)
		}
	}
	return nil
}

// addUserDelta adds a posting's move of a user balance: into available credits it, out of
// available debits it.
func addUserDelta(deltas map[userKey]*big.Int, k userKey, from, to string, amount *big.Int) {
	if k.deposit == "" {
		return
	}
	if deltas[k] == nil {
		deltas[k] = new(big.Int)
	}
	if to == gateway.AccountAvailable {
		deltas[k].Add(deltas[k], amount)
	}
	if from == gateway.AccountAvailable {
		deltas[k].Sub(deltas[k], amount)
	}
}
