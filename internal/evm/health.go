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

	failures int           // scan steps failed in a row
	lastOK   time.Time     // the last successful step, by the wall clock
	stale    time.Duration // how long without a successful step is degraded
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
