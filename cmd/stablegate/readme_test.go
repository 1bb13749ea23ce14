package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/devnet"
	"github.com/stablegate/stablegate/internal/testpg"
)

// TestREADMEProductionPath runs the README's production lines as they are written, with bash, on a
// throwaway PostgreSQL cluster and the devnet standing in for the Ethereum RPC: the build, the
// master key, migrate, projects create and serve; then the printed live key reaches its project and
// creates a live order (issue 11, item 3). Only places change: the binary, /etc/stablegate, the
// database URL and the RPC URL.
func TestREADMEProductionPath(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)<!-- production:begin -->\n```sh\n(.*?)```\n<!-- production:end -->").FindSubmatch(readme)
	if block == nil {
		t.Fatal("README.md has no production block between <!-- production:begin --> and <!-- production:end -->")
	}
	script := string(block[1])
	for _, want := range []string{"go build", "STABLEGATE_MASTER_KEY_FILE", "STABLEGATE_DATABASE=postgres://", "stablegate migrate",
		"stablegate projects create", "stablegate serve"} {
		if !strings.Contains(script, want) {
			t.Fatalf("the README's production block lacks %q", want)
		}
	}
	dsn := testpg.DSN(t)
	chain, err := devnet.Start(devnet.Config{BlockTime: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chain.Close() })

	work := t.TempDir()
	bin := filepath.Join(work, "bin")
	addr := freeAddr(t)
	for old, replacement := range map[string]string{
		"/usr/local/bin/stablegate":           filepath.Join(bin, "stablegate"),
		"/etc/stablegate":                     filepath.Join(work, "etc"),
		"postgres://stablegate@db/stablegate": dsn,
		"https://mainnet.example/v3/KEY":      chain.RPCURL(),
	} {
		if !strings.Contains(script, old) {
			t.Fatalf("the README's production block no longer has %q", old)
		}
		script = strings.ReplaceAll(script, old, replacement)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = "../.."
	cmd.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"STABLEGATE_ADDR=" + addr, "STABLEGATE_DATA_DIR=" + filepath.Join(work, "data")}
	for _, v := range os.Environ() { // Go's own settings (module and build caches), nothing of stablegate's
		if strings.HasPrefix(v, "GO") || strings.HasPrefix(v, "XDG_") || strings.HasPrefix(v, "TMPDIR=") {
			cmd.Env = append(cmd.Env, v)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // serve, and the shell around it
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})

	// projects create prints the live key and secret once; serve then answers /health.
	var stdout strings.Builder
	var liveKey, liveSecret string
	keyLine := regexp.MustCompile(`(pk_live_[a-z0-9]+)|(sk_live_[a-z0-9]+)`)
	base := "http://" + addr
	for deadline := time.Now().Add(8 * time.Minute); ; {
		select {
		case l, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			stdout.WriteString(l + "\n")
			for _, m := range keyLine.FindAllString(l, -1) {
				if strings.HasPrefix(m, "pk_") && liveKey == "" {
					liveKey = m
				} else if strings.HasPrefix(m, "sk_") && liveSecret == "" {
					liveSecret = m
				}
			}
			continue
		case err := <-exited:
			t.Fatalf("the README's production lines stopped (%v):\n%s\n%s", err, stdout.String(), stderr.String())
		case <-time.After(200 * time.Millisecond):
		}
		if res, err := http.Get(base + "/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never answered /health:\n%s\n%s", stdout.String(), stderr.String())
		}
	}
	if liveKey == "" || liveSecret == "" {
		t.Fatalf("projects create printed no live key pair:\n%s", stdout.String())
	}
	if !strings.Contains(stdout.String(), "database is up to date") {
		t.Errorf("migrate did not say it ran:\n%s", stdout.String())
	}
	call := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+liveKey)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v struct{ Data map[string]any }
		json.NewDecoder(res.Body).Decode(&v)
		return res.StatusCode, v.Data
	}
	if status, p := call("GET", "/api/v1/project", ""); status != 200 || p["name"] != "My shop" || p["livemode"] != true {
		t.Fatalf("the project made by the README is not the one serve serves: %d %v", status, p)
	}
	status, o := call("POST", "/api/v1/orders", `{"orderReference":"first","amount":"10.50","currency":"USDT","chainId":"ethereum"}`)
	if status != 201 || o["status"] != "pending" || !strings.HasPrefix(fmt.Sprint(o["paymentUrl"]), "https://pay.example.com/pay/") {
		t.Fatalf("a live order on the README's gateway: %d %v", status, o)
	}
}

// freeAddr returns a free loopback address.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
