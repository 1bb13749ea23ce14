package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/devnet"
	"github.com/stablegate/stablegate/internal/money"
)

// devnetInfo is what a running devnet publishes: <data>/devnet.json for `stablegate devnet`, and
// the chain part of <data>/dev-credentials.json for `stablegate dev`.
type devnetInfo struct {
	RPCURL    string            `json:"rpcUrl"`
	ChainID   uint64            `json:"chainId"`
	Tokens    map[string]string `json:"tokens"`
	DevWallet *devWallet        `json:"devWallet,omitempty"`
}

type devWallet struct {
	Address    string `json:"address"`
	PrivateKey string `json:"privateKey"`
}

func newDevnetInfo(rpcURL string, withKey bool) devnetInfo {
	info := devnetInfo{RPCURL: rpcURL, ChainID: devnet.ChainID, Tokens: map[string]string{}}
	for s, a := range devnet.Tokens() {
		info.Tokens[s] = a.Hex()
	}
	if withKey {
		info.DevWallet = &devWallet{Address: chain.DevnetDeployer.Hex(), PrivateKey: "0x" + devnet.DevKeyHex}
	}
	return info
}

// runDevnet runs the development chain alone, so a gateway can be killed and restarted while the
// chain goes on.
func runDevnet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("devnet", "devnet [--addr 127.0.0.1:8545] [--data ./.stablegate] [--block-time 1s] [--fresh]", stderr)
	addr := fs.String("addr", "127.0.0.1:8545", "address of the JSON-RPC endpoint (port 0 picks a free one)")
	data := fs.String("data", envOr("STABLEGATE_DATA_DIR", "./.stablegate"), "directory for the chain (<data>/devnet) and devnet.json (env STABLEGATE_DATA_DIR)")
	blockTime := fs.Duration("block-time", time.Second, "interval between blocks")
	fresh := fs.Bool("fresh", false, "start a new chain: remove the one kept in <data>/devnet first")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *blockTime <= 0 {
		return usageError{"--block-time must be positive"}
	}
	chainDir := filepath.Join(*data, "devnet")
	if *fresh && devnet.HasChain(chainDir) {
		fmt.Fprintf(stdout, "--fresh: removing the devnet chain in %s\n", chainDir)
		if err := os.RemoveAll(chainDir); err != nil {
			return fmt.Errorf("--fresh: %w", err)
		}
	}
	c, err := devnet.Start(devnet.Config{Addr: *addr, BlockTime: *blockTime, DataDir: chainDir})
	if errors.Is(err, devnet.ErrNotStoppedCleanly) {
		return fmt.Errorf("%w\n  Start a new chain with: stablegate devnet --fresh --data %s", err, *data)
	} else if err != nil {
		return err
	}
	defer c.Close()
	path := filepath.Join(*data, "devnet.json")
	if err := writeJSON(path, newDevnetInfo(c.RPCURL(), true)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "devnet is running: JSON-RPC %s, chain id %d, a block every %s\n", c.RPCURL(), devnet.ChainID, *blockTime)
	fmt.Fprintf(stdout, "The chain is kept in %s: stop with Ctrl-C and a restart goes on with it; --fresh starts a new one.\n", chainDir)
	for _, s := range []string{"USDT", "USDC", "DAI"} {
		fmt.Fprintf(stdout, "  %-4s %s\n", s, devnet.Tokens()[s].Hex())
	}
	fmt.Fprintf(stdout, "Details in %s. Run the gateway on it with: stablegate dev --devnet-rpc %s\n", path, c.RPCURL())
	<-ctx.Done()
	return nil
}

// runDevPay sends a real token transfer from the dev wallet through the devnet's JSON-RPC.
func runDevPay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dev pay", "dev pay --to ADDRESS --amount 12.5 [--currency USDT] [--data DIR] [--rpc URL]", stderr)
	to := fs.String("to", "", "address to pay (an order's address)")
	amount := fs.String("amount", "", "amount in token units, e.g. 12.5")
	currency := fs.String("currency", "USDT", "USDT, USDC or DAI")
	data := fs.String("data", envOr("STABLEGATE_DATA_DIR", "./.stablegate"), "data directory of the running dev gateway or devnet (env STABLEGATE_DATA_DIR)")
	rpcURL := fs.String("rpc", "", "devnet JSON-RPC URL (default: read from the data directory)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" || *amount == "" {
		fs.Usage()
		return usageError{"--to and --amount are required"}
	}
	addr, err := chain.ParseAddress(chain.EVM, *to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	decimals, ok := devnet.Decimals(*currency)
	if !ok {
		return fmt.Errorf("--currency: no devnet token %q (USDT, USDC, DAI)", *currency)
	}
	base, err := money.ParsePositive(*amount, decimals)
	if err != nil {
		return fmt.Errorf("--amount %s", err)
	}
	if *rpcURL == "" {
		if *rpcURL, err = findDevnetRPC(*data); err != nil {
			return err
		}
	}
	hash, err := devnet.Pay(ctx, *rpcURL, *currency, addr, base)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, hash.Hex())
	return nil
}

// findDevnetRPC reads the devnet's RPC URL from dev-credentials.json or devnet.json.
func findDevnetRPC(dir string) (string, error) {
	for _, name := range []string{"dev-credentials.json", "devnet.json"} {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return "", err
		}
		var info struct {
			RPCURL string `json:"rpcUrl"`
		}
		if err := json.Unmarshal(raw, &info); err == nil && info.RPCURL != "" {
			return info.RPCURL, nil
		}
	}
	return "", fmt.Errorf("no running devnet found in %s: start `stablegate dev` or `stablegate devnet`, or pass --rpc", dir)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
