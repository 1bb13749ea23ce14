package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/webhook"
)

// resolver answers from a table, like a DNS server the test controls.
type resolver map[string][]netip.Addr

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func TestPolicyRefusesInternalDestinations(t *testing.T) {
	p := webhook.NewPolicy(false)
	p.Resolver = resolver{
		"shop.example.com":     addrs("93.184.216.34"),
		"v6.example.com":       addrs("2606:2800:220:1:248:1893:25c8:1946"),
		"internal.example.com": addrs("10.1.2.3"),
		"mixed.example.com":    addrs("93.184.216.34", "192.168.1.10"),
		"metadata.example.com": addrs("169.254.169.254"),
		"localhost":            addrs("127.0.0.1", "::1"),
	}
	refused := []string{
		"https://127.0.0.1/hook", "https://127.1.2.3:8443/hook", "https://localhost/hook",
		"https://10.0.0.1/hook", "https://172.16.5.4/hook", "https://192.168.0.1/hook", // private
		"https://169.254.169.254/latest/meta-data/", "https://169.254.1.1/", // link-local, cloud metadata
		"https://100.64.0.1/", "https://100.127.255.254/", // CGNAT
		"https://224.0.0.1/", "https://239.255.255.250/", // multicast
		"https://0.0.0.0/", "https://255.255.255.255/", "https://198.18.0.1/", // this network, broadcast, benchmarking
		"https://[::1]/", "https://[fe80::1]/", "https://[fc00::1]/", "https://[fd12:3456::1]/", "https://[ff02::1]/", // IPv6 equivalents
		"https://[::ffff:127.0.0.1]/", "https://[::ffff:10.0.0.1]/", "https://[::]/", "https://[2001:db8::1]/", // mapped, unspecified, documentation
		"https://internal.example.com/hook", "https://mixed.example.com/hook", "https://metadata.example.com/", // names resolving to them
		"https://nowhere.example.com/hook", // does not resolve
	}
	for _, u := range refused {
		if err := p.CheckURL(context.Background(), u); err == nil {
			t.Errorf("%s was allowed", u)
		}
	}
	for _, u := range []string{"https://shop.example.com/hook", "https://v6.example.com:8443/hook", "https://93.184.216.34/hook"} {
		if err := p.CheckURL(context.Background(), u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	if err := webhook.NewPolicy(true).CheckURL(context.Background(), "http://127.0.0.1:3000/hook"); err != nil {
		t.Errorf("private networks allowed, loopback refused: %v", err)
	}
}

// The dialer refuses too: a host that resolved to a public address when it was configured and to
// loopback when the request is made (DNS rebinding) never receives the request.
func TestDialRefusesRebinding(t *testing.T) {
	var hit atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit.Store(true) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	target := "http://localhost" + port + "/hook"

	p := webhook.NewPolicy(false)
	p.Resolver = resolver{"localhost": addrs("93.184.216.34")} // the first answer: public
	if err := p.CheckURL(context.Background(), target); err != nil {
		t.Fatalf("configuration-time check: %v", err)
	}
	for _, u := range []string{target, srv.URL} {
		resp, err := p.Client(time.Second, 1).Post(u, "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: request went through", u)
		}
		if !errors.Is(err, webhook.ErrPrivateAddress) {
			t.Fatalf("%s: %v, want ErrPrivateAddress", u, err)
		}
	}
	if hit.Load() {
		t.Fatal("the receiver on loopback was reached")
	}
}

// A dispatcher with the policy on records the refusal as the attempt's error.
func TestDispatcherRefusesPrivateAtDelivery(t *testing.T) {
	w := newWorld(t)
	rc := newReceiver(t, ok200)
	w.endpoint(rc.URL) // allowed when it was set (private networks were allowed then)
	w.d.Client = webhook.NewPolicy(false).Client(time.Second, 4)
	id := w.event()
	w.run()
	e := w.waitAttempts(id, 1)
	if e.Status != "pending" || !strings.Contains(e.LastError, "private or internal") {
		t.Fatalf("attempt: %s %q", e.Status, e.LastError)
	}
	if rc.count() != 0 {
		t.Fatal("the receiver was reached")
	}
}
