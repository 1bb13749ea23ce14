package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/devnet"
)

// killer is a JSON-RPC proxy in front of the devnet that SIGKILLs the gateway process at a chosen
// moment of a transaction it sends: before forwarding it (signed and stored, never broadcast), or
// at the first receipt asked for after forwarding it (broadcast, no receipt seen).
type killer struct {
	t        *testing.T
	upstream string
	mu       sync.Mutex
	proc     *devProcess
	mode     string                     // "before-send", "before-receipt", or "" (pass everything)
	done     map[string]map[string]bool // mode → hashes already killed at in that mode
	sent     string                     // the hash forwarded in before-receipt mode
	killed   chan string                // the hash the kill was about
	raws     map[string]int             // hash → times the node was sent it
}

func (k *killer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req struct {
		Method string            `json:"method"`
		Params []json.RawMessage `json:"params"`
	}
	_ = json.Unmarshal(body, &req)
	k.mu.Lock()
	switch req.Method {
	case "eth_sendRawTransaction":
		var raw hexutil.Bytes
		var tx types.Transaction
		if len(req.Params) == 1 && json.Unmarshal(req.Params[0], &raw) == nil && tx.UnmarshalBinary(raw) == nil {
			from, _ := types.Sender(types.LatestSignerForChainID(tx.ChainId()), &tx)
			hash := tx.Hash().Hex()
			if from != chain.DevnetDeployer { // the hot wallet's, not the dev wallet's funding
				if k.mode == "before-send" && !k.done[k.mode][hash] {
					k.kill(hash)
					k.mu.Unlock()
					http.Error(w, "killed", http.StatusBadGateway)
					return
				}
				k.raws[hash]++
				if k.mode == "before-receipt" && !k.done[k.mode][hash] && k.sent == "" {
					k.sent = hash
				}
			}
		}
	case "eth_getTransactionReceipt":
		if k.mode == "before-receipt" && k.sent != "" {
			k.kill(k.sent)
			k.mu.Unlock()
			http.Error(w, "killed", http.StatusBadGateway)
			return
		}
	}
	k.mu.Unlock()
	res, err := http.Post(k.upstream, "application/json", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(res.StatusCode)
	io.Copy(w, res.Body)
}

// kill SIGKILLs the process (k.mu held) once, and reports the hash.
func (k *killer) kill(hash string) {
	if k.proc == nil || k.proc.process() == nil {
		return
	}
	k.proc.process().Process.Signal(syscall.SIGKILL)
	if k.done[k.mode] == nil {
		k.done[k.mode] = map[string]bool{}
	}
	k.done[k.mode][hash] = true // the next kill is about the next moment of it, or the next transaction
	k.proc = nil
	k.mode = ""
	k.killed <- hash
}

// launch starts the process without waiting for it to serve (a kill may come first).
func launch(p *devProcess) {
	p.t.Helper()
	cmd := exec.Command(p.bin, append([]string{"dev", "--devnet-rpc", p.rpc, "--data", p.dir, "--addr", "127.0.0.1:0"}, p.extraArgs...)...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.cmd = cmd
	p.mu.Unlock()
}

// killableDev runs the built binary's dev gateway on a devnet reached through the killer's proxy,
// until the test ends.
func killableDev(t *testing.T) (*devnet.Chain, *killer, *devProcess) {
	t.Helper()
	bin := buildBinary(t)
	dn, err := devnet.Start(devnet.Config{BlockTime: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	k := &killer{t: t, upstream: dn.RPCURL(), killed: make(chan string, 1), done: map[string]map[string]bool{}, raws: map[string]int{}}
	proxy := httptest.NewServer(k)
	t.Cleanup(proxy.Close)
	p := &devProcess{t: t, bin: bin, rpc: proxy.URL, dir: t.TempDir()}
	p.start()
	t.Cleanup(func() {
		if p.cmd != nil && p.cmd.ProcessState == nil {
			p.stop(syscall.SIGTERM)
		}
	})
	return dn, k, p
}

// The gateway is killed (SIGKILL) between signing and broadcasting, and between broadcasting and
// the receipt, of each of a sweep's two transactions (the sweeper's deployment, then the sweep):
// after every restart exactly one transaction per nonce is mined, the same signed one that was
// stored, nothing is swept twice and the holdings are exact.
func TestSweepSurvivesKills(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dn, k, p := killableDev(t)
	var addrs []common.Address
	for i := range 3 {
		d := p.call("POST", "/api/v1/orders", fmt.Sprintf(`{"orderReference":"crash-%d","amount":"4","currency":"USDT","chainId":"devnet"}`, i))
		addr := common.HexToAddress(d["address"].(string))
		addrs = append(addrs, addr)
		if _, err := dn.Transfer(context.Background(), "USDT", addr, big.NewInt(4_000_000)); err != nil {
			t.Fatal(err)
		}
		id := d["orderId"].(string)
		for deadline := time.Now().Add(20 * time.Second); p.call("GET", "/api/v1/orders/"+id, "")["status"] != "completed"; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("order %s was not completed", id)
			}
		}
	}
	// Each restart's kill: the deployment signed, then sent; the sweep signed, then sent. The mode
	// is set before the process starts, so that nothing it does passes before it.
	var stored []string
	modes := []string{"before-send", "before-receipt", "before-send", "before-receipt"}
	arm := func(mode string) {
		k.mu.Lock()
		k.mode, k.proc, k.sent = mode, p, ""
		k.mu.Unlock()
	}
	arm(modes[0])
	if d := p.call("POST", "/api/v1/sweeps", `{"chainId":"devnet"}`); len(d["sweeps"].([]any)) != 1 {
		t.Fatalf("the sweep request: %v", d)
	}
	for i, mode := range modes {
		var hash string
		select {
		case hash = <-k.killed:
		case <-time.After(30 * time.Second):
			t.Fatalf("restart %d (%s): no transaction to kill at", i, mode)
		}
		p.process().Wait()
		if mode == "before-send" {
			stored = append(stored, hash)
		} else if hash != stored[len(stored)-1] {
			t.Fatalf("restart %d: sent %s, but %s was the one stored: a second signature", i, hash, stored[len(stored)-1])
		}
		if i+1 < len(modes) {
			arm(modes[i+1])
			launch(p) // the next kill may come before it serves: it is not waited for
		} else {
			arm("")
			p.start()
		}
	}
	var sweep map[string]any
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		sweeps := p.call("GET", "/api/v1/sweeps", "")["sweeps"].([]any)
		if sweep = sweeps[0].(map[string]any); sweep["status"] == "completed" || sweep["status"] == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sweep is %v after the kills", sweep["status"])
		}
	}
	if sweep["status"] != "completed" || sweep["moved"] != "12" || sweep["txHash"] != stored[1] {
		t.Fatalf("the sweep after the kills: %v (stored %v)", sweep, stored)
	}
	hot := p.call("GET", "/api/v1/wallets", "")["wallets"].([]any)[0].(map[string]any)["address"].(string)
	waitBalance(t, dn.RPCURL(), "USDT", hot, big.NewInt(12_000_000))
	for _, a := range addrs {
		waitBalance(t, dn.RPCURL(), "USDT", a.Hex(), new(big.Int))
	}
	// One transaction per nonce: the hot wallet's nonce is its two transactions, each signed once.
	client, err := ethclient.Dial(dn.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if n, err := client.NonceAt(context.Background(), common.HexToAddress(hot), nil); err != nil || n != 2 {
		t.Fatalf("the hot wallet sent %d transactions (%v), want 2", n, err)
	}
	txs := p.call("GET", "/api/v1/outgoing-transactions", "")["transactions"].([]any)
	if len(txs) != 2 {
		t.Fatalf("%d outgoing transactions, want 2", len(txs))
	}
	for _, x := range txs {
		tx := x.(map[string]any)
		if tx["status"] != "confirmed" || len(tx["attempts"].([]any)) != 1 {
			t.Fatalf("outgoing %v: %v with %d attempts", tx["id"], tx["status"], len(tx["attempts"].([]any)))
		}
	}
	k.mu.Lock()
	for _, h := range stored {
		if k.raws[h] == 0 {
			t.Errorf("%s was never sent to the node", h)
		}
	}
	k.mu.Unlock()
	p.stop(syscall.SIGTERM)
	config := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(config, []byte(`{"chains":{"devnet":{"rpcUrls":["`+dn.RPCURL()+`"]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runCLI(t, "ledger", "verify", "--data", p.dir, "--config", config); err != nil {
		t.Fatalf("ledger verify after the kills: %v\n%s", err, out)
	} else if !strings.Contains(out, "on 1 chains") {
		t.Fatalf("ledger verify did not check the chain: %s", out)
	}
}
