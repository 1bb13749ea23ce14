// Package store implements gateway.Store over database/sql. One implementation serves SQLite and
// PostgreSQL: the engine packages (store/sqlite, store/postgres) open the database, run their
// migrations and hand over a Dialect for the few places where the engines differ.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// Dialect is what differs between engines.
type Dialect struct {
	Name string
	// Numbered placeholders: "?" in queries becomes "$1", "$2", … (PostgreSQL).
	Numbered bool
	// IsUniqueViolation reports whether err is a unique-constraint violation.
	IsUniqueViolation func(error) bool
	// SkipLocked is appended to a row-claiming subquery ("FOR UPDATE SKIP LOCKED" on PostgreSQL,
	// empty on SQLite where the single writer serializes claims).
	SkipLocked string
	// ForUpdate locks the rows a read in a write transaction returns ("FOR UPDATE" on PostgreSQL;
	// empty on SQLite, whose single writer already excludes others).
	ForUpdate string
	// ForShare locks the rows a read returns against change but not against other readers that
	// share them ("FOR SHARE" on PostgreSQL; empty on SQLite).
	ForShare string
	// ModifyingCTE: a WITH clause may hold an INSERT, so that two inserts are one statement
	// (PostgreSQL; SQLite has no data-modifying CTEs).
	ModifyingCTE bool
	// EventSeq is the column that orders events and outgoing transactions as they were written
	// ("rowid" on SQLite, "seq" on PostgreSQL).
	EventSeq string
	// NextOrderNumber is the value of a new order's number in its insert ("DEFAULT", the
	// sequence, on PostgreSQL; the largest number plus one, through its index, on SQLite).
	NextOrderNumber string
	// PrepareStatements keeps a statement prepared per query (SQLite, where parsing is a large
	// share of a statement's cost). pgx already caches prepared statements per connection.
	PrepareStatements bool
}

// Store is gateway.Store on a database/sql handle. Writes go through write (one writer connection
// on SQLite), reads through read.
type Store struct {
	write    *sql.DB
	read     *sql.DB
	d        Dialect
	queries  sync.Map // query text → engine-specific text
	stmts    sync.Map // stmtKey → statement prepared once
	pending  sync.Map // write queries to prepare between batches
	batch    *batcher // group commit; nil: one commit per transaction
	blocksMu sync.Mutex
	blocks   map[string]*indexBlock // "project/protocol" → reserved derivation indices
	closers  []io.Closer
	queued   chan struct{} // a value after a transaction wrote events
	closeMu  sync.Once
	closeErr error
	// insertOrder and insertOrderWithAddress are the engine's order inserts (orderInserts).
	insertOrder, insertOrderWithAddress string
}

var _ gateway.Store = (*Store)(nil)

// Options tune a Store.
type Options struct {
	// GroupCommit batches concurrent write transactions into one database commit (each in its own
	// savepoint), so many requests share one fsync. MaxBatch bounds a batch.
	GroupCommit bool
	MaxBatch    int
	// Closers are closed with the store, before its handles (background helpers of an engine).
	Closers []io.Closer
}

// New returns a Store over the handles; write and read may be the same.
func New(write, read *sql.DB, d Dialect, opt Options) *Store {
	s := &Store{write: write, read: read, d: d, blocks: map[string]*indexBlock{}, closers: opt.Closers, queued: make(chan struct{}, 1)}
	s.insertOrder, s.insertOrderWithAddress = orderInserts(d)
	if opt.GroupCommit {
		s.batch = newBatcher(write, opt.MaxBatch, s.preparePending, func(t *sql.Tx, q string) (sql.Result, error) {
			return (&tx{Tx: t, s: s}).exec(context.Background(), q)
		})
	}
	return s
}

// Close stops the batcher and closes the handles; closing twice is harmless.
func (s *Store) Close() error {
	s.closeMu.Do(func() {
		if s.batch != nil {
			s.batch.close()
		}
		s.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
		for _, c := range s.closers {
			_ = c.Close()
		}
		s.closeErr = s.write.Close()
		if s.read != s.write {
			if err := s.read.Close(); s.closeErr == nil {
				s.closeErr = err
			}
		}
	})
	return s.closeErr
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// DB returns the write handle, for tests and maintenance commands.
func (s *Store) DB() *sql.DB { return s.write }

// q returns the query in the engine's placeholder syntax.
func (s *Store) q(query string) string {
	if !s.d.Numbered {
		return query
	}
	if v, ok := s.queries.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	s.queries.Store(query, b.String())
	return b.String()
}

// tx is a write transaction with the store's placeholder rewriting.
type tx struct {
	*sql.Tx
	s      *Store
	events bool // the transaction wrote events: wake the webhook dispatcher after the commit
}

func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if stmt := t.s.writeStmt(query); stmt != nil {
		return t.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	}
	return t.ExecContext(ctx, t.s.q(query), args...)
}

func (t *tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if stmt := t.s.writeStmt(query); stmt != nil {
		return t.StmtContext(ctx, stmt).QueryRowContext(ctx, args...)
	}
	return t.QueryRowContext(ctx, t.s.q(query), args...)
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if stmt := t.s.writeStmt(query); stmt != nil {
		return t.StmtContext(ctx, stmt).QueryContext(ctx, args...)
	}
	return t.QueryContext(ctx, t.s.q(query), args...)
}

// Statements are prepared once per handle: parsing SQL is a large share of a small transaction's
// cost. A statement prepared on the handle is reused by transactions on the same connection
// (database/sql's Tx.StmtContext). Preparing needs a free connection, which a single-writer
// handle does not have while a transaction runs: there a new query runs unprepared once and is
// prepared by the batcher between batches. Only SQLite uses this (Dialect.PrepareStatements): pgx
// keeps its own per-connection statement cache.

type stmtKey struct {
	db    *sql.DB
	query string
}

// writeStmt returns the prepared statement for a write-transaction query, or nil to run it
// unprepared this time.
func (s *Store) writeStmt(query string) *sql.Stmt {
	if !s.d.PrepareStatements {
		return nil
	}
	if v, ok := s.stmts.Load(stmtKey{s.write, query}); ok {
		return v.(*sql.Stmt)
	}
	s.pending.Store(query, true) // prepared once no transaction holds the writer
	return nil
}

func (s *Store) prepare(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	k := stmtKey{db, query}
	if v, ok := s.stmts.Load(k); ok {
		return v.(*sql.Stmt), nil
	}
	stmt, err := db.PrepareContext(ctx, s.q(query))
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if v, loaded := s.stmts.LoadOrStore(k, stmt); loaded {
		stmt.Close()
		return v.(*sql.Stmt), nil
	}
	return stmt, nil
}

// preparePending prepares the write queries seen unprepared; the batcher calls it when no
// transaction holds the writer.
func (s *Store) preparePending() {
	s.pending.Range(func(k, _ any) bool {
		s.pending.Delete(k)
		_, _ = s.prepare(context.Background(), s.write, k.(string))
		return true
	})
}

// inTx runs fn in a write transaction: committed if fn returns nil, rolled back otherwise; the
// audit entry the context carries (gateway.Audited) is written in it. With
// group commit, fn runs in a savepoint of a shared transaction and inTx returns once that
// transaction is durable.
func (s *Store) inTx(ctx context.Context, fn func(*tx) error) error {
	if len(gateway.AuditOf(ctx)) > 0 {
		change := fn
		fn = func(t *tx) error {
			if err := change(t); err != nil {
				return err
			}
			return t.audit(ctx)
		}
	}
	var events bool
	if s.batch != nil {
		if err := s.batch.do(ctx, func(t *sql.Tx) error {
			tt := &tx{Tx: t, s: s}
			err := fn(tt)
			events = tt.events
			return err
		}); err != nil {
			return err
		}
	} else {
		t, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		tt := &tx{Tx: t, s: s}
		if err := fn(tt); err != nil {
			_ = t.Rollback()
			return err
		}
		if err := t.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		events = tt.events
	}
	if events {
		select {
		case s.queued <- struct{}{}:
		default:
		}
	}
	return nil
}

// DeliveriesQueued receives a value after a transaction of this store wrote events.
func (s *Store) DeliveriesQueued() <-chan struct{} { return s.queued }

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if !s.d.PrepareStatements {
		return s.read.QueryRowContext(ctx, s.q(query), args...)
	}
	stmt, err := s.prepare(ctx, s.read, query)
	if err != nil {
		return s.read.QueryRowContext(ctx, s.q(query), args...) // reports the same error through Scan
	}
	return stmt.QueryRowContext(ctx, args...)
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.read.QueryContext(ctx, s.q(query), args...)
}

// ms converts a time to the stored Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS converts stored Unix milliseconds to a UTC time.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// nullMS converts a nullable stored time.
func nullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// placeholders returns n comma-separated placeholders, for an IN list.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
