package dashboard_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/web/dashboard"
)

// API keys: made with a code and shown once, revoked with a code; a viewer sees no form and gets
// 403; another project's key is not found. Webhooks: the endpoint set with a code, the secret
// masked and rotated (shown once), a delivery retried.
func TestKeysAndWebhooksPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		w := newWorldWith(t, engine, dashboard.Config{})
		ctx := context.Background()
		for _, u := range []struct {
			email string
			role  gateway.Role
		}{{"dev@shop.example.com", gateway.RoleDeveloper}, {"vi@shop.example.com", gateway.RoleViewer}} {
			if _, _, err := w.svc.CreateUser(ctx, u.email, password, w.shop.Project.ID, u.role); err != nil {
				t.Fatal(err)
			}
		}
		q := "?project=" + w.shop.Project.ID + "&mode=test"
		form := func(code string, kv ...string) url.Values {
			v := url.Values{"project": {w.shop.Project.ID}, "mode": {"test"}, "code": {code}}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Add(kv[i], kv[i+1])
			}
			return v
		}
		viewer := w.browser()
		viewer.signIn("vi@shop.example.com", password)
		vs, _ := viewer.enrol()
		if a := viewer.do("GET", "/dashboard/keys"+q, nil); a.status != 200 || strings.Contains(a.body, `action="/dashboard/keys"`) || strings.Contains(a.body, "/revoke") {
			t.Fatalf("a viewer's keys page: %d", a.status)
		}
		w.later(30 * time.Second)
		if a := viewer.do("POST", "/dashboard/keys", form(w.code(vs))); a.status != 403 {
			t.Fatalf("a viewer makes a key: %d", a.status)
		}

		b := w.browser()
		b.signIn("dev@shop.example.com", password)
		secret, _ := b.enrol()
		page := b.do("GET", "/dashboard/keys"+q, nil)
		if page.status != 200 || !strings.Contains(page.body, testKey(w.shop).Key[:12]) || strings.Contains(page.body, testKey(w.shop).Secret) {
			t.Fatalf("the keys page: %d", page.status)
		}
		if a := b.do("POST", "/dashboard/keys", form("")); a.status != 401 {
			t.Fatalf("make a key without a code: %d", a.status)
		}
		w.later(30 * time.Second)
		made := b.do("POST", "/dashboard/keys", form(w.code(secret)))
		key := regexp.MustCompile(`id="new-key-key">(pk_test_[a-z0-9]+)<`).FindStringSubmatch(made.body)
		sec := regexp.MustCompile(`id="new-key-secret">(sk_test_[a-z0-9]+)<`).FindStringSubmatch(made.body)
		if made.status != 200 || key == nil || sec == nil || made.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("make a key: %d %s", made.status, made.body)
		}
		cred, err := w.svc.FindCredentialByKey(ctx, key[1])
		if err != nil || cred.ProjectID != w.shop.Project.ID || cred.Mode != gateway.Test || !gateway.SecretMatches(sec[1], mustOpen(t, w, cred)) {
			t.Fatalf("the key shown is not the project's: %v", err)
		}
		if a := b.do("GET", "/dashboard/keys"+q, nil); strings.Contains(a.body, sec[1]) || !strings.Contains(a.body, cred.ID) {
			t.Fatalf("the secret is shown again, or the key is not listed")
		}
		// Another project's key: not found, not revoked.
		foreign, _ := w.svc.FindCredentialByKey(ctx, testKey(w.other).Key)
		w.later(30 * time.Second)
		if a := b.do("POST", "/dashboard/keys/"+foreign.ID+"/revoke", form(w.code(secret))); a.status != 404 {
			t.Fatalf("revoke another project's key: %d", a.status)
		}
		w.later(30 * time.Second)
		if a := b.do("POST", "/dashboard/keys/"+cred.ID+"/revoke", form(w.code(secret))); a.status != 303 {
			t.Fatalf("revoke: %d %s", a.status, a.body)
		}
		if c, _ := w.svc.FindCredentialByKey(ctx, key[1]); c.RevokedAt == nil {
			t.Fatal("the key was not revoked")
		}
		if f, _ := w.svc.FindCredentialByKey(ctx, testKey(w.other).Key); f.RevokedAt != nil {
			t.Fatal("another project's key was revoked")
		}

		// Webhooks.
		hooks := b.do("GET", "/dashboard/webhooks"+q, nil)
		if hooks.status != 200 || !strings.Contains(hooks.body, `id="secret-masked">whsec_`) || strings.Contains(hooks.body, w.shop.WebhookSecrets[gateway.Test]) {
			t.Fatalf("the webhooks page: %d %s", hooks.status, hooks.body)
		}
		w.later(30 * time.Second)
		if a := b.do("POST", "/dashboard/webhooks/endpoint", form(w.code(secret), "url", "ftp://x", "format", "payin")); a.status != 400 {
			t.Fatalf("a bad URL: %d", a.status)
		}
		w.later(30 * time.Second)
		if a := b.do("POST", "/dashboard/webhooks/endpoint", form(w.code(secret), "url", "https://hooks.example.com/in", "format", "payin",
			"events", "order.completed", "events", "order.expired")); a.status != 303 {
			t.Fatalf("set the endpoint: %d %s", a.status, a.body)
		}
		e, _ := w.svc.GetWebhookEndpoint(ctx, &gateway.Principal{Project: w.shop.Project, Mode: gateway.Test})
		if e.URL != "https://hooks.example.com/in" || len(e.Events) != 2 {
			t.Fatalf("the endpoint: %+v", e)
		}
		w.later(30 * time.Second)
		rot := b.do("POST", "/dashboard/webhooks/rotate", form(w.code(secret)))
		shown := regexp.MustCompile(`id="new-secret-value">(whsec_[^<]+)<`).FindStringSubmatch(rot.body)
		if rot.status != 200 || shown == nil || shown[1] == w.shop.WebhookSecrets[gateway.Test] {
			t.Fatalf("rotate: %d %s", rot.status, rot.body)
		}
		if a := b.do("GET", "/dashboard/webhooks"+q, nil); strings.Contains(a.body, shown[1]) {
			t.Fatal("the rotated secret is shown again")
		}
		// A delivery, retried.
		o, _, _ := w.svc.CreateOrder(ctx, &gateway.Principal{Project: w.shop.Project, Mode: gateway.Test},
			gateway.OrderInput{Reference: "hooked", Amount: "1", Currency: "USDT", ChainID: "devnet"})
		w.svc.SimulateOrder(ctx, &gateway.Principal{Project: w.shop.Project, Mode: gateway.Test}, o.ID, gateway.SimulateCompleted, "")
		evs, _, _ := w.svc.Store.ListWebhookEvents(ctx, gateway.WebhookEventFilter{ProjectID: w.shop.Project.ID, Mode: gateway.Test, Subject: o.ID, Page: 1, Limit: 5})
		if len(evs) != 1 {
			t.Fatalf("events of the order: %d", len(evs))
		}
		if a := viewer.do("POST", "/dashboard/webhooks/events/"+evs[0].ID+"/retry", form("")); a.status != 403 {
			t.Fatalf("a viewer retries: %d", a.status)
		}
		if a := b.do("POST", "/dashboard/webhooks/events/"+evs[0].ID+"/retry", form("")); a.status != 303 {
			t.Fatalf("retry: %d %s", a.status, a.body)
		}
		if a := b.do("POST", "/dashboard/webhooks/events/evt_nosuchevent/retry", form("")); a.status != 404 {
			t.Fatalf("retry an unknown event: %d", a.status)
		}
	})
}

func mustOpen(t *testing.T, w *world, c *gateway.Credential) []byte {
	t.Helper()
	h, err := w.svc.Keyring.OpenSecretHash(c.ID, c.SecretHash)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func testKey(p *gateway.CreatedProject) gateway.KeyPair {
	for _, k := range p.Keys {
		if k.Mode == gateway.Test {
			return k
		}
	}
	return gateway.KeyPair{}
}
