package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/stablegate/stablegate/internal/gateway"
)

// Payload is the body of every webhook, PayIn's shape.
type Payload struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt string          `json:"createdAt"`
	Livemode  bool            `json:"livemode"`
	Data      json.RawMessage `json:"data"`
}

// Body returns the webhook body of an event: the same bytes for every attempt.
func Body(e *gateway.Event) []byte {
	return gateway.MarshalJSON(Payload{ID: e.ID, Type: e.Type, CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano),
		Livemode: e.Mode.Live(), Data: e.Data})
}

// Headers returns the signature headers of a body, sent at the time: the 3PAY and PayIn digests
// keyed with the current secret string as the merchant sees it, and the Standard Webhooks
// signature with every secret given (the current one first, then one being rotated out).
func Headers(eventID string, body []byte, at time.Time, secrets []string) (http.Header, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("sign %s: no secret", eventID)
	}
	mac := hmac.New(sha256.New, []byte(secrets[0]))
	mac.Write(body)
	digest := hex.EncodeToString(mac.Sum(nil))
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return nil, fmt.Errorf("sign %s: %w", eventID, err)
		}
		sig, err := wh.Sign(eventID, at, body)
		if err != nil {
			return nil, fmt.Errorf("sign %s: %w", eventID, err)
		}
		sigs = append(sigs, sig)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "stablegate-webhooks/1")
	h.Set("X-Webhook-Signature", "sha256="+digest)
	h.Set("X-Payin-Signature", digest)
	h.Set(standardwebhooks.HeaderWebhookID, eventID)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, strings.Join(sigs, " "))
	return h, nil
}
