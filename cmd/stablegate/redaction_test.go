package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The redaction check (issue 16): after a run that pays an order, delivers its webhook, rotates the
// webhook secret, makes and revokes a key pair and creates a project with a seed, no log line (at
// debug level) and no file of the data directory holds any secret the run made — API secrets,
// webhook secrets, the recovery phrase, the master key — except the two files that exist to hold
// them: master.key, and dev-credentials.json (the demo's credentials, by design). The audit log
// records the changes and names no secret.
func TestRedaction(t *testing.T) {
	dir := t.TempDir()
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dev", "--addr", "127.0.0.1:0", "--data", dir, "--log-level", "debug"}, io.Discard, logs)
	}()
	var creds devCredentials
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		raw, err := os.ReadFile(filepath.Join(dir, "dev-credentials.json"))
		if err == nil && json.Unmarshal(raw, &creds) == nil && creds.BaseURL != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("dev did not start")
		}
	}
	secrets := map[string]string{"api secret": creds.APISecret, "webhook secret": creds.WebhookSecret}

	received := make(chan struct{}, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { received <- struct{}{} }))
	defer receiver.Close()
	devAPI(t, creds, "PUT", "/api/v1/webhook/endpoint", `{"url":"`+receiver.URL+`"}`)
	order := devAPI(t, creds, "POST", "/api/v1/orders", `{"orderReference":"redact-1","amount":"2","currency":"USDT","chainId":"devnet"}`)
	cli := func(args ...string) string { // a command's diagnostics are logs too
		t.Helper()
		out, errOut, err := runCLI(t, args...)
		logs.Write([]byte(errOut))
		if err != nil {
			t.Fatalf("%v: %v\n%s%s", args, err, out, errOut)
		}
		return out
	}
	cli("dev", "pay", "--to", order["address"].(string), "--amount", "2", "--currency", "USDT", "--data", dir)
	select {
	case <-received:
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook was delivered")
	}
	secrets["rotated webhook secret"] = devAPI(t, creds, "POST", "/api/v1/webhook/secret/rotate", "")["secret"].(string)

	out := cli("projects", "new-key", "--data", dir, "--project", creds.ProjectID, "--mode", "test", "--json")
	var pair struct{ KeyID, APIKey, APISecret string }
	if json.Unmarshal([]byte(out), &pair) != nil || pair.APISecret == "" {
		t.Fatalf("new-key: %s", out)
	}
	secrets["new api secret"] = pair.APISecret
	cli("projects", "revoke-key", "--data", dir, "--key", pair.KeyID)
	out = cli("projects", "create", "--data", dir, "--name", "Seeded", "--website", "https://seeded.example.com", "--json")
	var created createdJSON
	if json.Unmarshal([]byte(out), &created) != nil || created.Mnemonic == "" {
		t.Fatalf("projects create: %s", out)
	}
	// A sweep: the demo project's seed opened, keys derived, transactions signed.
	cli("sweep", "--data", dir, "--project", creds.ProjectID, "--chain", "devnet", "--include-collecting")
	secrets["created test secret"], secrets["created live secret"] = created.Test.APISecret, created.Live.APISecret
	secrets["created webhook secret"] = created.Test.WebhookSecret
	words := strings.Fields(created.Mnemonic)
	secrets["recovery phrase (its first six words)"] = strings.Join(words[:6], " ")
	key, err := os.ReadFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	secrets["master key"] = strings.TrimSpace(string(key))

	// The audit log recorded these changes, and names no secret either.
	audit := cli("audit", "--data", dir, "--json")
	for _, action := range []string{"webhook.url_set", "webhook.secret_rotated", "credential.created", "credential.revoked", "project.created", "sweep.requested"} {
		if !strings.Contains(audit, `"action": "`+action+`"`) {
			t.Errorf("the audit log has no %s line:\n%s", action, audit)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("dev exited with %v", err)
	}
	for what, s := range secrets {
		if len(s) < 16 {
			t.Fatalf("%s %q is too short to search for", what, s)
		}
		if strings.Contains(logs.String(), s) {
			t.Errorf("the log holds the %s", what)
		}
		if strings.Contains(audit, s) {
			t.Errorf("the audit log holds the %s", what)
		}
	}
	searched := 0
	err = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		switch filepath.Base(path) {
		case "master.key", "dev-credentials.json":
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		searched++
		for what, s := range secrets {
			if strings.Contains(string(raw), s) {
				t.Errorf("%s holds the %s", path, what)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if searched < 3 || !strings.Contains(logs.String(), "level=DEBUG") {
		t.Fatalf("searched %d files; debug logs: %v", searched, strings.Contains(logs.String(), "level=DEBUG"))
	}
	t.Logf("%d secrets searched for in %d bytes of logs and %d files", len(secrets), len(logs.String()), searched)
}
