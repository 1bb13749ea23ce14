// Package client is a Go client of the stablegate API: typed requests and answers, the envelope
// and the error types unwrapped into Go errors, retries with backoff on 429 and 5xx (honouring
// Retry-After), an Idempotency-Key on every POST, iterators over lists, and VerifyWebhook for the
// three signatures stablegate sends.
//
//	c := client.New("https://pay.example.com", "pk_live_…", client.WithSecret("sk_live_…"))
//	o, err := c.CreateOrder(ctx, client.OrderInput{OrderReference: "order_1", Amount: "10.50", Currency: "USDT", ChainID: "ethereum"})
//	var apiErr *client.Error
//	if errors.As(err, &apiErr) && apiErr.Type == "ValidationError" { … apiErr.Param … }
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls one stablegate with one API key (and, for the operations that need it, the API
// secret). It is safe for concurrent use.
type Client struct {
	base       string
	key        string
	secret     string
	http       *http.Client
	maxRetries int
	backoff    time.Duration
	maxBackoff time.Duration
}

// Option configures a Client.
type Option func(*Client)

// WithSecret sends the API secret (x-api-secret) with every request: withdrawals, approvals,
// sweeps, webhook and project settings need it. Keep it on your server.
func WithSecret(secret string) Option { return func(c *Client) { c.secret = secret } }

// WithHTTPClient uses h (default: a client with a 30 s timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithRetries sets how many times a request answered 429 or 5xx (or not answered) is sent again
// (default 3), and the first delay, doubled each time up to 30 s (default 500 ms). A Retry-After
// of the answer is waited instead when it says longer.
func WithRetries(n int, backoff time.Duration) Option {
	return func(c *Client) { c.maxRetries, c.backoff = n, backoff }
}

// New returns a client of the gateway at baseURL (e.g. https://pay.example.com) with the key.
func New(baseURL, key string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), key: key, http: &http.Client{Timeout: 30 * time.Second},
		maxRetries: 3, backoff: 500 * time.Millisecond, maxBackoff: 30 * time.Second}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Error is an error answer of the API: its type (ValidationError, Unauthorized, NotFound,
// Conflict, InsufficientFunds, …), message, the field it names, and the request id to quote.
type Error struct {
	Status    int    // the HTTP status
	Type      string `json:"error"`
	Message   string `json:"message"`
	Param     string `json:"param"`
	RequestID string `json:"requestId"`
}

func (e *Error) Error() string {
	s := fmt.Sprintf("stablegate: %s: %s", e.Type, e.Message)
	if e.Param != "" {
		s += " (" + e.Param + ")"
	}
	return s
}

// Pagination is where a page of a list is.
type Pagination struct {
	Page       int `json:"page"`
	Limit      int `json:"limit"`
	Total      int `json:"total"`
	TotalPages int `json:"totalPages"`
}

// envelope is every answer: {success, data, message} or the error's fields.
type envelope struct {
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Message string          `json:"message"`
}

// do sends one operation and decodes its data into out. A POST carries an Idempotency-Key (the
// caller's, or a fresh one), the same on every retry, so a retried creation never acts twice.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any, idemKey string) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return fmt.Errorf("stablegate: encode %s %s: %w", method, path, err)
		}
	}
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	if method == http.MethodPost && idemKey == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		idemKey = "cl_" + hex.EncodeToString(b)
	}
	delay := c.backoff
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(raw))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+c.key)
		req.Header.Set("User-Agent", "stablegate-go-client/1")
		if c.secret != "" {
			req.Header.Set("x-api-secret", c.secret)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if idemKey != "" {
			req.Header.Set("Idempotency-Key", idemKey)
		}
		res, err := c.http.Do(req)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil || attempt >= c.maxRetries {
				return fmt.Errorf("stablegate: %s %s: %w", method, path, err)
			}
		case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
			data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
			res.Body.Close()
			if attempt >= c.maxRetries {
				return decodeError(res.StatusCode, data)
			}
			if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
		default:
			defer res.Body.Close()
			data, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
			if err != nil {
				return fmt.Errorf("stablegate: %s %s: %w", method, path, err)
			}
			if res.StatusCode >= 400 {
				return decodeError(res.StatusCode, data)
			}
			var env envelope
			if err := json.Unmarshal(data, &env); err != nil {
				return fmt.Errorf("stablegate: %s %s: answer is not the API's envelope: %w", method, path, err)
			}
			if out != nil && len(env.Data) > 0 {
				if err := json.Unmarshal(env.Data, out); err != nil {
					return fmt.Errorf("stablegate: %s %s: decode: %w", method, path, err)
				}
			}
			return nil
		}
		wait = max(wait, delay)
		delay = min(delay*2, c.maxBackoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func decodeError(status int, data []byte) error {
	e := &Error{Status: status}
	if json.Unmarshal(data, e) != nil || e.Type == "" {
		e.Type, e.Message = http.StatusText(status), strings.TrimSpace(string(data))
	}
	return e
}

// IsNotFound reports whether err is the API's NotFound.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Type == "NotFound"
}
