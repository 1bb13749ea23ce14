package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/stablegate/stablegate/internal/money"
)

func runLedger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(stderr, "Usage: stablegate ledger verify [--database URL | --data DIR] [--config FILE]\n")
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return nil
		}
		return usageError{"ledger: the subcommand is verify"}
	}
	fs := newFlagSet("ledger verify", "ledger verify [--database URL | --data DIR] [--config FILE]", stderr)
	cf := newConfigFlags(fs, false, nil)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	c, err := cf.load()
	if err != nil {
		return err
	}
	svc, done, err := chainService(ctx, c, true)
	if err != nil {
		return err
	}
	defer done()
	diffs, err := svc.Store.VerifyLedger(ctx)
	if err != nil {
		return err
	}
	// What each address holds, against the chains this configuration reaches (and the devnet of
	// a running `stablegate dev` on the data directory).
	progress := terminalProgress(stderr, "balances read on chain")
	holdings, herr := svc.VerifyHoldings(ctx, progress.update)
	progress.done()
	if herr != nil {
		fmt.Fprintf(stdout, "holdings not checked against the chains: %v\n", herr)
	}
	if len(diffs) == 0 && len(holdings) == 0 {
		checked := fmt.Sprintf(", and every holding its address's balance on %d chains", len(svc.Chains))
		if herr != nil {
			checked = ""
		}
		fmt.Fprintf(stdout, "ledger verified: every balance equals its entries and the credited on-chain transfers%s\n", checked)
		return nil
	}
	if len(diffs) > 0 {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PROJECT\tMODE\tCHAIN\tCURRENCY\tACCOUNT\tSTORED\tFROM ENTRIES\tFROM TRANSFERS")
		for _, d := range diffs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ProjectID, d.Mode, d.ChainID, d.Currency, d.Account, d.Stored, d.Posted, d.OnChain)
		}
		tw.Flush()
	}
	if len(holdings) > 0 {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PROJECT\tMODE\tCHAIN\tADDRESS\tCURRENCY\tLEDGER\tON CHAIN")
		for _, h := range holdings {
			tok, _ := svc.ChainRegistry().Token(h.ChainID, h.Currency)
			addr := h.Address
			if h.HotWallet {
				addr += " (hot wallet)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.ProjectID, h.Mode, h.ChainID, addr, h.Currency, money.Format(h.Ledger, tok.Decimals),
				money.Format(h.OnChain, tok.Decimals))
		}
		tw.Flush()
	}
	return fmt.Errorf("ledger: %d balances and %d holdings differ (balances in base units)", len(diffs), len(holdings))
}
