package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
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

	"github.com/stablegate/stablegate/internal/devnet"
)

// The gateway process is killed (SIGKILL, no shutdown) between blocks, while it scans and while it
// delivers webhooks, and restarted on the same chain and database: no block is skipped, nothing is
// counted twice, and every order's order.completed webhook arrives, always with the same event id.
func TestKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "stablegate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dn, err := devnet.Start(devnet.Config{}) // blocks only when the test mines
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Close()
	dir := t.TempDir()
	var base, key, secret string
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "dev", "--devnet-rpc", dn.RPCURL(), "--data", dir, "--addr", "127.0.0.1:0", "--webhook-timeout", "1s")
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = nil // its logs are not the test's
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "stablegate dev is running at "); ok {
				base = u
				break
			}
		}
		go func() {
			for sc.Scan() {
			}
		}()
		raw, _ := os.ReadFile(filepath.Join(dir, "dev-credentials.json"))
		var creds devCredentials
		json.Unmarshal(raw, &creds)
		key, secret = creds.APIKey, creds.APISecret
		if base == "" || key == "" {
			t.Fatal("gateway did not start")
		}
		return cmd
	}
	kill := func(cmd *exec.Cmd) {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	call := func(method, path, body string) map[string]any {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("x-api-secret", secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out struct{ Data map[string]any }
		json.NewDecoder(res.Body).Decode(&out)
		return out.Data
	}

	// The receiver takes a while to answer, so kills land while deliveries are in flight.
	var mu sync.Mutex
	hooks := map[string]map[string]int{} // order id → event id → times received
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			ID, Type string
			Data     struct{ OrderID string }
		}
		json.NewDecoder(r.Body).Decode(&ev)
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
		if ev.Type == "order.completed" {
			mu.Lock()
			if hooks[ev.Data.OrderID] == nil {
				hooks[ev.Data.OrderID] = map[string]int{}
			}
			hooks[ev.Data.OrderID][ev.ID]++
			mu.Unlock()
		}
	}))
	defer receiver.Close()

	cmd := start()
	if d := call("PUT", "/api/v1/webhook/endpoint", `{"url":"`+receiver.URL+`"}`); d["enabled"] != true {
		t.Fatalf("set endpoint: %v", d)
	}
	type order struct {
		id   string
		addr common.Address
	}
	var orders []order
	for round := range 6 {
		for i := range 3 {
			d := call("POST", "/api/v1/orders", fmt.Sprintf(`{"orderReference":"r%d-%d","amount":"7","currency":"USDT","chainId":"devnet"}`, round, i))
			o := order{d["orderId"].(string), common.HexToAddress(d["address"].(string))}
			orders = append(orders, o)
			if _, err := dn.Transfer(context.Background(), "USDT", o.addr, big.NewInt(7_000_000)); err != nil {
				t.Fatal(err)
			}
			dn.Mine()
		}
		// Kill at a different moment each round: right away, or after letting it scan a little.
		time.Sleep(time.Duration(round*60) * time.Millisecond)
		kill(cmd)
		dn.Mine()
		cmd = start()
	}
	defer kill(cmd)
	dn.Mine()
	deadline := time.Now().Add(20 * time.Second)
	for _, o := range orders {
		for {
			d := call("GET", "/api/v1/orders/"+o.id, "")
			if d["status"] == "completed" {
				if d["paidAmount"] != "7" || len(d["payments"].([]any)) != 1 {
					t.Errorf("order %s: paid %v in %d payments, want 7 in 1", o.id, d["paidAmount"], len(d["payments"].([]any)))
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("order %s never completed: %v", o.id, d)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Deliveries cut short by a kill come back when their lease ends (webhook timeout + 5 s).
	deadline = time.Now().Add(30 * time.Second)
	for {
		d := call("GET", "/api/v1/webhook/events?deliveryStatus=pending", "")
		mu.Lock()
		got := len(hooks)
		mu.Unlock()
		if len(d["events"].([]any)) == 0 && got == len(orders) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d orders' webhooks arrived; pending: %v", got, len(orders), d["events"])
		}
		time.Sleep(200 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	again := 0
	for _, o := range orders {
		if len(hooks[o.id]) != 1 {
			t.Errorf("order %s: order.completed arrived under %d event ids", o.id, len(hooks[o.id]))
		}
		for _, n := range hooks[o.id] {
			again += n - 1
		}
	}
	t.Logf("%d webhooks arrived again after a kill (at least once)", again)
}
