// Package evm talks to EVM chains (and TRON's Ethereum-style JSON-RPC) for stablegate: a JSON-RPC
// client that survives real providers — failover across URLs, retries with backoff on rate limits,
// timeouts and server errors, and eth_getLogs ranges narrowed when a provider refuses them.
package evm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

// Errors a caller acts on.
var (
	// ErrRangeTooLarge: the provider refused an eth_getLogs range; ask for a smaller one.
	ErrRangeTooLarge = errors.New("log range too large for the provider")
	// ErrNotFound: the block does not exist (yet).
	ErrNotFound = errors.New("not found")
)

// RPCError is an error answer of a JSON-RPC call.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string { return fmt.Sprintf("json-rpc error %d: %s", e.Code, e.Message) }

// httpError is a non-2xx answer.
type httpError struct {
	status     int
	retryAfter time.Duration
}

func (e *httpError) Error() string { return fmt.Sprintf("http status %d", e.status) }

// Config tunes a Client.
type Config struct {
	// Timeout bounds one call (default 10 s).
	Timeout time.Duration
	// Attempts is how many times a call is tried across all URLs (default 6).
	Attempts int
	// Backoff is the first retry's delay, doubled each time up to MaxBackoff (defaults 200 ms, 5 s).
	Backoff, MaxBackoff time.Duration
}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Attempts <= 0 {
		c.Attempts = 6
	}
	if c.Backoff <= 0 {
		c.Backoff = 200 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Second
	}
	return c
}

// Client is a JSON-RPC client over one or more provider URLs of one chain. A URL that fails is
// left for the next one; retries rotate through all of them.
type Client struct {
	urls    []string
	cfg     Config
	http    *http.Client
	current atomic.Int64 // index of the URL to try first
	id      atomic.Int64

	wsMu sync.Mutex
	ws   map[string]*gethrpc.Client // connections to ws:// and wss:// URLs, dialed on first use
}

// NewClient returns a client for the chain's RPC URLs (at least one).
func NewClient(urls []string, cfg Config) (*Client, error) {
	if len(urls) == 0 {
		return nil, errors.New("evm: no RPC URL")
	}
	cfg = cfg.withDefaults()
	return &Client{urls: urls, cfg: cfg, http: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// Calls returns how many JSON-RPC calls the client was asked to make: each once, however many
// attempts (retries, failovers) it took.
func (c *Client) Calls() uint64 { return uint64(c.id.Load()) }

// Call makes one JSON-RPC call, retrying and failing over on transient errors, and decodes the
// result into out.
func (c *Client) Call(ctx context.Context, method string, out any, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": c.id.Add(1), "method": method, "params": params})
	if err != nil {
		return fmt.Errorf("%s: encode: %w", method, err)
	}
	delay := c.cfg.Backoff
	var last error
	for attempt := 0; attempt < c.cfg.Attempts; attempt++ {
		i := int(c.current.Load()) % len(c.urls)
		var err error
		if isWS(c.urls[i]) {
			err = c.doWS(ctx, c.urls[i], method, params, out)
		} else {
			err = c.do(ctx, c.urls[i], body, out)
		}
		if err == nil {
			return nil
		}
		last = err
		if !retryable(err) || ctx.Err() != nil {
			break
		}
		c.current.CompareAndSwap(int64(i), int64(i+1)) // fail over
		wait := delay
		var he *httpError
		if errors.As(err, &he) && he.retryAfter > 0 {
			wait = min(he.retryAfter, c.cfg.MaxBackoff)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %v)", method, ctx.Err(), c.redact(last))
		case <-time.After(wait):
		}
		delay = min(delay*2, c.cfg.MaxBackoff)
	}
	return fmt.Errorf("%s: %w", method, c.redact(last))
}

// redact hides the provider URLs in an error: their path or query usually carries the API key
// (Infura's /v3/KEY, Alchemy's /v2/KEY), and errors reach the logs and the public /health.
func (c *Client) redact(err error) error {
	if err == nil {
		return nil
	}
	var ue *neturl.Error
	if errors.As(err, &ue) {
		ue.URL = safeURL(ue.URL)
	}
	msg := err.Error()
	for _, u := range c.urls {
		msg = strings.ReplaceAll(msg, u, safeURL(u))
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// safeURL is a provider URL without what may be secret: scheme and host only.
func safeURL(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil || u.Host == "" {
		return "(provider URL)"
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		out += "/…"
	}
	return out
}

// redactedError is an error whose message hides provider URLs; errors.Is and As still see it.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (c *Client) do(ctx context.Context, url string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return err
	}
	var answer struct {
		Result json.RawMessage `json:"result"`
		Error  *RPCError       `json:"error"`
	}
	jsonErr := json.Unmarshal(raw, &answer)
	if answer.Error != nil {
		return classify(answer.Error)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		he := &httpError{status: res.StatusCode}
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
			he.retryAfter = time.Duration(s) * time.Second
		}
		if res.StatusCode == http.StatusRequestEntityTooLarge {
			return ErrRangeTooLarge
		}
		return he
	}
	if jsonErr != nil {
		return fmt.Errorf("decode answer: %w", jsonErr)
	}
	if out == nil {
		return nil
	}
	if len(answer.Result) == 0 || string(answer.Result) == "null" {
		return ErrNotFound
	}
	return json.Unmarshal(answer.Result, out)
}

// isWS reports whether a URL is a WebSocket endpoint.
func isWS(url string) bool {
	return strings.HasPrefix(url, "ws://") || strings.HasPrefix(url, "wss://")
}

// wsClient returns the connection to a WebSocket URL, dialing it if needed.
func (c *Client) wsClient(ctx context.Context, url string) (*gethrpc.Client, error) {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	if wc := c.ws[url]; wc != nil {
		return wc, nil
	}
	dctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	wc, err := gethrpc.DialContext(dctx, url)
	if err != nil {
		return nil, err
	}
	if c.ws == nil {
		c.ws = map[string]*gethrpc.Client{}
	}
	c.ws[url] = wc
	return wc, nil
}

// dropWS forgets a WebSocket connection after a transport error, so that the next call redials.
func (c *Client) dropWS(url string, wc *gethrpc.Client) {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	if c.ws[url] == wc {
		delete(c.ws, url)
		wc.Close()
	}
}

// doWS makes one call over a WebSocket connection, with the errors do gives.
func (c *Client) doWS(ctx context.Context, url, method string, params []any, out any) error {
	wc, err := c.wsClient(ctx, url)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var raw json.RawMessage
	if err := wc.CallContext(ctx, &raw, method, params...); err != nil {
		var re gethrpc.Error
		if errors.As(err, &re) {
			return classify(&RPCError{Code: re.ErrorCode(), Message: re.Error()})
		}
		c.dropWS(url, wc)
		return err
	}
	if out == nil {
		return nil
	}
	if len(raw) == 0 || string(raw) == "null" {
		return ErrNotFound
	}
	return json.Unmarshal(raw, out)
}

// SubscribeHeads subscribes to new heads (eth_subscribe newHeads) on the first WebSocket URL: each
// new block sends a value on the channel, until ctx ends or the subscription fails (then the
// channel is closed). Without a WebSocket URL it returns nil, nil.
func (c *Client) SubscribeHeads(ctx context.Context) (<-chan struct{}, error) {
	var url string
	for _, u := range c.urls {
		if isWS(u) {
			url = u
			break
		}
	}
	if url == "" {
		return nil, nil
	}
	wc, err := c.wsClient(ctx, url)
	if err != nil {
		return nil, c.redact(err)
	}
	heads := make(chan json.RawMessage, 16)
	sub, err := wc.EthSubscribe(ctx, heads, "newHeads")
	if err != nil {
		c.dropWS(url, wc)
		return nil, c.redact(err)
	}
	out := make(chan struct{}, 1)
	go func() {
		defer close(out)
		defer sub.Unsubscribe()
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.Err():
				c.dropWS(url, wc)
				return
			case <-heads:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out, nil
}

// Close closes WebSocket connections.
func (c *Client) Close() {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	for u, wc := range c.ws {
		wc.Close()
		delete(c.ws, u)
	}
}

// rangeMessages are how providers say an eth_getLogs range or result is too large (Infura,
// Alchemy, QuickNode, BSC and public nodes, Ankr, geth).
var rangeMessages = []string{"more than 10000 results", "response size exceeded", "block range", "range too large",
	"range is too large", "limit exceeded for block range", "exceed maximum block range", "too wide", "query timeout exceeded",
	"returned more than", "too many results", "logs matched by query exceeds limit"}

// rateMessages are how providers say "slow down" inside a JSON-RPC error.
var rateMessages = []string{"rate limit", "rate limited", "too many requests", "request count exceeded", "capacity exceeded", "try again later"}

// classify turns a JSON-RPC error into ErrRangeTooLarge, a retryable rate limit, or a final error.
func classify(e *RPCError) error {
	msg := strings.ToLower(e.Message)
	for _, m := range rangeMessages {
		if strings.Contains(msg, m) {
			return fmt.Errorf("%w: %v", ErrRangeTooLarge, e)
		}
	}
	for _, m := range rateMessages {
		if strings.Contains(msg, m) {
			return &httpError{status: http.StatusTooManyRequests}
		}
	}
	return e
}

// retryable reports whether another attempt (maybe on another URL) may succeed.
func retryable(err error) bool {
	if errors.Is(err, ErrRangeTooLarge) || errors.Is(err, ErrNotFound) {
		return false
	}
	var he *httpError
	if errors.As(err, &he) {
		return he.status == http.StatusTooManyRequests || he.status >= 500
	}
	var re *RPCError
	if errors.As(err, &re) {
		// "header not found", "unknown block": a node behind the others of its load balancer.
		msg := strings.ToLower(re.Message)
		return re.Code == -32603 || re.Code == -32000 && (strings.Contains(msg, "header not found") || strings.Contains(msg, "unknown block"))
	}
	return true // transport errors: timeouts, refused and dropped connections, garbled answers
}

// Header is what the scanner needs of a block, read from the raw JSON-RPC answer (go-ethereum's
// client recomputes hashes, which is wrong for TRON).
type Header struct {
	Number     uint64
	Hash       common.Hash
	ParentHash common.Hash
	Time       uint64
}

// BlockNumber returns the chain's head number.
func (c *Client) BlockNumber(ctx context.Context) (uint64, error) {
	var n hexutil.Uint64
	if err := c.Call(ctx, "eth_blockNumber", &n); err != nil {
		return 0, err
	}
	return uint64(n), nil
}

// HeaderByNumber returns a block's header by number.
func (c *Client) HeaderByNumber(ctx context.Context, n uint64) (*Header, error) {
	return c.header(ctx, hexutil.EncodeUint64(n))
}

// HeaderByTag returns the header of "latest", "safe" or "finalized".
func (c *Client) HeaderByTag(ctx context.Context, tag string) (*Header, error) {
	return c.header(ctx, tag)
}

func (c *Client) header(ctx context.Context, block string) (*Header, error) {
	var raw struct {
		Number     hexutil.Uint64 `json:"number"`
		Hash       common.Hash    `json:"hash"`
		ParentHash common.Hash    `json:"parentHash"`
		Timestamp  hexutil.Uint64 `json:"timestamp"`
	}
	if err := c.Call(ctx, "eth_getBlockByNumber", &raw, block, false); err != nil {
		return nil, err
	}
	return &Header{Number: uint64(raw.Number), Hash: raw.Hash, ParentHash: raw.ParentHash, Time: uint64(raw.Timestamp)}, nil
}

// Log is one event log.
type Log struct {
	Address     common.Address `json:"address"`
	Topics      []common.Hash  `json:"topics"`
	Data        hexutil.Bytes  `json:"data"`
	BlockNumber hexutil.Uint64 `json:"blockNumber"`
	BlockHash   common.Hash    `json:"blockHash"`
	TxHash      common.Hash    `json:"transactionHash"`
	LogIndex    hexutil.Uint   `json:"logIndex"`
	Removed     bool           `json:"removed"`
}

// Amount returns the log's data as an unsigned integer (the value of a Transfer).
func (l Log) Amount() *big.Int { return new(big.Int).SetBytes(l.Data) }

// Logs returns the logs of the contracts (nil: of every contract) with topic0 in [from, to], in one
// call.
func (c *Client) Logs(ctx context.Context, from, to uint64, contracts []common.Address, topic0 common.Hash) ([]Log, error) {
	filter := map[string]any{"fromBlock": hexutil.EncodeUint64(from), "toBlock": hexutil.EncodeUint64(to), "topics": []any{topic0}}
	if contracts != nil {
		filter["address"] = contracts
	}
	var logs []Log
	if err := c.Call(ctx, "eth_getLogs", &logs, filter); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return logs, nil
}

// LogsAt returns the logs of the contracts (nil: of every contract) with topic0 in the block with
// the hash (EIP-234). Unlike a range, which a node that has not reached it answers with no logs, a
// hash the node does not know is an error ("unknown block", retried).
func (c *Client) LogsAt(ctx context.Context, block common.Hash, contracts []common.Address, topic0 common.Hash) ([]Log, error) {
	filter := map[string]any{"blockHash": block, "topics": []any{topic0}}
	if contracts != nil {
		filter["address"] = contracts
	}
	var logs []Log
	if err := c.Call(ctx, "eth_getLogs", &logs, filter); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return logs, nil
}

// LogsInRange returns the logs of [from, to], halving the range whenever the provider refuses it;
// maxRange (if > 0) caps a single call's range. It never skips a block: a range of one block that
// is still refused is an error. It also returns the largest range a call used once a refusal
// halved it (or maxRange), for the caller to start from next time.
func (c *Client) LogsInRange(ctx context.Context, from, to uint64, contracts []common.Address, topic0 common.Hash, maxRange uint64) ([]Log, uint64, error) {
	var out []Log
	worked := maxRange
	for from <= to {
		end := to
		if maxRange > 0 && end-from+1 > maxRange {
			end = from + maxRange - 1
		}
		for {
			logs, err := c.Logs(ctx, from, end, contracts, topic0)
			if errors.Is(err, ErrRangeTooLarge) && end > from {
				end = from + (end-from)/2
				worked = end - from + 1
				maxRange = worked
				continue
			}
			if err != nil {
				return nil, worked, fmt.Errorf("logs %d–%d: %w", from, end, err)
			}
			out = append(out, logs...)
			break
		}
		from = end + 1
	}
	return out, worked, nil
}
