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

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// buildBinary builds the stablegate binary once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "stablegate-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "stablegate")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// devProcess is the stablegate binary running `dev` on a devnet and a data directory: started,
// stopped and started again on the same state, with its API at hand.
type devProcess struct {
	t         *testing.T
	bin, rpc  string
	dir       string
	base, key string
	secret    string
	cmd       *exec.Cmd
	mu        sync.Mutex
	logs      strings.Builder // stderr, when kept
	keepLogs  bool
	extraArgs []string
}

// start runs the process and waits until it serves.
func (p *devProcess) start() {
	t := p.t
	t.Helper()
	cmd := exec.Command(p.bin, append([]string{"dev", "--devnet-rpc", p.rpc, "--data", p.dir, "--addr", "127.0.0.1:0"}, p.extraArgs...)...)
	stdout, _ := cmd.StdoutPipe()
	if p.keepLogs {
		stderr, _ := cmd.StderrPipe()
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				p.mu.Lock()
				p.logs.WriteString(sc.Text() + "\n")
				p.mu.Unlock()
			}
		}()
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.cmd = cmd // at once: a test may kill it before it says it serves
	p.mu.Unlock()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "stablegate dev is running at "); ok {
			p.base = u
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	raw, _ := os.ReadFile(filepath.Join(p.dir, "dev-credentials.json"))
	var creds devCredentials
	json.Unmarshal(raw, &creds)
	p.key, p.secret = creds.APIKey, creds.APISecret
	if p.base == "" || p.key == "" {
		t.Fatal("gateway did not start")
	}
}

// process is the running process (its cmd), read under the lock: a test's proxy may kill it
// while start still runs.
func (p *devProcess) process() *exec.Cmd {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd
}

// stop sends the signal and waits for the process to exit.
func (p *devProcess) stop(sig os.Signal) error {
	p.cmd.Process.Signal(sig)
	return p.cmd.Wait()
}

// log returns what the process wrote to stderr so far (with keepLogs).
func (p *devProcess) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// call sends an API request with the demo project's key and secret and returns its data.
func (p *devProcess) call(method, path, body string) map[string]any {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+p.key)
	req.Header.Set("x-api-secret", p.secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Data map[string]any }
	json.NewDecoder(res.Body).Decode(&out)
	return out.Data
}

// The gateway process is killed (SIGKILL, no shutdown) between blocks, while it scans and while it
// delivers webhooks, and restarted on the same chain and database: no block is skipped, nothing is
// counted twice, and every order's order.completed webhook arrives, always with the same event id.
func TestKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dn, err := devnet.Start(devnet.Config{}) // blocks only when the test mines
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Close()
	p := &devProcess{t: t, bin: bin, rpc: dn.RPCURL(), dir: t.TempDir(), extraArgs: []string{"--webhook-timeout", "1s"}}
	call := p.call
	kill := func() { p.stop(syscall.SIGKILL) }

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

	p.start()
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
		kill()
		dn.Mine()
		p.start()
	}
	defer kill()
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

// SIGTERM while payments are being scanned and webhooks delivered: the process stops within
// seconds, exits 0, logs no error (no step or delivery cut off by a closed database), and a
// restart finishes what was in flight — every order completed once, every webhook delivered.
func TestGracefulStop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dn, err := devnet.Start(devnet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Close()
	p := &devProcess{t: t, bin: bin, rpc: dn.RPCURL(), dir: t.TempDir(), keepLogs: true, extraArgs: []string{"--webhook-timeout", "2s"}}
	call := p.call
	var mu sync.Mutex
	hooks := map[string]int{} // event id → times received
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ ID, Type string }
		json.NewDecoder(r.Body).Decode(&ev)
		time.Sleep(300 * time.Millisecond) // deliveries are in flight when the signal comes
		if ev.Type == "order.completed" {
			mu.Lock()
			hooks[ev.ID]++
			mu.Unlock()
		}
	}))
	defer receiver.Close()

	p.start()
	call("PUT", "/api/v1/webhook/endpoint", `{"url":"`+receiver.URL+`"}`)
	var ids []string
	for i := range 6 {
		d := call("POST", "/api/v1/orders", fmt.Sprintf(`{"orderReference":"g%d","amount":"3","currency":"USDT","chainId":"devnet"}`, i))
		ids = append(ids, d["orderId"].(string))
		if _, err := dn.Transfer(context.Background(), "USDT", common.HexToAddress(d["address"].(string)), big.NewInt(3_000_000)); err != nil {
			t.Fatal(err)
		}
		dn.Mine()
		if i == 3 {
			time.Sleep(400 * time.Millisecond) // some completed, their webhooks on the way
		}
	}
	stopped := time.Now()
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("after SIGTERM: %v\n%s", err, p.log())
	}
	if d := time.Since(stopped); d > 15*time.Second {
		t.Errorf("stopping took %s", d)
	}
	logs := p.log()
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "database is closed") || strings.Contains(line, "closed pool") {
			t.Errorf("logged while stopping: %s", line)
		}
	}
	if !strings.Contains(logs, "background services stopped") {
		t.Errorf("no word of the services stopping:\n%s", logs)
	}

	p.start()
	defer p.stop(syscall.SIGTERM)
	dn.Mine()
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids {
		for call("GET", "/api/v1/orders/"+id, "")["status"] != "completed" {
			if time.Now().After(deadline) {
				t.Fatalf("order %s never completed after the restart", id)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for {
		mu.Lock()
		n := len(hooks)
		mu.Unlock()
		if n == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d order.completed webhooks arrived", n, len(ids))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
