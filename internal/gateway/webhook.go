package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// EventTypes are the event types a webhook endpoint can subscribe to.
var EventTypes = []string{EventOrderCompleted, EventOrderUnderpaid, EventOrderExpired, EventOrderInvalid, EventOrderPaidLate, EventOrderReorged,
	EventOrderWrongCurrency, EventPaymentUnmatched, EventDepositPending, EventDepositConfirmed, EventDepositReorged, EventSweepCompleted, EventSweepFailed,
	EventWithdrawalCreated, EventWithdrawalApproved, EventWithdrawalRejected, EventWithdrawalBroadcast, EventWithdrawalCompleted, EventWithdrawalFailed}

// Delivery statuses of a webhook event.
const (
	DeliveryPending   = "pending"   // due now or at NextAttemptAt
	DeliveryDelivered = "delivered" // a 2xx answer was received
	DeliveryFailed    = "failed"    // the retry schedule is exhausted, or the endpoint answered 410
	DeliverySkipped   = "skipped"   // no endpoint was configured for the event, or it was not subscribed
)

// WebhookEndpoint is the webhook configuration of a project in one mode: where events go, which
// ones, and the signing secret (sealed by the Keyring). An endpoint without a URL only holds the
// secret.
type WebhookEndpoint struct {
	ProjectID string
	Mode      Mode
	URL       string
	Events    []string // empty: every event type
	// Format is the body and signature the endpoint gets (FormatPayIn unless set).
	Format WebhookFormat
	Secret []byte // sealed
	// PreviousSecret (sealed) still signs deliveries until PreviousUntil, after a rotation.
	PreviousSecret []byte
	PreviousUntil  *time.Time
	SecretAt       time.Time // when the current secret was created
	// DisabledAt is set when the URL answered 410 Gone; deliveries wait until the endpoint is
	// configured again.
	DisabledAt     *time.Time
	DisabledReason string
	UpdatedAt      time.Time
}

// Delivery is a webhook event claimed for sending: the event, where it goes and the secrets that
// sign it (sealed; the current one first).
type Delivery struct {
	Event   Event
	URL     string
	Step    int // retries of the schedule used so far
	Secrets [][]byte
	Format  WebhookFormat
	// APISecret is, for FormatCryptoPay, the sealed secret hash of the mode's newest API key pair
	// (CredentialID's), which keys its X-Signature.
	APISecret    []byte
	CredentialID string
}

// WebhookFormat is the body and signature an endpoint gets.
type WebhookFormat string

// The formats.
const (
	// FormatPayIn is stablegate's event body, signed under the three schemes (docs/webhooks.md).
	FormatPayIn WebhookFormat = "payin"
	// FormatCryptoPay is Crypto Pay's payment body with its X-Signature (docs/compat-cryptopay.md).
	FormatCryptoPay WebhookFormat = "cryptopay"
)

// DeliveryResult is what one attempt to deliver an event came to; the store records the attempt
// and the event's new delivery state in one transaction.
type DeliveryResult struct {
	EventID    string
	ProjectID  string
	Mode       Mode
	URL        string
	At         time.Time
	StatusCode int    // 0: no HTTP answer
	Error      string // why it failed; empty when delivered
	Duration   time.Duration
	// The event's state after the attempt.
	Status        string
	Step          int
	NextAttemptAt *time.Time
	// Disable, when set, disables the endpoint (it answered 410 Gone) with this reason.
	Disable string
}

// DeliveryAttempt is one recorded attempt.
type DeliveryAttempt struct {
	Attempt    int
	At         time.Time
	URL        string
	StatusCode int
	Error      string
	Duration   time.Duration
}

// WebhookEvent is an event with its delivery state, as the events API lists it.
type WebhookEvent struct {
	Event
	Status         string
	AttemptCount   int
	NextAttemptAt  *time.Time
	LastStatusCode int
	LastError      string
	DeliveredAt    *time.Time
	Attempts       []DeliveryAttempt
}

// WebhookEventFilter selects webhook events of one project and mode.
type WebhookEventFilter struct {
	ProjectID string
	Mode      Mode
	// Subject selects the events of one order, deposit transfer, withdrawal or sweep (its id).
	Subject string
	Status  string
	Type    string
	Page    int // from 1
	Limit   int
}

// WebhookStats is what /health says about webhooks.
type WebhookStats struct {
	Pending           int
	OldestPendingAt   *time.Time
	DisabledEndpoints int
}

// WebhookStore keeps endpoints, deliveries and attempts. Deliveries are written by the store in
// the transaction of each event (the outbox).
type WebhookStore interface {
	// EnsureWebhookEndpoint stores e unless the project already has an endpoint in e's mode.
	EnsureWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	FindWebhookEndpoint(ctx context.Context, projectID string, mode Mode) (*WebhookEndpoint, error)
	// SetWebhookURL sets the endpoint's URL and events and enables it again.
	SetWebhookURL(ctx context.Context, projectID string, mode Mode, url string, events []string, format WebhookFormat, at time.Time) error
	// RotateWebhookSecret makes secret current; the old one stays usable until previousUntil.
	RotateWebhookSecret(ctx context.Context, projectID string, mode Mode, secret []byte, at, previousUntil time.Time) error
	// ClaimDeliveries leases up to limit pending deliveries due at now, of enabled endpoints, until
	// leaseUntil: no other claim returns them before then. Secrets are returned sealed.
	ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*Delivery, error)
	RecordDeliveries(ctx context.Context, results []*DeliveryResult) error
	ListWebhookEvents(ctx context.Context, f WebhookEventFilter) ([]*WebhookEvent, int, error)
	// RetryWebhookEvent makes the event pending and due at once, with the retry schedule from its
	// start, or reports ErrNotFound.
	RetryWebhookEvent(ctx context.Context, projectID string, mode Mode, eventID string, at time.Time) error
	WebhookStats(ctx context.Context) (WebhookStats, error)
	// DeliveriesQueued receives a value after a transaction wrote events, so a dispatcher in this
	// process need not wait for its next poll.
	DeliveriesQueued() <-chan struct{}
}

// WebhookPolicy decides which URLs webhooks may be sent to (internal/webhook implements it with
// its SSRF rules).
type WebhookPolicy interface {
	CheckURL(ctx context.Context, raw string) error
}

// NewWebhookSecret returns a fresh signing secret in the Standard Webhooks form: "whsec_" and the
// base64 of 32 random bytes.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// MaskSecret shows a secret with all but its prefix and last 8 characters hidden.
func MaskSecret(s string) string {
	const visible = 8
	prefix := ""
	if strings.HasPrefix(s, "whsec_") {
		prefix, s = "whsec_", s[len("whsec_"):]
	}
	if len(s) <= visible {
		return prefix + s
	}
	return prefix + strings.Repeat("*", len(s)-visible) + s[len(s)-visible:]
}

// secretAAD binds a sealed webhook secret to its project and mode.
func secretAAD(projectID string, mode Mode) []byte {
	return []byte("webhook-secret/" + projectID + "/" + string(mode))
}

// SealWebhookSecret seals a webhook secret for storage.
func (k *Keyring) SealWebhookSecret(projectID string, mode Mode, secret string) []byte {
	return k.Seal([]byte(secret), secretAAD(projectID, mode))
}

// OpenWebhookSecret opens a sealed webhook secret.
func (k *Keyring) OpenWebhookSecret(projectID string, mode Mode, sealed []byte) (string, error) {
	b, err := k.Open(sealed, secretAAD(projectID, mode))
	if err != nil {
		return "", fmt.Errorf("open webhook secret: %w", err)
	}
	return string(b), nil
}

// newEndpoint returns an endpoint with a fresh sealed secret; the secret is returned to be shown.
func (s *Service) newEndpoint(projectID string, mode Mode, url string, at time.Time) (*WebhookEndpoint, string, error) {
	if s.Keyring == nil {
		return nil, "", errors.New("no master key configured to seal the webhook secret")
	}
	secret := NewWebhookSecret()
	return &WebhookEndpoint{ProjectID: projectID, Mode: mode, URL: url, Secret: s.Keyring.SealWebhookSecret(projectID, mode, secret),
		SecretAt: at, UpdatedAt: at}, secret, nil
}

// webhookEndpoint returns the principal's endpoint, creating it (with a secret) for a project made
// before webhooks existed.
func (s *Service) webhookEndpoint(ctx context.Context, pr *Principal) (*WebhookEndpoint, error) {
	e, err := s.Store.FindWebhookEndpoint(ctx, pr.Project.ID, pr.Mode)
	if !errors.Is(err, ErrNotFound) {
		return e, err
	}
	e, _, err = s.newEndpoint(pr.Project.ID, pr.Mode, "", s.now())
	if err != nil {
		return nil, err
	}
	if err := s.Store.EnsureWebhookEndpoint(ctx, e); err != nil {
		return nil, err
	}
	return s.Store.FindWebhookEndpoint(ctx, pr.Project.ID, pr.Mode)
}

// GetWebhookEndpoint returns the principal's webhook endpoint.
func (s *Service) GetWebhookEndpoint(ctx context.Context, pr *Principal) (*WebhookEndpoint, error) {
	return s.webhookEndpoint(ctx, pr)
}

// RequireSecret refuses a request that did not prove the API secret.
func RequireSecret(pr *Principal) error {
	if !pr.SecretProven {
		return Errorf(EUnauthorized, "x-api-secret", "This operation requires your API secret: send it as x-api-secret (or sign the body with X-Signature)")
	}
	return nil
}

// SetWebhookEndpoint sets where the principal's events go and which ones (none: all). It needs
// the API secret: whoever sets the URL receives the events.
func (s *Service) SetWebhookEndpoint(ctx context.Context, pr *Principal, url string, events []string, format WebhookFormat) (*WebhookEndpoint, error) {
	if err := RequireSecret(pr); err != nil {
		return nil, err
	}
	if url == "" {
		return nil, Errorf(EInvalid, "url", "url is required (DELETE /api/v1/webhook/endpoint removes the endpoint)")
	}
	if err := s.checkWebhookURL(ctx, url, pr.Mode, "url"); err != nil {
		return nil, err
	}
	events = slices.Clone(events)
	for _, t := range events {
		if !slices.Contains(EventTypes, t) {
			return nil, Errorf(EInvalid, "events", "unknown event type %q; known: %s", t, strings.Join(EventTypes, ", "))
		}
	}
	slices.Sort(events)
	events = slices.Compact(events)
	switch format {
	case "":
		format = FormatPayIn
	case FormatPayIn:
	case FormatCryptoPay:
		// Crypto Pay tells of one thing, a payment that became paid.
		if len(events) > 1 || len(events) == 1 && events[0] != EventOrderCompleted {
			return nil, Errorf(EInvalid, "events", "the cryptopay format sends %s events only", EventOrderCompleted)
		}
		events = []string{EventOrderCompleted}
	default:
		return nil, Errorf(EInvalid, "format", "format must be payin or cryptopay")
	}
	before, err := s.webhookEndpoint(ctx, pr)
	if err != nil {
		return nil, err
	}
	ctx = s.audited(ctx, pr.Project.ID, pr.Mode, AuditWebhookURLSet, "webhook", map[string]any{"from": before.URL, "to": url,
		"events": append([]string{}, events...), "format": string(format)})
	if err := s.Store.SetWebhookURL(ctx, pr.Project.ID, pr.Mode, url, events, format, s.now()); err != nil {
		return nil, err
	}
	return s.Store.FindWebhookEndpoint(ctx, pr.Project.ID, pr.Mode)
}

// DeleteWebhookEndpoint stops sending the principal's events; the secret is kept.
func (s *Service) DeleteWebhookEndpoint(ctx context.Context, pr *Principal) (*WebhookEndpoint, error) {
	if err := RequireSecret(pr); err != nil {
		return nil, err
	}
	before, err := s.webhookEndpoint(ctx, pr)
	if err != nil {
		return nil, err
	}
	ctx = s.audited(ctx, pr.Project.ID, pr.Mode, AuditWebhookURLRemoved, "webhook", map[string]any{"from": before.URL})
	if err := s.Store.SetWebhookURL(ctx, pr.Project.ID, pr.Mode, "", nil, FormatPayIn, s.now()); err != nil {
		return nil, err
	}
	return s.Store.FindWebhookEndpoint(ctx, pr.Project.ID, pr.Mode)
}

// checkWebhookURL validates a webhook URL for a mode: absolute, https (http in test mode), and
// allowed by the policy (no private or internal destinations).
func (s *Service) checkWebhookURL(ctx context.Context, raw string, mode Mode, field string) *Error {
	if _, ok := parseWebURL(raw); !ok || len(raw) > 2048 {
		return Errorf(EInvalid, field, "%s must be an absolute http(s) URL of at most 2048 characters", field)
	}
	if mode.Live() && !strings.HasPrefix(strings.ToLower(raw), "https://") {
		return Errorf(EInvalid, field, "%s must be https in live mode", field)
	}
	if s.WebhookPolicy != nil {
		if err := s.WebhookPolicy.CheckURL(ctx, raw); err != nil {
			return Errorf(EInvalid, field, "%s is not allowed: %v", field, err)
		}
	}
	return nil
}

// WebhookSecret is a project's webhook secret as it is shown: masked, or in full once after a
// rotation.
type WebhookSecret struct {
	Secret        string
	CreatedAt     time.Time
	PreviousUntil *time.Time
}

// GetWebhookSecret returns the principal's webhook secret, masked.
func (s *Service) GetWebhookSecret(ctx context.Context, pr *Principal) (*WebhookSecret, error) {
	e, err := s.webhookEndpoint(ctx, pr)
	if err != nil {
		return nil, err
	}
	secret, err := s.Keyring.OpenWebhookSecret(e.ProjectID, e.Mode, e.Secret)
	if err != nil {
		return nil, err
	}
	return &WebhookSecret{Secret: MaskSecret(secret), CreatedAt: e.SecretAt, PreviousUntil: e.livePrevious(s.now())}, nil
}

func (e *WebhookEndpoint) livePrevious(now time.Time) *time.Time {
	if e.PreviousUntil != nil && now.Before(*e.PreviousUntil) {
		return e.PreviousUntil
	}
	return nil
}

// RotateWebhookSecret replaces the principal's webhook secret and returns the new one, in full,
// once. Deliveries are signed with both secrets for the overlap (Standard Webhooks header).
func (s *Service) RotateWebhookSecret(ctx context.Context, pr *Principal) (*WebhookSecret, error) {
	if err := RequireSecret(pr); err != nil {
		return nil, err
	}
	if _, err := s.webhookEndpoint(ctx, pr); err != nil {
		return nil, err
	}
	now := s.now()
	secret := NewWebhookSecret()
	until := now.Add(s.SecretOverlap)
	ctx = s.audited(ctx, pr.Project.ID, pr.Mode, AuditWebhookSecret, "webhook", map[string]any{"previousValidUntil": until.UTC().Format(time.RFC3339)})
	if err := s.Store.RotateWebhookSecret(ctx, pr.Project.ID, pr.Mode, s.Keyring.SealWebhookSecret(pr.Project.ID, pr.Mode, secret), now, until); err != nil {
		return nil, err
	}
	if s.WebhookSecretRotated != nil {
		s.WebhookSecretRotated(pr.Project.ID, pr.Mode, secret)
	}
	out := &WebhookSecret{Secret: secret, CreatedAt: now}
	if s.SecretOverlap > 0 {
		out.PreviousUntil = &until
	}
	return out, nil
}

// ListWebhookEvents lists the principal's events with their delivery state, newest first.
func (s *Service) ListWebhookEvents(ctx context.Context, pr *Principal, f WebhookEventFilter) ([]*WebhookEvent, int, error) {
	switch f.Status {
	case "", DeliveryPending, DeliveryDelivered, DeliveryFailed, DeliverySkipped:
	default:
		return nil, 0, Errorf(EInvalid, "deliveryStatus", "deliveryStatus must be pending, delivered, failed or skipped")
	}
	if f.Type != "" && !slices.Contains(EventTypes, f.Type) {
		return nil, 0, Errorf(EInvalid, "type", "unknown event type %q; known: %s", f.Type, strings.Join(EventTypes, ", "))
	}
	if err := checkPage(f.Page, f.Limit); err != nil {
		return nil, 0, err
	}
	f.ProjectID, f.Mode = pr.Project.ID, pr.Mode
	return s.Store.ListWebhookEvents(ctx, f)
}

// RetryWebhookEvent queues an event for delivery now, whatever its state (a delivered event is
// delivered again), retried on the schedule if that fails. With no endpoint configured it is
// refused.
func (s *Service) RetryWebhookEvent(ctx context.Context, pr *Principal, eventID string) error {
	e, err := s.webhookEndpoint(ctx, pr)
	if err != nil {
		return err
	}
	if e.URL == "" {
		return Errorf(EConflict, "url", "No webhook endpoint is configured: PUT /api/v1/webhook/endpoint first")
	}
	err = s.Store.RetryWebhookEvent(ctx, pr.Project.ID, pr.Mode, eventID, s.now())
	if errors.Is(err, ErrNotFound) {
		return Errorf(ENotFound, "webhookEventId", "No webhook event %s", eventID)
	}
	return err
}

// MarshalJSON encodes v as JSON the way JavaScript's JSON.stringify writes it for the values
// stablegate sends: compact, and with <, > and & left as they are. A receiver that verifies a
// signature over JSON.stringify(JSON.parse(body)) (PayIn's snippet) gets the bytes we signed.
func MarshalJSON(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("gateway: marshal: " + err.Error()) // only called with values that encode
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
