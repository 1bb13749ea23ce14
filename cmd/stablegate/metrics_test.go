package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// /metrics, on its own listener, tells Prometheus what happened: after an order is created and
// paid on the devnet and its webhook delivered, the request, payment and delivery counters moved,
// the order is counted completed, the chain's head and scan are there, the pools are reported;
// the public listener has no /metrics, and no label holds an order id or an API key.
func TestMetrics(t *testing.T) {
	metricsAddr := freeAddr(t)
	creds, dir := startDev(t, "--metrics-addr", metricsAddr)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer receiver.Close()
	call := func(method, path, body string, secret bool) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, creds.BaseURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+creds.APIKey)
		req.Header.Set("Content-Type", "application/json")
		if secret {
			req.Header.Set("x-api-secret", creds.APISecret)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := call("PUT", "/api/v1/webhook/endpoint", `{"url":"`+receiver.URL+`/webhooks"}`, true); res.StatusCode != 200 {
		t.Fatalf("set webhook endpoint: %d", res.StatusCode)
	}
	res := call("POST", "/api/v1/orders", `{"orderReference":"metrics_1","amount":"10.50","currency":"USDT","chainId":"devnet"}`, false)
	var order struct {
		Data struct{ OrderID, Address string }
	}
	json.NewDecoder(res.Body).Decode(&order)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("create order: %d", res.StatusCode)
	}
	call("POST", "/api/v1/orders", `{"amount":"0","currency":"USDT","chainId":"devnet"}`, false).Body.Close() // a 400
	if res, err := http.Get(creds.BaseURL + "/pay/" + order.Data.OrderID); err != nil || res.StatusCode != 200 {
		t.Fatalf("payment page: %v", err)
	}
	if _, _, err := runCLI(t, "dev", "pay", "--to", order.Data.Address, "--amount", "10.50", "--currency", "USDT", "--data", dir); err != nil {
		t.Fatal(err)
	}

	scrape := func() map[string]*dto.MetricFamily {
		t.Helper()
		res, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("/metrics: %d", res.StatusCode)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(res.Body)
		if err != nil {
			t.Fatalf("parse /metrics: %v", err)
		}
		return fams
	}
	// value sums the family's samples whose labels include want.
	value := func(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
		f, ok := fams[name]
		if !ok {
			return 0, false
		}
		sum, found := 0.0, false
	metric:
		for _, m := range f.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue metric
				}
			}
			found = true
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
		return sum, found
	}
	var fams map[string]*dto.MetricFamily
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		fams = scrape()
		completed, _ := value(fams, "stablegate_orders", map[string]string{"mode": "test", "status": "completed"})
		delivered, _ := value(fams, "stablegate_webhook_deliveries_total", map[string]string{"result": "delivered"})
		if completed >= 1 && delivered >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the paid order or its webhook never showed: completed %v, delivered %v", completed, delivered)
		}
	}
	for _, c := range []struct {
		name    string
		labels  map[string]string
		atLeast float64
	}{
		{"stablegate_http_requests_total", map[string]string{"route": "POST /api/v1/orders", "method": "POST", "status": "201"}, 1},
		{"stablegate_http_requests_total", map[string]string{"route": "POST /api/v1/orders", "status": "400"}, 1},
		{"stablegate_http_requests_total", map[string]string{"route": "GET /pay/{id}", "status": "200"}, 1},
		{"stablegate_http_request_duration_seconds", map[string]string{"route": "POST /api/v1/orders"}, 2},
		{"stablegate_payments_detected_total", map[string]string{"chain": "devnet", "currency": "USDT", "kind": "order"}, 1},
		{"stablegate_payment_detection_seconds", map[string]string{"chain": "devnet"}, 1},
		{"stablegate_rpc_requests_total", map[string]string{"chain": "devnet", "method": "eth_getLogs"}, 1},
		{"stablegate_chain_head_block", map[string]string{"chain": "devnet"}, 1},
		{"stablegate_chain_scanned_block", map[string]string{"chain": "devnet"}, 1},
		{"stablegate_chain_scanning", map[string]string{"chain": "devnet"}, 1},
		{"stablegate_webhook_delivery_duration_seconds", nil, 1},
		{"go_sql_open_connections", map[string]string{"pool": "write", "db_name": "stablegate"}, 0},
		{"go_sql_open_connections", map[string]string{"pool": "read"}, 0},
		{"stablegate_webhook_queue_depth", nil, 0},
		{"stablegate_hot_wallet_gas", map[string]string{"chain": "devnet", "mode": "test", "project": creds.ProjectID}, 99}, // dev funds it with 100 ETH
		{"go_goroutines", nil, 1},
	} {
		if v, ok := value(fams, c.name, c.labels); !ok || v < c.atLeast {
			t.Errorf("%s%v = %v (present %v), want at least %v", c.name, c.labels, v, ok, c.atLeast)
		}
	}
	if v, ok := value(fams, "stablegate_chain_lag_blocks", map[string]string{"chain": "devnet"}); !ok || v > 50 {
		t.Errorf("devnet lag = %v blocks", v)
	}
	// No label carries an order id, a key or a path with an id in it.
	for name, f := range fams {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if v := l.GetValue(); strings.Contains(v, order.Data.OrderID) || strings.Contains(v, creds.APIKey) || strings.Contains(v, "ord_") {
					t.Errorf("%s has the label %s=%q", name, l.GetName(), v)
				}
			}
		}
	}
	// What the dashboard and the alert rules read, and what docs/metrics.md lists, is served (the
	// outgoing transactions' gauge and the RPC errors' counter once there is one).
	doc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, n := range regexp.MustCompile("`((?:stablegate|go_sql)_[a-z_]+)`").FindAllStringSubmatch(string(doc), -1) {
		documented[n[1]] = true
	}
	for n := range deployMetricNames(t) {
		if !documented[n] && strings.HasPrefix(n, "stablegate_") {
			t.Errorf("deploy/ reads %s, which docs/metrics.md does not list", n)
		}
		documented[n] = true
	}
	for n := range documented {
		if _, ok := fams[n]; !ok && n != "stablegate_outgoing_transactions" && n != "stablegate_rpc_errors_total" {
			t.Errorf("%s is documented or read by deploy/, and not served", n)
		}
	}
	// The public listener does not serve them.
	if res, err := http.Get(creds.BaseURL + "/metrics"); err != nil || res.StatusCode != 404 {
		t.Errorf("/metrics on the public listener: %v %v", err, res.StatusCode)
	}
}

// Metrics asked for on an address that is taken: the gateway refuses to start, rather than run
// without them.
func TestMetricsAddressTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = run(context.Background(), []string{"dev", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--metrics-addr", ln.Addr().String()}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "metrics listener") {
		t.Errorf("dev with a taken metrics address = %v", err)
	}
}
