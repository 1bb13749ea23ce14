package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

const transferColumns = `chain_id, tx_hash, log_index, block_number, block_hash, token, currency, from_address, to_address,
	amount, order_id, deposit_id, project_id, mode, confirmed, seen_at, status, reason, min_confirmations`

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
		&amount, &order, &deposit, &tr.ProjectID, &mode, &confirmed, &seen, &status, &reason, &tr.MinConfirmations}, extra...)
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

// FindTransfer returns the transfer stored under its on-chain key, or gateway.ErrNotFound.
func (s *Store) FindTransfer(ctx context.Context, chainID, txHash string, logIndex uint64) (*gateway.Transfer, error) {
	out, err := s.scanTransfers(s.query(ctx, `SELECT `+transferColumns+` FROM transfers WHERE chain_id = ? AND tx_hash = ? AND log_index = ?`,
		chainID, txHash, int64(logIndex)))
	if err != nil {
		return nil, fmt.Errorf("find transfer: %w", err)
	}
	if len(out) == 0 {
		return nil, gateway.ErrNotFound
	}
	return out[0], nil
}
