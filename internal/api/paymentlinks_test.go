package api_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/web"
)

func TestPaymentLinksAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		create := func(body string) response {
			t.Helper()
			return e.as(e.test, "POST", "/api/v1/payment-links", body)
		}
		r := create(`{"title":"Logo design","description":"Invoice 7","amount":"25","currencies":[{"currency":"USDT","chainId":"devnet"},{"currency":"DAI","chainId":"devnet"}],"inventoryTotal":5,"metadata":{"invoice":7}}`)
		d := r.data()
		if r.status != 201 || d["status"] != "draft" || d["slug"] == "" || !strings.HasSuffix(d["checkoutUrl"].(string), "/checkout/"+d["slug"].(string)) {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		id := d["id"].(string)
		for _, c := range []struct{ body, param string }{
			{`{"title":"","amount":"1","currencies":[{"currency":"USDT","chainId":"devnet"}]}`, "title"},
			{`{"title":"x","amount":"1","currencies":[]}`, "currencies"},
			{`{"title":"x","amount":"1","currencies":[{"currency":"USDT","chainId":"ethereum"}]}`, "currencies"},
			{`{"title":"x","amount":"1.0000001","currencies":[{"currency":"USDT","chainId":"devnet"}]}`, "amount"},
			{`{"title":"x","amount":"-1","currencies":[{"currency":"USDT","chainId":"devnet"}]}`, "amount"},
			{`{"title":"x","amount":"1","currencies":[{"currency":"USDT","chainId":"devnet"}],"inventoryTotal":0}`, "inventoryTotal"},
			{`{"title":"x","amount":"1","currencies":[{"currency":"USDT","chainId":"devnet"}],"expiresAt":"2001-01-01T00:00:00Z"}`, "expiresAt"},
		} {
			if r := create(c.body); r.status != 400 || r.str("param") != c.param {
				t.Errorf("%s: %d %s", c.body, r.status, r.raw)
			}
		}
		if r := e.as(e.test, "POST", "/api/v1/payment-links/"+id+"/publish", ""); r.status != 200 || r.data()["status"] != "published" {
			t.Fatalf("publish: %d %s", r.status, r.raw)
		}
		if r := e.as(e.live, "GET", "/api/v1/payment-links/"+id, ""); r.status != 404 {
			t.Fatalf("the live key sees a test link: %d", r.status)
		}
		if r := e.as(e.test, "GET", "/api/v1/payment-links", ""); len(r.data()["paymentLinks"].([]any)) != 1 {
			t.Fatalf("list: %s", r.raw)
		}

		// Twenty payers at once for five units: exactly five orders, never oversold.
		ctx := context.Background()
		l, err := e.svc.GetPaymentLink(ctx, mustPrincipal(t, e), id)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var orders []*gateway.Order
		soldOut := 0
		for range 20 {
			wg.Go(func() {
				o, err := e.svc.Checkout(ctx, l, "USDT", "devnet", "")
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					orders = append(orders, o)
				} else if strings.Contains(err.Error(), "Sold out") {
					soldOut++
				} else {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if len(orders) != 5 || soldOut != 15 {
			t.Fatalf("%d orders, %d sold out; want 5 and 15", len(orders), soldOut)
		}
		if orders[0].Amount.Int64() != 25_000_000 || orders[0].PaymentLinkID != id {
			t.Fatalf("checkout order = %+v", orders[0])
		}
		// One completes (sold), one expires (its unit comes back).
		if r := e.as(e.test, "POST", "/api/v1/orders/"+orders[0].ID+"/simulate", `{"outcome":"completed"}`); r.status != 200 {
			t.Fatalf("simulate: %s", r.raw)
		}
		// The order names its link, on the API and in its webhook (issue 11, item 11).
		if o := e.as(e.test, "GET", "/api/v1/orders/"+orders[0].ID, "").data(); o["paymentLinkId"] != id {
			t.Errorf("order's paymentLinkId = %v, want %s", o["paymentLinkId"], id)
		}
		evs := e.as(e.test, "GET", "/api/v1/webhook/events?type=order.completed", "").data()["events"].([]any)
		if len(evs) != 1 || evs[0].(map[string]any)["data"].(map[string]any)["paymentLinkId"] != id {
			t.Errorf("order.completed events = %v", evs)
		}
		if r := e.as(e.test, "POST", "/api/v1/orders/"+orders[1].ID+"/simulate", `{"outcome":"expired"}`); r.status != 200 {
			t.Fatalf("simulate expiry: %s", r.raw)
		}
		d = e.as(e.test, "GET", "/api/v1/payment-links/"+id, "").data()
		if d["sold"] != 1.0 || d["reserved"] != 3.0 {
			t.Fatalf("inventory: sold %v, reserved %v", d["sold"], d["reserved"])
		}
		// One is underpaid and its window passes: it expires, keeping what was paid, and its unit
		// comes back (an underpaid order never expiring would pin it for good).
		if r := e.as(e.test, "POST", "/api/v1/orders/"+orders[2].ID+"/simulate", `{"outcome":"underpaid"}`); r.status != 200 {
			t.Fatalf("simulate underpaid: %s", r.raw)
		}
		if n, err := e.svc.ExpireOrders(ctx, orders[2].Deadline().Add(time.Second)); err != nil || n != 3 {
			t.Fatalf("ExpireOrders = %d, %v; want the underpaid order and the two pending ones", n, err)
		}
		if o := e.as(e.test, "GET", "/api/v1/orders/"+orders[2].ID, "").data(); o["status"] != "expired" || o["paidAmount"] != "12.5" {
			t.Fatalf("underpaid order after its window: %v", o)
		}
		d = e.as(e.test, "GET", "/api/v1/payment-links/"+id, "").data()
		if d["sold"] != 1.0 || d["reserved"] != 0.0 {
			t.Fatalf("inventory after expiry: sold %v, reserved %v", d["sold"], d["reserved"])
		}
		// Archived: no more checkouts, and it cannot be published again.
		if r := e.as(e.test, "POST", "/api/v1/payment-links/"+id+"/archive", ""); r.data()["status"] != "archived" {
			t.Fatalf("archive: %s", r.raw)
		}
		if r := e.as(e.test, "POST", "/api/v1/payment-links/"+id+"/publish", ""); r.status != 409 || r.str("error") != "Conflict" {
			t.Fatalf("publish an archived link: %d %s", r.status, r.raw)
		}
		if _, err := e.svc.Checkout(ctx, mustLink(t, e, id), "USDT", "devnet", ""); err == nil || !strings.Contains(err.Error(), "no longer available") {
			t.Fatalf("checkout of an archived link: %v", err)
		}
		// An expired link takes no payer.
		soon := time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)
		r = create(`{"title":"Flash sale","amount":"1","currencies":[{"currency":"USDT","chainId":"devnet"}],"expiresAt":"` + soon + `"}`)
		flash := r.data()["id"].(string)
		e.as(e.test, "POST", "/api/v1/payment-links/"+flash+"/publish", "")
		time.Sleep(1100 * time.Millisecond)
		if _, err := e.svc.Checkout(ctx, mustLink(t, e, flash), "USDT", "devnet", ""); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("checkout of an expired link: %v", err)
		}
		// One rule for amounts: normalized, as an order's ("10.50" answers "10.5").
		if r := create(`{"title":"Scarf","amount":"24.90","currencies":[{"currency":"USDT","chainId":"devnet"}]}`); r.data()["amount"] != "24.9" {
			t.Errorf("a link of 24.90 answers amount %v", r.data()["amount"])
		}
	})
}

func mustLink(t *testing.T, e *env, id string) *gateway.PaymentLink {
	t.Helper()
	l, err := e.svc.GetPaymentLink(context.Background(), mustPrincipal(t, e), id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustPrincipal(t *testing.T, e *env) *gateway.Principal {
	t.Helper()
	pr, err := e.svc.Authenticate(context.Background(), e.test.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

// The checkout page: a link with a payer-chosen amount takes the payer's amount (refusing one with
// too many decimals) and sends them to the order's payment page.
func TestCheckoutPage(t *testing.T) {
	e := setup(t, "sqlite", "https://shop.example.com")
	pages := httptestServer(t, web.New(e.svc, web.Config{}))
	r := e.as(e.test, "POST", "/api/v1/payment-links", `{"title":"Tip jar","amount":"0","currencies":[{"currency":"USDT","chainId":"devnet"}]}`)
	slug, id := r.data()["slug"].(string), r.data()["id"].(string)
	get := func() (int, string) {
		res, err := http.Get(pages + "/checkout/" + slug)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if _, body := get(); !strings.Contains(body, "not published yet") {
		t.Fatalf("draft page: %s", body)
	}
	e.as(e.test, "POST", "/api/v1/payment-links/"+id+"/publish", "")
	if _, body := get(); !strings.Contains(body, "Tip jar") || !strings.Contains(body, `name="amount"`) || !strings.Contains(body, "USDT on stablegate devnet") {
		t.Fatalf("published page: %s", body)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.PostForm(pages+"/checkout/"+slug, url.Values{"option": {"USDT@devnet"}, "amount": {"1.0000001"}})
	if err != nil || res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("too many decimals: %v %v", err, res)
	}
	res, err = noRedirect.PostForm(pages+"/checkout/"+slug, url.Values{"option": {"USDT@devnet"}, "amount": {"7.25"}})
	if err != nil || res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/pay/ord_") {
		t.Fatalf("checkout: %v %v", err, res)
	}
	o, err := e.store.FindOrderByID(context.Background(), strings.TrimPrefix(res.Header.Get("Location"), "/pay/"))
	if err != nil || o.Amount.Int64() != 7_250_000 || o.PaymentLinkID != id {
		t.Fatalf("order = %+v, %v", o, err)
	}
	e.as(e.test, "POST", "/api/v1/payment-links/"+id+"/archive", "")
	if _, body := get(); !strings.Contains(body, "no longer available") {
		t.Fatalf("archived page: %s", body)
	}
}

// An unpaid checkout holds its unit for the link's reservation only, so visitors who never pay
// cannot keep a link sold out; a payer whose payment is seen keeps the unit until the order
// completes or expires, and a payer who pays after the reservation is never refused.
func TestPaymentLinkReservation(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		var clock atomic.Int64
		clock.Store(time.Now().UnixMilli())
		e.svc.Now = func() time.Time { return time.UnixMilli(clock.Load()) }
		advance := func(d time.Duration) { clock.Add(d.Milliseconds()) }
		ctx := context.Background()
		for _, bad := range []string{`0`, `1441`, `"5"`} {
			r := e.as(e.test, "POST", "/api/v1/payment-links", `{"title":"x","amount":"1","currencies":[{"currency":"USDT","chainId":"devnet"}],"reservationMinutes":`+bad+`}`)
			if r.status != 400 || !strings.Contains(r.str("param"), "reservationMinutes") {
				t.Errorf("reservationMinutes %s: %d %s", bad, r.status, r.raw)
			}
		}
		if r := e.as(e.test, "POST", "/api/v1/payment-links", `{"title":"Default","amount":"1","currencies":[{"currency":"USDT","chainId":"devnet"}]}`); r.data()["reservationMinutes"] != 5.0 {
			t.Errorf("default reservation: %s", r.raw)
		}
		r := e.as(e.test, "POST", "/api/v1/payment-links", `{"title":"Two seats","amount":"10","currencies":[{"currency":"USDT","chainId":"devnet"}],"inventoryTotal":2,"reservationMinutes":3}`)
		id, _ := r.data()["id"].(string)
		if r.status != 201 || r.data()["reservationMinutes"] != 3.0 {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		e.as(e.test, "POST", "/api/v1/payment-links/"+id+"/publish", "")
		checkout := func() (*gateway.Order, error) {
			return e.svc.Checkout(ctx, mustLink(t, e, id), "USDT", "devnet", "")
		}
		inventory := func() (sold, reserved float64) {
			d := e.as(e.test, "GET", "/api/v1/payment-links/"+id, "").data()
			return d["sold"].(float64), d["reserved"].(float64)
		}
		a, errA := checkout()
		b, errB := checkout()
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if _, err := checkout(); err == nil || !strings.Contains(err.Error(), "Sold out") {
			t.Fatalf("a third payer within the reservation: %v", err)
		}
		// A pays part (a payment seen); B never pays. Past the reservation B's unit is free again,
		// A's is not.
		if r := e.as(e.test, "POST", "/api/v1/orders/"+a.ID+"/simulate", `{"outcome":"underpaid"}`); r.status != 200 {
			t.Fatalf("simulate underpaid: %s", r.raw)
		}
		advance(3*time.Minute - time.Millisecond)
		if sold, reserved := inventory(); sold != 0 || reserved != 2 {
			t.Fatalf("just before the reservation ends: sold %v, reserved %v", sold, reserved)
		}
		advance(time.Millisecond)
		if sold, reserved := inventory(); sold != 0 || reserved != 1 {
			t.Fatalf("after the reservation: sold %v, reserved %v; want B's unit released", sold, reserved)
		}
		if _, err := checkout(); err != nil {
			t.Fatalf("a new payer after B's reservation: %v", err)
		}
		if _, err := checkout(); err == nil {
			t.Fatal("a fourth payer while A and C hold the two units")
		}
		// B pays after all, within its window: the payment is not refused and sells a unit (the
		// link is then oversold by one, which the merchant sees in sold).
		if r := e.as(e.test, "POST", "/api/v1/orders/"+b.ID+"/simulate", `{"outcome":"completed"}`); r.status != 200 {
			t.Fatalf("B pays late: %s", r.raw)
		}
		if o := e.as(e.test, "GET", "/api/v1/orders/"+b.ID, "").data(); o["status"] != "completed" {
			t.Fatalf("B's order: %v", o)
		}
		if sold, reserved := inventory(); sold != 1 || reserved != 2 {
			t.Fatalf("after B's late payment: sold %v, reserved %v", sold, reserved)
		}
	})
}
