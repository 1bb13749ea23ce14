package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// 3PAY v2's withdrawal paths against a live `stablegate dev`: a user's deposit, a withdrawal
// request from their balance, listed as pending, approved with the API secret and sent on the
// devnet, read back as a payout; another rejected; the errors 3PAY's documents name.
func TestThreePayWithdrawalsAgainstDev(t *testing.T) {
	creds, dir := startDev(t, "--block-time", "300ms")
	call := func(method, path, body string, secret bool) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, creds.BaseURL+path, strings.NewReader(body))
		req.Header.Set("apikey", creds.APIKey)
		if secret {
			req.Header.Set("x-api-secret", creds.APISecret)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
		}
		return res.StatusCode, out
	}
	data := func(out map[string]any) map[string]any { d, _ := out["data"].(map[string]any); return d }
	until := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(150 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never happened", what)
			}
		}
	}
	// The user's deposit: 5 USDT on their address.
	_, bound := call("POST", "/api/v1/deposits/bind", `{"depositReference":"user-9","protocol":"evm"}`, false)
	if _, _, err := runCLI(t, "dev", "pay", "--to", data(bound)["address"].(string), "--amount", "5", "--currency", "USDT", "--data", dir); err != nil {
		t.Fatal(err)
	}
	until("the deposit's confirmation", func() bool {
		_, b := call("GET", "/api/v1/balances?depositReference=user-9", "", false)
		list, _ := data(b)["balances"].([]any)
		return len(list) == 1 && list[0].(map[string]any)["available"] == "5"
	})
	to := "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
	body := `{"userId":"user-9","amount":"2","network":"ERC20","address":"` + to + `","reference":"payout-1"}`
	if status, out := call("POST", "/api/v1/public/user/withdrawal/create", body, false); status != 401 || out["param"] != "x-api-secret" {
		t.Errorf("a withdrawal without the secret: %d %v", status, out)
	}
	status, created := call("POST", "/api/v1/public/user/withdrawal/create", body, true)
	w := data(created)
	if status != 201 || w["status"] != "pending" || w["userId"] != "user-9" || w["network"] != "ERC20" || w["chainId"] != "devnet" || w["amount"] != "2" {
		t.Fatalf("create: %d %v", status, created)
	}
	id := w["id"].(string)
	if status, again := call("POST", "/api/v1/public/user/withdrawal/create", body, true); status != 200 || data(again)["id"] != id {
		t.Errorf("the same reference again: %d %v", status, again)
	}
	_, list := call("GET", "/api/v1/public/withdrawal-requests", "", false)
	if reqs, _ := data(list)["requests"].([]any); len(reqs) != 1 || reqs[0].(map[string]any)["id"] != id {
		t.Errorf("pending requests: %v", list)
	}
	if status, out := call("POST", "/api/v1/public/withdrawal-requests/"+id+"/approve", "", false); status != 401 {
		t.Errorf("approve without the secret: %d %v", status, out)
	}
	if status, out := call("POST", "/api/v1/public/withdrawal-requests/"+id+"/approve", "", true); status != 200 || data(out)["status"] != "approved" && data(out)["status"] != "processing" {
		t.Fatalf("approve: %d %v", status, out)
	}
	until("the payout's completion", func() bool {
		_, p := call("GET", "/api/v1/public/payout/get?id="+id, "", false)
		return data(p)["status"] == "completed" && data(p)["txHash"] != nil
	})
	// Another, rejected; the errors.
	_, second := call("POST", "/api/v1/public/user/withdrawal/create", strings.Replace(body, "payout-1", "payout-2", 1), true)
	if status, out := call("POST", "/api/v1/public/withdrawal-requests/"+data(second)["id"].(string)+"/reject", `{"reason":"duplicate"}`, true); status != 200 ||
		data(out)["status"] != "rejected" || data(out)["reason"] != "duplicate" {
		t.Errorf("reject: %d %v", status, out)
	}
	if _, all := call("GET", "/api/v1/public/withdrawal-requests?status=all&userId=user-9", "", false); data(all)["pagination"].(map[string]any)["total"] != 2.0 {
		t.Errorf("all requests: %v", all)
	}
	for b, want := range map[string][2]string{
		strings.Replace(body, to, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", 1):                   {"NetworkMismatch", "address"},
		strings.Replace(body, `"network":"ERC20"`, `"network":"TRC20"`, 1):                   {"ValidationError", "network"},
		strings.Replace(body, `,"reference":"payout-1"`, "", 1):                              {"ValidationError", "reference"},
		strings.Replace(strings.Replace(body, "payout-1", "payout-3", 1), `"2"`, `"100"`, 1): {"InsufficientFunds", "amount"},
	} {
		if status, out := call("POST", "/api/v1/public/user/withdrawal/create", b, true); status < 400 || out["error"] != want[0] || out["param"] != want[1] {
			t.Errorf("%s: %d %v, want %v", b, status, out, want)
		}
	}
}
