package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// On a terminal a count is redrawn on one line at most every 200 ms and ended with the total; on
// anything else nothing is written.
func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	quiet := terminalProgress(&buf, "balances read")
	for i := range 1000 {
		quiet.update(i)
	}
	quiet.done()
	if buf.Len() != 0 {
		t.Errorf("progress on a buffer wrote %q", buf.String())
	}
	clock := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	p := &progress{w: &buf, what: "balances read", now: func() time.Time { return clock }}
	p.update(1)
	clock = clock.Add(100 * time.Millisecond)
	p.update(2) // within 200 ms of the first: not drawn
	clock = clock.Add(110 * time.Millisecond)
	p.update(3)
	p.done()
	if got := buf.String(); got != "\r1 balances read…\r3 balances read…\r3 balances read.\n" {
		t.Errorf("progress on a terminal = %q", got)
	}
}

// migrate names each migration before it runs and times it after, and says when there was none.
func TestMigrateShowsEachMigration(t *testing.T) {
	dir := t.TempDir()
	files, _ := filepath.Glob("../../internal/store/migrations/sqlite/*.sql")
	out, _, err := runCLI(t, "migrate", "--data", dir)
	if err != nil || !strings.Contains(out, "applying migration 1 of ") || !strings.Contains(out, "done in ") ||
		!strings.Contains(out, "migrations applied") || strings.Count(out, "applying migration") < len(files) {
		t.Fatalf("migrate on an empty database: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "migrate", "--data", dir)
	if err != nil || strings.TrimSpace(out) != "database is up to date: no migration to apply" {
		t.Errorf("migrate again: %v %q", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "stablegate.db")); err != nil {
		t.Error(err)
	}
}
