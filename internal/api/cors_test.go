package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

// CORS: a browser page may call the API only from an origin on the key's project's allowlist, and
// with the key alone; calls without an Origin are not concerned; a refused call does nothing.
func TestCORSAllowlist(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		secret := []string{"x-api-secret", e.test.Secret}
		const shop = "https://shop.example.com"
		order := `{"orderReference":"cors-1","amount":"1","currency":"USDT","chainId":"devnet"}`
		e.svc.Chains = []string{"devnet"}

		if r := e.as(e.test, "GET", "/api/v1/project", ""); r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" ||
			len(r.data()["allowedOrigins"].([]any)) != 0 {
			t.Fatalf("without an Origin: %d %v %s", r.status, r.header, r.raw)
		}
		// No origin is allowed until the merchant lists it: the page's call is refused and does nothing
		// (and the page may read why, so its developer knows what to change).
		if r := e.as(e.test, "POST", "/api/v1/orders", order, "Origin", shop); r.status != 403 || r.str("error") != "Forbidden" ||
			r.str("param") != "Origin" || !strings.Contains(r.str("message"), "allowedOrigins") || r.header.Get("Access-Control-Allow-Origin") != shop {
			t.Fatalf("an unlisted origin: %d %s", r.status, r.raw)
		}
		if n := e.orderCount(gateway.Test); n != 0 {
			t.Fatalf("a refused cross-origin call created %d orders", n)
		}
		// The gateway's own pages (its public URL's origin) are not cross-origin.
		if r := e.as(e.test, "GET", "/api/v1/project", "", "Origin", "https://pay.example.com"); r.status != 200 {
			t.Errorf("the public URL's own origin: %d %s", r.status, r.raw)
		}

		for _, bad := range []string{`["*"]`, `["https://shop.example.com/path"]`, `["http://shop.example.com"]`, `["ftp://shop.example.com"]`,
			`["shop.example.com"]`, `["https://user:pw@shop.example.com"]`, `["https://*.example.com"]`, `["https://shop.example.com?q"]`,
			`["https://shop.example.com:port"]`, `[""]`, `["https://` + strings.Repeat("a.", 200) + `com"]`,
			`[` + strings.Repeat(`"https://a.example.com",`, 20) + `"https://b.example.com"]`} {
			if r := e.as(e.test, "PATCH", "/api/v1/project", `{"allowedOrigins":`+bad+`}`, secret...); r.status != 400 || r.str("error") != "ValidationError" ||
				!strings.Contains(r.str("param"), "allowedOrigins") {
				t.Errorf("allowedOrigins %s: %d %s", bad, r.status, r.raw)
			}
		}
		if r := e.as(e.test, "PATCH", "/api/v1/project", `{"allowedOrigins":["https://shop.example.com"]}`); r.status != 401 {
			t.Fatalf("setting the allowlist without the secret: %d", r.status)
		}
		r := e.as(e.test, "PATCH", "/api/v1/project", `{"allowedOrigins":["https://Shop.Example.com","http://localhost:3000","https://shop.example.com/","https://shop.example.com:443"]}`, secret...)
		if got, _ := r.data()["allowedOrigins"].([]any); r.status != 200 || len(got) != 2 || got[0] != shop || got[1] != "http://localhost:3000" {
			t.Fatalf("PATCH allowedOrigins: %d %s", r.status, r.raw)
		}

		// The change is in the audit log, with what the list was and is.
		audit := e.as(e.test, "GET", "/api/v1/audit-log?action=project.updated", "", secret...).data()["entries"].([]any)
		if len(audit) != 1 || !strings.Contains(fmt.Sprint(audit[0]), "allowedOrigins") || !strings.Contains(fmt.Sprint(audit[0]), "http://localhost:3000") {
			t.Errorf("the allowlist's change in the audit log: %v", audit)
		}

		// From a listed origin the page reads the answer, success or error, in both modes.
		for _, key := range []gateway.KeyPair{e.test, e.live} {
			r := e.as(key, "GET", "/api/v1/project", "", "Origin", shop)
			if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != shop || !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "X-Request-Id") ||
				!strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Origin") || r.header.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("%s key from a listed origin: %d %v", key.Mode, r.status, r.header)
			}
		}
		if r := e.as(e.test, "POST", "/api/v1/orders", order, "Origin", "http://LOCALHOST:3000"); r.status != 201 ||
			r.header.Get("Access-Control-Allow-Origin") != "http://LOCALHOST:3000" {
			t.Errorf("an order from a listed origin: %d %v %s", r.status, r.header, r.raw)
		}
		if r := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"cors-2","amount":"0","currency":"USDT","chainId":"devnet"}`, "Origin", shop); r.status != 400 ||
			r.header.Get("Access-Control-Allow-Origin") != shop {
			t.Errorf("an error from a listed origin: %d %v", r.status, r.header)
		}
		// The secret is never for a page, even from a listed origin.
		if r := e.as(e.test, "PATCH", "/api/v1/project", `{"name":"From a page"}`, "Origin", shop, "x-api-secret", e.test.Secret); r.status != 403 ||
			r.str("param") != "x-api-secret" {
			t.Errorf("the secret from a page: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "GET", "/api/v1/project", ""); r.data()["name"] != "Shop" {
			t.Errorf("the refused PATCH renamed the project: %s", r.raw)
		}
		// Another project's allowlist does not open this one.
		evm, _ := chain.AccountXPub(abandon, chain.EVM)
		other, err := e.svc.CreateProject(context.Background(), gateway.CreateProjectParams{Live: true, Name: "Other", Website: "https://other.example.com",
			XPubs: map[chain.Protocol]string{chain.EVM: evm}})
		if err != nil {
			t.Fatal(err)
		}
		evil := []string{"https://evil.example.com"}
		if _, err := e.svc.UpdateProject(context.Background(), other.Project.ID, gateway.ProjectUpdate{AllowedOrigins: &evil}); err != nil {
			t.Fatal(err)
		}
		if r := e.as(e.test, "GET", "/api/v1/project", "", "Origin", evil[0]); r.status != 403 {
			t.Errorf("another project's origin: %d", r.status)
		}

		// The preflight (sent without the key) offers the key's headers, never the secret's.
		req, _ := http.NewRequest("OPTIONS", e.url+"/api/v1/orders", nil)
		req.Header.Set("Origin", shop)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		allowed := strings.ToLower(res.Header.Get("Access-Control-Allow-Headers"))
		if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != shop || !strings.Contains(allowed, "authorization") ||
			!strings.Contains(allowed, "idempotency-key") || strings.Contains(allowed, "secret") || strings.Contains(allowed, "signature") ||
			!strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "PATCH") {
			t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
		}
	})
}
