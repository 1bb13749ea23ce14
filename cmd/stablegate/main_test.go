package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/stablegate/stablegate/internal/devnet"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/testpg"
)

const testMasterKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// TestMain stops the shared PostgreSQL cluster of testpg.DSN after the tests.
func TestMain(m *testing.M) { testpg.Main(m) }

func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"dev", "--help"}, {"serve", "--help"}, {"migrate", "--help"}, {"projects", "create", "--help"},
		{"projects", "list", "--help"}, {"projects", "keys", "--help"}, {"projects", "new-key", "--help"}, {"projects", "revoke-key", "--help"},
		{"projects", "update", "--help"}, {"projects", "disable", "--help"}, {"projects", "enable", "--help"}, {"projects", "go-live", "--help"},
		{"projects", "go-test", "--help"}, {"devnet", "--help"},
		{"wallets", "--help"}, {"sweep", "--help"}, {"tx", "check", "--help"}, {"dev", "pay", "--help"}, {"version", "--help"}, {"ledger", "verify", "--help"},
		{"audit", "--help"}, {"keys", "rotate-master", "--help"}, {"healthcheck", "--help"}, {"users", "create", "--help"}} {
		_, stderr, err := runCLI(t, args...)
		if !errors.Is(err, flag.ErrHelp) || exitCode(err) != 0 || !strings.Contains(stderr, "Usage: stablegate") {
			t.Errorf("%v: err=%v stderr=%q", args, err, stderr)
		}
	}
	for _, args := range [][]string{{"--help"}, {"projects", "--help"}, {"ledger", "--help"}, {"keys", "--help"}, {"users", "--help"}} {
		stdout, stderr, err := runCLI(t, args...)
		if err != nil && exitCode(err) != 0 || !strings.Contains(stdout+stderr, "Usage:") {
			t.Errorf("%v: err=%v output=%q", args, err, stdout+stderr)
		}
	}
	// The top-level usage names every command; serve's help names what it needs from the environment.
	if out, stderr, _ := runCLI(t, "--help"); !strings.Contains(out+stderr, "new-key") || !strings.Contains(out+stderr, "revoke-key") ||
		!strings.Contains(out+stderr, "update|disable|enable") {
		t.Errorf("usage lacks the key commands:\n%s%s", out, stderr)
	}
	if _, stderr, _ := runCLI(t, "serve", "--help"); !strings.Contains(stderr, "STABLEGATE_MASTER_KEY") || !strings.Contains(stderr, "STABLEGATE_RPC_") {
		t.Errorf("serve --help does not name its environment:\n%s", stderr)
	}
	// Number, duration and boolean options are typed as such (issue 11, item 18), and refuse
	// what is not one; a boolean may be given alone.
	if _, stderr, _ := runCLI(t, "serve", "--help"); !strings.Contains(stderr, "-webhook-concurrency int") ||
		!strings.Contains(stderr, "-webhook-timeout duration") || !strings.Contains(stderr, "-webhook-allow-private\n") {
		t.Errorf("serve --help does not type its options:\n%s", stderr)
	}
	if _, _, err := runCLI(t, "serve", "--webhook-concurrency", "many"); exitCode(err) != 2 {
		t.Errorf("--webhook-concurrency many: exit %d (%v)", exitCode(err), err)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cf := newConfigFlags(fs, true, nil)
	if err := fs.Parse([]string{"--webhook-allow-private", "--webhook-timeout", "3s"}); err != nil {
		t.Fatal(err)
	}
	if *cf.values["webhookAllowPrivate"] != "true" || *cf.values["webhookTimeout"] != "3s" {
		t.Errorf("typed flags parsed to %q, %q", *cf.values["webhookAllowPrivate"], *cf.values["webhookTimeout"])
	}
	// A command that does not run the gateway offers only the options it uses.
	_, stderr, _ := runCLI(t, "migrate", "--help")
	if !strings.Contains(stderr, "-database") || strings.Contains(stderr, "-webhook-timeout") || strings.Contains(stderr, "-addr") {
		t.Errorf("migrate --help lists options it does not use:\n%s", stderr)
	}
	out, _, err := runCLI(t, "version")
	if err != nil || !strings.HasPrefix(out, "stablegate ") {
		t.Errorf("version = %q, %v", out, err)
	}
	if _, _, err := runCLI(t, "bogus"); exitCode(err) != 2 {
		t.Errorf("unknown command exit = %d", exitCode(err))
	}
	if _, _, err := runCLI(t, "projects", "create", "--name", "x"); exitCode(err) != 2 {
		t.Errorf("missing --website exit = %d (%v)", exitCode(err), err)
	}
}

// A flag beats the environment, the environment beats the file, the file beats the default.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.json")
	os.WriteFile(file, []byte(`{"addr":"127.0.0.1:1111","logLevel":"warn","publicUrl":"https://file.example.com"}`), 0o600)
	t.Setenv("STABLEGATE_LOG_LEVEL", "debug")
	t.Setenv("STABLEGATE_PUBLIC_URL", "https://env.example.com")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cf := newConfigFlags(fs, true, nil)
	if err := fs.Parse([]string{"--config", file, "--public-url", "https://flag.example.com"}); err != nil {
		t.Fatal(err)
	}
	c, err := cf.load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:1111" || c.LogLevel != "debug" || c.PublicURL != "https://flag.example.com" || c.DataDir != "./.stablegate" {
		t.Errorf("config = %+v", c)
	}
	os.WriteFile(file, []byte(`{"adrr":"x"}`), 0o600)
	if _, err := cf.load(); err == nil || !strings.Contains(err.Error(), `unknown option "adrr"`) {
		t.Errorf("unknown option in file: %v", err)
	}
}

// Every option is documented in docs/configuration.md.
func TestConfigurationDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range options {
		for _, name := range []string{o.env, o.key} {
			if !strings.Contains(string(doc), "`"+name+"`") {
				t.Errorf("docs/configuration.md does not mention `%s`", name)
			}
		}
		if o.flag != "" && !strings.Contains(string(doc), "`--"+o.flag+"`") {
			t.Errorf("docs/configuration.md does not mention `--%s`", o.flag)
		}
	}
}

func TestLogsRedactSecrets(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, "json", "info")
	log.Info("x", "api_secret", "sk_test_abc", "mnemonic", "abandon", "Authorization", "Bearer pk", "order_id", "ord_1")
	out := buf.String()
	for _, s := range []string{"sk_test_abc", "abandon", "Bearer pk"} {
		if strings.Contains(out, s) {
			t.Errorf("log line leaks %q: %s", s, out)
		}
	}
	if !strings.Contains(out, "ord_1") {
		t.Errorf("log line lost a harmless value: %s", out)
	}
}

func TestProjectsCreateAndList(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STABLEGATE_MASTER_KEY", testMasterKey)
	out, _, err := runCLI(t, "projects", "create", "--data", dir, "--name", "Shop", "--website", "https://shop.example.com", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var created createdJSON
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if !strings.HasPrefix(created.Test.APIKey, "pk_test_") || !strings.HasPrefix(created.Test.APISecret, "sk_test_") ||
		!strings.HasPrefix(created.Live.APIKey, "pk_live_") || !strings.HasPrefix(created.Live.APISecret, "sk_live_") ||
		len(strings.Fields(created.Mnemonic)) != 24 || created.WatchOnly || !created.LiveReady {
		t.Errorf("created = %+v", created)
	}
	// The secrets are shown once: the database holds none of them.
	db, _ := os.ReadFile(filepath.Join(dir, "stablegate.db"))
	wal, _ := os.ReadFile(filepath.Join(dir, "stablegate.db-wal"))
	if !strings.HasPrefix(created.Test.WebhookSecret, "whsec_") || !strings.HasPrefix(created.Live.WebhookSecret, "whsec_") ||
		created.Test.WebhookSecret == created.Live.WebhookSecret {
		t.Errorf("webhook secrets = %q, %q", created.Test.WebhookSecret, created.Live.WebhookSecret)
	}
	for _, s := range []string{created.Test.APIKey, created.Test.APISecret, created.Live.APISecret, created.Mnemonic, created.Test.WebhookSecret} {
		if bytes.Contains(db, []byte(s)) || bytes.Contains(wal, []byte(s)) {
			t.Errorf("the database file holds a secret in clear: %.12s…", s)
		}
	}
	// Watch-only with an xpub, and the website rule.
	xpub := "xpub6BosfCnifzxcFwrSzQiqu2DBVTshkCXacvNsWGYJVVhhawA7d4R5WSWGFNbi8Aw6ZRc1brxMyWMzG3DSSSSoekkudhUd9yLb6qx39T9nMdj"
	out, _, err = runCLI(t, "projects", "create", "--data", dir, "--name", "Watch", "--website", "http://localhost:3000", "--xpub-evm", xpub)
	if err != nil || !strings.Contains(out, "Watch-only project") || !strings.Contains(out, "live mode is refused") {
		t.Errorf("watch-only create: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, "projects", "create", "--data", dir, "--name", "Dup", "--website", "https://shop.example.com/other"); err == nil || !strings.Contains(err.Error(), "already linked") {
		t.Errorf("duplicate website: %v", err)
	}
	// --webhook-url: https serves both modes; http only test mode; an internal address neither.
	out, _, err = runCLI(t, "projects", "create", "--data", dir, "--name", "Hooks", "--website", "https://hooks.example.com",
		"--webhook-url", "https://93.184.216.34/hooks", "--json")
	if err != nil || json.Unmarshal([]byte(out), &created) != nil || created.Test.WebhookURL != "https://93.184.216.34/hooks" ||
		created.Live.WebhookURL != "https://93.184.216.34/hooks" {
		t.Errorf("https webhook URL: %v %s", err, out)
	}
	out, _, err = runCLI(t, "projects", "create", "--data", dir, "--name", "Plain", "--website", "https://plain.example.com",
		"--webhook-url", "http://93.184.216.34/hooks")
	if err != nil || !strings.Contains(out, "test mode only") {
		t.Errorf("http webhook URL: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, "projects", "create", "--data", dir, "--name", "Inside", "--website", "https://inside.example.com",
		"--webhook-url", "https://10.0.0.8/hooks"); err == nil || !strings.Contains(err.Error(), "private or internal") {
		t.Errorf("private webhook URL: %v", err)
	}
	out, _, err = runCLI(t, "projects", "list", "--data", dir, "--json")
	var rows []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 4 {
		t.Fatalf("list = %v %s", err, out)
	}
	if _, _, err := runCLI(t, "migrate", "--data", dir); err != nil {
		t.Errorf("migrate on an up-to-date database: %v", err)
	}

	// projects update: the project made on localhost takes a real website and goes live.
	var watch string
	for _, r := range rows {
		if r["name"] == "Watch" {
			watch, _ = r["projectId"].(string)
		}
	}
	out, _, err = runCLI(t, "projects", "update", watch, "--data", dir, "--name", "Watch shop", "--website", "https://watch.example.com",
		"--payment-window", "45", "--grace", "0", "--confirmations", "ethereum=20,devnet=2")
	if err != nil || !strings.Contains(out, `"Watch shop", https://watch.example.com (live payments: yes), payment window 45 min, grace 0 min`) ||
		!strings.Contains(out, "Confirmations asked above the chains' rules: devnet=2, ethereum=20.") {
		t.Errorf("projects update: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "projects", "update", watch, "--data", dir, "--allowed-origins", "https://Watch.example.com, http://localhost:3000")
	if err != nil || !strings.Contains(out, "Browser origins allowed: https://watch.example.com, http://localhost:3000.") {
		t.Errorf("projects update --allowed-origins: %v\n%s", err, out)
	}
	if out, _, err = runCLI(t, "projects", "update", watch, "--data", dir, "--allowed-origins", ""); err != nil || !strings.Contains(out, "Browser origins allowed: none") {
		t.Errorf("projects update --allowed-origins '': %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "projects", "update", watch, "--data", dir, "--shared-address", "devnet, ethereum=0.001:0.05")
	if err != nil || !strings.Contains(out, "Chains paid to the shared address: devnet (offsets 0.0001 to 0.0999), ethereum (offsets 0.001 to 0.05).") {
		t.Errorf("projects update --shared-address: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "projects", "update", watch, "--data", dir, "--shared-address", "devnet=off,ethereum=off")
	if err != nil || !strings.Contains(out, "Chains paid to the shared address: none") {
		t.Errorf("projects update --shared-address chain=off: %v\n%s", err, out)
	}
	for _, bad := range [][]string{
		{"projects", "update", watch, "--allowed-origins", "*"},
		{"projects", "update", watch, "--allowed-origins", "http://watch.example.com"},
		{"projects", "update", watch, "--website", "https://shop.example.com"}, // another project's
		{"projects", "update", watch, "--payment-window", "0"},
		{"projects", "update", watch, "--grace", "soon"},
		{"projects", "update", watch, "--confirmations", "ethereum"},
		{"projects", "update", watch, "--confirmations", "ethereum=2"},
		{"projects", "update", watch, "--shared-address", "devnet=0.1"},
		{"projects", "update", watch, "--shared-address", "mars"},
		{"projects", "update", watch, "--shared-address", "devnet=0.01:5"},
		{"projects", "update", watch},
		{"projects", "update", "--name", "x"},
		{"projects", "update", "prj_missing", "--name", "x"},
		{"projects", "disable"},
	} {
		if _, _, err := runCLI(t, append(bad, "--data", dir)...); err == nil {
			t.Errorf("%v succeeded", bad)
		}
	}
	if out, _, err := runCLI(t, "projects", "disable", watch, "--data", dir); err != nil || !strings.Contains(out, "answer 403") {
		t.Errorf("projects disable: %v %s", err, out)
	}
	out, _, _ = runCLI(t, "projects", "list", "--data", dir, "--json")
	json.Unmarshal([]byte(out), &rows)
	for _, r := range rows {
		if (r["projectId"] == watch) != (r["disabled"] == true) {
			t.Errorf("after disable, list shows %v", r)
		}
		if r["projectId"] == watch && (r["name"] != "Watch shop" || r["website"] != "https://watch.example.com") {
			t.Errorf("after update, list shows %v", r)
		}
	}
	if out, _, err := runCLI(t, "projects", "enable", "--project", watch, "--data", dir); err != nil || !strings.Contains(out, "Enabled") {
		t.Errorf("projects enable: %v %s", err, out)
	}
}

func TestServeRefusesWithoutMasterKey(t *testing.T) {
	t.Setenv("STABLEGATE_MASTER_KEY", "")
	_, _, err := runCLI(t, "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "no master key") {
		t.Errorf("serve without a master key: %v", err)
	}
	t.Setenv("STABLEGATE_MASTER_KEY", "too-short")
	if _, _, err := runCLI(t, "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"); err == nil {
		t.Error("serve accepted a malformed master key")
	}
}

// stablegate dev: first start creates the demo project and writes its credentials; the printed
// curl works; a restart keeps the same project.
func TestDev(t *testing.T) {
	dir := t.TempDir()
	start := func() (devCredentials, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"dev", "--addr", "127.0.0.1:0", "--data", dir}, io.Discard, io.Discard)
		}()
		var creds devCredentials
		deadline := time.Now().Add(20 * time.Second)
		for {
			data, err := os.ReadFile(filepath.Join(dir, "dev-credentials.json"))
			if err == nil && json.Unmarshal(data, &creds) == nil && creds.BaseURL != "" {
				if res, err := http.Get(creds.BaseURL + "/health"); err == nil {
					res.Body.Close()
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("dev did not start")
			}
			time.Sleep(50 * time.Millisecond)
		}
		return creds, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("dev exited with %v", err)
			}
		}
	}
	creds, stop := start()
	if !strings.HasPrefix(creds.APIKey, "pk_test_") || !strings.HasPrefix(creds.APISecret, "sk_test_") || creds.ProjectID == "" ||
		!strings.HasPrefix(creds.WebhookSecret, "whsec_") {
		t.Fatalf("credentials = %+v", creds)
	}
	// The dashboard is on, with the demo owner the credentials name; it sees the demo order.
	if page := dashboardSignIn(t, creds); !strings.Contains(page, "Demo shop") || !strings.Contains(page, "demo-") {
		t.Fatalf("the dashboard's overview for the demo owner:\n%s", page)
	}
	// A local webhook receiver (dev allows private addresses) that checks 3PAY's signature with
	// the webhookSecret of dev-credentials.json.
	hooks := make(chan map[string]any, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(creds.WebhookSecret))
		mac.Write(body)
		if r.Header.Get("X-Webhook-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("webhook signature does not verify with the dev webhookSecret")
		}
		var ev map[string]any
		json.Unmarshal(body, &ev)
		hooks <- ev
	}))
	defer receiver.Close()
	req, _ := http.NewRequest("PUT", creds.BaseURL+"/api/v1/webhook/endpoint", strings.NewReader(`{"url":"`+receiver.URL+`/webhooks"}`))
	req.Header.Set("Authorization", "Bearer "+creds.APIKey)
	req.Header.Set("x-api-secret", creds.APISecret)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("set webhook endpoint: %v %v", err, res)
	}
	req, _ = http.NewRequest("POST", creds.BaseURL+"/api/v1/orders",
		strings.NewReader(`{"orderReference":"order_1","amount":"10.50","currency":"USDT","chainId":"devnet"}`))
	req.Header.Set("Authorization", "Bearer "+creds.APIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("README curl: %v %v", err, res)
	}
	var order struct {
		Data struct{ OrderID, Address string }
	}
	json.NewDecoder(res.Body).Decode(&order)
	res.Body.Close()
	// The credentials name the devnet, and dev pay sends a real transfer to the order's address.
	if creds.ChainID != 1337 || creds.RPCURL == "" || creds.Tokens["USDT"] != devnet.Tokens()["USDT"].Hex() {
		t.Errorf("devnet in credentials = %+v", creds.devnetInfo)
	}
	out, _, err := runCLI(t, "dev", "pay", "--to", order.Data.Address, "--amount", "10.50", "--currency", "USDT", "--data", dir)
	if err != nil || !strings.HasPrefix(out, "0x") {
		t.Fatalf("dev pay: %v %q", err, out)
	}
	payTx := strings.TrimSpace(out)
	waitBalance(t, creds.RPCURL, "USDT", order.Data.Address, big.NewInt(10_500_000))
	// The gateway watches the devnet: the order completes.
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequest("GET", creds.BaseURL+"/api/v1/orders/"+order.Data.OrderID, nil)
		req.Header.Set("Authorization", "Bearer "+creds.APIKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Data struct{ Status, PaidAmount, TxHash string }
		}
		json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if got.Data.Status == "completed" && got.Data.PaidAmount == "10.5" && strings.TrimSpace(out) == got.Data.TxHash {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("order never completed: %+v (paid with %s)", got.Data, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The merchant hears of it: an order.completed webhook with the payment's transaction.
	select {
	case ev := <-hooks:
		data, _ := ev["data"].(map[string]any)
		if ev["type"] != "order.completed" || data["orderId"] != order.Data.OrderID || data["txHash"] != strings.TrimSpace(out) || data["amount"] != "10.5" {
			t.Errorf("webhook = %v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Error("no order.completed webhook")
	}
	var health struct {
		Chains []struct {
			Chain string
			Head  uint64
		}
	}
	if res, err := http.Get(creds.BaseURL + "/health"); err == nil {
		json.NewDecoder(res.Body).Decode(&health)
		res.Body.Close()
	}
	if len(health.Chains) != 1 || health.Chains[0].Chain != "devnet" || health.Chains[0].Head == 0 {
		t.Errorf("/health chains = %+v", health.Chains)
	}
	if _, err := os.Stat(filepath.Join(dir, "master.key")); err != nil {
		t.Errorf("dev did not generate a master key: %v", err)
	}
	// The file stays true (issue 11, item 2): a webhook secret rotated through the API, and a key
	// pair made with the CLI, are written to it at once.
	req, _ = http.NewRequest("POST", creds.BaseURL+"/api/v1/webhook/secret/rotate", nil)
	req.Header.Set("Authorization", "Bearer "+creds.APIKey)
	req.Header.Set("x-api-secret", creds.APISecret)
	var rotated struct{ Data struct{ Secret string } }
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("rotate: %v %v", err, res)
	} else {
		json.NewDecoder(res.Body).Decode(&rotated)
		res.Body.Close()
	}
	readCreds := func() devCredentials {
		t.Helper()
		var d devCredentials
		data, err := os.ReadFile(filepath.Join(dir, "dev-credentials.json"))
		if err != nil || json.Unmarshal(data, &d) != nil {
			t.Fatalf("dev-credentials.json: %v", err)
		}
		return d
	}
	if got := readCreds(); got.WebhookSecret != rotated.Data.Secret || got.WebhookSecret == creds.WebhookSecret || got.BaseURL != creds.BaseURL {
		t.Errorf("after rotation the file holds %q (rotated to %q)", got.WebhookSecret, rotated.Data.Secret)
	}
	out, _, err = runCLI(t, "projects", "new-key", "--project", creds.ProjectID, "--mode", "test", "--json", "--data", dir)
	var pair struct{ APIKey, APISecret string }
	if err != nil || json.Unmarshal([]byte(out), &pair) != nil {
		t.Fatalf("new-key: %v %s", err, out)
	}
	if got := readCreds(); got.APIKey != pair.APIKey || got.APISecret != pair.APISecret || got.WebhookSecret != rotated.Data.Secret {
		t.Errorf("after new-key the file holds %s (new %s)", got.APIKey, pair.APIKey)
	}
	headBefore, _ := devnetHealth(t, creds.BaseURL)
	stop()
	again, stop2 := start()
	if again.ProjectID != creds.ProjectID || again.APIKey != pair.APIKey {
		t.Errorf("restart created another demo project or key: %+v vs %+v", again, creds)
	}
	// The chain went on (issue 11, item 1): once the gateway has scanned past the restart, the
	// order is still completed, and no webhook took anything back.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if head, _ := devnetHealth(t, again.BaseURL); head > headBefore+2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway's devnet head stays below %d after the restart", headBefore+3)
		}
	}
	req, _ = http.NewRequest("GET", again.BaseURL+"/api/v1/orders/"+order.Data.OrderID, nil)
	req.Header.Set("Authorization", "Bearer "+again.APIKey)
	if res, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		var got struct {
			Data struct{ Status, TxHash string }
		}
		json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if got.Data.Status != "completed" || got.Data.TxHash != payTx {
			t.Errorf("after a restart of dev the paid order is %+v", got.Data)
		}
	}
	for len(hooks) > 0 {
		if ev := <-hooks; ev["type"] != "order.completed" {
			t.Errorf("a restart of dev sent %v", ev["type"])
		}
	}
	stop2()
	// The file's pair revoked: the file stops showing it, and the next start makes a new pair.
	if out, _, err := runCLI(t, "projects", "revoke-key", "--key", pair.APIKey, "--data", dir); err != nil || !strings.Contains(out, "no longer does") {
		t.Fatalf("revoke-key: %v %s", err, out)
	}
	if got := readCreds(); got.APIKey != "" || got.APISecret != "" {
		t.Errorf("after revoke-key the file still holds %s", got.APIKey)
	}
	third, stop3 := start()
	req, _ = http.NewRequest("GET", third.BaseURL+"/api/v1/orders", nil)
	req.Header.Set("Authorization", "Bearer "+third.APIKey)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 || third.ProjectID != creds.ProjectID || third.APIKey == pair.APIKey {
		t.Errorf("after the restart the file's key %s: %v %v", third.APIKey, err, res)
	} else {
		res.Body.Close()
	}
	stop3()

	// --fresh starts over, after saying what it removes; it never touches a PostgreSQL database.
	if _, _, err := runCLI(t, "dev", "--fresh", "--data", dir, "--database", "postgres://u:p@127.0.0.1:1/db"); err == nil || !strings.Contains(err.Error(), "SQLite database only") {
		t.Errorf("dev --fresh on PostgreSQL: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var banner syncBuffer
	go func() {
		done <- run(ctx, []string{"dev", "--fresh", "--addr", "127.0.0.1:0", "--data", dir}, &banner, io.Discard)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev --fresh exited with %v", err)
		}
	}()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(banner.String(), "stablegate dev is running"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("dev --fresh did not start: %s", banner.String())
		}
	}
	for _, want := range []string{"--fresh: starting over", "the devnet chain in " + filepath.Join(dir, "devnet"), "the database " + filepath.Join(dir, "stablegate.db"), "dev-credentials.json"} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("dev --fresh does not say %q:\n%s", want, banner.String())
		}
	}
	if fresh := readCreds(); fresh.ProjectID == creds.ProjectID || fresh.APIKey == third.APIKey {
		t.Errorf("dev --fresh kept the old project %s", fresh.ProjectID)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// devnetHealth is the devnet's head and the block its scanner applied, from /health.
func devnetHealth(t *testing.T, base string) (head, scanned uint64) {
	t.Helper()
	res, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var health struct {
		Chains []struct {
			Chain         string
			Head, Scanned uint64
		}
	}
	json.NewDecoder(res.Body).Decode(&health)
	for _, c := range health.Chains {
		if c.Chain == "devnet" {
			return c.Head, c.Scanned
		}
	}
	return 0, 0
}

// startDev runs stablegate dev in this process on a fresh data directory, with the flags, until the
// test ends, and returns its credentials and the directory.
func startDev(t *testing.T, flags ...string) (devCredentials, string) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"dev", "--addr", "127.0.0.1:0", "--data", dir}, flags...), io.Discard, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev exited with %v", err)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var creds devCredentials
		data, err := os.ReadFile(filepath.Join(dir, "dev-credentials.json"))
		if err == nil && json.Unmarshal(data, &creds) == nil && creds.BaseURL != "" {
			return creds, dir
		}
		if time.Now().After(deadline) {
			t.Fatal("dev did not start")
		}
	}
}

// waitBalance waits until the address holds the token amount on the devnet.
func waitBalance(t *testing.T, rpcURL, symbol, addr string, want *big.Int) {
	t.Helper()
	client, err := ethclient.Dial(rpcURL)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	token := devnet.Tokens()[symbol]
	data := append(crypto.Keccak256([]byte("balanceOf(address)"))[:4], common.LeftPadBytes(common.HexToAddress(addr).Bytes(), 32)...)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := client.CallContract(context.Background(), ethereum.CallMsg{To: &token, Data: data}, nil)
		if err == nil && new(big.Int).SetBytes(out).Cmp(want) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("balance of %s never reached %s (last %x, %v)", addr, want, out, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stablegate devnet runs the chain alone; dev --devnet-rpc uses it, and dev pay finds it.
func TestDevnetCommandAndExternalChain(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"devnet", "--addr", "127.0.0.1:0", "--data", dir, "--block-time", "100ms"}, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("devnet exited with %v", err)
		}
	}()
	var info devnetInfo
	deadline := time.Now().Add(20 * time.Second)
	for {
		raw, err := os.ReadFile(filepath.Join(dir, "devnet.json"))
		if err == nil && json.Unmarshal(raw, &info) == nil && info.RPCURL != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("devnet did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if info.ChainID != 1337 || info.DevWallet == nil || info.DevWallet.Address != "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" || len(info.Tokens) != 3 {
		t.Fatalf("devnet.json = %+v", info)
	}
	to := "0x00000000000000000000000000000000000000bb"
	if _, _, err := runCLI(t, "dev", "pay", "--to", to, "--amount", "1.000000000000000001", "--currency", "DAI", "--data", dir); err != nil {
		t.Fatal(err)
	}
	waitBalance(t, info.RPCURL, "DAI", to, new(big.Int).Add(new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil), big.NewInt(1)))
	for _, bad := range [][]string{
		{"--to", to, "--amount", "1.0000001", "--currency", "USDT"},
		{"--to", "0x123", "--amount", "1"},
		{"--to", to, "--amount", "1", "--currency", "BTC"},
		{"--to", to, "--amount", "-1"},
	} {
		if _, _, err := runCLI(t, append([]string{"dev", "pay", "--data", dir}, bad...)...); err == nil {
			t.Errorf("dev pay %v succeeded", bad)
		}
	}
}

func TestConfigChains(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.json")
	os.WriteFile(file, []byte(`{"chains":{"ethereum-sepolia":{"rpcUrls":["https://a.example/rpc","https://b.example/rpc"],"confirmations":3,"pollInterval":"500ms"},
		"polygon-amoy":{"rpcUrls":["https://amoy.example"]}}}`), 0o600)
	t.Setenv("STABLEGATE_RPC_POLYGON_AMOY", "https://x.example,https://y.example")
	load := func(args ...string) (*Config, error) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		cf := newConfigFlags(fs, true, nil)
		if err := fs.Parse(append([]string{"--config", file}, args...)); err != nil {
			t.Fatal(err)
		}
		return cf.load()
	}
	c, err := load()
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Chains["ethereum-sepolia"]; len(s.RPCURLs) != 2 || s.Confirmations != 3 {
		t.Errorf("sepolia = %+v", s)
	}
	// Finality: the registry's tag by default, "none" for the count alone.
	c.Chains["ethereum-sepolia"] = ChainConfig{RPCURLs: []string{"https://a.example"}, Finality: "none"}
	reg, scanners, err := chainsFor(c.Chains)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scanners {
		if want := map[string]string{"ethereum-sepolia": "", "polygon-amoy": "finalized"}[sc.Chain.Slug]; sc.Rule().Finality != want {
			t.Errorf("%s finality %q, want %q", sc.Chain.Slug, sc.Rule().Finality, want)
		}
		if c, _ := reg.Lookup(sc.Chain.Slug); gateway.RuleOf(c) != sc.Rule() {
			t.Errorf("%s: the registry's rule %+v is not the scanner's %+v", sc.Chain.Slug, gateway.RuleOf(c), sc.Rule())
		}
	}
	if a := c.Chains["polygon-amoy"]; len(a.RPCURLs) != 2 || a.RPCURLs[0] != "https://x.example" {
		t.Errorf("the environment must replace the file's URLs: %+v", a)
	}
	for _, bad := range []string{`{"chains":{"solana":{"rpcUrls":["https://x"]}}}`, `{"chains":{"ethereum":{"rpcUrls":["ftp://x"]}}}`,
		`{"chains":{"ethereum":{"rpcUrls":[]}}}`, `{"chains":{"ethereum":{"rpcUrl":"https://x"}}}`,
		`{"chains":{"ethereum":{"rpcUrls":["https://x"],"pollInterval":"1ms"}}}`, `{"chains":{"ethereum":{"rpcUrls":["https://x"],"pollInterval":"soon"}}}`,
		`{"chains":{"ethereum":{"rpcUrls":["https://x"],"finality":"latest"}}}`} {
		os.WriteFile(file, []byte(bad), 0o600)
		if _, err := load(); err == nil {
			t.Errorf("config %s accepted", bad)
		}
	}
	// A variable naming no chain is a mistake to stop on, not to ignore; so are a log level or
	// format that do not exist.
	os.WriteFile(file, []byte(`{}`), 0o600)
	t.Setenv("STABLEGATE_RPC_SOLANA", "https://x.example")
	if _, err := load(); err == nil || !strings.Contains(err.Error(), "STABLEGATE_RPC_SOLANA") {
		t.Errorf("STABLEGATE_RPC_SOLANA: %v", err)
	}
	os.Unsetenv("STABLEGATE_RPC_SOLANA")
	for _, args := range [][]string{{"--log-level", "verbose"}, {"--log-format", "xml"}} {
		if _, err := load(args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if _, err := load("--log-level", "WARN", "--log-format", "text"); err != nil {
		t.Errorf("a valid level and format: %v", err)
	}
}

// serve watches the chains its configuration names.
func TestServeWatchesConfiguredChains(t *testing.T) {
	dn, err := devnet.Start(devnet.Config{BlockTime: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Close()
	t.Setenv("STABLEGATE_MASTER_KEY", testMasterKey)
	t.Setenv("STABLEGATE_RPC_DEVNET", dn.RPCURL())
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	r, w, _ := os.Pipe()
	go func() {
		done <- run(ctx, []string{"serve", "--data", dir, "--addr", "127.0.0.1:0", "--log-level", "info"}, io.Discard, w)
	}()
	defer func() { cancel(); <-done; w.Close() }()
	var base string
	dec := json.NewDecoder(r)
	for base == "" {
		var line map[string]any
		if err := dec.Decode(&line); err != nil {
			t.Fatal(err)
		}
		if line["msg"] == "stablegate listening" {
			base, _ = line["url"].(string)
		}
	}
	go io.Copy(io.Discard, r)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var h struct {
			Chains []struct {
				Chain   string
				Scanned uint64
			}
		}
		if res, err := http.Get(base + "/health"); err == nil {
			json.NewDecoder(res.Body).Decode(&h)
			res.Body.Close()
		}
		if len(h.Chains) == 1 && h.Chains[0].Chain == "devnet" && h.Chains[0].Scanned > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve does not scan the configured devnet: %+v", h)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ledger verify passes on a consistent database and fails, listing the difference, on a tampered one.
func TestLedgerVerify(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STABLEGATE_MASTER_KEY", testMasterKey)
	if _, _, err := runCLI(t, "projects", "create", "--data", dir, "--name", "Shop", "--website", "https://shop.example.com"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, "ledger", "verify", "--data", dir)
	if err != nil || !strings.Contains(out, "ledger verified") {
		t.Fatalf("verify: %v %s", err, out)
	}
	st, err := openStore(context.Background(), &Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().Exec(`INSERT INTO ledger_balances (project_id, mode, chain_id, currency, account, balance) VALUES ('prj_x', 'test', 'devnet', 'USDT', 'available', '42')`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, _, err = runCLI(t, "ledger", "verify", "--data", dir)
	if err == nil || !strings.Contains(out, "prj_x") || !strings.Contains(out, "42") {
		t.Fatalf("verify of a tampered ledger: %v %s", err, out)
	}
}

// A key is replaced without downtime: a second pair works alongside the first until the first is
// revoked, after which it answers Unauthorized.
func TestProjectsKeyRotation(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STABLEGATE_MASTER_KEY", testMasterKey)
	out, _, err := runCLI(t, "projects", "create", "--data", dir, "--name", "Shop", "--website", "https://rotate.example.com", "--json")
	var created createdJSON
	if err != nil || json.Unmarshal([]byte(out), &created) != nil || created.LiveMode {
		t.Fatalf("create: %v %s", err, out)
	}
	// A project starts in test mode: its live key is refused until the operator switches it.
	st, err := openStore(context.Background(), &Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&gateway.Service{Store: st}).Authenticate(context.Background(), created.Live.APIKey); err == nil ||
		!strings.Contains(err.Error(), gateway.TestModeMessage) {
		t.Errorf("a live key of a new project: %v", err)
	}
	st.Close()
	if out, _, err := runCLI(t, "projects", "go-live", created.ProjectID, "--data", dir); err != nil || !strings.Contains(out, "is in live mode") {
		t.Fatalf("projects go-live: %v %s", err, out)
	}
	out, _, err = runCLI(t, "projects", "new-key", "--data", dir, "--project", created.ProjectID, "--mode", "live", "--json")
	var fresh struct{ KeyID, APIKey, APISecret string }
	if err != nil || json.Unmarshal([]byte(out), &fresh) != nil || !strings.HasPrefix(fresh.APIKey, "pk_live_") ||
		!strings.HasPrefix(fresh.APISecret, "sk_live_") || !strings.HasPrefix(fresh.KeyID, "key_") {
		t.Fatalf("new-key: %v %s", err, out)
	}
	authenticate := func(key string) error {
		t.Helper()
		st, err := openStore(context.Background(), &Config{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, err = (&gateway.Service{Store: st}).Authenticate(context.Background(), key)
		return err
	}
	if err := authenticate(created.Live.APIKey); err != nil {
		t.Errorf("the old live key stopped working when a new one was made: %v", err)
	}
	if err := authenticate(fresh.APIKey); err != nil {
		t.Errorf("the new live key does not work: %v", err)
	}
	out, _, err = runCLI(t, "projects", "revoke-key", "--data", dir, "--key", created.Live.APIKey)
	if err != nil || !strings.Contains(out, "Revoked key_") {
		t.Fatalf("revoke-key: %v %s", err, out)
	}
	if err := authenticate(created.Live.APIKey); gateway.ErrorCode(err) != gateway.EUnauthorized {
		t.Errorf("a revoked key authenticates: %v", err)
	}
	if err := authenticate(fresh.APIKey); err != nil {
		t.Errorf("revoking the old key broke the new one: %v", err)
	}
	out, _, err = runCLI(t, "projects", "keys", "--data", dir, "--project", created.ProjectID, "--json")
	var keys []keyJSON
	if err != nil || json.Unmarshal([]byte(out), &keys) != nil || len(keys) != 3 {
		t.Fatalf("keys: %v %s", err, out)
	}
	revoked := 0
	for _, k := range keys {
		if k.RevokedAt != "" {
			revoked++
		}
		if strings.Contains(out, created.Live.APIKey) || strings.Contains(out, fresh.APIKey) {
			t.Errorf("projects keys prints a whole key: %s", out)
		}
	}
	if revoked != 1 {
		t.Errorf("keys lists %d revoked, want 1: %s", revoked, out)
	}
	// Mistakes are refused and change nothing.
	if _, _, err := runCLI(t, "projects", "revoke-key", "--data", dir, "--key", fresh.KeyID+"x"); err == nil {
		t.Error("revoking an unknown key id succeeded")
	}
	if _, _, err := runCLI(t, "projects", "revoke-key", "--data", dir, "--key", created.Live.APIKey); err == nil {
		t.Error("revoking a key twice succeeded")
	}
	if _, _, err := runCLI(t, "projects", "new-key", "--data", dir, "--project", created.ProjectID, "--mode", "prod"); err == nil {
		t.Error("new-key accepted mode prod")
	}
	if _, _, err := runCLI(t, "projects", "new-key", "--data", dir, "--project", "prj_nope", "--mode", "test"); err == nil {
		t.Error("new-key accepted an unknown project")
	}
	out, _, _ = runCLI(t, "projects", "keys", "--data", dir, "--project", created.ProjectID, "--json")
	if json.Unmarshal([]byte(out), &keys) != nil || len(keys) != 3 {
		t.Errorf("a refused command changed the keys: %s", out)
	}

	// The audit log names the operator (user@host) for what the commands did, newest first, and
	// the refused commands left no line.
	out, _, err = runCLI(t, "audit", "--data", dir, "--project", created.ProjectID, "--json")
	var lines []auditJSON
	if err != nil || json.Unmarshal([]byte(out), &lines) != nil {
		t.Fatalf("audit: %v %s", err, out)
	}
	var actions []string
	for _, l := range lines {
		actions = append(actions, l.Action)
		if l.Actor.Type != "operator" || l.Actor.ID != gateway.Operator().ID || !strings.Contains(l.Actor.ID, "@") {
			t.Errorf("%s by %+v, want the operator %s", l.Action, l.Actor, gateway.Operator().ID)
		}
	}
	if got := strings.Join(actions, " "); got != "credential.revoked credential.created project.went_live project.created" {
		t.Fatalf("audit = %s, want credential.revoked credential.created project.went_live project.created", got)
	}
	if lines[0].Mode != "live" || lines[1].Subject != fresh.KeyID || lines[2].Subject != created.ProjectID || lines[3].Mode != "" {
		t.Errorf("audit lines = %+v", lines)
	}
	if strings.Contains(out, fresh.APISecret) || strings.Contains(out, created.Live.APISecret) || strings.Contains(out, fresh.APIKey) {
		t.Errorf("the audit log shows a key or a secret: %s", out)
	}
	out, _, err = runCLI(t, "audit", "--data", dir, "--action", "credential.created")
	if err != nil || !strings.Contains(out, "credential.created") || strings.Contains(out, "project.created") || !strings.Contains(out, "operator ") {
		t.Errorf("audit --action credential.created: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, "audit", "--data", dir, "--action", "orders.deleted"); exitCode(err) != 2 {
		t.Errorf("audit --action orders.deleted: exit %d (%v)", exitCode(err), err)
	}
	if _, _, err := runCLI(t, "audit", "--data", dir, "--project", "prj_nope"); err == nil {
		t.Error("audit --project of an unknown project succeeded")
	}
}

// dev --confirmations makes the devnet need more confirmations, so an integrator sees orders
// confirming; /api/v1/chains and the scanner agree on the rule.
func TestDevConfirmations(t *testing.T) {
	creds, _ := startDev(t, "--confirmations", "3")
	req, _ := http.NewRequest("GET", creds.BaseURL+"/api/v1/chains", nil)
	req.Header.Set("Authorization", "Bearer "+creds.APIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Data struct {
			Chains []struct {
				ChainID       string
				Confirmations int
			}
		}
	}
	json.NewDecoder(res.Body).Decode(&out)
	if len(out.Data.Chains) != 1 || out.Data.Chains[0].ChainID != "devnet" || out.Data.Chains[0].Confirmations != 3 {
		t.Errorf("chains = %+v", out.Data.Chains)
	}
	if _, _, err := runCLI(t, "dev", "--confirmations", "-1"); err == nil {
		t.Error("--confirmations -1 accepted")
	}
}

// stablegate wallets shows the demo project's hot wallet on the running dev chain, with what it
// holds; a watch-only project has none and says why.
func TestWalletsCommand(t *testing.T) {
	creds, dir := startDev(t)
	out, _, err := runCLI(t, "wallets", "--project", creds.ProjectID, "--data", dir, "--json")
	var rows []struct {
		ChainID, Address, DerivationPath string
		Tokens                           map[string]string
	}
	if err != nil || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 || rows[0].ChainID != "devnet" || rows[0].DerivationPath != "m/44'/60'/1'/0/1337" {
		t.Fatalf("wallets: %v %s", err, out)
	}
	if _, _, err := runCLI(t, "dev", "pay", "--to", rows[0].Address, "--amount", "2.5", "--currency", "USDC", "--data", dir); err != nil {
		t.Fatal(err)
	}
	waitBalance(t, creds.RPCURL, "USDC", rows[0].Address, big.NewInt(2_500_000))
	out, _, err = runCLI(t, "wallets", "--project", creds.ProjectID, "--data", dir)
	if err != nil || !strings.Contains(out, rows[0].Address) || !strings.Contains(out, "2.5 USDC") {
		t.Errorf("wallets after a payment to the hot wallet: %v\n%s", err, out)
	}
	t.Setenv("STABLEGATE_MASTER_KEY_FILE", filepath.Join(dir, "master.key"))
	xpub := "xpub6BosfCnifzxcFwrSzQiqu2DBVTshkCXacvNsWGYJVVhhawA7d4R5WSWGFNbi8Aw6ZRc1brxMyWMzG3DSSSSoekkudhUd9yLb6qx39T9nMdj"
	out, _, err = runCLI(t, "projects", "create", "--data", dir, "--name", "Watch", "--website", "https://watch.example.com", "--xpub-evm", xpub, "--json")
	var created createdJSON
	if err != nil || json.Unmarshal([]byte(out), &created) != nil {
		t.Fatalf("create a watch-only project: %v %s", err, out)
	}
	if _, _, err := runCLI(t, "wallets", "--project", created.ProjectID, "--data", dir); err == nil || !strings.Contains(err.Error(), "watch-only") {
		t.Errorf("wallets of a watch-only project: %v", err)
	}
}

// dashboardSignIn signs the dev credentials' owner in to the dashboard, turns two-factor
// authentication on as the owner must (reading the secret off the page), and returns the overview.
func dashboardSignIn(t *testing.T, creds devCredentials) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(res *http.Response, err error) (*http.Response, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	res, body := get(c.PostForm(creds.BaseURL+"/dashboard/signin", url.Values{"email": {creds.DashboardEmail}, "password": {creds.DashboardPassword}}))
	if res.StatusCode != 200 || res.Request.URL.Path != "/dashboard/security" {
		t.Fatalf("dashboard sign-in as %s: %d at %s (want the owner sent to turn on two-factor)\n%s", creds.DashboardEmail, res.StatusCode, res.Request.URL, body)
	}
	_, body = get(c.PostForm(creds.BaseURL+"/dashboard/security/begin", url.Values{}))
	m := regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the enrolment page shows no secret:\n%s", body)
	}
	code, _ := gateway.TOTPCode(m[1], time.Now())
	if res, body = get(c.PostForm(creds.BaseURL+"/dashboard/security/confirm", url.Values{"code": {code}})); res.StatusCode != 200 || !strings.Contains(body, "recovery-codes") {
		t.Fatalf("confirm two-factor: %d\n%s", res.StatusCode, body)
	}
	res, body = get(c.Get(creds.BaseURL + "/dashboard/"))
	if res.StatusCode != 200 || res.Request.URL.Path != "/dashboard/" {
		t.Fatalf("the overview after enrolment: %d at %s", res.StatusCode, res.Request.URL)
	}
	return body
}
