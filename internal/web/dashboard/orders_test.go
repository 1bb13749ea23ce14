package dashboard_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/web/dashboard"
)

// The orders pages: the list by status, an order with its payments and events, and resolving it
// by hand with a code — what the role allows, nothing more, and nothing credited.
func TestOrdersAndResolveByHand(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		w := newWorldWith(t, engine, dashboard.Config{})
		ctx := context.Background()
		pr := &gateway.Principal{Project: w.shop.Project, Mode: gateway.Test}
		short, _, err := w.svc.CreateOrder(ctx, pr, gateway.OrderInput{Reference: "short-order", Amount: "10", Currency: "USDT", ChainID: "devnet"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.SimulateOrder(ctx, pr, short.ID, gateway.SimulateUnderpaid, "4"); err != nil {
			t.Fatal(err)
		}
		foreign, _, _ := w.svc.CreateOrder(ctx, &gateway.Principal{Project: w.other.Project, Mode: gateway.Test},
			gateway.OrderInput{Reference: "foreign-order", Amount: "1", Currency: "USDT", ChainID: "devnet"})
		for _, u := range []struct {
			email string
			role  gateway.Role
		}{{"ana@shop.example.com", gateway.RoleOwner}, {"vi@shop.example.com", gateway.RoleViewer}} {
			if _, _, err := w.svc.CreateUser(ctx, u.email, password, w.shop.Project.ID, u.role); err != nil {
				t.Fatal(err)
			}
		}
		q := "?project=" + w.shop.Project.ID + "&mode=test"
		resolveForm := func(code, outcome, reason string) url.Values {
			return url.Values{"project": {w.shop.Project.ID}, "mode": {"test"}, "code": {code}, "outcome": {outcome}, "reason": {reason}}
		}

		viewer := w.browser()
		viewer.signIn("vi@shop.example.com", password)
		vsecret, _ := viewer.enrol()
		list := viewer.do("GET", "/dashboard/orders"+q, nil)
		if list.status != 200 || !strings.Contains(list.body, "short-order") || strings.Contains(list.body, "foreign-order") ||
			!strings.Contains(list.body, `href="/dashboard/orders/`+short.ID+`?project=`+w.shop.Project.ID+`&amp;mode=test"`) {
			t.Fatalf("the orders list: %d %s", list.status, list.body)
		}
		detail := viewer.do("GET", "/dashboard/orders/"+short.ID+q, nil)
		if detail.status != 200 || !strings.Contains(detail.body, "underpaid") || !strings.Contains(detail.body, "4 USDT") ||
			!strings.Contains(detail.body, "order.underpaid") || strings.Contains(detail.body, "/resolve") {
			t.Fatalf("a viewer's order page: %d %s", detail.status, detail.body)
		}
		w.later(30 * time.Second)
		if a := viewer.do("POST", "/dashboard/orders/"+short.ID+"/resolve", resolveForm(w.code(vsecret), "completed", "paid")); a.status != 403 {
			t.Fatalf("a viewer resolves: %d", a.status)
		}
		if a := viewer.do("GET", "/dashboard/orders/"+foreign.ID+q, nil); a.status != 404 || strings.Contains(a.body, "foreign-order") {
			t.Fatalf("another project's order: %d", a.status)
		}

		b := w.browser()
		b.signIn("ana@shop.example.com", password)
		secret, _ := b.enrol()
		if a := b.do("GET", "/dashboard/orders/"+short.ID+q, nil); !strings.Contains(a.body, `action="/dashboard/orders/`+short.ID+`/resolve"`) {
			t.Fatalf("the owner's order page has no resolve form: %s", a.body)
		}
		w.later(30 * time.Second)
		if a := b.do("POST", "/dashboard/orders/"+short.ID+"/resolve", resolveForm(w.code(secret), "completed", "")); a.status != 400 ||
			!strings.Contains(a.body, "reason must say why") {
			t.Fatalf("resolve without a reason: %d", a.status)
		}
		w.later(30 * time.Second)
		if a := b.do("POST", "/dashboard/orders/"+short.ID+"/resolve", resolveForm("000000", "completed", "rest paid in cash")); a.status != 401 {
			t.Fatalf("resolve with a wrong code: %d", a.status)
		}
		if a := b.do("POST", "/dashboard/orders/"+short.ID+"/resolve", resolveForm(w.code(secret), "completed", "rest paid in cash")); a.status != 303 {
			t.Fatalf("resolve: %d %s", a.status, a.body)
		}
		o, _ := w.svc.GetOrder(ctx, pr, short.ID)
		if o.Status != gateway.OrderCompleted || o.ResolvedBy != "user ana@shop.example.com" || o.ResolutionReason != "rest paid in cash" {
			t.Fatalf("the resolved order: %s by %q", o.Status, o.ResolvedBy)
		}
		bs, _ := w.svc.Balances(ctx, pr)
		if len(bs) != 1 || bs[0].Available.String() != "4000000" {
			t.Fatalf("after a manual completion the balance is %v (want the 4 that arrived)", bs)
		}
		a := b.do("GET", "/dashboard/orders/"+short.ID+q+"&done=resolved", nil)
		if !strings.Contains(a.body, `id="order-resolution">completed by user ana@shop.example.com`) || strings.Contains(a.body, "/resolve\"") {
			t.Fatalf("the order page after resolving: %s", a.body)
		}
		if a := b.do("GET", "/dashboard/orders"+q+"&status=completed", nil); !strings.Contains(a.body, "short-order") {
			t.Fatalf("the completed filter: %s", a.body)
		}
		if a := b.do("GET", "/dashboard/orders"+q+"&currency=USDC", nil); strings.Contains(a.body, "short-order") {
			t.Fatalf("the USDC filter shows a USDT order: %s", a.body)
		}
		if a := b.do("GET", "/dashboard/orders"+q+"&chainId=devnet&currency=USDT", nil); !strings.Contains(a.body, "short-order") {
			t.Fatalf("the devnet USDT filter: %s", a.body)
		}
	})
}
