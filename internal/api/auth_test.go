package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		body := `{"orderReference":"a1","amount":"1","currency":"USDT","chainId":"devnet"}`
		k, sk := e.test.Key, e.test.Secret
		tests := []struct {
			name    string
			headers []string
			status  int
			message string
		}{
			{"bearer", []string{"Authorization", "Bearer " + k}, 200, ""},
			{"3pay apikey", []string{"apikey", k}, 200, ""},
			{"crypto pay X-API-Key", []string{"X-API-Key", k}, 200, ""},
			{"right x-api-secret", []string{"apikey", k, "x-api-secret", sk}, 200, ""},
			{"wrong x-api-secret", []string{"apikey", k, "x-api-secret", sk + "x"}, 401, "Invalid API secret"},
			{"live secret with test key", []string{"apikey", k, "x-api-secret", e.live.Secret}, 401, "Invalid API secret"},
			{"right X-Signature", []string{"X-API-Key", k, "X-Signature", sign(sk, body)}, 200, ""},
			{"X-Signature of another body", []string{"X-API-Key", k, "X-Signature", sign(sk, body+" ")}, 401, "Invalid signature"},
			{"X-Signature with a wrong secret", []string{"X-API-Key", k, "X-Signature", sign("sk_test_nope", body)}, 401, "Invalid signature"},
			{"missing key", nil, 401, "Missing API key: send Authorization: Bearer pk_…, apikey or X-API-Key"},
			{"unknown key", []string{"Authorization", "Bearer pk_test_unknown"}, 401, "Invalid API key"},
			{"secret as key", []string{"Authorization", "Bearer " + sk}, 401, "Invalid API key"},
			{"garbage", []string{"Authorization", "Basic Zm9vOmJhcg=="}, 401, "Invalid API key"},
		}
		for _, tt := range tests {
			r := e.call("POST", "/api/v1/orders", body, tt.headers...)
			if tt.status == 200 && (r.status == 201 || r.status == 200) {
				continue
			}
			if r.status != tt.status || r.str("error") != "Unauthorized" || r.str("message") != tt.message || r.str("requestId") == "" {
				t.Errorf("%s: %d %s", tt.name, r.status, r.raw)
			}
		}
		// An X-Signature over no body proves nothing: it would be one token for every body-less call
		// (captured from a signed GET, it would rotate the webhook secret).
		empty := sign(sk, "")
		for _, c := range []struct{ method, path string }{{"GET", "/api/v1/webhook/secret"}, {"POST", "/api/v1/webhook/secret/rotate"},
			{"DELETE", "/api/v1/webhook/endpoint"}} {
			if r := e.call(c.method, c.path, "", "X-API-Key", k, "X-Signature", empty); r.status != 401 || r.str("param") != "X-Signature" {
				t.Errorf("%s %s signed over an empty body: %d %s", c.method, c.path, r.status, r.raw)
			}
		}
		// A copy of the database alone proves nothing: the SHA-256 of the secret (which signs as the
		// secret does) is stored sealed with the master key, and the stored value signs nothing.
		var stored []byte
		if err := e.store.DB().QueryRow(`SELECT secret_hash FROM api_keys WHERE mode = 'test'`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		plain := sha256.Sum256([]byte(sk))
		if bytes.Equal(stored, plain[:]) || bytes.Contains(stored, plain[:]) {
			t.Fatalf("the secret's hash is stored in clear")
		}
		m := hmac.New(sha256.New, stored)
		m.Write([]byte(body))
		if r := e.call("POST", "/api/v1/orders", body, "X-API-Key", k, "X-Signature", hex.EncodeToString(m.Sum(nil))); r.status != 401 {
			t.Errorf("a signature keyed with the stored value: %d %s", r.status, r.raw)
		}
		// A revoked key stops working at once.
		pr, _ := e.svc.Authenticate(context.Background(), k)
		if err := e.svc.RevokeCredential(context.Background(), pr.Credential.ID); err != nil {
			t.Fatal(err)
		}
		if r := e.call("GET", "/api/v1/orders", "", "apikey", k); r.status != 401 || r.str("message") != "API key has been revoked" {
			t.Errorf("revoked key = %d %s", r.status, r.raw)
		}
		// The live key still works.
		if r := e.call("GET", "/api/v1/orders", "", "apikey", e.live.Key); r.status != 200 {
			t.Errorf("live key after revoking the test key = %d", r.status)
		}
	})
}
