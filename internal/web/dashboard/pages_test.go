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

// Deposits, payment links and the audit log: what each role sees and may do.
func TestDepositsLinksAndAuditPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		w := newWorldWith(t, engine, dashboard.Config{TwoFactor: gateway.TwoFactorOptional})
		ctx := context.Background()
		for _, u := range []struct {
			email string
			role  gateway.Role
		}{{"ana@shop.example.com", gateway.RoleOwner}, {"vi@shop.example.com", gateway.RoleViewer}} {
			if _, _, err := w.svc.CreateUser(ctx, u.email, password, w.shop.Project.ID, u.role); err != nil {
				t.Fatal(err)
			}
		}
		pr := &gateway.Principal{Project: w.shop.Project, Mode: gateway.Test}
		b, _, err := w.svc.BindDeposit(ctx, pr, "player-7", "evm", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.svc.BindDeposit(ctx, &gateway.Principal{Project: w.other.Project, Mode: gateway.Test}, "their-player", "evm", nil); err != nil {
			t.Fatal(err)
		}
		q := "?project=" + w.shop.Project.ID + "&mode=test"
		owner, viewer := w.browser(), w.browser()
		owner.signIn("ana@shop.example.com", password)
		viewer.signIn("vi@shop.example.com", password)

		if a := viewer.do("GET", "/dashboard/deposits"+q+"&reference=player-7", nil); a.status != 200 || !strings.Contains(a.body, b.Address) {
			t.Fatalf("a reference's page: %d %s", a.status, a.body)
		}
		if a := viewer.do("GET", "/dashboard/deposits"+q+"&reference=their-player", nil); a.status != 200 || !strings.Contains(a.body, `class="error"`) ||
			strings.Contains(a.body, "reference-card") {
			t.Fatalf("another project's reference: %d %s", a.status, a.body)
		}

		// Payment links: the owner makes, publishes and archives one; bad input says why.
		form := func(kv ...string) url.Values {
			v := url.Values{"project": {w.shop.Project.ID}, "mode": {"test"}}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Add(kv[i], kv[i+1])
			}
			return v
		}
		if a := owner.do("POST", "/dashboard/links", form("title", "T-shirt", "amount", "25")); a.status != 400 || !strings.Contains(a.body, `class="error"`) {
			t.Fatalf("a link without a currency: %d", a.status)
		}
		if a := owner.do("POST", "/dashboard/links", form("title", "T-shirt", "amount", "25", "currencies", "devnet USDT", "inventory", "-3")); a.status != 400 ||
			!strings.Contains(a.body, "inventory must be") {
			t.Fatalf("a negative inventory: %d", a.status)
		}
		if a := viewer.do("POST", "/dashboard/links", form("title", "T-shirt", "amount", "25", "currencies", "devnet USDT")); a.status != 403 {
			t.Fatalf("a viewer makes a link: %d", a.status)
		}
		if a := owner.do("POST", "/dashboard/links", form("title", "T-shirt", "amount", "25", "currencies", "devnet USDT", "currencies", "devnet USDC",
			"inventory", "10")); a.status != 303 {
			t.Fatalf("make a link: %d %s", a.status, a.body)
		}
		links, _, _ := w.svc.ListPaymentLinks(ctx, pr, 1, 10)
		if len(links) != 1 || links[0].Status != gateway.LinkDraft || len(links[0].Currencies) != 2 || *links[0].InventoryTotal != 10 {
			t.Fatalf("the link made: %+v", links)
		}
		if a := viewer.do("GET", "/dashboard/links"+q, nil); !strings.Contains(a.body, "/checkout/"+links[0].Slug) || strings.Contains(a.body, "/publish") {
			t.Fatalf("a viewer's links page: %s", a.body)
		}
		if a := viewer.do("POST", "/dashboard/links/"+links[0].ID+"/publish", form()); a.status != 403 {
			t.Fatalf("a viewer publishes: %d", a.status)
		}
		for _, step := range []string{"publish", "archive"} {
			if a := owner.do("POST", "/dashboard/links/"+links[0].ID+"/"+step, form()); a.status != 303 {
				t.Fatalf("%s: %d %s", step, a.status, a.body)
			}
		}
		if a := owner.do("POST", "/dashboard/links/"+links[0].ID+"/publish", form()); a.status != 409 {
			t.Fatalf("publish an archived link: %d", a.status)
		}

		// The audit log: owners and admins only; the owner's sign-in is in it.
		if a := viewer.do("GET", "/dashboard/audit"+q, nil); a.status != 403 {
			t.Fatalf("a viewer's audit log: %d", a.status)
		}
		if a := owner.do("GET", "/dashboard/audit"+q, nil); a.status != 200 || !strings.Contains(a.body, "dashboard.signed_in") ||
			!strings.Contains(a.body, "user ana@shop.example.com") {
			t.Fatalf("the owner's audit log: %d %s", a.status, a.body)
		}
		// The overview: balances and chains.
		if a := owner.do("GET", "/dashboard/"+q, nil); !strings.Contains(a.body, "<h2>Balances</h2>") || !strings.Contains(a.body, "Hot wallets") {
			t.Fatalf("the overview: %s", a.body)
		}
	})
}

// Settings: owners and admins change the project and the withdrawal policy with a code; bad input
// says which field and changes nothing; a viewer cannot.
func TestSettingsPage(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		w := newWorldWith(t, engine, dashboard.Config{})
		ctx := context.Background()
		for _, u := range []struct {
			email string
			role  gateway.Role
		}{{"ad@shop.example.com", gateway.RoleAdmin}, {"vi@shop.example.com", gateway.RoleViewer}} {
			if _, _, err := w.svc.CreateUser(ctx, u.email, password, w.shop.Project.ID, u.role); err != nil {
				t.Fatal(err)
			}
		}
		admin, viewer := w.browser(), w.browser()
		admin.signIn("ad@shop.example.com", password)
		secret, _ := admin.enrol()
		viewer.signIn("vi@shop.example.com", password)
		vs, _ := viewer.enrol()
		q := "?project=" + w.shop.Project.ID + "&mode=test"
		if a := viewer.do("GET", "/dashboard/settings"+q, nil); a.status != 200 || strings.Contains(a.body, "Save the settings") {
			t.Fatalf("a viewer's settings page: %d", a.status)
		}
		form := func(code string, kv ...string) url.Values {
			v := url.Values{"project": {w.shop.Project.ID}, "mode": {"test"}, "code": {code}}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
		good := []string{"name", "Shop 2", "website", "https://shop.example.com", "window", "30", "grace", "10", "tolerance", "0.5"}
		w.later(30 * time.Second)
		if a := viewer.do("POST", "/dashboard/settings", form(w.code(vs), good...)); a.status != 403 {
			t.Fatalf("a viewer saves the settings: %d", a.status)
		}
		for name, kv := range map[string][]string{
			"a window of words": {"window", "ten"},
			"a tolerance of 50": {"tolerance", "50"},
			"no website":        {"website", ""},
		} {
			w.later(30 * time.Second)
			f := form(w.code(secret), good...)
			f.Set(kv[0], kv[1])
			if a := admin.do("POST", "/dashboard/settings", f); a.status != 400 || !strings.Contains(a.body, `class="error"`) {
				t.Fatalf("settings with %s: %d", name, a.status)
			}
		}
		p, _ := w.svc.Store.FindProject(ctx, w.shop.Project.ID)
		if p.Name != "Shop" || p.PaymentWindowMinutes != gateway.DefaultPaymentWindowMinutes {
			t.Fatalf("bad settings changed the project: %+v", p)
		}
		w.later(30 * time.Second)
		if a := admin.do("POST", "/dashboard/settings", form(w.code(secret), good...)); a.status != 303 {
			t.Fatalf("save the settings: %d %s", a.status, a.body)
		}
		p, _ = w.svc.Store.FindProject(ctx, w.shop.Project.ID)
		if p.Name != "Shop 2" || p.PaymentWindowMinutes != 30 || p.GraceMinutes != 10 || p.UnderpaymentPPM != 5000 || len(p.Confirmations) != 0 {
			t.Fatalf("the saved project: %+v", p)
		}
		for name, c := range map[string]string{"words": "devnet=three", "an unknown chain": "nowhere=3", "fewer than the rule": "ethereum=1"} {
			w.later(30 * time.Second)
			if a := admin.do("POST", "/dashboard/settings", form(w.code(secret), append(good, "confirmations", c)...)); a.status != 400 {
				t.Fatalf("confirmations of %s: %d", name, a.status)
			}
		}
		w.later(30 * time.Second)
		if a := admin.do("POST", "/dashboard/settings", form(w.code(secret), append(good, "confirmations", "devnet=3")...)); a.status != 303 {
			t.Fatalf("save confirmations: %d %s", a.status, a.body)
		}
		if p, _ = w.svc.Store.FindProject(ctx, w.shop.Project.ID); p.Confirmations["devnet"] != 3 {
			t.Fatalf("the saved confirmations: %v", p.Confirmations)
		}
		w.later(30 * time.Second)
		if a := admin.do("POST", "/dashboard/settings/policy", form(w.code(secret), "autoApproveBelow", "5", "twoApprovals", "on")); a.status != 303 {
			t.Fatalf("save the policy: %d %s", a.status, a.body)
		}
		pol, _ := w.svc.WithdrawalPolicy(ctx, &gateway.Principal{Project: w.shop.Project, Mode: gateway.Test})
		if pol.AutoApproveBelow != "5" || !pol.TwoApprovals || pol.Allowlist {
			t.Fatalf("the saved policy: %+v", pol)
		}
		if live, _ := w.svc.WithdrawalPolicy(ctx, &gateway.Principal{Project: w.shop.Project, Mode: gateway.Live}); live.TwoApprovals {
			t.Fatal("the test policy changed the live one")
		}
	})
}
