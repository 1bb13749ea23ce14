// Package startstop gives every background service of stablegate one shape: Start launches its
// loop, Stop ends it and waits until it has returned, so that whoever owns the store closes it
// only after nothing uses it (river's startstop is the model).
package startstop

import (
	"context"
	"errors"
	"sync"
)

// Service is a background service.
type Service interface {
	// Start launches the service's loop under ctx and returns at once.
	Start(ctx context.Context) error
	// Stop ends the loop and returns when it has: work in flight is finished or left to be
	// redone, never cut off mid-transaction by a closed store.
	Stop()
}

// Loop runs a function until Stop; the function returns when its context ends. A Loop is
// started once.
type Loop struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// ErrStarted is returned by Start on a loop already started.
var ErrStarted = errors.New("already started")

// Start runs run(ctx) in a goroutine until Stop.
func (l *Loop) Start(ctx context.Context, run func(ctx context.Context)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done != nil {
		return ErrStarted
	}
	ctx, l.cancel = context.WithCancel(ctx)
	l.done = make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		run(ctx)
	}(l.done)
	return nil
}

// Stop ends the loop and waits for it; a loop never started stops at once.
func (l *Loop) Stop() {
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if done == nil {
		return
	}
	cancel()
	<-done
}

// Group starts services in order and stops them in reverse order.
type Group []Service

// Start starts each service; if one fails, those already started are stopped.
func (g Group) Start(ctx context.Context) error {
	for i, s := range g {
		if err := s.Start(ctx); err != nil {
			g[:i].Stop()
			return err
		}
	}
	return nil
}

// Stop stops the services, the last started first, each waited for.
func (g Group) Stop() {
	for i := len(g) - 1; i >= 0; i-- {
		g[i].Stop()
	}
}
