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

// RuleOf is a chain's rule as its registry entry has it: its count of confirmations (at least 1)
// and its finality tag. A gateway's registry carries the operator's overrides (chain.Configure).
func RuleOf(c chain.Chain) ChainRule {
	return ChainRule{Confirmations: max(1, c.Confirmations), Finality: c.FinalityTag}
}

// ChainRegistry returns the registry this gateway works from.
func (s *Service) ChainRegistry() *chain.Registry {
	if s.Registry == nil {
		return chain.Builtin()
	}
	return s.Registry
}

// resolve sets each order's Chain and Token from the registry.
func (s *Service) resolve(orders ...*Order) {
	reg := s.ChainRegistry()
	for _, o := range orders {
		o.Chain, _ = reg.Lookup(o.ChainID)
		o.Token, _ = o.Chain.Token(o.Currency)
	}
}

// EnabledChains returns the chains of the mode that this gateway watches, in the registry's order.
func (s *Service) EnabledChains(m Mode) []chain.Chain {
	var out []chain.Chain
	for _, c := range s.ChainRegistry().All() {
		if c.Testnet != m.Live() && s.ChainEnabled(c.Slug) {
			out = append(out, c)
		}
	}
	return out
}
