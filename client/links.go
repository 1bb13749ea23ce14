package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// LinkCurrency is a currency a payment link's payer may pay with, on a chain.
type LinkCurrency struct {
	Currency string `json:"currency"`
	ChainID  string `json:"chainId"`
}

// PaymentLinkInput creates a payment link (POST /api/v1/payment-links): a draft until published.
type PaymentLinkInput struct {
	Title              string          `json:"title"`
	Description        string          `json:"description,omitempty"`
	Amount             string          `json:"amount"` // "0": the payer chooses
	Currencies         []LinkCurrency  `json:"currencies"`
	InventoryTotal     *int            `json:"inventoryTotal,omitempty"`
	ReservationMinutes *int            `json:"reservationMinutes,omitempty"`
	ExpiresAt          *time.Time      `json:"expiresAt,omitempty"`
	Metadata           json.RawMessage `json:"metadata,omitempty"`
}

// PaymentLink is a reusable checkout page.
type PaymentLink struct {
	ID                 string          `json:"id"`
	Slug               string          `json:"slug"`
	Title              string          `json:"title"`
	Description        string          `json:"description,omitempty"`
	Amount             string          `json:"amount"`
	Currencies         []LinkCurrency  `json:"currencies"`
	InventoryTotal     *int            `json:"inventoryTotal,omitempty"`
	ReservationMinutes int             `json:"reservationMinutes"`
	Sold               int             `json:"sold"`
	Reserved           int             `json:"reserved"`
	Status             string          `json:"status"` // draft, published, archived
	CheckoutURL        string          `json:"checkoutUrl"`
	ExpiresAt          *time.Time      `json:"expiresAt,omitempty"`
	Metadata           json.RawMessage `json:"metadata,omitempty"`
	CreatedAt          time.Time       `json:"createdAt"`
	Livemode           bool            `json:"livemode"`
}

// CreatePaymentLink creates a payment link, as a draft.
func (c *Client) CreatePaymentLink(ctx context.Context, in PaymentLinkInput) (*PaymentLink, error) {
	var l PaymentLink
	return &l, c.do(ctx, http.MethodPost, "/api/v1/payment-links", nil, in, &l, "")
}

// GetPaymentLink reads a payment link.
func (c *Client) GetPaymentLink(ctx context.Context, id string) (*PaymentLink, error) {
	var l PaymentLink
	return &l, c.do(ctx, http.MethodGet, "/api/v1/payment-links/"+url.PathEscape(id), nil, nil, &l, "")
}

// PublishPaymentLink opens a link's checkout page to payers.
func (c *Client) PublishPaymentLink(ctx context.Context, id string) (*PaymentLink, error) {
	var l PaymentLink
	return &l, c.do(ctx, http.MethodPost, "/api/v1/payment-links/"+url.PathEscape(id)+"/publish", nil, nil, &l, "")
}

// ArchivePaymentLink closes a link's checkout page.
func (c *Client) ArchivePaymentLink(ctx context.Context, id string) (*PaymentLink, error) {
	var l PaymentLink
	return &l, c.do(ctx, http.MethodPost, "/api/v1/payment-links/"+url.PathEscape(id)+"/archive", nil, nil, &l, "")
}

// DeliveredEvent is an event of the webhook endpoint with its delivery.
type DeliveredEvent struct {
	WebhookEvent
	DeliveryStatus string     `json:"deliveryStatus"` // pending, delivered, failed, skipped
	AttemptCount   int        `json:"attemptCount"`
	NextAttemptAt  *time.Time `json:"nextAttemptAt,omitempty"`
	LastStatusCode int        `json:"lastStatusCode,omitempty"`
	LastError      string     `json:"lastError,omitempty"`
	DeliveredAt    *time.Time `json:"deliveredAt,omitempty"`
	Attempts       []Attempt  `json:"attempts,omitempty"`
}

// Attempt is one try at delivering an event.
type Attempt struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	URL        string    `json:"url"`
	StatusCode int       `json:"statusCode,omitempty"` // absent when the receiver did not answer
	Error      string    `json:"error,omitempty"`
	DurationMs int64     `json:"durationMs"`
}

// EventFilter selects webhook events (GET /api/v1/webhook/events).
type EventFilter struct {
	DeliveryStatus, Type string
	Limit                int
}

// ListWebhookEvents reads one page of the webhook endpoint's events, newest first.
func (c *Client) ListWebhookEvents(ctx context.Context, f EventFilter, page int) ([]DeliveredEvent, Pagination, error) {
	var out struct {
		Events     []DeliveredEvent `json:"events"`
		Pagination Pagination       `json:"pagination"`
	}
	q := query("deliveryStatus", f.DeliveryStatus, "type", f.Type)
	setPage(q, page, f.Limit)
	err := c.do(ctx, http.MethodGet, "/api/v1/webhook/events", q, nil, &out, "")
	return out.Events, out.Pagination, err
}

// WebhookEvents iterates over the events the filter selects, page after page.
func (c *Client) WebhookEvents(ctx context.Context, f EventFilter) iter.Seq2[DeliveredEvent, error] {
	return pages(func(page int) ([]DeliveredEvent, Pagination, error) { return c.ListWebhookEvents(ctx, f, page) })
}

// RetryWebhookEvent delivers an event to the webhook endpoint again now.
func (c *Client) RetryWebhookEvent(ctx context.Context, eventID string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/webhook/retry/"+url.PathEscape(eventID), nil, nil, nil, "")
}

// ListPaymentLinks reads one page of payment links, newest first (limit: 0 for 20).
func (c *Client) ListPaymentLinks(ctx context.Context, limit, page int) ([]PaymentLink, Pagination, error) {
	var out struct {
		PaymentLinks []PaymentLink `json:"paymentLinks"`
		Pagination   Pagination    `json:"pagination"`
	}
	q := url.Values{}
	setPage(q, page, limit)
	err := c.do(ctx, http.MethodGet, "/api/v1/payment-links", q, nil, &out, "")
	return out.PaymentLinks, out.Pagination, err
}

// PaymentLinks iterates over the payment links, page after page.
func (c *Client) PaymentLinks(ctx context.Context) iter.Seq2[PaymentLink, error] {
	return pages(func(page int) ([]PaymentLink, Pagination, error) { return c.ListPaymentLinks(ctx, 0, page) })
}
