package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/api/cryptopay"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/webhook"
)

// An endpoint in Crypto Pay's format gets, when a payment becomes paid, Crypto Pay's body signed
// with X-Signature (HMAC-SHA256 with the API secret) and nothing else; a failed delivery is
// retried after 5 minutes, 15 minutes and an hour, then failed.
func TestCryptoPayFormat(t *testing.T) {
	w := newWorld(t)
	rc := newReceiver(t, func(_ int, rw http.ResponseWriter, _ *http.Request) {
		http.Error(rw, "busy", http.StatusServiceUnavailable)
	})
	if _, err := w.svc.SetWebhookEndpoint(context.Background(), w.pr, rc.URL+"/webhook.php", []string{gateway.EventOrderExpired}, gateway.FormatCryptoPay); gateway.ErrorCode(err) != gateway.EInvalid {
		t.Fatalf("the cryptopay format with another event type: %v", err)
	}
	e, err := w.svc.SetWebhookEndpoint(context.Background(), w.pr, rc.URL+"/webhook.php", nil, gateway.FormatCryptoPay)
	if err != nil || e.Format != gateway.FormatCryptoPay || len(e.Events) != 1 || e.Events[0] != gateway.EventOrderCompleted {
		t.Fatalf("SetWebhookEndpoint(cryptopay) = %+v, %v", e, err)
	}
	id := w.eventFor("ORDER_12345")
	w.run()
	got := rc.wait(t)
	mac := hmac.New(sha256.New, []byte(w.apiSecret))
	mac.Write(got.Body)
	if sig := got.Header.Get("X-Signature"); sig != hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("X-Signature %q is not the HMAC of the body with the API secret", sig)
	}
	var body map[string]any
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["payment_id"].(float64) < 1 || body["app_id"] != w.pr.Project.ID || body["order_id"] != "ORDER_12345" || body["status"] != "paid" ||
		body["amount"] != "12.50" || body["pay_amount"] != "12.500000" || body["currency"] != "USDT" || body["network"] != "ERC20" ||
		body["txid"] != "0x"+strings.Repeat("0", 63)+"1" || !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`).MatchString(body["paid_at"].(string)) ||
		body["is_test"] != true || len(body) != 11 {
		t.Errorf("the body: %s", got.Body)
	}
	// Created, confirming and the like are not Crypto Pay's business: only the completion went out.
	if evs, _, _ := w.st.ListWebhookEvents(context.Background(), gateway.WebhookEventFilter{ProjectID: w.pr.Project.ID, Mode: w.pr.Mode, Page: 1, Limit: 100}); len(evs) > 1 {
		for _, ev := range evs {
			if ev.ID != id && ev.Status != gateway.DeliverySkipped {
				t.Errorf("%s (%s) is %s, not skipped", ev.ID, ev.Type, ev.Status)
			}
		}
	}
	for i := 1; i <= 3; i++ {
		w.waitAttempts(id, i)
		w.clock.Add(cryptopay.WebhookSchedule[i-1])
		w.d.Kick()
		rc.wait(t)
	}
	final := w.waitAttempts(id, 4)
	for deadline := time.Now().Add(5 * time.Second); final.Status != gateway.DeliveryFailed && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		final = w.state(id)
	}
	if final.Status != gateway.DeliveryFailed || len(final.Attempts) != 4 {
		t.Fatalf("after 4 attempts: %s, %d attempts", final.Status, len(final.Attempts))
	}
	for i, a := range final.Attempts[1:] {
		if gap := a.At.Sub(final.Attempts[i].At); gap != cryptopay.WebhookSchedule[i] {
			t.Errorf("attempt %d came %s after the one before, want %s", i+2, gap, cryptopay.WebhookSchedule[i])
		}
	}
}

// Crypto Pay's receiver as its documentation says to write it, in PHP (hash_hmac over the raw
// body with the API secret), accepts the delivery; with another secret it refuses it.
func TestCryptoPayReceiverInPHP(t *testing.T) {
	php, err := exec.LookPath("php")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("php is required under CI")
		}
		t.Skip("php not installed")
	}
	for _, c := range []struct {
		name, secret string
		want         string
	}{{"its secret", "", gateway.DeliveryDelivered}, {"another secret", "sk_test_" + strings.Repeat("0", 64), gateway.DeliveryPending}} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			w.d.Timeout, w.d.Client = 15*time.Second, webhook.NewPolicy(true).Client(15*time.Second, 4)
			secret := c.secret
			if secret == "" {
				secret = w.apiSecret
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			cmd := exec.Command(php, "-S", addr, "testdata/receiver.php")
			cmd.Env = append(os.Environ(), "CRYPTOPAY_API_SECRET="+secret)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if conn, err := net.Dial("tcp", addr); err == nil {
					conn.Close()
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("php -S did not start")
				}
			}
			if _, err := w.svc.SetWebhookEndpoint(context.Background(), w.pr, "http://"+addr+"/webhook.php", nil, gateway.FormatCryptoPay); err != nil {
				t.Fatal(err)
			}
			id := w.eventFor("ORDER_1")
			w.run()
			if e := w.waitAttempts(id, 1); e.Status != c.want {
				t.Errorf("%s: %s (%d %q)", c.name, e.Status, e.LastStatusCode, e.LastError)
			}
		})
	}
}
