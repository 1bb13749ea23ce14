package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// expiredEvents creates n orders and expires them, so the store writes n order.expired events.
func expiredEvents(t *testing.T, svc *gateway.Service, pr *gateway.Principal, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		if _, _, err := svc.CreateOrder(ctx, pr, order(fmt.Sprintf("%s-%d", prefix, i), "1", "USDT", "devnet")); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := svc.ExpireOrders(ctx, testNow.Add(time.Hour)); err != nil || got != n {
		t.Fatalf("expired %d, %v; want %d", got, err, n)
	}
}

func testWebhookOutbox(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	pr := principal(t, svc, cp, gateway.Test)
	pr.SecretProven = true

	// Every project has an endpoint with a secret from its creation, in each mode.
	for _, m := range []gateway.Mode{gateway.Test, gateway.Live} {
		e, err := s.FindWebhookEndpoint(ctx, cp.Project.ID, m)
		if err != nil || e.URL != "" || len(e.Secret) == 0 {
			t.Fatalf("%s endpoint = %+v, %v", m, e, err)
		}
		if got, err := svc.Keyring.OpenWebhookSecret(cp.Project.ID, m, e.Secret); err != nil || got != cp.WebhookSecrets[m] {
			t.Fatalf("%s secret opens to %q, %v", m, got, err)
		}
	}

	// Without a URL, events are written and their deliveries skipped.
	expiredEvents(t, svc, pr, "none", 1)
	list := func(f gateway.WebhookEventFilter) []*gateway.WebhookEvent {
		t.Helper()
		f.ProjectID, f.Mode, f.Page = cp.Project.ID, gateway.Test, 1
		if f.Limit == 0 {
			f.Limit = 100
		}
		evs, _, err := s.ListWebhookEvents(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	if evs := list(gateway.WebhookEventFilter{}); len(evs) != 1 || evs[0].Status != gateway.DeliverySkipped || evs[0].Type != gateway.EventOrderExpired {
		t.Fatalf("events without endpoint = %+v", evs)
	}

	// Subscribed to order.completed only: order.expired is skipped.
	if _, err := svc.SetWebhookEndpoint(ctx, pr, "https://hooks.example.com/a", []string{gateway.EventOrderCompleted}, ""); err != nil {
		t.Fatal(err)
	}
	expiredEvents(t, svc, pr, "sub", 1)
	if evs := list(gateway.WebhookEventFilter{Status: gateway.DeliverySkipped}); len(evs) != 2 {
		t.Fatalf("skipped = %d, want 2", len(evs))
	}
	// All events: pending, and one wake-up for the dispatcher.
	if _, err := svc.SetWebhookEndpoint(ctx, pr, "https://hooks.example.com/a", nil, ""); err != nil {
		t.Fatal(err)
	}
	drain(s.DeliveriesQueued())
	expiredEvents(t, svc, pr, "all", 3)
	select {
	case <-s.DeliveriesQueued():
	default:
		t.Fatal("no wake-up after events were written")
	}
	if evs := list(gateway.WebhookEventFilter{Status: gateway.DeliveryPending}); len(evs) != 3 || evs[0].NextAttemptAt == nil {
		t.Fatalf("pending = %+v", evs)
	}

	// Claims lease: concurrent claimers never get the same delivery; a lease expires.
	now := testNow.Add(time.Hour)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			ds, err := s.ClaimDeliveries(ctx, now, now.Add(time.Minute), 2)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, d := range ds {
				seen[d.Event.ID]++
				if d.URL != "https://hooks.example.com/a" || len(d.Secrets) != 1 || d.Event.Type != gateway.EventOrderExpired || len(d.Event.Data) == 0 {
					t.Errorf("claimed %+v", d)
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != 3 {
		t.Fatalf("claimed %v, want each of 3 once", seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s claimed %d times", id, n)
		}
	}
	if ds, _ := s.ClaimDeliveries(ctx, now.Add(30*time.Second), now.Add(time.Minute), 10); len(ds) != 0 {
		t.Fatalf("claimed %d under lease", len(ds))
	}
	ds, err := s.ClaimDeliveries(ctx, now.Add(2*time.Minute), now.Add(3*time.Minute), 10)
	if err != nil || len(ds) != 3 {
		t.Fatalf("after the lease: %d, %v", len(ds), err)
	}

	// Results: one delivered, one retrying, one failed with the endpoint disabled (410).
	at := now.Add(2 * time.Minute)
	next := at.Add(time.Minute)
	results := []*gateway.DeliveryResult{
		{EventID: ds[0].Event.ID, StatusCode: 200, Status: gateway.DeliveryDelivered, Duration: 12 * time.Millisecond},
		{EventID: ds[1].Event.ID, StatusCode: 500, Error: "HTTP 500: boom", Status: gateway.DeliveryPending, Step: 1, NextAttemptAt: &next},
		{EventID: ds[2].Event.ID, StatusCode: 410, Error: "HTTP 410", Status: gateway.DeliveryFailed, Disable: "410 Gone"},
	}
	for _, r := range results {
		r.ProjectID, r.Mode, r.URL, r.At = cp.Project.ID, gateway.Test, "https://hooks.example.com/a", at
	}
	if err := s.RecordDeliveries(ctx, results); err != nil {
		t.Fatal(err)
	}
	byID := map[string]*gateway.WebhookEvent{}
	for _, e := range list(gateway.WebhookEventFilter{}) {
		byID[e.ID] = e
	}
	if e := byID[ds[0].Event.ID]; e.Status != gateway.DeliveryDelivered || e.AttemptCount != 1 || e.DeliveredAt == nil ||
		len(e.Attempts) != 1 || e.Attempts[0].StatusCode != 200 || e.Attempts[0].Duration != 12*time.Millisecond || e.Attempts[0].Attempt != 1 {
		t.Fatalf("delivered = %+v", e)
	}
	if e := byID[ds[1].Event.ID]; e.Status != gateway.DeliveryPending || !e.NextAttemptAt.Equal(next) || e.LastError != "HTTP 500: boom" || e.LastStatusCode != 500 {
		t.Fatalf("retrying = %+v", e)
	}
	if e := byID[ds[2].Event.ID]; e.Status != gateway.DeliveryFailed {
		t.Fatalf("failed = %+v", e)
	}
	ep, _ := s.FindWebhookEndpoint(ctx, cp.Project.ID, gateway.Test)
	if ep.DisabledAt == nil || ep.DisabledReason != "410 Gone" {
		t.Fatalf("endpoint after 410 = %+v", ep)
	}
	if st, err := s.WebhookStats(ctx); err != nil || st.DisabledEndpoints != 1 || st.Pending != 1 {
		t.Fatalf("stats = %+v, %v", st, err)
	}
	// A disabled endpoint's deliveries wait; configuring it again enables them.
	if ds, _ := s.ClaimDeliveries(ctx, next, next.Add(time.Minute), 10); len(ds) != 0 {
		t.Fatalf("claimed %d for a disabled endpoint", len(ds))
	}
	if _, err := svc.SetWebhookEndpoint(ctx, pr, "https://hooks.example.com/b", nil, ""); err != nil {
		t.Fatal(err)
	}
	if ds, _ := s.ClaimDeliveries(ctx, next, next.Add(time.Minute), 10); len(ds) != 1 || ds[0].URL != "https://hooks.example.com/b" {
		t.Fatalf("after enabling: %+v", ds)
	}

	// A manual retry makes a failed event pending and due now; an unknown or other-mode id is not found.
	if err := s.RetryWebhookEvent(ctx, cp.Project.ID, gateway.Test, ds[0].Event.ID, next); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryWebhookEvent(ctx, cp.Project.ID, gateway.Live, ds[0].Event.ID, next); !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("retry in the other mode: %v", err)
	}
	if evs := list(gateway.WebhookEventFilter{Status: gateway.DeliveryFailed}); len(evs) != 1 {
		t.Fatalf("failed = %d", len(evs))
	}
	if evs := list(gateway.WebhookEventFilter{Type: gateway.EventOrderCompleted}); len(evs) != 0 {
		t.Fatalf("type filter: %d", len(evs))
	}
	f := gateway.WebhookEventFilter{ProjectID: cp.Project.ID, Mode: gateway.Test, Page: 2, Limit: 2}
	if evs, total, err := s.ListWebhookEvents(ctx, f); err != nil || total != 5 || len(evs) != 2 {
		t.Fatalf("page 2: %d of %d, %v", len(evs), total, err)
	}

	// Rotation keeps the previous secret until the overlap ends; claims carry both until then.
	old, _ := s.FindWebhookEndpoint(ctx, cp.Project.ID, gateway.Test)
	svc.SecretOverlap = 2 * time.Hour
	sec, err := svc.RotateWebhookSecret(ctx, pr)
	if err != nil || sec.Secret == cp.WebhookSecrets[gateway.Test] || sec.PreviousUntil == nil {
		t.Fatalf("rotate = %+v, %v", sec, err)
	}
	ep, _ = s.FindWebhookEndpoint(ctx, cp.Project.ID, gateway.Test)
	if string(ep.PreviousSecret) != string(old.Secret) || !ep.PreviousUntil.Equal(testNow.Add(2*time.Hour)) {
		t.Fatalf("after rotation: %+v", ep)
	}
	in := testNow.Add(70 * time.Minute)
	if ds, _ := s.ClaimDeliveries(ctx, in, in.Add(time.Minute), 10); len(ds) == 0 || len(ds[0].Secrets) != 2 {
		t.Fatalf("claim in the overlap: %+v", ds)
	}
	after := testNow.Add(3 * time.Hour)
	if ds, _ := s.ClaimDeliveries(ctx, after, after.Add(time.Minute), 10); len(ds) == 0 || len(ds[0].Secrets) != 1 {
		t.Fatalf("claim after the overlap: %+v", ds)
	}
}

func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// The events of one subject are claimed one at a time, in the order they were written; those of
// other subjects are not held back.
func testWebhookOrderPerSubject(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	pr := principal(t, svc, cp, gateway.Test)
	pr.SecretProven = true
	if _, err := svc.SetWebhookEndpoint(ctx, pr, "https://hooks.example.com/a", nil, ""); err != nil {
		t.Fatal(err)
	}
	o, _, err := svc.CreateOrder(ctx, pr, order("subject-1", "10", "USDT", "devnet"))
	if err != nil {
		t.Fatal(err)
	}
	pay := func(tx, currency string, wrong bool) *gateway.Transfer {
		return &gateway.Transfer{ChainID: "devnet", TxHash: tx, BlockNumber: 1, BlockHash: "0xb1", Token: "0x" + currency, Currency: currency,
			From: "0xF", To: o.Address, Amount: o.Amount, OrderID: o.ID, ProjectID: o.ProjectID, Mode: o.Mode, SeenAt: testNow,
			Ignored: wrong, WrongCurrency: wrong}
	}
	if err := svc.ApplyScan(ctx, &gateway.ScanBatch{ChainID: "devnet", From: 1, To: 1, ToHash: "0xb1", Head: 1, Required: 1,
		Transfers: []*gateway.Transfer{pay("0x01", "DAI", true), pay("0x02", "USDT", false)}, Now: testNow}); err != nil {
		t.Fatal(err)
	}
	expiredEvents(t, svc, pr, "other", 1) // another order: another subject
	now := testNow.Add(2 * time.Hour)
	claim := func() map[string]string {
		t.Helper()
		ds, err := s.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, d := range ds {
			got[d.Event.Type] = d.Event.ID
		}
		return got
	}
	first := claim()
	if len(first) != 2 || first[gateway.EventOrderWrongCurrency] == "" || first[gateway.EventOrderExpired] == "" {
		t.Fatalf("first claim %v: want the order's first event and the other order's", first)
	}
	now = now.Add(2 * time.Minute) // the leases are over
	// The first event is still pending (its attempt failed): the second still waits.
	next := now.Add(time.Hour)
	if err := s.RecordDeliveries(ctx, []*gateway.DeliveryResult{{EventID: first[gateway.EventOrderWrongCurrency], ProjectID: cp.Project.ID,
		Mode: gateway.Test, URL: "https://hooks.example.com/a", At: now, StatusCode: 500, Error: "HTTP 500", Status: gateway.DeliveryPending,
		Step: 1, NextAttemptAt: &next}}); err != nil {
		t.Fatal(err)
	}
	if got := claim(); got[gateway.EventOrderCompleted] != "" {
		t.Fatalf("the second event was claimed while the first is pending: %v", got)
	}
	if err := s.RecordDeliveries(ctx, []*gateway.DeliveryResult{{EventID: first[gateway.EventOrderWrongCurrency], ProjectID: cp.Project.ID,
		Mode: gateway.Test, URL: "https://hooks.example.com/a", At: now, StatusCode: 200, Status: gateway.DeliveryDelivered}}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if got := claim(); got[gateway.EventOrderCompleted] == "" {
		t.Fatalf("after the first was delivered: %v", got)
	}
}
