package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Crypto Pay's own PHP example, run by PHP's web server as a merchant's checkout page, against a
// live `stablegate dev`: only its keys and base URL changed, it creates the payment and redirects
// the customer to the payment page; with a wrong secret it prints the seed's error.
func TestCryptoPayPHPExample(t *testing.T) {
	php := tool(t, "php", "apt-get install php-cli php-curl")
	creds, dir := startDev(t)
	// The merchant's project, on the website the example's success_url and fail_url are on.
	out, _, err := runCLI(t, "projects", "create", "--data", dir, "--name", "Merchant", "--website", "https://merchant-site.com", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var created createdJSON
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	seed, err := os.ReadFile("testdata/cryptopay/create-payment.php")
	if err != nil {
		t.Fatal(err)
	}
	site := t.TempDir()
	write := func(name, secret string) {
		src := strings.NewReplacer("pk_test_your_api_key", created.Test.APIKey, "sk_test_your_api_secret", secret,
			"https://crypto-pay.one", creds.BaseURL).Replace(string(seed))
		if err := os.WriteFile(filepath.Join(site, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("checkout.php", created.Test.APISecret)
	write("wrong-secret.php", "sk_test_"+strings.Repeat("0", 64))
	addr := freeAddr(t)
	server := exec.Command(php, "-S", addr, "-t", site)
	server.Stdout, server.Stderr = io.Discard, io.Discard
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Process.Kill(); server.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("php -S did not start")
		}
	}
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := browser.Get("http://" + addr + "/checkout.php")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	location := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(location, creds.BaseURL+"/pay/ord_") {
		t.Fatalf("the checkout page answered %d, Location %q: %s", res.StatusCode, location, body)
	}
	page, err := http.Get(location)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != 200 || !strings.Contains(string(html), "50") {
		t.Errorf("the payment page: %d", page.StatusCode)
	}
	// The order is the native API's, under the example's order_id.
	req, _ := http.NewRequest("GET", creds.BaseURL+"/api/v1/orders?orderReference=ORDER_12345", nil)
	req.Header.Set("Authorization", "Bearer "+created.Test.APIKey)
	list, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var orders struct {
		Data struct {
			Orders []struct{ Amount, ChainID, SuccessURL, CancelURL string } `json:"orders"`
		}
	}
	json.NewDecoder(list.Body).Decode(&orders)
	list.Body.Close()
	if len(orders.Data.Orders) != 1 || orders.Data.Orders[0].Amount != "50" || orders.Data.Orders[0].CancelURL != "https://merchant-site.com/fail" {
		t.Errorf("the native order: %+v", orders.Data.Orders)
	}
	// The example's error branch prints the seed's message.
	res, err = browser.Get("http://" + addr + "/wrong-secret.php")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "API error: Invalid signature" {
		t.Errorf("with a wrong secret the example printed %q", body)
	}
}
