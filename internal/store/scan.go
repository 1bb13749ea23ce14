package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// delta is what one scanner step adds to an order's totals: new credited transfers and
// confirmations.
type delta struct {
	added     []*gateway.Transfer
	confirmed []*gateway.Transfer
	// wrong are new transfers of another registry token than the order's, on its chain.
	wrong []*gateway.Transfer
	// confirmedDeposits are the deposits the step confirmed (under depositsKey).
	confirmedDeposits []*gateway.Transfer
}

// ApplyScan applies one scanner step in one transaction.
func (s *Store) ApplyScan(ctx context.Context, b *gateway.ScanBatch) error {
	if b.Required < 1 {
		b.Required = 1
	}
	confirmedUpTo := int64(b.Head) - int64(b.Required) + 1
	if b.Final != nil {
		confirmedUpTo = min(confirmedUpTo, int64(*b.Final))
	}
	// A transfer already deep enough (catching up) is stored confirmed: no second write.
	for _, tr := range b.Transfers {
		tr.Confirmed = int64(tr.BlockNumber) <= confirmedUpTo
	}
	return s.inTx(ctx, func(t *tx) error {
		touched, err := s.insertTransfers(ctx, t, b.Transfers)
		if err != nil {
			return err
		}
		var confirmedNow []*gateway.Transfer
		for _, d := range touched {
			for _, tr := range d.added {
				if tr.Confirmed {
					confirmedNow = append(confirmedNow, tr)
				}
			}
		}
		if confirmedUpTo >= 0 {
			rows, err := t.query(ctx, `UPDATE transfers SET confirmed = 1
				WHERE chain_id = ? AND confirmed = 0 AND block_number <= ? RETURNING `+transferColumns, b.ChainID, confirmedUpTo)
			if err != nil {
				return fmt.Errorf("confirm transfers: %w", err)
			}
			for rows.Next() {
				tr := &gateway.Transfer{}
				if err := scanTransfer(rows, tr); err != nil {
					rows.Close()
					return err
				}
				if !tr.Credited() || tr.OrderID == "" && tr.DepositID == "" {
					continue
				}
				confirmedNow = append(confirmedNow, tr)
				d := deltaOf(touched, tr.OrderID) // depositsKey for a deposit
				d.confirm(tr)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		if err := s.flush(ctx, t, postScan(touched, confirmedNow, b.Now)); err != nil {
			return err
		}
		if err := writeDepositEvents(ctx, t, touched[depositsKey], b.Now); err != nil {
			return err
		}
		delete(touched, depositsKey)
		if err := s.settle(ctx, t, touched, b.Now, false); err != nil {
			return err
		}
		if b.From > b.To {
			return nil
		}
		for _, blk := range b.Blocks {
			if _, err := t.exec(ctx, `INSERT INTO chain_blocks (chain_id, block_number, block_hash) VALUES (?, ?, ?)
				ON CONFLICT (chain_id, block_number) DO UPDATE SET block_hash = excluded.block_hash`, b.ChainID, int64(blk.Number), blk.Hash); err != nil {
				return fmt.Errorf("remember block: %w", err)
			}
		}
		return setCursor(ctx, t, b.ChainID, b.To, b.ToHash, b.Now)
	})
}

// deltaOf returns the step's delta of an order (depositsKey: of the deposits), made on first use.
func deltaOf(touched map[string]*delta, key string) *delta {
	d := touched[key]
	if d == nil {
		d = &delta{}
		touched[key] = d
	}
	return d
}

// confirm counts a transfer the step confirmed: a deposit's, or an order's payment.
func (d *delta) confirm(tr *gateway.Transfer) {
	if tr.DepositID != "" {
		d.confirmedDeposits = append(d.confirmedDeposits, tr)
	} else {
		d.confirmed = append(d.confirmed, tr)
	}
}

// insertChunk bounds the rows of one multi-row insert (18 parameters each).
const insertChunk = 400

// reasonWrongCurrency is transfers.reason for a transfer in another token than its order's.
const reasonWrongCurrency = "wrong_currency"

// depositsKey is where insertTransfers and the confirmation step put transfers to deposit
// addresses in the map of touched orders (no order id is empty).
const depositsKey = ""

// insertTransfers stores transfers not stored yet (the on-chain key decides) and returns, per order,
// the credited transfers that are new.
func (s *Store) insertTransfers(ctx context.Context, t *tx, transfers []*gateway.Transfer) (map[string]*delta, error) {
	touched := map[string]*delta{}
	for len(transfers) > 0 {
		chunk := transfers[:min(insertChunk, len(transfers))]
		transfers = transfers[len(chunk):]
		var q strings.Builder
		q.WriteString(`INSERT INTO transfers (chain_id, tx_hash, log_index, block_number, block_hash, token, currency,
			from_address, to_address, amount, order_id, deposit_id, project_id, mode, status, confirmed, seen_at, reason) VALUES `)
		args := make([]any, 0, len(chunk)*18)
		for i, tr := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			status, reason := "ignored", ""
			if tr.Credited() {
				status = "credited"
			}
			if tr.WrongCurrency {
				reason = reasonWrongCurrency
			}
			args = append(args, tr.ChainID, tr.TxHash, int64(tr.LogIndex), int64(tr.BlockNumber), tr.BlockHash, tr.Token, tr.Currency,
				tr.From, tr.To, tr.Amount.String(), nullIfEmpty(tr.OrderID), nullIfEmpty(tr.DepositID), tr.ProjectID, string(tr.Mode), status,
				b2i(tr.Confirmed), ms(tr.SeenAt), reason)
		}
		q.WriteString(` ON CONFLICT (chain_id, tx_hash, log_index) DO NOTHING RETURNING tx_hash, log_index`)
		// A full chunk's text is always the same, so it is kept prepared; a shorter last one is not.
		var rows *sql.Rows
		var err error
		if len(chunk) == insertChunk {
			rows, err = t.query(ctx, q.String(), args...)
		} else {
			rows, err = t.QueryContext(ctx, s.q(q.String()), args...)
		}
		if err != nil {
			return nil, fmt.Errorf("insert transfers: %w", err)
		}
		byKey := make(map[string]*gateway.Transfer, len(chunk))
		for _, tr := range chunk {
			byKey[tr.TxHash+"/"+strconv.FormatUint(tr.LogIndex, 10)] = tr
		}
		for rows.Next() {
			var tx string
			var logIndex int64
			if err := rows.Scan(&tx, &logIndex); err != nil {
				rows.Close()
				return nil, err
			}
			tr := byKey[tx+"/"+strconv.FormatInt(logIndex, 10)]
			if tr != nil && tr.WrongCurrency && tr.OrderID != "" {
				d := deltaOf(touched, tr.OrderID)
				d.wrong = append(d.wrong, tr)
				continue
			}
			if tr == nil || !tr.Credited() || tr.OrderID == "" && tr.DepositID == "" {
				continue
			}
			key := tr.OrderID // depositsKey for a deposit
			d := deltaOf(touched, key)
			d.added = append(d.added, tr)
			if tr.Confirmed { // stored confirmed already: counted as confirmed now
				d.confirm(tr)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("insert transfers: %w", err)
		}
	}
	return touched, nil
}

// Rewind removes everything applied above the block and settles the orders it touched again.
func (s *Store) Rewind(ctx context.Context, chainID string, to gateway.BlockRef, now time.Time) (int, error) {
	removed := 0
	err := s.inTx(ctx, func(t *tx) error {
		removed = 0
		rows, err := t.QueryContext(ctx, s.q(`DELETE FROM transfers WHERE chain_id = ? AND block_number > ? RETURNING `+transferColumns), chainID, int64(to.Number))
		if err != nil {
			return fmt.Errorf("remove reorged transfers: %w", err)
		}
		touched := map[string]*delta{} // no deltas: the orders are summed again from what remains
		var reversed []*gateway.Transfer
		for rows.Next() {
			tr := &gateway.Transfer{}
			if err := scanTransfer(rows, tr); err != nil {
				rows.Close()
				return err
			}
			removed++
			if tr.OrderID != "" {
				touched[tr.OrderID] = nil
			}
			if tr.Credited() && (tr.OrderID != "" || tr.DepositID != "") {
				reversed = append(reversed, tr)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// The ledger keeps its history: what the orphaned blocks credited is posted back.
		var l ledger
		for _, tr := range reversed {
			from := gateway.AccountPending
			if tr.Confirmed {
				from = gateway.AccountAvailable
			}
			l.post(tr, from, gateway.AccountExternal, "reversed", now)
		}
		if err := s.flush(ctx, t, &l); err != nil {
			return err
		}
		w := depositEvents{t: t, now: now}
		for _, tr := range reversed {
			if tr.DepositID == "" {
				continue
			}
			if err := w.write(ctx, tr, gateway.EventDepositReorged); err != nil {
				return err
			}
		}
		if _, err := t.exec(ctx, `DELETE FROM chain_blocks WHERE chain_id = ? AND block_number > ?`, chainID, int64(to.Number)); err != nil {
			return fmt.Errorf("forget reorged blocks: %w", err)
		}
		if err := s.settle(ctx, t, touched, now, true); err != nil {
			return err
		}
		return setCursor(ctx, t, chainID, to.Number, to.Hash, now)
	})
	return removed, err
}

// postScan posts a scanner step: new credited transfers from external to pending, confirmed ones
// from pending to available — and one both new and confirmed (catching up) from external to
// available in a single entry.
func postScan(touched map[string]*delta, confirmed []*gateway.Transfer, now time.Time) *ledger {
	var l ledger
	type key struct {
		tx  string
		log uint64
	}
	isNew := map[key]bool{}
	for _, d := range touched {
		for _, tr := range d.added {
			isNew[key{tr.TxHash, tr.LogIndex}] = true
		}
	}
	done := map[key]bool{}
	for _, tr := range confirmed {
		k := key{tr.TxHash, tr.LogIndex}
		if isNew[k] {
			l.post(tr, gateway.AccountExternal, gateway.AccountAvailable, "confirmed", now)
			done[k] = true
		} else {
			l.post(tr, gateway.AccountPending, gateway.AccountAvailable, "confirmed", now)
		}
	}
	for _, d := range touched {
		for _, tr := range d.added {
			if !done[key{tr.TxHash, tr.LogIndex}] {
				l.post(tr, gateway.AccountExternal, gateway.AccountPending, "seen", now)
			}
		}
	}
	return &l
}

// depositEvents writes the events of deposits, reading each binding's reference once.
type depositEvents struct {
	t    *tx
	now  time.Time
	refs map[string]string // binding id → reference
}

func (w *depositEvents) write(ctx context.Context, tr *gateway.Transfer, typ string) error {
	if w.refs == nil {
		w.refs = map[string]string{}
	}
	ref, ok := w.refs[tr.DepositID]
	if !ok {
		if err := w.t.queryRow(ctx, `SELECT reference FROM deposit_bindings WHERE id = ?`, tr.DepositID).Scan(&ref); err != nil {
			return fmt.Errorf("deposit event: %w", err)
		}
		w.refs[tr.DepositID] = ref
	}
	data := gateway.DepositEventData(tr, ref)
	if typ == gateway.EventDepositReorged {
		data = gateway.DepositReorgedEventData(tr, ref)
	}
	return writeEvent(ctx, w.t, &gateway.Event{ID: gateway.NewID("evt"), ProjectID: tr.ProjectID, Mode: tr.Mode, Type: typ,
		Data: data, CreatedAt: w.now})
}

// writeDepositEvents writes deposit.pending for new deposits and deposit.confirmed for those a
// step confirmed (a deposit seen already confirmed gets both).
func writeDepositEvents(ctx context.Context, t *tx, d *delta, now time.Time) error {
	if d == nil {
		return nil
	}
	w := depositEvents{t: t, now: now}
	for _, tr := range d.added {
		pending := *tr
		pending.Confirmed = false
		if err := w.write(ctx, &pending, gateway.EventDepositPending); err != nil {
			return err
		}
	}
	for _, tr := range d.confirmedDeposits {
		if err := w.write(ctx, tr, gateway.EventDepositConfirmed); err != nil {
			return err
		}
	}
	return nil
}

// SimulatePayment stores a confirmed test-mode payment of an order and settles the order, with its
// events, in one transaction.
func (s *Store) SimulatePayment(ctx context.Context, tr *gateway.Transfer, paidBefore *big.Int, now time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		// The guard takes the order's row lock first: simulations of one order run one at a time,
		// and one computed from a state that has changed since is refused.
		res, err := t.exec(ctx, `UPDATE orders SET status = status WHERE id = ? AND paid_amount = ? AND status <> 'completed'`,
			tr.OrderID, paidBefore.String())
		if err != nil {
			return fmt.Errorf("simulate payment: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return gateway.ErrChanged
		}
		touched, err := s.insertTransfers(ctx, t, []*gateway.Transfer{tr})
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE transfers SET confirmed = 1 WHERE chain_id = ? AND tx_hash = ? AND log_index = ?`,
			tr.ChainID, tr.TxHash, int64(tr.LogIndex)); err != nil {
			return fmt.Errorf("confirm simulated payment: %w", err)
		}
		var confirmed []*gateway.Transfer
		if len(touched) > 0 { // a payment already stored is not posted twice
			confirmed = []*gateway.Transfer{tr}
		}
		if err := s.flush(ctx, t, postScan(touched, confirmed, now)); err != nil {
			return err
		}
		if d := touched[tr.OrderID]; d != nil {
			d.confirmed = append(d.confirmed, tr)
		}
		return s.settle(ctx, t, touched, now, false)
	})
}
