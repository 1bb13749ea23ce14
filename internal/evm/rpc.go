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
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/stablegate/stablegate/internal/metrics"
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
	// Chain names the chain in the client's metrics (empty: "unknown").
	Chain string
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
	if c.Chain == "" {
		c.Chain = "unknown"
	}
	return c
}

// Client is a JSON-RPC client over one or more provider URLs of one chain. A URL that fails is
// left for the next one; retries rotate through all of them.
type Client struct {
	urls []string
	// providers name the URLs in metrics: their hosts only, since a path or query often holds a key.
	providers []string
	cfg       Config
	http      *http.Client
	current   atomic.Int64 // index of the URL to try first
	id        atomic.Int64

	wsMu sync.Mutex
	ws   map[string]*gethrpc.Client // connections to ws:// and wss:// URLs, dialed on first use
}

// NewClient returns a client for the chain's RPC URLs (at least one).
func NewClient(urls []string, cfg Config) (*Client, error) {
	if len(urls) == 0 {
		return nil, errors.New("evm: no RPC URL")
	}
	cfg = cfg.withDefaults()
	providers := make([]string, len(urls))
	for i, u := range urls {
		providers[i] = "unknown"
		if p, err := neturl.Parse(u); err == nil && p.Host != "" {
			providers[i] = p.Host
		}
	}
	return &Client{urls: urls, providers: providers, cfg: cfg, http: &http.Client{
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
		metrics.RPC(c.cfg.Chain, c.providers[i], method, err != nil && retryable(err) && ctx.Err() == nil)
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
