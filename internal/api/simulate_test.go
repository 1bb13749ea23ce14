package api_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stablegate/stablegate/internal/gateway"
)

func TestSimulateOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		create := func(ref string) string {
			t.Helper()
			r := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"`+ref+`","amount":"10","currency":"USDT","chainId":"devnet"}`)
			if r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.raw)
			}
			return r.data()["orderId"].(string)
		}
		sim := func(id, body string) response {
			t.Helper()
			return e.as(e.test, "POST", "/api/v1/orders/"+id+"/simulate", body)
		}
		events := func(id string) []string {
			t.Helper()
			evs, _, err := e.store.ListWebhookEvents(context.Background(), gateway.WebhookEventFilter{ProjectID: e.project.Project.ID,
				Mode: gateway.Test, Page: 1, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for i := len(evs) - 1; i >= 0; i-- {
				if strings.Contains(string(evs[i].Data), id) {
					out = append(out, evs[i].Type)
				}
			}
			return out
		}

		// underpaid (half), then completed (the rest): the same statuses and events as on chain.
		a := create("sim-a")
		r := sim(a, `{"outcome":"underpaid"}`)
		if d := r.data(); r.status != 200 || d["status"] != "underpaid" || d["paidAmount"] != "5" || len(d["payments"].([]any)) != 1 {
			t.Fatalf("underpaid: %d %s", r.status, r.raw)
		}
		r = sim(a, `{"outcome":"completed"}`)
		if d := r.data(); d["status"] != "completed" || d["paidAmount"] != "10" || d["multiplePayments"] != true || d["completedAt"] == nil {
			t.Fatalf("completed: %s", r.raw)
		}
		if got := events(a); len(got) != 2 || got[0] != "order.underpaid" || got[1] != "order.completed" {
			t.Fatalf("events = %v", got)
		}
		if r := sim(a, `{"outcome":"completed"}`); r.status != 409 || r.str("error") != "Conflict" {
			t.Fatalf("completing twice: %d %s", r.status, r.raw)
		}
		// The ledger: the confirmed (simulated) payments are available.
		if r := e.as(e.test, "GET", "/api/v1/balances", ""); r.status != 200 || len(r.data()["balances"].([]any)) != 1 ||
			r.data()["balances"].([]any)[0].(map[string]any)["available"] != "10" {
			t.Fatalf("balances: %d %s", r.status, r.raw)
		}
		if r := e.as(e.live, "GET", "/api/v1/balances", ""); len(r.data()["balances"].([]any)) != 0 {
			t.Fatalf("live balances: %s", r.raw)
		}
		// An overpayment, given as amount.
		b := create("sim-b")
		if d := sim(b, `{"outcome":"completed","amount":"12.5"}`).data(); d["status"] != "completed" || d["overpaid"] != true || d["paidAmount"] != "12.5" {
			t.Fatalf("overpaid: %v", d)
		}
		// expired, only from pending.
		c := create("sim-c")
		if d := sim(c, `{"outcome":"expired"}`).data(); d["status"] != "expired" {
			t.Fatalf("expired: %v", d)
		}
		if got := events(c); len(got) != 1 || got[0] != "order.expired" {
			t.Fatalf("events = %v", got)
		}
		if r := sim(c, `{"outcome":"expired"}`); r.status != 409 {
			t.Fatalf("expiring twice: %d %s", r.status, r.raw)
		}

		// Bad input: clear errors, nothing changed.
		d := create("sim-d")
		for _, bad := range []struct{ body, param string }{
			{`{"outcome":"paid"}`, "outcome"},
			{`{"outcome":"underpaid","amount":"10"}`, "amount"},
			{`{"outcome":"underpaid","amount":"0.0000001"}`, "amount"},
			{`{"outcome":"completed","amount":"9.99"}`, "amount"},
			{`{"outcome":"completed","amount":"-1"}`, "amount"},
			{`{"outcome":"expired","amount":"1"}`, "amount"},
		} {
			r := sim(d, bad.body)
			if r.status != 400 && r.status != 422 || r.str("param") != bad.param {
				t.Errorf("%s: %d %s", bad.body, r.status, r.raw)
			}
		}
		if r := e.as(e.test, "GET", "/api/v1/orders/"+d, ""); r.data()["status"] != "pending" || r.data()["paidAmount"] != "0" {
			t.Fatalf("bad input changed the order: %s", r.raw)
		}
		if r := sim("ord_nope", `{"outcome":"completed"}`); r.status != 404 {
			t.Fatalf("unknown order: %d", r.status)
		}
		// Live credentials are refused.
		if r := e.as(e.live, "POST", "/api/v1/orders/"+d+"/simulate", `{"outcome":"completed"}`); r.status != 403 || r.str("error") != "Forbidden" {
			t.Fatalf("live: %d %s", r.status, r.raw)
		}
	})
}

// Twenty simulations of one order at once pay it once: one at a time, and a completed order is not
// paid again.
func TestSimulateConcurrently(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		r := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"sim-race","amount":"7","currency":"USDT","chainId":"devnet"}`)
		id, _ := r.data()["orderId"].(string)
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		for range 20 {
			wg.Go(func() {
				r := e.as(e.test, "POST", "/api/v1/orders/"+id+"/simulate", `{"outcome":"completed"}`)
				mu.Lock()
				statuses[r.status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		d := e.as(e.test, "GET", "/api/v1/orders/"+id, "").data()
		if d["status"] != "completed" || d["paidAmount"] != "7" || len(d["payments"].([]any)) != 1 || d["multiplePayments"] != false {
			t.Fatalf("after 20 parallel simulations: %v (answers %v)", d, statuses)
		}
		if statuses[200] != 1 || statuses[409] != 19 {
			t.Errorf("answers %v, want one 200 and nineteen 409", statuses)
		}
	})
}
