package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/stablegate/stablegate/internal/gateway"
)

// Resolving an order by hand: only with the secret, only a pending, underpaid or expired order,
// once; the usual event with resolvedManually; nothing posted to the ledger (a manual completion
// credits nothing that did not arrive), and a payment arriving afterwards is credited but leaves
// the status as resolved.
func TestResolveOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		secret := []string{"x-api-secret", e.test.Secret}
		create := func(ref string) string {
			t.Helper()
			r := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"`+ref+`","amount":"10","currency":"USDT","chainId":"devnet"}`)
			if r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.raw)
			}
			return r.data()["orderId"].(string)
		}
		resolve := func(id, body string, headers ...string) response {
			t.Helper()
			return e.as(e.test, "POST", "/api/v1/orders/"+id+"/resolve", body, headers...)
		}
		available := func() string {
			t.Helper()
			bs := e.as(e.test, "GET", "/api/v1/balances", "").data()["balances"].([]any)
			if len(bs) == 0 {
				return "0"
			}
			return bs[0].(map[string]any)["available"].(string)
		}
		events := func(id string) []*gateway.WebhookEvent {
			t.Helper()
			evs, _, err := e.store.ListWebhookEvents(context.Background(), gateway.WebhookEventFilter{ProjectID: e.project.Project.ID,
				Mode: gateway.Test, Page: 1, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var out []*gateway.WebhookEvent
			for i := len(evs) - 1; i >= 0; i-- {
				if strings.Contains(string(evs[i].Data), id) {
					out = append(out, evs[i])
				}
			}
			return out
		}

		a := create("paid-by-exchange")
		// Bad input and no secret: refused, nothing changes.
		for _, c := range []struct {
			body    string
			headers []string
			status  int
			param   string
		}{
			{`{"outcome":"completed","reason":"paid on Binance"}`, nil, 401, "x-api-secret"},
			{`{"outcome":"completed","reason":"paid on Binance"}`, []string{"x-api-secret", "sk_test_wrong"}, 401, ""},
			{`{"outcome":"settled","reason":"paid on Binance"}`, secret, 400, "outcome"},
			{`{"outcome":"completed","reason":""}`, secret, 400, "reason"},
			{`{"outcome":"completed","reason":"   "}`, secret, 400, "reason"},
			{`{"outcome":"completed"}`, secret, 400, "reason"},
			{`{"outcome":"completed","reason":"` + strings.Repeat("x", 1001) + `"}`, secret, 400, "reason"},
		} {
			if r := resolve(a, c.body, c.headers...); r.status != c.status || r.str("param") != c.param {
				t.Errorf("resolve %.60s: %d param %q (want %d %q): %s", c.body, r.status, r.str("param"), c.status, c.param, r.raw)
			}
		}
		if r := resolve("ord_nosuchorder", `{"outcome":"completed","reason":"x"}`, secret...); r.status != 404 {
			t.Errorf("an unknown order: %d", r.status)
		}
		if r := e.as(e.live, "POST", "/api/v1/orders/"+a+"/resolve", `{"outcome":"completed","reason":"x"}`, "x-api-secret", e.live.Secret); r.status != 404 {
			t.Errorf("a test order with the live key: %d", r.status)
		}
		if len(events(a)) != 0 {
			t.Fatalf("refused resolutions wrote events: %d", len(events(a)))
		}

		// Fifty at once: one resolves, the others are 409.
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		for range 50 {
			wg.Go(func() {
				r := resolve(a, `{"outcome":"completed","reason":"Paid by internal transfer on Binance, ref 7741"}`, secret...)
				mu.Lock()
				codes[r.status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if codes[200] != 1 || codes[409] != 49 {
			t.Fatalf("fifty resolutions at once: %v", codes)
		}
		got := e.as(e.test, "GET", "/api/v1/orders/"+a, "").data()
		res, _ := got["resolution"].(map[string]any)
		if got["status"] != "completed" || got["resolvedManually"] != true || got["paidAmount"] != "0" || got["completedAt"] == nil ||
			res["outcome"] != "completed" || !strings.HasPrefix(res["by"].(string), "key ") || res["reason"] != "Paid by internal transfer on Binance, ref 7741" {
			t.Fatalf("the resolved order: %v", got)
		}
		evs := events(a)
		if len(evs) != 1 || evs[0].Type != gateway.EventOrderCompleted {
			t.Fatalf("events: %d", len(evs))
		}
		var data map[string]any
		json.Unmarshal(evs[0].Data, &data)
		if data["resolvedManually"] != true || data["paidAmount"] != "0" {
			t.Fatalf("the event's data: %s", evs[0].Data)
		}
		if av := available(); av != "0" {
			t.Fatalf("a manual completion credited %s", av)
		}
		// A payment that arrives afterwards is credited; the status stays.
		if r := e.as(e.test, "POST", "/api/v1/orders/"+a+"/simulate", `{"outcome":"completed"}`); r.status != 409 {
			t.Fatalf("simulating on a resolved completed order: %d", r.status)
		}

		// Invalid: an underpaid order, closed; a later payment is credited, the order stays invalid.
		b := create("closed")
		if r := e.as(e.test, "POST", "/api/v1/orders/"+b+"/simulate", `{"outcome":"underpaid"}`); r.status != 200 {
			t.Fatalf("underpay: %d", r.status)
		}
		if r := resolve(b, `{"outcome":"invalid","reason":"customer cancelled; refund by hand"}`, secret...); r.status != 200 || r.data()["status"] != "invalid" {
			t.Fatalf("invalid: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "POST", "/api/v1/orders/"+b+"/simulate", `{"outcome":"completed"}`); r.status != 200 || r.data()["status"] != "invalid" ||
			r.data()["paidAmount"] != "10" {
			t.Fatalf("a payment after invalid: %d %s", r.status, r.raw)
		}
		if av := available(); av != "10" {
			t.Fatalf("available after a real (simulated) 10 arrived: %s", av)
		}
		if types := events(b); len(types) != 2 || types[0].Type != gateway.EventOrderUnderpaid || types[1].Type != gateway.EventOrderInvalid {
			t.Fatalf("events of the invalid order: %v", types)
		}
		if r := e.as(e.test, "GET", "/api/v1/orders?status=invalid", ""); r.status != 200 || len(r.data()["orders"].([]any)) != 1 {
			t.Fatalf("listing invalid orders: %d %s", r.status, r.raw)
		}
		// A completed order cannot be resolved.
		c := create("paid-on-chain")
		e.as(e.test, "POST", "/api/v1/orders/"+c+"/simulate", `{"outcome":"completed"}`)
		if r := resolve(c, `{"outcome":"invalid","reason":"oops"}`, secret...); r.status != 409 || !strings.Contains(r.str("message"), "completed on chain") {
			t.Fatalf("resolving a completed order: %d %s", r.status, r.raw)
		}
		// The audit log has each resolution, by the key, with the reason.
		lines, _, _ := e.store.ListAudit(context.Background(), gateway.AuditFilter{ProjectID: e.project.Project.ID, Action: gateway.AuditOrderResolved, Page: 1, Limit: 10})
		if len(lines) != 2 || lines[0].Details["outcome"] != "invalid" || lines[0].Details["from"] != "underpaid" || lines[0].Actor.Kind != gateway.ActorKey {
			t.Fatalf("audit: %d %+v", len(lines), lines)
		}
	})
}
