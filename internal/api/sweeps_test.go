package api_test

import (
	"strings"
	"testing"

	"github.com/stablegate/stablegate/internal/evm"
)

// POST /api/v1/sweeps refuses what it must, in the envelope, and sends nothing: no secret, a
// watch-only project, a test key naming a live chain, TRON, an unknown currency, a bad address.
// A dry run with nothing paid plans nothing and says what the hot wallet holds.
func TestSweepsAPIRefusals(t *testing.T) {
	t.Parallel()
	_, client := devnetNode(t)
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		e.svc.Chains = []string{"devnet", "ethereum", "tron-nile"}
		e.svc.Nodes, e.svc.Encoder = evm.Nodes{"devnet": client}, evm.Encoder{}
		secret := []string{"x-api-secret", e.test.Secret}
		if r := e.as(e.test, "POST", "/api/v1/sweeps", `{"chainId":"devnet"}`, secret...); r.status != 409 || r.str("error") != "WatchOnlyProject" {
			t.Errorf("a watch-only project's sweep: %d %s", r.status, r.raw)
		}
		_, key := seededProject(t, e, engine)
		secret = []string{"x-api-secret", key.Secret}
		for _, c := range []struct {
			name, body, code, param string
			status                  int
		}{
			{"no secret", `{"chainId":"devnet"}`, "Unauthorized", "x-api-secret", 401},
			{"a live chain with a test key", `{"chainId":"ethereum"}`, "ValidationError", "chainId", 400},
			{"TRON", `{"chainId":"tron-nile"}`, "ValidationError", "chainId", 400},
			{"an unknown chain", `{"chainId":"solana"}`, "ValidationError", "chainId", 400},
			{"an unknown currency", `{"chainId":"devnet","currency":"EUR"}`, "ValidationError", "currency", 400},
			{"a bad address", `{"chainId":"devnet","addresses":["0xnope"]}`, "ValidationError", "addresses[0]", 400},
			{"a NUL byte", `{"chainId":"dev\u0000net"}`, "ValidationError", "chainId", 400},
			{"a wrong checksum", `{"chainId":"devnet","addresses":["0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed"]}`, "ValidationError", "addresses[0]", 400},
		} {
			headers := secret
			if c.name == "no secret" {
				headers = nil
			}
			r := e.as(key, "POST", "/api/v1/sweeps", c.body, headers...)
			if r.status != c.status || r.str("error") != c.code || r.str("param") != c.param {
				t.Errorf("%s: %d %s", c.name, r.status, r.raw)
			}
		}
		big := `{"chainId":"devnet","addresses":["` + strings.Repeat("0", 2<<20) + `"]}`
		if r := e.as(key, "POST", "/api/v1/sweeps", big, secret...); r.status != 413 {
			t.Errorf("a 2 MB body: %d %.200s", r.status, r.raw)
		}
		r := e.as(key, "POST", "/api/v1/sweeps", `{"chainId":"devnet","dryRun":true}`, secret...)
		d := r.data()
		if r.status != 200 || d["dryRun"] != true || len(d["sweeps"].([]any)) != 0 {
			t.Fatalf("a dry run with nothing paid: %d %s", r.status, r.raw)
		}
		est := d["estimate"].(map[string]any)
		if est["hotWalletBalance"].(map[string]any)["symbol"] != "ETH" {
			t.Fatalf("the estimate: %v", est)
		}
		if r := e.as(key, "GET", "/api/v1/sweeps", ""); r.status != 200 || len(r.data()["sweeps"].([]any)) != 0 {
			t.Fatalf("sweeps: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "GET", "/api/v1/outgoing-transactions", ""); r.status != 200 || len(r.data()["transactions"].([]any)) != 0 {
			t.Fatalf("outgoing transactions: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "GET", "/api/v1/sweeps/swp_nope", ""); r.status != 404 {
			t.Fatalf("an unknown sweep: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "GET", "/api/v1/outgoing-transactions?status=lost", ""); r.status != 400 || r.str("param") != "status" {
			t.Fatalf("a bad status filter: %d %s", r.status, r.raw)
		}
	})
}
