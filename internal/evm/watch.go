package evm

import (
	"context"
	"math"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

// watch is a watched address's owner, kept small: a million of them must fit in memory.
type watch struct {
	id      string // the order's, or the deposit binding's
	deposit bool
	shared  bool // a project's shared address: no owner until matched by amount
	owner   *owner
	until   int64 // Unix seconds after which the address is no longer watched
}

// owner is a project in a mode, and the chain and currency of the order (shared by the orders
// and deposit bindings they describe).
type owner struct {
	projectID string
	gateway.Recipient
}

// watchOverlap re-reads addresses created this long before the last load, so that an address
// whose transaction committed late is not missed.
const watchOverlap = 30 * time.Second

// loadWatched adds the addresses assigned since the last load (with an overlap), and once an hour
// forgets those whose monitor window has passed.
func (s *Scanner) loadWatched(ctx context.Context) error {
	since := s.loadedAt.Add(-watchOverlap)
	started := s.Now()
	ws, err := s.Gateway.WatchedAddresses(ctx, s.Chain.Protocol, since, started.Add(-s.MonitorWindow))
	if err != nil {
		return err
	}
	for _, w := range ws {
		b, err := chain.ParseAddress(s.Chain.Protocol, w.Address)
		if err != nil {
			continue
		}
		k := w.ProjectID + "/" + string(w.Mode) + "/" + w.ChainID + "/" + w.Currency
		o := s.owners[k]
		if o == nil {
			o = &owner{projectID: w.ProjectID, Recipient: gateway.Recipient{Mode: w.Mode, ChainID: w.ChainID, Currency: w.Currency}}
			s.owners[k] = o
		}
		switch {
		case w.Shared:
			s.watched[b] = watch{shared: true, owner: o, until: math.MaxInt64}
		case w.DepositID != "":
			s.watched[b] = watch{id: w.DepositID, deposit: true, owner: o, until: math.MaxInt64}
		default:
			s.watched[b] = watch{id: w.OrderID, owner: o, until: w.Deadline.Add(s.MonitorWindow).Unix()}
		}
	}
	s.loadedAt = started
	if started.Sub(s.prunedAt) >= time.Hour {
		now := started.Unix()
		for a, w := range s.watched {
			if w.until < now {
				delete(s.watched, a)
			}
		}
		s.prunedAt = started
	}
	return nil
}

// Watching reports how many addresses the scanner watches.
func (s *Scanner) Watching() int { return len(s.watched) }
