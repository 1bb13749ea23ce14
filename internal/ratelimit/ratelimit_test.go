package ratelimit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func TestTakeAndPeek(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 7, 30, 0, time.UTC)
	l := New(Rules{Auth: {Limit: 2, Window: 15 * time.Minute}}, nil)
	l.Now = func() time.Time { return now }
	ctx := t.Context()
	if d, _ := l.Peek(ctx, Auth, "a"); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("peek of nothing: %+v", d)
	}
	for i := range 2 {
		if d, _ := l.Take(ctx, Auth, "a"); !d.Allowed || d.Remaining != 1-i {
			t.Fatalf("take %d: %+v", i+1, d)
		}
	}
	d, _ := l.Peek(ctx, Auth, "a")
	if d.Allowed || d.RetryAfter() != 7*time.Minute+30*time.Second || d.Minutes() != 8 {
		t.Fatalf("peek at the limit: %+v, retry %s", d, d.RetryAfter())
	}
	if d.Message() != "API rate limit exceeded. Try again in 8 minutes." {
		t.Fatal(d.Message())
	}
	h := http.Header{}
	d.SetHeaders(h)
	if h.Get("RateLimit-Limit") != "2" || h.Get("RateLimit-Remaining") != "0" || h.Get("RateLimit-Reset") != "450" || h.Get("Retry-After") != "450" {
		t.Fatalf("headers: %v", h)
	}
	if d, _ := l.Take(ctx, Auth, "b"); !d.Allowed {
		t.Fatal("another key shares the count")
	}
	if d, _ := l.Take(ctx, Standard, "a"); !d.Allowed || d.Limit != -1 {
		t.Fatalf("a tier without a rule is limited: %+v", d)
	}
	now = now.Add(7*time.Minute + 30*time.Second) // the next window
	if d, _ := l.Take(ctx, Auth, "a"); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("next window: %+v", d)
	}
	now = now.Add(59*time.Minute + 30*time.Second)
	if d, _ := l.Peek(ctx, Auth, "a"); d.Message() != "API rate limit exceeded. Try again in 1 minute." {
		t.Fatal(d.Message())
	}
	if n := len(l.Counter.(*Memory).counts); n != 0 {
		t.Fatalf("windows an hour old kept: %d", n)
	}
}

func TestParseRule(t *testing.T) {
	for in, want := range map[string]string{"100/15m": "100/15m", "5/1h": "5/1h", " 7 / 30s ": "7/30s", "0": "0", "3/90s": "3/1m30s"} {
		r, err := ParseRule(in)
		if err != nil || r.String() != want {
			t.Errorf("%q: %v %v", in, r, err)
		}
	}
	for _, bad := range []string{"", "100", "x/15m", "-1/15m", "10/0s", "10/48h", "10/abc", "10/15m/3"} {
		if _, err := ParseRule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := Profile("nope"); err == nil {
		t.Error("unknown profile accepted")
	}
	if p, _ := Profile("3pay"); p[Financial].Limit != 30 || p[WalletGeneration].Limit != 20 || p[Standard].Limit != 100 || p[Dashboard].Limit != 200 {
		t.Errorf("3pay profile: %v", p)
	}
}

func TestClientAddress(t *testing.T) {
	proxies, err := ParseProxies("10.0.0.0/8, 127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		remote, xff string
		proxies     Proxies
		want        string
	}{
		{"203.0.113.7:5000", "", proxies, "203.0.113.7"},
		{"203.0.113.7:5000", "1.2.3.4", proxies, "203.0.113.7"}, // not from a proxy: its header is not believed
		{"127.0.0.1:5000", "198.51.100.1", proxies, "198.51.100.1"},
		{"127.0.0.1:5000", "6.6.6.6, 198.51.100.1, 10.1.2.3", proxies, "198.51.100.1"}, // what the client wrote comes first
		{"127.0.0.1:5000", "198.51.100.1", nil, "127.0.0.1"},
		{"127.0.0.1:5000", "junk, 198.51.100.1", proxies, "198.51.100.1"},
		{"127.0.0.1:5000", "198.51.100.1, junk", proxies, "127.0.0.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "", proxies, "2001:db8:1:2::/64"},
		{"[::ffff:203.0.113.9]:443", "", proxies, "203.0.113.9"},
		{"[::1]:443", "2001:db8::9", proxies, "2001:db8::/64"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := c.proxies.ClientAddress(r); got != c.want {
			t.Errorf("%s via %q: %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
	if _, err := ParseProxies("10.0.0.0/8, not-an-ip"); err == nil {
		t.Error("a bad proxy accepted")
	}
}

// gatedCounter is a Memory that counts the additions it is sent and holds the first one until
// the gate opens.
type gatedCounter struct {
	*Memory
	gate  chan struct{}
	mu    sync.Mutex
	calls int
}

func (c *gatedCounter) Add(ctx context.Context, key string, start time.Time, n int) (int, error) {
	if n > 0 {
		c.mu.Lock()
		c.calls++
		first := c.calls == 1
		c.mu.Unlock()
		if first {
			<-c.gate
		}
	}
	return c.Memory.Add(ctx, key, start, n)
}

// Grouped additions give every request a distinct count, the counts 1..N, as additions one by one
// would: the requests that came while the first was under way are added in one more addition.
func TestGrouped(t *testing.T) {
	inner := &gatedCounter{Memory: NewMemory(), gate: make(chan struct{})}
	g := Grouped(inner).(*grouped)
	start := time.Unix(0, 0)
	const n = 64
	counts := make(chan int, n)
	var wg sync.WaitGroup
	add := func() {
		defer wg.Done()
		c, err := g.Add(t.Context(), "k", start, 1)
		if err != nil {
			t.Error(err)
		}
		counts <- c
	}
	wg.Add(1)
	go add()
	for waiting := false; !waiting; { // the first addition is under way
		g.mu.Lock()
		_, waiting = g.keys[groupKey{"k", 0}]
		g.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	for range n - 1 {
		wg.Add(1)
		go add()
	}
	for queued := 0; queued < n-1; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		queued = len(g.keys[groupKey{"k", 0}].waiters)
		g.mu.Unlock()
	}
	close(inner.gate)
	wg.Wait()
	close(counts)
	seen := map[int]bool{}
	for c := range counts {
		if c < 1 || c > n || seen[c] {
			t.Fatalf("count %d given twice or out of 1..%d", c, n)
		}
		seen[c] = true
	}
	if got, _ := inner.Memory.Add(t.Context(), "k", start, 0); got != n {
		t.Fatalf("total %d, want %d", got, n)
	}
	inner.mu.Lock()
	defer inner.mu.Unlock()
	if inner.calls != 2 {
		t.Fatalf("%d additions for %d requests, want 2 (the first, then the rest together)", inner.calls, n)
	}
}
