package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/stablegate/stablegate/internal/devnet"
	"github.com/stablegate/stablegate/internal/testpg"
)

// Two `stablegate serve` processes on one PostgreSQL database and one chain, each asked for
// sweeps: the hot wallet's nonces are gapless and never used twice, whichever process holds its
// lease, and when the one that sends stops, the other takes over.
func TestTwoServersOnePostgreSQLSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dsn := testpg.DSN(t)
	dn, err := devnet.Start(devnet.Config{BlockTime: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	work := t.TempDir()
	keyFile, config := filepath.Join(work, "master.key"), filepath.Join(work, "config.json")
	os.WriteFile(keyFile, []byte(strings.Repeat("ab", 32)+"\n"), 0o600)
	os.WriteFile(config, []byte(`{"chains":{"devnet":{"rpcUrls":["`+dn.RPCURL()+`"],"pollInterval":"200ms"}}}`), 0o600)
	flags := []string{"--database", dsn, "--master-key-file", keyFile, "--config", config}
	out, _, err := runCLI(t, append([]string{"projects", "create", "--name", "Two", "--website", "https://two.example.com", "--json"}, flags...)...)
	var created createdJSON
	if err != nil || json.Unmarshal([]byte(out), &created) != nil {
		t.Fatalf("projects create: %v %s", err, out)
	}
	type server struct {
		base string
		cmd  *exec.Cmd
	}
	var servers []*server
	for range 2 {
		addr := freeAddr(t)
		cmd := exec.Command(bin, append([]string{"serve", "--addr", addr}, flags...)...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s := &server{base: "http://" + addr, cmd: cmd}
		t.Cleanup(func() {
			if s.cmd.ProcessState == nil {
				s.cmd.Process.Signal(syscall.SIGTERM)
				s.cmd.Wait()
			}
		})
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if res, err := http.Get(s.base + "/health"); err == nil {
				res.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("serve did not start")
			}
		}
		servers = append(servers, s)
	}
	call := func(s *server, method, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+created.Test.APIKey)
		req.Header.Set("x-api-secret", created.Test.APISecret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var env struct {
			Success bool
			Data    map[string]any
		}
		if json.Unmarshal(raw, &env) != nil || !env.Success {
			t.Fatalf("%s %s: %s", method, path, raw)
		}
		return env.Data
	}
	hot := call(servers[0], "GET", "/api/v1/wallets", "")["wallets"].([]any)[0].(map[string]any)["address"].(string)
	if _, err := devnet.Fund(context.Background(), dn.RPCURL(), commonAddr(hot), new(big.Int).Mul(big.NewInt(1e18), big.NewInt(10))); err != nil {
		t.Fatal(err)
	}
	var sweeps []string
	for round := range 3 {
		if round == 2 {
			servers[0].cmd.Process.Signal(syscall.SIGTERM) // one stops: the other sends, at once or once its lease runs out
			servers[0].cmd.Wait()
		}
		s := servers[min(round, 1)] // the first round asks the first process, the others the second
		for i := range 3 {
			d := call(servers[1], "POST", "/api/v1/orders", fmt.Sprintf(`{"orderReference":"two-%d-%d","amount":"2","currency":"USDT","chainId":"devnet"}`, round, i))
			if _, err := dn.Transfer(context.Background(), "USDT", commonAddr(d["address"].(string)), big.NewInt(2_000_000)); err != nil {
				t.Fatal(err)
			}
			id := d["orderId"].(string)
			for deadline := time.Now().Add(20 * time.Second); call(servers[1], "GET", "/api/v1/orders/"+id, "")["status"] != "completed"; time.Sleep(100 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("order %s was not completed", id)
				}
			}
		}
		for _, sw := range call(s, "POST", "/api/v1/sweeps", `{"chainId":"devnet"}`)["sweeps"].([]any) {
			sweeps = append(sweeps, sw.(map[string]any)["sweepId"].(string))
		}
		// Each round's sweep completes before the next is asked for.
		for _, id := range sweeps {
			for deadline := time.Now().Add(60 * time.Second); call(servers[1], "GET", "/api/v1/sweeps/"+id, "")["status"] != "completed"; time.Sleep(200 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("round %d: sweep %s is %v", round, id, call(servers[1], "GET", "/api/v1/sweeps/"+id, "")["status"])
				}
			}
		}
	}
	txs := call(servers[1], "GET", "/api/v1/outgoing-transactions", "")["transactions"].([]any)
	nonces := map[float64]bool{}
	for _, x := range txs {
		tx := x.(map[string]any)
		n := tx["nonce"].(float64)
		if tx["status"] != "confirmed" || nonces[n] {
			t.Fatalf("outgoing %v: %v, nonce %v (again: %v)", tx["id"], tx["status"], n, nonces[n])
		}
		nonces[n] = true
	}
	for n := range len(txs) {
		if !nonces[float64(n)] {
			t.Fatalf("nonce %d is missing: %v", n, nonces)
		}
	}
	client, err := ethclient.Dial(dn.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if n, err := client.NonceAt(context.Background(), commonAddr(hot), nil); err != nil || n != uint64(len(txs)) || len(txs) != 4 {
		t.Fatalf("the hot wallet sent %d transactions (%v); %d are stored, want 4 (the sweeper, three sweeps)", n, err, len(txs))
	}
	waitBalance(t, dn.RPCURL(), "USDT", hot, big.NewInt(18_000_000))
}

func commonAddr(s string) common.Address { return common.HexToAddress(s) }
