// Command scanner measures the chain scanner on the devnet (see bench/README.md): detection latency
// from a block being mined to the order reading completed through the API, the per-block cost with
// 1,000 and 1,000,000 watched addresses and the memory of the latter, and catch-up throughput.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/stablegate/stablegate/internal/api"
	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/devnet"
	"github.com/stablegate/stablegate/internal/evm"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/store"
	"github.com/stablegate/stablegate/internal/store/sqlite"
)

var cpuprofile *string
var maxRange *int

func main() {
	latencyN := flag.Int("latency", 200, "payments for the detection-latency run (0 skips)")
	poll := flag.Duration("poll", 50*time.Millisecond, "scanner polling interval in the latency run")
	scale := flag.Int("scale", 1_000_000, "watched addresses for the scale run (0 skips)")
	blocks := flag.Int("blocks", 10_000, "blocks for the catch-up run (0 skips)")
	transfers := flag.Int("transfers", 50_000, "transfers in those blocks")
	profileFlag := flag.String("cpuprofile", "", "CPU profile of the catch-up scan")
	maxRange = flag.Int("range", 0, "blocks per eth_getLogs call at most (the scanner's MaxRange; 0: its default)")
	flag.Parse()
	cpuprofile = profileFlag
	fmt.Printf("cores=%d go=%s\n", runtime.NumCPU(), runtime.Version())
	if *latencyN > 0 {
		latency(*latencyN, *poll)
	}
	if *scale > 0 {
		scaling(*scale)
	}
	if *blocks > 0 {
		catchUp(*blocks, *transfers)
	}
}

type env struct {
	chain *devnet.Chain
	store *store.Store
	svc   *gateway.Service
	key   string
	dir   string
}

func newEnv() *env {
	c, err := devnet.Start(devnet.Config{})
	must(err)
	dir, _ := os.MkdirTemp("", "stablegate-scanbench-")
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "bench.db"))
	must(err)
	kr, err := gateway.NewKeyring(make([]byte, gateway.MasterKeySize))
	must(err)
	svc := &gateway.Service{Store: st, Keyring: kr}
	x, _ := chain.AccountXPub("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about", chain.EVM)
	cp, err := svc.CreateProject(context.Background(), gateway.CreateProjectParams{Live: true, Name: "bench", Website: "https://bench.example.com",
		XPubs: map[chain.Protocol]string{chain.EVM: x}})
	must(err)
	return &env{chain: c, store: st, svc: svc, key: cp.Keys[0].Key, dir: dir}
}

func (e *env) close() {
	e.store.Close()
	e.chain.Close()
	os.RemoveAll(e.dir)
}

func (e *env) scanner() *evm.Scanner {
	client, err := evm.NewClient([]string{e.chain.RPCURL()}, evm.Config{})
	must(err)
	reg, _ := chain.Builtin().Lookup("devnet")
	start := uint64(1)
	return &evm.Scanner{Chain: reg, Client: client, Gateway: e.svc, StartBlock: &start, MaxRange: uint64(*maxRange)}
}

func (e *env) principal() *gateway.Principal {
	pr, err := e.svc.Authenticate(context.Background(), e.key)
	must(err)
	return pr
}

// latency: a running gateway (API over HTTP, scanner polling); for each payment the block is mined
// and the API polled until the order reads completed.
func latency(n int, poll time.Duration) {
	e := newEnv()
	defer e.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc := e.scanner()
	sc.Interval = poll
	go sc.Run(ctx)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	base := "http://" + ln.Addr().String()
	go http.Serve(ln, api.New(e.svc, api.Config{PublicURL: base}))
	pr := e.principal()
	var lat []time.Duration
	for i := range n {
		o, _, err := e.svc.CreateOrder(ctx, pr, gateway.OrderInput{Reference: fmt.Sprint("lat-", i), Amount: "1", Currency: "USDT", ChainID: "devnet"})
		must(err)
		_, err = e.chain.Transfer(ctx, "USDT", common.HexToAddress(o.Address), big.NewInt(1_000_000))
		must(err)
		mined := time.Now()
		e.chain.Mine()
		for {
			req, _ := http.NewRequest("GET", base+"/api/v1/orders/"+o.ID, nil)
			req.Header.Set("Authorization", "Bearer "+e.key)
			res, err := http.DefaultClient.Do(req)
			must(err)
			var body struct{ Data struct{ Status string } }
			json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			if body.Data.Status == "completed" {
				lat = append(lat, time.Since(mined))
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	slices.Sort(lat)
	fmt.Printf("detection latency (1 confirmation, poll %s, n=%d): p50 %.0f ms  p99 %.0f ms  max %.0f ms\n", poll, n,
		ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), ms(lat[len(lat)-1]))
}

// scaling: the cost of scanning one block with 20 payments, and the memory of the watched set, with
// few and with many watched addresses.
func scaling(many int) {
	for _, n := range []int{1000, many} {
		e := newEnv()
		ctx := context.Background()
		pr := e.principal()
		preloadAddresses(e, pr.Project.ID, n)
		sc := e.scanner()
		// First step loads the watched set.
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		for {
			done, err := sc.RunOnce(ctx)
			must(err)
			if done {
				break
			}
		}
		runtime.GC()
		debug.FreeOSMemory() // return what loading freed, so RSS shows what is kept
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		var costs []time.Duration
		for round := range 30 {
			for i := range 20 {
				o, _, err := e.svc.CreateOrder(ctx, pr, gateway.OrderInput{Reference: fmt.Sprint("s-", round, "-", i), Amount: "1", Currency: "USDT", ChainID: "devnet"})
				must(err)
				_, err = e.chain.Transfer(ctx, "USDT", common.HexToAddress(o.Address), big.NewInt(1_000_000))
				must(err)
			}
			e.chain.Mine()
			t0 := time.Now()
			_, err := sc.RunOnce(ctx)
			must(err)
			costs = append(costs, time.Since(t0))
		}
		slices.Sort(costs)
		if w := sc.Watching(); w < n {
			log.Fatalf("the scanner watches %d addresses, not %d", w, n)
		}
		fmt.Printf("watched %9d addresses: block of 20 payments scanned in p50 %.1f ms (p90 %.1f ms); watched set heap %.0f MB; process RSS %s\n",
			n, ms(costs[len(costs)/2]), ms(costs[len(costs)*9/10]), max(0, float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20)), rss())
		e.close()
	}
}

// preloadAddresses writes n open orders with their addresses straight to the database, created
// 50 ms apart (a million over 14 hours) as a busy gateway would make them, each open for a day.
func preloadAddresses(e *env, projectID string, n int) {
	db := e.store.DB()
	now := time.Now().UnixMilli()
	for i := 0; i < n; i += 5000 {
		var addrs, orders strings.Builder
		addrs.WriteString(`INSERT INTO addresses (protocol, address, project_id, mode, source, order_id, created_at, assigned_at) VALUES `)
		orders.WriteString(`INSERT INTO orders (id, project_id, mode, order_reference, status, amount, currency, chain_id, address,
			payment_window_minutes, grace_minutes, expires_at, created_at) VALUES `)
		for j := i; j < min(n, i+5000); j++ {
			if j > i {
				addrs.WriteByte(',')
				orders.WriteByte(',')
			}
			addr := common.BigToAddress(big.NewInt(int64(j) + 1<<40)).Hex()
			at := now - int64(n-j)*50
			fmt.Fprintf(&addrs, "('evm','%s','%s','test','derived','ord_pre%014d',%d,%d)", addr, projectID, j, at, at)
			fmt.Fprintf(&orders, "('ord_pre%014d','%s','test','pre-%d','pending','1000000','USDT','devnet','%s',1440,5,%d,%d)",
				j, projectID, j, addr, at+86_400_000, at)
		}
		_, err := db.Exec(orders.String())
		must(err)
		_, err = db.Exec(addrs.String())
		must(err)
	}
}

// catchUp: blocks holding transfers to watched addresses are mined first; then a scanner starts
// from block 1 and the time to apply them all is measured.
func catchUp(blocks, transfers int) {
	e := newEnv()
	defer e.close()
	ctx := context.Background()
	pr := e.principal()
	var addrs []common.Address
	for i := range 1000 {
		o, _, err := e.svc.CreateOrder(ctx, pr, gateway.OrderInput{Reference: fmt.Sprint("c-", i), Amount: "1000000", Currency: "USDT", ChainID: "devnet"})
		must(err)
		addrs = append(addrs, common.HexToAddress(o.Address))
	}
	perBlock := max(1, transfers/blocks)
	t0 := time.Now()
	sent := 0
	for b := range blocks {
		var to []common.Address
		var amounts []*big.Int
		for i := 0; i < perBlock && sent < transfers; i++ {
			to = append(to, addrs[sent%len(addrs)])
			amounts = append(amounts, big.NewInt(int64(1+b)))
			sent++
		}
		if len(to) > 0 {
			_, err := e.chain.TransferMany(ctx, "USDT", to, amounts)
			must(err)
		}
		e.chain.Mine()
	}
	fmt.Printf("catch-up setup: %d transfers in %d blocks mined in %.0f s\n", sent, blocks, time.Since(t0).Seconds())
	sc := e.scanner()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		must(err)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	t1 := time.Now()
	for {
		done, err := sc.RunOnce(ctx)
		must(err)
		if done {
			break
		}
	}
	el := time.Since(t1)
	var stored int
	e.store.DB().QueryRow(`SELECT COUNT(*) FROM transfers`).Scan(&stored)
	fmt.Printf("catch-up: %d blocks, %d transfers stored in %.2f s: %.0f transfers/s, %.0f blocks/s\n", blocks, stored, el.Seconds(),
		float64(stored)/el.Seconds(), float64(blocks)/el.Seconds())
}

func rss() string {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
