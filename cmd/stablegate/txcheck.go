package main

import (
	"context"
	"fmt"
	"io"

	"github.com/stablegate/stablegate/internal/money"
)

// runTx is `stablegate tx check`: the support engineer's recovery of a payment whose log a
// provider lost.
func runTx(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprint(stderr, "Usage: stablegate tx check --chain CHAIN --tx HASH [--json]\n")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return nil
		}
		return usageError{"tx needs a subcommand: check"}
	}
	fs := newFlagSet("tx check", "tx check --chain CHAIN --tx HASH [--json]", stderr)
	cf := newConfigFlags(fs, false, nil)
	chainID := fs.String("chain", "", "the chain slug, e.g. ethereum (required)")
	txHash := fs.String("tx", "", "the transaction hash (required)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *chainID == "" || *txHash == "" {
		fs.Usage()
		return usageError{"--chain and --tx are required"}
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
	res, err := svc.CheckTransaction(ctx, nil, *chainID, *txHash)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "%s on %s: %s — %s.\n", res.TxHash, res.ChainID, res.Outcome, res.Message)
	for _, t := range res.Transfers {
		what := "recorded and credited now"
		if !t.Recorded {
			what = t.Note
		}
		amount := t.Transfer.Amount.String() + " (base units of " + t.Transfer.Token + ")"
		if tok, ok := svc.ChainRegistry().Token(t.Transfer.ChainID, t.Transfer.Currency); ok && t.Transfer.Currency != "" {
			amount = money.Format(t.Transfer.Amount, tok.Decimals) + " " + t.Transfer.Currency
		}
		owner := "order " + t.Transfer.OrderID
		if t.Transfer.DepositID != "" {
			owner = "deposit address " + t.Transfer.DepositID
		}
		fmt.Fprintf(stdout, "  log %d: %s to %s (%s): %s\n", t.Transfer.LogIndex, amount, t.Transfer.To, owner, what)
	}
	return nil
}
