package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stablegate/stablegate/internal/gateway"
)

func TestProjectSettingsAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		r := e.as(e.test, "GET", "/api/v1/project", "")
		if d := r.data(); r.status != 200 || d["projectId"] != e.project.Project.ID || d["underpaymentTolerance"] != "0" || d["livemode"] != false {
			t.Fatalf("GET project: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "PATCH", "/api/v1/project", `{"underpaymentTolerance":"0.5"}`); r.status != 401 || r.str("param") != "x-api-secret" {
			t.Fatalf("PATCH without the secret: %d %s", r.status, r.raw)
		}
		for _, body := range []string{`{"underpaymentTolerance":"11"}`, `{"underpaymentTolerance":"-1"}`, `{"underpaymentTolerance":"0.00001"}`,
			`{"underpaymentTolerance":""}`, `{"underpaymentTolerance":"half"}`} {
			r := e.as(e.test, "PATCH", "/api/v1/project", body, "x-api-secret", e.test.Secret)
			if r.status != 400 || r.str("error") != "ValidationError" || r.str("param") != "underpaymentTolerance" {
				t.Errorf("PATCH %s: %d %s", body, r.status, r.raw)
			}
		}
		if r := e.as(e.test, "GET", "/api/v1/project", ""); r.data()["underpaymentTolerance"] != "0" {
			t.Fatalf("bad input changed the project: %s", r.raw)
		}
		r = e.as(e.test, "PATCH", "/api/v1/project", `{"underpaymentTolerance":"0.5"}`, "x-api-secret", e.test.Secret)
		if r.status != 200 || r.data()["underpaymentTolerance"] != "0.5" {
			t.Fatalf("PATCH: %d %s", r.status, r.raw)
		}
		// The project is one for both modes, and the change is seen at once through this process.
		if r := e.as(e.live, "GET", "/api/v1/project", ""); r.data()["underpaymentTolerance"] != "0.5" || r.data()["livemode"] != true {
			t.Fatalf("GET with the live key: %s", r.raw)
		}
	})
}

// PATCH /api/v1/project changes what is sent, checks it as creation does, all or nothing; a project
// made on localhost goes live by taking a real https website; new orders take the new defaults.
func TestProjectCanBeChanged(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "http://localhost:3000")
		e.svc.Chains = []string{"devnet", "ethereum"}
		liveOrder := `{"orderReference":"live-1","amount":"1","currency":"USDT","chainId":"ethereum"}`
		if r := e.as(e.live, "POST", "/api/v1/orders", liveOrder); r.status != 403 {
			t.Fatalf("a live order on a localhost project: %d %s", r.status, r.raw)
		}
		if d := e.as(e.test, "GET", "/api/v1/project", "").data(); d["liveReady"] != false || d["paymentWindowMinutes"] != 10.0 || d["graceMinutes"] != 5.0 {
			t.Fatalf("GET project: %v", d)
		}
		patch := func(body string) response {
			return e.as(e.test, "PATCH", "/api/v1/project", body, "x-api-secret", e.test.Secret)
		}
		if r := e.as(e.test, "PATCH", "/api/v1/project", `{"name":"New"}`); r.status != 401 || r.str("param") != "x-api-secret" {
			t.Errorf("PATCH name without the secret: %d %s", r.status, r.raw)
		}
		// Bad input names its field and changes nothing, even beside a good field.
		for _, c := range []struct{ body, param string }{
			{`{"name":""}`, "name"},
			{`{"name":"   "}`, "name"},
			{`{"name":"` + strings.Repeat("n", 101) + `"}`, "name"},
			{`{"website":"shop.example.com"}`, "website"},
			{`{"website":"ftp://shop.example.com"}`, "website"},
			{`{"website":"https://nodot"}`, "website"},
			{`{"paymentWindowMinutes":0}`, "paymentWindowMinutes"},
			{`{"paymentWindowMinutes":10081}`, "paymentWindowMinutes"},
			{`{"graceMinutes":-1}`, "graceMinutes"},
			{`{"graceMinutes":1441}`, "graceMinutes"},
			{`{"name":"Good","underpaymentTolerance":"50"}`, "underpaymentTolerance"},
			{`{"confirmations":{"solana":3}}`, "confirmations"},
			{`{"confirmations":{"devnet":1001}}`, "confirmations"},
			{`{"confirmations":{"ethereum":3}}`, "confirmations"}, // below ethereum's rule
			{`{"name":"Good","confirmations":{"devnet":-2}}`, "confirmations"},
		} {
			if r := patch(c.body); r.status != 400 || r.str("error") != "ValidationError" || r.str("param") != c.param {
				t.Errorf("PATCH %s: %d %s", c.body, r.status, r.raw)
			}
		}
		if d := e.as(e.test, "GET", "/api/v1/project", "").data(); d["name"] != "Shop" || d["website"] != "http://localhost:3000" {
			t.Fatalf("bad input changed the project: %v", d)
		}
		// Another project's domain is taken.
		if _, err := e.svc.CreateProject(context.Background(), gateway.CreateProjectParams{Live: true, Name: "Other", Website: "https://other.example.com"}); err != nil {
			t.Fatal(err)
		}
		if r := patch(`{"website":"https://other.example.com/shop"}`); r.status != 409 || r.str("param") != "website" {
			t.Errorf("PATCH another project's website host: %d %s", r.status, r.raw)
		}
		// The README's one-field change works, and the project goes live.
		r := patch(`{"name":"New name","website":"https://shop.example.com","paymentWindowMinutes":30,"graceMinutes":0}`)
		if d := r.data(); r.status != 200 || d["name"] != "New name" || d["website"] != "https://shop.example.com" || d["liveReady"] != true ||
			d["paymentWindowMinutes"] != 30.0 || d["graceMinutes"] != 0.0 || d["underpaymentTolerance"] != "0" {
			t.Fatalf("PATCH: %d %s", r.status, r.raw)
		}
		// Asking for more confirmations than the chain's rule: the project and /chains show it.
		r = patch(`{"confirmations":{"devnet":4}}`)
		if c, _ := r.data()["confirmations"].(map[string]any); r.status != 200 || c["devnet"] != 4.0 || len(c) != 1 {
			t.Fatalf("PATCH confirmations: %d %s", r.status, r.raw)
		}
		chains, _ := e.as(e.test, "GET", "/api/v1/chains", "").data()["chains"].([]any)
		if len(chains) != 1 || chains[0].(map[string]any)["confirmations"] != 4.0 {
			t.Errorf("/chains after the project asked for 4 devnet confirmations: %v", chains)
		}
		if r := patch(`{"confirmations":{"devnet":0}}`); len(r.data()["confirmations"].(map[string]any)) != 0 {
			t.Errorf("confirmations 0 does not drop the chain's entry: %s", r.raw)
		}
		if r := patch(`{}`); r.status != 200 || r.data()["name"] != "New name" {
			t.Errorf("an empty PATCH: %d %s", r.status, r.raw)
		}
		r = e.as(e.live, "POST", "/api/v1/orders", liveOrder)
		if r.status != 201 {
			t.Fatalf("a live order after the website change: %d %s", r.status, r.raw)
		}
		if d := r.data(); d["paymentWindowMinutes"] != 30.0 || d["graceMinutes"] != 0.0 {
			t.Errorf("a new order does not take the project's window and grace: %v", d)
		}
		if r := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"own","amount":"1","currency":"USDT","chainId":"devnet","paymentWindowMinutes":15}`); r.data()["paymentWindowMinutes"] != 15.0 || r.data()["graceMinutes"] != 0.0 {
			t.Errorf("an order's own window: %s", r.raw)
		}
	})
}

// A disabled project's keys are refused and its links take no payer; enabled again, all works.
func TestDisabledProject(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		e.svc.Chains = []string{"devnet"}
		r := e.as(e.test, "POST", "/api/v1/payment-links", `{"title":"Tee","amount":"5","currencies":[{"currency":"USDT","chainId":"devnet"}]}`)
		if r.status != 201 {
			t.Fatalf("link: %d %s", r.status, r.raw)
		}
		slug, _ := r.data()["slug"].(string)
		id, _ := r.data()["id"].(string)
		if r := e.as(e.test, "POST", "/api/v1/payment-links/"+id+"/publish", ""); r.status != 200 {
			t.Fatalf("publish: %d %s", r.status, r.raw)
		}
		ctx := context.Background()
		if _, err := e.svc.SetProjectDisabled(ctx, e.project.Project.ID, true); err != nil {
			t.Fatal(err)
		}
		if r := e.as(e.test, "GET", "/api/v1/orders", ""); r.status != 403 || r.str("error") != "Forbidden" || !strings.Contains(r.str("message"), "disabled") {
			t.Errorf("a disabled project's key: %d %s", r.status, r.raw)
		}
		link, err := e.svc.PublicPaymentLink(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Checkout(ctx, link, "USDT", "devnet", ""); gateway.ErrorCode(err) != gateway.EForbidden {
			t.Errorf("a disabled project's link checkout: %v", err)
		}
		if _, err := e.svc.SetProjectDisabled(ctx, e.project.Project.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Checkout(ctx, link, "USDT", "devnet", ""); err != nil {
			t.Errorf("enabled again, the link's checkout: %v", err)
		}
		if r := e.as(e.test, "GET", "/api/v1/orders", ""); r.status != 200 {
			t.Errorf("enabled again: %d %s", r.status, r.raw)
		}
	})
}
