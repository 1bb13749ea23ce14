// Package postgres opens stablegate's store on PostgreSQL through pgx's database/sql driver.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/stablegate/stablegate/internal/store"
	"github.com/stablegate/stablegate/internal/store/migrations"
)

// Dialect is PostgreSQL's.
var Dialect = store.Dialect{Name: "postgres", Numbered: true, IsUniqueViolation: isUniqueViolation, SkipLocked: "FOR UPDATE SKIP LOCKED",
	ForUpdate: "FOR UPDATE", ForShare: "FOR SHARE", ModifyingCTE: true, EventSeq: "seq", NextOrderNumber: "DEFAULT"}

func isUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// Open connects to the database at dsn (a postgres:// URL or key=value string), applies pending
// migrations and returns the store.
func Open(ctx context.Context, dsn string) (*store.Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	if _, err := Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return store.New(db, db, Dialect, store.Options{}), nil
}

// Migrate applies pending migrations to an open database. Concurrent starts of several replicas
// are serialized by goose's session lock.
func Migrate(ctx context.Context, db *sql.DB) (int, error) {
	sub, err := fs.Sub(migrations.Postgres, "postgres")
	if err != nil {
		return 0, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return 0, err
	}
	return store.Migrate(ctx, db, goose.DialectPostgres, sub, goose.WithSessionLocker(locker))
}
