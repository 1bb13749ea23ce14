package api_test

import (
	"context"
	"strings"
	"testing"
)

// GET /api/v1/audit-log: each change made through the API is a line naming the key, the client's
// address and the request's id; replays and refused changes are not; the log needs the secret and
// shows the key's mode and the project-wide lines only.
func TestAuditLogAPI(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		secret := []string{"x-api-secret", e.test.Secret}
		renamed := e.as(e.test, "PATCH", "/api/v1/project", `{"name":"Renamed"}`, secret...)
		if renamed.status != 200 {
			t.Fatalf("PATCH: %d %s", renamed.status, renamed.raw)
		}
		if r := e.as(e.test, "PATCH", "/api/v1/project", `{"paymentWindowMinutes":0}`, secret...); r.status != 400 {
			t.Fatalf("a bad PATCH: %d", r.status)
		}
		hook := e.as(e.test, "PUT", "/api/v1/webhook/endpoint", `{"url":"https://93.184.216.34/hooks"}`, secret...)
		if hook.status != 200 {
			t.Fatalf("PUT endpoint: %d %s", hook.status, hook.raw)
		}
		rotated := e.as(e.test, "POST", "/api/v1/webhook/secret/rotate", "", secret...)
		whsec, _ := rotated.data()["secret"].(string)
		if rotated.status != 200 || whsec == "" {
			t.Fatalf("rotate: %d %s", rotated.status, rotated.raw)
		}
		// The same destination twice under one Idempotency-Key, then once more without: one change.
		add := `{"address":"0x00000000000000000000000000000000000000aa","label":"cold"}`
		for i := 0; i < 2; i++ {
			if r := e.as(e.test, "POST", "/api/v1/withdrawal-destinations", add, append(secret, "Idempotency-Key", "dest-1")...); r.status/100 != 2 {
				t.Fatalf("add destination: %d %s", r.status, r.raw)
			}
		}
		if r := e.as(e.test, "POST", "/api/v1/withdrawal-destinations", add, secret...); r.status/100 != 2 {
			t.Fatalf("add destination again: %d %s", r.status, r.raw)
		}

		if r := e.as(e.test, "GET", "/api/v1/audit-log", ""); r.status != 401 || r.str("param") != "x-api-secret" {
			t.Fatalf("the audit log without the secret: %d %s", r.status, r.raw)
		}
		r := e.as(e.test, "GET", "/api/v1/audit-log", "", secret...)
		if r.status != 200 {
			t.Fatalf("GET audit-log: %d %s", r.status, r.raw)
		}
		for _, s := range []string{e.test.Secret, e.live.Secret, whsec} {
			if strings.Contains(string(r.raw), s) {
				t.Fatal("the audit log shows a secret")
			}
		}
		entries, _ := r.data()["entries"].([]any)
		var actions []string
		for _, x := range entries {
			actions = append(actions, x.(map[string]any)["action"].(string))
		}
		want := "destination.added webhook.secret_rotated webhook.url_set project.updated project.created"
		if strings.Join(actions, " ") != want {
			t.Fatalf("audit log = %v, want %s", actions, want)
		}
		if p := r.data()["pagination"].(map[string]any); p["total"] != 5.0 {
			t.Errorf("pagination = %v", p)
		}
		line := func(i int) map[string]any { return entries[i].(map[string]any) }
		actor := line(3)["actor"].(map[string]any)
		cred, err := e.svc.FindCredentialByKey(context.Background(), e.test.Key)
		if err != nil {
			t.Fatal(err)
		}
		if actor["type"] != "api_key" || actor["id"] != cred.ID {
			t.Errorf("project.updated actor = %v, want the test key", actor)
		}
		if actor["address"] != "127.0.0.1" || actor["requestId"] != renamed.header.Get("X-Request-Id") || actor["requestId"] == "" {
			t.Errorf("project.updated actor = %v, want 127.0.0.1 and the PATCH's request id %s", actor, renamed.header.Get("X-Request-Id"))
		}
		if d := line(3)["details"].(map[string]any)["name"].(map[string]any); d["from"] != "Shop" || d["to"] != "Renamed" {
			t.Errorf("project.updated details = %v", line(3)["details"])
		}
		if _, has := line(3)["mode"]; has {
			t.Errorf("project.updated has a mode: %v", line(3))
		}
		if line(0)["mode"] != "test" || line(2)["details"].(map[string]any)["to"] != "https://93.184.216.34/hooks" {
			t.Errorf("destination.added = %v, webhook.url_set = %v", line(0), line(2))
		}
		if line(4)["actor"].(map[string]any)["type"] != "system" {
			t.Errorf("project.created actor = %v, want stablegate's", line(4)["actor"])
		}

		// The live key sees the project-wide lines, not the test mode's.
		r = e.as(e.live, "GET", "/api/v1/audit-log", "", "x-api-secret", e.live.Secret)
		if p := r.data()["pagination"].(map[string]any); r.status != 200 || p["total"] != 2.0 {
			t.Fatalf("live audit log: %d %s", r.status, r.raw)
		}
		r = e.as(e.test, "GET", "/api/v1/audit-log?action=webhook.url_set&limit=1", "", secret...)
		if n := len(r.data()["entries"].([]any)); r.status != 200 || n != 1 {
			t.Fatalf("action filter: %d %s", r.status, r.raw)
		}
		for _, c := range []struct{ query, param string }{{"action=orders.deleted", "action"}, {"limit=0", "limit"}, {"page=0", "page"}} {
			if r := e.as(e.test, "GET", "/api/v1/audit-log?"+c.query, "", secret...); r.status != 400 || r.str("error") != "ValidationError" || r.str("param") != c.param {
				t.Errorf("?%s: %d %s", c.query, r.status, r.raw)
			}
		}
	})
}
