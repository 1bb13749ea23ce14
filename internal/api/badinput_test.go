package api_test

import (
	"strings"
	"testing"

	"github.com/stablegate/stablegate/internal/gateway"
)

func TestBadOrderInput(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		ok := `"orderReference":"b1","currency":"USDT","chainId":"devnet"`
		tests := []struct {
			name, body   string
			status       int
			errType      string
			param        string
			messagePart  string
			useLiveKey   bool
			extraHeaders []string
		}{
			{"malformed JSON", `{"orderReference":"b1",`, 400, "ValidationError", "body", "", false, nil},
			{"not an object", `[1,2]`, 400, "ValidationError", "body", "", false, nil},
			{"empty body", ``, 400, "ValidationError", "", "", false, nil},
			{"missing fields", `{"orderReference":"b1"}`, 400, "ValidationError", "amount", "Required fields: amount, chainId, currency", false, nil},
			{"amount as number", `{` + ok + `,"amount":10}`, 400, "ValidationError", "amount", "amount expected string", false, nil},
			{"reference as number", `{"orderReference":1,"amount":"1","currency":"USDT","chainId":"devnet"}`, 400, "ValidationError", "orderReference", "", false, nil},
			{"unknown field", `{` + ok + `,"amount":"1","amonut":"2"}`, 400, "ValidationError", "amonut", "amonut is not a known field", false, nil},
			{"wrong case field", `{"OrderReference":"b1","amount":"1","currency":"USDT","chainId":"devnet"}`, 400, "ValidationError", "", "", false, nil},
			{"negative amount", `{` + ok + `,"amount":"-1"}`, 400, "ValidationError", "amount", "amount", false, nil},
			{"zero amount", `{` + ok + `,"amount":"0"}`, 400, "ValidationError", "amount", "greater than zero", false, nil},
			{"zero with decimals", `{` + ok + `,"amount":"0.000000"}`, 400, "ValidationError", "amount", "greater than zero", false, nil},
			{"NaN amount", `{` + ok + `,"amount":"NaN"}`, 400, "ValidationError", "amount", "", false, nil},
			{"Infinity amount", `{` + ok + `,"amount":"Infinity"}`, 400, "ValidationError", "amount", "", false, nil},
			{"exponent amount", `{` + ok + `,"amount":"1e3"}`, 400, "ValidationError", "amount", "", false, nil},
			{"hex amount", `{` + ok + `,"amount":"0x10"}`, 400, "ValidationError", "amount", "", false, nil},
			{"too many decimals", `{` + ok + `,"amount":"1.0000001"}`, 400, "ValidationError", "amount", "more than 6 decimal places", false, nil},
			{"empty amount", `{` + ok + `,"amount":""}`, 400, "ValidationError", "amount", "Required fields: amount", false, nil},
			{"huge amount", `{` + ok + `,"amount":"` + strings.Repeat("9", 99) + `"}`, 400, "ValidationError", "amount", "", false, nil},
			{"unknown currency", `{"orderReference":"b1","amount":"1","currency":"BTC","chainId":"devnet"}`, 400, "ValidationError", "currency", "not available on devnet", false, nil},
			{"unknown chain", `{"orderReference":"b1","amount":"1","currency":"USDT","chainId":"solana"}`, 400, "ValidationError", "chainId", `chainId "solana" is not supported`, false, nil},
			{"currency not on chain", `{"orderReference":"b1","amount":"1","currency":"DAI","chainId":"polygon-amoy"}`, 400, "ValidationError", "currency", "available: USDC", false, nil},
			{"mainnet with test key", `{"orderReference":"b1","amount":"1","currency":"USDT","chainId":"ethereum"}`, 400, "ValidationError", "chainId", "not available in test mode", false, nil},
			{"testnet with live key", `{"orderReference":"b1","amount":"1","currency":"USDT","chainId":"ethereum-sepolia"}`, 400, "ValidationError", "chainId", "not available in live mode", true, nil},
			{"relative successUrl", `{` + ok + `,"amount":"1","successUrl":"/done"}`, 400, "ValidationError", "successUrl", "absolute", false, nil},
			{"javascript successUrl", `{` + ok + `,"amount":"1","successUrl":"javascript:alert(1)"}`, 400, "ValidationError", "successUrl", "", false, nil},
			{"off-domain successUrl", `{` + ok + `,"amount":"1","successUrl":"https://evil.example.net/x"}`, 400, "ValidationError", "successUrl", "does not match", false, nil},
			{"look-alike domain", `{` + ok + `,"amount":"1","cancelUrl":"https://shop.example.com.evil.net/x"}`, 400, "ValidationError", "cancelUrl", "does not match", false, nil},
			{"http successUrl in live mode", `{"orderReference":"b1","amount":"1","currency":"USDT","chainId":"ethereum","successUrl":"http://shop.example.com/x"}`, 400, "ValidationError", "successUrl", "https", true, nil},
			{"300-character reference", `{"orderReference":"` + strings.Repeat("r", 300) + `","amount":"1","currency":"USDT","chainId":"devnet"}`, 400, "ValidationError", "orderReference", "", false, nil},
			{"control character in reference", `{"orderReference":"a\u0000b","amount":"1","currency":"USDT","chainId":"devnet"}`, 400, "ValidationError", "orderReference", "", false, nil},
			{"window too long", `{` + ok + `,"amount":"1","paymentWindowMinutes":100000}`, 400, "ValidationError", "paymentWindowMinutes", "", false, nil},
			{"window zero", `{` + ok + `,"amount":"1","paymentWindowMinutes":0}`, 400, "ValidationError", "paymentWindowMinutes", "", false, nil},
			{"negative grace", `{` + ok + `,"amount":"1","graceMinutes":-1}`, 400, "ValidationError", "graceMinutes", "", false, nil},
			{"fractional window", `{` + ok + `,"amount":"1","paymentWindowMinutes":1.5}`, 400, "ValidationError", "paymentWindowMinutes", "", false, nil},
			{"metadata not an object", `{` + ok + `,"amount":"1","metadata":"x"}`, 400, "ValidationError", "metadata", "", false, nil},
			{"metadata too large", `{` + ok + `,"amount":"1","metadata":{"x":"` + strings.Repeat("m", 20000) + `"}}`, 400, "ValidationError", "metadata", "", false, nil},
			{"huge body", `{` + ok + `,"amount":"1","metadata":{"x":"` + strings.Repeat("m", 1<<20) + `"}}`, 413, "PayloadTooLarge", "", "1 MiB", false, nil},
			{"long Idempotency-Key", `{` + ok + `,"amount":"1"}`, 400, "ValidationError", "Idempotency-Key", "", false, []string{"Idempotency-Key", strings.Repeat("k", 300)}},
			{"Idempotency-Key not UTF-8", `{` + ok + `,"amount":"1"}`, 400, "ValidationError", "Idempotency-Key", "UTF-8", false, []string{"Idempotency-Key", "k\xff"}},
			// "r\ud800" and "r\udbff" would both decode to "r\uFFFD": one order for two references.
			{"lone high surrogate", `{"orderReference":"r\ud800","amount":"1","currency":"USDT","chainId":"devnet"}`, 400, "ValidationError", "orderReference", "surrogate", false, nil},
			{"lone low surrogate", `{"orderReference":"r\udc00","amount":"1","currency":"USDT","chainId":"devnet"}`, 400, "ValidationError", "orderReference", "surrogate", false, nil},
			{"surrogate in metadata", `{` + ok + `,"amount":"1","metadata":{"a":["x","\udbff"]}}`, 400, "ValidationError", "metadata.a[1]", "surrogate", false, nil},
			{"invalid UTF-8", "{\"orderReference\":\"r\xff\",\"amount\":\"1\",\"currency\":\"USDT\",\"chainId\":\"devnet\"}", 400, "ValidationError", "orderReference", "UTF-8", false, nil},
			{"duplicate amount", `{` + ok + `,"amount":"1","amount":"1000"}`, 400, "ValidationError", "amount", "more than once", false, nil},
			{"duplicate in metadata", `{` + ok + `,"amount":"1","metadata":{"k":1,"k":2}}`, 400, "ValidationError", "metadata.k", "more than once", false, nil},
			{"NUL in currency", `{"orderReference":"b1","amount":"1","currency":"USDT\u0000","chainId":"devnet"}`, 400, "ValidationError", "currency", "NUL", false, nil},
			{"129-character reference", `{"orderReference":"` + strings.Repeat("é", 129) + `","amount":"1","currency":"USDT","chainId":"devnet"}`, 400, "ValidationError", "orderReference", "", false, nil},
		}
		for _, tt := range tests {
			key := e.test
			if tt.useLiveKey {
				key = e.live
			}
			r := e.as(key, "POST", "/api/v1/orders", tt.body, tt.extraHeaders...)
			if r.status != tt.status || r.body["success"] != false || r.str("error") != tt.errType ||
				(tt.param != "" && r.str("param") != tt.param) || !strings.Contains(r.str("message"), tt.messagePart) || r.str("requestId") == "" {
				t.Errorf("%s: %d %.300s", tt.name, r.status, r.raw)
			}
		}
		if n := e.orderCount(gateway.Test) + e.orderCount(gateway.Live); n != 0 {
			t.Errorf("bad input wrote %d orders", n)
		}
	})
}

func TestBadListInput(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite", "https://shop.example.com")
	tests := []struct{ query, param string }{
		{"page=0", "page"}, {"page=-1", "page"}, {"page=abc", "page"}, {"limit=0", "limit"},
		{"limit=1e3", "limit"}, {"status=paid", "status"}, {"page=99999999999999999999", "page"},
	}
	for _, tt := range tests {
		r := e.as(e.test, "GET", "/api/v1/orders?"+tt.query, "")
		if r.status != 400 || r.str("error") != "ValidationError" || r.str("param") != tt.param {
			t.Errorf("?%s: %d %s", tt.query, r.status, r.raw)
		}
	}
	// A limit above 100 is capped, as 3PAY's "Pagination capped at 100": 100 items, no error.
	for _, p := range []string{"/api/v1/orders", "/api/v1/payment-links", "/api/v1/deposits", "/api/v1/webhook/events"} {
		r := e.as(e.test, "GET", p+"?limit=500", "")
		if pg, _ := r.data()["pagination"].(map[string]any); r.status != 200 || pg["limit"] != 100.0 {
			t.Errorf("%s?limit=500: %d %s", p, r.status, r.raw)
		}
	}
	// NUL and invalid UTF-8 in a query parameter are refused before any query (PostgreSQL would fail).
	for _, q := range []string{"orderReference=%00", "orderReference=%ff", "currency=US%00DT", "chainId=%c3"} {
		name, _, _ := strings.Cut(q, "=")
		if r := e.as(e.test, "GET", "/api/v1/orders?"+q, ""); r.status != 400 || r.str("error") != "ValidationError" || r.str("param") != name {
			t.Errorf("?%s: %d %s", q, r.status, r.raw)
		}
	}
	if r := e.as(e.test, "DELETE", "/api/v1/orders", ""); r.status != 405 || r.str("error") != "MethodNotAllowed" || r.header.Get("Allow") != "GET, POST" {
		t.Errorf("DELETE /orders = %d %s", r.status, r.raw)
	}
	if r := e.as(e.test, "GET", "/api/v1/nothing", ""); r.status != 404 || r.str("error") != "NotFound" {
		t.Errorf("unknown path = %d %s", r.status, r.raw)
	}
	// An empty id in the path is a 404 in the envelope, not a redirect to another endpoint.
	for _, p := range []string{"/api/v1/orders//simulate", "/api/v1/orders/./x", "/api/v1//orders"} {
		if r := e.as(e.test, "POST", p, `{"outcome":"completed"}`); r.status != 404 || r.str("error") != "NotFound" || r.header.Get("Location") != "" {
			t.Errorf("POST %s = %d %s", p, r.status, r.raw)
		}
	}
}

// What no field may hold — NUL, invalid UTF-8 — is refused before any query on both engines
// (PostgreSQL cannot store it, and answered 500), in paths, queries and bodies alike.
func TestTextNoFieldHolds(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		for _, c := range []struct{ method, path, body, param string }{
			{"GET", "/api/v1/orders/ord_x%00", "", ""},
			{"GET", "/api/v1/orders/ord_%ff", "", ""},
			{"GET", "/api/v1/deposits/references/%00", "", ""},
			{"GET", "/api/v1/payment-links/%c3%28", "", ""},
			{"POST", "/api/v1/orders/ord_%00/simulate", `{"outcome":"completed"}`, ""},
			{"GET", "/api/v1/orders?orderReference=%00", "", "orderReference"},
			{"GET", "/api/v1/deposits?depositReference=%ff", "", "depositReference"},
			{"POST", "/api/v1/deposits/unbind", `{"depositReference":"a\u0000"}`, "depositReference"},
			{"POST", "/api/v1/deposits/bind", `{"depositReference":"u\ud800","protocol":"evm"}`, "depositReference"},
			{"POST", "/api/v1/payment-links", `{"title":"T\u0000","amount":"1","currencies":[{"currency":"USDT","chainId":"devnet"}]}`, "title"},
			{"POST", "/api/v1/payment-links", `{"title":"T","amount":"1","currencies":[{"currency":"USDT","chainId":"devnet","chainId":"ethereum"}]}`, "currencies[0].chainId"},
		} {
			r := e.as(e.test, c.method, c.path, c.body, "x-api-secret", e.test.Secret)
			want, typ := 404, "NotFound"
			if c.param != "" {
				want, typ = 400, "ValidationError"
			}
			if r.status != want || r.str("error") != typ || r.str("param") != c.param {
				t.Errorf("%s %s %s: %d %s", c.method, c.path, c.body, r.status, r.raw)
			}
		}
		// 128 characters is the limit, not 128 bytes.
		ref := strings.Repeat("é", 128)
		if r := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"`+ref+`","amount":"1","currency":"USDT","chainId":"devnet"}`); r.status != 201 {
			t.Errorf("a 128-character reference: %d %s", r.status, r.raw)
		}
	})
}
