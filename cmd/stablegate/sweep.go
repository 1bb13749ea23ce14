package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/evm"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// runSweep is `stablegate sweep`: plan the sweeps of a chain, show what they move and cost, and —
// unless --dry-run — make them and send them, waiting until each is final. The transactions are
// signed by whichever process holds the hot wallet's lease: a running `stablegate serve` or
// `dev` on the same database, or this command.
func runSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sweep", "sweep --project ID --chain CHAIN [--mode test|live] [--currency C] [--address A]... [--include-collecting] [--dry-run] [--json]", stderr)
	cf := newConfigFlags(fs, false, nil)
	project := fs.String("project", "", "project id (required)")
	chainID := fs.String("chain", "", "the chain slug, e.g. devnet or base (required)")
	modeFlag := fs.String("mode", "test", "test or live: whose chains")
	currency := fs.String("currency", "", "only this token (default: every registry token of the chain)")
	var addresses stringList
	fs.Var(&addresses, "address", "only this address (repeatable; default: every address holding funds)")
	collecting := fs.Bool("include-collecting", false, "sweep addresses whose order still takes payments too")
	dryRun := fs.Bool("dry-run", false, "show the plan and its estimate, send nothing")
	wait := fs.Duration("wait", 5*time.Minute, "how long to wait for the sweeps to be final")
	asJSON := fs.Bool("json", false, "print the plan (and the final sweeps) as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *project == "" || *chainID == "" {
		fs.Usage()
		return usageError{"--project and --chain are required"}
	}
	mode := gateway.Mode(*modeFlag)
	if mode != gateway.Test && mode != gateway.Live {
		return usageError{"--mode must be test or live"}
	}
	c, err := cf.load()
	if err != nil {
		return err
	}
	svc, done, err := chainService(ctx, c, *chainID == "devnet")
	if err != nil {
		return err
	}
	defer done()
	p, err := svc.Store.FindProject(ctx, *project)
	if err != nil {
		return fmt.Errorf("project %s: %w", *project, err)
	}
	// The operator, with the database and the master key, has what the API secret proves.
	pr := &gateway.Principal{Project: p, Mode: mode, SecretProven: true}
	plan, err := svc.Sweep(ctx, pr, gateway.SweepRequest{ChainID: *chainID, Currency: *currency, Addresses: addresses,
		IncludeCollecting: *collecting, DryRun: *dryRun})
	if err != nil {
		return err
	}
	if !*asJSON {
		printPlan(stdout, svc, plan)
	}
	if *dryRun || len(plan.Sweeps) == 0 {
		if *asJSON {
			return printJSON(stdout, plan)
		}
		return nil
	}
	final, err := awaitSweeps(ctx, c, svc, pr, plan, *wait, stdout, *asJSON)
	if *asJSON {
		if perr := printJSON(stdout, final); perr != nil {
			return perr
		}
	}
	return err
}

func printPlan(w io.Writer, svc *gateway.Service, plan *gateway.SweepPlan) {
	ch, _ := svc.ChainRegistry().Lookup(plan.ChainID)
	if plan.DryRun {
		fmt.Fprintln(w, "Dry run: nothing is sent.")
	}
	for _, s := range plan.Sweeps {
		tok, _ := ch.Token(s.Currency)
		what := "Sweep " + s.ID
		if plan.DryRun {
			what = "Would sweep"
		}
		addresses := fmt.Sprintf("%d addresses", len(s.Legs))
		if len(s.Legs) == 1 {
			addresses = "1 address"
		}
		fmt.Fprintf(w, "%s: %s %s from %s into the hot wallet %s\n", what, money.Format(s.Total(), tok.Decimals), s.Currency, addresses, s.To)
	}
	if len(plan.Sweeps) == 0 {
		fmt.Fprintf(w, "Nothing to sweep on %s.\n", plan.ChainID)
	}
	for _, k := range plan.Skipped {
		tok, _ := ch.Token(k.Currency)
		fmt.Fprintf(w, "  left alone: %s (%s %s): %s\n", k.Address, money.Format(k.Amount, tok.Decimals), k.Currency, k.Reason)
	}
	for _, d := range plan.Differences {
		tok, _ := ch.Token(d.Currency)
		fmt.Fprintf(w, "  difference: %s holds %s %s on chain, the ledger says %s\n", d.Address, money.Format(d.OnChain, tok.Decimals), d.Currency,
			money.Format(d.Ledger, tok.Decimals))
	}
	if len(plan.Sweeps) > 0 {
		extra := ""
		if plan.NeedsSweeper {
			extra = ", with the hot wallet's sweeper contract deployed first"
		}
		fmt.Fprintf(w, "Estimate: %d gas, about %s %s at today's fees%s; the hot wallet holds %s %s.\n", plan.Gas,
			money.Format(plan.Cost, ch.NativeDecimals()), ch.Native, extra, money.Format(plan.NativeBalance, ch.NativeDecimals()), ch.Native)
	}
}

// awaitSweeps sends the plan's sweeps — or waits for the process that holds the hot wallet's lease
// to — until each is final or the wait is over.
func awaitSweeps(ctx context.Context, c *Config, svc *gateway.Service, pr *gateway.Principal, plan *gateway.SweepPlan, wait time.Duration,
	stdout io.Writer, quiet bool) ([]*gateway.Sweep, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	nodes, _ := svc.Nodes.(evm.Nodes)
	ch, _ := svc.ChainRegistry().Lookup(plan.ChainID)
	host, _ := os.Hostname()
	sender := &evm.Sender{Chain: ch, Client: nodes[plan.ChainID], Gateway: svc, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Holder: host + "/sweep", MaxFee: c.Chains[plan.ChainID].MaxFee(), Interval: 500 * time.Millisecond}
	if err := sender.Start(ctx); err != nil {
		return nil, err
	}
	defer sender.Stop()
	said := map[string]gateway.SweepStatus{}
	for {
		var final []*gateway.Sweep
		for _, s := range plan.Sweeps {
			got, err := svc.FindSweep(ctx, pr, s.ID)
			if err != nil {
				return nil, err
			}
			if said[got.ID] != got.Status && !quiet {
				said[got.ID] = got.Status
				tok, _ := ch.Token(got.Currency)
				switch got.Status {
				case gateway.SweepDeploying:
					fmt.Fprintf(stdout, "%s: deploying the hot wallet's sweeper…\n", got.ID)
				case gateway.SweepSending:
					fmt.Fprintf(stdout, "%s: sending…\n", got.ID)
				case gateway.SweepCompleted:
					fmt.Fprintf(stdout, "%s: completed — %s %s moved into %s in %s (%d gas, %s %s)\n", got.ID, money.Format(got.Moved(), tok.Decimals),
						got.Currency, got.To, got.TxHash, got.GasUsed, money.Format(got.Fee, ch.NativeDecimals()), ch.Native)
				case gateway.SweepFailed:
					fmt.Fprintf(stdout, "%s: failed — %s; nothing moved\n", got.ID, got.Failure)
				}
			}
			if got.Status.Final() {
				final = append(final, got)
			}
		}
		if len(final) == len(plan.Sweeps) {
			for _, s := range final {
				if s.Status == gateway.SweepFailed {
					return final, errors.New("a sweep failed")
				}
			}
			return final, nil
		}
		select {
		case <-ctx.Done():
			return final, fmt.Errorf("the sweeps are not final after %s: they go on in whichever stablegate holds the hot wallet's lease "+
				"(GET /api/v1/sweeps shows them)", wait)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
