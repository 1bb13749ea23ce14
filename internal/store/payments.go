package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// The single operations of the payment story (gateway.PaymentTx): gateway/ingest.go decides what
// a scanner step, a reorg, expiry and a simulated payment do; this file only carries it out, each
// operation on a whole step's rows with multi-row statements.

// paymentTx is a write transaction seen as gateway.PaymentTx.
type paymentTx struct{ t *tx }

var _ gateway.PaymentTx = paymentTx{}

// InTx runs fn in one write transaction (with group commit, a savepoint of a shared one).
func (s *Store) InTx(ctx context.Context, fn func(gateway.PaymentTx) error) error {
	return s.inTx(ctx, func(t *tx) error { return fn(paymentTx{t}) })
}

// insertChunk bounds the rows of one multi-row insert (18 parameters each); idChunk the ids of one
// IN list.
const (
	insertChunk = 400
	idChunk     = 500
)

// reasonWrongCurrency is transfers.reason for a transfer in another token than its order's.
const reasonWrongCurrency = "wrong_currency"

// reasonUnmatched is transfers.reason for a transfer to a shared address that no order held the
// amount of.
const reasonUnmatched = "unmatched"

func (p paymentTx) InsertTransfers(ctx context.Context, transfers []*gateway.Transfer) ([]*gateway.Transfer, error) {
	var added []*gateway.Transfer
	for len(transfers) > 0 {
		chunk := transfers[:min(insertChunk, len(transfers))]
		transfers = transfers[len(chunk):]
		var q strings.Builder
		q.WriteString(`INSERT INTO transfers (chain_id, tx_hash, log_index, block_number, block_hash, token, currency,
			from_address, to_address, amount, order_id, deposit_id, project_id, mode, status, confirmed, seen_at, reason, min_confirmations) VALUES `)
		args := make([]any, 0, len(chunk)*19)
		for i, tr := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			status, reason := "ignored", ""
			if tr.Credited() {
				status = "credited"
			}
			if tr.WrongCurrency {
				reason = reasonWrongCurrency
			}
			if tr.Unmatched {
				reason = reasonUnmatched
			}
			args = append(args, tr.ChainID, tr.TxHash, int64(tr.LogIndex), int64(tr.BlockNumber), tr.BlockHash, tr.Token, tr.Currency,
				tr.From, tr.To, tr.Amount.String(), nullIfEmpty(tr.OrderID), nullIfEmpty(tr.DepositID), tr.ProjectID, string(tr.Mode), status,
				b2i(tr.Confirmed), ms(tr.SeenAt), reason, tr.MinConfirmations)
		}
		q.WriteString(` ON CONFLICT (chain_id, tx_hash, log_index) DO NOTHING RETURNING tx_hash, log_index`)
		rows, err := p.t.queryChunk(ctx, q.String(), len(chunk) == insertChunk, args...)
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
			if tr := byKey[tx+"/"+strconv.FormatInt(logIndex, 10)]; tr != nil {
				added = append(added, tr)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("insert transfers: %w", err)
		}
	}
	return added, nil
}

// queryChunk runs a multi-row statement: a full chunk's text is always the same, so it is kept
// prepared; a shorter last one is not.
func (t *tx) queryChunk(ctx context.Context, query string, full bool, args ...any) (*sql.Rows, error) {
	if full {
		return t.query(ctx, query, args...)
	}
	return t.QueryContext(ctx, t.s.q(query), args...)
}

func (p paymentTx) ConfirmTransfers(ctx context.Context, chainID string, upTo, head uint64) ([]*gateway.Transfer, error) {
	trs, err := p.t.s.scanTransfers(p.t.query(ctx, `UPDATE transfers SET confirmed = 1
		WHERE chain_id = ? AND confirmed = 0 AND block_number <= ? AND block_number + min_confirmations <= ? RETURNING `+transferColumns,
		chainID, int64(upTo), int64(head)+1))
	if err != nil {
		return nil, fmt.Errorf("confirm transfers: %w", err)
	}
	return trs, nil
}

func (p paymentTx) RemoveTransfersAbove(ctx context.Context, chainID string, block uint64) ([]*gateway.Transfer, error) {
	trs, err := p.t.s.scanTransfers(p.t.query(ctx, `DELETE FROM transfers WHERE chain_id = ? AND block_number > ? RETURNING `+transferColumns,
		chainID, int64(block)))
	if err != nil {
		return nil, fmt.Errorf("remove reorged transfers: %w", err)
	}
	if _, err := p.t.exec(ctx, `DELETE FROM chain_blocks WHERE chain_id = ? AND block_number > ?`, chainID, int64(block)); err != nil {
		return nil, fmt.Errorf("forget reorged blocks: %w", err)
	}
	return trs, nil
}

func (p paymentTx) LockOrders(ctx context.Context, ids []string) ([]*gateway.Order, error) {
	orders, err := byIDs(ctx, p.t, ids, func(in string) string {
		return `SELECT ` + orderColumns + ` FROM orders WHERE id IN (` + in + `) ORDER BY id ` + p.t.s.d.ForUpdate
	}, p.t.scanOrders)
	if err != nil {
		return nil, fmt.Errorf("lock orders: %w", err)
	}
	return orders, nil
}

// byIDs runs a query over ids in IN lists of at most idChunk (the query gets the list's
// placeholders) and gathers what read makes of each answer.
func byIDs[T any](ctx context.Context, t *tx, ids []string, query func(in string) string, read func(*sql.Rows, error) ([]T, error)) ([]T, error) {
	var out []T
	for len(ids) > 0 {
		chunk := ids[:min(idChunk, len(ids))]
		ids = ids[len(chunk):]
		got, err := read(t.queryChunk(ctx, query(placeholders(len(chunk))), len(chunk) == idChunk, anys(chunk)...))
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

func (p paymentTx) ExpiringOrders(ctx context.Context, now time.Time, limit int) ([]*gateway.Order, error) {
	orders, err := p.t.scanOrders(p.t.query(ctx, `SELECT `+orderColumns+` FROM orders
		WHERE status IN ('pending', 'underpaid') AND expires_at <= ? AND expires_at + grace_minutes * 60000 < ?
		ORDER BY id LIMIT ? `+p.t.s.d.ForUpdate, ms(now), ms(now), limit))
	if err != nil {
		return nil, fmt.Errorf("find expired orders: %w", err)
	}
	return orders, nil
}

func (p paymentTx) TransfersOf(ctx context.Context, orderIDs []string) ([]*gateway.Transfer, error) {
	trs, err := byIDs(ctx, p.t, orderIDs, func(in string) string {
		return `SELECT ` + transferColumns + ` FROM transfers WHERE order_id IN (` + in + `)`
	}, p.t.s.scanTransfers)
	if err != nil {
		return nil, fmt.Errorf("read transfers: %w", err)
	}
	return trs, nil
}

func (p paymentTx) SaveOrder(ctx context.Context, o *gateway.Order) error {
	if _, err := p.t.exec(ctx, `UPDATE orders SET status = ?, paid_amount = ?, confirmed_amount = ?, payment_count = ?, first_block = ?,
		first_log_index = ?, overpaid = ?, paid_late = ?, multiple_payments = ?, tx_hash = ?, completed_at = ?, wrong_currency = ?,
		resolution = ?, resolution_reason = ?, resolved_by = ?, resolved_at = ? WHERE id = ?`,
		string(o.Status), o.PaidAmount.String(), o.ConfirmedAmount.String(), o.PaymentCount, int64(o.FirstBlock), int64(o.FirstLogIndex),
		b2i(o.Overpaid), b2i(o.PaidLate), b2i(o.MultiplePayments), o.TxHash, nullTime(o.CompletedAt), b2i(o.WrongCurrency),
		string(o.Resolution), o.ResolutionReason, o.ResolvedBy, nullTime(o.ResolvedAt), o.ID); err != nil {
		return fmt.Errorf("save order %s: %w", o.ID, err)
	}
	return nil
}

func (p paymentTx) MoveInventory(ctx context.Context, linkID string, sold int) error {
	if _, err := p.t.exec(ctx, `UPDATE payment_links SET sold = sold + ? WHERE id = ?`, sold, linkID); err != nil {
		return fmt.Errorf("payment link inventory: %w", err)
	}
	return nil
}

func (p paymentTx) DepositBindings(ctx context.Context, ids []string) (map[string]*gateway.DepositBinding, error) {
	bs, err := byIDs(ctx, p.t, ids, func(in string) string {
		return `SELECT id, reference, metadata FROM deposit_bindings WHERE id IN (` + in + `)`
	}, func(rows *sql.Rows, err error) ([]*gateway.DepositBinding, error) {
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []*gateway.DepositBinding
		for rows.Next() {
			var b gateway.DepositBinding
			var meta sql.NullString
			if err := rows.Scan(&b.ID, &b.Reference, &meta); err != nil {
				return nil, err
			}
			if meta.Valid && meta.String != "" {
				b.Metadata = json.RawMessage(meta.String)
			}
			out = append(out, &b)
		}
		return out, rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("deposit bindings: %w", err)
	}
	byID := make(map[string]*gateway.DepositBinding, len(bs))
	for _, b := range bs {
		byID[b.ID] = b
	}
	return byID, nil
}

func (p paymentTx) AddEvents(ctx context.Context, es []*gateway.Event) error {
	for _, e := range es {
		if err := writeEvent(ctx, p.t, e); err != nil {
			return err
		}
	}
	return nil
}

func (p paymentTx) MoveCursor(ctx context.Context, chainID string, to gateway.BlockRef, remember []gateway.BlockRef, now time.Time) error {
	for _, blk := range remember {
		if _, err := p.t.exec(ctx, `INSERT INTO chain_blocks (chain_id, block_number, block_hash) VALUES (?, ?, ?)
			ON CONFLICT (chain_id, block_number) DO UPDATE SET block_hash = excluded.block_hash`, chainID, int64(blk.Number), blk.Hash); err != nil {
			return fmt.Errorf("remember block: %w", err)
		}
	}
	return setCursor(ctx, p.t, chainID, to.Number, to.Hash, now)
}

// scanOrders reads the orders a query returns.
func (t *tx) scanOrders(rows *sql.Rows, err error) ([]*gateway.Order, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*gateway.Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
