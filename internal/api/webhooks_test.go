package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

func TestWebhookEndpointAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		secret := []string{"x-api-secret", e.test.Secret}
		get := func(key gateway.KeyPair) map[string]any {
			t.Helper()
			r := e.as(key, "GET", "/api/v1/webhook/endpoint", "")
			if r.status != 200 {
				t.Fatalf("GET endpoint: %d %s", r.status, r.raw)
			}
			return r.data()
		}
		if d := get(e.test); d["url"] != "" || d["enabled"] != false || len(d["events"].([]any)) != 0 {
			t.Fatalf("initial endpoint: %v", d)
		}

		// Setting the URL needs the API secret: whoever sets it receives the events.
		body := `{"url":"https://93.184.216.34/hooks","events":["order.completed","order.expired"]}`
		if r := e.as(e.test, "PUT", "/api/v1/webhook/endpoint", body); r.status != 401 || r.str("error") != "Unauthorized" || r.str("param") != "x-api-secret" {
			t.Fatalf("PUT without secret: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "PUT", "/api/v1/webhook/endpoint", body, "x-api-secret", "sk_test_wrong"); r.status != 401 {
			t.Fatalf("PUT with a wrong secret: %d", r.status)
		}
		if d := get(e.test); d["url"] != "" {
			t.Fatalf("a refused PUT changed the endpoint: %v", d)
		}
		r := e.as(e.test, "PUT", "/api/v1/webhook/endpoint", body, secret...)
		if r.status != 200 || r.data()["url"] != "https://93.184.216.34/hooks" || r.data()["enabled"] != true || len(r.data()["events"].([]any)) != 2 {
			t.Fatalf("PUT: %d %s", r.status, r.raw)
		}

		// Bad input: the seeds' envelope, the field named, nothing changed.
		for _, c := range []struct {
			key                   gateway.KeyPair
			body, param, contains string
		}{
			{e.test, `{"url":"ftp://93.184.216.34/x"}`, "url", "absolute http(s) URL"},
			{e.test, `{"url":"https://93.184.216.34:99999/x"}`, "url", "absolute http(s) URL"},
			{e.test, `{"url":"https://93.184.216.34:0/x"}`, "url", "absolute http(s) URL"},
			{e.test, `{"url":"/relative"}`, "url", "absolute"},
			{e.test, `{"url":""}`, "url", "required"},
			{e.test, `{"url":"https://10.0.0.7/hooks"}`, "url", "private or internal"},
			{e.test, `{"url":"http://127.0.0.1:3000/hooks"}`, "url", "private or internal"},
			{e.test, `{"url":"https://169.254.169.254/latest/meta-data"}`, "url", "private or internal"},
			{e.test, `{"url":"https://[::1]/hooks"}`, "url", "private or internal"},
			{e.test, `{"url":"https://93.184.216.34/h","events":["order.paid"]}`, "events", "unknown event type"},
			{e.live, `{"url":"http://93.184.216.34/hooks"}`, "url", "https in live mode"},
		} {
			hdr := secret
			if c.key == e.live {
				hdr = []string{"x-api-secret", e.live.Secret}
			}
			r := e.as(c.key, "PUT", "/api/v1/webhook/endpoint", c.body, hdr...)
			if r.status != 400 || r.str("error") != "ValidationError" || r.str("param") != c.param || !strings.Contains(r.str("message"), c.contains) {
				t.Errorf("PUT %s: %d %s", c.body, r.status, r.raw)
			}
		}
		if d := get(e.test); d["url"] != "https://93.184.216.34/hooks" {
			t.Fatalf("bad input changed the endpoint: %v", d)
		}
		// Modes do not cross.
		if d := get(e.live); d["url"] != "" || d["livemode"] != true {
			t.Fatalf("live endpoint: %v", d)
		}
		if r := e.as(e.test, "DELETE", "/api/v1/webhook/endpoint", "", secret...); r.status != 200 || r.data()["url"] != "" || r.data()["enabled"] != false {
			t.Fatalf("DELETE: %d %s", r.status, r.raw)
		}
	})
}

func TestWebhookSecretAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		first := e.project.WebhookSecrets[gateway.Test]
		if !strings.HasPrefix(first, "whsec_") || first == e.project.WebhookSecrets[gateway.Live] {
			t.Fatalf("secrets at creation: %q", first)
		}
		r := e.as(e.test, "GET", "/api/v1/webhook/secret", "")
		masked, _ := r.data()["secret"].(string)
		if r.status != 200 || !strings.HasSuffix(masked, first[len(first)-8:]) || !strings.Contains(masked, "****") || strings.Contains(masked, first[6:20]) {
			t.Fatalf("GET secret: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "POST", "/api/v1/webhook/secret/rotate", ""); r.status != 401 {
			t.Fatalf("rotate without the API secret: %d", r.status)
		}
		r = e.as(e.test, "POST", "/api/v1/webhook/secret/rotate", "", "x-api-secret", e.test.Secret)
		next, _ := r.data()["secret"].(string)
		if r.status != 200 || !strings.HasPrefix(next, "whsec_") || next == first || r.data()["previousSecretValidUntil"] == nil {
			t.Fatalf("rotate: %d %s", r.status, r.raw)
		}
		r = e.as(e.test, "GET", "/api/v1/webhook/secret", "")
		if masked, _ := r.data()["secret"].(string); !strings.HasSuffix(masked, next[len(next)-8:]) || strings.Contains(masked, next[6:20]) {
			t.Fatalf("after rotation GET shows %q", masked)
		}
	})
}

func TestWebhookEventsAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		ctx := context.Background()
		expire := func(ref string) {
			t.Helper()
			r := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"`+ref+`","amount":"5","currency":"USDT","chainId":"devnet"}`)
			if r.status != 201 {
				t.Fatalf("create order: %d %s", r.status, r.raw)
			}
			if _, err := e.svc.ExpireOrders(ctx, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if r := e.as(e.test, "POST", "/api/v1/webhook/retry/evt_nope", ""); r.status != 409 || r.str("error") != "Conflict" {
			t.Fatalf("retry without endpoint: %d %s", r.status, r.raw)
		}
		expire("before-endpoint")
		e.as(e.test, "PUT", "/api/v1/webhook/endpoint", `{"url":"https://93.184.216.34/hooks"}`, "x-api-secret", e.test.Secret)
		expire("after-endpoint")

		r := e.as(e.test, "GET", "/api/v1/webhook/events", "")
		evs, _ := r.data()["events"].([]any)
		if r.status != 200 || len(evs) != 2 {
			t.Fatalf("list: %d %s", r.status, r.raw)
		}
		newest := evs[0].(map[string]any)
		data := newest["data"].(map[string]any)
		if newest["type"] != "order.expired" || newest["deliveryStatus"] != "pending" || data["orderReference"] != "after-endpoint" ||
			data["status"] != "expired" || data["amount"] != "5" || newest["livemode"] != false || !strings.HasPrefix(newest["id"].(string), "evt_") {
			t.Fatalf("newest event: %v", newest)
		}
		if older := evs[1].(map[string]any); older["deliveryStatus"] != "skipped" {
			t.Fatalf("the event from before the endpoint: %v", older)
		}
		if ep := r.data()["endpoint"].(map[string]any); ep["url"] != "https://93.184.216.34/hooks" || ep["enabled"] != true {
			t.Fatalf("endpoint in the list: %v", ep)
		}
		if p := r.data()["pagination"].(map[string]any); p["total"] != 2.0 || p["totalPages"] != 1.0 {
			t.Fatalf("pagination: %v", p)
		}
		for q, want := range map[string]int{"?deliveryStatus=pending": 1, "?deliveryStatus=skipped": 1, "?deliveryStatus=failed": 0,
			"?type=order.completed": 0, "?type=order.expired&limit=1&page=2": 1} {
			r := e.as(e.test, "GET", "/api/v1/webhook/events"+q, "")
			if got, _ := r.data()["events"].([]any); r.status != 200 || len(got) != want {
				t.Errorf("%s: %d events (%d), want %d", q, len(got), r.status, want)
			}
		}
		for q, param := range map[string]string{"?deliveryStatus=lost": "deliveryStatus", "?type=order.paid": "type", "?limit=0": "limit", "?page=0": "page"} {
			if r := e.as(e.test, "GET", "/api/v1/webhook/events"+q, ""); r.status != 400 || r.str("error") != "ValidationError" || r.str("param") != param {
				t.Errorf("%s: %d %s", q, r.status, r.raw)
			}
		}
		// The live key sees none of the test events.
		if r := e.as(e.live, "GET", "/api/v1/webhook/events", ""); len(r.data()["events"].([]any)) != 0 {
			t.Fatalf("live sees test events: %s", r.raw)
		}

		skipped := evs[1].(map[string]any)["id"].(string)
		if r := e.as(e.test, "POST", "/api/v1/webhook/retry/"+skipped, ""); r.status != 202 || r.data()["deliveryStatus"] != "pending" {
			t.Fatalf("retry: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "GET", "/api/v1/webhook/events?deliveryStatus=pending", ""); len(r.data()["events"].([]any)) != 2 {
			t.Fatalf("after retry: %s", r.raw)
		}
		if r := e.as(e.test, "POST", "/api/v1/webhook/retry/evt_nope", ""); r.status != 404 || r.str("error") != "NotFound" {
			t.Fatalf("retry unknown: %d %s", r.status, r.raw)
		}
		if r := e.as(e.live, "POST", "/api/v1/webhook/retry/"+skipped, ""); r.status == 202 {
			t.Fatal("a live key retried a test event")
		}
		if r := e.call("GET", "/health", ""); r.data() != nil || r.body["webhooks"].(map[string]any)["pending"] != 2.0 {
			t.Fatalf("health: %s", r.raw)
		}
	})
}

// A rotation retried with its Idempotency-Key answers the same secret, once rotated; the stored
// answer that makes the replay possible does not hold the secret in clear.
func TestIdempotentRotationKeepsTheSecretSealed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		first := e.as(e.test, "POST", "/api/v1/webhook/secret/rotate", "", "x-api-secret", e.test.Secret, "Idempotency-Key", "rot-1")
		secret, _ := first.data()["secret"].(string)
		if first.status != 200 || !strings.HasPrefix(secret, "whsec_") {
			t.Fatalf("rotate: %d %s", first.status, first.raw)
		}
		again := e.as(e.test, "POST", "/api/v1/webhook/secret/rotate", "", "x-api-secret", e.test.Secret, "Idempotency-Key", "rot-1")
		if again.header.Get("Idempotent-Replayed") != "true" || string(again.raw) != string(first.raw) {
			t.Fatalf("replay: %s %s", again.header.Get("Idempotent-Replayed"), again.raw)
		}
		if masked, _ := e.as(e.test, "GET", "/api/v1/webhook/secret", "").data()["secret"].(string); !strings.HasSuffix(masked, secret[len(secret)-8:]) {
			t.Errorf("the replay rotated again: the secret is now %s", masked)
		}
		rows, err := e.store.DB().Query(`SELECT body FROM idempotency_keys`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var body string
			rows.Scan(&body)
			n++
			if strings.Contains(body, secret[6:]) || !strings.HasPrefix(body, "sealed:") {
				t.Errorf("stored answer in clear: %.80s", body)
			}
		}
		if n != 1 {
			t.Errorf("%d stored answers, want 1", n)
		}
	})
}
