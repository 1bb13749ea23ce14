package api_test

import (
	"strings"
	"sync"
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

// 3PAY's per-user wallets: a user with userId and email gets an EVM and a TRON address (deposit
// references of the native API), the same every time; details and balance read them back.
func TestThreePayUserWallets(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		key := []string{"apikey", e.test.Key}
		r := e.call("POST", "/api/v1/public/user/create", `{"userId":"user_42","email":"ada@example.com"}`, key...)
		wallets, _ := r.data()["wallets"].([]any)
		if r.status != 201 || r.dstr("userId") != "user_42" || r.dstr("email") != "ada@example.com" || len(wallets) != 2 {
			t.Fatalf("create a user: %d %s", r.status, r.raw)
		}
		evm, tron := wallets[0].(map[string]any), wallets[1].(map[string]any)
		if !strings.HasPrefix(evm["address"].(string), "0x") || !strings.HasPrefix(tron["address"].(string), "T") || fmtList(evm["networks"]) != "ERC20 BEP20" ||
			fmtList(tron["networks"]) != "TRC20" {
			t.Errorf("the wallets: %s", r.raw)
		}
		if again := e.call("POST", "/api/v1/public/user/create", `{"userId":"user_42","email":"ada@example.com"}`, key...); again.status != 200 || again.raw == nil ||
			again.data()["wallets"].([]any)[0].(map[string]any)["address"] != evm["address"] {
			t.Errorf("creating the user again: %d %s", again.status, again.raw)
		}
		if g := e.call("POST", "/api/v1/public/wallet/generate", `{"userId":"user_42","network":"TRC20"}`, key...); g.status != 200 ||
			g.data()["wallets"].([]any)[1].(map[string]any)["address"] != tron["address"] {
			t.Errorf("generate: %d %s", g.status, g.raw)
		}
		if d := e.call("GET", "/api/v1/public/wallet/details?userId=user_42", "", key...); d.status != 200 || d.dstr("email") != "ada@example.com" {
			t.Errorf("details: %d %s", d.status, d.raw)
		}
		if b := e.call("GET", "/api/v1/public/wallet/balance?userId=user_42", "", key...); b.status != 200 || len(b.data()["balances"].([]any)) != 0 {
			t.Errorf("balance: %d %s", b.status, b.raw)
		}
		// The native API sees the two deposit references.
		if n := e.as(e.test, "GET", "/api/v1/deposits/references/user_42", ""); n.status != 200 || n.dstr("address") != evm["address"] {
			t.Errorf("the native reference: %d %s", n.status, n.raw)
		}
		if n := e.as(e.test, "GET", "/api/v1/deposits/references/user_42:TRC20", ""); n.status != 200 || n.dstr("address") != tron["address"] {
			t.Errorf("the native TRON reference: %d %s", n.status, n.raw)
		}
		// Errors.
		for body, param := range map[string]string{`{"userId":"u2"}`: "email", `{"userId":"u2","email":"not-an-email"}`: "email",
			`{"email":"ada@example.com"}`: "userId", `{"userId":"bad\u0007id","email":"ada@example.com"}`: "userId"} {
			if r := e.call("POST", "/api/v1/public/user/create", body, key...); r.status != 400 || r.str("param") != param {
				t.Errorf("%s: %d %s", body, r.status, r.raw)
			}
		}
		for _, path := range []string{"/api/v1/public/wallet/details?userId=nobody", "/api/v1/public/wallet/balance?userId=nobody"} {
			if r := e.call("GET", path, "", key...); r.status != 404 || r.str("param") != "userId" {
				t.Errorf("%s: %d %s", path, r.status, r.raw)
			}
		}
	})
}

func fmtList(v any) string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return strings.Join(out, " ")
}

// The attacker's inputs on 3PAY's operations: fifty creates of one user at once make one pair of
// wallets; a NUL byte and a 2 MB body are refused; another mode's invoice is not found.
func TestThreePayHostileInput(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite", "https://shop.example.com")
	key := []string{"apikey", e.test.Key}
	addrs := make([]string, 50)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.call("POST", "/api/v1/public/user/create", `{"userId":"same","email":"ada@example.com"}`, key...)
			if ws, _ := r.data()["wallets"].([]any); len(ws) == 2 {
				addrs[i] = ws[0].(map[string]any)["address"].(string) + ws[1].(map[string]any)["address"].(string)
			}
		}()
	}
	wg.Wait()
	for i, a := range addrs {
		if a == "" || a != addrs[0] {
			t.Fatalf("create %d of one user gave %q, the first %q", i, a, addrs[0])
		}
	}
	if r := e.call("POST", "/api/v1/transaction/create", `{"orderId":"n\u0000ul","amount":"1"}`, key...); r.status != 400 {
		t.Errorf("a NUL byte: %d %s", r.status, r.raw)
	}
	big := `{"orderId":"big","amount":"1","metadata":{"x":"` + strings.Repeat("x", 2<<20) + `"}}`
	if r := e.call("POST", "/api/v1/transaction/create", big, key...); r.status != 413 {
		t.Errorf("a 2 MB body: %d %.200s", r.status, r.raw)
	}
	inv := e.call("POST", "/api/v1/transaction/create", `{"orderId":"mode","amount":"1"}`, key...)
	if r := e.call("GET", "/api/v1/transaction/"+inv.dstr("transactionId"), "", "apikey", e.live.Key); r.status != 404 {
		t.Errorf("a test invoice read with the live key: %d %s", r.status, r.raw)
	}
}
