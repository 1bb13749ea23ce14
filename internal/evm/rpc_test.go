package evm_test

import (
	"context"
	"errors"
	"math/big"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/stablegate/stablegate/internal/devnet"
	"github.com/stablegate/stablegate/internal/evm"
	"github.com/stablegate/stablegate/internal/evm/evmtest"
	"github.com/stablegate/stablegate/internal/metrics"
)

var transferTopic = crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))

func tokens() []common.Address {
	t := devnet.Tokens()
	return []common.Address{t["USDT"], t["USDC"], t["DAI"]}
}

// chainWithTransfers starts a devnet and mines n transfers spread over about 2n blocks.
func chainWithTransfers(t *testing.T, n int) *devnet.Chain {
	t.Helper()
	c, err := devnet.Start(devnet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	for i := range n {
		to := common.BigToAddress(big.NewInt(int64(1000 + i)))
		if _, err := c.Transfer(ctx, []string{"USDT", "USDC", "DAI"}[i%3], to, big.NewInt(int64(i+1))); err != nil {
			t.Fatal(err)
		}
		c.Mine()
		if i%2 == 0 {
			c.Mine() // an empty block
		}
	}
	return c
}

func fastConfig() evm.Config {
	return evm.Config{Timeout: 300 * time.Millisecond, Attempts: 40, Backoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
}

// sendConfig is fastConfig with a call bound long enough for the sender's heaviest calls (the
// estimate of a sweep of fifty authorizations takes over 300 ms under -race on a busy machine, and
// a call cut off at its bound is cut off again on every retry). No sender test relies on a node
// that hangs.
func sendConfig() evm.Config {
	c := fastConfig()
	c.Timeout = 15 * time.Second
	return c
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	c := chainWithTransfers(t, 3)
	ctx := context.Background()
	client, err := evm.NewClient([]string{c.RPCURL()}, fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	head, err := client.BlockNumber(ctx)
	if err != nil || head < 5 {
		t.Fatalf("head = %d, %v", head, err)
	}
	eth, _ := ethclient.Dial(c.RPCURL())
	defer eth.Close()
	prev, _ := client.HeaderByNumber(ctx, head-1)
	h, err := client.HeaderByNumber(ctx, head)
	if err != nil || h.Number != head || h.ParentHash != prev.Hash {
		t.Fatalf("header %d = %+v (%v); parent must be %s", head, h, err, prev.Hash)
	}
	want, _ := eth.HeaderByNumber(ctx, new(big.Int).SetUint64(head))
	if h.Hash != want.Hash() {
		t.Errorf("hash = %s, go-ethereum says %s", h.Hash, want.Hash())
	}
	if latest, err := client.HeaderByTag(ctx, "latest"); err != nil || latest.Hash != h.Hash {
		t.Errorf("latest = %+v, %v", latest, err)
	}
	if _, err := client.HeaderByNumber(ctx, head+1000); !errors.Is(err, evm.ErrNotFound) {
		t.Errorf("a future block: %v, want ErrNotFound", err)
	}
	// A final error (unknown method) is not retried: one call reaches the node.
	counter, _ := evmtest.Start(c.RPCURL(), evmtest.Faults{})
	defer counter.Close()
	counted, _ := evm.NewClient([]string{counter.URL()}, fastConfig())
	var v any
	err = counted.Call(ctx, "eth_noSuchMethod", &v)
	var re *evm.RPCError
	if calls, _, _ := counter.Stats(); !errors.As(err, &re) || calls != 1 {
		t.Errorf("unknown method: %v after %d calls; want a final RPCError after one", err, calls)
	}
}

// Every transfer is found through a provider that fails half its calls in every documented way and
// refuses log ranges over 4 blocks.
func TestLogsThroughFaults(t *testing.T) {
	t.Parallel()
	c := chainWithTransfers(t, 24)
	ctx := context.Background()
	direct, _ := evm.NewClient([]string{c.RPCURL()}, fastConfig())
	head, _ := direct.BlockNumber(ctx)
	want, err := direct.Logs(ctx, 0, head, tokens(), transferTopic)
	if err != nil || len(want) != 24+3 { // 24 payments and the 3 mints
		t.Fatalf("direct logs = %d, %v", len(want), err)
	}
	proxy, err := evmtest.Start(c.RPCURL(), evmtest.Faults{Rate: 0.5, MaxLogRange: 4, Seed: 7,
		Kinds: []evmtest.Kind{evmtest.RateLimit, evmtest.ServerError, evmtest.Timeout, evmtest.Drop}})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	faulty, _ := evm.NewClient([]string{proxy.URL()}, fastConfig())
	got, _, err := faulty.LogsInRange(ctx, 0, head, tokens(), transferTopic, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("found %d logs through faults, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].TxHash != want[i].TxHash || got[i].LogIndex != want[i].LogIndex || got[i].Amount().Cmp(want[i].Amount()) != 0 {
			t.Errorf("log %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	calls, injected, refused := proxy.Stats()
	if injected == 0 || refused == 0 {
		t.Errorf("the faults were not exercised: %d calls, %d injected, %d ranges refused", calls, injected, refused)
	}
}

func TestFailover(t *testing.T) {
	t.Parallel()
	c := chainWithTransfers(t, 1)
	// The first URL answers every call with a 502; the second is the node.
	bad, err := evmtest.Start(c.RPCURL(), evmtest.Faults{Rate: 1, Kinds: []evmtest.Kind{evmtest.ServerError}})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	cfg := fastConfig()
	cfg.Chain = "failover-test"
	client, _ := evm.NewClient([]string{bad.URL(), c.RPCURL()}, cfg)
	if n, err := client.BlockNumber(context.Background()); err != nil || n == 0 {
		t.Fatalf("with the first URL failing: %d, %v", n, err)
	}
	// Once failed over, the good URL is tried first: the failing one sees no more calls.
	before, _, _ := bad.Stats()
	for range 5 {
		if _, err := client.BlockNumber(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if after, _, _ := bad.Stats(); after != before {
		t.Errorf("the failing URL got %d more calls after failover", after-before)
	}
	// The metrics name each provider by its host: the failing one's error, the good one's calls.
	reg, err := metrics.New(metrics.Sources{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	badHost, goodHost := strings.TrimPrefix(bad.URL(), "http://"), strings.TrimPrefix(c.RPCURL(), "http://")
	for _, want := range []string{
		`stablegate_rpc_errors_total{chain="failover-test",provider="` + badHost + `"} 1`,
		`stablegate_rpc_requests_total{chain="failover-test",method="eth_blockNumber",provider="` + goodHost + `"} 6`,
	} {
		if !strings.Contains(rec.Body.String(), want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// A range of a single block that the provider still refuses is an error, never a skipped block.
func TestRangeNeverSkipsABlock(t *testing.T) {
	t.Parallel()
	c := chainWithTransfers(t, 2)
	proxy, _ := evmtest.Start(c.RPCURL(), evmtest.Faults{MaxLogRange: 1})
	defer proxy.Close()
	client, _ := evm.NewClient([]string{proxy.URL()}, fastConfig())
	head, _ := client.BlockNumber(context.Background())
	logs, _, err := client.LogsInRange(context.Background(), 0, head, tokens(), transferTopic, 0)
	if err != nil || len(logs) != 5 {
		t.Fatalf("one block at a time: %d logs, %v", len(logs), err)
	}
	proxy.Set(evmtest.Faults{MaxLogRange: 0, Rate: 1, Kinds: []evmtest.Kind{evmtest.ServerError}})
	short := fastConfig()
	short.Attempts = 3
	failing, _ := evm.NewClient([]string{proxy.URL()}, short)
	if _, _, err := failing.LogsInRange(context.Background(), 0, head, tokens(), transferTopic, 0); err == nil {
		t.Error("a provider that always fails produced logs")
	}
}

// Provider URLs carry API keys in their path or query; errors reach the logs and the public
// /health, so they name the provider's host only.
func TestErrorsHideProviderKeys(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now: every call fails with the URL in Go's error
	cfg := evm.Config{Timeout: 200 * time.Millisecond, Attempts: 2, Backoff: time.Millisecond}
	httpClient, _ := evm.NewClient([]string{"http://" + dead + "/v3/SECRETKEY123?apikey=QUERYKEY"}, cfg)
	wsClient, _ := evm.NewClient([]string{"ws://" + dead + "/ws/SECRETKEY456"}, cfg)
	_, callErr := httpClient.BlockNumber(context.Background())
	_, wsErr := wsClient.BlockNumber(context.Background())
	_, subErr := wsClient.SubscribeHeads(context.Background())
	for _, err := range []error{callErr, wsErr, subErr} {
		if err == nil {
			t.Fatal("a call to a closed port succeeded")
		}
		if msg := err.Error(); strings.Contains(msg, "KEY") || !strings.Contains(msg, dead) {
			t.Errorf("error %q shows a key or hides the host", msg)
		}
	}
}
