package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

var _ gateway.ChainStore = (*Store)(nil)

// keepBlocks is how far back applied blocks are remembered to find a reorg's fork point.
const keepBlocks = 4096

// Cursor returns the last applied block of a chain.
func (s *Store) Cursor(ctx context.Context, chainID string) (gateway.BlockRef, bool, error) {
	var b gateway.BlockRef
	var n int64
	err := s.queryRow(ctx, `SELECT block_number, block_hash FROM chain_cursors WHERE chain_id = ?`, chainID).Scan(&n, &b.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return b, false, nil
	} else if err != nil {
		return b, false, fmt.Errorf("read cursor: %w", err)
	}
	b.Number = uint64(n)
	return b, true, nil
}

// RecentBlocks returns the remembered applied blocks, newest first.
func (s *Store) RecentBlocks(ctx context.Context, chainID string) ([]gateway.BlockRef, error) {
	rows, err := s.query(ctx, `SELECT block_number, block_hash FROM chain_blocks WHERE chain_id = ? ORDER BY block_number DESC LIMIT 256`, chainID)
	if err != nil {
		return nil, fmt.Errorf("recent blocks: %w", err)
	}
	defer rows.Close()
	var out []gateway.BlockRef
	for rows.Next() {
		var b gateway.BlockRef
		var n int64
		if err := rows.Scan(&n, &b.Hash); err != nil {
			return nil, err
		}
		b.Number = uint64(n)
		out = append(out, b)
	}
	return out, rows.Err()
}

// WatchedAddresses returns the addresses of the protocol assigned since the time: to orders whose
// deadline (expiresAt + grace) is not before activeAfter, and to deposit bindings (for good).
func (s *Store) WatchedAddresses(ctx context.Context, p chain.Protocol, since, activeAfter time.Time) ([]gateway.Watch, error) {
	rows, err := s.query(ctx, `SELECT a.address, a.project_id, a.mode, a.order_id, '', a.assigned_at, o.chain_id, o.currency, o.expires_at + o.grace_minutes * 60000
		FROM addresses a JOIN orders o ON o.id = a.order_id
		WHERE a.protocol = ? AND a.assigned_at >= ? AND a.order_id IS NOT NULL AND o.expires_at + o.grace_minutes * 60000 >= ?
		UNION ALL
		SELECT a.address, a.project_id, a.mode, '', a.deposit_id, a.assigned_at, '', '', 0
		FROM addresses a WHERE a.protocol = ? AND a.assigned_at >= ? AND a.deposit_id IS NOT NULL`,
		string(p), ms(since), ms(activeAfter), string(p), ms(since))
	if err != nil {
		return nil, fmt.Errorf("watched addresses: %w", err)
	}
	defer rows.Close()
	var out []gateway.Watch
	for rows.Next() {
		w := gateway.Watch{Protocol: p}
		var mode string
		var assigned, deadline int64
		if err := rows.Scan(&w.Address, &w.ProjectID, &mode, &w.OrderID, &w.DepositID, &assigned, &w.ChainID, &w.Currency, &deadline); err != nil {
			return nil, err
		}
		w.Mode, w.CreatedAt, w.Deadline = gateway.Mode(mode), fromMS(assigned), fromMS(deadline)
		if w.DepositID != "" {
			w.Deadline = time.Time{} // watched for good
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

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

// AcquireLease takes the named lease if it is free or expired, or renews it for its holder.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	held := false
	err := s.inTx(ctx, func(t *tx) error {
		var got string
		err := t.queryRow(ctx, `INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
			WHERE leases.holder = excluded.holder OR leases.until < ?
			RETURNING holder`, name, holder, ms(now.Add(ttl)), ms(now)).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			held = false
			return nil
		}
		held = err == nil && got == holder
		return err
	})
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	return held, nil
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
				d := touched[tr.OrderID] // depositsKey for a deposit
				if d == nil {
					d = &delta{}
					touched[tr.OrderID] = d
				}
				if tr.DepositID != "" {
					d.confirmedDeposits = append(d.confirmedDeposits, tr)
				} else {
					d.confirmed = append(d.confirmed, tr)
				}
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
				d := touched[tr.OrderID]
				if d == nil {
					d = &delta{}
					touched[tr.OrderID] = d
				}
				d.wrong = append(d.wrong, tr)
				continue
			}
			if tr == nil || !tr.Credited() || tr.OrderID == "" && tr.DepositID == "" {
				continue
			}
			key := tr.OrderID // depositsKey for a deposit
			d := touched[key]
			if d == nil {
				d = &delta{}
				touched[key] = d
			}
			d.added = append(d.added, tr)
			if tr.Confirmed { // stored confirmed already: counted as confirmed now
				if tr.DepositID != "" {
					d.confirmedDeposits = append(d.confirmedDeposits, tr)
				} else {
					d.confirmed = append(d.confirmed, tr)
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("insert transfers: %w", err)
		}
	}
	return touched, nil
}

func setCursor(ctx context.Context, t *tx, chainID string, number uint64, hash string, now time.Time) error {
	if _, err := t.exec(ctx, `INSERT INTO chain_cursors (chain_id, block_number, block_hash, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (chain_id) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash, updated_at = excluded.updated_at`,
		chainID, int64(number), hash, ms(now)); err != nil {
		return fmt.Errorf("move cursor: %w", err)
	}
	if _, err := t.exec(ctx, `INSERT INTO chain_blocks (chain_id, block_number, block_hash) VALUES (?, ?, ?)
		ON CONFLICT (chain_id, block_number) DO UPDATE SET block_hash = excluded.block_hash`, chainID, int64(number), hash); err != nil {
		return fmt.Errorf("remember block: %w", err)
	}
	if _, err := t.exec(ctx, `DELETE FROM chain_blocks WHERE chain_id = ? AND block_number < ?`, chainID, int64(number)-keepBlocks); err != nil {
		return fmt.Errorf("forget old blocks: %w", err)
	}
	return nil
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

// settleChunk bounds the order ids of one IN list.
const settleChunk = 500

// settle settles the touched orders, stores those that changed and writes their events. An order
// with a delta and stored totals is settled from the totals plus the delta; the others (after a
// reorg, or paid before totals were kept) from all their transfers, read with one query per chunk.
func (s *Store) settle(ctx context.Context, t *tx, touched map[string]*delta, now time.Time, reorged bool) error {
	ids := make([]string, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	for len(ids) > 0 {
		chunk := ids[:min(settleChunk, len(ids))]
		ids = ids[len(chunk):]
		if err := s.settleChunk(ctx, t, chunk, touched, now, reorged); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) settleChunk(ctx context.Context, t *tx, ids []string, touched map[string]*delta, now time.Time, reorged bool) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := t.QueryContext(ctx, s.q(`SELECT `+orderColumns+` FROM orders WHERE id IN (`+placeholders(len(ids))+`)`), args...)
	if err != nil {
		return fmt.Errorf("settle: read orders: %w", err)
	}
	var orders []*gateway.Order
	var resum []any // orders summed from their transfers
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("settle: %w", err)
		}
		orders = append(orders, o)
		if _, ok := o.Totals(); !ok || touched[o.ID] == nil {
			resum = append(resum, o.ID)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	byOrder := map[string][]*gateway.Transfer{}
	if len(resum) > 0 {
		all, err := s.scanTransfers(t.QueryContext(ctx, s.q(`SELECT `+transferColumns+` FROM transfers WHERE order_id IN (`+placeholders(len(resum))+`)`), resum...))
		if err != nil {
			return fmt.Errorf("settle: read transfers: %w", err)
		}
		for _, tr := range all {
			byOrder[tr.OrderID] = append(byOrder[tr.OrderID], tr)
		}
	}
	for _, o := range orders {
		before := *o
		pt, ok := o.Totals()
		d := touched[o.ID]
		if ok && d != nil {
			for _, tr := range d.added {
				pt.Add(o, tr)
			}
			for _, tr := range d.wrong {
				pt.Add(o, tr)
			}
			pt.Confirm(o, d.confirmed...)
		} else {
			pt = gateway.TotalsOf(o, byOrder[o.ID])
		}
		events := gateway.Settle(o, pt, now, reorged)
		var wrong []*gateway.Transfer
		if d != nil {
			wrong = d.wrong
		}
		if err := saveSettled(ctx, t, &before, o, events, wrong, now); err != nil {
			return err
		}
	}
	return nil
}

// saveSettled stores an order that settling changed, keeps its payment link's inventory with it,
// and writes its events: one order.wrong_currency for each new transfer in another currency, then
// those of the change.
func saveSettled(ctx context.Context, t *tx, before, o *gateway.Order, events []string, wrong []*gateway.Transfer, now time.Time) error {
	if unchanged(before, o) && len(events) == 0 && len(wrong) == 0 {
		return nil
	}
	if _, err := t.exec(ctx, `UPDATE orders SET status = ?, paid_amount = ?, confirmed_amount = ?, payment_count = ?, first_block = ?,
		first_log_index = ?, overpaid = ?, paid_late = ?, multiple_payments = ?, tx_hash = ?, completed_at = ?, wrong_currency = ? WHERE id = ?`,
		string(o.Status), o.PaidAmount.String(), o.ConfirmedAmount.String(), o.PaymentCount, int64(o.FirstBlock), int64(o.FirstLogIndex),
		b2i(o.Overpaid), b2i(o.PaidLate), b2i(o.MultiplePayments), o.TxHash, nullTime(o.CompletedAt), b2i(o.WrongCurrency), o.ID); err != nil {
		return fmt.Errorf("settle %s: %w", o.ID, err)
	}
	if err := moveInventory(ctx, t, o, before.Status); err != nil {
		return err
	}
	for _, tr := range wrong {
		if err := writeEvent(ctx, t, &gateway.Event{ID: gateway.NewID("evt"), ProjectID: o.ProjectID, Mode: o.Mode,
			Type: gateway.EventOrderWrongCurrency, Data: gateway.WrongCurrencyEventData(o, tr), CreatedAt: now}); err != nil {
			return err
		}
	}
	return writeEvents(ctx, t, o, events, now)
}

// unchanged reports whether settling left every stored field of the order as it was.
func unchanged(a, b *gateway.Order) bool {
	sameTime := (a.CompletedAt == nil) == (b.CompletedAt == nil) && (a.CompletedAt == nil || a.CompletedAt.Equal(*b.CompletedAt))
	sameTotals := (a.ConfirmedAmount == nil) == (b.ConfirmedAmount == nil) &&
		(a.ConfirmedAmount == nil || a.ConfirmedAmount.Cmp(b.ConfirmedAmount) == 0) && a.PaymentCount == b.PaymentCount &&
		a.FirstBlock == b.FirstBlock && a.FirstLogIndex == b.FirstLogIndex
	return a.Status == b.Status && a.PaidAmount.Cmp(b.PaidAmount) == 0 && a.Overpaid == b.Overpaid && a.PaidLate == b.PaidLate &&
		a.WrongCurrency == b.WrongCurrency &&
		a.MultiplePayments == b.MultiplePayments && a.TxHash == b.TxHash && sameTime && sameTotals
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

// writeEvents writes the events of an order's change.
func writeEvents(ctx context.Context, t *tx, o *gateway.Order, types []string, now time.Time) error {
	for _, typ := range types {
		if err := writeEvent(ctx, t, &gateway.Event{ID: gateway.NewID("evt"), ProjectID: o.ProjectID, Mode: o.Mode,
			Type: typ, Data: gateway.OrderEventData(o), CreatedAt: now}); err != nil {
			return err
		}
	}
	return nil
}

const transferColumns = `chain_id, tx_hash, log_index, block_number, block_hash, token, currency, from_address, to_address,
	amount, order_id, deposit_id, project_id, mode, confirmed, seen_at, status, reason`

// prefixed qualifies each of a comma-separated column list with a table alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// scanTransfer reads transferColumns (and extra columns after them) into tr.
func scanTransfer(sc interface{ Scan(...any) error }, tr *gateway.Transfer, extra ...any) error {
	var logIndex, block, seen int64
	var amount, mode, status, reason string
	var order, deposit sql.NullString
	var confirmed int
	dest := append([]any{&tr.ChainID, &tr.TxHash, &logIndex, &block, &tr.BlockHash, &tr.Token, &tr.Currency, &tr.From, &tr.To,
		&amount, &order, &deposit, &tr.ProjectID, &mode, &confirmed, &seen, &status, &reason}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return err
	}
	v, err := money.ParseBase(amount)
	if err != nil {
		return err
	}
	tr.Amount, tr.Ignored, tr.WrongCurrency = v, status == "ignored" && tr.Currency != "", reason == reasonWrongCurrency
	tr.LogIndex, tr.BlockNumber, tr.OrderID, tr.DepositID, tr.Mode = uint64(logIndex), uint64(block), order.String, deposit.String, gateway.Mode(mode)
	tr.Confirmed, tr.SeenAt = confirmed != 0, fromMS(seen)
	return nil
}

func (s *Store) scanTransfers(rows *sql.Rows, err error) ([]*gateway.Transfer, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*gateway.Transfer
	for rows.Next() {
		var tr gateway.Transfer
		if err := scanTransfer(rows, &tr); err != nil {
			return nil, err
		}
		out = append(out, &tr)
	}
	return out, rows.Err()
}

// OrderTransfers returns an order's transfers in chain order.
func (s *Store) OrderTransfers(ctx context.Context, orderID string) ([]*gateway.Transfer, error) {
	out, err := s.scanTransfers(s.query(ctx, `SELECT `+transferColumns+` FROM transfers WHERE order_id = ? ORDER BY block_number, log_index`, orderID))
	if err != nil {
		return nil, fmt.Errorf("order transfers: %w", err)
	}
	return out, nil
}

// ExpireOrders settles the orders that may expire — pending, or underpaid with every payment
// confirmed — whose window and grace are over, with their events (the state machine decides:
// gateway.Settle).
func (s *Store) ExpireOrders(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.inTx(ctx, func(t *tx) error {
		n = 0
		rows, err := t.QueryContext(ctx, s.q(`SELECT `+orderColumns+` FROM orders
			WHERE status IN ('pending', 'underpaid') AND expires_at <= ? AND expires_at + grace_minutes * 60000 < ? LIMIT 1000`), ms(now), ms(now))
		if err != nil {
			return fmt.Errorf("find expired orders: %w", err)
		}
		var due []*gateway.Order
		for rows.Next() {
			o, err := scanOrder(rows)
			if err != nil {
				rows.Close()
				return err
			}
			due = append(due, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var resum []*gateway.Order
		for _, o := range due {
			if _, ok := o.Totals(); !ok {
				resum = append(resum, o)
			}
		}
		byOrder := map[string][]*gateway.Transfer{}
		for _, o := range resum { // paid before totals were kept: rare, one query each
			trs, err := s.scanTransfers(t.QueryContext(ctx, s.q(`SELECT `+transferColumns+` FROM transfers WHERE order_id = ?`), o.ID))
			if err != nil {
				return fmt.Errorf("expire: read transfers: %w", err)
			}
			byOrder[o.ID] = trs
		}
		for _, o := range due {
			before := *o
			pt, ok := o.Totals()
			if !ok {
				pt = gateway.TotalsOf(o, byOrder[o.ID])
			}
			events := gateway.Settle(o, pt, now, false)
			if err := saveSettled(ctx, t, &before, o, events, nil, now); err != nil {
				return err
			}
			if o.Status == gateway.OrderExpired {
				n++
			}
		}
		return nil
	})
	return n, err
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ms(*t)
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

// ExpireOrder expires a pending order now, with its event; an order that is not pending is
// gateway.ErrNotFound.
func (s *Store) ExpireOrder(ctx context.Context, projectID string, mode gateway.Mode, id string, now time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		o, err := scanOrder(t.queryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = ?`, id)) // by key alone: see FindOrder
		if errors.Is(err, sql.ErrNoRows) {
			return gateway.ErrNotFound
		} else if err != nil {
			return fmt.Errorf("expire order: %w", err)
		}
		if o.ProjectID != projectID || o.Mode != mode || o.Status != gateway.OrderPending {
			return gateway.ErrNotFound
		}
		res, err := t.exec(ctx, `UPDATE orders SET status = 'expired' WHERE id = ? AND status = 'pending'`, o.ID)
		if err != nil {
			return fmt.Errorf("expire order: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 { // expired or paid meanwhile (PostgreSQL re-reads the row)
			return gateway.ErrNotFound
		}
		if err := releaseInventory(ctx, t, o); err != nil {
			return err
		}
		o.Status = gateway.OrderExpired
		return writeEvents(ctx, t, o, []string{gateway.EventOrderExpired}, now)
	})
}

// moveInventory keeps a payment link's inventory with an order that settling moved: a unit it held
// is sold when it completes and released when it expires; a late payment that completes an expired
// order sells one it no longer held.
func moveInventory(ctx context.Context, t *tx, o *gateway.Order, before gateway.OrderStatus) error {
	if o.PaymentLinkID == "" || o.Status == before {
		return nil
	}
	switch {
	case o.Status == gateway.OrderCompleted:
		release := 0
		if before.Holds() {
			release = 1
		}
		if _, err := t.exec(ctx, `UPDATE payment_links SET sold = sold + 1, reserved = reserved - ? WHERE id = ?`, release, o.PaymentLinkID); err != nil {
			return fmt.Errorf("payment link inventory: %w", err)
		}
	case o.Status == gateway.OrderExpired && before.Holds():
		return releaseInventory(ctx, t, o)
	case o.Status.Holds() && !before.Holds():
		// Back from completed (a reorg) or expired (a late payment seen): the unit is held again.
		sold := 0
		if before == gateway.OrderCompleted {
			sold = 1
		}
		if _, err := t.exec(ctx, `UPDATE payment_links SET sold = sold - ?, reserved = reserved + 1 WHERE id = ?`, sold, o.PaymentLinkID); err != nil {
			return fmt.Errorf("payment link inventory: %w", err)
		}
	}
	return nil
}

// releaseInventory gives back the unit of payment-link inventory an expiring order held.
func releaseInventory(ctx context.Context, t *tx, o *gateway.Order) error {
	if o.PaymentLinkID == "" {
		return nil
	}
	if _, err := t.exec(ctx, `UPDATE payment_links SET reserved = reserved - 1 WHERE id = ? AND reserved > 0`, o.PaymentLinkID); err != nil {
		return fmt.Errorf("payment link inventory: %w", err)
	}
	return nil
}
