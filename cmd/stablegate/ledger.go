package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
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
	st, err := cf.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	diffs, err := st.VerifyLedger(ctx)
	if err != nil {
		return err
	}
	if len(diffs) == 0 {
		fmt.Fprintln(stdout, "ledger verified: every balance equals its entries and the credited on-chain transfers")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECT\tMODE\tCHAIN\tCURRENCY\tACCOUNT\tSTORED\tFROM ENTRIES\tFROM TRANSFERS")
	for _, d := range diffs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ProjectID, d.Mode, d.ChainID, d.Currency, d.Account, d.Stored, d.Posted, d.OnChain)
	}
	tw.Flush()
	return fmt.Errorf("ledger: %d balances differ (amounts in base units)", len(diffs))
}
