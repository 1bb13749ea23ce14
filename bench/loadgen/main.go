// Command loadgen measures the orders API over real HTTP on loopback: an in-process gateway on
// SQLite or PostgreSQL, N concurrent clients creating orders (POST /api/v1/orders) or reading them
// (GET /api/v1/orders/{id}) through the Go client (client/), optionally after preloading many open
// orders. See bench/README.md.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stablegate/stablegate/client"
	"github.com/stablegate/stablegate/internal/api"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/ratelimit"
	"github.com/stablegate/stablegate/internal/store"
	"github.com/stablegate/stablegate/internal/store/postgres"
	"github.com/stablegate/stablegate/internal/store/sqlite"
	"github.com/stablegate/stablegate/internal/testpg"
)

func main() {
	engine := flag.String("engine", "sqlite", "sqlite or postgres")
	dbPath := flag.String("db", "", "SQLite file to use (kept between runs, so a preload is paid once); default a temp file")
	dsn := flag.String("dsn", "", "PostgreSQL URL; default a throwaway durable cluster (fsync on)")
	clients := flag.Int("clients", 32, "concurrent clients")
	duration := flag.Duration("duration", 15*time.Second, "measuring time per operation")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured warm-up per operation")
	preload := flag.Int("preload", 0, "open orders to insert before measuring (skipped when the database already holds them)")
	ops := flag.String("ops", "create,get", "operations to measure, in order: create, get")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured runs to this file")
	limits := flag.Bool("limits", false, "rate-limit as the gateway does (in memory on SQLite, in the database on PostgreSQL), with limits raised so nothing is refused")
	shared := flag.Bool("shared", false, "create orders on the project's shared address (unique pay amounts, the default offsets) at 10,000 prices from 10.00 to 109.99; a preload (at most 1,000,000) holds a tenth of their pay amounts")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	ctx := context.Background()
	st, cleanup := open(ctx, *engine, *dbPath, *dsn)
	defer cleanup()
	kr, _ := gateway.NewKeyring(make([]byte, 32))
	svc := &gateway.Service{Store: st, Keyring: kr}
	key, projectID := project(ctx, svc, st)
	var sharedAddr string
	if *shared {
		sharedAddr = sharedAddress(ctx, svc, projectID)
	}
	if *preload > 0 {
		preloadOrders(ctx, st, *engine, projectID, *preload, sharedAddr)
	}
	var open int
	st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM orders WHERE status = 'pending'").Scan(&open)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := api.Config{PublicURL: base, Version: "bench"}
	if *limits {
		rules := ratelimit.Defaults()
		for t, r := range rules {
			r.Limit = 1 << 30
			rules[t] = r
		}
		cfg.Limiter = ratelimit.New(rules, st.RateCounter())
	}
	srv := &http.Server{Handler: api.New(svc, cfg)}
	go srv.Serve(ln)
	defer srv.Close()

	transport := &http.Transport{MaxIdleConns: *clients * 2, MaxIdleConnsPerHost: *clients * 2, DisableCompression: true}
	// The Go client, as an integration uses it, with no retry: a refusal is counted, not hidden.
	sg := client.New(base, key, client.WithHTTPClient(&http.Client{Transport: transport}), client.WithRetries(0, time.Millisecond))
	fmt.Printf("engine=%s clients=%d open_orders_before=%d shared=%v cores=%d go=%s\n", *engine, *clients, open, *shared, runtime.NumCPU(),
		runtime.Version())
	var ids []string
	for _, op := range strings.Split(*ops, ",") {
		switch op {
		case "create":
			var mu sync.Mutex
			create := func(c, n int, keep bool) error {
				amount := "10.50"
				if *shared { // 10,000 prices, 10.00 to 109.99
					p := rand.IntN(10_000)
					amount = fmt.Sprintf("%d.%02d", 10+p/100, p%100)
				}
				o, err := sg.CreateOrder(ctx, client.OrderInput{OrderReference: fmt.Sprintf("bench-%d-%d-%d", time.Now().UnixNano(), c, n),
					Amount: amount, Currency: "USDT", ChainID: "devnet"})
				if err == nil && keep {
					mu.Lock()
					ids = append(ids, o.OrderID)
					mu.Unlock()
				}
				return err
			}
			run(*clients, *warmup, func(c, n int) error { return create(c, n, false) })
			res := run(*clients, *duration, func(c, n int) error { return create(c, n, true) })
			res.print("POST /api/v1/orders")
		case "get":
			if len(ids) == 0 {
				ids = someOrderIDs(ctx, st)
			}
			res := run(*clients, *duration, func(c, n int) error {
				_, err := sg.GetOrder(ctx, ids[rand.IntN(len(ids))])
				return err
			})
			res.print("GET /api/v1/orders/{id}")
		default:
			log.Fatalf("unknown op %q", op)
		}
	}
}

type result struct {
	n, errs  int64
	elapsed  time.Duration
	latency  []time.Duration
	firstErr string
}

func (r result) print(name string) {
	slices.Sort(r.latency)
	q := func(p float64) time.Duration {
		if len(r.latency) == 0 {
			return 0
		}
		return r.latency[min(len(r.latency)-1, int(p*float64(len(r.latency))))]
	}
	fmt.Printf("%-26s %8.0f req/s  p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms  max %6.1f ms  n=%d errors=%d %s\n", name,
		float64(r.n)/r.elapsed.Seconds(), ms(q(.5)), ms(q(.9)), ms(q(.99)), ms(q(1)), r.n, r.errs, r.firstErr)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// run drives clients closed-loop for d, each calling op, and records every latency.
func run(clients int, d time.Duration, op func(c, n int) error) result {
	var total, errs atomic.Int64
	var mu sync.Mutex
	var firstErr string
	lat := make([][]time.Duration, clients)
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(deadline); n++ {
				t0 := time.Now()
				err := op(c, n)
				lat[c] = append(lat[c], time.Since(t0))
				total.Add(1)
				if err != nil {
					errs.Add(1)
					mu.Lock()
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	r := result{n: total.Load(), errs: errs.Load(), elapsed: time.Since(start), firstErr: firstErr}
	for _, l := range lat {
		r.latency = append(r.latency, l...)
	}
	return r
}

func open(ctx context.Context, engine, dbPath, dsn string) (*store.Store, func()) {
	switch engine {
	case "sqlite":
		cleanup := func() {}
		if dbPath == "" {
			dir, _ := os.MkdirTemp("", "stablegate-bench-")
			dbPath = filepath.Join(dir, "bench.db")
			cleanup = func() { os.RemoveAll(dir) }
		}
		st, err := sqlite.Open(ctx, dbPath)
		if err != nil {
			log.Fatal(err)
		}
		return st, func() { st.Close(); cleanup() }
	case "postgres":
		cleanup := func() {}
		if dsn == "" {
			c, err := testpg.Start(testpg.Options{Durable: true})
			if err != nil {
				log.Fatal(err)
			}
			if dsn, err = c.CreateDatabase(ctx); err != nil {
				log.Fatal(err)
			}
			cleanup = c.Stop
		}
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			cleanup()
			log.Fatal(err)
		}
		return st, func() { st.Close(); cleanup() }
	}
	log.Fatalf("unknown engine %q", engine)
	return nil, nil
}

// project returns the bench project's test key, creating the project on first use (its key is
// kept in the database directory's side file so that a preloaded database is reused).
func project(ctx context.Context, svc *gateway.Service, st *store.Store) (key, id string) {
	var stored string
	if err := st.DB().QueryRowContext(ctx, "SELECT name FROM projects WHERE website_host = 'bench.example.com'").Scan(&stored); err == nil {
		parts := strings.SplitN(stored, "|", 3)
		return parts[1], parts[2]
	}
	cp, err := svc.CreateProject(ctx, gateway.CreateProjectParams{Live: true, Name: "bench", Website: "https://bench.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	key = cp.Keys[0].Key
	// A bench-only convenience: remember the key in the project name so a preloaded database is
	// reusable across runs.
	if _, err := st.DB().ExecContext(ctx, rebind(st, "UPDATE projects SET name = ? WHERE id = ?"), "bench|"+key+"|"+cp.Project.ID, cp.Project.ID); err != nil {
		log.Fatal(err)
	}
	return key, cp.Project.ID
}

func rebind(st *store.Store, q string) string {
	if !strings.Contains(fmt.Sprintf("%T", st.DB().Driver()), "stdlib") {
		return q
	}
	n := 0
	var b bytes.Buffer
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// preloadOrders inserts open orders (and their addresses) straight into the database, in large
// transactions, until the project holds n.
func preloadOrders(ctx context.Context, st *store.Store, engine, projectID string, n int, shared string) {
	db := st.DB()
	var have int
	db.QueryRowContext(ctx, rebind(st, "SELECT COUNT(*) FROM orders WHERE project_id = ?"), projectID).Scan(&have)
	if have >= n {
		return
	}
	start := time.Now()
	const batch = 5000
	now := time.Now().UnixMilli()
	for i := have; i < n; i += batch {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		if shared != "" {
			insertSharedRows(ctx, tx, projectID, shared, i, min(batch, n-i), now)
		} else {
			insertRows(ctx, tx, st, projectID, i, min(batch, n-i), now)
		}
		if err := tx.Commit(); err != nil {
			log.Fatal(err)
		}
		if (i/batch)%40 == 0 {
			fmt.Fprintf(os.Stderr, "preloaded %d/%d orders (%.0fs)\n", i, n, time.Since(start).Seconds())
		}
	}
	// Move the derivation counter past the fake addresses' indices is unnecessary: preloaded
	// addresses are not derived, so they cannot collide with derived ones.
	_ = engine
	fmt.Fprintf(os.Stderr, "preloaded %d orders in %.0fs\n", n, time.Since(start).Seconds())
}

func insertRows(ctx context.Context, tx *sql.Tx, st *store.Store, projectID string, from, count int, now int64) {
	var ob, ab strings.Builder
	ob.WriteString(`INSERT INTO orders (id, project_id, mode, order_reference, status, amount, currency, chain_id, address, payment_window_minutes, grace_minutes, expires_at, created_at) VALUES `)
	ab.WriteString(`INSERT INTO addresses (protocol, address, project_id, mode, source, order_id, created_at) VALUES `)
	for j := range count {
		i := from + j
		if j > 0 {
			ob.WriteByte(',')
			ab.WriteByte(',')
		}
		addr := fmt.Sprintf("0x%040x", uint64(i)+1<<60)
		id := fmt.Sprintf("ord_preload%014d", i)
		fmt.Fprintf(&ob, "('%s','%s','test','pre-%d','pending','10500000','USDT','devnet','%s',10,5,%d,%d)", id, projectID, i, addr, now+600000, now-int64(i))
		fmt.Fprintf(&ab, "('evm','%s','%s','test','derived','%s',%d)", addr, projectID, id, now)
	}
	if _, err := tx.ExecContext(ctx, ob.String()); err != nil {
		log.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, ab.String()); err != nil {
		log.Fatal(err)
	}
	_ = st
}

func someOrderIDs(ctx context.Context, st *store.Store) []string {
	rows, err := st.DB().QueryContext(ctx, "SELECT id FROM orders LIMIT 10000")
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	return ids
}

// sharedAddress turns the shared address on for the devnet's orders (the default offsets: 999 per
// price) and returns it, made by one order through the service.
func sharedAddress(ctx context.Context, svc *gateway.Service, projectID string) string {
	p, err := svc.UpdateProject(ctx, projectID, gateway.ProjectUpdate{SharedAmounts: map[string]*gateway.SharedAmounts{
		"devnet": {Step: gateway.DefaultOffsetStep, MaxOffset: gateway.DefaultMaxOffset}}})
	if err != nil {
		log.Fatal(err)
	}
	o, _, err := svc.CreateOrder(ctx, &gateway.Principal{Project: p, Mode: gateway.Test}, gateway.OrderInput{
		Reference: fmt.Sprintf("bench-shared-%d", time.Now().UnixNano()), Amount: "1", Currency: "USDT", ChainID: "devnet"})
	if err != nil {
		log.Fatal(err)
	}
	return o.Address
}

// insertSharedRows inserts open orders on the shared address with their held pay amounts. Pay
// amounts of all prices share one line (an order of 10.01 with offset 0.0100 pays what one of 10.00
// with 0.0200 would), so the preload spreads them: order i has price 10.00 + (i / 10) cents and
// offset (i mod 10) × 0.001 + 0.0001, and 100,000 orders hold one pay amount in ten from 10.0001 to
// 110.0000.
func insertSharedRows(ctx context.Context, tx *sql.Tx, projectID, address string, from, count int, now int64) {
	var ob, rb strings.Builder
	ob.WriteString(`INSERT INTO orders (id, project_id, mode, order_reference, status, amount, currency, chain_id, address, payment_window_minutes, grace_minutes, expires_at, created_at, pay_offset) VALUES `)
	rb.WriteString(`INSERT INTO amount_reservations (chain_id, address, currency, pay_amount, order_id, created_at, until) VALUES `)
	for j := range count {
		i := from + j
		if j > 0 {
			ob.WriteByte(',')
			rb.WriteByte(',')
		}
		id := fmt.Sprintf("ord_preload%014d", i)
		amount, offset := 10_000_000+int64(i/10)*10_000, int64(i%10)*1_000+100
		fmt.Fprintf(&ob, "('%s','%s','test','pre-%d','pending','%d','USDT','devnet','%s',10,5,%d,%d,'%d')", id, projectID, i, amount, address,
			now+600000, now-int64(i), offset)
		fmt.Fprintf(&rb, "('devnet','%s','USDT','%d','%s',%d,%d)", address, amount+offset, id, now, now+3600000*24)
	}
	if _, err := tx.ExecContext(ctx, ob.String()); err != nil {
		log.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, rb.String()); err != nil {
		log.Fatal(err)
	}
}
