package gateway

import (
	"context"
	"fmt"
	"math/big"

	"github.com/stablegate/stablegate/internal/chain"
)

// HoldingCheck is an address whose on-chain balance of a token is not what the ledger says it
// holds: an order or deposit address (its credited payments less what sweeps moved), or a hot
// wallet (what sweeps moved into it).
type HoldingCheck struct {
	ProjectID string
	Mode      Mode
	ChainID   string
	Currency  string
	Address   string
	HotWallet bool
	Ledger    *big.Int
	OnChain   *big.Int
}

// VerifyHoldings reads, on every EVM chain this gateway has a node of, the balance of each address
// the ledger says holds something and of each project's hot wallet, and returns those that
// differ. More on chain than in the ledger is money stablegate did not credit (a payment in a
// wrong token, a transfer to the hot wallet from outside); less is money gone that the ledger
// still counts — both are reported. Without the master key, hot wallets are not checked.
// progress, when not nil, hears how many balances were read so far, after each.
func (s *Service) VerifyHoldings(ctx context.Context, progress func(read int)) ([]HoldingCheck, error) {
	if s.Nodes == nil {
		return nil, nil
	}
	projects, err := s.Store.ListProjects(ctx)
	if err != nil {
		return nil, err
	}
	var out []HoldingCheck
	read := 0
	counted := func() {
		if read++; progress != nil {
			progress(read)
		}
	}
	for _, p := range projects {
		for _, mode := range []Mode{Test, Live} {
			for _, c := range s.EnabledChains(mode) {
				if c.Protocol != chain.EVM {
					continue
				}
				diffs, err := s.verifyChainHoldings(ctx, p, mode, c, counted)
				if err != nil {
					return nil, fmt.Errorf("holdings of %s on %s: %w", p.ID, c.Slug, err)
				}
				out = append(out, diffs...)
			}
		}
	}
	return out, nil
}

func (s *Service) verifyChainHoldings(ctx context.Context, p *Project, mode Mode, c chain.Chain, counted func()) ([]HoldingCheck, error) {
	holdings, err := s.Store.Holdings(ctx, p.ID, mode, c.Slug)
	if err != nil {
		return nil, err
	}
	var out []HoldingCheck
	check := func(currency, address string, ledger *big.Int, hot bool) error {
		tok, ok := c.Token(currency)
		if !ok {
			return nil
		}
		token, err := chain.ParseAddress(chain.EVM, tok.Address)
		if err != nil {
			return err
		}
		holder, err := chain.ParseAddress(chain.EVM, address)
		if err != nil {
			return err
		}
		onChain, err := s.Nodes.TokenBalance(ctx, c.Slug, token, holder)
		if err != nil {
			return err
		}
		counted()
		if onChain.Cmp(ledger) != 0 {
			out = append(out, HoldingCheck{ProjectID: p.ID, Mode: mode, ChainID: c.Slug, Currency: currency, Address: address, HotWallet: hot,
				Ledger: ledger, OnChain: onChain})
		}
		return nil
	}
	for _, h := range holdings {
		if h.InFlight {
			continue // a sweep is moving it: checked once it is final
		}
		if err := check(h.Currency, h.Address, h.Amount, false); err != nil {
			return nil, err
		}
	}
	if p.WatchOnly() || s.Keyring == nil {
		return out, nil // no hot wallet, or no master key to derive its address with
	}
	hot, err := s.HotWalletAddress(ctx, p.ID, mode, c.Slug)
	if err != nil {
		return nil, err
	}
	moved, err := s.Store.HotWalletHoldings(ctx, p.ID, mode, c.Slug)
	if err != nil {
		return nil, err
	}
	for _, t := range c.Tokens {
		ledger := moved[t.Symbol]
		if ledger == nil {
			ledger = new(big.Int)
		}
		if err := check(t.Symbol, hot, ledger, true); err != nil {
			return nil, err
		}
	}
	return out, nil
}
