package api_test

import (
	"testing"
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
