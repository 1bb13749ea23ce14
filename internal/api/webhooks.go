package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
)

// WebhookEndpoint is a project's webhook configuration in one mode.
type WebhookEndpoint struct {
	URL            string     `json:"url" doc:"Where events are POSTed; empty when none is configured"`
	Events         []string   `json:"events" doc:"Event types sent; empty means all"`
	Format         string     `json:"format" enum:"payin,cryptopay" doc:"The body and signature sent: payin (stablegate's events, three signature headers) or cryptopay (Crypto Pay's paid payments with X-Signature)"`
	Enabled        bool       `json:"enabled" doc:"A URL is set and has not been disabled"`
	DisabledAt     *time.Time `json:"disabledAt,omitempty" doc:"When the URL answered 410 Gone; set the endpoint again to enable it"`
	DisabledReason string     `json:"disabledReason,omitempty"`
	UpdatedAt      time.Time  `json:"updatedAt"`
	Livemode       bool       `json:"livemode"`
}

func endpointView(e *gateway.WebhookEndpoint) WebhookEndpoint {
	events := e.Events
	if events == nil {
		events = []string{}
	}
	format := e.Format
	if format == "" {
		format = gateway.FormatPayIn
	}
	return WebhookEndpoint{URL: e.URL, Events: events, Format: string(format), Enabled: e.URL != "" && e.DisabledAt == nil, DisabledAt: e.DisabledAt,
		DisabledReason: e.DisabledReason, UpdatedAt: e.UpdatedAt, Livemode: e.Mode.Live()}
}

type putEndpointInput struct {
	Body struct {
		URL    string   `json:"url" maxLength:"2048" doc:"Absolute https URL (http allowed in test mode); private and internal addresses are refused" example:"https://shop.example.com/webhooks/stablegate"`
		Events []string `json:"events,omitempty" maxItems:"20" doc:"Event types to send; omitted or empty: all"`
		Format string   `json:"format,omitempty" enum:"payin,cryptopay" doc:"payin (default): stablegate's events; cryptopay: Crypto Pay's body and X-Signature, order.completed only (docs/compat-cryptopay.md)"`
	}
}

type endpointOutput struct {
	Body Envelope[WebhookEndpoint]
}

// WebhookSecret is the signing secret, masked except right after a rotation.
type WebhookSecret struct {
	Secret                   string     `json:"secret" doc:"Masked (last 8 characters visible), or in full once in the rotation's answer"`
	CreatedAt                time.Time  `json:"createdAt"`
	PreviousSecretValidUntil *time.Time `json:"previousSecretValidUntil,omitempty" doc:"Until then deliveries also carry a Standard Webhooks signature by the previous secret"`
	Livemode                 bool       `json:"livemode"`
}

type secretOutput struct {
	Body Envelope[WebhookSecret]
}

// WebhookAttempt is one attempt to deliver an event.
type WebhookAttempt struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	URL        string    `json:"url"`
	StatusCode int       `json:"statusCode,omitempty" doc:"The receiver's HTTP status; absent when it did not answer"`
	Error      string    `json:"error,omitempty"`
	DurationMs int64     `json:"durationMs"`
}

// WebhookEvent is an event with its delivery state.
type WebhookEvent struct {
	ID             string           `json:"id" doc:"The event id, sent as the payload's id and the webhook-id header"`
	Type           string           `json:"type"`
	CreatedAt      time.Time        `json:"createdAt"`
	Livemode       bool             `json:"livemode"`
	Data           json.RawMessage  `json:"data" doc:"The payload's data, as sent"`
	DeliveryStatus string           `json:"deliveryStatus" enum:"pending,delivered,failed,skipped"`
	AttemptCount   int              `json:"attemptCount"`
	NextAttemptAt  *time.Time       `json:"nextAttemptAt,omitempty" doc:"When pending: when it is sent next"`
	LastStatusCode int              `json:"lastStatusCode,omitempty"`
	LastError      string           `json:"lastError,omitempty"`
	DeliveredAt    *time.Time       `json:"deliveredAt,omitempty"`
	Attempts       []WebhookAttempt `json:"attempts"`
}

// WebhookEventList is a page of webhook events with the endpoint they go to.
type WebhookEventList struct {
	Events     []WebhookEvent  `json:"events"`
	Pagination Pagination      `json:"pagination"`
	Endpoint   WebhookEndpoint `json:"endpoint" doc:"The endpoint now configured (enabled: false after a 410 Gone)"`
}

type listWebhookEventsInput struct {
	DeliveryStatus string `query:"deliveryStatus" doc:"pending, delivered, failed or skipped"`
	Type           string `query:"type" doc:"An event type such as order.completed"`
	Page           int    `query:"page" default:"1" doc:"Page number, from 1"`
	Limit          int    `query:"limit" default:"20" doc:"Results per page (default 20); above 100 it is capped at 100"`
}

type listWebhookEventsOutput struct {
	Body Envelope[WebhookEventList]
}

type retryWebhookInput struct {
	EventID string `path:"webhookEventId" maxLength:"64" example:"evt_abcdefghijklmnopqrstuvwx"`
}

// WebhookRetry is the answer of a manual retry.
type WebhookRetry struct {
	ID             string `json:"id"`
	DeliveryStatus string `json:"deliveryStatus"`
}

type retryWebhookOutput struct {
	Status int
	Body   Envelope[WebhookRetry]
}

func (s *Server) registerWebhooks() {
	tags := []string{"Webhooks"}
	huma.Register(s.API, huma.Operation{OperationID: "putWebhookEndpoint", Method: http.MethodPut, Path: "/api/v1/webhook/endpoint",
		Summary: "Set the webhook endpoint", Tags: tags, Description: "Sets where this mode's events are sent and enables the " +
			"endpoint again after a 410. Requires the API secret (x-api-secret or X-Signature)."}, s.putEndpoint)
	huma.Register(s.API, huma.Operation{OperationID: "getWebhookEndpoint", Method: http.MethodGet, Path: "/api/v1/webhook/endpoint",
		Summary: "Get the webhook endpoint", Tags: tags}, s.getEndpoint)
	huma.Register(s.API, huma.Operation{OperationID: "deleteWebhookEndpoint", Method: http.MethodDelete, Path: "/api/v1/webhook/endpoint",
		Summary: "Remove the webhook endpoint", Tags: tags, Description: "Events are no longer sent (they are listed as skipped); " +
			"the secret is kept. Requires the API secret."}, s.deleteEndpoint)
	huma.Register(s.API, huma.Operation{OperationID: "getWebhookSecret", Method: http.MethodGet, Path: "/api/v1/webhook/secret",
		Summary: "View the webhook secret (masked)", Tags: tags}, s.getSecret)
	huma.Register(s.API, huma.Operation{OperationID: "rotateWebhookSecret", Method: http.MethodPost, Path: "/api/v1/webhook/secret/rotate",
		Summary: "Rotate the webhook secret", Tags: tags, DefaultStatus: http.StatusOK, Description: "Returns the new secret, once. " +
			"During the overlap the previous secret still signs deliveries in the webhook-signature header. Requires the API secret."}, s.rotateSecret)
	huma.Register(s.API, huma.Operation{OperationID: "listWebhookEvents", Method: http.MethodGet, Path: "/api/v1/webhook/events",
		Summary: "List webhook events", Tags: tags, Description: "Newest first, each with its delivery state and attempts."}, s.listWebhookEvents)
	huma.Register(s.API, huma.Operation{OperationID: "retryWebhookEvent", Method: http.MethodPost, Path: "/api/v1/webhook/retry/{webhookEventId}",
		Summary: "Retry a webhook event", Tags: tags, DefaultStatus: http.StatusAccepted, Description: "Queues the event to be sent now " +
			"(again, if it was delivered), retried on the schedule if that fails."}, s.retryWebhookEvent)
}

func (s *Server) putEndpoint(ctx context.Context, in *putEndpointInput) (*endpointOutput, error) {
	e, err := s.svc.SetWebhookEndpoint(ctx, principalFrom(ctx), in.Body.URL, in.Body.Events, gateway.WebhookFormat(in.Body.Format))
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &endpointOutput{Body: ok(endpointView(e), "Webhook endpoint saved")}, nil
}

func (s *Server) getEndpoint(ctx context.Context, _ *struct{}) (*endpointOutput, error) {
	e, err := s.svc.GetWebhookEndpoint(ctx, principalFrom(ctx))
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &endpointOutput{Body: ok(endpointView(e), "")}, nil
}

func (s *Server) deleteEndpoint(ctx context.Context, _ *struct{}) (*endpointOutput, error) {
	e, err := s.svc.DeleteWebhookEndpoint(ctx, principalFrom(ctx))
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &endpointOutput{Body: ok(endpointView(e), "Webhook endpoint removed")}, nil
}

func (s *Server) getSecret(ctx context.Context, _ *struct{}) (*secretOutput, error) {
	pr := principalFrom(ctx)
	sec, err := s.svc.GetWebhookSecret(ctx, pr)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &secretOutput{Body: ok(WebhookSecret{Secret: sec.Secret, CreatedAt: sec.CreatedAt, PreviousSecretValidUntil: sec.PreviousUntil,
		Livemode: pr.Mode.Live()}, "")}, nil
}

func (s *Server) rotateSecret(ctx context.Context, _ *struct{}) (*secretOutput, error) {
	pr := principalFrom(ctx)
	sec, err := s.svc.RotateWebhookSecret(ctx, pr)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &secretOutput{Body: ok(WebhookSecret{Secret: sec.Secret, CreatedAt: sec.CreatedAt, PreviousSecretValidUntil: sec.PreviousUntil,
		Livemode: pr.Mode.Live()}, "Webhook secret rotated: store the new secret now, it is not shown again")}, nil
}

func (s *Server) listWebhookEvents(ctx context.Context, in *listWebhookEventsInput) (*listWebhookEventsOutput, error) {
	in.Limit = gateway.PageLimit(in.Limit) // capped, as 3PAY caps pagination at 100
	pr := principalFrom(ctx)
	events, total, err := s.svc.ListWebhookEvents(ctx, pr, gateway.WebhookEventFilter{Status: in.DeliveryStatus, Type: in.Type,
		Page: in.Page, Limit: in.Limit})
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	e, err := s.svc.GetWebhookEndpoint(ctx, pr)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out := WebhookEventList{Events: make([]WebhookEvent, len(events)), Endpoint: endpointView(e),
		Pagination: paginate(in.Page, in.Limit, total)}
	for i, ev := range events {
		v := WebhookEvent{ID: ev.ID, Type: ev.Type, CreatedAt: ev.CreatedAt, Livemode: ev.Mode.Live(), Data: ev.Data,
			DeliveryStatus: ev.Status, AttemptCount: ev.AttemptCount, NextAttemptAt: ev.NextAttemptAt, LastStatusCode: ev.LastStatusCode,
			LastError: ev.LastError, DeliveredAt: ev.DeliveredAt, Attempts: make([]WebhookAttempt, len(ev.Attempts))}
		for j, a := range ev.Attempts {
			v.Attempts[j] = WebhookAttempt{Attempt: a.Attempt, At: a.At, URL: a.URL, StatusCode: a.StatusCode, Error: a.Error,
				DurationMs: a.Duration.Milliseconds()}
		}
		out.Events[i] = v
	}
	return &listWebhookEventsOutput{Body: ok(out, "")}, nil
}

func (s *Server) retryWebhookEvent(ctx context.Context, in *retryWebhookInput) (*retryWebhookOutput, error) {
	if err := s.svc.RetryWebhookEvent(ctx, principalFrom(ctx), in.EventID); err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &retryWebhookOutput{Status: http.StatusAccepted, Body: ok(WebhookRetry{ID: in.EventID, DeliveryStatus: gateway.DeliveryPending},
		"Webhook event queued for delivery")}, nil
}
