package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/stablegate/stablegate/internal/gateway"
)

// sealedColumn is a column that holds values sealed with the master key: its table, the columns
// of the table's primary key, and how a row's key names the value's owner.
type sealedColumn struct {
	kind   gateway.SealedKind
	table  string
	keys   []string
	column string
	text   bool // a text column (base64 inside), not bytes
	owner  func(v *gateway.SealedValue, key []string)
}

var sealedColumns = []sealedColumn{
	{gateway.SealedSeed, "projects", []string{"id"}, "sealed_seed", false,
		func(v *gateway.SealedValue, k []string) { v.ProjectID = k[0] }},
	{gateway.SealedAPISecret, "api_keys", []string{"id"}, "secret_hash", false,
		func(v *gateway.SealedValue, k []string) { v.ID = k[0] }},
	{gateway.SealedWebhookSecret, "webhook_endpoints", []string{"project_id", "mode"}, "secret", false,
		func(v *gateway.SealedValue, k []string) { v.ProjectID, v.Mode = k[0], gateway.Mode(k[1]) }},
	{gateway.SealedWebhookSecret, "webhook_endpoints", []string{"project_id", "mode"}, "previous_secret", false,
		func(v *gateway.SealedValue, k []string) { v.ProjectID, v.Mode = k[0], gateway.Mode(k[1]) }},
	{gateway.SealedTOTP, "dashboard_users", []string{"id"}, "totp_secret", false,
		func(v *gateway.SealedValue, k []string) { v.ID = k[0] }},
	{gateway.SealedTOTP, "dashboard_users", []string{"id"}, "totp_pending", false,
		func(v *gateway.SealedValue, k []string) { v.ID = k[0] }},
	{gateway.SealedAnswer, "idempotency_keys", []string{"project_id", "mode", "idem_key"}, "body", true,
		func(v *gateway.SealedValue, k []string) { v.ProjectID, v.Mode, v.ID = k[0], gateway.Mode(k[1]), k[2] }},
}

// resealPage is how many rows ResealStored reads at a time, so that a large table (stored answers)
// is not held in memory at once.
const resealPage = 500

// errNothingResealed rolls back a reseal that changed nothing, so that its audit line is not written.
var errNothingResealed = errors.New("nothing resealed")

// ResealStored passes every stored sealed value of the kinds to reseal, a page of rows at a time,
// and writes back what it returns in the same transaction. A write is conditional on the value
// being what was read: one that a server changed meanwhile (a webhook secret rotated, a key
// revoked and replaced) keeps its new value, which that server sealed.
func (s *Store) ResealStored(ctx context.Context, kinds []gateway.SealedKind, reseal func(*gateway.SealedValue) ([]byte, bool, error)) (int, error) {
	n := 0
	err := s.inTx(ctx, func(t *tx) error {
		n = 0
		for _, c := range sealedColumns {
			if !slices.Contains(kinds, c.kind) {
				continue
			}
			changed, err := t.resealColumn(ctx, c, reseal)
			if err != nil {
				return err
			}
			n += changed
		}
		if n == 0 {
			return errNothingResealed
		}
		return nil
	})
	if errors.Is(err, errNothingResealed) {
		return 0, nil
	}
	return n, err
}

func (t *tx) resealColumn(ctx context.Context, c sealedColumn, reseal func(*gateway.SealedValue) ([]byte, bool, error)) (int, error) {
	keys := strings.Join(c.keys, ", ")
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(c.keys)), ", ")
	match := strings.Join(c.keys, " = ? AND ") + " = ?"
	type update struct {
		key         []string
		old, sealed []byte
	}
	n := 0
	var after []string // the key of the last row read
	for {
		q := fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s IS NOT NULL`, keys, c.column, c.table, c.column)
		var args []any
		if after != nil {
			q += fmt.Sprintf(` AND (%s) > (%s)`, keys, marks)
			for _, k := range after {
				args = append(args, k)
			}
		}
		q += fmt.Sprintf(` ORDER BY %s LIMIT %d`, keys, resealPage)
		rows, err := t.query(ctx, q, args...)
		if err != nil {
			return 0, fmt.Errorf("read %s.%s: %w", c.table, c.column, err)
		}
		var updates []update
		read := 0
		for rows.Next() {
			key := make([]string, len(c.keys))
			dest := make([]any, 0, len(key)+1)
			for i := range key {
				dest = append(dest, &key[i])
			}
			var stored []byte
			if err := rows.Scan(append(dest, &stored)...); err != nil {
				rows.Close()
				return 0, fmt.Errorf("read %s.%s: %w", c.table, c.column, err)
			}
			read, after = read+1, key
			v := &gateway.SealedValue{Kind: c.kind, Stored: stored}
			c.owner(v, key)
			sealed, changed, err := reseal(v)
			if err != nil {
				rows.Close()
				return 0, err
			}
			if changed {
				updates = append(updates, update{key, stored, sealed})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("read %s.%s: %w", c.table, c.column, err)
		}
		for _, u := range updates {
			var sealed, old any = u.sealed, u.old
			if c.text {
				sealed, old = string(u.sealed), string(u.old)
			}
			args := []any{sealed}
			for _, k := range u.key {
				args = append(args, k)
			}
			res, err := t.exec(ctx, fmt.Sprintf(`UPDATE %s SET %s = ? WHERE %s AND %s = ?`, c.table, c.column, match, c.column),
				append(args, old)...)
			if err != nil {
				return 0, fmt.Errorf("write %s.%s: %w", c.table, c.column, err)
			}
			if changed, _ := res.RowsAffected(); changed > 0 {
				n++
			}
		}
		if read < resealPage {
			return n, nil
		}
	}
}
