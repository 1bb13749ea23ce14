package api_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/ratelimit"
)

// cryptoPay sends a Crypto Pay request signed as the seed says: X-API-Key and X-Signature, the hex
// HMAC-SHA256 of the raw body (of the empty body for the GET) with the API secret.
func (e *env) cryptoPay(key gateway.KeyPair, method, path, body string) response {
	e.t.Helper()
	return e.call(method, path, body, "X-API-Key", key.Key, "X-Signature", sign(key.Secret, body))
}

func payment(r response) map[string]any {
	p, _ := r.body["payment"].(map[string]any)
	return p
}

// Crypto Pay's create-payment.php and payment-status.php, field by field as the seed shows them,
// over the same orders as the native API.
func TestCryptoPayCreateAndStatus(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://merchant-site.com")
		body := `{"order_id":"ORDER_12345","amount":"50.00","description":"Service payment","success_url":"https://merchant-site.com/success","fail_url":"https://merchant-site.com/fail"}`
		r := e.cryptoPay(e.test, "POST", "/api/create-payment.php", body)
		p := payment(r)
		if r.status != 200 || r.body["ok"] != true || p == nil {
			t.Fatalf("create-payment: %d %s", r.status, r.raw)
		}
		id, _ := p["payment_id"].(float64)
		if id < 1 || id != float64(int64(id)) || p["order_id"] != "ORDER_12345" || p["status"] != "pending" || p["amount"] != "50.00" ||
			p["pay_amount"] != "50.000000" || p["currency"] != "USDT" || p["network"] != "TRC20" || !strings.HasPrefix(p["address"].(string), "T") ||
			p["is_test"] != false && p["is_test"] != true {
			t.Fatalf("the payment: %s", r.raw)
		}
		if p["is_test"] != true || !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`).MatchString(p["expires_at"].(string)) ||
			!strings.HasPrefix(p["payment_url"].(string), "https://pay.example.com/pay/ord_") {
			t.Errorf("is_test, expires_at or payment_url: %s", r.raw)
		}
		// The same order_id again is the same payment; the native API sees the same order.
		if again := e.cryptoPay(e.test, "POST", "/api/create-payment.php", body); payment(again)["payment_id"] != p["payment_id"] {
			t.Errorf("the same order_id again: %s", again.raw)
		}
		if other := e.cryptoPay(e.test, "POST", "/api/create-payment.php", strings.Replace(body, "50.00", "60", 1)); other.status != 409 || other.body["ok"] != false {
			t.Errorf("the same order_id with another amount: %d %s", other.status, other.raw)
		}
		orderID := strings.TrimPrefix(p["payment_url"].(string), "https://pay.example.com/pay/")
		native := e.as(e.test, "GET", "/api/v1/orders/"+orderID, "")
		if native.dstr("orderReference") != "ORDER_12345" || native.dstr("chainId") != "tron-nile" || native.dstr("address") != p["address"] {
			t.Errorf("the native order: %s", native.raw)
		}
		// The status, by payment_id; paid once the test payment is simulated.
		path := fmt.Sprintf("/api/payment-status.php?payment_id=%d", int64(id))
		if s := e.cryptoPay(e.test, "GET", path, ""); s.status != 200 || payment(s)["status"] != "pending" || payment(s)["order_id"] != "ORDER_12345" {
			t.Errorf("payment-status: %d %s", s.status, s.raw)
		}
		e.as(e.test, "POST", "/api/v1/orders/"+orderID+"/simulate", `{"outcome":"completed"}`)
		if s := e.cryptoPay(e.test, "GET", path, ""); payment(s)["status"] != "paid" {
			t.Errorf("payment-status after the payment: %s", s.raw)
		}
		// A number as amount and order_id (read as its text, never a float).
		if n := e.cryptoPay(e.test, "POST", "/api/create-payment.php", `{"order_id":987,"amount":12.345678}`); payment(n)["amount"] != "12.345678" || payment(n)["order_id"] != "987" {
			t.Errorf("numbers: %d %s", n.status, n.raw)
		}
		// Another project's payment_id, and malformed ones.
		other := setup(t, engine, "https://other.example.com")
		if s := other.cryptoPay(other.test, "GET", path, ""); s.status != 404 || s.body["ok"] != false || s.str("error") != "Payment not found" {
			t.Errorf("another project's payment_id: %d %s", s.status, s.raw)
		}
		for _, bad := range []string{"", "abc", "0", "-1", "1.5", "99999999999999999999"} {
			if s := e.cryptoPay(e.test, "GET", "/api/payment-status.php?payment_id="+bad, ""); s.status != 400 || s.body["ok"] != false {
				t.Errorf("payment_id %q: %d %s", bad, s.status, s.raw)
			}
		}
	})
}

// Every error string of the seed, produced by the input that causes it, in {"ok":false,"error"}.
func TestCryptoPayErrors(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite", "https://merchant-site.com")
	ok := `{"order_id":"E-1","amount":"10"}`
	cases := []struct {
		name, key, sig, body string
		status               int
		want                 string
	}{
		{"no key", "", sign(e.test.Secret, ok), ok, 401, "Invalid API key"},
		{"an unknown key", "pk_test_" + strings.Repeat("x", 32), sign(e.test.Secret, ok), ok, 401, "Invalid API key"},
		{"no signature", e.test.Key, "", ok, 401, "Invalid signature"},
		{"a signature of another body", e.test.Key, sign(e.test.Secret, `{"order_id":"E-1","amount":"1000"}`), ok, 401, "Invalid signature"},
		{"the live secret's signature with the test key", e.test.Key, sign(e.live.Secret, ok), ok, 401, "Invalid signature"},
		{"a zero amount", "", "", `{"order_id":"E-2","amount":"0"}`, 400, "Amount must be greater than zero"},
		{"0.00", "", "", `{"order_id":"E-2","amount":"0.00"}`, 400, "Amount must be greater than zero"},
		{"a negative amount", "", "", `{"order_id":"E-2","amount":"-5"}`, 400, "Amount must be greater than zero"},
		{"a success_url elsewhere", "", "", `{"order_id":"E-3","amount":"1","success_url":"https://evil.example.net/ok"}`, 400, "Success URL domain does not match project website."},
		{"a fail_url elsewhere", "", "", `{"order_id":"E-3","amount":"1","fail_url":"https://evil.example.net/no"}`, 400, "Fail URL domain does not match project website."},
	}
	for _, c := range cases {
		key, sig := c.key, c.sig
		if c.key == "" && c.sig == "" && c.status != 401 {
			key, sig = e.test.Key, sign(e.test.Secret, c.body)
		}
		r := e.call("POST", "/api/create-payment.php", c.body, "X-API-Key", key, "X-Signature", sig)
		if r.status != c.status || r.body["ok"] != false || r.str("error") != c.want {
			t.Errorf("%s: %d %s, want %d %q", c.name, r.status, r.raw, c.status, c.want)
		}
	}
	if e.orderCount(gateway.Test) != 0 {
		t.Errorf("refused requests created %d orders", e.orderCount(gateway.Test))
	}
	// A malformed body or amount, and a wrong method, are refused with a message naming the field.
	for body, want := range map[string]string{`{"order_id":"E-4"}`: "amount is required", `{"amount":"1"}`: "order_id is required",
		`{"order_id":"E-4","amount":"1.1234567"}`: "decimal", `[1]`: "JSON object", `{"order_id":{},"amount":"1"}`: "strings or numbers"} {
		if r := e.cryptoPay(e.test, "POST", "/api/create-payment.php", body); r.status != 400 || !strings.Contains(r.str("error"), want) {
			t.Errorf("%s: %d %s", body, r.status, r.raw)
		}
	}
	if r := e.cryptoPay(e.test, "GET", "/api/create-payment.php", ""); r.status != 405 || r.header.Get("Allow") != "POST" {
		t.Errorf("GET create-payment.php: %d %v", r.status, r.header)
	}
	// "Project website is not configured.": a live payment for a website that cannot take one.
	local := setup(t, "sqlite", "http://localhost:3000")
	if r := local.cryptoPay(local.live, "POST", "/api/create-payment.php", ok); r.status != 403 || r.str("error") != "Project website is not configured." {
		t.Errorf("a live payment on localhost: %d %s", r.status, r.raw)
	}
	// "Project is disabled."
	if _, err := e.svc.SetProjectDisabled(context.Background(), e.project.Project.ID, true); err != nil {
		t.Fatal(err)
	}
	if r := e.cryptoPay(e.test, "POST", "/api/create-payment.php", ok); r.status != 403 || r.str("error") != "Project is disabled." {
		t.Errorf("a disabled project: %d %s", r.status, r.raw)
	}
}

// Fifty concurrent creates with one order_id make one payment; fifty with their own make fifty
// distinct payment_ids.
func TestCryptoPayConcurrentCreates(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite", "https://merchant-site.com")
	ids := make([]any, 100)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref := "SAME"
			if i >= 50 {
				ref = fmt.Sprintf("OWN-%d", i)
			}
			ids[i] = payment(e.cryptoPay(e.test, "POST", "/api/create-payment.php", `{"order_id":"`+ref+`","amount":"5"}`))["payment_id"]
		}()
	}
	wg.Wait()
	seen := map[any]bool{}
	for i, id := range ids {
		if id == nil {
			t.Fatalf("create %d failed", i)
		}
		if i > 0 && i < 50 && id != ids[0] {
			t.Errorf("one order_id made payments %v and %v", ids[0], id)
		}
		if i >= 50 {
			if seen[id] || id == ids[0] {
				t.Errorf("payment_id %v given twice", id)
			}
			seen[id] = true
		}
	}
	if n := e.orderCount(gateway.Test); n != 51 {
		t.Errorf("%d orders", n)
	}
}

// Crypto Pay's endpoints share the API's brute-force protection: fifteen wrong signatures from an
// address, and the right one is refused too, with Crypto Pay's envelope and Retry-After; the
// native API is closed to that address as well.
func TestCryptoPayBruteForce(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	e := limited(t, "sqlite", ratelimit.Defaults(), c, &syncBuffer{}, nil)
	body := `{"order_id":"B-1","amount":"1"}`
	for i := range 15 {
		r := e.call("POST", "/api/create-payment.php", body, "X-API-Key", e.test.Key, "X-Signature", sign(fmt.Sprintf("sk_test_wrong%d", i), body))
		if r.status != 401 || r.str("error") != "Invalid signature" || r.header.Get("RateLimit-Remaining") != fmt.Sprint(14-i) {
			t.Fatalf("wrong signature %d: %d %v %s", i+1, r.status, r.header, r.raw)
		}
	}
	r := e.cryptoPay(e.test, "POST", "/api/create-payment.php", body)
	if r.status != 429 || r.body["ok"] != false || r.str("error") != "API rate limit exceeded. Try again in 15 minutes." || r.header.Get("Retry-After") != "900" {
		t.Fatalf("the right signature after 15 wrong ones: %d %s", r.status, r.raw)
	}
	if r := e.as(e.test, "GET", "/api/v1/orders", ""); r.status != 429 {
		t.Errorf("the native API from the blocked address: %d", r.status)
	}
	if e.orderCount(gateway.Test) != 0 {
		t.Error("a refused request created an order")
	}
	c.advance(15 * time.Minute)
	if r := e.cryptoPay(e.test, "POST", "/api/create-payment.php", body); r.status != 200 {
		t.Errorf("after the window: %d %s", r.status, r.raw)
	}
}

// A project starts in test mode: its live keys are refused, with the seed's message, on the native
// API and on Crypto Pay's, until the operator switches it to live; switched back, they are refused
// again.
func TestProjectStartsInTestMode(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		ctx := context.Background()
		cp, err := e.svc.CreateProject(ctx, gateway.CreateProjectParams{Name: "New", Website: "https://new-" + engine + ".example.com"})
		if err != nil {
			t.Fatal(err)
		}
		var test, live gateway.KeyPair
		for _, k := range cp.Keys {
			if k.Mode == gateway.Live {
				live = k
			} else {
				test = k
			}
		}
		order := `{"orderReference":"m-1","amount":"1","currency":"USDT","chainId":"ethereum"}`
		if r := e.as(live, "POST", "/api/v1/orders", order); r.status != 403 || r.str("error") != "Forbidden" || r.str("message") != gateway.TestModeMessage {
			t.Errorf("a live key of a new project: %d %s", r.status, r.raw)
		}
		if r := e.cryptoPay(live, "POST", "/api/create-payment.php", `{"order_id":"m-1","amount":"1"}`); r.status != 403 || r.str("error") != gateway.TestModeMessage {
			t.Errorf("Crypto Pay with a live key of a new project: %d %s", r.status, r.raw)
		}
		if r := e.as(test, "GET", "/api/v1/project", ""); r.status != 200 || r.data()["liveMode"] != false {
			t.Errorf("the test key: %d %s", r.status, r.raw)
		}
		if _, err := e.svc.SetProjectLive(ctx, cp.Project.ID, true); err != nil {
			t.Fatal(err)
		}
		if r := e.as(live, "POST", "/api/v1/orders", order); r.status != 201 {
			t.Errorf("the live key after go-live: %d %s", r.status, r.raw)
		}
		if r := e.as(live, "GET", "/api/v1/project", ""); r.data()["liveMode"] != true {
			t.Errorf("liveMode after go-live: %s", r.raw)
		}
		if _, err := e.svc.SetProjectLive(ctx, cp.Project.ID, false); err != nil {
			t.Fatal(err)
		}
		if r := e.as(live, "GET", "/api/v1/orders", ""); r.status != 403 || r.str("message") != gateway.TestModeMessage {
			t.Errorf("the live key back in test mode: %d %s", r.status, r.raw)
		}
		entries, _, err := e.svc.ListAudit(ctx, gateway.AuditFilter{ProjectID: cp.Project.ID, Page: 1, Limit: 10})
		if err != nil || len(entries) < 3 || entries[0].Action != gateway.AuditProjectBackToTest || entries[1].Action != gateway.AuditProjectWentLive {
			t.Errorf("the audit log: %v %+v", err, entries)
		}
	})
}

// The webhook endpoint takes Crypto Pay's format: it then sends order.completed only; an unknown
// format, or another event type with it, is refused and changes nothing.
func TestWebhookEndpointFormat(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite", "https://merchant-site.com")
	secret := []string{"x-api-secret", e.test.Secret}
	if r := e.as(e.test, "PUT", "/api/v1/webhook/endpoint", `{"url":"https://93.184.216.34/webhook.php","format":"cryptopay"}`, secret...); r.status != 200 ||
		r.dstr("format") != "cryptopay" || fmt.Sprint(r.data()["events"]) != "[order.completed]" {
		t.Fatalf("PUT format cryptopay: %d %s", r.status, r.raw)
	}
	for body, param := range map[string]string{`{"url":"https://93.184.216.34/w","format":"xml"}`: "format",
		`{"url":"https://93.184.216.34/w","format":"cryptopay","events":["order.expired"]}`: "events"} {
		if r := e.as(e.test, "PUT", "/api/v1/webhook/endpoint", body, secret...); r.status != 400 || r.str("param") != param {
			t.Errorf("%s: %d %s", body, r.status, r.raw)
		}
	}
	if r := e.as(e.test, "GET", "/api/v1/webhook/endpoint", ""); r.dstr("format") != "cryptopay" || r.dstr("url") != "https://93.184.216.34/webhook.php" {
		t.Errorf("after the refusals: %s", r.raw)
	}
	if r := e.as(e.test, "PUT", "/api/v1/webhook/endpoint", `{"url":"https://93.184.216.34/w"}`, secret...); r.dstr("format") != "payin" {
		t.Errorf("PUT without a format: %s", r.raw)
	}
}

// The attacker's inputs on Crypto Pay's endpoints: a 2 MB body, a NUL byte, a dust amount below
// USDT's decimals, another mode's payment_id; each refused in the envelope, changing nothing.
func TestCryptoPayHostileInput(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite", "https://merchant-site.com")
	big := `{"order_id":"H-1","amount":"1","description":"` + strings.Repeat("x", 2<<20) + `"}`
	if r := e.cryptoPay(e.test, "POST", "/api/create-payment.php", big); r.status != 413 || r.body["ok"] != false {
		t.Errorf("a 2 MB body: %d %.200s", r.status, r.raw)
	}
	for body, want := range map[string]string{`{"order_id":"H\u0000-2","amount":"1"}`: "NUL", `{"order_id":"H-3","amount":"0.0000001"}`: "decimal"} {
		if r := e.cryptoPay(e.test, "POST", "/api/create-payment.php", body); r.status != 400 || !strings.Contains(r.str("error"), want) {
			t.Errorf("%s: %d %s", body, r.status, r.raw)
		}
	}
	if e.orderCount(gateway.Test) != 0 {
		t.Errorf("refused requests made %d orders", e.orderCount(gateway.Test))
	}
	p := payment(e.cryptoPay(e.test, "POST", "/api/create-payment.php", `{"order_id":"H-4","amount":"1"}`))
	path := fmt.Sprintf("/api/payment-status.php?payment_id=%d", int64(p["payment_id"].(float64)))
	if r := e.cryptoPay(e.live, "GET", path, ""); r.status != 404 || r.str("error") != "Payment not found" {
		t.Errorf("a test payment read with the live key: %d %s", r.status, r.raw)
	}
}

// With the project's shared address on for the chain Crypto Pay pays on, fifty payments of 50.00
// created at once all go to one address with pay amounts of their own, as the seed's 50.013400.
func TestCryptoPaySharedAddress(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://merchant-site.com")
		if r := e.as(e.test, "PATCH", "/api/v1/project", `{"sharedAddress":{"tron-nile":{"enabled":true}}}`, "x-api-secret", e.test.Secret); r.status != 200 {
			t.Fatalf("turn on: %d %s", r.status, r.raw)
		}
		payments := make([]map[string]any, 50)
		var wg sync.WaitGroup
		for i := range payments {
			wg.Go(func() {
				payments[i] = payment(e.cryptoPay(e.test, "POST", "/api/create-payment.php", fmt.Sprintf(`{"order_id":"SHARED-%d","amount":"50.00"}`, i)))
			})
		}
		wg.Wait()
		pattern := regexp.MustCompile(`^50\.0\d{3}00$`)
		seen := map[any]bool{}
		for i, p := range payments {
			if p == nil || p["address"] != payments[0]["address"] || p["amount"] != "50.00" || !pattern.MatchString(fmt.Sprint(p["pay_amount"])) ||
				seen[p["pay_amount"]] || p["pay_amount"] == "50.000000" {
				t.Fatalf("payment %d: %v (want the shared address %v, a pay_amount of its own above 50.00)", i, p, payments[0]["address"])
			}
			seen[p["pay_amount"]] = true
		}
		status := payment(e.cryptoPay(e.test, "GET", fmt.Sprintf("/api/payment-status.php?payment_id=%v", payments[7]["payment_id"]), ""))
		if status["pay_amount"] != payments[7]["pay_amount"] || status["address"] != payments[7]["address"] {
			t.Errorf("payment-status: %v, created as %v", status, payments[7])
		}
	})
}
