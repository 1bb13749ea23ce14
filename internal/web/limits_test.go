package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/ratelimit"
	"github.com/stablegate/stablegate/internal/web"
)

// Page loads and checkouts count against the public tier per address and are refused with a page
// in the payer's language beyond it; the live status, the QR code and the assets are not counted,
// so a payer who follows an order for its whole window is never refused.
func TestPublicRateLimit(t *testing.T) {
	t.Parallel()
	svc, _, prs := setup(t)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	l := ratelimit.New(ratelimit.Rules{ratelimit.Public: {Limit: 3, Window: 15 * time.Minute}}, nil)
	l.Now = func() time.Time { return now }
	hs := httptest.NewServer(web.New(svc, web.Config{Limiter: l}))
	t.Cleanup(hs.Close)
	o := order(t, svc, prs[gateway.Test], "ethereum-sepolia", "USDC")
	for i := range 2 {
		if status, _, h := get(t, hs.URL+"/pay/"+o.ID); status != 200 || h.Get("RateLimit-Remaining") != []string{"2", "1"}[i] {
			t.Fatalf("page load %d: %d %v", i+1, status, h)
		}
	}
	for range 30 {
		for _, p := range []string{"/status", "/qr.png"} {
			if status, _, _ := get(t, hs.URL+"/pay/"+o.ID+p); status != 200 {
				t.Fatalf("%s: %d", p, status)
			}
		}
	}
	if status, _, _ := get(t, hs.URL+"/checkout/no-such-link"); status != 404 {
		t.Fatalf("checkout: %d", status)
	}
	req, _ := http.NewRequest("GET", hs.URL+"/pay/"+o.ID, nil)
	req.Header.Set("Accept-Language", "es")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != "900" {
		t.Fatalf("4th page load: %d %v", res.StatusCode, res.Header)
	}
	status, body, _ := get(t, hs.URL+"/checkout/no-such-link")
	if status != 429 || !strings.Contains(body, "Too many requests") {
		t.Fatalf("checkout over the limit: %d %.300s", status, body)
	}
	if status, _, _ := get(t, hs.URL+"/pay/"+o.ID+"/status"); status != 200 {
		t.Fatalf("status polling refused: %d", status)
	}
	now = now.Add(15 * time.Minute)
	if status, _, _ := get(t, hs.URL+"/pay/"+o.ID); status != 200 {
		t.Fatalf("next window: %d", status)
	}
}

// One address holds at most MaxStreams live-status streams; the page polls beyond them, and a
// stream closed frees its place.
func TestLiveStatusStreamsPerAddress(t *testing.T) {
	t.Parallel()
	svc, _, prs := setup(t)
	hs := httptest.NewServer(web.New(svc, web.Config{MaxStreams: 2, Poll: 20 * time.Millisecond}))
	t.Cleanup(hs.Close)
	o := order(t, svc, prs[gateway.Test], "ethereum-sepolia", "USDC")
	open := func() *http.Response {
		res, err := http.Get(hs.URL + "/pay/" + o.ID + "/events")
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b := open(), open()
	if a.StatusCode != 200 || b.StatusCode != 200 {
		t.Fatalf("two streams: %d %d", a.StatusCode, b.StatusCode)
	}
	c := open()
	c.Body.Close()
	if c.StatusCode != 429 || c.Header.Get("Retry-After") == "" {
		t.Fatalf("a third stream: %d", c.StatusCode)
	}
	a.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := open()
		d.Body.Close()
		if d.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed stream's place was not freed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Body.Close()
}
