package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The official TypeScript MCP SDK's client (testdata/mcpclient, installed by .ci/run with npm)
// against a running stablegate dev: it lists the tools, creates an order, reads it back, and gets
// a clear error for a bad amount.
func TestMCPWithTheTypeScriptSDK(t *testing.T) {
	dir := filepath.Join("testdata", "mcpclient")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the TypeScript MCP SDK is required under CI: (cd cmd/stablegate/testdata/mcpclient && npm ci)")
		}
		t.Skip("the TypeScript MCP SDK is not installed: (cd cmd/stablegate/testdata/mcpclient && npm ci)")
	}
	creds, _ := startDev(t)
	cmd := exec.Command("node", "client.mjs", creds.BaseURL, creds.APIKey)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node client.mjs: %v\n%s", err, out)
	}
	var got struct {
		Tools          []string
		CreatedIsError bool
		ID             string
		Read           map[string]any
		BadIsError     bool
		BadText        string
		BadType        string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("client output: %v\n%s", err, out)
	}
	if !slices.Contains(got.Tools, "create_order") || !slices.Contains(got.Tools, "simulate_payment") || len(got.Tools) < 13 {
		t.Errorf("tools = %v", got.Tools)
	}
	if got.CreatedIsError || !strings.HasPrefix(got.ID, "ord_") || got.Read["orderId"] != got.ID || got.Read["amount"] != "12.34" ||
		got.Read["chainId"] != "devnet" {
		t.Errorf("created %s, read %v", got.ID, got.Read)
	}
	if !got.BadIsError || got.BadType != "ValidationError" || !strings.Contains(got.BadText, "amount") {
		t.Errorf("a bad amount: isError %v, %s %q", got.BadIsError, got.BadType, got.BadText)
	}
}
