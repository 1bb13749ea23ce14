package evm

import (
	"context"
	"log/slog"
	"time"
)

// failureLog logs a chain's failing steps without flooding the log: the first failure, then one
// line a minute while it goes on (with the count), and one when the chain recovers.
type failureLog struct {
	count  int
	logged time.Time
}

// failureLogEvery is how often a chain that keeps failing is logged again.
const failureLogEvery = time.Minute

func (f *failureLog) note(log *slog.Logger, chain string, err error) {
	switch {
	case err == nil && f.count > 0:
		log.Info("scan recovered", "chain", chain, "failed_steps", f.count)
		*f = failureLog{}
	case err == nil:
	case f.count == 0 || time.Since(f.logged) >= failureLogEvery:
		f.count++
		f.logged = time.Now()
		log.Warn("scan failed", "chain", chain, "failed_steps", f.count, "err", err)
	default:
		f.count++
	}
}

// Start runs the scanner (Run) in the background until Stop.
func (s *Scanner) Start(ctx context.Context) error { return s.loop.Start(ctx, s.Run) }

// Stop ends the scanner and waits for its step in flight, which commits or rolls back whole.
func (s *Scanner) Stop() { s.loop.Stop() }

// subscribedPollFactor stretches the poll interval while a new-heads subscription is live.
const subscribedPollFactor = 10

// Run scans until ctx ends. Errors are logged and reported in Health; the next poll retries.
//
// With a ws:// or wss:// RPC URL it also subscribes to new heads (eth_subscribe newHeads) and
// steps as soon as one arrives; polling every Interval goes on underneath, and a subscription that
// fails is made again.
func (s *Scanner) Run(ctx context.Context) {
	if err := s.init(); err != nil {
		s.report(0, 0, err)
		return
	}
	var heads <-chan struct{}
	var subscribed, leased time.Time
	var failing failureLog
	for {
		if time.Since(leased) > s.LeaseTTL/3 {
			held, err := s.Gateway.AcquireLease(ctx, "scanner:"+s.Chain.Slug, s.Holder, s.Now(), s.LeaseTTL)
			if err != nil && ctx.Err() == nil {
				s.Log.Warn("scanner lease", "chain", s.Chain.Slug, "err", err)
			}
			s.setStandby(!held)
			if !held {
				leased = time.Time{}
				select {
				case <-ctx.Done():
					return
				case <-time.After(s.Interval):
				}
				continue
			}
			leased = time.Now()
		}
		caughtUp, err := s.RunOnce(ctx)
		if ctx.Err() == nil {
			failing.note(s.Log, s.Chain.Slug, err)
		}
		if heads == nil && time.Since(subscribed) > s.Interval {
			subscribed = time.Now()
			var serr error
			if heads, serr = s.Client.SubscribeHeads(ctx); serr != nil && ctx.Err() == nil {
				s.Log.Warn("subscribe to new heads failed: polling", "chain", s.Chain.Slug, "err", serr)
			}
			s.setSubscribed(heads != nil)
		}
		wait := s.Interval
		if heads != nil {
			// New blocks arrive by the subscription: the poll only backs it up (providers bill by
			// the call, and most polls find nothing) — often enough still to renew the lease.
			wait = min(subscribedPollFactor*s.Interval, s.LeaseTTL/3)
		}
		if !caughtUp && err == nil {
			wait = 0
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-heads:
			if !ok {
				heads = nil // the subscription ended: poll until it is made again
				s.setSubscribed(false)
			}
		case <-time.After(wait):
		}
	}
}
