package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
)

// TestAuthMatrix: every operation of the OpenAPI document (so an endpoint is covered the day it is
// added) × every way of failing authentication — no key, a malformed, unknown or revoked one, a
// wrong secret, a wrong X-Signature — answers 401 and writes nothing. (That the operations needing
// the secret refuse the key alone, with a valid body, is TestDocumentSecurityAndErrors.)
func TestAuthMatrix(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		e.svc.Chains = []string{"devnet"}
		ctx := context.Background()
		// A revoked key of the same project.
		pair, _, err := e.svc.NewCredential(ctx, e.project.Project.ID, gateway.Test)
		if err != nil {
			t.Fatal(err)
		}
		pr, _ := e.svc.Authenticate(ctx, pair.Key)
		if err := e.svc.RevokeCredential(ctx, pr.Credential.ID); err != nil {
			t.Fatal(err)
		}
		rows := func() string {
			t.Helper()
			db := e.store.DB()
			var out []string
			for _, table := range []string{"orders", "events", "payment_links", "deposit_bindings", "treasuries", "idempotency_keys"} {
				var n int
				if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil && err != sql.ErrNoRows {
					t.Fatalf("count %s: %v", table, err)
				}
				out = append(out, fmt.Sprintf("%s=%d", table, n))
			}
			return strings.Join(out, " ")
		}
		before := rows()
		body := `{"orderReference":"m1","amount":"1","currency":"USDT","chainId":"devnet","url":"https://hooks.example.com/x","protocol":"evm"}`
		wrongKeys := map[string][]string{
			"no key":          nil,
			"malformed key":   {"Authorization", "Bearer not-a-key"},
			"unknown key":     {"Authorization", "Bearer pk_test_" + strings.Repeat("a", 32)},
			"revoked key":     {"Authorization", "Bearer " + pair.Key},
			"wrong secret":    {"Authorization", "Bearer " + e.test.Key, "x-api-secret", "sk_test_" + strings.Repeat("b", 64)},
			"wrong signature": {"Authorization", "Bearer " + e.test.Key, "X-Signature", strings.Repeat("c", 64)},
		}
		ops := 0
		for path, item := range e.srv.API.OpenAPI().Paths {
			if !strings.HasPrefix(path, "/api/") {
				continue
			}
			concrete := strings.NewReplacer("{orderId}", "ord_x", "{id}", "pl_x", "{webhookEventId}", "evt_x", "{depositReference}", "u1",
				"{chainId}", "devnet").Replace(path)
			for method, op := range map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "PUT": item.Put, "PATCH": item.Patch, "DELETE": item.Delete} {
				if op == nil {
					continue
				}
				ops++
				b := ""
				if method != "GET" && method != "DELETE" {
					b = body
				}
				for name, headers := range wrongKeys {
					if name == "wrong signature" && b == "" {
						continue // a signature needs a body: tested in TestAuthentication
					}
					r := e.call(method, concrete, b, headers...)
					if r.status != 401 || r.str("error") != "Unauthorized" {
						t.Errorf("%s %s with %s: %d %s", method, path, name, r.status, r.raw)
					}
				}
			}
		}
		if ops < 30 {
			t.Fatalf("only %d operations in the document", ops)
		}
		if after := rows(); after != before {
			t.Errorf("refused requests wrote: before %s, after %s", before, after)
		}
	})
}

// An object of one project and mode is nobody else's: every operation on an object by id, asked
// with the other mode's key or another project's, answers 404 (a live key's simulation: 403, as
// for any order) and changes nothing.
func TestObjectsAreTheirOwnersOnly(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		e.svc.Chains = []string{"devnet"}
		other, err := e.svc.CreateProject(context.Background(), gateway.CreateProjectParams{Live: true, Name: "Other", Website: "https://other.example.com"})
		if err != nil {
			t.Fatal(err)
		}
		var otherTest gateway.KeyPair
		for _, k := range other.Keys {
			if k.Mode == gateway.Test {
				otherTest = k
			}
		}
		o := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"own-1","amount":"1","currency":"USDT","chainId":"devnet"}`).data()
		l := e.as(e.test, "POST", "/api/v1/payment-links", `{"title":"T","amount":"1","currencies":[{"currency":"USDT","chainId":"devnet"}]}`).data()
		if r := e.as(e.test, "POST", "/api/v1/deposits/bind", `{"depositReference":"user-1","protocol":"evm"}`); r.status != 201 {
			t.Fatalf("bind: %d %s", r.status, r.raw)
		}
		orderID, _ := o["orderId"].(string)
		linkID, _ := l["id"].(string)
		calls := []struct{ method, path, body string }{
			{"GET", "/api/v1/orders/" + orderID, ""},
			{"POST", "/api/v1/orders/" + orderID + "/simulate", `{"outcome":"completed"}`},
			{"GET", "/api/v1/payment-links/" + linkID, ""},
			{"POST", "/api/v1/payment-links/" + linkID + "/publish", ""},
			{"POST", "/api/v1/payment-links/" + linkID + "/archive", ""},
			{"GET", "/api/v1/deposits/references/user-1", ""},
			{"POST", "/api/v1/deposits/unbind", `{"depositReference":"user-1"}`},
		}
		for _, who := range []struct {
			name string
			key  gateway.KeyPair
		}{{"the live key", e.live}, {"another project's key", otherTest}} {
			for _, c := range calls {
				want := "NotFound"
				if who.key == e.live && strings.HasSuffix(c.path, "/simulate") {
					want = "Forbidden" // live credentials never simulate, whatever the order (orders.md)
				}
				if r := e.as(who.key, c.method, c.path, c.body); r.str("error") != want {
					t.Errorf("%s %s with %s: %d %s", c.method, c.path, who.name, r.status, r.raw)
				}
			}
		}
		if r := e.as(e.test, "GET", "/api/v1/orders/"+orderID, ""); r.data()["status"] != "pending" {
			t.Errorf("the order changed: %s", r.raw)
		}
		if r := e.as(e.test, "GET", "/api/v1/payment-links/"+linkID, ""); r.data()["status"] != "draft" {
			t.Errorf("the link changed: %s", r.raw)
		}
		if r := e.as(e.test, "GET", "/api/v1/deposits/references/user-1", ""); r.data()["bound"] != true {
			t.Errorf("the binding changed: %s", r.raw)
		}
	})
}
