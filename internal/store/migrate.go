package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"path"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
)

// MigrationStep is a migration about to run (Done false) or that ran (Done true, in Took): what
// `stablegate migrate` prints, since one migration of a large database can take a while.
type MigrationStep struct {
	Version   int64
	Name      string // the file's name, or "go" for a migration written in Go
	Index, Of int    // its place among the migrations pending when it started
	Done      bool
	Took      time.Duration
}

type progressKey struct{}

// WithMigrationProgress returns a context under which Migrate tells fn of each migration before
// and after it runs.
func WithMigrationProgress(ctx context.Context, fn func(MigrationStep)) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

// Migrate applies the engine's embedded migrations that have not run yet and returns how many ran.
func Migrate(ctx context.Context, db *sql.DB, dialect goose.Dialect, fsys fs.FS, opts ...goose.ProviderOption) (int, error) {
	p, err := goose.NewProvider(dialect, db, fsys, append(opts, goose.WithGoMigrations(goMigrations()...))...)
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	progress, _ := ctx.Value(progressKey{}).(func(MigrationStep))
	if progress == nil {
		res, err := p.Up(ctx)
		if err != nil {
			return len(res), fmt.Errorf("migrate: %w", err)
		}
		return len(res), nil
	}
	statuses, err := p.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	var pending []*goose.MigrationStatus
	for _, st := range statuses {
		if st.State == goose.StatePending {
			pending = append(pending, st)
		}
	}
	ran := 0
	for i, st := range pending {
		name := "go"
		if st.Source.Path != "" {
			name = path.Base(st.Source.Path)
		}
		step := MigrationStep{Version: st.Source.Version, Name: name, Index: i + 1, Of: len(pending)}
		progress(step)
		res, err := p.UpByOne(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			break // another replica applied the rest
		}
		if err != nil {
			return ran, fmt.Errorf("migrate: %w", err)
		}
		ran++
		step.Done, step.Took = true, res.Duration
		if res.Source != nil && res.Source.Version != step.Version { // another replica ran this one meanwhile
			step.Version, step.Name = res.Source.Version, path.Base(res.Source.Path)
		}
		progress(step)
	}
	return ran, nil
}

// goMigrations are the migrations written in Go, for both engines.
func goMigrations() []*goose.Migration {
	return []*goose.Migration{
		goose.NewGoMigration(19, &goose.GoFunc{RunTx: userBalancesFromLedger}, &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM user_balances`)
			return err
		}}),
	}
}

// userBalancesFromLedger starts each deposit reference's user balances from the ledger entries
// that name it (migration 18 named them): what moved into available less what moved out.
func userBalancesFromLedger(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT user_id, chain_id, currency, project_id, mode, from_account, amount FROM ledger_entries WHERE user_id <> ''`)
	if err != nil {
		return fmt.Errorf("user balances: %w", err)
	}
	type key struct{ deposit, chain, currency, project, mode string }
	sums := map[key]*big.Int{}
	var order []key
	for rows.Next() {
		var k key
		var from, amount string
		if err := rows.Scan(&k.deposit, &k.chain, &k.currency, &k.project, &k.mode, &from, &amount); err != nil {
			rows.Close()
			return fmt.Errorf("user balances: %w", err)
		}
		v, ok := new(big.Int).SetString(amount, 10)
		if !ok {
			rows.Close()
			return fmt.Errorf("user balances: amount %q", amount)
		}
		if from == "available" {
			v.Neg(v)
		}
		if sums[k] == nil {
			sums[k] = new(big.Int)
			order = append(order, k)
		}
		sums[k].Add(sums[k], v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("user balances: %w", err)
	}
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	for _, k := range order {
		v := sums[k]
		if v.Sign() < 0 {
			v.SetInt64(0)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_balances (deposit_id, chain_id, currency, project_id, mode, balance) VALUES (`+
			strings.Join([]string{quote(k.deposit), quote(k.chain), quote(k.currency), quote(k.project), quote(k.mode), quote(v.String())}, ", ")+`)`); err != nil {
			return fmt.Errorf("user balances: %w", err)
		}
	}
	return nil
}
