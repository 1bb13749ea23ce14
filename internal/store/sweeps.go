package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

// Holdings derives what each address of the project holds on the chain, per token: its credited,
// confirmed payments, less what completed sweeps moved from it and what sweeps in flight will.
// An address with a sweep in flight says so (InFlight); the sweep's unique active leg keeps a
// second sweep off it.
func (s *Store) Holdings(ctx context.Context, projectID string, mode gateway.Mode, chainID string) ([]gateway.Holding, error) {
	type key struct{ address, currency string }
	held := map[key]*gateway.Holding{}
	var order []key
	rows, err := s.query(ctx, `SELECT t.to_address, t.currency, t.amount, COALESCE(a.order_id, ''), COALESCE(a.deposit_id, ''), COALESCE(o.status, ''),
		COALESCE(a.source, '')
		FROM transfers t
		LEFT JOIN addresses a ON a.address = t.to_address AND a.project_id = t.project_id
		LEFT JOIN orders o ON o.id = a.order_id
		WHERE t.project_id = ? AND t.mode = ? AND t.chain_id = ? AND t.status = 'credited' AND t.confirmed = 1
			AND (t.order_id IS NOT NULL OR t.deposit_id IS NOT NULL)`, projectID, string(mode), chainID)
	if err != nil {
		return nil, fmt.Errorf("holdings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h gateway.Holding
		var amount, status, source string
		if err := rows.Scan(&h.Address, &h.Currency, &amount, &h.OrderID, &h.DepositID, &status, &source); err != nil {
			return nil, fmt.Errorf("holdings: %w", err)
		}
		v, ok := new(big.Int).SetString(amount, 10)
		if !ok {
			return nil, fmt.Errorf("holdings: amount %q", amount)
		}
		k := key{h.Address, h.Currency}
		if held[k] == nil {
			h.Amount = new(big.Int)
			h.Derived = source == "derived"
			switch gateway.OrderStatus(status) {
			case gateway.OrderPending, gateway.OrderConfirming, gateway.OrderUnderpaid:
				h.Collecting = true
			}
			held[k] = &h
			order = append(order, k)
		}
		held[k].Amount.Add(held[k].Amount, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("holdings: %w", err)
	}
	rows.Close()
	legs, err := s.query(ctx, `SELECT l.address, l.currency, l.amount, l.moved, l.active FROM sweep_legs l
		WHERE l.project_id = ? AND l.mode = ? AND l.chain_id = ?`, projectID, string(mode), chainID)
	if err != nil {
		return nil, fmt.Errorf("holdings: %w", err)
	}
	defer legs.Close()
	for legs.Next() {
		var address, currency, amount string
		var moved sql.NullString
		var active int64
		if err := legs.Scan(&address, &currency, &amount, &moved, &active); err != nil {
			return nil, fmt.Errorf("holdings: %w", err)
		}
		h := held[key{address, currency}]
		if h == nil {
			continue
		}
		took := amount // in flight: what it will move
		if active == 0 {
			took = moved.String
		} else {
			h.InFlight = true
		}
		v, ok := new(big.Int).SetString(took, 10)
		if !ok {
			return nil, fmt.Errorf("holdings: leg amount %q", took)
		}
		h.Amount.Sub(h.Amount, v)
	}
	if err := legs.Err(); err != nil {
		return nil, fmt.Errorf("holdings: %w", err)
	}
	out := []gateway.Holding{}
	for _, k := range order {
		if h := held[k]; h.Amount.Sign() > 0 {
			out = append(out, *h)
		}
	}
	return out, nil
}

// HotWalletHoldings is what completed sweeps moved into the hot wallet on the chain, less what
// treasury sends took (in flight or confirmed), per currency.
func (s *Store) HotWalletHoldings(ctx context.Context, projectID string, mode gateway.Mode, chainID string) (map[string]*big.Int, error) {
	rows, err := s.query(ctx, `SELECT l.currency, l.moved FROM sweep_legs l JOIN sweeps w ON w.id = l.sweep_id
		WHERE l.project_id = ? AND l.mode = ? AND l.chain_id = ? AND w.status = 'completed' AND l.moved IS NOT NULL`, projectID, string(mode), chainID)
	if err != nil {
		return nil, fmt.Errorf("hot wallet holdings: %w", err)
	}
	defer rows.Close()
	out := map[string]*big.Int{}
	for rows.Next() {
		var currency, moved string
		if err := rows.Scan(&currency, &moved); err != nil {
			return nil, fmt.Errorf("hot wallet holdings: %w", err)
		}
		v, ok := new(big.Int).SetString(moved, 10)
		if !ok {
			return nil, fmt.Errorf("hot wallet holdings: %q", moved)
		}
		if out[currency] == nil {
			out[currency] = new(big.Int)
		}
		out[currency].Add(out[currency], v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("hot wallet holdings: %w", err)
	}
	rows.Close()
	sends, err := s.query(ctx, `SELECT currency, amount FROM treasury_sends WHERE project_id = ? AND mode = ? AND chain_id = ? AND status <> 'failed'`,
		projectID, string(mode), chainID)
	if err != nil {
		return nil, fmt.Errorf("hot wallet holdings: %w", err)
	}
	defer sends.Close()
	for sends.Next() {
		var currency, amount string
		if err := sends.Scan(&currency, &amount); err != nil {
			return nil, fmt.Errorf("hot wallet holdings: %w", err)
		}
		v, ok := new(big.Int).SetString(amount, 10)
		if !ok {
			return nil, fmt.Errorf("hot wallet holdings: %q", amount)
		}
		if out[currency] == nil {
			out[currency] = new(big.Int)
		}
		out[currency].Sub(out[currency], v)
	}
	if err := sends.Err(); err != nil {
		return nil, fmt.Errorf("hot wallet holdings: %w", err)
	}
	sends.Close()
	// Withdrawals whose transfer is queued or gone took their amount too.
	taken := map[string]*big.Int{}
	if err := sumInto(ctx, s, taken, `SELECT currency, amount FROM withdrawals WHERE project_id = ? AND mode = ? AND chain_id = ? AND outgoing_id <> ''
		AND status IN ('approved', 'broadcast', 'completed')`, projectID, string(mode), chainID); err != nil {
		return nil, fmt.Errorf("hot wallet holdings: %w", err)
	}
	for currency, v := range taken {
		if out[currency] == nil {
			out[currency] = new(big.Int)
		}
		out[currency].Sub(out[currency], v)
	}
	return out, nil
}

// FindTreasurySend returns a treasury send by id.
func (s *Store) FindTreasurySend(ctx context.Context, id string) (*gateway.TreasurySend, error) {
	var t gateway.TreasurySend
	var mode, amount, status string
	err := s.queryRow(ctx, `SELECT id, project_id, mode, chain_id, currency, amount, to_address, outgoing_id, status FROM treasury_sends WHERE id = ?`, id).
		Scan(&t.ID, &t.ProjectID, &mode, &t.ChainID, &t.Currency, &amount, &t.To, &t.OutgoingID, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("treasury send: %w", err)
	}
	t.Mode, t.Status = gateway.Mode(mode), gateway.OutgoingStatus(status)
	var ok bool
	if t.Amount, ok = new(big.Int).SetString(amount, 10); !ok {
		return nil, fmt.Errorf("treasury send: %q", amount)
	}
	return &t, nil
}

// DerivedIndices are the derivation indices of the addresses derived for the project, in chunks
// of one query each.
func (s *Store) DerivedIndices(ctx context.Context, projectID string, mode gateway.Mode, p chain.Protocol, addresses []string) (map[string]uint32, error) {
	out := make(map[string]uint32, len(addresses))
	for rest := addresses; len(rest) > 0; {
		chunk := rest[:min(len(rest), 500)]
		rest = rest[len(chunk):]
		args := []any{string(p), projectID, string(mode)}
		for _, a := range chunk {
			args = append(args, a)
		}
		rows, err := s.query(ctx, `SELECT address, derivation_index FROM addresses WHERE protocol = ? AND project_id = ? AND mode = ?
			AND source = 'derived' AND derivation_index IS NOT NULL AND address IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("derived indices: %w", err)
		}
		for rows.Next() {
			var a string
			var index int64
			if err := rows.Scan(&a, &index); err != nil {
				rows.Close()
				return nil, fmt.Errorf("derived indices: %w", err)
			}
			out[a] = uint32(index)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("derived indices: %w", err)
		}
	}
	return out, nil
}

// FindSweeper returns the hot wallet's sweeper on the chain.
func (s *Store) FindSweeper(ctx context.Context, projectID string, mode gateway.Mode, chainID string) (*gateway.Sweeper, error) {
	w := gateway.Sweeper{ProjectID: projectID, Mode: mode, ChainID: chainID}
	var deployed int64
	err := s.queryRow(ctx, `SELECT hot_wallet, address, deploy_id, deployed FROM sweepers WHERE project_id = ? AND mode = ? AND chain_id = ?`,
		projectID, string(mode), chainID).Scan(&w.HotWallet, &w.Address, &w.DeployID, &deployed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find sweeper: %w", err)
	}
	w.Deployed = deployed == 1
	return &w, nil
}

// CreateSweeps stores the sweeps and their legs, queues the transactions and records the
// sweeper's deployment, in one transaction.
func (s *Store) CreateSweeps(ctx context.Context, sweeps []*gateway.Sweep, txs []*gateway.OutgoingTx, deploy *gateway.Sweeper) error {
	return s.inTx(ctx, func(t *tx) error {
		if deploy != nil {
			if _, err := t.exec(ctx, `INSERT INTO sweepers (project_id, mode, chain_id, hot_wallet, deploy_id) VALUES (?, ?, ?, ?, ?)`,
				deploy.ProjectID, string(deploy.Mode), deploy.ChainID, deploy.HotWallet, deploy.DeployID); err != nil {
				if s.d.IsUniqueViolation(err) {
					return gateway.Errorf(gateway.EConflict, "", "Another sweep is deploying the hot wallet's sweeper on %s: try again in a minute", deploy.ChainID)
				}
				return fmt.Errorf("create sweeper: %w", err)
			}
		}
		for _, o := range txs {
			if err := insertOutgoing(ctx, t, o); err != nil {
				return err
			}
		}
		for _, w := range sweeps {
			deployID := ""
			if w.Status == gateway.SweepDeploying {
				if deploy != nil {
					deployID = deploy.DeployID
				} else if err := t.queryRow(ctx, `SELECT deploy_id FROM sweepers WHERE project_id = ? AND mode = ? AND chain_id = ?`,
					w.ProjectID, string(w.Mode), w.ChainID).Scan(&deployID); err != nil {
					return fmt.Errorf("create sweep: the sweeper: %w", err)
				}
			}
			if _, err := t.exec(ctx, `INSERT INTO sweeps (id, project_id, mode, chain_id, currency, token, to_address, method, status, outgoing_id, deploy_id,
				created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				w.ID, w.ProjectID, string(w.Mode), w.ChainID, w.Currency, w.Token, w.To, w.Method, string(w.Status), w.OutgoingID, deployID,
				ms(w.CreatedAt), ms(w.UpdatedAt)); err != nil {
				return fmt.Errorf("create sweep: %w", err)
			}
			for _, l := range w.Legs {
				if _, err := t.exec(ctx, `INSERT INTO sweep_legs (sweep_id, project_id, mode, chain_id, currency, address, amount, on_chain, order_id, deposit_id)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, w.ID, w.ProjectID, string(w.Mode), w.ChainID, w.Currency, l.Address, l.Amount.String(),
					l.OnChain.String(), l.OrderID, l.DepositID); err != nil {
					if s.d.IsUniqueViolation(err) {
						return gateway.Errorf(gateway.EConflict, "addresses", "%s is in another sweep in flight: it is swept when that one is done", l.Address)
					}
					return fmt.Errorf("create sweep leg: %w", err)
				}
			}
		}
		return nil
	})
}

// applyEffects stores what a step of an outgoing transaction changes besides it.
func applyEffects(ctx context.Context, t *tx, fx *gateway.OutgoingEffects) error {
	if fx == nil {
		return nil
	}
	if w := fx.Sweeper; w != nil {
		var err error
		if w.Deployed {
			_, err = t.exec(ctx, `UPDATE sweepers SET address = ?, deployed = 1 WHERE project_id = ? AND mode = ? AND chain_id = ? AND deploy_id = ?`,
				w.Address, w.ProjectID, string(w.Mode), w.ChainID, w.DeployID)
		} else {
			_, err = t.exec(ctx, `DELETE FROM sweepers WHERE project_id = ? AND mode = ? AND chain_id = ? AND deploy_id = ?`,
				w.ProjectID, string(w.Mode), w.ChainID, w.DeployID)
		}
		if err != nil {
			return fmt.Errorf("sweeper: %w", err)
		}
	}
	for _, o := range fx.Queue {
		if err := insertOutgoing(ctx, t, o); err != nil {
			return err
		}
	}
	for _, w := range fx.Sweeps {
		fee := ""
		if w.Fee != nil {
			fee = w.Fee.String()
		}
		var completed any
		if w.CompletedAt != nil {
			completed = ms(*w.CompletedAt)
		}
		if _, err := t.exec(ctx, `UPDATE sweeps SET status = ?, outgoing_id = ?, tx_hash = ?, gas_used = ?, fee = ?, failure = ?, updated_at = ?,
			completed_at = ? WHERE id = ?`, string(w.Status), w.OutgoingID, w.TxHash, int64(w.GasUsed), fee, w.Failure, ms(w.UpdatedAt), completed, w.ID); err != nil {
			return fmt.Errorf("save sweep: %w", err)
		}
		if !w.Status.Final() {
			continue
		}
		for _, l := range w.Legs {
			moved := "0"
			if l.Moved != nil {
				moved = l.Moved.String()
			}
			if _, err := t.exec(ctx, `UPDATE sweep_legs SET moved = ?, active = 0 WHERE sweep_id = ? AND address = ?`, moved, w.ID, l.Address); err != nil {
				return fmt.Errorf("save sweep leg: %w", err)
			}
		}
	}
	for _, send := range fx.Sends {
		if _, err := t.exec(ctx, `INSERT INTO treasury_sends (id, project_id, mode, chain_id, currency, amount, to_address, outgoing_id, status)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status`,
			send.ID, send.ProjectID, string(send.Mode), send.ChainID, send.Currency, send.Amount.String(), send.To, send.OutgoingID, string(send.Status)); err != nil {
			return fmt.Errorf("treasury send: %w", err)
		}
	}
	if err := postLedger(ctx, t, fx.Postings); err != nil {
		return err
	}
	if err := applyWithdrawals(ctx, t, fx.Withdrawals); err != nil {
		return err
	}
	for _, e := range fx.Events {
		if err := writeEvent(ctx, t, e); err != nil {
			return err
		}
		t.events = true
	}
	return nil
}

const sweepColumns = `id, project_id, mode, chain_id, currency, token, to_address, method, status, outgoing_id, tx_hash, gas_used, fee, failure,
	created_at, updated_at, completed_at`

// FindSweep returns a sweep of the project and mode with its legs.
func (s *Store) FindSweep(ctx context.Context, projectID string, mode gateway.Mode, id string) (*gateway.Sweep, error) {
	out, err := s.listSweeps(ctx, `WHERE project_id = ? AND mode = ? AND id = ?`, projectID, string(mode), id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, gateway.ErrNotFound
	}
	return out[0], nil
}

// ListSweeps returns the project's sweeps, newest first, with their legs.
func (s *Store) ListSweeps(ctx context.Context, projectID string, mode gateway.Mode, limit int) ([]*gateway.Sweep, error) {
	return s.listSweeps(ctx, fmt.Sprintf(`WHERE project_id = ? AND mode = ? ORDER BY created_at DESC, id DESC LIMIT %d`, limit), projectID, string(mode))
}

// SweepsOf returns the sweeps whose transaction is outgoingID, or that wait for the sweeper it
// deploys.
func (s *Store) SweepsOf(ctx context.Context, outgoingID string) ([]*gateway.Sweep, error) {
	return s.listSweeps(ctx, `WHERE outgoing_id = ? OR (deploy_id = ? AND status = 'deploying') ORDER BY created_at, id`, outgoingID, outgoingID)
}

func (s *Store) listSweeps(ctx context.Context, where string, args ...any) ([]*gateway.Sweep, error) {
	rows, err := s.query(ctx, `SELECT `+sweepColumns+` FROM sweeps `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list sweeps: %w", err)
	}
	defer rows.Close()
	out := []*gateway.Sweep{}
	byID := map[string]*gateway.Sweep{}
	for rows.Next() {
		var w gateway.Sweep
		var mode, status, fee string
		var gas, created, updated int64
		var completed sql.NullInt64
		if err := rows.Scan(&w.ID, &w.ProjectID, &mode, &w.ChainID, &w.Currency, &w.Token, &w.To, &w.Method, &status, &w.OutgoingID, &w.TxHash, &gas, &fee,
			&w.Failure, &created, &updated, &completed); err != nil {
			return nil, fmt.Errorf("list sweeps: %w", err)
		}
		w.Mode, w.Status, w.GasUsed = gateway.Mode(mode), gateway.SweepStatus(status), uint64(gas)
		w.CreatedAt, w.UpdatedAt, w.CompletedAt = fromMS(created), fromMS(updated), nullMS(completed)
		if fee != "" {
			w.Fee, _ = new(big.Int).SetString(fee, 10)
		}
		out = append(out, &w)
		byID[w.ID] = &w
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sweeps: %w", err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]any, 0, len(out))
	for _, w := range out {
		ids = append(ids, w.ID)
	}
	legs, err := s.query(ctx, `SELECT sweep_id, address, amount, on_chain, moved, order_id, deposit_id FROM sweep_legs
		WHERE sweep_id IN (`+placeholders(len(ids))+`) ORDER BY sweep_id, address`, ids...)
	if err != nil {
		return nil, fmt.Errorf("sweep legs: %w", err)
	}
	defer legs.Close()
	for legs.Next() {
		var id, amount, onChain string
		var moved sql.NullString
		var l gateway.SweepLeg
		if err := legs.Scan(&id, &l.Address, &amount, &onChain, &moved, &l.OrderID, &l.DepositID); err != nil {
			return nil, fmt.Errorf("sweep legs: %w", err)
		}
		var ok1, ok2 bool
		l.Amount, ok1 = new(big.Int).SetString(amount, 10)
		l.OnChain, ok2 = new(big.Int).SetString(onChain, 10)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("sweep legs: %q, %q", amount, onChain)
		}
		if moved.Valid {
			if l.Moved, ok1 = new(big.Int).SetString(moved.String, 10); !ok1 {
				return nil, fmt.Errorf("sweep legs: moved %q", moved.String)
			}
		}
		if w := byID[id]; w != nil {
			w.Legs = append(w.Legs, l)
		}
	}
	return out, legs.Err()
}
