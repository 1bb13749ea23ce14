package gateway

import (
	"github.com/stablegate/stablegate/internal/chain"
)

// ChainRule is how this gateway decides that a payment on a chain is final: a count of
// confirmations, and a block tag ("finalized", "safe") the payment's block must also reach.
type ChainRule struct {
	Confirmations int
	Finality      string
}

// Rule returns the chain's rule as this gateway applies it: its configured one, or the
// registry's default.
func (s *Service) Rule(c chain.Chain) ChainRule {
	if r, ok := s.ChainRules[c.Slug]; ok {
		return r
	}
	return DefaultRule(c)
}

// DefaultRule is the registry's rule for a chain: its count of confirmations (at least 1) and its
// finality tag.
func DefaultRule(c chain.Chain) ChainRule {
	return ChainRule{Confirmations: max(1, c.Confirmations), Finality: c.FinalityTag}
}

// EnabledChains returns the chains of the mode that this gateway watches, in the registry's order.
func (s *Service) EnabledChains(m Mode) []chain.Chain {
	var out []chain.Chain
	for _, c := range chain.All() {
		if c.Testnet != m.Live() && s.ChainEnabled(c.Slug) {
			out = append(out, c)
		}
	}
	return out
}
