package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"
)

// devAPI calls the dev gateway's API with the demo project's key and secret.
func devAPI(t *testing.T, creds devCredentials, method, path, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, creds.BaseURL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+creds.APIKey)
	req.Header.Set("x-api-secret", creds.APISecret)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out struct {
		Success bool           `json:"success"`
		Data    map[string]any `json:"data"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || !out.Success {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	return out.Data
}

// The issue's "done when": stablegate dev, five orders paid from the dev wallet, `stablegate
// sweep` — and the hot wallet holds the sum, the order addresses nothing.
func TestSweepCommandAfterFivePaidOrders(t *testing.T) {
	creds, dir := startDev(t)
	var addrs []string
	for i := range 5 {
		d := devAPI(t, creds, "POST", "/api/v1/orders", fmt.Sprintf(`{"orderReference":"sweep-%d","amount":"%d.25","currency":"USDT","chainId":"devnet"}`, i, i+1))
		addrs = append(addrs, d["address"].(string))
		if _, _, err := runCLI(t, "dev", "pay", "--to", d["address"].(string), "--amount", fmt.Sprintf("%d.25", i+1), "--currency", "USDT", "--data", dir); err != nil {
			t.Fatal(err)
		}
		id := d["orderId"].(string)
		for deadline := time.Now().Add(20 * time.Second); devAPI(t, creds, "GET", "/api/v1/orders/"+id, "")["status"] != "completed"; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("order %s was not completed", id)
			}
		}
	}
	out, _, err := runCLI(t, "sweep", "--data", dir, "--project", creds.ProjectID, "--chain", "devnet", "--dry-run")
	if err != nil || !strings.Contains(out, "16.25 USDT from 5 addresses") || !strings.Contains(out, "Estimate:") || !strings.Contains(out, "Dry run") {
		t.Fatalf("sweep --dry-run: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "sweep", "--data", dir, "--project", creds.ProjectID, "--chain", "devnet")
	if err != nil || !strings.Contains(out, "completed — 16.25 USDT moved") {
		t.Fatalf("sweep: %v\n%s", err, out)
	}
	hot := devAPI(t, creds, "GET", "/api/v1/wallets", "")["wallets"].([]any)[0].(map[string]any)["address"].(string)
	waitBalance(t, creds.RPCURL, "USDT", hot, big.NewInt(16_250_000))
	for _, a := range addrs {
		waitBalance(t, creds.RPCURL, "USDT", a, new(big.Int))
	}
	sweeps := devAPI(t, creds, "GET", "/api/v1/sweeps", "")["sweeps"].([]any)
	if len(sweeps) != 1 || sweeps[0].(map[string]any)["status"] != "completed" || sweeps[0].(map[string]any)["moved"] != "16.25" {
		t.Fatalf("GET /api/v1/sweeps: %v", sweeps)
	}
	out, _, err = runCLI(t, "ledger", "verify", "--data", dir)
	if err != nil {
		t.Fatalf("ledger verify after the sweep: %v\n%s", err, out)
	}
	if out, _, err = runCLI(t, "sweep", "--data", dir, "--project", creds.ProjectID, "--chain", "devnet"); err != nil || !strings.Contains(out, "Nothing to sweep") {
		t.Fatalf("a second sweep: %v\n%s", err, out)
	}
}
