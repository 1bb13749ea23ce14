package store

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/stablegate/stablegate/internal/gateway"
)

type balanceKey struct {
	projectID string
	mode      gateway.Mode
	chainID   string
	currency  string
	account   string
}

// entryChunk bounds the rows of one multi-row entry insert (13 parameters each).
const entryChunk = 400

// Post writes the postings in multi-row statements and changes each balance once, by the sum of
// its postings. A pending or available balance that would go below zero fails the transaction (the
// database refuses it too).
func (p paymentTx) Post(ctx context.Context, ps []gateway.Posting) error {
	t := p.t
	deltas := map[balanceKey]*big.Int{}
	users := map[userKey]*big.Int{}
	for _, e := range ps {
		tr := e.Transfer
		addUserDelta(users, userKey{e.User, tr.ChainID, tr.Currency, tr.ProjectID, tr.Mode}, e.From, e.To, tr.Amount)
		for _, side := range []struct {
			account string
			amount  *big.Int
		}{{e.From, new(big.Int).Neg(e.Transfer.Amount)}, {e.To, e.Transfer.Amount}} {
			tr := e.Transfer
			k := balanceKey{tr.ProjectID, tr.Mode, tr.ChainID, tr.Currency, side.account}
			if deltas[k] == nil {
				deltas[k] = new(big.Int)
			}
			deltas[k].Add(deltas[k], side.amount)
		}
	}
	for es := ps; len(es) > 0; {
		chunk := es[:min(entryChunk, len(es))]
		es = es[len(chunk):]
		var q strings.Builder
		q.WriteString(`INSERT INTO ledger_entries (id, project_id, mode, chain_id, currency, from_account, to_account, amount, reason,
			tx_hash, log_index, created_at, user_id) VALUES `)
		args := make([]any, 0, len(chunk)*13)
		for i, e := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			tr := e.Transfer
			args = append(args, gateway.NewID("led"), tr.ProjectID, string(tr.Mode), tr.ChainID, tr.Currency, e.From, e.To,
				tr.Amount.String(), e.Reason, tr.TxHash, int64(tr.LogIndex), ms(e.At), e.User)
		}
		var err error
		if len(chunk) == entryChunk { // the same text every time: kept prepared
			_, err = t.exec(ctx, q.String(), args...)
		} else {
			_, err = t.ExecContext(ctx, t.s.q(q.String()), args...)
		}
		if err != nil {
			return fmt.Errorf("ledger entries: %w", err)
		}
	}
	if err := applyDeltas(ctx, t, deltas); err != nil {
		return err
	}
	return applyUserDeltas(ctx, t, users)
}

// postLedger writes the entries of what leaves the merchant's custody or costs it, or is held for
// a withdrawal, and changes the balances and user balances they move.
func postLedger(ctx context.Context, t *tx, ps []gateway.LedgerPosting) error {
	if len(ps) == 0 {
		return nil
	}
	deltas := map[balanceKey]*big.Int{}
	users := map[userKey]*big.Int{}
	for _, f := range ps {
		if _, err := t.exec(ctx, `INSERT INTO ledger_entries (id, project_id, mode, chain_id, currency, from_account, to_account, amount, reason,
			tx_hash, log_index, created_at, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, -1, ?, ?)`,
			gateway.NewID("led"), f.ProjectID, string(f.Mode), f.ChainID, f.Currency, f.From, f.To, f.Amount.String(), f.Reason, f.TxHash, ms(f.At),
			f.User); err != nil {
			return fmt.Errorf("ledger entry: %w", err)
		}
		for _, side := range []struct {
			account string
			sign    int64
		}{{f.From, -1}, {f.To, 1}} {
			k := balanceKey{f.ProjectID, f.Mode, f.ChainID, f.Currency, side.account}
			if deltas[k] == nil {
				deltas[k] = new(big.Int)
			}
			deltas[k].Add(deltas[k], new(big.Int).Mul(f.Amount, big.NewInt(side.sign)))
		}
		addUserDelta(users, userKey{f.User, f.ChainID, f.Currency, f.ProjectID, f.Mode}, f.From, f.To, f.Amount)
	}
	if err := applyDeltas(ctx, t, deltas); err != nil {
		return err
	}
	return applyUserDeltas(ctx, t, users)
}

// applyDeltas changes each balance by its delta. A balance other than external that would go
// below zero fails the transaction (the database refuses it too).
func applyDeltas(ctx context.Context, t *tx, deltas map[balanceKey]*big.Int) error {
	// Balances are locked in one order, so two transactions never wait for each other's rows.
	keys := make([]balanceKey, 0, len(deltas))
	for k := range deltas {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b balanceKey) int {
		return strings.Compare(a.projectID+"/"+string(a.mode)+"/"+a.chainID+"/"+a.currency+"/"+a.account,
			b.projectID+"/"+string(b.mode)+"/"+b.chainID+"/"+b.currency+"/"+b.account)
	})
	for _, k := range keys {
		delta := deltas[k]
		if delta.Sign() == 0 {
			continue
		}
		if _, err := t.exec(ctx, `INSERT INTO ledger_balances (project_id, mode, chain_id, currency, account, balance) VALUES (?, ?, ?, ?, ?, '0')
			ON CONFLICT (project_id, mode, chain_id, currency, account) DO NOTHING`, k.projectID, string(k.mode), k.chainID, k.currency, k.account); err != nil {
			return fmt.Errorf("ledger balance: %w", err)
		}
		var cur string
		if err := t.queryRow(ctx, `SELECT balance FROM ledger_balances WHERE project_id = ? AND mode = ? AND chain_id = ? AND currency = ? AND account = ? `+t.s.d.ForUpdate,
			k.projectID, string(k.mode), k.chainID, k.currency, k.account).Scan(&cur); err != nil {
			return fmt.Errorf("ledger balance: %w", err)
		}
		v, ok := new(big.Int).SetString(cur, 10)
		if !ok {
			return fmt.Errorf("ledger balance %q is not an integer", cur)
		}
		v.Add(v, delta)
		if v.Sign() < 0 && k.account != gateway.AccountExternal {
			return fmt.Errorf("%w: the %s %s balance of %s on %s", gateway.ErrBalance, k.account, k.currency, k.projectID, k.chainID)
		}
		if _, err := t.exec(ctx, `UPDATE ledger_balances SET balance = ? WHERE project_id = ? AND mode = ? AND chain_id = ? AND currency = ? AND account = ?`,
			v.String(), k.projectID, string(k.mode), k.chainID, k.currency, k.account); err != nil {
			return fmt.Errorf("ledger balance: %w", err)
		}
	}
	return nil
}

// Balances returns the project's pending, available and held balances per chain and currency.
func (s *Store) Balances(ctx context.Context, projectID string, mode gateway.Mode) ([]gateway.Balance, error) {
	rows, err := s.query(ctx, `SELECT chain_id, currency, account, balance FROM ledger_balances
		WHERE project_id = ? AND mode = ? AND account IN ('pending', 'available', 'held') ORDER BY chain_id, currency`, projectID, string(mode))
	if err != nil {
		return nil, fmt.Errorf("balances: %w", err)
	}
	defer rows.Close()
	var out []gateway.Balance
	for rows.Next() {
		var chainID, currency, account, balance string
		if err := rows.Scan(&chainID, &currency, &account, &balance); err != nil {
			return nil, err
		}
		v, ok := new(big.Int).SetString(balance, 10)
		if !ok {
			return nil, fmt.Errorf("balance %q is not an integer", balance)
		}
		if n := len(out); n == 0 || out[n-1].ChainID != chainID || out[n-1].Currency != currency {
			out = append(out, gateway.Balance{ChainID: chainID, Currency: currency, Pending: new(big.Int), Available: new(big.Int), Held: new(big.Int)})
		}
		switch account {
		case gateway.AccountPending:
			out[len(out)-1].Pending = v
		case gateway.AccountHeld:
			out[len(out)-1].Held = v
		default:
			out[len(out)-1].Available = v
		}
	}
	return out, rows.Err()
}

// VerifyLedger recomputes every balance from its postings and from the credited transfers, and
// returns each difference from the stored balance.
func (s *Store) VerifyLedger(ctx context.Context) ([]gateway.LedgerDifference, error) {
	type key struct{ project, mode, chain, currency, account string }
	stored, posted, chain := map[key]*big.Int{}, map[key]*big.Int{}, map[key]*big.Int{}
	add := func(m map[key]*big.Int, k key, v string) error {
		n, ok := new(big.Int).SetString(v, 10)
		if !ok {
			return fmt.Errorf("ledger: %q is not an integer", v)
		}
		if m[k] == nil {
			m[k] = new(big.Int)
		}
		m[k].Add(m[k], n)
		return nil
	}
	scan := func(query string, m map[key]*big.Int) error {
		rows, err := s.query(ctx, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k key
			var v string
			if err := rows.Scan(&k.project, &k.mode, &k.chain, &k.currency, &k.account, &v); err != nil {
				return err
			}
			if err := add(m, k, v); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	if err := scan(`SELECT project_id, mode, chain_id, currency, account, balance FROM ledger_balances WHERE account <> 'external'`, stored); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if err := scan(`SELECT project_id, mode, chain_id, currency, to_account, amount FROM ledger_entries WHERE to_account <> 'external'`, posted); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if err := scan(`SELECT project_id, mode, chain_id, currency, from_account, '-' || amount FROM ledger_entries WHERE from_account <> 'external'`, posted); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if err := scan(`SELECT project_id, mode, chain_id, currency, CASE WHEN confirmed = 1 THEN 'available' ELSE 'pending' END, amount
		FROM transfers WHERE status = 'credited' AND (order_id IS NOT NULL OR deposit_id IS NOT NULL)`, chain); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	// Treasury sends confirmed left available for external.
	if err := scan(`SELECT project_id, mode, chain_id, currency, 'available', '-' || amount FROM treasury_sends WHERE status = 'confirmed'`, chain); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	// Withdrawals: held from their creation until final; completed ones left for external.
	if err := scan(`SELECT project_id, mode, chain_id, currency, 'available', '-' || amount FROM withdrawals
		WHERE status NOT IN ('rejected', 'failed')`, chain); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if err := scan(`SELECT project_id, mode, chain_id, currency, 'held', amount FROM withdrawals
		WHERE status NOT IN ('completed', 'rejected', 'failed')`, chain); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	// User balances against the entries that name them and against their deposits and withdrawals.
	if err := scan(`SELECT project_id, mode, chain_id, currency, 'user:' || deposit_id, balance FROM user_balances`, stored); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if err := scan(`SELECT project_id, mode, chain_id, currency, 'user:' || user_id, amount FROM ledger_entries
		WHERE user_id <> '' AND to_account = 'available'`, posted); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if err := scan(`SELECT project_id, mode, chain_id, currency, 'user:' || user_id, '-' || amount FROM ledger_entries
		WHERE user_id <> '' AND from_account = 'available'`, posted); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if err := scan(`SELECT project_id, mode, chain_id, currency, 'user:' || deposit_id, amount FROM transfers
		WHERE status = 'credited' AND confirmed = 1 AND deposit_id IS NOT NULL`, chain); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if err := scan(`SELECT project_id, mode, chain_id, currency, 'user:' || deposit_id, '-' || amount FROM withdrawals
		WHERE deposit_id <> '' AND status NOT IN ('rejected', 'failed')`, chain); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	// The fees account against the gas the mined transactions paid (gas used × price), in the
	// currency their fee entry names ("?" for a transaction whose entry is missing).
	feeCurrency := map[string]string{}
	rows, err := s.query(ctx, `SELECT tx_hash, currency FROM ledger_entries WHERE reason = 'gas'`)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	for rows.Next() {
		var hash, currency string
		if err := rows.Scan(&hash, &currency); err != nil {
			rows.Close()
			return nil, fmt.Errorf("verify: %w", err)
		}
		feeCurrency[hash] = currency
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if rows, err = s.query(ctx, `SELECT project_id, mode, chain_id, tx_hash, gas_used, effective_gas_price FROM outgoing_transactions
		WHERE status IN ('confirmed', 'failed') AND tx_hash <> '' AND effective_gas_price <> ''`); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k key
		var hash, price string
		var gas int64
		if err := rows.Scan(&k.project, &k.mode, &k.chain, &hash, &gas, &price); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		p, ok := new(big.Int).SetString(price, 10)
		if !ok {
			return nil, fmt.Errorf("verify: gas price %q", price)
		}
		if k.currency = feeCurrency[hash]; k.currency == "" {
			k.currency = "?"
		}
		k.account = gateway.AccountFees
		if err := add(chain, k, new(big.Int).Mul(p, big.NewInt(gas)).String()); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	keys := map[key]bool{}
	for _, m := range []map[key]*big.Int{stored, posted, chain} {
		for k := range m {
			keys[k] = true
		}
	}
	zero := new(big.Int)
	val := func(m map[key]*big.Int, k key) *big.Int {
		if v := m[k]; v != nil {
			return v
		}
		return zero
	}
	var out []gateway.LedgerDifference
	for k := range keys {
		st, po, ch := val(stored, k), val(posted, k), val(chain, k)
		if st.Cmp(po) != 0 || st.Cmp(ch) != 0 {
			out = append(out, gateway.LedgerDifference{ProjectID: k.project, Mode: gateway.Mode(k.mode), ChainID: k.chain, Currency: k.currency,
				Account: k.account, Stored: st, Posted: po, OnChain: ch})
		}
	}
	return out, nil
}
