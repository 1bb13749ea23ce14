package api_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/api"
	"github.com/stablegate/stablegate/internal/ratelimit"
	"github.com/stablegate/stablegate/internal/store"
)

// clock is a settable time for the limiter.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a log destination the server writes from its handlers' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// limited starts the API with the rules on the clock, counted as the gateway counts them: in the
// database on PostgreSQL, in memory on SQLite.
func limited(t *testing.T, engine string, rules ratelimit.Rules, c *clock, log *syncBuffer, proxies ratelimit.Proxies) *env {
	return setupWith(t, engine, "https://shop.example.com", func(st *store.Store) api.Config {
		return api.Config{Limiter: newLimiter(st, rules, c), Proxies: proxies, Log: slog.New(slog.NewTextHandler(log, nil))}
	})
}

func newLimiter(st *store.Store, rules ratelimit.Rules, c *clock) *ratelimit.Limiter {
	l := ratelimit.New(rules, st.RateCounter())
	l.Now = c.now
	return l
}

func rules(limits map[ratelimit.Tier]int) ratelimit.Rules {
	r := ratelimit.Rules{}
	for t, n := range limits {
		r[t] = ratelimit.Rule{Limit: n, Window: 15 * time.Minute}
	}
	return r
}

// A tier's limit reached answers 429 with the RateLimit headers, Retry-After and 3PAY's message
// with the real minutes; the tiers count apart; the next window starts afresh.
func TestRateLimitTiers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		c := &clock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
		e := limited(t, engine, rules(map[ratelimit.Tier]int{ratelimit.Standard: 3, ratelimit.Financial: 2, ratelimit.WalletGeneration: 1}),
			c, &syncBuffer{}, nil)
		secret := []string{"x-api-secret", e.test.Secret}
		for i := range 3 {
			r := e.as(e.test, "GET", "/api/v1/orders", "")
			if r.status != 200 || r.header.Get("RateLimit-Limit") != "3" || r.header.Get("RateLimit-Remaining") != fmt.Sprint(2-i) ||
				r.header.Get("RateLimit-Reset") != "900" {
				t.Fatalf("call %d: %d, headers %v", i+1, r.status, r.header)
			}
		}
		c.advance(4*time.Minute + 10*time.Second)
		r := e.as(e.test, "GET", "/api/v1/orders", "")
		if r.status != 429 || r.str("error") != "RateLimitExceeded" || r.body["success"] != false ||
			r.str("message") != "API rate limit exceeded. Try again in 11 minutes." {
			t.Fatalf("4th standard call: %d %s", r.status, r.raw)
		}
		if r.header.Get("Retry-After") != "650" || r.header.Get("RateLimit-Remaining") != "0" || r.header.Get("RateLimit-Reset") != "650" {
			t.Fatalf("429 headers: %v", r.header)
		}
		// The financial tier has its own count.
		for i := range 2 {
			if r := e.as(e.test, "PUT", "/api/v1/withdrawal-policy", `{"autoApproveBelow":"5"}`, secret...); r.status != 200 ||
				r.header.Get("RateLimit-Limit") != "2" {
				t.Fatalf("financial call %d: %d %s", i+1, r.status, r.raw)
			}
		}
		if r := e.as(e.test, "PUT", "/api/v1/withdrawal-policy", `{"autoApproveBelow":"6"}`, secret...); r.status != 429 {
			t.Fatalf("3rd financial call: %d %s", r.status, r.raw)
		}
		if p, _ := e.svc.Store.WithdrawalPolicy(t.Context(), e.project.Project.ID, "test"); p.AutoApproveBelow != "5" {
			t.Fatalf("a refused call changed the policy: %+v", p)
		}
		// Wallet generation: one binding, the second refused and nothing bound.
		if r := e.as(e.test, "POST", "/api/v1/deposits/bind", `{"depositReference":"u1","protocol":"evm"}`); r.status != 201 {
			t.Fatalf("bind: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "POST", "/api/v1/deposits/bind", `{"depositReference":"u2","protocol":"evm"}`); r.status != 429 {
			t.Fatalf("2nd bind: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "GET", "/api/v1/deposits/references/u2", ""); r.status != 429 {
			t.Fatalf("standard tier still full: %d", r.status)
		}
		// Another key (the live one) has counts of its own.
		if r := e.as(e.live, "GET", "/api/v1/orders", ""); r.status != 200 {
			t.Fatalf("live key: %d %s", r.status, r.raw)
		}
		// The next window.
		c.advance(11 * time.Minute)
		if r := e.as(e.test, "GET", "/api/v1/deposits/references/u2", ""); r.status != 404 || r.header.Get("RateLimit-Remaining") != "2" {
			t.Fatalf("after the window: %d %v %s", r.status, r.header, r.raw)
		}
		// /health is never limited.
		for range 5 {
			if r := e.call("GET", "/health", ""); r.status != 200 && r.status != 503 {
				t.Fatalf("health: %d", r.status)
			}
		}
	})
}

// The 16th wrong secret in the window is refused, and so is the right one after it, until the
// window passes; unknown keys count as failures too, and the address is logged.
func TestRateLimitBruteForce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		c := &clock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
		log := &syncBuffer{}
		e := limited(t, engine, ratelimit.Defaults(), c, log, nil)
		for i := range 15 {
			r := e.as(e.test, "PUT", "/api/v1/withdrawal-policy", `{"autoApproveBelow":"5"}`, "x-api-secret", fmt.Sprintf("sk_test_wrong%d", i))
			if r.status != 401 || r.header.Get("RateLimit-Remaining") != fmt.Sprint(14-i) {
				t.Fatalf("wrong secret %d: %d %v %s", i+1, r.status, r.header, r.raw)
			}
		}
		r := e.as(e.test, "PUT", "/api/v1/withdrawal-policy", `{"autoApproveBelow":"5"}`, "x-api-secret", e.test.Secret)
		if r.status != 429 || r.str("message") != "API rate limit exceeded. Try again in 15 minutes." || r.header.Get("Retry-After") != "900" {
			t.Fatalf("the right secret after 15 wrong ones: %d %s", r.status, r.raw)
		}
		if p, _ := e.svc.Store.WithdrawalPolicy(t.Context(), e.project.Project.ID, "test"); p.AutoApproveBelow != "" {
			t.Fatalf("a refused call changed the policy: %+v", p)
		}
		if r := e.call("GET", "/api/v1/orders", "", "apikey", e.test.Key); r.status != 429 {
			t.Fatalf("the key alone from the blocked address: %d", r.status)
		}
		if !strings.Contains(log.String(), "failed authentication") || !strings.Contains(log.String(), "client=127.0.0.1") {
			t.Fatalf("failures not logged with the address:\n%s", log)
		}
		if strings.Contains(log.String(), "sk_test_wrong") || strings.Contains(log.String(), e.test.Secret) {
			t.Fatal("a secret reached the log")
		}
		c.advance(15 * time.Minute)
		if r := e.as(e.test, "PUT", "/api/v1/withdrawal-policy", `{"autoApproveBelow":"5"}`, "x-api-secret", e.test.Secret); r.status != 200 {
			t.Fatalf("the right secret in the next window: %d %s", r.status, r.raw)
		}
		// Unknown keys and wrong signatures are guesses too; a request without any key is not.
		for range 5 {
			if r := e.call("GET", "/api/v1/orders", ""); r.status != 401 || r.header.Get("RateLimit-Limit") != "" {
				t.Fatalf("no key: %d %v", r.status, r.header)
			}
		}
		for i := range 14 {
			if r := e.call("GET", "/api/v1/orders", "", "apikey", fmt.Sprintf("pk_test_guess%d", i)); r.status != 401 {
				t.Fatalf("unknown key: %d", r.status)
			}
		}
		if r := e.as(e.test, "POST", "/api/v1/webhook/secret/rotate", `{}`, "X-Signature", strings.Repeat("ab", 32)); r.status != 401 {
			t.Fatalf("wrong signature: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "GET", "/api/v1/orders", ""); r.status != 429 {
			t.Fatalf("after 15 guesses: %d", r.status)
		}
	})
}

// Behind a trusted proxy each client has its own count, taken from X-Forwarded-For; a client
// that writes X-Forwarded-For itself, not through the proxy, is counted by its own address.
func TestRateLimitTrustedProxies(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	proxies, _ := ratelimit.ParseProxies("127.0.0.1")
	behind := limited(t, "sqlite", rules(map[ratelimit.Tier]int{ratelimit.Auth: 2}), c, &syncBuffer{}, proxies)
	for _, client := range []string{"203.0.113.7", "198.51.100.9"} {
		for range 2 {
			behind.call("GET", "/api/v1/orders", "", "apikey", "pk_test_guess", "X-Forwarded-For", "10.9.9.9, "+client)
		}
		if r := behind.call("GET", "/api/v1/orders", "", "apikey", behind.test.Key, "X-Forwarded-For", client); r.status != 429 {
			t.Fatalf("%s after 2 failures: %d", client, r.status)
		}
	}
	if r := behind.call("GET", "/api/v1/orders", "", "apikey", behind.test.Key, "X-Forwarded-For", "192.0.2.1"); r.status != 200 {
		t.Fatalf("another client behind the proxy: %d", r.status)
	}
	direct := limited(t, "sqlite", rules(map[ratelimit.Tier]int{ratelimit.Auth: 2}), c, &syncBuffer{}, nil)
	for i := range 2 {
		direct.call("GET", "/api/v1/orders", "", "apikey", "pk_test_guess", "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
	}
	if r := direct.call("GET", "/api/v1/orders", "", "apikey", direct.test.Key, "X-Forwarded-For", "192.0.2.1"); r.status != 429 {
		t.Fatalf("X-Forwarded-For believed without a trusted proxy: %d", r.status)
	}
}

// Two replicas on one PostgreSQL share one count.
func TestRateLimitSharedByReplicas(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	r := rules(map[ratelimit.Tier]int{ratelimit.Standard: 4})
	a := limited(t, "postgres", r, c, &syncBuffer{}, nil)
	b := api.New(a.svc, api.Config{PublicURL: "https://pay.example.com", Limiter: newLimiter(a.store, r, c)})
	bURL := httptestServer(t, b)
	get := func(url string) int {
		req, _ := http.NewRequest("GET", url+"/api/v1/orders", nil)
		req.Header.Set("apikey", a.test.Key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	got := []int{get(a.url), get(bURL), get(a.url), get(bURL), get(a.url), get(bURL)}
	if fmt.Sprint(got) != "[200 200 200 200 429 429]" {
		t.Fatalf("two replicas, limit 4: %v", got)
	}
}

// Every answer, success or error, API or /docs, carries the security headers.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite", "https://shop.example.com")
	for _, path := range []string{"/api/v1/orders", "/api/v1/nope", "/health", "/docs", "/docs/openapi.json"} {
		req, _ := http.NewRequest("GET", e.url+path, nil)
		req.Header.Set("apikey", e.test.Key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		h := res.Header
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			strings.Contains(h.Get("Content-Security-Policy"), "script-src") || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s (%d): %v", path, res.StatusCode, h)
		}
	}
}

// With a docs user and password, /docs and the OpenAPI document ask for them; the API does not.
func TestDocsBasicAuth(t *testing.T) {
	t.Parallel()
	e := setupWith(t, "sqlite", "https://shop.example.com", func(*store.Store) api.Config {
		return api.Config{DocsUser: "ops", DocsPassword: "s3cret"}
	})
	for _, path := range []string{"/docs", "/docs/openapi.json", "/docs/openapi.yaml"} {
		for _, c := range []struct {
			user, pass string
			want       int
		}{{"", "", 401}, {"ops", "wrong", 401}, {"ops2", "s3cret", 401}, {"ops", "s3cret", 200}} {
			req, _ := http.NewRequest("GET", e.url+path, nil)
			if c.user != "" {
				req.SetBasicAuth(c.user, c.pass)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != c.want || c.want == 401 && res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s as %q:%q: %d", path, c.user, c.pass, res.StatusCode)
			}
		}
	}
	if r := e.as(e.test, "GET", "/api/v1/orders", ""); r.status != 200 {
		t.Fatalf("the API behind the docs' password: %d", r.status)
	}
}
