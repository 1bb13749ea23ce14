package evm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/stablegate/stablegate/internal/api"
	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/devnet"
	"github.com/stablegate/stablegate/internal/evm"
	"github.com/stablegate/stablegate/internal/evm/evmtest"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/store"
	"github.com/stablegate/stablegate/internal/store/sqlite"
)

const abandon = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"

// world is a devnet, a gateway on SQLite serving its API over HTTP, and a scanner on the devnet.
type world struct {
	t       *testing.T
	chain   *devnet.Chain
	store   *store.Store
	svc     *gateway.Service
	api     string
	key     string
	secret  string
	live    [2]string // the live key and secret
	scanner *evm.Scanner
	rpc     string
}

func newWorld(t *testing.T, confirmations int, rpcThrough func(string) string) *world {
	t.Helper()
	c, err := devnet.Start(devnet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "e2e.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kr, err := gateway.NewKeyring(make([]byte, gateway.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	// The gateway's registry has the devnet's rule as the scanner applies it (the wiring's job).
	reg, err := chain.Builtin().Configure("devnet", confirmations, "none")
	if err != nil {
		t.Fatal(err)
	}
	svc := &gateway.Service{Store: st, Keyring: kr, Registry: reg}
	evmX, _ := chain.AccountXPub(abandon, chain.EVM)
	tronX, _ := chain.AccountXPub(abandon, chain.TRON)
	cp, err := svc.CreateProject(context.Background(), gateway.CreateProjectParams{Live: true, Name: "Shop", Website: "https://shop.example.com",
		XPubs: map[chain.Protocol]string{chain.EVM: evmX, chain.TRON: tronX}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(api.New(svc, api.Config{PublicURL: "http://pay.example.com"}))
	t.Cleanup(hs.Close)
	w := &world{t: t, chain: c, store: st, svc: svc, api: hs.URL, key: cp.Keys[0].Key, secret: cp.Keys[0].Secret,
		live: [2]string{cp.Keys[1].Key, cp.Keys[1].Secret}, rpc: c.RPCURL()}
	if rpcThrough != nil {
		w.rpc = rpcThrough(c.RPCURL())
	}
	w.scanner = w.newScanner(confirmations)
	return w
}

func (w *world) newScanner(confirmations int) *evm.Scanner {
	client, err := evm.NewClient([]string{w.rpc}, fastConfig())
	if err != nil {
		w.t.Fatal(err)
	}
	start := uint64(1)
	return &evm.Scanner{Chain: testChain(w.t, "devnet", confirmations), Client: client, Gateway: w.svc, StartBlock: &start, MaxRange: 50}
}

// testChain is a chain of the built-in registry as a test scans it: after confirmations (when >
// 0), by the count alone (no finality tag).
func testChain(t *testing.T, slug string, confirmations int) chain.Chain {
	reg, err := chain.Builtin().Configure(slug, confirmations, "none")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := reg.Lookup(slug)
	return c
}

func (w *world) call(method, path, body string) map[string]any {
	w.t.Helper()
	req, _ := http.NewRequest(method, w.api+path, bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+w.key)
	req.Header.Set("x-api-secret", w.secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil || out["success"] != true {
		w.t.Fatalf("%s %s: %s", method, path, raw)
	}
	return out["data"].(map[string]any)
}

func (w *world) order(amount, currency string) (id string, addr common.Address) {
	w.t.Helper()
	d := w.call("POST", "/api/v1/orders", fmt.Sprintf(`{"orderReference":"%s","amount":"%s","currency":"%s","chainId":"devnet"}`,
		gateway.NewID("ref"), amount, currency))
	return d["orderId"].(string), common.HexToAddress(d["address"].(string))
}

func (w *world) get(id string) map[string]any {
	w.t.Helper()
	return w.call("GET", "/api/v1/orders/"+id, "")
}

func (w *world) pay(currency string, to common.Address, base int64) common.Hash {
	w.t.Helper()
	h, err := w.chain.Transfer(context.Background(), currency, to, big.NewInt(base))
	if err != nil {
		w.t.Fatal(err)
	}
	return h
}

// scan runs the scanner until it has caught up with the head.
// scanToHead scans until the scanner has scanned the chain's real head: through a lagging node, a
// step can report "caught up" to the lower head that node gave.
func (w *world) scanToHead() {
	w.t.Helper()
	direct, err := evm.NewClient([]string{w.chain.RPCURL()}, fastConfig())
	if err != nil {
		w.t.Fatal(err)
	}
	head, err := direct.BlockNumber(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	for range 200 {
		if w.scan(); w.scanner.Health().Scanned >= head {
			return
		}
	}
	w.t.Fatalf("the scanner never reached block %d: %+v", head, w.scanner.Health())
}

func (w *world) scan() {
	w.t.Helper()
	var last error
	for range 200 {
		caughtUp, err := w.scanner.RunOnce(context.Background())
		if err != nil {
			last = err
			continue // a fault or a reorg: the next step retries
		}
		if caughtUp {
			return
		}
	}
	w.t.Fatalf("the scanner never caught up; last error: %v", last)
}

func (w *world) events(orderID string) []string {
	rows, err := w.store.DB().Query(`SELECT type, data FROM events ORDER BY created_at, rowid`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ, data string
		rows.Scan(&typ, &data)
		if bytes.Contains([]byte(data), []byte(orderID)) {
			out = append(out, typ)
		}
	}
	return out
}

func expect(t *testing.T, d map[string]any, fields map[string]any) {
	t.Helper()
	for k, v := range fields {
		if d[k] != v {
			t.Errorf("%s = %v, want %v (order %v)", k, d[k], v, d)
		}
	}
}

func TestExactPaymentCompletesAfterConfirmations(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 3, nil)
	id, addr := w.order("12.5", "USDT")
	tx := w.pay("USDT", addr, 12_500_000)
	w.chain.Mine()
	w.scan()
	// Only a completed order has a txHash: the payment that completed it.
	expect(t, w.get(id), map[string]any{"status": "confirming", "paidAmount": "12.5", "txHash": nil})
	w.chain.Mine()
	w.scan()
	d := w.get(id)
	expect(t, d, map[string]any{"status": "confirming"})
	if p := d["payments"].([]any)[0].(map[string]any); p["confirmations"] != float64(2) || p["amount"] != "12.5" {
		t.Errorf("payment = %v", p)
	}
	w.chain.Mine()
	w.scan()
	d = w.get(id)
	expect(t, d, map[string]any{"status": "completed", "overpaid": false, "multiplePayments": false, "txHash": tx.Hex()})
	if d["completedAt"] == nil {
		t.Error("completedAt missing")
	}
	if ev := w.events(id); len(ev) != 1 || ev[0] != "order.completed" {
		t.Errorf("events = %v, want one order.completed", ev)
	}
	// More blocks and scans change nothing and count nothing twice.
	w.chain.Mine()
	w.scan()
	expect(t, w.get(id), map[string]any{"status": "completed", "paidAmount": "12.5"})
	if ev := w.events(id); len(ev) != 1 {
		t.Errorf("events after more blocks = %v", ev)
	}
}

func TestPaymentKinds(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	two, twoAddr := w.order("10", "USDC")
	short, shortAddr := w.order("10", "USDT")
	over, overAddr := w.order("10", "USDT")
	dai, daiAddr := w.order("1.000000000000000001", "DAI")
	w.pay("USDC", twoAddr, 4_000_000)
	w.pay("USDT", shortAddr, 9_999_999)
	w.pay("USDT", overAddr, 10_500_000)
	w.pay("DAI", daiAddr, 0) // a zero transfer first
	w.chain.Mine()
	w.pay("USDC", twoAddr, 6_000_000)
	daiBase, _ := new(big.Int).SetString("1000000000000000001", 10)
	if _, err := w.chain.Transfer(context.Background(), "DAI", daiAddr, daiBase); err != nil {
		t.Fatal(err)
	}
	w.chain.Mine()
	w.scan()
	expect(t, w.get(two), map[string]any{"status": "completed", "multiplePayments": true, "paidAmount": "10"})
	expect(t, w.get(short), map[string]any{"status": "underpaid", "paidAmount": "9.999999"})
	expect(t, w.get(over), map[string]any{"status": "completed", "overpaid": true, "paidAmount": "10.5"})
	expect(t, w.get(dai), map[string]any{"status": "completed", "paidAmount": "1.000000000000000001"})
	// A top-up completes the underpaid order.
	w.pay("USDT", shortAddr, 1)
	w.chain.Mine()
	w.scan()
	expect(t, w.get(short), map[string]any{"status": "completed", "multiplePayments": true, "paidAmount": "10"})
	if ev := w.events(short); len(ev) != 2 || ev[0] != "order.underpaid" || ev[1] != "order.completed" {
		t.Errorf("underpaid order events = %v", ev)
	}
}

// An order is paid only by its own token: every other registry token of its chain, whatever the
// amount in base units, is recorded as a payment in the wrong currency, reported, and never counted.
// (The attack: 10^8 base units of 18-decimal DAI — a ten-billionth of a dollar — are "100" in a
// 6-decimal token.)
func TestOnlyTheOrdersOwnTokenPaysIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	decimals := map[string]int{"USDT": 6, "USDC": 6, "DAI": 18}
	base := func(currency string, units int64) *big.Int {
		return new(big.Int).Mul(big.NewInt(units), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals[currency])), nil))
	}
	type pair struct{ order, paid string }
	var pairs []pair
	ids := map[pair]string{}
	addrs := map[pair]common.Address{}
	for _, want := range []string{"USDT", "USDC", "DAI"} {
		for _, paid := range []string{"USDT", "USDC", "DAI"} {
			if paid == want {
				continue
			}
			p := pair{want, paid}
			pairs = append(pairs, p)
			ids[p], addrs[p] = w.order("100", want)
			// The order's amount in the order's base units (where the wallet holds that much), then the
			// same sum in the other token's.
			first := big.NewInt(1)
			if decimals[want] <= decimals[paid] {
				first = base(want, 100)
			}
			for _, v := range []*big.Int{first, base(paid, 100)} {
				if _, err := w.chain.Transfer(context.Background(), paid, addrs[p], v); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	w.chain.Mine()
	w.scan()
	for _, p := range pairs {
		d := w.get(ids[p])
		expect(t, d, map[string]any{"status": "pending", "paidAmount": "0", "wrongCurrency": true, "txHash": nil})
		if d["payments"] != nil {
			t.Errorf("%s order paid in %s: payments %v", p.order, p.paid, d["payments"])
		}
		wrong, _ := d["wrongCurrencyPayments"].([]any)
		if len(wrong) != 2 || wrong[0].(map[string]any)["currency"] != p.paid || wrong[1].(map[string]any)["amount"] != "100" {
			t.Errorf("%s order paid in %s: wrongCurrencyPayments %v", p.order, p.paid, wrong)
		}
		if ev := w.events(ids[p]); len(ev) != 2 || ev[0] != "order.wrong_currency" || ev[1] != "order.wrong_currency" {
			t.Errorf("%s order paid in %s: events %v", p.order, p.paid, ev)
		}
	}
	// The ledger took none of it.
	bal := w.call("GET", "/api/v1/balances", "")
	if raw, _ := json.Marshal(bal); strings.Contains(string(raw), `"100"`) || strings.Contains(string(raw), `"200"`) {
		t.Errorf("balances after wrong-currency transfers: %s", raw)
	}
	// Its own token, and only it, completes each order.
	for _, p := range pairs {
		if _, err := w.chain.Transfer(context.Background(), p.order, addrs[p], base(p.order, 100)); err != nil {
			t.Fatal(err)
		}
	}
	w.chain.Mine()
	w.scan()
	for _, p := range pairs {
		d := w.get(ids[p])
		expect(t, d, map[string]any{"status": "completed", "paidAmount": "100", "wrongCurrency": true, "multiplePayments": false})
		if ev := w.events(ids[p]); len(ev) != 3 || ev[2] != "order.completed" {
			t.Errorf("%s order: events %v", p.order, ev)
		}
	}
}

func TestNonRegistryTokenIsRecordedAsIgnored(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	id, addr := w.order("1", "USDT")
	// A copy of the test token, deployed at an address outside the registry.
	fake := deployFakeToken(t, w.chain)
	if _, err := devnet.SendContract(context.Background(), w.chain.RPCURL(), fake, addr, big.NewInt(1_000_000)); err != nil {
		t.Fatal(err)
	}
	w.chain.Mine()
	w.scan()
	expect(t, w.get(id), map[string]any{"status": "pending", "paidAmount": "0"})
	// It is recorded, as ignored: the merchant can see what was sent.
	trs, err := w.store.OrderTransfers(context.Background(), id)
	if err != nil || len(trs) != 1 || trs[0].Credited() || trs[0].Amount.Int64() != 1_000_000 || !strings.EqualFold(trs[0].Token, fake.Hex()) {
		t.Fatalf("transfers = %+v, %v", trs, err)
	}
	// Asking the node for the registry tokens only, it is not seen at all.
	w.scanner = w.newScanner(1)
	w.scanner.RegistryTokensOnly = true
	id2, addr2 := w.order("1", "USDT")
	if _, err := devnet.SendContract(context.Background(), w.chain.RPCURL(), fake, addr2, big.NewInt(1_000_000)); err != nil {
		t.Fatal(err)
	}
	w.chain.Mine()
	w.scan()
	if trs, _ := w.store.OrderTransfers(context.Background(), id2); len(trs) != 0 {
		t.Fatalf("registry tokens only, yet %d transfers recorded", len(trs))
	}
}

func TestReorgBeforeConfirmation(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 3, nil)
	id, addr := w.order("5", "USDT")
	w.pay("USDT", addr, 5_000_000)
	w.chain.Mine()
	w.scan()
	expect(t, w.get(id), map[string]any{"status": "confirming"})
	// The block with the payment is replaced by a branch without it.
	if err := w.chain.Reorg(context.Background(), 1, true); err != nil {
		t.Fatal(err)
	}
	w.scan()
	expect(t, w.get(id), map[string]any{"status": "pending", "paidAmount": "0"})
	if ev := w.events(id); len(ev) != 1 || ev[0] != "order.reorged" {
		t.Errorf("events = %v, want order.reorged", ev)
	}
	// Paid again, re-mined, reorged with the payment kept: counted once.
	w.pay("USDT", addr, 5_000_000)
	w.chain.Mine()
	w.scan()
	if err := w.chain.Reorg(context.Background(), 1, false); err != nil {
		t.Fatal(err)
	}
	w.chain.Mine()
	w.chain.Mine()
	w.scan()
	d := w.get(id)
	expect(t, d, map[string]any{"status": "completed", "paidAmount": "5", "multiplePayments": false})
	if n := len(d["payments"].([]any)); n != 1 {
		t.Errorf("%d payments recorded, want 1", n)
	}
}

// The RPC endpoint fails half its calls and limits log ranges: every payment is still found.
// (Timeouts are left to TestLogsThroughFaults: here each would cost the client's timeout, on the
// hundred-odd calls of the blocks read by hash.)
func TestFaultyProvider(t *testing.T) {
	t.Parallel()
	var proxy *evmtest.Proxy
	w := newWorld(t, 1, func(upstream string) string {
		p, err := evmtest.Start(upstream, evmtest.Faults{Rate: 0.5, MaxLogRange: 3, Seed: 11,
			Kinds: []evmtest.Kind{evmtest.RateLimit, evmtest.ServerError, evmtest.Drop}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		proxy = p
		return p.URL()
	})
	var ids []string
	for i := range 8 {
		id, addr := w.order("2", "USDT")
		ids = append(ids, id)
		w.pay("USDT", addr, 2_000_000)
		w.chain.Mine()
		if i%3 == 0 {
			w.chain.Mine()
		}
	}
	// Below the reorg window logs are read by range (refused beyond 3 blocks), within it by hash.
	for range evm.ReorgWindow + 10 {
		w.chain.Mine()
	}
	w.scan()
	for _, id := range ids {
		expect(t, w.get(id), map[string]any{"status": "completed", "paidAmount": "2"})
	}
	if _, injected, refused := proxy.Stats(); injected == 0 || refused == 0 {
		t.Errorf("faults not exercised: %d injected, %d refused", injected, refused)
	}
}

// Half of the provider's answers to eth_blockNumber, eth_getLogs and eth_getBlockByNumber come
// from a node two blocks behind (a load balancer in front of nodes not quite in step): it answers the newest
// blocks with no logs and no error, or with no block. The scanner, following the head block by
// block, still finds every payment, and takes no missing block for a reorg.
func TestLaggingNodeBehindLoadBalancer(t *testing.T) {
	t.Parallel()
	var proxy *evmtest.Proxy
	w := newWorld(t, 1, func(upstream string) string {
		p, err := evmtest.Start(upstream, evmtest.Faults{Lag: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		proxy = p
		return p.URL()
	})
	w.scanner.Chain.Ephemeral = false // the devnet stands in for a real chain, whose blocks do not vanish
	var ids []string
	for range 6 {
		id, addr := w.order("3", "USDC")
		ids = append(ids, id)
		w.pay("USDC", addr, 3_000_000)
		w.chain.Mine()
		w.scanToHead() // near the head, as a live scanner is
	}
	w.chain.Mine()
	w.scanToHead()
	for _, id := range ids {
		expect(t, w.get(id), map[string]any{"status": "completed", "paidAmount": "3"})
		if ev := w.events(id); len(ev) != 1 || ev[0] != "order.completed" {
			t.Errorf("events of %s = %v, want order.completed alone", id, ev)
		}
	}
	if proxy.Lagged() == 0 {
		t.Error("the lagging node never answered")
	}

	// For a while every answer comes from the lagging node, which lacks the block the scanner
	// stopped at — the block of a payment: that is no reorg (nothing is undone); the scanner waits,
	// then goes on.
	id, addr := w.order("3", "USDC")
	w.pay("USDC", addr, 3_000_000)
	w.chain.Mine()
	w.scanToHead()
	proxy.Set(evmtest.Faults{Lag: 2, LagAll: true})
	for range 5 {
		w.scanner.RunOnce(context.Background())
	}
	proxy.Set(evmtest.Faults{Lag: 2})
	w.chain.Mine()
	w.scanToHead()
	for _, id := range append(ids, id) {
		expect(t, w.get(id), map[string]any{"status": "completed", "paidAmount": "3"})
		if ev := w.events(id); len(ev) != 1 || ev[0] != "order.completed" {
			t.Errorf("events of %s after a lagging spell = %v, want order.completed alone", id, ev)
		}
	}
}

// Providers bill by the call: following the head costs five calls per block (and one more with a
// finality tag). What the scanner asks for is counted, not the attempts a loaded machine's timeouts
// add (the proxy sees those).
func TestCallsPerBlock(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	w.chain.Mine()
	w.scan()
	before := w.scanner.Client.Calls()
	const blocks = 20
	for i := range blocks {
		if i%4 == 0 {
			_, addr := w.order("1", "USDT")
			w.pay("USDT", addr, 1_000_000)
		}
		w.chain.Mine()
		w.scan()
	}
	perBlock := float64(w.scanner.Client.Calls()-before) / blocks
	t.Logf("%.1f calls per block", perBlock)
	if perBlock > 5 {
		t.Errorf("%.1f JSON-RPC calls per block followed, want at most 5 (head, stored block, header, logs, header again)", perBlock)
	}
	// Most polls find no new block: those cost one call, the head.
	after := w.scanner.Client.Calls()
	for range 10 {
		if caughtUp, err := w.scanner.RunOnce(context.Background()); !caughtUp || err != nil {
			t.Fatalf("idle poll: %v %v", caughtUp, err)
		}
	}
	if idle := w.scanner.Client.Calls(); idle-after != 10 {
		t.Errorf("10 polls without a new block made %d calls, want 10", idle-after)
	}
	// And the next block is found as before.
	id, addr := w.order("1", "USDT")
	w.pay("USDT", addr, 1_000_000)
	w.chain.Mine()
	w.scan()
	expect(t, w.get(id), map[string]any{"status": "completed"})
}

// A scanner that stops between steps and a new one that takes over (as after a crash) skip no
// block and count nothing twice.
func TestRestartSkipsNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	var ids []string
	for range 6 {
		id, addr := w.order("3", "USDT")
		ids = append(ids, id)
		w.pay("USDT", addr, 3_000_000)
		w.chain.Mine()
	}
	w.scanner.MaxRange = 2
	if _, err := w.scanner.RunOnce(context.Background()); err != nil { // part of the way
		t.Fatal(err)
	}
	w.scanner = w.newScanner(1) // a fresh process: nothing in memory
	w.scanner.MaxRange = 2
	w.scan()
	w.scanner = w.newScanner(1)
	w.scan()
	for _, id := range ids {
		expect(t, w.get(id), map[string]any{"status": "completed", "paidAmount": "3"})
	}
}

func TestExpiryAndLatePayment(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	// Orders created by a clock an hour behind are already past their window and grace.
	w.svc.Now = func() time.Time { return time.Now().Add(-time.Hour) }
	id, addr := w.order("1", "USDT")
	if n, err := w.svc.ExpireOrders(context.Background(), time.Now()); err != nil || n != 1 {
		t.Fatalf("ExpireOrders = %d, %v", n, err)
	}
	expect(t, w.get(id), map[string]any{"status": "expired"})
	// The address is still watched: a late payment is recorded and completes the order late.
	w.pay("USDT", addr, 1_000_000)
	w.chain.Mine()
	w.scan()
	expect(t, w.get(id), map[string]any{"status": "completed", "paidLate": true})
	ev := w.events(id)
	// One story: order.completed (with paidLate), no order.paid_late beside it to fulfil twice on.
	if len(ev) != 2 || ev[0] != "order.expired" || ev[1] != "order.completed" {
		t.Errorf("events = %v", ev)
	}
}

// A transfer of zero costs an attacker only gas: it is no payment, changes nothing, is not recorded
// and leaves the order free to expire.
func TestZeroTransferIsNoPayment(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	w.svc.Now = func() time.Time { return time.Now().Add(-time.Hour) }
	id, addr := w.order("7", "USDT")
	w.pay("USDT", addr, 0)
	w.pay("DAI", addr, 0)
	w.chain.Mine()
	w.scan()
	expect(t, w.get(id), map[string]any{"status": "pending", "paidAmount": "0", "txHash": nil, "wrongCurrency": false})
	if trs, _ := w.store.OrderTransfers(context.Background(), id); len(trs) != 0 {
		t.Errorf("zero transfers recorded: %+v", trs)
	}
	if n, err := w.svc.ExpireOrders(context.Background(), time.Now()); err != nil || n != 1 {
		t.Fatalf("ExpireOrders = %d, %v", n, err)
	}
	if ev := w.events(id); len(ev) != 1 || ev[0] != "order.expired" {
		t.Errorf("events = %v", ev)
	}
}

// An underpaid order whose window and grace pass expires, keeping what was paid (the merchant
// refunds or asks for the rest); a late top-up still completes it.
func TestUnderpaidOrderExpires(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	hourAgo := func() time.Time { return time.Now().Add(-time.Hour) }
	w.svc.Now, w.scanner.Now = hourAgo, hourAgo // paid while the order was open
	id, addr := w.order("10", "USDT")
	w.pay("USDT", addr, 4_000_000)
	w.chain.Mine()
	w.scan()
	expect(t, w.get(id), map[string]any{"status": "underpaid", "paidAmount": "4"})
	if n, err := w.svc.ExpireOrders(context.Background(), time.Now()); err != nil || n != 1 {
		t.Fatalf("ExpireOrders = %d, %v", n, err)
	}
	d := w.get(id)
	expect(t, d, map[string]any{"status": "expired", "paidAmount": "4", "paidLate": false})
	if p, _ := d["payments"].([]any); len(p) != 1 {
		t.Errorf("payments of the expired order = %v", d["payments"])
	}
	if n, _ := w.svc.ExpireOrders(context.Background(), time.Now()); n != 0 {
		t.Errorf("expired again: %d", n)
	}
	w.scanner.Now = time.Now
	w.pay("USDT", addr, 6_000_000)
	w.chain.Mine()
	w.scan()
	expect(t, w.get(id), map[string]any{"status": "completed", "paidAmount": "10", "paidLate": true})
	if ev := w.events(id); len(ev) != 3 || ev[0] != "order.underpaid" || ev[1] != "order.expired" || ev[2] != "order.completed" {
		t.Errorf("events = %v", ev)
	}
}

// The same address exists on every EVM chain: a payment on the devnet to the address of an order on
// another chain (here ethereum-sepolia, whose tokens are free) is recorded but never credited.
func TestPaymentOnAnotherChainIsNotCredited(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	d := w.call("POST", "/api/v1/orders", `{"orderReference":"sepolia-1","amount":"1","currency":"USDT","chainId":"ethereum-sepolia"}`)
	id, addr := d["orderId"].(string), common.HexToAddress(d["address"].(string))
	w.pay("USDT", addr, 1_000_000)
	w.chain.Mine()
	w.scan()
	expect(t, w.get(id), map[string]any{"status": "pending", "paidAmount": "0"})
	trs, err := w.store.OrderTransfers(context.Background(), id)
	if err != nil || len(trs) != 1 || trs[0].Credited() || trs[0].ChainID != "devnet" || trs[0].Currency != "USDT" {
		t.Fatalf("transfers = %+v, %v", trs, err)
	}
}

// An order that takes an address imported into the pool long before is watched from the moment it
// is created, even by a scanner that loaded its addresses earlier.
func TestPoolAddressAssignedLaterIsWatched(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	w.chain.Mine()
	w.scan() // the scanner has loaded its addresses: none yet
	// Imported "yesterday", assigned now.
	pool := "0x1111111111111111111111111111111111111111"
	pr, err := w.svc.Authenticate(context.Background(), w.key)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.store.ImportAddresses(context.Background(), pr.Project.ID, gateway.Test, chain.EVM, []string{pool}, pr.Credential.ID, time.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	id, addr := w.order("4", "USDT")
	if addr != common.HexToAddress(pool) {
		t.Fatalf("order took %s, not the pool address", addr.Hex())
	}
	w.pay("USDT", addr, 4_000_000)
	w.chain.Mine()
	w.scan()
	expect(t, w.get(id), map[string]any{"status": "completed", "paidAmount": "4"})
}

// Addresses of orders whose deadline is more than the monitor window ago are no longer watched.
func TestMonitorWindow(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	_, _ = w.order("1", "USDT")
	w.chain.Mine()
	w.scan()
	if n := w.scanner.Watching(); n != 1 {
		t.Fatalf("watching %d addresses, want 1", n)
	}
	// A scanner whose clock is past the order's deadline + the window does not load it.
	later := w.newScanner(1)
	later.Now = func() time.Time { return time.Now().Add(15*time.Minute + evm.DefaultMonitorWindow + time.Minute) }
	w.scanner = later
	w.chain.Mine()
	w.scan()
	if n := later.Watching(); n != 0 {
		t.Fatalf("watching %d addresses after the window, want 0", n)
	}
}

// TRON: the scanner reads TRC20 logs through the node's Ethereum-style JSON-RPC, with 20-byte hex
// in filters, and stores TRON's formats. Here tron-nile is served by the devnet, its tokens at the
// devnet's contracts written as TRON addresses; the order gets a T… address.
func TestTronAddressMode(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	nile := testChain(t, "tron-nile", 1)
	dev, _ := chain.Builtin().Lookup("devnet")
	nile.Tokens = nil
	for _, tk := range dev.Tokens {
		b, _ := chain.ParseAddress(chain.EVM, tk.Address)
		nile.Tokens = append(nile.Tokens, chain.Token{Symbol: tk.Symbol, Address: chain.FormatAddress(chain.TRON, b), Decimals: tk.Decimals})
	}
	client, err := evm.NewClient([]string{w.rpc}, fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	start := uint64(1)
	w.scanner = &evm.Scanner{Chain: nile, Client: client, Gateway: w.svc, StartBlock: &start}

	d := w.call("POST", "/api/v1/orders", `{"orderReference":"tron-1","amount":"3","currency":"USDT","chainId":"tron-nile"}`)
	id, addr := d["orderId"].(string), d["address"].(string)
	if addr != "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH" { // m/44'/195'/0'/0/0 of "abandon … about"
		t.Fatalf("order address %s", addr)
	}
	b, _ := chain.ParseAddress(chain.TRON, addr)
	tx := w.pay("USDT", common.Address(b), 3_000_000)
	w.chain.Mine()
	w.scan()
	got := w.get(id)
	expect(t, got, map[string]any{"status": "completed", "paidAmount": "3", "txHash": strings.TrimPrefix(tx.Hex(), "0x")})
	p := got["payments"].([]any)[0].(map[string]any)
	wallet, _ := chain.ParseAddress(chain.EVM, crypto.PubkeyToAddress(devnet.DevKey().PublicKey).Hex())
	if p["from"] != chain.FormatAddress(chain.TRON, wallet) || !strings.HasPrefix(p["explorerUrl"].(string), "https://nile.tronscan.org/#/transaction/") {
		t.Fatalf("payment = %v", p)
	}
}

// With an underpayment tolerance of 1 %, 99.5 of 100 completes an order; 98 leaves it underpaid.
// An order keeps the tolerance it was created under.
func TestUnderpaymentTolerance(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	before, beforeAddr := w.order("100", "USDT") // created with the default, 0
	if d := w.call("PATCH", "/api/v1/project", `{"underpaymentTolerance":"1"}`); d["underpaymentTolerance"] != "1" {
		t.Fatalf("PATCH project: %v", d)
	}
	near, nearAddr := w.order("100", "USDT")
	short, shortAddr := w.order("100", "USDT")
	w.pay("USDT", beforeAddr, 99_500_000)
	w.pay("USDT", nearAddr, 99_500_000)
	w.pay("USDT", shortAddr, 98_000_000)
	w.chain.Mine()
	w.scan()
	expect(t, w.get(before), map[string]any{"status": "underpaid", "paidAmount": "99.5"})
	expect(t, w.get(near), map[string]any{"status": "completed", "paidAmount": "99.5", "overpaid": false})
	expect(t, w.get(short), map[string]any{"status": "underpaid", "paidAmount": "98"})
}

// With finality by tag, a payment counts only once its block is finalized, whatever its count of
// confirmations. The devnet finalizes as a proof-of-stake chain does, at epoch boundaries (every
// 32 blocks).
func TestFinalityByTag(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	w.scanner.Chain.FinalityTag = "finalized"
	id, addr := w.order("6", "USDT")
	w.pay("USDT", addr, 6_000_000)
	w.chain.Mine()
	for w.scan(); ; w.scan() {
		head := w.scanner.Health().Head
		if head >= 31 {
			break
		}
		expect(t, w.get(id), map[string]any{"status": "confirming"})
		w.chain.Mine()
	}
	if h := w.scanner.Health(); h.Final != 0 {
		t.Fatalf("finalized at %d before the epoch ends", h.Final)
	}
	w.chain.Mine() // block 32: the epoch is final
	w.scan()
	if h := w.scanner.Health(); h.Final != 32 {
		t.Fatalf("finalized = %d, want 32", h.Final)
	}
	expect(t, w.get(id), map[string]any{"status": "completed", "paidAmount": "6"})
}

// runOverWebSocket runs, until the test ends, a scanner whose only URL is the devnet's ws://
// endpoint, polling every interval (now: its clock, nil for the real one), and gives it the time of
// its first step and subscription.
func (w *world) runOverWebSocket(interval time.Duration, now func() time.Time) {
	w.t.Helper()
	client, err := evm.NewClient([]string{w.chain.WSURL()}, fastConfig())
	if err != nil {
		w.t.Fatal(err)
	}
	start := uint64(1)
	sc := &evm.Scanner{Chain: testChain(w.t, "devnet", 1), Client: client, Gateway: w.svc, StartBlock: &start, Interval: interval, Now: now}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sc.Run(ctx) }()
	w.t.Cleanup(func() { cancel(); <-done; client.Close() })
	// The subscription is made after the first step: wait for it, however long a busy machine takes.
	for deadline := time.Now().Add(30 * time.Second); !sc.Health().Subscribed; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			w.t.Fatalf("no new-heads subscription after 30 s: %+v", sc.Health())
		}
	}
}

// With a ws:// URL the scanner subscribes to new heads and steps when one arrives: a payment is
// seen at once though the poll interval is a minute. Calls go over the same WebSocket.
func TestWebSocketNewHeads(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	w.runOverWebSocket(time.Minute, nil)
	for i := range 3 {
		id, addr := w.order("1", "USDT")
		w.pay("USDT", addr, 1_000_000)
		w.chain.Mine()
		deadline := time.Now().Add(20 * time.Second)
		for w.get(id)["status"] != "completed" {
			if time.Now().After(deadline) {
				t.Fatalf("payment %d not seen within 20 s with a 1 min poll: no new-heads subscription?", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// While the subscription lives, the poll underneath runs ten times less often (providers bill by
// the call): with a 50 ms interval, an idle second sees a couple of steps, not twenty.
func TestSubscriptionStretchesThePoll(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	var steps atomic.Int64 // each step reports its health once, with the time
	w.runOverWebSocket(50*time.Millisecond, func() time.Time { steps.Add(1); return time.Now() })
	before := steps.Load()
	time.Sleep(time.Second)
	if n := steps.Load() - before; n > 8 {
		t.Errorf("%d clock reads in an idle second with a live subscription and a 50 ms poll, want a few", n)
	}
}

// Two replicas scan one chain: one holds the lease and scans, the other stands by; when the first
// stops, the second takes over within the lease time and no payment is missed.
func TestScannerLease(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	// The lease's time is the scanners' clock, moved by the test alone: however slow the machine, a
	// lease expires only when the test says so.
	base := time.Now()
	var elapsed atomic.Int64
	clock := func() time.Time { return base.Add(time.Duration(elapsed.Load())) }
	run := func(holder string) (*evm.Scanner, func()) {
		sc := w.newScanner(1)
		sc.Holder, sc.Interval, sc.LeaseTTL, sc.Now = holder, 20*time.Millisecond, 400*time.Millisecond, clock
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); sc.Run(ctx) }()
		return sc, func() { cancel(); <-done }
	}
	waitCompleted := func(id string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for w.get(id)["status"] != "completed" {
			if time.Now().After(deadline) {
				t.Fatalf("order %s never completed", id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("never: %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	a, stopA := run("replica-a")
	waitFor("a scanning", func() bool { return !a.Health().Standby && !a.Health().UpdatedAt.IsZero() })
	b, stopB := run("replica-b")
	defer stopB()
	waitFor("b standing by", func() bool { return b.Health().Standby })
	id, addr := w.order("1", "USDT")
	w.pay("USDT", addr, 1_000_000)
	w.chain.Mine()
	waitCompleted(id)
	if a.Health().Standby || !b.Health().Standby {
		t.Fatalf("a standby=%v, b standby=%v; want a scanning, b standing by", a.Health().Standby, b.Health().Standby)
	}
	stopA() // the holder stops without giving the lease back, as a killed process would
	elapsed.Add(int64(time.Second))
	id, addr = w.order("2", "USDT")
	w.pay("USDT", addr, 2_000_000)
	w.chain.Mine()
	waitCompleted(id)
	if b.Health().Standby {
		t.Fatal("b still standing by after a stopped")
	}
}

// Deposits: one reference's permanent address receives several deposits on two chains (the devnet
// and a second devnet serving as ethereum-sepolia); each is pending until its confirmations, then
// confirmed, with deposit.pending and deposit.confirmed events; the reference's totals add them up.
// An unbound address still records deposits; a live address ignores a testnet's tokens.
func TestDepositsOnTwoChains(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2, nil)
	second, err := devnet.Start(devnet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	sepolia := testChain(t, "ethereum-sepolia", 2)
	dev, _ := chain.Builtin().Lookup("devnet")
	sepolia.Tokens = nil
	sepolia.Tokens = append(sepolia.Tokens, dev.Tokens...) // the second devnet's contracts, as sepolia's
	client2, err := evm.NewClient([]string{second.RPCURL()}, fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	start := uint64(1)
	sc2 := &evm.Scanner{Chain: sepolia, Client: client2, Gateway: w.svc, StartBlock: &start}
	scan2 := func() {
		for range 50 {
			if done, err := sc2.RunOnce(context.Background()); err == nil && done {
				return
			}
		}
		t.Fatal("the second scanner never caught up")
	}

	b := w.call("POST", "/api/v1/deposits/bind", `{"depositReference":"player_42","protocol":"evm","metadata":{"name":"j"}}`)
	addr := common.HexToAddress(b["address"].(string))
	w.pay("USDT", addr, 10_000_000)
	w.pay("USDC", addr, 2_500_000)
	w.chain.Mine()
	w.scan()
	list := w.call("GET", "/api/v1/deposits?depositReference=player_42", "")["deposits"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["status"] != "pending" {
		t.Fatalf("after one block: %v", list)
	}
	w.chain.Mine()
	w.scan()
	if _, err := second.Transfer(context.Background(), "USDT", addr, big.NewInt(5_500_000)); err != nil {
		t.Fatal(err)
	}
	second.Mine()
	second.Mine()
	scan2()
	ref := w.call("GET", "/api/v1/deposits/references/player_42", "")
	totals := ref["totals"].(map[string]any)
	if ref["totalDeposits"] != 3.0 || totals["USDT"] != "15.5" || totals["USDC"] != "2.5" || ref["totalAmount"] != nil {
		t.Fatalf("reference = %v", ref)
	}
	confirmed := w.call("GET", "/api/v1/deposits?status=confirmed&chainId=ethereum-sepolia", "")["deposits"].([]any)
	if len(confirmed) != 1 || confirmed[0].(map[string]any)["amount"] != "5.5" {
		t.Fatalf("sepolia deposits = %v", confirmed)
	}
	var types []string
	pr, err := w.svc.Authenticate(context.Background(), w.key)
	if err != nil {
		t.Fatal(err)
	}
	evs, _, _ := w.store.ListWebhookEvents(context.Background(), gateway.WebhookEventFilter{ProjectID: pr.Project.ID, Mode: gateway.Test, Page: 1, Limit: 100})
	for _, e := range evs {
		if strings.HasPrefix(e.Type, "deposit.") && strings.Contains(string(e.Data), `"depositReference":"player_42"`) {
			types = append(types, e.Type)
		}
	}
	if len(types) != 6 {
		t.Fatalf("deposit events = %v, want a pending and a confirmed for each of 3", types)
	}

	// Unbound, the address still records deposits.
	w.call("POST", "/api/v1/deposits/unbind", `{"depositReference":"player_42"}`)
	w.pay("USDT", addr, 1_000_000)
	w.chain.Mine()
	w.chain.Mine()
	w.scan()
	if n := w.call("GET", "/api/v1/deposits/references/player_42", "")["totalDeposits"]; n != 4.0 {
		t.Fatalf("after unbind: %v deposits", n)
	}

	// A live deposit address takes no testnet tokens: the devnet transfer is recorded, ignored.
	w.key, w.secret = w.live[0], w.live[1]
	lb := w.call("POST", "/api/v1/deposits/bind", `{"depositReference":"player_42","protocol":"evm"}`)
	if lb["address"] == b["address"] || lb["livemode"] != true {
		t.Fatalf("live binding = %v", lb)
	}
	w.pay("USDT", common.HexToAddress(lb["address"].(string)), 9_000_000)
	w.chain.Mine()
	w.chain.Mine()
	w.scan()
	ref = w.call("GET", "/api/v1/deposits/references/player_42", "")
	ignored := w.call("GET", "/api/v1/deposits?status=ignored", "")["deposits"].([]any)
	if ref["totalDeposits"] != 0.0 || len(ignored) != 1 {
		t.Fatalf("live reference after a devnet transfer: %v, ignored %v", ref, ignored)
	}
}

// A deposit address takes every registry token, each booked as itself in its own decimals: 10^8
// base units of DAI are a ten-billionth of a DAI, never 100 USDT.
func TestDepositsBookEachTokenInItsOwnUnits(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	b := w.call("POST", "/api/v1/deposits/bind", `{"depositReference":"player_9","protocol":"evm"}`)
	addr := common.HexToAddress(b["address"].(string))
	w.pay("DAI", addr, 100_000_000)
	w.pay("USDT", addr, 100_000_000)
	w.pay("USDC", addr, 0) // no deposit at all
	w.chain.Mine()
	w.chain.Mine()
	w.scan()
	ref := w.call("GET", "/api/v1/deposits/references/player_9", "")
	totals := ref["totals"].(map[string]any)
	if ref["totalDeposits"] != 2.0 || totals["DAI"] != "0.0000000001" || totals["USDT"] != "100" || totals["USDC"] != nil {
		t.Fatalf("reference = %v", ref)
	}
	got := map[string]string{}
	for _, x := range w.call("GET", "/api/v1/balances", "")["balances"].([]any) {
		m := x.(map[string]any)
		got[m["currency"].(string)] = m["available"].(string)
	}
	if len(got) != 2 || got["DAI"] != "0.0000000001" || got["USDT"] != "100" {
		t.Fatalf("balances = %v", got)
	}
}

// A deposit in a block that a reorg removes: it leaves the deposits and the balances, by a
// reversing ledger entry (history is kept), the ledger still verifies, and the merchant, told of
// the deposit by deposit.pending, is told of its removal by deposit.reorged.
func TestDepositReorgedAway(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 3, nil)
	b := w.call("POST", "/api/v1/deposits/bind", `{"depositReference":"player_7","protocol":"evm"}`)
	w.pay("USDT", common.HexToAddress(b["address"].(string)), 4_000_000)
	w.chain.Mine()
	w.scan()
	bal := w.call("GET", "/api/v1/balances", "")["balances"].([]any)
	if len(bal) != 1 || bal[0].(map[string]any)["pending"] != "4" {
		t.Fatalf("balances before the reorg: %v", bal)
	}
	if err := w.chain.Reorg(context.Background(), 1, true); err != nil {
		t.Fatal(err)
	}
	w.scan()
	if deps := w.call("GET", "/api/v1/deposits?depositReference=player_7", "")["deposits"].([]any); len(deps) != 0 {
		t.Fatalf("deposits after the reorg: %v", deps)
	}
	bal = w.call("GET", "/api/v1/balances", "")["balances"].([]any)
	if len(bal) != 1 || bal[0].(map[string]any)["pending"] != "0" || bal[0].(map[string]any)["available"] != "0" {
		t.Fatalf("balances after the reorg: %v", bal)
	}
	if diffs, err := w.store.VerifyLedger(context.Background()); err != nil || len(diffs) != 0 {
		t.Fatalf("ledger: %+v %v", diffs, err)
	}
	var reversed int
	if err := w.store.DB().QueryRow(`SELECT COUNT(*) FROM ledger_entries WHERE reason = 'reversed'`).Scan(&reversed); err != nil || reversed != 1 {
		t.Fatalf("reversing entries: %d %v", reversed, err)
	}
	pr, err := w.svc.Authenticate(context.Background(), w.key)
	if err != nil {
		t.Fatal(err)
	}
	evs, _, _ := w.store.ListWebhookEvents(context.Background(), gateway.WebhookEventFilter{ProjectID: pr.Project.ID, Mode: gateway.Test, Page: 1, Limit: 100})
	var types []string
	var reorged map[string]any
	for _, e := range evs {
		if strings.HasPrefix(e.Type, "deposit.") {
			types = append(types, e.Type)
		}
		if e.Type == gateway.EventDepositReorged {
			json.Unmarshal(e.Data, &reorged)
		}
	}
	if len(types) != 2 || reorged == nil {
		t.Fatalf("deposit events = %v, want deposit.pending then deposit.reorged", types)
	}
	if reorged["depositReference"] != "player_7" || reorged["amount"] != "4" || reorged["status"] != "reorged" || reorged["wasConfirmed"] != false {
		t.Errorf("deposit.reorged data = %v", reorged)
	}
}

// /health says degraded (still 200) when a chain is not followed — its node refuses connections,
// or the scanner lags more than MaxLag — and healthy when every chain is.
func TestHealthDegradedByAChain(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	client := deadNode(t, fastConfig())
	sepolia := testChain(t, "ethereum-sepolia", 0)
	down := &evm.Scanner{Chain: sepolia, Client: client, Gateway: w.svc}
	scanners := []*evm.Scanner{w.scanner, down}
	hs := httptest.NewServer(api.New(w.svc, api.Config{Chains: func() []any {
		out := []any{}
		for _, sc := range scanners {
			out = append(out, sc.Health())
		}
		return out
	}}))
	defer hs.Close()
	health := func() (int, map[string]any) {
		t.Helper()
		res, err := http.Get(hs.URL + "/health")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var h map[string]any
		json.NewDecoder(res.Body).Decode(&h)
		return res.StatusCode, h
	}
	// Before any step: not scanned yet, and no zero time shown.
	if code, h := health(); code != 200 || h["status"] != "degraded" || strings.Contains(fmt.Sprint(h), "0001-01-01") {
		t.Fatalf("before the first step: %d %v", code, h)
	}
	w.scan()
	if _, err := down.RunOnce(context.Background()); err == nil {
		t.Fatal("a scanner on a dead node stepped")
	}
	code, h := health()
	reasons, _ := h["reasons"].([]any)
	if code != 200 || h["status"] != "degraded" || len(reasons) != 1 || !strings.HasPrefix(reasons[0].(string), "chain ethereum-sepolia: cannot scan") {
		t.Fatalf("with a dead node: %d %v", code, h)
	}
	// The dead chain gone, the devnet followed: healthy.
	scanners = scanners[:1]
	if code, h := health(); code != 200 || h["status"] != "healthy" || h["reasons"] != nil {
		t.Fatalf("every chain followed: %d %v", code, h)
	}
	// Lagging more than MaxLag blocks behind the head: degraded until it catches up.
	w.scanner = w.newScanner(1)
	w.scanner.MaxLag, w.scanner.MaxRange = 2, 1
	scanners[0] = w.scanner
	for range 5 {
		w.chain.Mine()
	}
	if _, err := w.scanner.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, h := health(); h["status"] != "degraded" || !strings.Contains(fmt.Sprint(h["reasons"]), "blocks behind the head") {
		t.Fatalf("lagging: %v", h)
	}
	w.scan()
	if _, h := health(); h["status"] != "healthy" {
		t.Fatalf("caught up: %v", h)
	}
}

// A chain whose node is down is logged once, then once a minute — not at every poll (an
// unreachable RPC logged 61 lines a minute).
func TestFailingChainLogsWithBackoff(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	client := deadNode(t, evm.Config{Timeout: 100 * time.Millisecond, Attempts: 1})
	var buf syncBuffer
	sepolia := testChain(t, "ethereum-sepolia", 0)
	sc := &evm.Scanner{Chain: sepolia, Client: client, Gateway: w.svc, Interval: 10 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&buf, nil))}
	if err := sc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); sc.Health().LastError == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the scanner never failed")
		}
	}
	time.Sleep(time.Second) // dozens of polls
	sc.Stop()
	if n := strings.Count(buf.String(), "scan failed"); n != 1 {
		t.Errorf("%d warnings in a second of failing polls, want 1:\n%s", n, buf.String())
	}
}

// deadNode returns a client of a node that refuses every connection.
func deadNode(t *testing.T, cfg evm.Config) *evm.Client {
	t.Helper()
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close() // connections refused from now on
	client, err := evm.NewClient([]string{url}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A scanner far behind the head says so: Health has the blocks to go, the pace and the time to
// the head, the log tells it at most every ProgressEvery, and both stop once it has caught up.
func TestCatchUpProgress(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, nil)
	for range 300 {
		w.chain.Mine()
	}
	var logs syncBuffer
	w.scanner.Log = slog.New(slog.NewTextHandler(&logs, nil))
	w.scanner.ProgressEvery = time.Millisecond
	if _, err := w.scanner.RunOnce(context.Background()); err != nil { // one step of 50 blocks
		t.Fatal(err)
	}
	h := w.scanner.Health()
	if h.CatchUp == nil || h.CatchUp.BlocksToGo != h.Lag || h.Lag <= evm.CatchUpBlocks {
		t.Fatalf("health after one step of a long catch-up = %+v", h)
	}
	time.Sleep(2 * time.Millisecond)
	if _, err := w.scanner.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h = w.scanner.Health(); h.CatchUp == nil || h.CatchUp.BlocksPerSecond <= 0 || h.CatchUp.ETASeconds < 0 || h.CatchUp.BlocksToGo != h.Lag {
		t.Errorf("health while catching up = %+v", h.CatchUp)
	}
	w.scanToHead()
	if h = w.scanner.Health(); h.CatchUp != nil {
		t.Errorf("caught up, health still has %+v", h.CatchUp)
	}
	out := logs.String()
	for _, want := range []string{"catching up with the chain's head", "msg=\"catching up\"", "to_go=", "blocks_per_second=", "eta=", "caught up with the chain's head"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}
