package webhook_test

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/webhook"
)

// startReceiver runs a receiver program (node or python) with the webhook secret and returns its
// URL; without the interpreter the test is skipped, except under CI=true.
func startReceiver(t *testing.T, secret, interpreter, script string) string {
	t.Helper()
	if _, err := exec.LookPath(interpreter); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI: %v", interpreter, err)
		}
		t.Skipf("%s not installed", interpreter)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, interpreter, script)
	cmd.Env = append(os.Environ(), "PAYIN_WEBHOOK_SECRET="+secret)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	port := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		port <- strings.TrimSpace(line)
	}()
	select {
	case p := <-port:
		return "http://127.0.0.1:" + p + "/webhooks/payin"
	case <-time.After(15 * time.Second):
		t.Fatalf("%s %s did not start", interpreter, script)
		return ""
	}
}

// The seeds' own verification code, run by real node and python processes, accepts our deliveries
// unchanged, including a merchant reference with characters JSON encoders treat differently; and it
// refuses a delivery signed with another secret (so the receivers do check).
func TestSeedSnippetsVerifyDeliveries(t *testing.T) {
	for _, rcv := range []struct{ interpreter, script string }{{"node", "testdata/receiver.js"}, {"python3", "testdata/receiver.py"}} {
		t.Run(rcv.interpreter, func(t *testing.T) {
			w := newWorld(t)
			// A real interpreter on a busy machine may take more than the world's 300 ms to answer
			// (a slow answer is the timeout tests' business, not this one's).
			w.d.Timeout, w.d.Client = 15*time.Second, webhook.NewPolicy(true).Client(15*time.Second, 4)
			url := startReceiver(t, w.secret(), rcv.interpreter, rcv.script)
			w.endpoint(url)
			ctx := context.Background()
			ids := []string{w.eventFor("order_123"), w.eventFor(`shop<&>"quoted"/'single'\back é€ 😀 ~`),
				// Metadata that JSON.stringify writes otherwise: integer-like keys first, a number
				// beyond 2^53, 1.0, a line separator.
				w.eventWith("order_meta", `{"b":1,"2":"x","n":12345678901234567890,"f":1.0,"s":"\u2028<&>"}`)}
			w.run()
			for _, id := range ids {
				if e := w.waitAttempts(id, 1); e.Status != gateway.DeliveryDelivered {
					t.Fatalf("%s: %s, %q", id, e.Status, e.LastError)
				}
			}

			// Signed with another secret: refused.
			if _, err := w.svc.RotateWebhookSecret(ctx, w.pr); err != nil {
				t.Fatal(err)
			}
			id := w.event()
			w.d.Kick()
			if e := w.waitAttempts(id, 1); e.Status != gateway.DeliveryPending || e.LastStatusCode != http.StatusUnauthorized {
				t.Fatalf("a delivery signed with another secret: %s %d", e.Status, e.LastStatusCode)
			}
		})
	}
}
