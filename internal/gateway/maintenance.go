package gateway

import (
	"context"
	"log/slog"
	"time"

	"github.com/stablegate/stablegate/internal/startstop"
)

// Expirer settles the orders whose window and grace are over (pending ones, and underpaid ones
// with every payment confirmed) through the state machine, every Every (default 5 s).
type Expirer struct {
	Service *Service
	Every   time.Duration
	Log     *slog.Logger
	loop    startstop.Loop
}

var _ startstop.Service = (*Expirer)(nil)

// Start runs the expirer until Stop.
func (e *Expirer) Start(ctx context.Context) error {
	if e.Every <= 0 {
		e.Every = 5 * time.Second
	}
	if e.Log == nil {
		e.Log = slog.New(slog.DiscardHandler)
	}
	return e.loop.Start(ctx, func(ctx context.Context) { every(ctx, e.Every, e.RunOnce) })
}

// Stop ends the expirer and waits for its pass in flight.
func (e *Expirer) Stop() { e.loop.Stop() }

// RunOnce expires what is due now.
func (e *Expirer) RunOnce(ctx context.Context) {
	if n, err := e.Service.ExpireOrders(ctx, e.Service.now()); err != nil && ctx.Err() == nil {
		e.Log.Warn("expire orders", "err", err)
	} else if n > 0 {
		e.Log.Info("orders expired", "count", n)
	}
}

// IdempotencyPurger deletes Idempotency-Key records older than IdempotencyTTL, every Every
// (default 1 h).
type IdempotencyPurger struct {
	Store IdempotencyStore
	Every time.Duration
	Now   func() time.Time
	Log   *slog.Logger
	loop  startstop.Loop
}

var _ startstop.Service = (*IdempotencyPurger)(nil)

// Start runs the purger until Stop.
func (p *IdempotencyPurger) Start(ctx context.Context) error {
	if p.Every <= 0 {
		p.Every = time.Hour
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	return p.loop.Start(ctx, func(ctx context.Context) { every(ctx, p.Every, p.RunOnce) })
}

// Stop ends the purger and waits for its pass in flight.
func (p *IdempotencyPurger) Stop() { p.loop.Stop() }

// RunOnce purges what has expired now.
func (p *IdempotencyPurger) RunOnce(ctx context.Context) {
	if n, err := p.Store.PurgeIdempotent(ctx, p.Now().Add(-IdempotencyTTL)); err != nil && ctx.Err() == nil {
		p.Log.Warn("purge idempotency keys", "err", err)
	} else if n > 0 {
		p.Log.Debug("purged idempotency keys", "count", n)
	}
}

// every runs once now and then at each interval until ctx ends.
func every(ctx context.Context, interval time.Duration, once func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
