package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Every delivery carries three signatures of its raw body (docs/webhooks.md), for receivers
// written for any of the gateways stablegate speaks:
const (
	SchemeThreePay  = "3pay"              // X-Webhook-Signature: sha256=<hex HMAC-SHA256(body, secret)>
	SchemePayIn     = "payin"             // X-Payin-Signature: <hex HMAC-SHA256(body, secret)>
	SchemeStandard  = "standard-webhooks" // webhook-id, webhook-timestamp, webhook-signature (v1,<base64>)
	ReplayTolerance = 5 * time.Minute     // how far a Standard Webhooks timestamp may be from now
)

// ErrSignature is VerifyWebhook's error for a delivery that no scheme's signature proves.
var ErrSignature = errors.New("stablegate: webhook signature does not verify")

// WebhookEvent is the body of a delivery.
type WebhookEvent struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"` // order.completed, deposit.confirmed, withdrawal.completed, …
	CreatedAt time.Time       `json:"createdAt"`
	Livemode  bool            `json:"livemode"`
	Data      json.RawMessage `json:"data"`
}

// VerifyWebhook checks a delivery's signature with the endpoint's secret (whsec_…) under the
// scheme (SchemeThreePay, SchemePayIn or SchemeStandard; "" takes the first scheme whose headers
// are present, Standard Webhooks first, since its timestamp also refuses replays) and returns
// the event. body must be the raw bytes received, before any JSON decoding. With Standard
// Webhooks a delivery whose timestamp is more than ReplayTolerance from now is refused.
func VerifyWebhook(secret, scheme string, header http.Header, body []byte, now time.Time) (*WebhookEvent, error) {
	if scheme == "" {
		switch {
		case header.Get("webhook-signature") != "":
			scheme = SchemeStandard
		case header.Get("X-Webhook-Signature") != "":
			scheme = SchemeThreePay
		default:
			scheme = SchemePayIn
		}
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	digest := mac.Sum(nil)
	ok := false
	switch scheme {
	case SchemeThreePay:
		got, err := hex.DecodeString(strings.TrimPrefix(header.Get("X-Webhook-Signature"), "sha256="))
		ok = err == nil && hmac.Equal(got, digest)
	case SchemePayIn:
		got, err := hex.DecodeString(header.Get("X-Payin-Signature"))
		ok = err == nil && hmac.Equal(got, digest)
	case SchemeStandard:
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return nil, err
		}
		ts, err := strconv.ParseInt(header.Get("webhook-timestamp"), 10, 64)
		if err != nil {
			return nil, ErrSignature
		}
		if d := now.Sub(time.Unix(ts, 0)); d > ReplayTolerance || d < -ReplayTolerance {
			return nil, errors.New("stablegate: webhook timestamp outside the replay window")
		}
		ok = wh.VerifyIgnoringTimestamp(body, header) == nil
	default:
		return nil, errors.New("stablegate: unknown webhook signature scheme " + strconv.Quote(scheme))
	}
	if !ok {
		return nil, ErrSignature
	}
	var e WebhookEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, errors.New("stablegate: webhook body is not an event: " + err.Error())
	}
	return &e, nil
}
