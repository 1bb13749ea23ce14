// Package migrations holds the schema history of each engine, embedded for goose.
package migrations

import "embed"

// SQLite is the migration history for SQLite.
//
//go:embed sqlite/*.sql
var SQLite embed.FS

// Postgres is the migration history for PostgreSQL.
//
//go:embed postgres/*.sql
var Postgres embed.FS
