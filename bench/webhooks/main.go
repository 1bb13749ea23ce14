// Command webhooks measures webhook delivery (see bench/README.md): deliveries per second from a
// full outbox to a local receiver that answers 200 at once, each signed and its attempt recorded;
// and, with the queue idle, the time from an order completing to its webhook arriving.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/store"
	"github.com/stablegate/stablegate/internal/store/sqlite"
	"github.com/stablegate/stablegate/internal/webhook"
)

func main() {
	events := flag.Int("events", 20_000, "events queued for the throughput run (0 skips)")
	concurrency := flag.Int("concurrency", webhook.DefaultConcurrency, "dispatcher requests in flight")
	latencyN := flag.Int("latency", 500, "orders for the latency run (0 skips)")
	flag.Parse()
	fmt.Printf("cores=%d go=%s\n", runtime.NumCPU(), runtime.Version())
	if *events > 0 {
		throughput(*events, *concurrency)
	}
	if *latencyN > 0 {
		latency(*latencyN, *concurrency)
	}
}

// env is a SQLite store with one project whose test endpoint is a local receiver.
type env struct {
	store    *store.Store
	svc      *gateway.Service
	pr       *gateway.Principal
	dir      string
	received atomic.Int64
	arrived  chan string // order ids, in the latency run
	orders   int
}

func newEnv(latency bool) *env {
	dir, _ := os.MkdirTemp("", "stablegate-webhookbench-")
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "bench.db"))
	must(err)
	kr, err := gateway.NewKeyring(make([]byte, gateway.MasterKeySize))
	must(err)
	svc := &gateway.Service{Store: st, Keyring: kr, WebhookPolicy: webhook.NewPolicy(true)}
	x, _ := chain.AccountXPub("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about", chain.EVM)
	cp, err := svc.CreateProject(context.Background(), gateway.CreateProjectParams{Live: true, Name: "bench", Website: "https://bench.example.com",
		XPubs: map[chain.Protocol]string{chain.EVM: x}})
	must(err)
	pr, err := svc.Authenticate(context.Background(), cp.Keys[0].Key)
	must(err)
	pr.SecretProven = true
	e := &env{store: st, svc: svc, pr: pr, dir: dir, arrived: make(chan string, 1024)}

	// The receiver: a real HTTP server on loopback that answers 200 at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if latency {
			var p struct {
				Data struct {
					OrderID string `json:"orderId"`
				} `json:"data"`
			}
			body, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(body, &p); err == nil {
				e.arrived <- p.Data.OrderID
			}
		}
		e.received.Add(1)
	}))
	_, err = svc.SetWebhookEndpoint(context.Background(), pr, "http://"+ln.Addr().String()+"/hooks", nil, "")
	must(err)
	return e
}

func (e *env) close() {
	e.store.Close()
	os.RemoveAll(e.dir)
}

// complete creates n orders and pays each in full in one confirmed transfer, in one scan batch:
// the store writes n order.completed events with their deliveries.
func (e *env) complete(n int) []string {
	trs, ids := e.newOrders(n)
	e.apply(trs)
	return ids
}

// orders_ creates n orders and the transfers that pay them.
func (e *env) newOrders(n int) ([]*gateway.Transfer, []string) {
	ctx := context.Background()
	var trs []*gateway.Transfer
	var ids []string
	for range n {
		e.orders++
		o, _, err := e.svc.CreateOrder(ctx, e.pr, gateway.OrderInput{Reference: fmt.Sprintf("o-%d", e.orders), Amount: "10", Currency: "USDT", ChainID: "devnet"})
		must(err)
		trs = append(trs, &gateway.Transfer{ChainID: "devnet", TxHash: fmt.Sprintf("0x%064x", e.orders), BlockNumber: uint64(e.orders),
			BlockHash: fmt.Sprintf("0x%064x", e.orders), Token: "0xtoken", Currency: "USDT", From: "0xpayer", To: o.Address, Amount: o.Amount,
			OrderID: o.ID, ProjectID: o.ProjectID, Mode: o.Mode, SeenAt: time.Now()})
		ids = append(ids, o.ID)
	}
	return trs, ids
}

// apply scans the blocks of the transfers: their orders complete.
func (e *env) apply(trs []*gateway.Transfer) {
	first, last := trs[0].BlockNumber, trs[len(trs)-1].BlockNumber
	must(e.svc.ApplyScan(context.Background(), &gateway.ScanBatch{ChainID: "devnet", From: first, To: last,
		ToHash: trs[len(trs)-1].BlockHash, Head: last, Required: 1, Transfers: trs, Now: time.Now()}))
}

func dispatcher(e *env, concurrency int) (stop func()) {
	d := &webhook.Dispatcher{Store: e.store, Keyring: e.svc.Keyring, Concurrency: concurrency,
		Client: webhook.NewPolicy(true).Client(webhook.DefaultTimeout, concurrency)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	return func() { cancel(); <-done }
}

func throughput(n, concurrency int) {
	e := newEnv(false)
	defer e.close()
	for queued := 0; queued < n; queued += 500 {
		e.complete(min(500, n-queued))
	}
	st, err := e.store.WebhookStats(context.Background())
	must(err)
	fmt.Printf("throughput: %d deliveries queued (pending %d), %d in flight at most\n", n, st.Pending, concurrency)
	start := time.Now()
	stop := dispatcher(e, concurrency)
	for {
		st, err := e.store.WebhookStats(context.Background())
		must(err)
		if st.Pending == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	stop()
	evs, total, err := e.store.ListWebhookEvents(context.Background(), gateway.WebhookEventFilter{ProjectID: e.pr.Project.ID,
		Mode: e.pr.Mode, Status: gateway.DeliveryDelivered, Page: 1, Limit: 1})
	must(err)
	if total != n || len(evs[0].Attempts) != 1 {
		log.Fatalf("delivered %d of %d", total, n)
	}
	fmt.Printf("throughput: %d delivered and recorded in %s = %.0f deliveries/s (receiver saw %d)\n",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), e.received.Load())
}

func latency(n, concurrency int) {
	e := newEnv(true)
	defer e.close()
	stop := dispatcher(e, concurrency)
	defer stop()
	e.complete(1) // warm-up
	<-e.arrived
	var lat []time.Duration
	for range n {
		trs, ids := e.newOrders(1)
		id := ids[0]
		start := time.Now()
		e.apply(trs)
		for got := range e.arrived {
			if got == id {
				break
			}
		}
		lat = append(lat, time.Since(start))
		time.Sleep(20 * time.Millisecond) // the queue is idle when the next order completes
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))].Round(10 * time.Microsecond) }
	fmt.Printf("latency: order completed → webhook received, %d orders, idle queue: p50 %s p90 %s p99 %s max %s\n",
		n, q(0.5), q(0.9), q(0.99), lat[len(lat)-1].Round(10*time.Microsecond))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
