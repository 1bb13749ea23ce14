package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/stablegate/stablegate/internal/store"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve [--config FILE] [flags]", stderr)
	cf := newConfigFlags(fs, true, nil)
	printFlags := fs.Usage
	fs.Usage = func() {
		printFlags()
		fmt.Fprint(stderr, `
serve needs, from the environment or the config file (docs/configuration.md):
  STABLEGATE_MASTER_KEY (or --master-key-file)  the 32-byte master key that seals secrets; refused without it
  STABLEGATE_DATABASE                           a postgres:// URL in production (SQLite under --data otherwise)
  STABLEGATE_RPC_<CHAIN>                        RPC URLs of each chain to watch, e.g. STABLEGATE_RPC_ETHEREUM=https://…
  STABLEGATE_PUBLIC_URL                         the URL payers reach the payment pages at
`)
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := cf.load()
	if err != nil {
		return err
	}
	if c.LogFormat == "" {
		c.LogFormat = "json"
	}
	log := newLogger(stderr, c.LogFormat, c.LogLevel)
	kr, err := loadKeyring(c, false)
	if err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}
	reg, scanners, err := chainsFor(c.Chains)
	if err != nil {
		return err
	}
	if len(scanners) == 0 {
		log.Warn("no chains configured: orders can be created but no payment will be seen (see docs/configuration.md, chains)")
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkMasterKey(ctx, st, kr, log); err != nil {
		return err
	}
	return startGateway(ctx, c, st, kr, log, reg, scanners, nil, func(base string) {
		log.Info("stablegate listening", "url", base, "version", version, "chains", len(scanners))
	})
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", "migrate [--database URL | --data DIR] [--config FILE]", stderr)
	cf := newConfigFlags(fs, false, nil)
	if err := parse(fs, args); err != nil {
		return err
	}
	// Each migration is named before it runs and timed after: one over a large table can take a
	// while, and the operator sees which.
	ran := 0
	ctx = store.WithMigrationProgress(ctx, func(m store.MigrationStep) {
		if !m.Done {
			fmt.Fprintf(stdout, "applying migration %d of %d: %s …\n", m.Index, m.Of, m.Name)
			return
		}
		ran++
		fmt.Fprintf(stdout, "  done in %s\n", m.Took.Round(time.Millisecond))
	})
	st, err := cf.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if ran == 0 {
		fmt.Fprintln(stdout, "database is up to date: no migration to apply")
	} else {
		fmt.Fprintf(stdout, "database is up to date: %d migrations applied\n", ran)
	}
	return nil
}
