package api_test

import "testing"

func TestDepositsAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		r := e.as(e.test, "POST", "/api/v1/deposits/bind", `{"depositReference":"user_1","protocol":"evm","metadata":{"tier":"gold"}}`)
		d := r.data()
		if r.status != 201 || d["address"] != "0x9858EfFD232B4033E47d90003D41EC34EcaEda94" || d["protocol"] != "evm" || d["bound"] != true {
			t.Fatalf("bind: %d %s", r.status, r.raw)
		}
		if chains := d["monitoredChains"].([]any); len(chains) == 0 {
			t.Fatalf("monitoredChains = %v", chains)
		}
		// The same reference again: the same address, 200.
		if r := e.as(e.test, "POST", "/api/v1/deposits/bind", `{"depositReference":"user_1","protocol":"evm"}`); r.status != 200 || r.data()["address"] != d["address"] {
			t.Fatalf("bind again: %d %s", r.status, r.raw)
		}
		tron := e.as(e.test, "POST", "/api/v1/deposits/bind", `{"depositReference":"user_2","protocol":"tron"}`)
		if tron.status != 201 || tron.data()["address"] != "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH" { // m/44'/195'/0'/0/0
			t.Fatalf("tron bind: %d %s", tron.status, tron.raw)
		}
		for _, c := range []struct {
			body, param string
			status      int
		}{
			{`{"depositReference":"user_1","protocol":"tron"}`, "protocol", 409},
			{`{"depositReference":"","protocol":"evm"}`, "depositReference", 400},
			{`{"depositReference":"x","protocol":"btc"}`, "protocol", 400},
			{`{"depositReference":"x","protocol":"evm","metadata":[1]}`, "metadata", 400},
		} {
			r := e.as(e.test, "POST", "/api/v1/deposits/bind", c.body)
			if r.status != c.status || r.str("param") != c.param {
				t.Errorf("bind %s: %d %s", c.body, r.status, r.raw)
			}
		}
		// Modes do not cross: the live key does not see the test binding.
		if r := e.as(e.live, "GET", "/api/v1/deposits/references/user_1", ""); r.status != 404 || r.str("error") != "NotFound" {
			t.Fatalf("live sees the test reference: %d %s", r.status, r.raw)
		}
		r = e.as(e.test, "GET", "/api/v1/deposits/references/user_1", "")
		if d := r.data(); r.status != 200 || d["totalDeposits"] != 0.0 || d["totalAmount"] != "0" || d["boundAt"] == nil {
			t.Fatalf("reference: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "POST", "/api/v1/deposits/unbind", `{"depositReference":"nobody"}`); r.status != 404 {
			t.Fatalf("unbind unknown: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "POST", "/api/v1/deposits/unbind", `{"depositReference":"user_1"}`); r.status != 200 || r.data()["bound"] != false {
			t.Fatalf("unbind: %d %s", r.status, r.raw)
		}
		// Binding again after unbind: the same address, bound again.
		if r := e.as(e.test, "POST", "/api/v1/deposits/bind", `{"depositReference":"user_1","protocol":"evm"}`); r.data()["address"] != d["address"] || r.data()["bound"] != true {
			t.Fatalf("rebind: %s", r.raw)
		}
		if r := e.as(e.test, "GET", "/api/v1/deposits?status=done", ""); r.status != 400 || r.str("param") != "status" {
			t.Fatalf("bad status filter: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "GET", "/api/v1/deposits?limit=0", ""); r.status != 400 || r.str("param") != "limit" {
			t.Fatalf("bad limit: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "GET", "/api/v1/deposits?status=completed", ""); r.status != 200 || len(r.data()["deposits"].([]any)) != 0 {
			t.Fatalf("list: %d %s", r.status, r.raw)
		}
	})
}
