package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// promtool returns Debian's promtool (package prometheus, which .ci/run installs); without it the
// test is skipped, except under CI=true.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is required under CI")
		}
		t.Skip("promtool not installed (apt-get install prometheus)")
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
	promtool := promtool(t)
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
