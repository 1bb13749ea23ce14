package client

import (
	"context"
	"net/http"
	"time"
)

// WebhookEndpoint is where the key's mode sends its events.
type WebhookEndpoint struct {
	URL            string     `json:"url"`    // empty when none is set
	Events         []string   `json:"events"` // empty: all
	Format         string     `json:"format"` // payin or cryptopay
	Enabled        bool       `json:"enabled"`
	DisabledAt     *time.Time `json:"disabledAt,omitempty"` // the URL answered 410 Gone
	DisabledReason string     `json:"disabledReason,omitempty"`
	UpdatedAt      time.Time  `json:"updatedAt"`
	Livemode       bool       `json:"livemode"`
}

// GetWebhookEndpoint reads the webhook endpoint.
func (c *Client) GetWebhookEndpoint(ctx context.Context) (*WebhookEndpoint, error) {
	var e WebhookEndpoint
	return &e, c.do(ctx, http.MethodGet, "/api/v1/webhook/endpoint", nil, nil, &e, "")
}

// WebhookEndpointInput sets the webhook endpoint (PUT /api/v1/webhook/endpoint; needs the secret).
type WebhookEndpointInput struct {
	URL    string   `json:"url"`
	Events []string `json:"events,omitempty"` // none: all
	// Format is payin (default: stablegate's events) or cryptopay (Crypto Pay's paid payments).
	Format string `json:"format,omitempty"`
}

// PutWebhookEndpoint sets the webhook endpoint's URL, the event types it gets and its format.
// Setting it again enables an endpoint that was disabled.
func (c *Client) PutWebhookEndpoint(ctx context.Context, in WebhookEndpointInput) (*WebhookEndpoint, error) {
	var e WebhookEndpoint
	return &e, c.do(ctx, http.MethodPut, "/api/v1/webhook/endpoint", nil, in, &e, "")
}

// DeleteWebhookEndpoint removes the endpoint (needs the secret): events are still recorded, not sent.
func (c *Client) DeleteWebhookEndpoint(ctx context.Context) (*WebhookEndpoint, error) {
	var e WebhookEndpoint
	return &e, c.do(ctx, http.MethodDelete, "/api/v1/webhook/endpoint", nil, nil, &e, "")
}

// WebhookSecret is the secret webhooks are signed with: masked, except in RotateWebhookSecret's
// answer, the one time it is shown.
type WebhookSecret struct {
	Secret                   string     `json:"secret"`
	CreatedAt                time.Time  `json:"createdAt"`
	PreviousSecretValidUntil *time.Time `json:"previousSecretValidUntil,omitempty"`
	Livemode                 bool       `json:"livemode"`
}

// GetWebhookSecret reads the webhook secret, masked.
func (c *Client) GetWebhookSecret(ctx context.Context) (*WebhookSecret, error) {
	var s WebhookSecret
	return &s, c.do(ctx, http.MethodGet, "/api/v1/webhook/secret", nil, nil, &s, "")
}

// RotateWebhookSecret makes a new webhook secret and returns it in full, once (needs the secret);
// the previous one still signs deliveries for a while (PreviousSecretValidUntil).
func (c *Client) RotateWebhookSecret(ctx context.Context) (*WebhookSecret, error) {
	var s WebhookSecret
	return &s, c.do(ctx, http.MethodPost, "/api/v1/webhook/secret/rotate", nil, nil, &s, "")
}
