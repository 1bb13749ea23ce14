// Command withdrawals measures withdrawals on the devnet (see bench/README.md): how many approved
// withdrawals one hot wallet executes per minute — queued by the withdrawer, signed with gapless
// nonces and followed by the sender, a block a second — and the latency of creating and approving
// withdrawals through the HTTP API with 32 clients at once, over SQLite or PostgreSQL.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/stablegate/stablegate/internal/api"
	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/devnet"
	"github.com/stablegate/stablegate/internal/evm"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/store/postgres"
	"github.com/stablegate/stablegate/internal/store/sqlite"
)

func main() {
	n := flag.Int("withdrawals", 600, "approved withdrawals to execute in the timed run")
	clients := flag.Int("clients", 32, "concurrent API clients")
	per := flag.Int("per-client", 50, "withdrawals each client creates and approves")
	dsn := flag.String("postgres", "", "PostgreSQL URL (default: SQLite in a temporary directory)")
	flag.Parse()
	engine := "sqlite"
	if *dsn != "" {
		engine = "postgres"
	}
	fmt.Printf("cores=%d go=%s engine=%s\n", runtime.NumCPU(), runtime.Version(), engine)
	w := newWorld(*dsn)
	defer w.close()
	w.execute(*n)
	w.api(*clients, *per)
}

type world struct {
	chain      *devnet.Chain
	svc        *gateway.Service
	pr         *gateway.Principal
	key        gateway.KeyPair
	sender     *evm.Sender
	withdrawer *gateway.Withdrawer
	scan       *evm.Scanner
	hot        common.Address
	dir        string
}

func newWorld(dsn string) *world {
	c, err := devnet.Start(devnet.Config{Fork: "osaka"})
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "withdrawals-bench")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	var st gateway.Store
	if dsn != "" {
		st, err = postgres.Open(ctx, dsn)
	} else {
		st, err = sqlite.Open(ctx, filepath.Join(dir, "bench.db"))
	}
	if err != nil {
		log.Fatal(err)
	}
	kr, err := gateway.NewKeyring(make([]byte, gateway.MasterKeySize))
	if err != nil {
		log.Fatal(err)
	}
	reg, err := chain.Builtin().Configure("devnet", 1, "none")
	if err != nil {
		log.Fatal(err)
	}
	client, err := evm.NewClient([]string{c.RPCURL()}, evm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	svc := &gateway.Service{Store: st, Keyring: kr, Registry: reg, Chains: []string{"devnet"}, Nodes: evm.Nodes{"devnet": client}, Encoder: evm.Encoder{}}
	cp, err := svc.CreateProject(ctx, gateway.CreateProjectParams{Live: true, Name: "Bench", Website: "https://bench.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	var key gateway.KeyPair
	for _, k := range cp.Keys {
		if k.Mode == gateway.Test {
			key = k
		}
	}
	pr, err := svc.Authenticate(ctx, key.Key)
	if err != nil {
		log.Fatal(err)
	}
	pr.SecretProven = true
	hot, err := svc.HotWalletAddress(ctx, cp.Project.ID, gateway.Test, "devnet")
	if err != nil {
		log.Fatal(err)
	}
	ch, _ := reg.Lookup("devnet")
	start := uint64(1)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := &world{chain: c, svc: svc, pr: pr, key: key, hot: common.HexToAddress(hot), dir: dir,
		sender:     &evm.Sender{Chain: ch, Client: client, Gateway: svc, Log: quiet, Holder: "bench"},
		withdrawer: &gateway.Withdrawer{Service: svc, Chains: []string{"devnet"}, Holder: "bench", Log: quiet},
		scan:       &evm.Scanner{Chain: ch, Client: client, Gateway: svc, StartBlock: &start, Log: quiet}}
	if _, err := devnet.Fund(ctx, c.RPCURL(), w.hot, new(big.Int).Mul(big.NewInt(1e18), big.NewInt(1000))); err != nil {
		log.Fatal(err)
	}
	c.Mine()
	// The balance every withdrawal is held from: one paid order of 1,000,000 USDT, swept into the
	// hot wallet.
	o, _, err := svc.CreateOrder(ctx, pr, gateway.OrderInput{Reference: "funds", Amount: "1000000", Currency: "USDT", ChainID: "devnet"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Transfer(ctx, "USDT", common.HexToAddress(o.Address), o.Amount); err != nil {
		log.Fatal(err)
	}
	c.Mine()
	w.scanAll()
	if _, err := svc.Sweep(ctx, pr, gateway.SweepRequest{ChainID: "devnet"}); err != nil {
		log.Fatal(err)
	}
	w.settle(0)
	return w
}

func (w *world) close() {
	w.chain.Close()
	w.svc.Store.Close()
	os.RemoveAll(w.dir)
}

func (w *world) scanAll() {
	for {
		caughtUp, err := w.scan.RunOnce(context.Background())
		if err != nil {
			log.Fatal(err)
		}
		if caughtUp {
			return
		}
	}
}

// settle runs the withdrawer and the sender and mines (every interval; 0: at once) until nothing
// is unfinished, and returns how many blocks that took.
func (w *world) settle(every time.Duration) int {
	ctx := context.Background()
	for blocks := 0; ; blocks++ {
		w.withdrawer.RunOnce(ctx)
		if err := w.sender.RunOnce(ctx); err != nil {
			log.Fatal(err)
		}
		un, err := w.svc.Store.UnfinishedOutgoing(ctx, "devnet")
		if err != nil {
			log.Fatal(err)
		}
		todo, err := w.svc.Store.WithdrawalsToSend(ctx, "devnet", 1)
		if err != nil {
			log.Fatal(err)
		}
		if len(un) == 0 && len(todo) == 0 {
			return blocks
		}
		time.Sleep(every)
		w.chain.Mine()
	}
}

// execute approves n withdrawals of 1 USDT to n new addresses and times them from the approvals
// to the last one completed, a block a second.
func (w *world) execute(n int) {
	ctx := context.Background()
	var ids []string
	for i := range n {
		to := crypto.CreateAddress(common.HexToAddress("0x00000000000000000000000000000000000000cc"), uint64(i))
		wd, _, err := w.svc.CreateWithdrawal(ctx, w.pr, gateway.WithdrawalInput{Reference: fmt.Sprint("exec-", i), Amount: "1", Currency: "USDT",
			ChainID: "devnet", Address: to.Hex()})
		if err != nil {
			log.Fatal(err)
		}
		ids = append(ids, wd.ID)
	}
	start := time.Now()
	for _, id := range ids {
		if _, err := w.svc.ApproveWithdrawal(ctx, w.pr, id); err != nil {
			log.Fatal(err)
		}
	}
	blocks := w.settle(time.Second)
	took := time.Since(start)
	for _, id := range ids {
		wd, err := w.svc.FindWithdrawal(ctx, w.pr, id)
		if err != nil || wd.Status != gateway.WithdrawalCompleted {
			log.Fatalf("withdrawal %s: %v %v", id, wd.Status, err)
		}
	}
	nonce, err := w.sender.Client.NonceAt(ctx, w.hot, "latest")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d approved withdrawals completed in %s (%d blocks, one a second): %.0f a minute; the hot wallet's nonce is %d (gapless)\n",
		n, took.Round(time.Millisecond), blocks, float64(n)/took.Minutes(), nonce)
}

// api has each of the clients create and approve per withdrawals through the HTTP API at once,
// and reports the latencies.
func (w *world) api(clients, per int) {
	srv := httptest.NewServer(api.New(w.svc, api.Config{PublicURL: "http://bench.local/", Version: "bench"}))
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	call := func(path, body string) (time.Duration, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("apikey", w.key.Key)
		req.Header.Set("x-api-secret", w.key.Secret)
		t0 := time.Now()
		res, err := hc.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer res.Body.Close()
		var out struct {
			Data map[string]any
		}
		raw, _ := io.ReadAll(res.Body)
		d := time.Since(t0)
		if res.StatusCode >= 300 || json.Unmarshal(raw, &out) != nil {
			log.Fatalf("%s: %d %s", path, res.StatusCode, raw)
		}
		return d, out.Data
	}
	var mu sync.Mutex
	var creates, approves []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				to := crypto.CreateAddress(common.HexToAddress("0x00000000000000000000000000000000000000dd"), uint64(c*per+i))
				d1, data := call("/api/v1/withdrawals", fmt.Sprintf(`{"reference":"api-%d-%d","amount":"1","currency":"USDT","chainId":"devnet","address":"%s"}`,
					c, i, to.Hex()))
				d2, _ := call("/api/v1/withdrawals/"+data["withdrawalId"].(string)+"/approve", "")
				mu.Lock()
				creates, approves = append(creates, d1), append(approves, d2)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	pct := func(ds []time.Duration, p float64) time.Duration {
		slices.Sort(ds)
		return ds[int(p*float64(len(ds)-1))].Round(10 * time.Microsecond)
	}
	fmt.Printf("API, %d clients × %d: %d creates + %d approvals in %s (%.0f requests/s)\n", clients, per, len(creates), len(approves),
		took.Round(time.Millisecond), float64(len(creates)+len(approves))/took.Seconds())
	fmt.Printf("  create:  p50 %s  p99 %s  max %s\n", pct(creates, 0.5), pct(creates, 0.99), pct(creates, 1))
	fmt.Printf("  approve: p50 %s  p99 %s  max %s\n", pct(approves, 0.5), pct(approves, 0.99), pct(approves, 1))
}
