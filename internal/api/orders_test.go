package api_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

const sepoliaOrder = `{"orderReference":"order_123","amount":"49.99","currency":"USDT","chainId":"ethereum-sepolia",
	"successUrl":"https://shop.example.com/ok","cancelUrl":"https://shop.example.com/cancel","metadata":{"cartId":"cart_1","n":12345678901234567890}}`

func TestCreateAndGetOrder(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		r := e.as(e.test, "POST", "/api/v1/orders", sepoliaOrder)
		if r.status != 201 || r.body["success"] != true || r.str("message") != "Order created successfully" {
			t.Fatalf("create = %d %s", r.status, r.raw)
		}
		d := r.data()
		id, _ := d["orderId"].(string)
		checks := map[string]any{"orderReference": "order_123", "status": "pending", "amount": "49.99", "currency": "USDT",
			"chainId": "ethereum-sepolia", "address": "0x9858EfFD232B4033E47d90003D41EC34EcaEda94", "livemode": false,
			"paymentUrl": "https://pay.example.com/pay/" + id, "decimals": float64(6),
			"tokenAddress": "0xaA8E23Fb1079EA71e0a56F48a2aA51851D8433D0", "successUrl": "https://shop.example.com/ok"}
		for k, want := range checks {
			if d[k] != want {
				t.Errorf("%s = %v, want %v", k, d[k], want)
			}
		}
		if !strings.HasPrefix(id, "ord_") {
			t.Errorf("orderId %q", id)
		}
		// Metadata comes back exactly, big numbers included.
		if !strings.Contains(string(r.raw), `"metadata":{"cartId":"cart_1","n":12345678901234567890}`) {
			t.Errorf("metadata not returned as sent: %s", r.raw)
		}
		created, _ := time.Parse(time.RFC3339, d["createdAt"].(string))
		expires, _ := time.Parse(time.RFC3339, d["expiresAt"].(string))
		if expires.Sub(created) != 10*time.Minute {
			t.Errorf("expiresAt - createdAt = %v, want the default 10m window", expires.Sub(created))
		}
		g := e.as(e.test, "GET", "/api/v1/orders/"+id, "")
		if g.status != 200 || g.data()["orderId"] != id || g.data()["address"] != d["address"] {
			t.Fatalf("get = %d %s", g.status, g.raw)
		}
		if nf := e.as(e.test, "GET", "/api/v1/orders/ord_nope", ""); nf.status != 404 || nf.str("error") != "NotFound" {
			t.Errorf("unknown order = %d %s", nf.status, nf.raw)
		}
		// A second order gets the next address, never the same one.
		r2 := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"o2","amount":"1","currency":"USDC","chainId":"ethereum-sepolia","paymentWindowMinutes":30,"graceMinutes":0}`)
		if r2.status != 201 || r2.data()["address"] == d["address"] || r2.data()["paymentWindowMinutes"] != float64(30) || r2.data()["graceMinutes"] != float64(0) {
			t.Errorf("second order = %d %s", r2.status, r2.raw)
		}
		// TRON orders get T… addresses.
		tr := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"t1","amount":"5","currency":"USDT","chainId":"tron-nile"}`)
		if tr.status != 201 || tr.data()["address"] != "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH" {
			t.Errorf("tron order = %d %s", tr.status, tr.raw)
		}
	})
}

func TestOrderReferenceReturnsExisting(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		first := e.as(e.test, "POST", "/api/v1/orders", sepoliaOrder)
		again := e.as(e.test, "POST", "/api/v1/orders", sepoliaOrder)
		if again.status != 200 || again.data()["orderId"] != first.data()["orderId"] || again.str("message") != "Order already exists" {
			t.Fatalf("same reference again = %d %s", again.status, again.raw)
		}
		other := e.as(e.test, "POST", "/api/v1/orders", strings.Replace(sepoliaOrder, "49.99", "50", 1))
		if other.status != 409 || other.str("error") != "Conflict" || other.str("param") != "orderReference" {
			t.Errorf("same reference, other amount = %d %s", other.status, other.raw)
		}
		if n := e.orderCount(gateway.Test); n != 1 {
			t.Errorf("%d orders stored, want 1", n)
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		body := `{"orderReference":"idem-1","amount":"10","currency":"USDT","chainId":"devnet"}`
		first := e.as(e.test, "POST", "/api/v1/orders", body, "Idempotency-Key", "key-1")
		if first.status != 201 || first.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("first = %d %v", first.status, first.header)
		}
		replay := e.as(e.test, "POST", "/api/v1/orders", body, "Idempotency-Key", "key-1")
		if replay.status != 201 || replay.header.Get("Idempotent-Replayed") != "true" || string(replay.raw) != string(first.raw) {
			t.Fatalf("replay = %d %v %s", replay.status, replay.header, replay.raw)
		}
		other := e.as(e.test, "POST", "/api/v1/orders", strings.Replace(body, "idem-1", "idem-2", 1), "Idempotency-Key", "key-1")
		if other.status != 422 || other.str("error") != "IdempotencyKeyReused" {
			t.Errorf("same key, other body = %d %s", other.status, other.raw)
		}
		// A key held by a request still running answers 409.
		pr, _ := e.svc.Authenticate(context.Background(), e.test.Key)
		_, err := e.store.BeginIdempotent(context.Background(), &gateway.IdempotencyRecord{ProjectID: pr.Project.ID, Mode: gateway.Test,
			Key: "running", RequestHash: "x", CreatedAt: time.Now()}, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		busy := e.as(e.test, "POST", "/api/v1/orders", body, "Idempotency-Key", "running")
		if busy.status != 409 || busy.str("error") != "IdempotencyKeyInUse" {
			t.Errorf("key in use = %d %s", busy.status, busy.raw)
		}
		// Keys are per mode: the live key's namespace does not see the test key's record.
		if n := e.orderCount(gateway.Test); n != 1 {
			t.Errorf("%d orders, want 1", n)
		}
		// A failed request does not consume the key: fixed and retried, it goes through.
		bad := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"idem-3","amount":"-1","currency":"USDT","chainId":"devnet"}`, "Idempotency-Key", "key-3")
		if bad.status != 400 {
			t.Fatalf("bad = %d", bad.status)
		}
		again := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"idem-3","amount":"1","currency":"USDT","chainId":"devnet"}`, "Idempotency-Key", "key-3")
		if again.status != 201 || again.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("a refused request's key, fixed and retried: %d %v %s", again.status, again.header, again.raw)
		}
		// Another API key of the project does not get the first key's answer.
		pair, _, err := e.svc.NewCredential(context.Background(), e.project.Project.ID, gateway.Test)
		if err != nil {
			t.Fatal(err)
		}
		if r := e.as(pair, "POST", "/api/v1/orders", body, "Idempotency-Key", "key-1"); r.status != 422 || r.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("another key replaying key-1: %d %s", r.status, r.raw)
		}
	})
}

// A replay passes the authentication the first request passed: the API key alone does not replay
// an answer that needed the secret (a rotated webhook secret), and a request refused for want of
// the secret stores nothing under the merchant's key.
func TestIdempotentReplayNeedsTheSecret(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		first := e.as(e.test, "POST", "/api/v1/webhook/secret/rotate", "", "x-api-secret", e.test.Secret, "Idempotency-Key", "rot-1")
		if first.status != 200 {
			t.Fatalf("rotate: %d %s", first.status, first.raw)
		}
		keyOnly := e.as(e.test, "POST", "/api/v1/webhook/secret/rotate", "", "Idempotency-Key", "rot-1")
		if keyOnly.status != 401 || keyOnly.header.Get("Idempotent-Replayed") != "" || strings.Contains(string(keyOnly.raw), "whsec_") {
			t.Fatalf("key-only replay: %d %v %s", keyOnly.status, keyOnly.header, keyOnly.raw)
		}
		// The reverse: a key-only request first, under the key the merchant will use.
		if r := e.as(e.test, "POST", "/api/v1/webhook/secret/rotate", "", "Idempotency-Key", "rot-2"); r.status != 401 {
			t.Fatalf("key-only rotation: %d %s", r.status, r.raw)
		}
		merchant := e.as(e.test, "POST", "/api/v1/webhook/secret/rotate", "", "x-api-secret", e.test.Secret, "Idempotency-Key", "rot-2")
		if merchant.status != 200 || merchant.header.Get("Idempotent-Replayed") != "" || !strings.Contains(string(merchant.raw), "whsec_") {
			t.Fatalf("the merchant's rotation after a planted 401: %d %s", merchant.status, merchant.raw)
		}
	})
}

// The same Idempotency-Key sent many times at once acts once: one payment link, one rotation.
func TestIdempotencyKeyUnderConcurrency(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		for range 50 {
			wg.Go(func() {
				r := e.as(e.test, "POST", "/api/v1/payment-links", `{"title":"Once","amount":"1","currencies":[{"currency":"USDT","chainId":"devnet"}]}`,
					"Idempotency-Key", "link-1")
				mu.Lock()
				statuses[r.status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		links := e.as(e.test, "GET", "/api/v1/payment-links", "").data()
		if list, _ := links["paymentLinks"].([]any); len(list) != 1 {
			t.Errorf("50 parallel creates with one key made %d links (answers %v)", len(list), statuses)
		}
		if statuses[201]+statuses[409] != 50 || statuses[201] < 1 {
			t.Errorf("answers %v: want 201 (first and replays) and 409 (while it runs)", statuses)
		}
		secrets := map[string]bool{}
		for range 20 {
			wg.Go(func() {
				r := e.as(e.test, "POST", "/api/v1/webhook/secret/rotate", "", "x-api-secret", e.test.Secret, "Idempotency-Key", "rot-c")
				if sec, _ := r.data()["secret"].(string); sec != "" {
					mu.Lock()
					secrets[sec] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(secrets) != 1 {
			t.Errorf("20 parallel rotations with one key returned %d secrets", len(secrets))
		}
	})
}

func TestListOrders(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		for i := range 23 {
			ch, cur := "ethereum-sepolia", "USDT"
			if i%4 == 0 {
				ch, cur = "polygon-amoy", "USDC"
			}
			r := e.as(e.test, "POST", "/api/v1/orders", fmt.Sprintf(`{"orderReference":"L-%d","amount":"1.5","currency":"%s","chainId":"%s"}`, i, cur, ch))
			if r.status != 201 {
				t.Fatalf("create %d = %d %s", i, r.status, r.raw)
			}
		}
		r := e.as(e.test, "GET", "/api/v1/orders", "")
		p := r.data()["pagination"].(map[string]any)
		if r.status != 200 || len(r.data()["orders"].([]any)) != 20 || p["total"] != float64(23) || p["totalPages"] != float64(2) || p["limit"] != float64(20) {
			t.Fatalf("default page = %d %v", r.status, p)
		}
		r = e.as(e.test, "GET", "/api/v1/orders?page=2&limit=20", "")
		if n := len(r.data()["orders"].([]any)); n != 3 {
			t.Errorf("page 2 has %d, want 3", n)
		}
		r = e.as(e.test, "GET", "/api/v1/orders?chainId=polygon-amoy&currency=USDC&status=pending", "")
		if p := r.data()["pagination"].(map[string]any); p["total"] != float64(6) {
			t.Errorf("filtered total = %v, want 6", p["total"])
		}
		r = e.as(e.test, "GET", "/api/v1/orders?orderReference=L-7", "")
		if orders := r.data()["orders"].([]any); len(orders) != 1 || orders[0].(map[string]any)["orderReference"] != "L-7" {
			t.Errorf("reference filter = %s", r.raw)
		}
		r = e.as(e.live, "GET", "/api/v1/orders", "")
		if p := r.data()["pagination"].(map[string]any); p["total"] != float64(0) {
			t.Errorf("live key sees %v test orders", p["total"])
		}
	})
}

func TestModesDoNotCross(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		testOrder := e.as(e.test, "POST", "/api/v1/orders", sepoliaOrder).data()["orderId"].(string)
		if r := e.as(e.live, "GET", "/api/v1/orders/"+testOrder, ""); r.status != 404 {
			t.Errorf("live key reading a test order = %d", r.status)
		}
		live := e.as(e.live, "POST", "/api/v1/orders", `{"orderReference":"order_123","amount":"1","currency":"USDT","chainId":"bsc"}`)
		if live.status != 201 || live.data()["livemode"] != true || live.data()["amount"] != "1" || live.data()["decimals"] != float64(18) {
			t.Fatalf("live order = %d %s", live.status, live.raw)
		}
		if r := e.as(e.test, "GET", "/api/v1/orders/"+live.data()["orderId"].(string), ""); r.status != 404 {
			t.Errorf("test key reading a live order = %d", r.status)
		}
	})
}

func TestLiveModeNeedsRealWebsite(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite", "http://localhost:3000")
	r := e.as(e.live, "POST", "/api/v1/orders", `{"orderReference":"x","amount":"1","currency":"USDT","chainId":"ethereum"}`)
	if r.status != 403 || r.str("error") != "Forbidden" {
		t.Errorf("live order on a localhost website = %d %s", r.status, r.raw)
	}
	r = e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"x","amount":"1","currency":"USDT","chainId":"devnet","successUrl":"http://localhost:3000/done"}`)
	if r.status != 201 {
		t.Errorf("test order on a localhost website = %d %s", r.status, r.raw)
	}
	if e.orderCount(gateway.Live) != 0 {
		t.Error("a refused live order was stored")
	}
}

func TestAddressPool(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		// It decides where payments go: the API key alone is refused, and imports nothing.
		keyOnly := e.as(e.test, "POST", "/api/v1/address-pool/import", `{"protocol":"tron","addresses":["TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"]}`)
		if keyOnly.status != 401 || keyOnly.str("error") != "Unauthorized" || keyOnly.str("param") != "x-api-secret" {
			t.Fatalf("import with the key alone = %d %s", keyOnly.status, keyOnly.raw)
		}
		sec := []string{"x-api-secret", e.test.Secret}
		r := e.as(e.test, "POST", "/api/v1/address-pool/import", `{"protocol":"tron","addresses":["TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"]}`, sec...)
		if r.status != 200 || r.data()["imported"] != float64(1) || r.data()["skipped"] != float64(1) || r.data()["available"] != float64(1) {
			t.Fatalf("import = %d %s", r.status, r.raw)
		}
		o := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"p1","amount":"1","currency":"USDT","chainId":"tron-nile"}`)
		if o.status != 201 || o.data()["address"] != "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t" {
			t.Fatalf("pool order = %d %s", o.status, o.raw)
		}
		empty := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"p2","amount":"1","currency":"USDT","chainId":"tron-nile"}`)
		if empty.status != 422 || empty.str("error") != "InsufficientAddresses" || empty.str("message") != "No available addresses in pool for protocol: tron" {
			t.Errorf("empty pool = %d %s", empty.status, empty.raw)
		}
		bad := e.as(e.test, "POST", "/api/v1/address-pool/import", `{"protocol":"tron","addresses":["TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","0x9858EfFD232B4033E47d90003D41EC34EcaEda94"]}`, sec...)
		if bad.status != 400 || bad.str("param") != "addresses[1]" {
			t.Errorf("bad pool address = %d %s", bad.status, bad.raw)
		}
		if r := e.as(e.test, "POST", "/api/v1/address-pool/import", `{"protocol":"btc","addresses":["x"]}`, sec...); r.status != 400 || r.str("param") != "protocol" {
			t.Errorf("bad protocol = %d %s", r.status, r.raw)
		}
		zero := e.as(e.test, "POST", "/api/v1/address-pool/import", `{"protocol":"evm","addresses":["0x0000000000000000000000000000000000000000"]}`, sec...)
		if zero.status != 400 || zero.str("param") != "addresses[0]" {
			t.Errorf("the zero address = %d %s", zero.status, zero.raw)
		}
		pools := e.as(e.test, "GET", "/api/v1/address-pool", "").data()["pools"].([]any)
		if len(pools) != 2 || fmt.Sprint(pools[1]) != "map[assigned:1 available:0 protocol:tron total:1]" ||
			fmt.Sprint(pools[0]) != "map[assigned:0 available:0 protocol:evm total:0]" {
			t.Errorf("GET /address-pool = %v", pools)
		}
		// The live key sees its own (empty) pools, not the test mode's.
		if live := e.as(e.live, "GET", "/api/v1/address-pool", "").data(); fmt.Sprint(live["pools"]) != "[map[assigned:0 available:0 protocol:evm total:0] map[assigned:0 available:0 protocol:tron total:0]]" || live["livemode"] != true {
			t.Errorf("live GET /address-pool = %v", live)
		}
		var by string
		if err := e.store.DB().QueryRow(`SELECT imported_by FROM addresses WHERE address = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t'`).Scan(&by); err != nil || !strings.HasPrefix(by, "key_") {
			t.Errorf("imported_by = %q, %v; want the importing key's id", by, err)
		}
	})
}

func TestHealth(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite", "https://shop.example.com")
	r := e.call("GET", "/health", "")
	if r.status != 200 || r.str("status") != "healthy" || r.str("version") != "test" || r.str("timestamp") == "" {
		t.Fatalf("health = %d %s", r.status, r.raw)
	}
	e.store.Close()
	r = e.call("GET", "/health", "")
	if r.status != 503 || r.str("status") != "unhealthy" {
		t.Errorf("health with the database closed = %d %s", r.status, r.raw)
	}
}

func TestOpenAPI(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite", "https://shop.example.com")
	r := e.call("GET", "/docs/openapi.json", "")
	if r.status != 200 || r.str("openapi") != "3.1.0" {
		t.Fatalf("openapi = %d %.200s", r.status, r.raw)
	}
	paths, _ := r.body["paths"].(map[string]any)
	for _, p := range []string{"/api/v1/orders", "/api/v1/orders/{orderId}", "/api/v1/address-pool/import", "/health"} {
		if paths[p] == nil {
			t.Errorf("openapi lacks %s", p)
		}
	}
	// Both answers of an idempotent create are described, with the same body, and every schema a
	// response refers to exists.
	create := paths["/api/v1/orders"].(map[string]any)["post"].(map[string]any)["responses"].(map[string]any)
	for _, code := range []string{"200", "201"} {
		if !strings.Contains(fmt.Sprint(create[code]), "#/components/schemas/EnvelopeOrder") {
			t.Errorf("POST /api/v1/orders %s = %v", code, create[code])
		}
	}
	schemas := r.body["components"].(map[string]any)["schemas"].(map[string]any)
	for _, ref := range regexp.MustCompile(`#/components/schemas/(\w+)`).FindAllStringSubmatch(string(r.raw), -1) {
		if schemas[ref[1]] == nil {
			t.Errorf("openapi refers to a missing schema %s", ref[1])
		}
	}
}

// An order, a payment link and a deposit binding may name only chains this gateway watches: a
// payment on another would never be seen.
func TestOnlyWatchedChainsTakeOrders(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		e.svc.Chains = []string{"devnet", "ethereum"}
		for _, c := range []struct {
			key          gateway.KeyPair
			path, body   string
			param, lists string
		}{
			{e.test, "/api/v1/orders", `{"orderReference":"w1","amount":"1","currency":"USDT","chainId":"ethereum-sepolia"}`, "chainId", "test mode accepts: devnet"},
			{e.live, "/api/v1/orders", `{"orderReference":"w2","amount":"1","currency":"USDT","chainId":"bsc"}`, "chainId", "live mode accepts: ethereum"},
			{e.live, "/api/v1/orders", `{"orderReference":"w3","amount":"1","currency":"USDT","chainId":"devnet"}`, "chainId", "live mode accepts: ethereum"},
			{e.test, "/api/v1/payment-links", `{"title":"x","amount":"1","currencies":[{"currency":"USDC","chainId":"polygon-amoy"}]}`, "currencies", "test mode accepts: devnet"},
			{e.test, "/api/v1/deposits/bind", `{"depositReference":"u1","protocol":"tron"}`, "protocol", "test mode accepts: devnet"},
		} {
			r := e.as(c.key, "POST", c.path, c.body)
			if r.status != 400 || r.str("error") != "ValidationError" || r.str("param") != c.param || !strings.Contains(r.str("message"), c.lists) {
				t.Errorf("%s %s: %d %s", c.path, c.body, r.status, r.raw)
			}
		}
		if n := e.orderCount(gateway.Test) + e.orderCount(gateway.Live); n != 0 {
			t.Errorf("%d orders after refusals", n)
		}
		if r := e.as(e.live, "POST", "/api/v1/orders", `{"orderReference":"w4","amount":"1","currency":"USDT","chainId":"ethereum"}`); r.status != 201 {
			t.Errorf("a live order on a watched chain: %d %s", r.status, r.raw)
		}
	})
}

// A project whose website cannot take live payments (plain http, an IP) is refused every live
// payment — orders, payment links, publishing — while its live reads still answer.
func TestLiveWebsiteRuleOnEveryPath(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "http://127.0.0.1:3000")
		for _, c := range []struct{ path, body string }{
			{"/api/v1/orders", `{"orderReference":"l1","amount":"1","currency":"USDT","chainId":"ethereum"}`},
			{"/api/v1/payment-links", `{"title":"x","amount":"1","currencies":[{"currency":"USDT","chainId":"ethereum"}]}`},
			{"/api/v1/deposits/bind", `{"depositReference":"u1","protocol":"evm"}`},
		} {
			if r := e.as(e.live, "POST", c.path, c.body); r.status != 403 || r.str("error") != "Forbidden" {
				t.Errorf("live %s: %d %s", c.path, r.status, r.raw)
			}
		}
		for _, p := range []string{"/api/v1/orders", "/api/v1/payment-links", "/api/v1/balances"} {
			if r := e.as(e.live, "GET", p, ""); r.status != 200 {
				t.Errorf("live GET %s: %d %s", p, r.status, r.raw)
			}
		}
		if r := e.as(e.test, "POST", "/api/v1/payment-links", `{"title":"x","amount":"1","currencies":[{"currency":"USDT","chainId":"devnet"}]}`); r.status != 201 {
			t.Errorf("a test payment link: %d %s", r.status, r.raw)
		}
	})
}

// GET /api/v1/chains: the chains of the key's mode that the gateway watches, with the rule it
// applies and each token's contract and decimals (PayIn's getChains, cached by clients).
func TestListChains(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite", "https://shop.example.com")
	e.svc.Chains = []string{"devnet", "bsc", "ethereum"}
	reg, err := chain.Builtin().Configure("ethereum", 20, "")
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Registry = reg
	test := e.as(e.test, "GET", "/api/v1/chains", "").data()
	chains, _ := test["chains"].([]any)
	if len(chains) != 1 || test["livemode"] != false {
		t.Fatalf("test mode chains: %v", test)
	}
	dev := chains[0].(map[string]any)
	if dev["chainId"] != "devnet" || dev["protocol"] != "evm" || dev["confirmations"] != 1.0 || len(dev["tokens"].([]any)) != 3 {
		t.Errorf("devnet = %v", dev)
	}
	live := e.as(e.live, "GET", "/api/v1/chains", "").data()["chains"].([]any)
	got := map[string]map[string]any{}
	for _, c := range live {
		m := c.(map[string]any)
		got[m["chainId"].(string)] = m
	}
	if len(got) != 2 || got["ethereum"]["confirmations"] != 20.0 || got["ethereum"]["explorerTxUrl"] != "https://etherscan.io/tx/{txHash}" {
		t.Fatalf("live chains: %v", live)
	}
	// BSC's USDT has 18 decimals: a client reading this never assumes 6.
	for _, tk := range got["bsc"]["tokens"].([]any) {
		if m := tk.(map[string]any); m["currency"] == "USDT" && m["decimals"] != 18.0 {
			t.Errorf("BSC USDT = %v", m)
		}
	}
}
