package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// The master key is rotated the way docs/security.md tells an operator to, without a moment in
// which the gateway cannot read what it stored: restart with the new key and the old one as the
// previous key, run `keys rotate-master` while it serves, restart with the new key alone. The API
// key and secret, the stored Idempotency-Key answers (one of them a webhook secret shown once) and
// the hot wallet's seed work at every step; the old key alone reads nothing afterwards.
func TestRotateMasterKeyWhileServing(t *testing.T) {
	const oldKey, newKey = testMasterKey, "f0e0d0c0b0a090807060504030201000ffeeddccbbaa99887766554433221100"
	dir, addr := t.TempDir(), freeAddr(t)
	base := "http://" + addr
	// serve runs dev on dir with the master key (and previous key) until the returned stop.
	serve := func(master, previous string) (stop func()) {
		t.Helper()
		t.Setenv("STABLEGATE_MASTER_KEY", master)
		t.Setenv("STABLEGATE_PREVIOUS_MASTER_KEY", previous)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(ctx, []string{"dev", "--addr", addr, "--data", dir}, io.Discard, io.Discard) }()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if res, err := http.Get(base + "/health"); err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					break
				}
			}
			select {
			case err := <-done:
				t.Fatalf("dev exited at start: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("dev did not start")
			}
		}
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("dev exited with %v", err)
			}
		}
	}
	stop := serve(oldKey, "")
	var creds devCredentials
	if data, err := os.ReadFile(filepath.Join(dir, "dev-credentials.json")); err != nil || json.Unmarshal(data, &creds) != nil {
		t.Fatalf("dev credentials: %v", err)
	}
	call := func(method, path, idemKey string, secret bool, body string) (int, http.Header, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+creds.APIKey)
		req.Header.Set("Content-Type", "application/json")
		if secret {
			req.Header.Set("x-api-secret", creds.APISecret)
		}
		if idemKey != "" {
			req.Header.Set("Idempotency-Key", idemKey)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, res.Header, out
	}
	order := `{"orderReference":"rotate_1","amount":"10.50","currency":"USDT","chainId":"devnet"}`
	_, _, first := call("POST", "/api/v1/orders", "idem-order", false, order)
	_, _, rotated := call("POST", "/api/v1/webhook/secret/rotate", "idem-secret", true, "")
	shownOnce, _ := rotated["data"].(map[string]any)["secret"].(string)
	if !strings.HasPrefix(shownOnce, "whsec_") {
		t.Fatalf("webhook secret rotation = %v", rotated)
	}
	// everything works: the replays give the first answers, the secret proves itself, the seed
	// opens (the hot wallets need it).
	works := func(step string) {
		t.Helper()
		if status, h, o := call("POST", "/api/v1/orders", "idem-order", false, order); status != 201 || h.Get("Idempotent-Replayed") != "true" ||
			o["data"].(map[string]any)["orderId"] != first["data"].(map[string]any)["orderId"] {
			t.Errorf("%s: order replay = %d %v", step, status, o)
		}
		if status, h, o := call("POST", "/api/v1/webhook/secret/rotate", "idem-secret", true, ""); status != 200 || h.Get("Idempotent-Replayed") != "true" ||
			o["data"].(map[string]any)["secret"] != shownOnce {
			t.Errorf("%s: secret rotation replay = %d %v", step, status, o)
		}
		if status, _, o := call("GET", "/api/v1/wallets", "", true, ""); status != 200 {
			t.Errorf("%s: wallets = %d %v", step, status, o)
		}
	}
	works("old key")
	stop()

	// 1. Restart with the new key, the old one as the previous key: values sealed from now on are
	// sealed under the new key, and what the old one sealed still opens.
	stop = serve(newKey, oldKey)
	works("new key, old as previous")
	_, _, second := call("POST", "/api/v1/orders", "idem-order-2", false, `{"orderReference":"rotate_2","amount":"1","currency":"USDT","chainId":"devnet"}`)

	// 2. Rotate while it serves.
	out, stderr, err := runCLI(t, "keys", "rotate-master", "--data", dir)
	if err != nil || !strings.Contains(out, "master key "+gateway.KeyID(mustHex(t, newKey))) || !strings.Contains(out, "Sealed ") ||
		strings.Contains(out+stderr, newKey) || strings.Contains(out+stderr, oldKey) {
		t.Fatalf("keys rotate-master: %v\n%s%s", err, out, stderr)
	}
	works("rotated, serving")
	stop()

	// 3. The new key alone: every value opens, a check changes nothing, the old key reads nothing.
	t.Setenv("STABLEGATE_MASTER_KEY", newKey)
	t.Setenv("STABLEGATE_PREVIOUS_MASTER_KEY", "")
	out, _, err = runCLI(t, "keys", "rotate-master", "--data", dir, "--json")
	var check struct {
		KeyID  string `json:"keyId"`
		Values map[string]struct{ Checked, Resealed int }
	}
	if err != nil || json.Unmarshal([]byte(out), &check) != nil || check.Values["answers"].Checked < 3 || check.Values["seeds"].Checked != 1 {
		t.Fatalf("the check with the new key alone: %v\n%s", err, out)
	}
	for kind, v := range check.Values {
		if v.Resealed != 0 {
			t.Errorf("the check sealed %d %s again", v.Resealed, kind)
		}
	}
	t.Setenv("STABLEGATE_MASTER_KEY", oldKey)
	if _, _, err := runCLI(t, "keys", "rotate-master", "--data", dir); err == nil || !errors.Is(err, gateway.ErrSealed) ||
		!strings.Contains(err.Error(), "master key "+gateway.KeyID(mustHex(t, oldKey))) {
		t.Errorf("the old key alone after the rotation = %v, want ErrSealed naming the key", err)
	}
	// A gateway started with the old key alone refuses to start, naming the key.
	t.Setenv("STABLEGATE_MASTER_KEY", oldKey)
	if err := run(context.Background(), []string{"dev", "--addr", addr, "--data", dir}, io.Discard, io.Discard); !errors.Is(err, gateway.ErrSealed) ||
		!strings.Contains(err.Error(), "STABLEGATE_PREVIOUS_MASTER_KEY") {
		t.Errorf("dev with the old key alone after the rotation = %v, want a refusal", err)
	}
	stop = serve(newKey, "")
	works("new key alone")
	if status, h, _ := call("POST", "/api/v1/orders", "idem-order-2", false, `{"orderReference":"rotate_2","amount":"1","currency":"USDT","chainId":"devnet"}`); status != 201 ||
		h.Get("Idempotent-Replayed") != "true" || second == nil {
		t.Errorf("the answer sealed under the new key before the rotation: %d", status)
	}
	stop()

	// The rotation is one line of the audit log, by the operator.
	out, _, err = runCLI(t, "audit", "--data", dir, "--action", "master_key.rotated", "--json")
	var lines []auditJSON
	if err != nil || json.Unmarshal([]byte(out), &lines) != nil || len(lines) != 1 || lines[0].Actor.Type != "operator" ||
		lines[0].Subject != gateway.KeyID(mustHex(t, newKey)) {
		t.Errorf("audit: %v %s", err, out)
	}
	if strings.Contains(out, newKey) || strings.Contains(out, oldKey) {
		t.Errorf("the audit log shows a master key: %s", out)
	}
	// Mistakes: a previous key equal to the master key, a malformed one.
	t.Setenv("STABLEGATE_MASTER_KEY", newKey)
	for _, previous := range []string{newKey, "not-a-key"} {
		t.Setenv("STABLEGATE_PREVIOUS_MASTER_KEY", previous)
		if _, _, err := runCLI(t, "keys", "rotate-master", "--data", dir); err == nil || !strings.Contains(err.Error(), "previous master key") {
			t.Errorf("previous key %q: %v", previous[:8], err)
		}
	}
	if _, _, err := runCLI(t, "keys", "rotate"); exitCode(err) != 2 {
		t.Errorf("keys rotate: exit %d", exitCode(err))
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := decodeMasterKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
