package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/stablegate/stablegate/internal/evm"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

// chainService is the Service of a command that reads chains: the store, the master key (when
// none is configured, what needs it — a hot wallet, a signature — says so), and a node of each
// configured chain — and, with withDevnet, of the devnet of a running `stablegate dev` on the same
// data directory.
func chainService(ctx context.Context, c *Config, withDevnet bool) (*gateway.Service, func(), error) {
	if _, ok := c.Chains["devnet"]; !ok && withDevnet {
		if url, err := findDevnetRPC(c.DataDir); err == nil {
			c.Chains["devnet"] = ChainConfig{RPCURLs: []string{url}}
		}
	}
	kr, err := projectsKeyring(c)
	if err != nil && !errors.Is(err, errNoMasterKey) {
		return nil, nil, err
	}
	reg, scanners, err := chainsFor(c.Chains)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	svc := &gateway.Service{Store: st, Keyring: kr, Registry: reg, Chains: []string{}}
	nodes := evm.Nodes{}
	for _, sc := range scanners {
		svc.Chains = append(svc.Chains, sc.Chain.Slug)
		nodes[sc.Chain.Slug] = sc.Client
	}
	svc.Nodes, svc.Encoder = nodes, evm.Encoder{}
	return svc, func() {
		for _, n := range nodes {
			n.Close()
		}
		st.Close()
	}, nil
}

// runWallets shows a project's hot wallets on the configured chains (and the devnet of a running
// `stablegate dev` on the same data directory), with what each holds on chain.
func runWallets(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("wallets", "wallets --project ID [--mode test|live] [--json]", stderr)
	cf := newConfigFlags(fs, false, nil)
	project := fs.String("project", "", "project id (required)")
	modeFlag := fs.String("mode", "test", "test or live: whose chains")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *project == "" {
		fs.Usage()
		return usageError{"--project is required"}
	}
	mode := gateway.Mode(*modeFlag)
	if mode != gateway.Test && mode != gateway.Live {
		return usageError{"--mode must be test or live"}
	}
	c, err := cf.load()
	if err != nil {
		return err
	}
	svc, done, err := chainService(ctx, c, mode == gateway.Test)
	if err != nil {
		return err
	}
	defer done()
	st := svc.Store
	p, err := st.FindProject(ctx, *project)
	if err != nil {
		return fmt.Errorf("project %s: %w", *project, err)
	}
	ws, err := svc.Wallets(ctx, &gateway.Principal{Project: p, Mode: mode})
	if err != nil {
		return err
	}
	type row struct {
		ChainID      string            `json:"chainId"`
		Address      string            `json:"address"`
		Path         string            `json:"derivationPath"`
		Native       string            `json:"native,omitempty"`
		Tokens       map[string]string `json:"tokens"`
		BalanceError string            `json:"balanceError,omitempty"`
		Treasury     string            `json:"treasury,omitempty"`
	}
	rows := []row{}
	for _, w := range ws {
		r := row{ChainID: w.Chain.Slug, Address: w.Address, Path: w.Path, Tokens: map[string]string{}, BalanceError: w.BalanceError, Treasury: w.Treasury}
		if w.Native != nil {
			r.Native = money.Format(w.Native, w.Chain.NativeDecimals()) + " " + w.Chain.Native
		}
		for _, t := range w.Tokens {
			r.Tokens[t.Token.Symbol] = money.Format(t.Amount, t.Token.Decimals)
		}
		rows = append(rows, r)
	}
	if *asJSON {
		return printJSON(stdout, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(stdout, "No chain of %s mode is configured (STABLEGATE_RPC_<CHAIN>, docs/configuration.md), so no hot wallet to show.\n", mode)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHAIN\tADDRESS\tPATH\tHOLDS")
	for i, r := range rows {
		holds := r.BalanceError
		if holds == "" {
			parts := []string{r.Native}
			for _, t := range ws[i].Tokens { // in the registry's order
				parts = append(parts, r.Tokens[t.Token.Symbol]+" "+t.Token.Symbol)
			}
			holds = strings.Join(parts, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ChainID, r.Address, r.Path, holds)
	}
	return tw.Flush()
}
