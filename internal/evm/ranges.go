package evm

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
)

// prefetch is a range's logs read ahead: while the scanner catches up, reading the next range
// overlaps with applying the current one.
type prefetch struct {
	from, to uint64
	end      *Header
	logs     []Log
	tip      []*Header
	err      error
	done     chan struct{}
}

// probeAfter is how many log calls in a row must fit before the scanner tries twice the span.
const probeAfter = 16

// readRange reads the Transfer logs of [from, to], with the hash of its last block before and
// after, so that they are known to be of one chain. The blocks of the reorg window below head are
// read one by one by hash (EIP-234): a provider is often several nodes behind a load balancer, and
// a node a few blocks behind the others answers a range it has not reached with no logs — which
// looks exactly like blocks without payments, and would lose them — but answers a hash it does not
// know with an error, which is retried. Older blocks, which every node has, are read by range.
// It returns the headers of the blocks read by hash, which chain to each other.
func (s *Scanner) readRange(ctx context.Context, from, to, head uint64) (*Header, []Log, []*Header, error) {
	end, err := s.header(ctx, to)
	if err != nil {
		return nil, nil, nil, err
	}
	var contracts []common.Address // none: every contract
	if s.RegistryTokensOnly {
		contracts = s.contracts
	}
	tip := max(from, head-min(head, ReorgWindow)+1) // the first block read by hash
	var logs []Log
	if from < tip {
		var worked uint64
		logs, worked, err = s.Client.LogsInRange(ctx, from, min(to, tip-1), contracts, TransferTopic, s.span)
		s.fit(worked)
		if err != nil {
			return nil, nil, nil, err
		}
	}
	var headers []*Header
	for n := tip; n <= to; n++ {
		h := end
		if n < to {
			if h, err = s.header(ctx, n); err != nil {
				return nil, nil, nil, err
			}
		}
		if k := len(headers); k > 0 && h.ParentHash != headers[k-1].Hash {
			return nil, nil, nil, errors.New("the chain changed while reading its blocks; retrying")
		}
		at, err := s.Client.LogsAt(ctx, h.Hash, contracts, TransferTopic)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("logs of block %d: %w", n, err)
		}
		logs = append(logs, at...)
		headers = append(headers, h)
	}
	again, err := s.header(ctx, to)
	if err != nil {
		return nil, nil, nil, err
	}
	if again.Hash != end.Hash {
		return nil, nil, nil, errors.New("the chain changed while reading logs; retrying")
	}
	return end, logs, headers, nil
}

// fit adapts the span to what the provider took: less after a refusal, twice as much (up to
// MaxRange) after probeAfter calls in a row that fit.
func (s *Scanner) fit(worked uint64) {
	if worked < s.span {
		s.span, s.fits = max(worked, 1), 0
		return
	}
	if s.fits++; s.fits >= probeAfter && s.span < s.MaxRange {
		s.span, s.fits = min(s.span*2, s.MaxRange), 0
	}
}

// startPrefetch reads a range in the background; RunOnce takes it when it gets there.
func (s *Scanner) startPrefetch(ctx context.Context, from, to, head uint64) {
	p := &prefetch{from: from, to: to, done: make(chan struct{})}
	s.next = p
	go func() {
		defer close(p.done)
		p.end, p.logs, p.tip, p.err = s.readRange(ctx, from, to, head)
	}()
}

// takePrefetch returns the range read ahead if it starts at from (waiting for it), or nil.
func (s *Scanner) takePrefetch(from uint64) *prefetch {
	p := s.next
	s.next = nil
	if p == nil {
		return nil
	}
	<-p.done
	if p.from != from {
		return nil
	}
	return p
}
