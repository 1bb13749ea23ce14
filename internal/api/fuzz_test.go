package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stablegate/stablegate/internal/api"
	"github.com/stablegate/stablegate/internal/webhook"
)

// FuzzOrderRequest sends arbitrary bodies to POST /api/v1/orders through the whole handler stack
// (auth, decoding, validation, storage): no input may produce a 5xx, a panic, or an answer outside
// the envelope.
func FuzzOrderRequest(f *testing.F) {
	for _, s := range []string{
		`{"orderReference":"o1","amount":"10.5","currency":"USDT","chainId":"devnet"}`,
		`{"orderReference":"o1","amount":"1e5","currency":"USDT","chainId":"devnet"}`,
		`{"orderReference":"o1","amount":10,"currency":"USDT","chainId":"devnet","metadata":{"a":[1,{"b":null}]}}`,
		`{"orderReference":"","amount":"","currency":"","chainId":""}`,
		`{"orderReference":"o2","amount":"0.000000000000000001","currency":"DAI","chainId":"devnet","successUrl":"http://localhost/x"}`,
		`{"orderReference":"o3","amount":"1","currency":"usdt","chainId":"tron-nile","paymentWindowMinutes":-5}`,
		`[]`, `null`, `{`, `"x"`, ``,
	} {
		f.Add(s)
	}
	e := setup(f, "sqlite", "http://localhost")
	srv := api.New(e.svc, api.Config{PublicURL: "http://localhost:8080", Version: "fuzz"})
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/orders", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.test.Key)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("body %q: status %d: %s", body, rec.Code, rec.Body)
		}
		var env map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("body %q: answer is not JSON: %s", body, rec.Body)
		}
		if rec.Code >= 400 {
			if env["success"] != false || env["error"] == "" || env["message"] == "" {
				t.Fatalf("body %q: error outside the envelope: %s", body, rec.Body)
			}
			return
		}
		d, _ := env["data"].(map[string]any)
		if env["success"] != true || d["orderId"] == nil || d["address"] == "" {
			t.Fatalf("body %q: success without an order: %s", body, rec.Body)
		}
		if _, ok := d["amount"].(string); !ok {
			t.Fatalf("amount is not a string: %s", rec.Body)
		}
	})
}

// FuzzWebhookEndpoint sends arbitrary bodies to PUT /api/v1/webhook/endpoint (URL parsing, the SSRF
// policy, event types): no input may produce a 5xx, a panic, or an answer outside the envelope, and
// an accepted URL is one the policy allows.
func FuzzWebhookEndpoint(f *testing.F) {
	for _, s := range []string{
		`{"url":"https://93.184.216.34/hooks"}`,
		`{"url":"https://93.184.216.34:8443/h?x=1#f","events":["order.completed"]}`,
		`{"url":"http://[::ffff:127.0.0.1]/"}`, `{"url":"https://169.254.169.254/"}`, `{"url":"https://0x7f.1/"}`,
		`{"url":"https://user:pass@93.184.216.34/"}`, `{"url":"https://%31%32%37.0.0.1/"}`, `{"url":"https://example.com./"}`,
		`{"url":"https://93.184.216.34/","events":["order.completed","order.completed",""]}`, `{"url":null}`, `{}`, `[]`, ``,
	} {
		f.Add(s)
	}
	e := setup(f, "sqlite", "https://shop.example.com")
	srv := api.New(e.svc, api.Config{PublicURL: "http://localhost:8080", Version: "fuzz"})
	policy := webhook.NewPolicy(false)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPut, "/api/v1/webhook/endpoint", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.test.Key)
		req.Header.Set("x-api-secret", e.test.Secret)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("body %q: status %d: %s", body, rec.Code, rec.Body)
		}
		var env struct {
			Success bool
			Error   string
			Message string
			Data    struct{ URL string }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("body %q: answer is not JSON: %s", body, rec.Body)
		}
		if rec.Code >= 400 {
			if env.Success || env.Error == "" || env.Message == "" {
				t.Fatalf("body %q: error outside the envelope: %s", body, rec.Body)
			}
			return
		}
		if err := policy.CheckURL(context.Background(), env.Data.URL); err != nil {
			t.Fatalf("body %q: accepted %q, which the policy refuses: %v", body, env.Data.URL, err)
		}
	})
}
