package evm

import (
	"fmt"
	"time"
)

// Health is what /health reports of a chain.
type Health struct {
	Chain     string `json:"chain"`
	Head      uint64 `json:"head"`
	Final     uint64 `json:"finalized,omitempty" doc:"The block of the finality tag, when the chain uses one"`
	Scanned   uint64 `json:"scanned"`
	Lag       uint64 `json:"lag"`
	LastError string `json:"lastError,omitempty"`
	Standby   bool   `json:"standby,omitempty" doc:"Another replica holds this chain's lease and scans it"`
	// Subscribed says a new-heads subscription (ws:// or wss:// URL) is live: blocks are followed
	// as they arrive, the poll only backs it up.
	Subscribed bool      `json:"subscribed,omitempty" doc:"A new-heads subscription is live (ws:// or wss:// URL)"`
	UpdatedAt  time.Time `json:"updatedAt,omitzero" doc:"The last scan step, successful or not (absent before the first)"`
	// Degraded says why the chain is not followed as it should be ("" when it is): its node cannot
	// be reached or keeps failing, or the scanner lags too far behind the head.
	Degraded string `json:"degraded,omitempty" doc:"Why payments on this chain may not be seen now (empty when all is well)"`
	// CatchUp, while the scanner is more than CatchUpBlocks behind the head, says how it goes.
	CatchUp *CatchUp `json:"catchUp,omitempty" doc:"Present while the scanner catches up with the head (more than 50 blocks behind)"`

	progress sample        // the scan's position when the catch-up was last measured
	failures int           // scan steps failed in a row
	lastOK   time.Time     // the last successful step, by the wall clock
	stale    time.Duration // how long without a successful step is degraded
}

// CatchUp is the progress of a scanner far behind its chain's head.
type CatchUp struct {
	BlocksToGo uint64 `json:"blocksToGo"`
	// BlocksPerSecond is the scan's recent pace (0 until it was measured), and ETASeconds the time
	// to the head at that pace (0: unknown).
	BlocksPerSecond float64 `json:"blocksPerSecond"`
	ETASeconds      int64   `json:"etaSeconds"`
}

// CatchUpBlocks is how far behind the head the scanner counts as catching up: then its progress is
// in Health and logged, at most every ProgressEvery (default 5 s).
const CatchUpBlocks = 50

type sample struct {
	at      time.Time
	scanned uint64
}

// measure updates the catch-up's progress from the newest position, and says whether a
// measurement was made (then it is time to log it).
func measure(c *CatchUp, last *sample, now time.Time, every time.Duration, scanned, head uint64) bool {
	c.BlocksToGo = head - scanned
	if last.at.IsZero() || scanned < last.scanned {
		*last = sample{at: now, scanned: scanned}
		return false
	}
	elapsed := now.Sub(last.at)
	if elapsed < every {
		return false
	}
	c.BlocksPerSecond = float64(scanned-last.scanned) / elapsed.Seconds()
	c.ETASeconds = 0
	if c.BlocksPerSecond > 0 {
		c.ETASeconds = int64(float64(c.BlocksToGo)/c.BlocksPerSecond + 0.5)
	}
	*last = sample{at: now, scanned: scanned}
	return true
}

// DegradedReason names the chain and says why it is degraded ("" when it is not), for /health.
func (h Health) DegradedReason() (chain, why string) { return h.Chain, h.Degraded }

// failuresDegrade is how many scan steps in a row must fail before the chain counts as degraded
// (one retried error — a reorg seen mid-read, a provider's hiccup — is routine). A scanner that
// has never succeeded is degraded at its first failure.
const failuresDegrade = 3

// Health returns the scanner's latest health.
func (s *Scanner) Health() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.health
	if h.CatchUp != nil {
		c := *h.CatchUp
		h.CatchUp = &c
	}
	h.Chain = s.Chain.Slug
	h.Degraded = s.degraded(&h)
	return h
}

// maxLag is MaxLag or its default.
func (s *Scanner) maxLag() uint64 {
	if s.MaxLag > 0 {
		return s.MaxLag
	}
	if s.Chain.BlockTime <= 0 {
		return 10
	}
	return max(10, uint64(5*time.Minute/s.Chain.BlockTime))
}

// degraded says why the chain is not followed as it should be, or "".
func (s *Scanner) degraded(h *Health) string {
	now := time.Now()
	switch {
	case h.Standby:
		return "" // another replica scans it
	case h.UpdatedAt.IsZero():
		return "not scanned yet: no answer from its node so far"
	case h.failures > 0 && (h.lastOK.IsZero() || h.failures >= failuresDegrade):
		return fmt.Sprintf("cannot scan (%d failed steps in a row): %s", h.failures, h.LastError)
	case !h.lastOK.IsZero() && now.Sub(h.lastOK) > h.stale:
		return fmt.Sprintf("no successful scan step for %s", now.Sub(h.lastOK).Round(time.Second))
	case h.Lag > s.maxLag():
		return fmt.Sprintf("%d blocks behind the head (more than %d)", h.Lag, s.maxLag())
	}
	return ""
}

func (s *Scanner) report(head, scanned uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.health.Chain = s.Chain.Slug
	if head > 0 {
		s.health.Head = head
	}
	if scanned > 0 {
		s.health.Scanned = scanned
	}
	if s.health.Head > s.health.Scanned {
		s.health.Lag = s.health.Head - s.health.Scanned
	} else {
		s.health.Lag = 0
	}
	switch {
	case s.health.Lag > CatchUpBlocks && err == nil:
		if s.health.CatchUp == nil {
			s.health.CatchUp, s.health.progress = &CatchUp{}, sample{}
			s.logf("catching up with the chain's head", "chain", s.Chain.Slug, "scanned", s.health.Scanned, "head", s.health.Head,
				"to_go", s.health.Lag)
		}
		every := s.ProgressEvery
		if every <= 0 {
			every = 5 * time.Second
		}
		if measure(s.health.CatchUp, &s.health.progress, time.Now(), every, s.health.Scanned, s.health.Head) {
			s.logf("catching up", "chain", s.Chain.Slug, "scanned", s.health.Scanned, "head", s.health.Head, "to_go", s.health.Lag,
				"blocks_per_second", fmt.Sprintf("%.1f", s.health.CatchUp.BlocksPerSecond),
				"eta", (time.Duration(s.health.CatchUp.ETASeconds) * time.Second).String())
		}
	case s.health.Lag <= CatchUpBlocks && s.health.CatchUp != nil:
		s.health.CatchUp = nil
		s.logf("caught up with the chain's head", "chain", s.Chain.Slug, "head", s.health.Head)
	}
	s.health.LastError = ""
	if err != nil {
		s.health.LastError = err.Error()
		s.health.failures++
	} else {
		s.health.failures, s.health.lastOK = 0, time.Now()
	}
	s.health.stale = max(time.Minute, 20*s.Interval)
	s.health.UpdatedAt = s.Now().UTC()
}

func (s *Scanner) logf(msg string, args ...any) {
	if s.Log != nil {
		s.Log.Info(msg, args...)
	}
}

func (s *Scanner) setSubscribed(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.health.Subscribed = on
}

func (s *Scanner) setStandby(standby bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.health.Chain, s.health.Standby = s.Chain.Slug, standby
}
