package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stablegate/stablegate/client"
)

// A 429 with Retry-After and a 503 are retried, the Retry-After waited, and a POST keeps one
// Idempotency-Key across its attempts; when the retries are used up, the last answer is the error.
func TestClientRetries(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	var times []time.Time
	answers := []func(http.ResponseWriter){
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			w.Write([]byte(`{"success":false,"error":"RateLimited","message":"API rate limit exceeded. Try again in 1 minutes."}`))
		},
		func(w http.ResponseWriter) {
			w.WriteHeader(503)
			w.Write([]byte(`{"success":false,"error":"Overloaded","message":"busy"}`))
		},
		func(w http.ResponseWriter) {
			w.WriteHeader(201)
			w.Write([]byte(`{"success":true,"data":{"orderId":"ord_1","status":"pending","amount":"1"}}`))
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := len(keys)
		keys, times = append(keys, r.Header.Get("Idempotency-Key")), append(times, time.Now())
		answer := answers[min(n, len(answers)-1)]
		mu.Unlock()
		answer(w)
	}))
	defer srv.Close()
	c := client.New(srv.URL, "pk_test_x", client.WithRetries(3, time.Millisecond))
	o, err := c.CreateOrder(context.Background(), client.OrderInput{OrderReference: "r", Amount: "1", Currency: "USDT", ChainID: "devnet"})
	if err != nil || o.OrderID != "ord_1" {
		t.Fatalf("after a 429 and a 503: %+v, %v", o, err)
	}
	if len(keys) != 3 || keys[0] == "" || keys[1] != keys[0] || keys[2] != keys[0] {
		t.Errorf("Idempotency-Keys of the attempts = %q", keys)
	}
	if waited := times[1].Sub(times[0]); waited < time.Second {
		t.Errorf("Retry-After: 1 was not waited: %v", waited)
	}

	// Always 503: after the retries, the answer is the error.
	mu.Lock()
	keys, times, answers = nil, nil, answers[1:2]
	mu.Unlock()
	_, err = client.New(srv.URL, "pk_test_x", client.WithRetries(2, time.Millisecond)).GetOrder(context.Background(), "ord_1")
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 503 || apiErr.Type != "Overloaded" || len(keys) != 3 {
		t.Errorf("always 503: %v after %d attempts", err, len(keys))
	}
	if keys[0] != "" {
		t.Errorf("a GET carried an Idempotency-Key: %q", keys[0])
	}
}
