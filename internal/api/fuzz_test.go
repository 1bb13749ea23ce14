package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

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

// fuzzEngine is the database the fuzz targets run on: SQLite, or PostgreSQL when
// STABLEGATE_FUZZ_ENGINE=postgres (CI runs a short pass of FuzzAPI on each).
func fuzzEngine() string {
	if os.Getenv("STABLEGATE_FUZZ_ENGINE") == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// FuzzAPI sends arbitrary path parameters, query strings and bodies to every operation of the
// OpenAPI document (so a new endpoint is fuzzed as soon as it is registered), with the key and the
// secret of either mode: no input may produce a 5xx, a panic, or an answer outside the envelope.
func FuzzAPI(f *testing.F) {
	e := setup(f, fuzzEngine(), "https://shop.example.com")
	srv := api.New(e.svc, api.Config{PublicURL: "http://localhost:8080", Version: "fuzz"})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/docs/openapi.json", nil))
	var doc struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		f.Fatal(err)
	}
	type route struct{ method, path string }
	var routes []route
	for path, ops := range doc.Paths {
		if !strings.HasPrefix(path, "/api/") {
			continue
		}
		for m := range ops {
			routes = append(routes, route{strings.ToUpper(m), path})
		}
	}
	slices.SortFunc(routes, func(a, b route) int { return strings.Compare(a.method+a.path, b.method+b.path) })
	if len(routes) < 20 {
		f.Fatalf("only %d API operations in the OpenAPI document", len(routes))
	}
	// A real order, link and event to aim at, and a spread of seeds over the routes.
	created := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"fz","amount":"1","currency":"USDT","chainId":"devnet"}`)
	orderID, _ := created.data()["orderId"].(string)
	for i := range routes {
		f.Add(uint8(i), orderID, "", `{}`)
		f.Add(uint8(i)|0x80, orderID, "", `{}`)
	}
	for _, s := range []struct{ param, query, body string }{
		{"ord_x", "page=2&limit=5", `{"outcome":"completed","amount":"1"}`},
		{"", "status=pending&chainId=devnet", `{"depositReference":"u1","protocol":"evm","metadata":{"a":1}}`},
		{"%00", "page=-1&limit=1e9", `{"title":"T","amount":"0","accepted":[{"currency":"USDT","chainId":"devnet"}]}`},
		{"../..", "limit=&page=x&status[]=1", `{"protocol":"tron","addresses":["T","0x0"]}`},
		{"pl_" + strings.Repeat("a", 300), "", `{"underpaymentTolerance":"10.00001"}`},
		{"evt_1", "", `[]`}, {"x", "", `null`}, {"x", "", `{"url":"https://93.184.216.34/"}`},
	} {
		f.Add(uint8(0), s.param, s.query, s.body)
		f.Add(uint8(7), s.param, s.query, s.body)
		f.Add(uint8(13), s.param, s.query, s.body)
	}
	f.Fuzz(func(t *testing.T, which uint8, param, query, body string) {
		r := routes[int(which&0x7f)%len(routes)]
		path := r.path
		for strings.Contains(path, "{") {
			i, j := strings.Index(path, "{"), strings.Index(path, "}")
			path = path[:i] + url.PathEscape(param) + path[j+1:]
		}
		target := path
		if query != "" {
			target += "?" + query
		}
		req, err := http.NewRequest(r.method, "http://localhost"+target, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		key := e.test
		if which&0x80 != 0 { // the other half of the inputs act in live mode
			key = e.live
		}
		req.Header.Set("Authorization", "Bearer "+key.Key)
		req.Header.Set("x-api-secret", key.Secret)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		start := time.Now()
		srv.ServeHTTP(rec, req)
		if d := time.Since(start); d > 10*time.Second { // a pathological input, not a measurement
			t.Fatalf("%s %s %q: slow answer (%v)", r.method, target, body, d)
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", r.method, target, body, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusNoContent {
			return
		}
		var env map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("%s %s %q: answer is not JSON: %s", r.method, target, body, rec.Body)
		}
		if rec.Code >= 400 && (env["success"] != false || env["error"] == "" || env["message"] == "") {
			t.Fatalf("%s %s %q: error outside the envelope: %s", r.method, target, body, rec.Body)
		}
		if rec.Code < 400 && env["success"] != true {
			t.Fatalf("%s %s %q: success outside the envelope: %s", r.method, target, body, rec.Body)
		}
		// And every answer is one the OpenAPI document describes.
		req.Body = io.NopCloser(strings.NewReader(body))
		checkAnswer(t, srv, req, rec.Code, rec.Header(), rec.Body.Bytes())
	})
}

// FuzzCryptoPayCreate sends signed bodies to Crypto Pay's create-payment.php: no body may cause a
// 5xx or an answer outside Crypto Pay's envelope, and a created payment is complete.
func FuzzCryptoPayCreate(f *testing.F) {
	for _, s := range []string{
		`{"order_id":"ORDER_12345","amount":"50.00","description":"Service payment","success_url":"https://merchant-site.com/success","fail_url":"https://merchant-site.com/fail"}`,
		`{"order_id":1,"amount":50}`, `{"order_id":"a","amount":"1e3"}`, `{"order_id":"a","amount":-1}`, `{"order_id":null,"amount":null}`,
		`{"order_id":"a","amount":"0.0000001"}`, `{"order_id":"a","amount":"1","success_url":"javascript:alert(1)"}`,
		`[]`, `null`, `{`, `"x"`, ``, `{"order_id":"\u0000","amount":"1"}`,
	} {
		f.Add(s)
	}
	e := setup(f, "sqlite", "https://merchant-site.com")
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/api/create-payment.php", strings.NewReader(body))
		req.Header.Set("X-API-Key", e.test.Key)
		req.Header.Set("X-Signature", sign(e.test.Secret, body))
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("body %q: status %d: %s", body, rec.Code, rec.Body)
		}
		var answer struct {
			OK      *bool          `json:"ok"`
			Error   string         `json:"error"`
			Payment map[string]any `json:"payment"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || answer.OK == nil {
			t.Fatalf("body %q: answer outside the envelope: %s", body, rec.Body)
		}
		if !*answer.OK {
			if rec.Code < 400 || answer.Error == "" {
				t.Fatalf("body %q: a refusal without a status or an error: %d %s", body, rec.Code, rec.Body)
			}
			return
		}
		if rec.Code != 200 || answer.Payment["payment_id"] == nil || answer.Payment["address"] == "" || answer.Payment["pay_amount"] == "" {
			t.Fatalf("body %q: ok without a payment: %s", body, rec.Body)
		}
	})
}
