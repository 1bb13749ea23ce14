// Package sqlite opens stablegate's store on an embedded SQLite database (modernc.org/sqlite, pure
// Go): WAL journal, synchronous=FULL so that a commit survives power loss, foreign keys on, one
// writer connection with group commit, and a pool of read-only connections.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"runtime"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/stablegate/stablegate/internal/store"
	"github.com/stablegate/stablegate/internal/store/migrations"
)

// Dialect is SQLite's.
var Dialect = store.Dialect{Name: "sqlite", IsUniqueViolation: isUniqueViolation, PrepareStatements: true, EventSeq: "rowid",
	NextOrderNumber: "(SELECT COALESCE(MAX(number), 0) + 1 FROM orders)"}

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
		q.Add("_pragma", "cache_size(-32768)")    // 32 MiB: hot index pages stay cached
		q.Add("_pragma", "wal_autocheckpoint(0)") // the checkpointer does it, off the write path
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
	cp, err := startCheckpointer(path)
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	return store.New(w, r, Dialect, store.Options{GroupCommit: true, Closers: []io.Closer{cp}}), nil
}

// checkpointer copies committed WAL frames into the database file from its own connection, so
// that the writer's commits never pay for a checkpoint (SQLite's automatic checkpoint runs inside
// the commit that crosses the threshold).
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
}

const checkpointEvery = 200 * time.Millisecond

func startCheckpointer(path string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open sqlite checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c, nil
}

func (c *checkpointer) loop() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			// PASSIVE never blocks the writer or readers; frames a reader still needs are copied
			// on a later round.
			_, _ = c.db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// Close stops the checkpointer after a last checkpoint.
func (c *checkpointer) Close() error {
	close(c.stop)
	<-c.done
	_, _ = c.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return c.db.Close()
}

// Migrate applies pending migrations to an open database.
func Migrate(ctx context.Context, db *sql.DB) (int, error) {
	sub, err := fs.Sub(migrations.SQLite, "sqlite")
	if err != nil {
		return 0, err
	}
	return store.Migrate(ctx, db, goose.DialectSQLite3, sub)
}
