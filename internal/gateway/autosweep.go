package gateway

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/startstop"
)

// AutoSweep is when a chain's addresses are swept without being asked: every Interval, each
// address whose holding of a token reaches Threshold (token units).
type AutoSweep struct {
	Interval  time.Duration
	Threshold string
}

// DefaultSweepThreshold and DefaultSweepInterval are a chain's automatic sweeps unless the
// operator sets others: an address is swept once it holds 100 of a token, looked at every ten
// minutes.
const (
	DefaultSweepThreshold = "100"
	DefaultSweepInterval  = 10 * time.Minute
)

// AutoSweeper makes the automatic sweeps of each chain it is given, for every project with a
// seed, in both modes, under the lease "autosweep:<chain>" (one replica looks at a chain). The
// sweeps are ordinary ones: the chain's sender sends them.
type AutoSweeper struct {
	Service *Service
	Chains  map[string]AutoSweep // by chain slug; a chain with no Interval is not swept automatically
	Holder  string
	Log     *slog.Logger
	loops   []*startstop.Loop
	// warned keeps a failing chain's warning to once an hour.
	mu     sync.Mutex
	warned map[string]time.Time
}

var _ startstop.Service = (*AutoSweeper)(nil)

// Start runs one loop per chain until Stop.
func (a *AutoSweeper) Start(ctx context.Context) error {
	for slug, cfg := range a.Chains {
		if cfg.Interval <= 0 {
			continue
		}
		l := &startstop.Loop{}
		a.loops = append(a.loops, l)
		if err := l.Start(ctx, func(ctx context.Context) {
			every(ctx, cfg.Interval, func(ctx context.Context) { a.RunOnce(ctx, slug) })
		}); err != nil {
			return err
		}
	}
	return nil
}

// Stop ends the loops and waits for their passes in flight.
func (a *AutoSweeper) Stop() {
	for _, l := range a.loops {
		l.Stop()
	}
}

// RunOnce makes the chain's automatic sweeps now, and returns how many it made.
func (a *AutoSweeper) RunOnce(ctx context.Context, slug string) int {
	s := a.Service
	c, ok := s.ChainRegistry().Lookup(slug)
	if !ok || c.Protocol != chain.EVM || !c.SetCode {
		return 0
	}
	cfg := a.Chains[slug]
	held, err := s.AcquireLease(ctx, "autosweep:"+slug, a.Holder, s.now(), 3*max(cfg.Interval, time.Minute))
	if err != nil || !held {
		return 0
	}
	projects, err := s.Store.ListProjects(ctx)
	if err != nil {
		a.warn(slug, "list projects", err)
		return 0
	}
	mode := Test
	if !c.Testnet {
		mode = Live
	}
	made := 0
	for _, p := range projects {
		if p.WatchOnly() || p.DisabledAt != nil {
			continue
		}
		plan, err := s.Sweep(ctx, &Principal{Project: p, Mode: mode, SecretProven: true}, SweepRequest{ChainID: slug, Threshold: cfg.Threshold})
		if err != nil {
			a.warn(slug+"/"+p.ID, "automatic sweep of "+p.ID+" on "+slug, err)
			continue
		}
		for _, w := range plan.Sweeps {
			a.log().Info("automatic sweep", "project", p.ID, "chain", slug, "sweep", w.ID, "currency", w.Currency, "addresses", len(w.Legs))
		}
		made += len(plan.Sweeps)
	}
	return made
}

func (a *AutoSweeper) warn(key, what string, err error) {
	if ErrorCode(err) == EConflict {
		return // another sweep holds the addresses or deploys the sweeper: the next pass sees
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.warned == nil {
		a.warned = map[string]time.Time{}
	}
	if t, ok := a.warned[key]; ok && time.Since(t) < time.Hour {
		return
	}
	a.warned[key] = time.Now()
	a.log().Warn(what, "err", err)
}

func (a *AutoSweeper) log() *slog.Logger {
	if a.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Log
}
