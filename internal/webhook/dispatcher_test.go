package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/store"
	"github.com/stablegate/stablegate/internal/store/sqlite"
	"github.com/stablegate/stablegate/internal/webhook"
)

const abandon = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"

// clock is the injected time: it moves only when a test moves it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// received is one request a receiver got.
type received struct {
	Header http.Header
	Body   []byte
}

// receiver is a real HTTP server on loopback whose answers the test programs.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	arrive chan received
	answer func(n int, w http.ResponseWriter, r *http.Request) // n counts requests from 1
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{arrive: make(chan received, 100), answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Header.Clone(), body})
		n := len(rc.got)
		answer := rc.answer
		rc.mu.Unlock()
		rc.arrive <- received{r.Header.Clone(), body}
		answer(n, w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setAnswer(a func(n int, w http.ResponseWriter, r *http.Request)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.answer = a
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

func (rc *receiver) wait(t *testing.T) received {
	t.Helper()
	select {
	case r := <-rc.arrive:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook arrived")
		return received{}
	}
}

func ok200(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

// world is a project on a real SQLite store with a dispatcher on an injected clock.
type world struct {
	t     *testing.T
	st    *store.Store
	svc   *gateway.Service
	pr    *gateway.Principal
	clock *clock
	d     *webhook.Dispatcher
	n     int
	// apiSecret is the secret of pr's key pair (Crypto Pay's deliveries are signed with it).
	apiSecret string
}

var start = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func newWorld(t *testing.T) *world {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kr, err := gateway.NewKeyring(make([]byte, gateway.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: start}
	svc := &gateway.Service{Store: st, Keyring: kr, Now: c.Now, WebhookPolicy: webhook.NewPolicy(true), SecretOverlap: time.Hour}
	evm, _ := chain.AccountXPub(abandon, chain.EVM)
	cp, err := svc.CreateProject(context.Background(), gateway.CreateProjectParams{Live: true, Name: "Shop", Website: "https://shop.example.com",
		XPubs: map[chain.Protocol]string{chain.EVM: evm}})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := svc.Authenticate(context.Background(), cp.Keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	pr.SecretProven = true
	timeout := 300 * time.Millisecond
	d := &webhook.Dispatcher{Store: st, Keyring: kr, Now: c.Now, Timeout: timeout, Poll: 20 * time.Millisecond, Concurrency: 4,
		Client: webhook.NewPolicy(true).Client(timeout, 4)}
	return &world{t: t, st: st, svc: svc, pr: pr, clock: c, d: d, apiSecret: cp.Keys[0].Secret}
}

func (w *world) secret() string {
	w.t.Helper()
	e, err := w.st.FindWebhookEndpoint(context.Background(), w.pr.Project.ID, w.pr.Mode)
	if err != nil {
		w.t.Fatal(err)
	}
	s, err := w.svc.Keyring.OpenWebhookSecret(e.ProjectID, e.Mode, e.Secret)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *world) endpoint(url string) {
	w.t.Helper()
	if _, err := w.svc.SetWebhookEndpoint(context.Background(), w.pr, url, nil, ""); err != nil {
		w.t.Fatal(err)
	}
}

// run starts the dispatcher until the test ends (or stop is called).
func (w *world) run() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.d.Run(ctx)
	}()
	stop = func() { cancel(); <-done }
	w.t.Cleanup(stop)
	return stop
}

// event pays an order in full in one confirmed transfer, so the store writes an order.completed
// event now, and returns the event's id.
func (w *world) event() string {
	w.t.Helper()
	return w.eventFor(fmt.Sprintf("o-%d", w.n+1))
}

// eventFor is event for an order with the merchant reference.
func (w *world) eventFor(ref string) string {
	w.t.Helper()
	return w.eventWith(ref, "")
}

// eventWith is event for an order with the merchant reference and metadata.
func (w *world) eventWith(ref, metadata string) string {
	w.t.Helper()
	ctx := context.Background()
	w.n++
	var meta json.RawMessage
	if metadata != "" {
		meta = json.RawMessage(metadata)
	}
	o, _, err := w.svc.CreateOrder(ctx, w.pr, gateway.OrderInput{Reference: ref, Amount: "12.5", Currency: "USDT", ChainID: "devnet",
		Metadata: meta})
	if err != nil {
		w.t.Fatal(err)
	}
	now := time.Now().UTC()
	if w.svc.Now != nil {
		now = w.svc.Now()
	}
	blk := uint64(w.n)
	tr := &gateway.Transfer{ChainID: "devnet", TxHash: fmt.Sprintf("0x%064x", w.n), BlockNumber: blk, BlockHash: fmt.Sprintf("0x%064x", blk),
		Token: "0xtoken", Currency: "USDT", From: "0xpayer", To: o.Address, Amount: o.Amount, OrderID: o.ID, ProjectID: o.ProjectID,
		Mode: o.Mode, SeenAt: now}
	if err := w.svc.ApplyScan(ctx, &gateway.ScanBatch{ChainID: "devnet", From: blk, To: blk, ToHash: tr.BlockHash, Head: blk, Required: 1,
		Transfers: []*gateway.Transfer{tr}, Now: now}); err != nil {
		w.t.Fatal(err)
	}
	evs, _, err := w.st.ListWebhookEvents(ctx, gateway.WebhookEventFilter{ProjectID: w.pr.Project.ID, Mode: w.pr.Mode, Page: 1, Limit: 1})
	if err != nil || len(evs) != 1 || evs[0].Type != gateway.EventOrderCompleted {
		w.t.Fatalf("event: %+v, %v", evs, err)
	}
	return evs[0].ID
}

// state returns an event's delivery state.
func (w *world) state(id string) *gateway.WebhookEvent {
	w.t.Helper()
	evs, _, err := w.st.ListWebhookEvents(context.Background(), gateway.WebhookEventFilter{ProjectID: w.pr.Project.ID, Mode: w.pr.Mode, Page: 1, Limit: 100})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, e := range evs {
		if e.ID == id {
			return e
		}
	}
	w.t.Fatalf("no event %s", id)
	return nil
}

// waitAttempts waits until the event has n recorded attempts.
func (w *world) waitAttempts(id string, n int) *gateway.WebhookEvent {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e := w.state(id)
		if e.AttemptCount >= n {
			return e
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("event %s: %d attempts, want %d (status %s, last error %q)", id, e.AttemptCount, n, e.Status, e.LastError)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func payloadID(t *testing.T, body []byte) string {
	t.Helper()
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("payload %s: %v", body, err)
	}
	return p.ID
}

// A receiver that fails three times and then answers 200 gets the same event four times, at the
// schedule's delays, and the event ends delivered.
func TestRetriesOnScheduleUntilDelivered(t *testing.T) {
	w := newWorld(t)
	rc := newReceiver(t, func(n int, rw http.ResponseWriter, _ *http.Request) {
		if n <= 3 {
			http.Error(rw, "down for maintenance", http.StatusInternalServerError)
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	})
	w.endpoint(rc.URL + "/hooks")
	id := w.event()
	w.run()
	for i := 1; i <= 4; i++ {
		got := rc.wait(t)
		if got.Header.Get("webhook-id") != id || payloadID(t, got.Body) != id {
			t.Fatalf("attempt %d carried id %s / %s, want %s", i, got.Header.Get("webhook-id"), payloadID(t, got.Body), id)
		}
		e := w.waitAttempts(id, i)
		if i < 4 {
			if e.Status != gateway.DeliveryPending || !strings.Contains(e.LastError, "down for maintenance") || e.LastStatusCode != 500 {
				t.Fatalf("after attempt %d: %s %d %q", i, e.Status, e.LastStatusCode, e.LastError)
			}
			// Not sent again before the schedule says.
			w.clock.Add(webhook.DefaultSchedule[i-1] - time.Second)
			w.d.Kick()
			time.Sleep(50 * time.Millisecond)
			if rc.count() != i {
				t.Fatalf("retry %d sent %s early", i, time.Second)
			}
			w.clock.Add(time.Second)
			w.d.Kick()
		}
	}
	e := w.waitAttempts(id, 4)
	if e.Status != gateway.DeliveryDelivered || e.DeliveredAt == nil || len(e.Attempts) != 4 {
		t.Fatalf("final: %+v", e)
	}
	for i, a := range e.Attempts[1:] {
		if gap := a.At.Sub(e.Attempts[i].At); gap != webhook.DefaultSchedule[i] {
			t.Fatalf("attempt %d came %s after the one before, want %s", i+2, gap, webhook.DefaultSchedule[i])
		}
	}
	if e.Attempts[3].StatusCode != http.StatusNoContent {
		t.Fatalf("last attempt status %d", e.Attempts[3].StatusCode)
	}
}

// A receiver that never answers: every attempt times out, and after the 5 retries the event is
// failed and listed as such; a manual retry then delivers it.
func TestNeverAnswersEndsFailedThenManualRetry(t *testing.T) {
	w := newWorld(t)
	release := make(chan struct{})
	rc := newReceiver(t, func(_ int, rw http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	w.endpoint(rc.URL)
	id := w.event()
	w.run()
	for i := 1; i <= 6; i++ {
		rc.wait(t)
		e := w.waitAttempts(id, i)
		if !strings.Contains(e.LastError, "no answer within 300ms") || e.LastStatusCode != 0 {
			t.Fatalf("attempt %d: %q %d", i, e.LastError, e.LastStatusCode)
		}
		if i < 6 {
			w.clock.Add(webhook.DefaultSchedule[i-1])
			w.d.Kick()
		}
	}
	e := w.state(id)
	if e.Status != gateway.DeliveryFailed || e.NextAttemptAt != nil {
		t.Fatalf("after 6 attempts: %s", e.Status)
	}
	w.clock.Add(24 * time.Hour)
	w.d.Kick()
	time.Sleep(100 * time.Millisecond)
	if rc.count() != 6 {
		t.Fatalf("a failed event was sent again: %d requests", rc.count())
	}
	failed, _, err := w.svc.ListWebhookEvents(context.Background(), w.pr, gateway.WebhookEventFilter{Status: gateway.DeliveryFailed, Page: 1, Limit: 10})
	if err != nil || len(failed) != 1 || failed[0].ID != id {
		t.Fatalf("deliveryStatus=failed lists %v, %v", failed, err)
	}

	rc.setAnswer(ok200)
	if err := w.svc.RetryWebhookEvent(context.Background(), w.pr, id); err != nil {
		t.Fatal(err)
	}
	if got := rc.wait(t); payloadID(t, got.Body) != id {
		t.Fatal("manual retry sent another event")
	}
	if e := w.waitAttempts(id, 7); e.Status != gateway.DeliveryDelivered {
		t.Fatalf("after manual retry: %s %q", e.Status, e.LastError)
	}
}

// A redirect is an answer, not followed: the attempt fails and the target never sees the event.
func TestRedirectNotFollowed(t *testing.T) {
	w := newWorld(t)
	var followed atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Store(true) }))
	defer target.Close()
	rc := newReceiver(t, func(_ int, rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, target.URL+"/stolen", http.StatusTemporaryRedirect)
	})
	w.endpoint(rc.URL)
	id := w.event()
	w.run()
	rc.wait(t)
	e := w.waitAttempts(id, 1)
	if e.Status != gateway.DeliveryPending || e.LastStatusCode != 307 || !strings.Contains(e.LastError, "not followed") {
		t.Fatalf("after a redirect: %s %d %q", e.Status, e.LastStatusCode, e.LastError)
	}
	if followed.Load() {
		t.Fatal("the redirect was followed")
	}
}

// Retry-After on 429 and 503 pushes the next attempt out; it never brings it earlier than the
// schedule.
func TestRetryAfterHonoured(t *testing.T) {
	w := newWorld(t)
	rc := newReceiver(t, func(n int, rw http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			rw.Header().Set("Retry-After", "600")
			rw.WriteHeader(http.StatusTooManyRequests)
			return
		}
		rw.Header().Set("Retry-After", "10")
		rw.WriteHeader(http.StatusServiceUnavailable)
	})
	w.endpoint(rc.URL)
	id := w.event()
	w.run()
	rc.wait(t)
	e := w.waitAttempts(id, 1)
	if want := e.Attempts[0].At.Add(10 * time.Minute); e.NextAttemptAt == nil || !e.NextAttemptAt.Equal(want) {
		t.Fatalf("after 429 Retry-After 600: next %v, want %v", e.NextAttemptAt, want)
	}
	w.clock.Add(10 * time.Minute)
	w.d.Kick()
	rc.wait(t)
	e = w.waitAttempts(id, 2)
	if want := e.Attempts[1].At.Add(webhook.DefaultSchedule[1]); !e.NextAttemptAt.Equal(want) {
		t.Fatalf("after 503 Retry-After 10: next %v, want the schedule's %v", e.NextAttemptAt, want)
	}
}

// 410 Gone disables the endpoint: the event fails, later events wait, and setting the endpoint
// again sends them.
func TestGoneDisablesEndpoint(t *testing.T) {
	w := newWorld(t)
	rc := newReceiver(t, func(_ int, rw http.ResponseWriter, _ *http.Request) { rw.WriteHeader(http.StatusGone) })
	w.endpoint(rc.URL)
	first := w.event()
	w.run()
	rc.wait(t)
	if e := w.waitAttempts(first, 1); e.Status != gateway.DeliveryFailed {
		t.Fatalf("after 410: %s", e.Status)
	}
	ep, _ := w.svc.GetWebhookEndpoint(context.Background(), w.pr)
	if ep.DisabledAt == nil || !strings.Contains(ep.DisabledReason, "410 Gone") {
		t.Fatalf("endpoint after 410: %+v", ep)
	}
	second := w.event()
	time.Sleep(100 * time.Millisecond)
	if rc.count() != 1 || w.state(second).Status != gateway.DeliveryPending {
		t.Fatal("an event was sent to a disabled endpoint")
	}
	rc.setAnswer(ok200)
	w.endpoint(rc.URL)
	if got := rc.wait(t); payloadID(t, got.Body) != second {
		t.Fatal("the waiting event was not sent after the endpoint was enabled")
	}
}

// A dispatcher stopped between a POST and recording its answer (a crash) leaves the delivery
// leased; after the lease, the next dispatcher sends the same event again.
func TestCrashMidDeliveryRedelivers(t *testing.T) {
	w := newWorld(t)
	hold := make(chan struct{})
	rc := newReceiver(t, func(n int, rw http.ResponseWriter, r *http.Request) {
		if n == 1 {
			select { // the first request hangs until the dispatcher is gone
			case <-hold:
			case <-r.Context().Done():
			}
			return
		}
		rw.WriteHeader(http.StatusOK)
	})
	w.endpoint(rc.URL)
	id := w.event()
	w.d.Grace = -1 // cut requests in flight at once, as a crash would
	w.d.Timeout = 5 * time.Second
	stop := w.run()
	rc.wait(t)
	stop()
	close(hold)
	if e := w.state(id); e.AttemptCount != 0 || e.Status != gateway.DeliveryPending {
		t.Fatalf("after the crash: %d attempts, %s", e.AttemptCount, e.Status)
	}

	restarted := &webhook.Dispatcher{Store: w.st, Keyring: w.svc.Keyring, Now: w.clock.Now, Poll: 20 * time.Millisecond,
		Client: webhook.NewPolicy(true).Client(time.Second, 4)}
	w.d = restarted
	w.run()
	time.Sleep(100 * time.Millisecond)
	if rc.count() != 1 {
		t.Fatal("redelivered while the crashed dispatcher's lease held")
	}
	w.clock.Add(time.Minute)
	w.d.Kick()
	if got := rc.wait(t); got.Header.Get("webhook-id") != id || payloadID(t, got.Body) != id {
		t.Fatal("redelivery carried another id")
	}
	if e := w.waitAttempts(id, 1); e.Status != gateway.DeliveryDelivered {
		t.Fatalf("after restart: %s", e.Status)
	}
}

// During the overlap after a rotation, the Standard Webhooks header carries signatures by both
// secrets; after it, the old secret no longer verifies and the new one does.
func TestRotationOverlap(t *testing.T) {
	w := newWorld(t)
	rc := newReceiver(t, ok200)
	w.endpoint(rc.URL)
	old := w.secret()
	sec, err := w.svc.RotateWebhookSecret(context.Background(), w.pr)
	if err != nil {
		t.Fatal(err)
	}
	w.run()
	verify := func(secret string, got received) error {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		return wh.VerifyIgnoringTimestamp(got.Body, got.Header)
	}
	w.event()
	got := rc.wait(t)
	if n := len(strings.Fields(got.Header.Get("webhook-signature"))); n != 2 {
		t.Fatalf("%d signatures during the overlap", n)
	}
	if verify(old, got) != nil || verify(sec.Secret, got) != nil {
		t.Fatal("a secret did not verify during the overlap")
	}
	if !hmacMatches(sec.Secret, got) {
		t.Fatal("X-Webhook-Signature is not by the new secret")
	}

	w.clock.Add(time.Hour + time.Second)
	w.event()
	w.d.Kick()
	got = rc.wait(t)
	if verify(old, got) == nil {
		t.Fatal("the old secret still verifies after the overlap")
	}
	if verify(sec.Secret, got) != nil || !hmacMatches(sec.Secret, got) {
		t.Fatal("the new secret does not verify")
	}
}

// Standard Webhooks timestamps are the attempt's time: a receiver checking them against its clock
// accepts a fresh delivery.
func TestStandardWebhooksVerify(t *testing.T) {
	w := newWorld(t)
	w.d.Now, w.svc.Now = nil, nil
	rc := newReceiver(t, ok200)
	w.endpoint(rc.URL)
	w.event()
	w.run()
	got := rc.wait(t)
	wh, _ := standardwebhooks.NewWebhook(w.secret())
	if err := wh.Verify(got.Body, got.Header); err != nil {
		t.Fatal(err)
	}
	if got.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("content type %q", got.Header.Get("Content-Type"))
	}
}

// hmacMatches checks X-Webhook-Signature as 3PAY's snippet does.
func hmacMatches(secret string, got received) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(got.Body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(got.Header.Get("X-Webhook-Signature")), []byte(want)) &&
		got.Header.Get("X-Payin-Signature") == strings.TrimPrefix(want, "sha256=")
}

// The events of one order arrive in the order they were written, one at a time: a later one waits
// while an earlier one is pending — also through the earlier one's retries (issue 11, item 10).
func TestEventsOfOneSubjectInOrder(t *testing.T) {
	w := newWorld(t)
	rc := newReceiver(t, func(n int, rw http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			http.Error(rw, "busy", http.StatusInternalServerError)
			return
		}
		rw.WriteHeader(http.StatusOK)
	})
	w.endpoint(rc.URL + "/hooks")
	ctx := context.Background()
	o, _, err := w.svc.CreateOrder(ctx, w.pr, gateway.OrderInput{Reference: "in-order", Amount: "12.5", Currency: "USDT", ChainID: "devnet"})
	if err != nil {
		t.Fatal(err)
	}
	// One step: DAI to the order's address, then its USDT payment: order.wrong_currency, then
	// order.completed, written in one transaction.
	pay := func(tx, currency string, wrong bool) *gateway.Transfer {
		return &gateway.Transfer{ChainID: "devnet", TxHash: tx, BlockNumber: 1, BlockHash: "0xb1", Token: "0x" + currency, Currency: currency,
			From: "0xpayer", To: o.Address, Amount: o.Amount, OrderID: o.ID, ProjectID: o.ProjectID, Mode: o.Mode, SeenAt: start,
			Ignored: wrong, WrongCurrency: wrong}
	}
	if err := w.svc.ApplyScan(ctx, &gateway.ScanBatch{ChainID: "devnet", From: 1, To: 1, ToHash: "0xb1", Head: 1, Required: 1,
		Transfers: []*gateway.Transfer{pay("0x01", "DAI", true), pay("0x02", "USDT", false)}, Now: start}); err != nil {
		t.Fatal(err)
	}
	w.run()
	typeOf := func(r received) string {
		var ev struct{ Type string }
		json.Unmarshal(r.Body, &ev)
		return ev.Type
	}
	if got := typeOf(rc.wait(t)); got != gateway.EventOrderWrongCurrency {
		t.Fatalf("first delivery %s, want %s", got, gateway.EventOrderWrongCurrency)
	}
	// The first failed and waits for its retry: the second is not sent meanwhile.
	for range 5 {
		w.d.Kick()
		time.Sleep(30 * time.Millisecond)
	}
	if n := rc.count(); n != 1 {
		t.Fatalf("%d deliveries while the first waits for its retry, want 1", n)
	}
	w.clock.Add(webhook.DefaultSchedule[0])
	w.d.Kick()
	if got := typeOf(rc.wait(t)); got != gateway.EventOrderWrongCurrency {
		t.Fatalf("the retry carried %s", got)
	}
	if got := typeOf(rc.wait(t)); got != gateway.EventOrderCompleted {
		t.Fatalf("then %s, want %s", got, gateway.EventOrderCompleted)
	}
}
