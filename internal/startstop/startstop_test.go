package startstop_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/stablegate/stablegate/internal/startstop"
)

type svc struct {
	name string
	loop startstop.Loop
	log  *[]string
	mu   *sync.Mutex
	fail bool
}

func (s *svc) Start(ctx context.Context) error {
	if s.fail {
		return errors.New("cannot start")
	}
	return s.loop.Start(ctx, func(ctx context.Context) {
		<-ctx.Done()
		s.mu.Lock()
		*s.log = append(*s.log, "stopped "+s.name)
		s.mu.Unlock()
	})
}

func (s *svc) Stop() { s.loop.Stop() }

// Stop waits for each loop to return, the last started first; a failed start stops what started.
func TestGroupStopsInReverseAndWaits(t *testing.T) {
	var log []string
	var mu sync.Mutex
	a, b, c := &svc{name: "a", log: &log, mu: &mu}, &svc{name: "b", log: &log, mu: &mu}, &svc{name: "c", log: &log, mu: &mu}
	g := startstop.Group{a, b, c}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); !errors.Is(err, startstop.ErrStarted) {
		t.Errorf("second start: %v", err)
	}
	g.Stop()
	if want := []string{"stopped c", "stopped b", "stopped a"}; !slices.Equal(log, want) {
		t.Errorf("stopped %v, want %v", log, want)
	}
	log = nil
	d, e := &svc{name: "d", log: &log, mu: &mu}, &svc{name: "e", fail: true, log: &log, mu: &mu}
	if err := (startstop.Group{d, e}).Start(context.Background()); err == nil {
		t.Fatal("a group with a failing service started")
	}
	if want := []string{"stopped d"}; !slices.Equal(log, want) {
		t.Errorf("after a failed start: %v, want %v", log, want)
	}
	(&svc{}).Stop() // never started: returns at once
}
