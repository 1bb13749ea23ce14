// Package sqlite opens stablegate's store on an embedded SQLite database (modernc.org/sqlite, pure
// Go): WAL journal, synchronous=FULL so that a commit survives power loss, foreign keys on, one
// writer connection with group commit, and a pool of read-only connections.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/stablegate/stablegate/internal/store"
	"github.com/stablegate/stablegate/internal/store/migrations"
)

// Dialect is SQLite's.
var Dialect = store.Dialect{Name: "sqlite", IsUniqueViolation: isUniqueViolation}

func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "busy_timeout(10000)"} {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
		q.Add("_pragma", "cache_size(-16384)") // 16 MiB per reader
	} else {
		q.Add("_pragma", "cache_size(-131072)") // 128 MiB: the writer's index pages stay cached
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database file at path, applies pending migrations and
// returns the store.
func Open(ctx context.Context, path string) (*store.Store, error) {
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	w.SetMaxIdleConns(1)
	if _, err := Migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	n := 2 * runtime.GOMAXPROCS(0)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return store.New(w, r, Dialect, store.Options{GroupCommit: true}), nil
}

// Migrate applies pending migrations to an open database.
func Migrate(ctx context.Context, db *sql.DB) (int, error) {
	sub, err := fs.Sub(migrations.SQLite, "sqlite")
	if err != nil {
		return 0, err
	}
	return store.Migrate(ctx, db, goose.DialectSQLite3, sub)
}
