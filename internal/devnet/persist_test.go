package devnet_test

import (
	"bufio"
	"context"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/stablegate/stablegate/internal/devnet"
)

// startIn starts a devnet kept in dir, with a client on its JSON-RPC endpoint; the caller closes.
func startIn(t *testing.T, dir string) (*devnet.Chain, *ethclient.Client) {
	t.Helper()
	c, err := devnet.Start(devnet.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	client, err := ethclient.Dial(c.RPCURL())
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c, client
}

func TestChainInADataDirGoesOnAfterARestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	payee := common.HexToAddress("0x00000000000000000000000000000000000000aa")

	c, client := startIn(t, dir)
	tx, err := c.Transfer(ctx, "USDT", payee, big.NewInt(12_500_000))
	if err != nil {
		t.Fatal(err)
	}
	c.Mine()
	c.Mine()
	head, err := client.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	client.Close()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if last, err := devnet.LastHead(dir); err != nil || last == nil || last.Hash != head.Hash() {
		t.Fatalf("recorded head %+v, %v; want block %d %s", last, err, head.Number, head.Hash())
	}

	c, client = startIn(t, dir)
	defer c.Close()
	defer client.Close()
	again, err := client.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Hash() != head.Hash() {
		t.Fatalf("after the restart the head is block %d %s, want block %d %s", again.Number, again.Hash(), head.Number, head.Hash())
	}
	if r, err := client.TransactionReceipt(ctx, tx); err != nil || r.Status != 1 {
		t.Fatalf("the payment's receipt after the restart: %+v, %v", r, err)
	}
	if got := balance(t, client, "USDT", payee); got.Cmp(big.NewInt(12_500_000)) != 0 {
		t.Fatalf("the payee holds %s after the restart, want 12500000", got)
	}
	if last, _ := devnet.LastHead(dir); last != nil {
		t.Fatal("a running chain still has a recorded head: a kill would not be noticed")
	}
	// The chain goes on: the next block follows the old head, the dev wallet's nonce continues.
	if _, err := c.Transfer(ctx, "USDT", payee, big.NewInt(1)); err != nil {
		t.Fatal(err)
	}
	next := c.Mine()
	b, err := client.HeaderByHash(ctx, next)
	if err != nil || b.ParentHash != head.Hash() {
		t.Fatalf("the first block after the restart: %+v, %v; want a child of %s", b, err, head.Hash())
	}
	if got := balance(t, client, "USDT", payee); got.Cmp(big.NewInt(12_500_001)) != 0 {
		t.Fatalf("the payee holds %s, want 12500001", got)
	}
}

// TestKilledChainIsNotContinued kills a process running a devnet in a data directory: the next
// Start refuses the directory rather than continue a chain whose last blocks may be lost.
func TestKilledChainIsNotContinued(t *testing.T) {
	if dir := os.Getenv("DEVNET_HELPER_DIR"); dir != "" {
		c, err := devnet.Start(devnet.Config{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		c.Mine()
		os.Stdout.WriteString("ready\n")
		select {} // until killed
	}
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestKilledChainIsNotContinued$")
	cmd.Env = append(os.Environ(), "DEVNET_HELPER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready, lines := false, bufio.NewScanner(out)
	for !ready && lines.Scan() {
		ready = strings.Contains(lines.Text(), "ready")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if !ready {
		t.Fatal("the devnet process never started")
	}
	c, err := devnet.Start(devnet.Config{DataDir: dir})
	if err == nil {
		c.Close()
		t.Fatal("a killed devnet's directory was started as if nothing happened")
	}
	if !errors.Is(err, devnet.ErrNotStoppedCleanly) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("error %q: want ErrNotStoppedCleanly naming %s", err, dir)
	}
}
