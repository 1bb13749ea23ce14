package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/metrics"
)

// The metrics' counts of the database: orders by mode and status, on both engines.
func testStats(t *testing.T, s gateway.Store) {
	st, ok := s.(interface {
		Stats(context.Context) (metrics.Stats, error)
	})
	if !ok {
		t.Skip("the engine has no Stats")
	}
	ctx := context.Background()
	svc, cp := project(t, s, "https://stats.example.com")
	chains := map[gateway.Mode]string{gateway.Test: "ethereum-sepolia", gateway.Live: "ethereum"}
	for i, m := range []gateway.Mode{gateway.Test, gateway.Test, gateway.Live} {
		if _, _, err := svc.CreateOrder(ctx, principal(t, svc, cp, m), order(fmt.Sprint("S-", i), "1", "USDT", chains[m])); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, c := range got.Orders {
		counts[c.Labels[0]+"/"+c.Labels[1]] = c.N
	}
	if len(counts) != 2 || counts["test/pending"] != 2 || counts["live/pending"] != 1 {
		t.Errorf("orders by mode and status = %v", counts)
	}
	if len(got.Outgoing) != 0 || got.WebhooksPending < 0 || got.WebhooksPending > 0 && got.OldestPendingWebhook.IsZero() {
		t.Errorf("stats = %+v", got)
	}
}
