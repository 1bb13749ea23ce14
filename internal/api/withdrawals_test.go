package api_test

import (
	"strings"
	"testing"
)

// The withdrawals API as a merchant and as an attacker meet it, on both engines: a balance made
// by a simulated payment; what needs the secret refuses without it and changes nothing; the same
// reference and the same Idempotency-Key return the first withdrawal; approving twice is 409; a
// live key and another project's key never see the withdrawal; every bad input is a 4xx that
// names its field and holds nothing.
func TestWithdrawalsAPI(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		cp, key := seededProject(t, e, engine)
		secret := []string{"x-api-secret", key.Secret}
		r := e.as(key, "POST", "/api/v1/orders", `{"orderReference":"o1","amount":"100","currency":"USDT","chainId":"devnet"}`)
		if r.status != 201 {
			t.Fatalf("order: %d %s", r.status, r.raw)
		}
		if r = e.as(key, "POST", "/api/v1/orders/"+r.data()["orderId"].(string)+"/simulate", `{"outcome":"completed"}`); r.status != 200 {
			t.Fatalf("simulate: %d %s", r.status, r.raw)
		}
		balance := func() (string, string) {
			t.Helper()
			r := e.as(key, "GET", "/api/v1/balances", "")
			for _, b := range r.data()["balances"].([]any) {
				b := b.(map[string]any)
				if b["chainId"] == "devnet" && b["currency"] == "USDT" {
					return b["available"].(string), b["held"].(string)
				}
			}
			t.Fatalf("no devnet balance: %s", r.raw)
			return "", ""
		}
		wantBalance := func(available, held string) {
			t.Helper()
			if a, h := balance(); a != available || h != held {
				t.Fatalf("balance: available %s held %s, want %s and %s", a, h, available, held)
			}
		}
		wantBalance("100", "0")
		to := "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
		body := `{"reference":"payout-1","amount":"25.5","currency":"USDT","chainId":"devnet","address":"` + to + `","metadata":{"k":1}}`

		if r := e.as(key, "POST", "/api/v1/withdrawals", body); r.status != 401 || r.str("param") != "x-api-secret" {
			t.Fatalf("without the secret: %d %s", r.status, r.raw)
		}
		wantBalance("100", "0")
		r = e.as(key, "POST", "/api/v1/withdrawals", body, append(secret, "Idempotency-Key", "k-1")...)
		if r.status != 201 || r.dstr("status") != "pending_approval" || r.dstr("amount") != "25.5" || r.dstr("address") != to {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		id := r.dstr("withdrawalId")
		wantBalance("74.5", "25.5")
		if r := e.as(key, "POST", "/api/v1/withdrawals", body, append(secret, "Idempotency-Key", "k-1")...); r.status != 201 || r.dstr("withdrawalId") != id ||
			r.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("the same Idempotency-Key: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "POST", "/api/v1/withdrawals", body, secret...); r.status != 200 || r.dstr("withdrawalId") != id {
			t.Fatalf("the same reference: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "POST", "/api/v1/withdrawals", strings.Replace(body, "25.5", "25.6", 1), secret...); r.status != 409 || r.str("param") != "reference" {
			t.Fatalf("the reference with another amount: %d %s", r.status, r.raw)
		}
		wantBalance("74.5", "25.5")

		// Approving needs the secret: without it nothing changes.
		if r := e.as(key, "POST", "/api/v1/withdrawals/"+id+"/approve", ""); r.status != 401 {
			t.Fatalf("approve without the secret: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "POST", "/api/v1/withdrawals/"+id+"/approve", "", "x-api-secret", "sk_test_wrong"); r.status != 401 {
			t.Fatalf("approve with a wrong secret: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "GET", "/api/v1/withdrawals/"+id, ""); r.dstr("status") != "pending_approval" {
			t.Fatalf("after refused approvals: %s", r.raw)
		}
		// A watch-only project has no hot wallet to pay from.
		if r := e.as(e.test, "POST", "/api/v1/withdrawals", body, "x-api-secret", e.test.Secret); r.status != 409 || r.str("error") != "WatchOnlyProject" {
			t.Fatalf("a watch-only project: %d %s", r.status, r.raw)
		}
		// Another project's key and the live key of this one find nothing.
		if r := e.as(e.test, "GET", "/api/v1/withdrawals/"+id, ""); r.status != 404 {
			t.Fatalf("another project: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "POST", "/api/v1/withdrawals/"+id+"/approve", "", "x-api-secret", e.test.Secret); r.status != 404 {
			t.Fatalf("another project's approval: %d %s", r.status, r.raw)
		}
		for _, k := range cp.Keys {
			if k.Mode.Live() {
				if r := e.as(k, "POST", "/api/v1/withdrawals/"+id+"/approve", "", "x-api-secret", k.Secret); r.status != 404 {
					t.Fatalf("the live key's approval: %d %s", r.status, r.raw)
				}
				if r := e.as(k, "GET", "/api/v1/withdrawals", ""); r.status != 200 || len(r.data()["withdrawals"].([]any)) != 0 {
					t.Fatalf("the live key's list: %d %s", r.status, r.raw)
				}
			}
		}
		// Approved with X-Signature over a body; approving again is 409.
		if r := e.as(key, "POST", "/api/v1/withdrawals/"+id+"/approve", "{}", "X-Signature", sign(key.Secret, "{}")); r.status != 200 || r.dstr("status") != "approved" {
			t.Fatalf("approve: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "POST", "/api/v1/withdrawals/"+id+"/approve", "", secret...); r.status != 409 || r.str("error") != "Conflict" {
			t.Fatalf("approve twice: %d %s", r.status, r.raw)
		}
		r = e.as(key, "GET", "/api/v1/withdrawals/"+id, "")
		if r.status != 200 || r.dstr("status") != "approved" || len(r.data()["history"].([]any)) != 2 || len(r.data()["approvals"].([]any)) != 1 {
			t.Fatalf("get: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "GET", "/api/v1/withdrawals?status=approved&chainId=devnet", ""); len(r.data()["withdrawals"].([]any)) != 1 {
			t.Fatalf("list approved: %s", r.raw)
		}
		if r := e.as(key, "GET", "/api/v1/withdrawals?status=completed", ""); len(r.data()["withdrawals"].([]any)) != 0 {
			t.Fatalf("list completed: %s", r.raw)
		}
		// Rejected before it is sent: released.
		if r := e.as(key, "POST", "/api/v1/withdrawals/"+id+"/reject", `{"reason":"fraud check"}`, secret...); r.status != 200 || r.dstr("status") != "rejected" ||
			r.dstr("reason") != "fraud check" {
			t.Fatalf("reject: %d %s", r.status, r.raw)
		}
		wantBalance("100", "0")

		for _, c := range []struct {
			name, body, code, param string
			status                  int
		}{
			{"no fields", `{}`, "ValidationError", "address", 400},
			{"a zero amount", `{"reference":"b1","amount":"0","currency":"USDT","chainId":"devnet","address":"` + to + `"}`, "ValidationError", "amount", 400},
			{"a negative amount", `{"reference":"b1","amount":"-1","currency":"USDT","chainId":"devnet","address":"` + to + `"}`, "ValidationError", "amount", 400},
			{"too precise", `{"reference":"b1","amount":"1.0000001","currency":"USDT","chainId":"devnet","address":"` + to + `"}`, "ValidationError", "amount", 400},
			{"over the balance", `{"reference":"b1","amount":"100.01","currency":"USDT","chainId":"devnet","address":"` + to + `"}`, "InsufficientFunds", "amount", 409},
			{"a live chain", `{"reference":"b1","amount":"1","currency":"USDT","chainId":"ethereum","address":"` + to + `"}`, "ValidationError", "chainId", 400},
			{"TRON", `{"reference":"b1","amount":"1","currency":"USDT","chainId":"tron-nile","address":"TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7"}`, "ValidationError", "chainId", 400},
			{"a TRON address", `{"reference":"b1","amount":"1","currency":"USDT","chainId":"devnet","address":"TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7"}`, "NetworkMismatch", "address", 400},
			{"a bad checksum", `{"reference":"b1","amount":"1","currency":"USDT","chainId":"devnet","address":"0x70997970c51812dc3A010C7d01b50e0d17dc79C8"}`, "ValidationError", "address", 400},
			{"the zero address", `{"reference":"b1","amount":"1","currency":"USDT","chainId":"devnet","address":"0x0000000000000000000000000000000000000000"}`, "ValidationError", "address", 400},
			{"another currency", `{"reference":"b1","amount":"1","currency":"EUR","chainId":"devnet","address":"` + to + `"}`, "ValidationError", "currency", 400},
			{"an unknown user", `{"reference":"b1","amount":"1","currency":"USDT","chainId":"devnet","address":"` + to + `","depositReference":"ghost"}`, "NotFound", "depositReference", 404},
			{"a NUL byte", `{"reference":"b\u00001","amount":"1","currency":"USDT","chainId":"devnet","address":"` + to + `"}`, "ValidationError", "reference", 400},
			{"metadata not an object", `{"reference":"b1","amount":"1","currency":"USDT","chainId":"devnet","address":"` + to + `","metadata":[1]}`, "ValidationError", "metadata", 400},
		} {
			if r := e.as(key, "POST", "/api/v1/withdrawals", c.body, secret...); r.status != c.status || r.str("error") != c.code || r.str("param") != c.param {
				t.Errorf("%s: %d %s", c.name, r.status, r.raw)
			}
		}
		wantBalance("100", "0")
		if r := e.as(key, "GET", "/api/v1/withdrawals?status=lost", ""); r.status != 400 || r.str("param") != "status" {
			t.Errorf("a bad status filter: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "GET", "/api/v1/withdrawals/wdr_nope", ""); r.status != 404 {
			t.Errorf("an unknown withdrawal: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "GET", "/api/v1/balances?depositReference=ghost", ""); r.status != 404 || r.str("param") != "depositReference" {
			t.Errorf("an unknown reference's balances: %d %s", r.status, r.raw)
		}

		// The policy: the secret to change it, a clear error for a bad value.
		if r := e.as(key, "PUT", "/api/v1/withdrawal-policy", `{"autoApproveBelow":"5"}`); r.status != 401 {
			t.Errorf("the policy without the secret: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "PUT", "/api/v1/withdrawal-policy", `{"autoApproveBelow":"abc"}`, secret...); r.status != 400 || r.str("param") != "autoApproveBelow" {
			t.Errorf("a bad autoApproveBelow: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "PUT", "/api/v1/withdrawal-policy", `{"dailyLimits":{"EUR":"5"}}`, secret...); r.status != 400 || r.str("param") != "dailyLimits" {
			t.Errorf("a bad currency: %d %s", r.status, r.raw)
		}
		r = e.as(key, "PUT", "/api/v1/withdrawal-policy", `{"autoApproveBelow":"5","dailyLimits":{"USDT":"50"},"coolingPeriodMinutes":60}`, secret...)
		if r.status != 200 || r.dstr("autoApproveBelow") != "5" || r.data()["coolingPeriodMinutes"] != float64(60) {
			t.Fatalf("set the policy: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "GET", "/api/v1/withdrawal-policy", ""); r.data()["dailyLimits"].(map[string]any)["USDT"] != "50" {
			t.Fatalf("get the policy: %s", r.raw)
		}
		r = e.as(key, "POST", "/api/v1/withdrawals", `{"reference":"small","amount":"4.99","currency":"USDT","chainId":"devnet","address":"`+to+`"}`, secret...)
		if r.status != 201 || r.dstr("status") != "approved" || !strings.Contains(r.str("message"), "approved by the policy") {
			t.Fatalf("auto-approved: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "POST", "/api/v1/withdrawals", `{"reference":"big","amount":"45.02","currency":"USDT","chainId":"devnet","address":"`+to+`"}`, secret...); r.status != 422 ||
			r.str("error") != "LimitExceeded" {
			t.Fatalf("over the daily limit: %d %s", r.status, r.raw)
		}
		// The allowlist.
		r = e.as(key, "POST", "/api/v1/withdrawal-destinations", `{"address":"`+strings.ToLower(to)+`","label":"cold"}`, secret...)
		if r.status != 201 || r.dstr("address") != to || r.data()["usable"] != false {
			t.Fatalf("add a destination: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "POST", "/api/v1/withdrawal-destinations", `{"address":"0x1"}`, secret...); r.status != 400 || r.str("param") != "address" {
			t.Fatalf("a bad destination: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "GET", "/api/v1/withdrawal-destinations", ""); len(r.data()["destinations"].([]any)) != 1 {
			t.Fatalf("list destinations: %s", r.raw)
		}
		if r := e.as(key, "DELETE", "/api/v1/withdrawal-destinations/"+to, "", secret...); r.status != 200 || len(r.data()["destinations"].([]any)) != 0 {
			t.Fatalf("remove: %d %s", r.status, r.raw)
		}
		if r := e.as(key, "DELETE", "/api/v1/withdrawal-destinations/"+to, "", secret...); r.status != 404 {
			t.Fatalf("remove again: %d %s", r.status, r.raw)
		}
	})
}

// dstr is a string field of the answer's data.
func (r response) dstr(key string) string {
	v, _ := r.data()[key].(string)
	return v
}
