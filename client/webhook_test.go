package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stablegate/stablegate/client"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/webhook"
)

// VerifyWebhook accepts the gateway's own signatures (the dispatcher's signer) in each scheme,
// and refuses a tampered body, another secret, and a Standard Webhooks delivery replayed late.
func TestVerifyWebhook(t *testing.T) {
	secret := gateway.NewWebhookSecret()
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"id":"evt_1","type":"order.completed","createdAt":"2026-12-03T12:00:00Z","livemode":false,"data":{"orderId":"ord_1"}}`)
	h, err := webhook.Headers("evt_1", body, at, []string{secret})
	if err != nil {
		t.Fatal(err)
	}
	for _, scheme := range []string{"", client.SchemeThreePay, client.SchemePayIn, client.SchemeStandard} {
		e, err := client.VerifyWebhook(secret, scheme, h, body, at.Add(time.Minute))
		if err != nil || e.ID != "evt_1" || e.Type != "order.completed" || string(e.Data) != `{"orderId":"ord_1"}` {
			t.Errorf("scheme %q: %+v, %v", scheme, e, err)
		}
		tampered := append([]byte{}, body...)
		tampered[len(tampered)-3] = '2'
		if _, err := client.VerifyWebhook(secret, scheme, h, tampered, at); !errors.Is(err, client.ErrSignature) {
			t.Errorf("scheme %q, a tampered body: %v", scheme, err)
		}
		if _, err := client.VerifyWebhook(gateway.NewWebhookSecret(), scheme, h, body, at); !errors.Is(err, client.ErrSignature) {
			t.Errorf("scheme %q, another secret: %v", scheme, err)
		}
	}
	if _, err := client.VerifyWebhook(secret, client.SchemeStandard, h, body, at.Add(10*time.Minute)); err == nil {
		t.Error("a Standard Webhooks delivery 10 minutes old verified")
	}
	if _, err := client.VerifyWebhook(secret, "stripe", h, body, at); err == nil {
		t.Error("an unknown scheme verified")
	}
}
