// Package evmtest holds what tests of EVM node clients need: a small HTTP proxy for JSON-RPC that
// injects the faults real providers produce — rate limits, server errors, timeouts, dropped
// connections, eth_getLogs range limits, a node lagging behind its load balancer — in front of a
// real node (the devnet), so that chain code is tested against them without mocks.
package evmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

// Kind is one kind of fault.
type Kind int

// The faults, each as providers document them.
const (
	// RateLimit answers 429 Too Many Requests with Retry-After: 1 and a JSON-RPC error body
	// (Infura, Alchemy).
	RateLimit Kind = iota
	// ServerError answers 502 Bad Gateway with an HTML body, as a load balancer in front of a node does.
	ServerError
	// Timeout holds the request without answering until the client gives up.
	Timeout
	// Drop closes the connection without an answer.
	Drop
)

// Faults configures what the proxy injects.
type Faults struct {
	// Rate is the fraction of calls (0–1) that fail with one of Kinds, chosen at random.
	Rate  float64
	Kinds []Kind
	// MaxLogRange, when set, refuses eth_getLogs over more blocks than this with Infura's error
	// (-32005 "query returned more than 10000 results"), whatever Rate says.
	MaxLogRange uint64
	// Lag, when set, answers half of the eth_blockNumber, eth_getLogs and eth_getBlockByNumber calls
	// (at random) as a node Lag blocks behind the others of a load balancer does (go-ethereum issue 24078, and nodes of every client
	// since): a range past its head gets only the logs up to its head — none if the range starts
	// past it — with no error; a block hash it does not have is "unknown block" (geth, Infura); a
	// block number past its head is null; its head is Lag blocks lower. LagAll sends every such
	// call to the lagging node.
	Lag    uint64
	LagAll bool
	// HideTxLogs drops the logs of these transactions (0x hashes, lower-case) from every eth_getLogs
	// answer, as a provider whose log index lost them does (Infura, Alchemy and QuickNode have each
	// served incomplete eth_getLogs answers during incidents); the receipt still has them.
	HideTxLogs []string
	// NoBlockTimestamps drops blockTimestamp from every eth_getLogs answer's logs, as nodes before
	// go-ethereum 1.16 and providers that never added the field answer.
	NoBlockTimestamps bool
	// LoseSends answers every eth_sendRawTransaction as accepted (with the transaction's hash) and
	// forwards none, as a provider whose node dropped the transaction from its pool (or never
	// relayed it) does: the sender hears "accepted" and the transaction is never mined.
	LoseSends bool
	// Seed makes the random choices repeatable.
	Seed uint64
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	upstream string
	srv      *http.Server
	ln       net.Listener
	mu       sync.Mutex
	faults   Faults
	rnd      *rand.Rand
	client   *http.Client

	calls, injected, rangeRefused, lagged, lost atomic.Int64
}

// Start listens on a loopback port and forwards to upstream.
func Start(upstream string, f Faults) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{upstream: upstream, ln: ln, client: &http.Client{Timeout: 30 * time.Second}}
	p.Set(f)
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// URL is the proxy's address, to use as an RPC URL.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Set replaces the faults.
func (p *Proxy) Set(f Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = f
	p.rnd = rand.New(rand.NewPCG(f.Seed, f.Seed^0x5deece66d))
}

// Stats reports calls seen, faults injected and getLogs calls refused for their range.
func (p *Proxy) Stats() (calls, injected, rangeRefused int64) {
	return p.calls.Load(), p.injected.Load(), p.rangeRefused.Load()
}

// Close stops the proxy.
func (p *Proxy) Close() error { return p.srv.Close() }

type request struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.calls.Add(1)
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	var req request
	_ = json.Unmarshal(body, &req) // batches and garbage pass through untouched
	p.mu.Lock()
	f := p.faults
	fail := f.Rate > 0 && len(f.Kinds) > 0 && p.rnd.Float64() < f.Rate
	var kind Kind
	if fail {
		kind = f.Kinds[p.rnd.IntN(len(f.Kinds))]
	}
	p.mu.Unlock()

	if fail {
		p.injected.Add(1)
		p.inject(w, r, kind, req.ID)
		return
	}
	if req.Method == "eth_getLogs" && f.MaxLogRange > 0 && len(req.Params) == 1 {
		if n, ok := logRange(req.Params[0]); ok && n > f.MaxLogRange {
			p.rangeRefused.Add(1)
			writeJSON(w, http.StatusOK, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":-32005,"message":"query returned more than 10000 results"}}`, idOr(req.ID)))
			return
		}
	}
	if req.Method == "eth_sendRawTransaction" && f.LoseSends && len(req.Params) == 1 {
		var raw hexutil.Bytes
		if json.Unmarshal(req.Params[0], &raw) == nil {
			p.lost.Add(1)
			writeJSON(w, http.StatusOK, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":"%s"}`, idOr(req.ID), crypto.Keccak256Hash(raw).Hex()))
			return
		}
	}
	if req.Method == "eth_getLogs" && (len(f.HideTxLogs) > 0 || f.NoBlockTimestamps) {
		p.rewritingLogs(w, r, body, f)
		return
	}
	lags := req.Method == "eth_getLogs" || req.Method == "eth_getBlockByNumber" || req.Method == "eth_blockNumber"
	if lags && f.Lag > 0 && (f.LagAll || p.coin()) {
		if body = p.lagging(w, r, req, body, f.Lag); body == nil {
			return // answered as the lagging node
		}
	}
	p.forward(w, r, body)
}

// lagging answers a call as a node lag blocks behind the head does (and returns nil), or returns
// the body to forward: as it is when the node has what was asked, rewritten to end at the node's
// head when a log range reaches past it.
func (p *Proxy) lagging(w http.ResponseWriter, r *http.Request, req request, body []byte, lag uint64) []byte {
	var head string
	if err := p.call(r, "eth_blockNumber", &head); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return nil
	}
	n, _ := strconv.ParseUint(trim0x(head), 16, 64)
	nodeHead := n - min(n, lag)
	answer := func(result string) []byte {
		p.lagged.Add(1)
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,%s}`, idOr(req.ID), result))
		return nil
	}
	switch {
	case req.Method == "eth_blockNumber":
		return answer(fmt.Sprintf(`"result":"0x%x"`, nodeHead))
	case len(req.Params) == 0:
		return body
	case req.Method == "eth_getBlockByNumber":
		var number string
		if json.Unmarshal(req.Params[0], &number) == nil {
			if b, err := strconv.ParseUint(trim0x(number), 16, 64); err == nil && b > nodeHead {
				return answer(`"result":null`)
			}
		}
		return body
	}
	var filter map[string]any
	if json.Unmarshal(req.Params[0], &filter) != nil {
		return body
	}
	if hash, ok := filter["blockHash"].(string); ok {
		var block *struct {
			Number string `json:"number"`
		}
		if err := p.call(r, "eth_getBlockByHash", &block, hash, false); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return nil
		}
		if block != nil {
			if b, _ := strconv.ParseUint(trim0x(block.Number), 16, 64); b > nodeHead {
				return answer(`"error":{"code":-32000,"message":"unknown block"}`)
			}
		}
		return body
	}
	from, err1 := strconv.ParseUint(trim0x(fmt.Sprint(filter["fromBlock"])), 16, 64)
	to, err2 := strconv.ParseUint(trim0x(fmt.Sprint(filter["toBlock"])), 16, 64)
	switch {
	case err1 != nil || err2 != nil || to <= nodeHead:
		return body
	case from > nodeHead:
		return answer(`"result":[]`)
	}
	p.lagged.Add(1)
	filter["toBlock"] = "0x" + strconv.FormatUint(nodeHead, 16)
	raw, _ := json.Marshal(filter)
	body, _ = json.Marshal(map[string]any{"jsonrpc": "2.0", "id": req.ID, "method": req.Method, "params": []json.RawMessage{raw}})
	return body
}

// rewritingLogs forwards an eth_getLogs call and answers without the logs of the hidden transactions,
// and without their block timestamps when f says so.
func (p *Proxy) rewritingLogs(w http.ResponseWriter, r *http.Request, body []byte, f Faults) {
	res, err := p.send(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	var answer map[string]json.RawMessage
	if err := json.NewDecoder(res.Body).Decode(&answer); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var logs []map[string]any
	if json.Unmarshal(answer["result"], &logs) == nil {
		kept := logs[:0]
		for _, l := range logs {
			if f.NoBlockTimestamps {
				delete(l, "blockTimestamp")
			}
			if h, _ := l["transactionHash"].(string); !slices.Contains(f.HideTxLogs, strings.ToLower(h)) {
				kept = append(kept, l)
			}
		}
		answer["result"], _ = json.Marshal(kept)
	}
	out, _ := json.Marshal(answer)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// call makes a JSON-RPC call upstream, for the proxy's own needs.
func (p *Proxy) call(r *http.Request, method string, out any, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	up, err := http.NewRequestWithContext(r.Context(), http.MethodPost, p.upstream, bytes.NewReader(body))
	if err != nil {
		return err
	}
	up.Header.Set("Content-Type", "application/json")
	res, err := p.client.Do(up)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var answer struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&answer); err != nil {
		return err
	}
	return json.Unmarshal(answer.Result, out)
}

// coin is heads half of the time (the load balancer's pick), repeatably from Faults.Seed.
func (p *Proxy) coin() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rnd.IntN(2) == 0
}

// Lagged counts the answers the lagging node changed.
func (p *Proxy) Lagged() int64 { return p.lagged.Load() }

// Lost is how many eth_sendRawTransaction calls LoseSends answered without forwarding.
func (p *Proxy) Lost() int64 { return p.lost.Load() }

// send posts a JSON-RPC body upstream.
func (p *Proxy) send(r *http.Request, body []byte) (*http.Response, error) {
	up, err := http.NewRequestWithContext(r.Context(), http.MethodPost, p.upstream, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	up.Header.Set("Content-Type", "application/json")
	return p.client.Do(up)
}

// forward passes a request upstream and its answer back.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	res, err := p.send(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}

func (p *Proxy) inject(w http.ResponseWriter, r *http.Request, kind Kind, id json.RawMessage) {
	switch kind {
	case RateLimit:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":-32005,"message":"daily request count exceeded, request rate limited"}}`, idOr(id)))
	case ServerError:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
	case Timeout:
		select {
		case <-r.Context().Done():
		case <-time.After(60 * time.Second):
		}
	case Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func idOr(id json.RawMessage) string {
	if len(id) == 0 {
		return "null"
	}
	return string(id)
}

// logRange returns toBlock-fromBlock+1 of an eth_getLogs filter with numeric bounds.
func logRange(raw json.RawMessage) (uint64, bool) {
	var f struct {
		FromBlock string `json:"fromBlock"`
		ToBlock   string `json:"toBlock"`
	}
	if json.Unmarshal(raw, &f) != nil {
		return 0, false
	}
	from, err1 := strconv.ParseUint(trim0x(f.FromBlock), 16, 64)
	to, err2 := strconv.ParseUint(trim0x(f.ToBlock), 16, 64)
	if err1 != nil || err2 != nil || to < from {
		return 0, false
	}
	return to - from + 1, true
}

func trim0x(s string) string {
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		return s[2:]
	}
	return "invalid"
}
