package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/stablegate/stablegate/internal/api/cryptopay"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/metrics"
	"github.com/stablegate/stablegate/internal/startstop"
)

// DefaultSchedule is the delay before each automatic retry of a failed delivery (3PAY v2): after
// the last one fails the event is failed.
var DefaultSchedule = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 12 * time.Hour}

// Defaults of a Dispatcher.
const (
	DefaultTimeout     = 15 * time.Second
	DefaultConcurrency = 64
	DefaultPoll        = time.Second
	maxRetryAfter      = 24 * time.Hour
)

// Dispatcher sends the outbox's pending deliveries. It claims due deliveries with a lease, POSTs
// them concurrently, and records each attempt with the event's next state. A crash between a POST
// and its record leaves the lease to expire, and the event is sent again with the same id: at
// least once, never lost.
type Dispatcher struct {
	Store   gateway.WebhookStore
	Keyring *gateway.Keyring
	Client  *http.Client // Policy.Client: the SSRF rules apply at dial time
	Log     *slog.Logger
	Now     func() time.Time

	Schedule    []time.Duration // nil: DefaultSchedule
	Timeout     time.Duration   // per request; 0: DefaultTimeout
	Concurrency int             // requests in flight; 0: DefaultConcurrency
	Poll        time.Duration   // how often to look for due deliveries without a wake-up; 0: DefaultPoll
	// Lease is how long a claimed delivery is held before another claim may take it: after a
	// crash, the time until it is sent again. 0: Timeout + 5 s.
	Lease time.Duration
	// Grace is how long requests in flight may finish after Run's context ends; those still
	// running are cut short and not recorded (their leases bring them back). 0: 3 s; < 0: none.
	Grace time.Duration

	kick chan struct{}
	once sync.Once
	loop startstop.Loop
}

var _ startstop.Service = (*Dispatcher)(nil)

// Start runs the dispatcher (Run) in the background until Stop.
func (d *Dispatcher) Start(ctx context.Context) error { return d.loop.Start(ctx, d.Run) }

// Stop ends the dispatcher and waits: attempts in flight are recorded within Grace.
func (d *Dispatcher) Stop() { d.loop.Stop() }

func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.kick = make(chan struct{}, 1)
		if d.Schedule == nil {
			d.Schedule = DefaultSchedule
		}
		if d.Timeout <= 0 {
			d.Timeout = DefaultTimeout
		}
		if d.Concurrency <= 0 {
			d.Concurrency = DefaultConcurrency
		}
		if d.Poll <= 0 {
			d.Poll = DefaultPoll
		}
		if d.Grace == 0 {
			d.Grace = 3 * time.Second
		}
		if d.Lease <= 0 {
			d.Lease = d.Timeout + 5*time.Second
		}
		if d.Log == nil {
			d.Log = slog.New(slog.DiscardHandler)
		}
		if d.Client == nil {
			d.Client = NewPolicy(false).Client(d.Timeout, d.Concurrency)
		}
	})
}

// Kick makes the dispatcher look for due deliveries now (tests that move the clock use it).
func (d *Dispatcher) Kick() {
	d.init()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC().Truncate(time.Millisecond)
	}
	return time.Now().UTC().Truncate(time.Millisecond)
}

// Run dispatches until ctx ends. Requests in flight then get Grace to finish; those cut short are
// not recorded, and their leases bring them back.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	jobs := make(chan *gateway.Delivery)
	results := make(chan *gateway.DeliveryResult, d.Concurrency)
	free := make(chan struct{}, d.Concurrency) // a token per request slot
	for range d.Concurrency {
		free <- struct{}{}
	}
	var workers sync.WaitGroup
	for range d.Concurrency {
		workers.Go(func() {
			for j := range jobs {
				if r := d.attempt(sendCtx, j); r != nil {
					results <- r
				}
			}
		})
	}
	recorded, freed := make(chan struct{}), make(chan struct{}, 1)
	go func() {
		defer close(recorded)
		d.record(results, free, freed)
	}()

	wake := d.Store.DeliveriesQueued()
	poll := time.NewTicker(d.Poll)
	defer poll.Stop()
	for ctx.Err() == nil {
		// Claim only as many as there are free slots, so a lease runs while its delivery is sent,
		// not while it waits.
		if n := len(free); n > 0 {
			now := d.now()
			batch, err := d.Store.ClaimDeliveries(ctx, now, now.Add(d.Lease), n)
			if err != nil && ctx.Err() == nil {
				d.Log.Warn("webhooks: claim deliveries", "err", err)
			}
			for _, j := range batch {
				<-free
				jobs <- j
			}
			if len(batch) > 0 {
				continue
			}
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-d.kick:
		case <-freed:
		case <-poll.C:
		}
	}
	// Shutting down: let requests in flight finish for a moment, then cut them short.
	stop := time.AfterFunc(max(d.Grace, 0), cancelSends)
	defer stop.Stop()
	close(jobs)
	workers.Wait()
	close(results)
	<-recorded
}

// record writes results in batches (whatever has arrived), giving back a slot per result and
// saying so on freed.
func (d *Dispatcher) record(results <-chan *gateway.DeliveryResult, free, freed chan<- struct{}) {
	for r := range results {
		batch := []*gateway.DeliveryResult{r}
	more:
		for len(batch) < 512 {
			select {
			case r, ok := <-results:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		for try := 0; ; try++ {
			err := d.Store.RecordDeliveries(context.Background(), batch)
			if err == nil {
				break
			}
			if try == 4 {
				// The leases expire and the events are sent again: at least once.
				d.Log.Error("webhooks: record deliveries", "count", len(batch), "err", err)
				break
			}
			time.Sleep(time.Duration(100<<try) * time.Millisecond)
		}
		for range batch {
			free <- struct{}{}
		}
		select {
		case freed <- struct{}{}:
		default:
		}
	}
}

// attempt sends one delivery and returns the result to record, or nil when shutdown cut the
// request short (its lease brings it back).
func (d *Dispatcher) attempt(ctx context.Context, j *gateway.Delivery) *gateway.DeliveryResult {
	at, start := d.now(), time.Now()
	r := &gateway.DeliveryResult{EventID: j.Event.ID, ProjectID: j.Event.ProjectID, Mode: j.Event.Mode, URL: j.URL, At: at}
	status, retryAfter, err := d.post(ctx, j, at)
	if ctx.Err() != nil {
		return nil
	}
	r.StatusCode, r.Duration = status, time.Since(start)
	d.decide(r, j, retryAfter, err)
	result := r.Status // delivered, pending (a retry is due) or failed
	switch {
	case r.Disable != "":
		result = "disabled"
	case r.Status == gateway.DeliveryPending:
		result = "retry"
	}
	metrics.WebhookAttempt(result, r.Duration)
	return r
}

// post signs and sends the delivery; it returns the status code (0 without an answer), the
// Retry-After delay asked for, and why the attempt failed (nil for a 2xx).
func (d *Dispatcher) post(ctx context.Context, j *gateway.Delivery, at time.Time) (int, time.Duration, error) {
	secrets := make([]string, 0, len(j.Secrets))
	for _, sealed := range j.Secrets {
		s, err := d.Keyring.OpenWebhookSecret(j.Event.ProjectID, j.Event.Mode, sealed)
		if err != nil {
			return 0, 0, err
		}
		secrets = append(secrets, s)
	}
	body := Body(&j.Event)
	var h http.Header
	var err error
	if j.Format == gateway.FormatCryptoPay {
		body, h, err = d.cryptoPay(j)
	} else {
		h, err = Headers(j.Event.ID, body, at, secrets)
	}
	if err != nil {
		return 0, 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, j.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("bad URL: %w", err)
	}
	req.Header = h
	resp, err := d.Client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
			return 0, 0, fmt.Errorf("no answer within %s", d.Timeout)
		}
		if errors.Is(err, ErrPrivateAddress) {
			return 0, 0, fmt.Errorf("refused: %s resolves to a private or internal address", req.URL.Hostname())
		}
		return 0, 0, errors.New(strings.TrimPrefix(err.Error(), "Post \""+j.URL+"\": "))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return code, 0, nil
	case code >= 300 && code < 400:
		return code, 0, fmt.Errorf("HTTP %d: redirect to %q not followed", code, resp.Header.Get("Location"))
	default:
		return code, retryAfter(resp.Header.Get("Retry-After"), at), fmt.Errorf("HTTP %d: %s", code, printable(snippet))
	}
}

// decide sets the event's state after an attempt: delivered on a 2xx; failed and the endpoint
// disabled on 410 Gone; otherwise the next retry of the schedule (no earlier than a Retry-After
// asked for), or failed when the schedule is used up.
func (d *Dispatcher) decide(r *gateway.DeliveryResult, j *gateway.Delivery, retryAfter time.Duration, err error) {
	r.Step = j.Step
	switch {
	case err == nil:
		r.Status = gateway.DeliveryDelivered
	case r.StatusCode == http.StatusGone:
		r.Status, r.Error = gateway.DeliveryFailed, err.Error()
		r.Disable = fmt.Sprintf("%s answered 410 Gone at %s: no more events are sent until the endpoint is configured again",
			r.URL, r.At.Format(time.RFC3339))
	case j.Step < len(d.schedule(j)):
		delay := max(d.schedule(j)[j.Step], retryAfter)
		next := r.At.Add(delay)
		r.Status, r.Error, r.Step, r.NextAttemptAt = gateway.DeliveryPending, err.Error(), j.Step+1, &next
	default:
		r.Status, r.Error = gateway.DeliveryFailed, err.Error()
	}
}

// retryAfter parses a Retry-After header (seconds or an HTTP date), capped at a day.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// printable returns a response snippet fit to store and show.
func printable(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// schedule is the delivery's retry schedule: Crypto Pay's for its format, else the dispatcher's.
func (d *Dispatcher) schedule(j *gateway.Delivery) []time.Duration {
	if j.Format == gateway.FormatCryptoPay {
		return cryptopay.WebhookSchedule
	}
	return d.Schedule
}

// cryptoPay is a delivery in Crypto Pay's format: its body, and X-Signature, the hex HMAC-SHA256
// of the body keyed with the API secret. stablegate keeps only the secret's SHA-256, which is the
// same HMAC key: a key longer than SHA-256's block (API secrets are 72 bytes) is hashed first
// (RFC 2104), so hash_hmac('sha256', $body, $apiSecret) verifies it.
func (d *Dispatcher) cryptoPay(j *gateway.Delivery) ([]byte, http.Header, error) {
	if j.CredentialID == "" || len(j.APISecret) == 0 {
		return nil, nil, errors.New("the project has no API key pair in this mode to sign with")
	}
	key, err := d.Keyring.OpenSecretHash(j.CredentialID, j.APISecret)
	if err != nil {
		return nil, nil, err
	}
	body, err := cryptopay.WebhookBody(&j.Event)
	if err != nil {
		return nil, nil, fmt.Errorf("crypto pay body: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "stablegate-webhooks/1")
	h.Set("X-Signature", hex.EncodeToString(mac.Sum(nil)))
	return body, h, nil
}
