package api_test

import (
	"strings"
	"testing"
)

// 3PAY's invoices, with its apikey header and networks, over the same orders as the native API.
func TestThreePayInvoices(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		key := []string{"apikey", e.test.Key}
		r := e.call("POST", "/api/v1/transaction/create", `{"orderId":"inv-1","amount":"25.00"}`, key...)
		if r.status != 201 || r.body["success"] != true || r.dstr("network") != "ERC20" || r.dstr("chainId") != "ethereum-sepolia" ||
			r.dstr("status") != "pending" || r.dstr("amount") != "25" || r.dstr("currency") != "USDT" || !strings.HasPrefix(r.dstr("address"), "0x") ||
			r.dstr("paymentUrl") != "https://pay.example.com/pay/"+r.dstr("transactionId") {
			t.Fatalf("create an invoice: %d %s", r.status, r.raw)
		}
		id := r.dstr("transactionId")
		if again := e.call("POST", "/api/v1/transaction/create", `{"orderId":"inv-1","amount":"25.00"}`, key...); again.status != 200 || again.dstr("transactionId") != id {
			t.Errorf("the same orderId again: %d %s", again.status, again.raw)
		}
		tron := e.call("POST", "/api/v1/transaction/create", `{"orderId":"inv-2","amount":"10","network":"TRC20"}`, key...)
		if tron.status != 201 || tron.dstr("network") != "TRC20" || tron.dstr("chainId") != "tron-nile" || !strings.HasPrefix(tron.dstr("address"), "T") {
			t.Errorf("a TRC20 invoice: %d %s", tron.status, tron.raw)
		}
		if live := e.call("POST", "/api/v1/transaction/create", `{"orderId":"inv-3","amount":"10"}`, "apikey", e.live.Key); live.status != 201 ||
			live.dstr("chainId") != "ethereum" || live.data()["livemode"] != true {
			t.Errorf("a live invoice: %d %s", live.status, live.raw)
		}
		// Read back, and paid.
		if g := e.call("GET", "/api/v1/transaction/"+id, "", key...); g.status != 200 || g.dstr("orderId") != "inv-1" || g.dstr("status") != "pending" {
			t.Errorf("get the invoice: %d %s", g.status, g.raw)
		}
		e.as(e.test, "POST", "/api/v1/orders/"+id+"/simulate", `{"outcome":"completed"}`)
		if g := e.call("GET", "/api/v1/transaction/"+id, "", key...); g.dstr("status") != "successful" || g.dstr("txHash") == "" || g.dstr("paidAmount") != "25" {
			t.Errorf("the paid invoice: %s", g.raw)
		}
		// Errors, in the envelope, naming 3PAY's fields.
		for body, param := range map[string]string{`{"orderId":"inv-4","amount":"1","network":"SOL"}`: "network", `{"orderId":"inv-4","amount":"0"}`: "amount",
			`{"amount":"1"}`: "orderId", `{"orderId":"inv-4","amount":"1","currency":"DOGE"}`: "currency"} {
			if r := e.call("POST", "/api/v1/transaction/create", body, key...); r.status != 400 || r.str("error") != "ValidationError" || r.str("param") != param {
				t.Errorf("%s: %d %s", body, r.status, r.raw)
			}
		}
		if r := e.call("POST", "/api/v1/transaction/create", `{"orderId":"inv-5","amount":"1"}`, "apikey", e.test.Key, "x-api-secret", "sk_test_wrong"); r.status != 401 {
			t.Errorf("a wrong x-api-secret, which 3PAY v2 validates when sent: %d %s", r.status, r.raw)
		}
		other := setup(t, engine, "https://other.example.com")
		if r := other.call("GET", "/api/v1/transaction/"+id, "", "apikey", other.test.Key); r.status != 404 || r.str("param") != "transactionId" {
			t.Errorf("another project's invoice: %d %s", r.status, r.raw)
		}
	})
}

// What 3PAY v2 removed answers 404, saying so.
func TestThreePayRemovedEndpoints(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite", "https://shop.example.com")
	for _, c := range [][2]string{{"POST", "/api/v1/public/payout/create"}, {"POST", "/api/v1/refund/create"}, {"GET", "/api/v1/refund/list"}} {
		if r := e.call(c[0], c[1], `{}`, "apikey", e.test.Key); r.status != 404 || r.str("error") != "NotFound" || !strings.Contains(r.str("message"), "removed in 3PAY v2") {
			t.Errorf("%s %s: %d %s", c[0], c[1], r.status, r.raw)
		}
	}
}
