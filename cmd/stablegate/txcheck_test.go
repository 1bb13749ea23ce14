package main

import (
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/stablegate/stablegate/internal/devnet"
	"github.com/stablegate/stablegate/internal/evm"
	"github.com/stablegate/stablegate/internal/evm/evmtest"
)

// A provider loses a payment's log (the fault proxy hides it from eth_getLogs): the scanner passes
// the block and the order stays pending. `stablegate tx check` reads the receipt, records and
// credits the payment once, on time, through the scanner's path; a second check finds it recorded.
func TestTxCheckRecordsALostLog(t *testing.T) {
	ctx := context.Background()
	dn, err := devnet.Start(devnet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() }) // after dev stops (cleanups run last first)
	proxy, err := evmtest.Start(dn.RPCURL(), evmtest.Faults{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	creds, dir := startDev(t, "--devnet-rpc", proxy.URL())
	api := func(method, path, body string, secret bool) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, creds.BaseURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+creds.APIKey)
		if secret {
			req.Header.Set("x-api-secret", creds.APISecret)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out struct{ Data map[string]any }
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out.Data
	}
	_, o := api("POST", "/api/v1/orders", `{"orderReference":"lost-1","amount":"7.5","currency":"USDT","chainId":"devnet"}`, false)
	orderID, _ := o["orderId"].(string)
	hash, err := dn.Transfer(ctx, "USDT", common.HexToAddress(o["address"].(string)), big.NewInt(7_500_000))
	if err != nil {
		t.Fatal(err)
	}
	proxy.Set(evmtest.Faults{HideTxLogs: []string{strings.ToLower(hash.Hex())}})
	for range 4 {
		dn.Mine()
	}
	node, err := evm.NewClient([]string{dn.RPCURL()}, evm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	head, err := node.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, scanned := devnetHealth(t, creds.BaseURL); scanned >= head {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scanner never passed block %d", head)
		}
	}
	if _, got := api("GET", "/api/v1/orders/"+orderID, "", false); got["status"] != "pending" {
		t.Fatalf("with the log lost the order is %v", got["status"])
	}
	out, _, err := runCLI(t, "tx", "check", "--chain", "devnet", "--tx", hash.Hex(), "--data", dir)
	if err != nil || !strings.Contains(out, "recorded — ") || !strings.Contains(out, "7.5 USDT") || !strings.Contains(out, "recorded and credited now") {
		t.Fatalf("tx check: %v\n%s", err, out)
	}
	if _, got := api("GET", "/api/v1/orders/"+orderID, "", false); got["status"] != "completed" || got["paidLate"] != false || got["txHash"] != hash.Hex() {
		t.Fatalf("after tx check the order is %v", got)
	}
	// Once: the CLI again, and the API (the secret required), find it recorded.
	if out, _, err := runCLI(t, "tx", "check", "--chain", "devnet", "--tx", hash.Hex(), "--data", dir); err != nil || !strings.Contains(out, "already recorded") {
		t.Errorf("a second tx check: %v\n%s", err, out)
	}
	body := `{"chainId":"devnet","txHash":"` + hash.Hex() + `"}`
	if status, _ := api("POST", "/api/v1/transactions/check", body, false); status != 401 {
		t.Errorf("the API check without the secret: %d", status)
	}
	if status, got := api("POST", "/api/v1/transactions/check", body, true); status != 200 || got["outcome"] != "already recorded" {
		t.Errorf("the API check: %d %v", status, got)
	}
	if status, got := api("POST", "/api/v1/transactions/check", `{"chainId":"devnet","txHash":"0x`+strings.Repeat("ab", 32)+`"}`, true); status != 200 || got["outcome"] != "nothing to record" {
		t.Errorf("an unknown transaction: %d %v", status, got)
	}
	if status, _ := api("POST", "/api/v1/transactions/check", `{"chainId":"devnet","txHash":"0x12"}`, true); status != 400 {
		t.Errorf("a bad hash: %d", status)
	}
	if _, got := api("GET", "/api/v1/balances", "", false); !strings.Contains(strings.ReplaceAll(toJSON(got), " ", ""), `"available":"7.5"`) {
		t.Errorf("balances after the check: %v", got)
	}

	// Twenty checks of another lost payment at once: it is credited once.
	_, o2 := api("POST", "/api/v1/orders", `{"orderReference":"lost-2","amount":"2.5","currency":"USDT","chainId":"devnet"}`, false)
	hash2, err := dn.Transfer(ctx, "USDT", common.HexToAddress(o2["address"].(string)), big.NewInt(2_500_000))
	if err != nil {
		t.Fatal(err)
	}
	proxy.Set(evmtest.Faults{HideTxLogs: []string{strings.ToLower(hash2.Hex())}})
	for range 4 {
		dn.Mine()
	}
	head, _ = node.BlockNumber(ctx)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, scanned := devnetHealth(t, creds.BaseURL); scanned >= head {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scanner never passed block %d", head)
		}
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, _ := api("POST", "/api/v1/transactions/check", `{"chainId":"devnet","txHash":"`+hash2.Hex()+`"}`, true); status != 200 {
				t.Errorf("a concurrent check: %d", status)
			}
		}()
	}
	wg.Wait()
	if _, got := api("GET", "/api/v1/orders/"+o2["orderId"].(string), "", false); got["status"] != "completed" || got["paidAmount"] != "2.5" {
		t.Errorf("after twenty checks at once the order is %v", got)
	}
	if _, got := api("GET", "/api/v1/balances", "", false); !strings.Contains(toJSON(got), `"available":"10"`) {
		t.Errorf("after twenty checks at once the balances are %v, want 7.5 + 2.5 available", got)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
