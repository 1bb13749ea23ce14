package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// tool returns the path of a program a test needs (which .ci/run installs); without it the test
// is skipped, except under CI=true.
func tool(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI", name)
		}
		t.Skipf("%s not installed (%s)", name, install)
	}
	return path
}

// dashboardQueries are the PromQL expressions of the Grafana dashboard's panels.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../deploy/grafana/stablegate.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	var out []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	return out
}

// The alert rules are valid and fire on what they are for (promtool's unit tests), and every
// query of the dashboard is valid PromQL (checked as recording rules, Grafana's variables given
// values).
func TestDeployPrometheusFiles(t *testing.T) {
	promtool := tool(t, "promtool", "apt-get install prometheus")
	dir := "../../deploy/prometheus"
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	vars := strings.NewReplacer("$__rate_interval", "5m", "$instance", ".*")
	for i, q := range dashboardQueries(t) {
		b, _ := json.Marshal(vars.Replace(q)) // a JSON string is a YAML string
		rules.WriteString("      - record: dashboard:query" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "\n        expr: " + string(b) + "\n")
	}
	path := filepath.Join(t.TempDir(), "dashboard.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("a dashboard query is not valid PromQL: %v\n%s", err, out)
	}
}

var metricName = regexp.MustCompile(`\b(?:stablegate|go_sql|process|go)_[a-z_]+\b`)

// deployMetricNames are the metric names the dashboard and the alert rules read.
func deployMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	alerts, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, text := range append(dashboardQueries(t), string(alerts)) {
		for _, n := range metricName.FindAllString(text, -1) {
			names[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")] = true
		}
	}
	return names
}

const exampleConfig = "../../deploy/stablegate.example.json"

// The example configuration holds every option with its default (and a chain to show the shape),
// and loads as it is. UPDATE_EXAMPLE=1 writes it anew from the options.
func TestExampleConfiguration(t *testing.T) {
	if os.Getenv("UPDATE_EXAMPLE") == "1" {
		var b strings.Builder
		b.WriteString("{\n")
		for _, o := range options {
			v, _ := json.Marshal(o.def)
			fmt.Fprintf(&b, "  %q: %s,\n", o.key, v)
		}
		b.WriteString("  \"chains\": {\n    \"ethereum\": {\"rpcUrls\": [\"https://ethereum-rpc.example.com\", \"wss://ethereum-ws.example.com\"]}\n  }\n}\n")
		if err := os.WriteFile(exampleConfig, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("the example is not JSON: %v", err)
	}
	for _, o := range options {
		if v, ok := got[o.key]; !ok || v != o.def {
			t.Errorf("%s = %v (present %v), want its default %q", o.key, v, ok, o.def)
		}
		delete(got, o.key)
	}
	delete(got, "chains")
	for k := range got {
		t.Errorf("the example has %q, which is no option", k)
	}
	t.Setenv("STABLEGATE_CONFIG", exampleConfig)
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c, err := newConfigFlags(fs, true, nil).load()
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	if len(c.Chains["ethereum"].RPCURLs) != 2 || c.Addr != "127.0.0.1:8080" {
		t.Errorf("loaded example = %+v", c)
	}
}

// The systemd unit verifies, and its hardening keeps systemd's exposure score low.
func TestSystemdUnit(t *testing.T) {
	analyze := tool(t, "systemd-analyze", "apt-get install systemd")
	unit, err := os.ReadFile("../../deploy/systemd/stablegate.service")
	if err != nil {
		t.Fatal(err)
	}
	// verify checks that ExecStart's program exists: the test's own binary stands in for it.
	self, _ := os.Executable()
	path := filepath.Join(t.TempDir(), "stablegate.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/stablegate", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	if out, err := exec.Command(analyze, "security", "--offline=true", "--threshold=20", path).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze security: exposure over 2.0 (%v)\n%s", err, out[max(0, len(out)-300):])
	}
}

// healthcheck (the container's HEALTHCHECK) passes on a running gateway, found by its URL or by
// the addr of the configuration, and fails on one that does not answer.
func TestHealthcheck(t *testing.T) {
	creds, _ := startDev(t)
	// Healthy, or degraded while the devnet's first scan is still to come on a busy machine: both
	// answer 200, and both pass.
	passes := func(out string) bool {
		return strings.HasPrefix(out, "healthy") || strings.HasPrefix(out, "degraded: ")
	}
	out, _, err := runCLI(t, "healthcheck", "--url", creds.BaseURL)
	if err != nil || !passes(out) {
		t.Errorf("healthcheck --url: %v %q", err, out)
	}
	_, port, _ := strings.Cut(strings.TrimPrefix(creds.BaseURL, "http://"), ":")
	t.Setenv("STABLEGATE_ADDR", "0.0.0.0:"+port) // as in the container
	if out, _, err := runCLI(t, "healthcheck"); err != nil || !passes(out) {
		t.Errorf("healthcheck from the configuration's addr: %v %q", err, out)
	}
	if _, _, err := runCLI(t, "healthcheck", "--url", "http://"+freeAddr(t), "--timeout", "2s"); err == nil || exitCode(err) != 1 {
		t.Errorf("healthcheck of nothing: %v", err)
	}
	unhealthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		w.Write([]byte(`{"status":"unhealthy","reasons":["database: connection refused"]}`))
	}))
	defer unhealthy.Close()
	if _, _, err := runCLI(t, "healthcheck", "--url", unhealthy.URL); err == nil || !strings.Contains(err.Error(), "503 unhealthy: database") {
		t.Errorf("healthcheck of an unhealthy gateway: %v", err)
	}
}
