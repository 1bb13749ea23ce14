package main

import (
	"context"
	"math/big"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
)

// The gateway is killed (SIGKILL) between signing a withdrawal's transfer and broadcasting it,
// then between broadcasting it and its receipt: after the restarts the destination received the
// amount exactly once, by the transaction that was stored first, and the ledger is exact.
func TestWithdrawalSurvivesKills(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dn, k, p := killableDev(t)
	// A paid order, swept into the hot wallet: 10 USDT there and available.
	d := p.call("POST", "/api/v1/orders", `{"orderReference":"paid","amount":"10","currency":"USDT","chainId":"devnet"}`)
	if _, err := dn.Transfer(context.Background(), "USDT", common.HexToAddress(d["address"].(string)), big.NewInt(10_000_000)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); p.call("GET", "/api/v1/orders/"+d["orderId"].(string), "")["status"] != "completed"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the order was not completed")
		}
	}
	p.call("POST", "/api/v1/sweeps", `{"chainId":"devnet"}`)
	hot := p.call("GET", "/api/v1/wallets", "")["wallets"].([]any)[0].(map[string]any)["address"].(string)
	waitBalance(t, dn.RPCURL(), "USDT", hot, big.NewInt(10_000_000))

	to := "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
	arm := func(mode string) {
		k.mu.Lock()
		k.mode, k.proc, k.sent = mode, p, ""
		k.mu.Unlock()
	}
	arm("before-send")
	w := p.call("POST", "/api/v1/withdrawals", `{"reference":"crash","amount":"6","currency":"USDT","chainId":"devnet","address":"`+to+`"}`)
	id := w["withdrawalId"].(string)
	p.call("POST", "/api/v1/withdrawals/"+id+"/approve", "")
	var stored string
	for i, mode := range []string{"before-send", "before-receipt"} {
		var hash string
		select {
		case hash = <-k.killed:
		case <-time.After(30 * time.Second):
			t.Fatalf("kill %d (%s): no transaction to kill at", i, mode)
		}
		p.process().Wait()
		if mode == "before-send" {
			stored = hash
			arm("before-receipt")
			launch(p)
		} else {
			if hash != stored {
				t.Fatalf("sent %s, but %s was the one stored: a second signature", hash, stored)
			}
			arm("")
			p.start()
		}
	}
	var got map[string]any
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if got = p.call("GET", "/api/v1/withdrawals/"+id, ""); got["status"] == "completed" || got["status"] == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the withdrawal is %v after the kills", got["status"])
		}
	}
	if got["status"] != "completed" || got["txHash"] != stored {
		t.Fatalf("after the kills: %v %v (stored %s)", got["status"], got["txHash"], stored)
	}
	waitBalance(t, dn.RPCURL(), "USDT", to, big.NewInt(6_000_000))
	waitBalance(t, dn.RPCURL(), "USDT", hot, big.NewInt(4_000_000))
	client, err := ethclient.Dial(dn.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// The sweeper's deployment, the sweep, the withdrawal: three transactions, each signed once.
	if n, err := client.NonceAt(context.Background(), common.HexToAddress(hot), nil); err != nil || n != 3 {
		t.Fatalf("the hot wallet sent %d transactions (%v), want 3", n, err)
	}
	if tx := got["transaction"].(map[string]any); tx["status"] != "confirmed" || len(tx["attempts"].([]any)) != 1 {
		t.Fatalf("its transaction: %v with %d attempts", tx["status"], len(tx["attempts"].([]any)))
	}
	bal := p.call("GET", "/api/v1/balances", "")["balances"].([]any)[0].(map[string]any)
	if bal["available"] != "4" || bal["held"] != "0" {
		t.Fatalf("balance after: %v", bal)
	}
	p.stop(syscall.SIGTERM)
	config := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(config, []byte(`{"chains":{"devnet":{"rpcUrls":["`+dn.RPCURL()+`"]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runCLI(t, "ledger", "verify", "--data", p.dir, "--config", config); err != nil {
		t.Fatalf("ledger verify after the kills: %v\n%s", err, out)
	}
}
