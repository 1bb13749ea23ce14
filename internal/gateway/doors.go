package gateway

import (
	"context"
	"time"
)

// The Service is the only door of the API and the pages to the store: what they need of it that
// is no story of its own is passed through here, so the rules around it live in one place.

// Ping reports whether the store answers.
func (s *Service) Ping(ctx context.Context) error { return s.Store.Ping(ctx) }

// WebhookStats is the state of webhook delivery across projects, for /health.
func (s *Service) WebhookStats(ctx context.Context) (WebhookStats, error) {
	return s.Store.WebhookStats(ctx)
}

// PublicOrder returns an order by its id alone, as a payer's page asks for it (the id is the
// capability: unguessable, and only the payer and the merchant have it).
func (s *Service) PublicOrder(ctx context.Context, id string) (*Order, error) {
	o, err := s.Store.FindOrderByID(ctx, id)
	if err != nil {
		return nil, err
	}
	s.resolve(o)
	return o, nil
}

// Merchant is who a payer's page says is being paid: the project's name and its website's host.
type Merchant struct{ Name, Host string }

// MerchantOf returns the merchant of a project, for the payer's pages.
func (s *Service) MerchantOf(ctx context.Context, projectID string) (Merchant, error) {
	p, err := s.Store.FindProject(ctx, projectID)
	if err != nil {
		return Merchant{}, err
	}
	host, _ := WebsiteHost(p.Website)
	return Merchant{Name: p.Name, Host: host}, nil
}

// SimulatePublic is the payment page's test-mode buttons: SimulateOrder on behalf of the order's
// own project (which refuses a live order).
func (s *Service) SimulatePublic(ctx context.Context, o *Order, outcome string) (*Order, error) {
	p, err := s.Store.FindProject(ctx, o.ProjectID)
	if err != nil {
		return nil, err
	}
	return s.SimulateOrder(ctx, &Principal{Project: p, Mode: o.Mode}, o.ID, outcome, "")
}

// Idempotency-Key rules of the store's records: a record lives IdempotencyTTL; one left running
// longer than IdempotencyTakeover (its process died) is taken over.
const (
	IdempotencyTTL      = 24 * time.Hour
	IdempotencyTakeover = time.Minute
)

// BeginIdempotent takes the record's key for its request, or returns the live record that holds
// it (running, or done with its stored answer). A record whose request never finished is taken
// over once IdempotencyTakeover has passed.
func (s *Service) BeginIdempotent(ctx context.Context, rec *IdempotencyRecord) (*IdempotencyRecord, error) {
	now := rec.CreatedAt
	existing, err := s.Store.BeginIdempotent(ctx, rec, now.Add(-IdempotencyTTL))
	if err == nil && existing != nil && !existing.Done && existing.CreatedAt.Before(now.Add(-IdempotencyTakeover)) {
		if err = s.Store.DeleteIdempotent(ctx, rec.ProjectID, rec.Mode, rec.Key); err == nil {
			existing, err = s.Store.BeginIdempotent(ctx, rec, now.Add(-IdempotencyTTL))
		}
	}
	return existing, err
}

// FinishIdempotent stores the answer of the request that holds the key.
func (s *Service) FinishIdempotent(ctx context.Context, rec *IdempotencyRecord) error {
	return s.Store.FinishIdempotent(ctx, rec)
}

// ReleaseIdempotent gives the key back: its request failed, or was refused, and may be sent again.
func (s *Service) ReleaseIdempotent(ctx context.Context, rec *IdempotencyRecord) error {
	return s.Store.DeleteIdempotent(ctx, rec.ProjectID, rec.Mode, rec.Key)
}
