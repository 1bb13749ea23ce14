package cryptopay_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/api/cryptopay"
	"github.com/stablegate/stablegate/internal/gateway"
)

// The webhook's pay_amount is the order's pay amount (the amount plus its offset on a shared
// address); an event written before orders had one pays the amount.
func TestWebhookBodyPayAmount(t *testing.T) {
	for data, want := range map[string]string{
		`{"orderNumber":7,"orderReference":"A","amount":"50","payAmount":"50.0134","currency":"USDT","chainId":"tron-nile","txHash":"0x1"}`: "50.013400",
		`{"orderNumber":7,"orderReference":"A","amount":"50","currency":"USDT","chainId":"tron-nile","txHash":"0x1"}`:                       "50.000000",
	} {
		raw, err := cryptopay.WebhookBody(&gateway.Event{ProjectID: "prj_1", Mode: gateway.Test, Type: gateway.EventOrderCompleted,
			Data: json.RawMessage(data), CreatedAt: time.Now()})
		var body map[string]any
		if err != nil || json.Unmarshal(raw, &body) != nil || body["pay_amount"] != want || body["amount"] != "50.00" {
			t.Errorf("%s: %s, %v (want pay_amount %s)", data, raw, err, want)
		}
	}
}
