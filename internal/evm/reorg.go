package evm

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// rewind finds the newest applied block still on the canonical chain and undoes what came after.
func (s *Scanner) rewind(ctx context.Context) error {
	blocks, err := s.Gateway.RecentBlocks(ctx, s.Chain.Slug)
	if err != nil {
		return err
	}
	head, err := s.Client.BlockNumber(ctx)
	if err != nil {
		return err
	}
	for _, b := range blocks {
		if b.Number > head {
			continue // gone with the chain that was longer
		}
		h, err := s.header(ctx, b.Number)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if strings.EqualFold(h.Hash.Hex(), b.Hash) {
			removed, err := s.Gateway.Rewind(ctx, s.Chain.Slug, b, s.Now().UTC().Truncate(time.Millisecond))
			if err == nil {
				s.Log.Warn("reorg: rewound", "chain", s.Chain.Slug, "to_block", b.Number, "removed_transfers", removed)
			}
			return err
		}
	}
	// Deeper than anything remembered: go back a whole window below the oldest remembered block
	// and trust the node's chain from there; blocks are rescanned, transfers are never counted twice.
	var back uint64
	if n := len(blocks); n > 0 && blocks[n-1].Number > ReorgWindow {
		back = blocks[n-1].Number - ReorgWindow
	}
	if back > head {
		back = head // the chain was replaced by a shorter one (a restarted devnet)
	}
	h, err := s.header(ctx, back)
	if err != nil {
		return err
	}
	if s.Chain.Ephemeral {
		s.Log.Info("the development chain is a new one (its node restarted): rescanning it; payments seen on the previous one are undone",
			"chain", s.Chain.Slug, "from_block", back)
	} else {
		s.Log.Error("reorg deeper than the remembered blocks: rescanning", "chain", s.Chain.Slug, "from_block", back)
	}
	_, err = s.Gateway.Rewind(ctx, s.Chain.Slug, gateway.BlockRef{Number: back, Hash: h.Hash.Hex()}, s.Now().UTC().Truncate(time.Millisecond))
	return err
}
