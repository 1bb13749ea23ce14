package gateway

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/money"
)

// Error codes of moving money out.
const (
	// EWatchOnly: the project has no seed here (it was created from xpubs), so nothing can sign.
	EWatchOnly = "WatchOnlyProject"
	// ENetworkMismatch: an address of one protocol given for a chain of the other.
	ENetworkMismatch = "NetworkMismatch"
)

// Nodes reads chain state for the domain: what an address holds, a transaction's receipt. cmd gives the Service the
// clients of the chains it watches; a chain it has no client for is ErrNoNode.
type Nodes interface {
	// NativeBalance is the chain's coin (ETH, BNB, POL, TRX) held by the address, in base units.
	NativeBalance(ctx context.Context, chainID string, holder [20]byte) (*big.Int, error)
	// TokenBalance is the token's balanceOf(holder), in base units.
	TokenBalance(ctx context.Context, chainID string, token, holder [20]byte) (*big.Int, error)
	// Receipt is a transaction's receipt, or ErrNotFound when the node knows no such mined
	// transaction.
	Receipt(ctx context.Context, chainID, txHash string) (*Receipt, error)
	// FinalizedBlock is the number of the chain's block at the tag ("finalized", "safe").
	FinalizedBlock(ctx context.Context, chainID, tag string) (uint64, error)
	// NetworkFees are the next block's base fee and the suggested priority fee, in wei per gas.
	NetworkFees(ctx context.Context, chainID string) (baseFee, tip *big.Int, err error)
}

// HotWallet is a project's hot wallet on a chain in a mode: where sweeps gather the money and
// payouts leave from.
type HotWallet struct {
	Chain   chain.Chain
	Address string
	Path    string // its derivation path under the project's seed
	// Native and Tokens are what it holds on chain now; BalanceError says why they are missing.
	Native       *big.Int
	Tokens       []TokenBalance
	BalanceError string
	Treasury     string // the merchant's treasury address on the chain, if set
}

// TokenBalance is what an address holds of one registry token.
type TokenBalance struct {
	Token  chain.Token
	Amount *big.Int
}

// Treasury is the merchant's own address on a chain, where sweeps above the hot wallet's ceiling
// go.
type Treasury struct {
	ChainID string
	Address string
	// Ceiling is what the hot wallet keeps of each token, in token units (a decimal string); what
	// sweeps bring above it goes on to Address.
	Ceiling   string
	UpdatedAt time.Time
}

// TreasuryStore keeps the treasury addresses.
type TreasuryStore interface {
	ListTreasuries(ctx context.Context, projectID string, mode Mode) ([]Treasury, error)
	// SetTreasury stores (or replaces) the treasury of a chain; DeleteTreasury removes it
	// (ErrNotFound when there is none).
	SetTreasury(ctx context.Context, projectID string, mode Mode, t Treasury) error
	DeleteTreasury(ctx context.Context, projectID string, mode Mode, chainID string) error
}

// seedOf opens the project's seed, or says why it cannot sign.
func (s *Service) seedOf(p *Project) (*chain.Seed, error) {
	if p.WatchOnly() {
		return nil, Errorf(EWatchOnly, "", "Project %s is watch-only: it was created from extended public keys, so stablegate holds "+
			"no seed to sign with and it has no hot wallet. Sweeps and payouts need a project whose seed stablegate generated", p.ID)
	}
	if s.Keyring == nil {
		return nil, fmt.Errorf("open seed of %s: no master key", p.ID)
	}
	mnemonic, err := s.Keyring.OpenSeed(p.ID, p.SealedSeed)
	if err != nil {
		return nil, fmt.Errorf("open seed of %s: %w", p.ID, err)
	}
	return chain.OpenSeed(mnemonic)
}

// Wallets returns the principal's project's hot wallets, one per chain of the key's mode that this
// gateway watches, with what each holds on chain (read now from the chain's node).
func (s *Service) Wallets(ctx context.Context, pr *Principal) ([]HotWallet, error) {
	seed, err := s.seedOf(pr.Project)
	if err != nil {
		return nil, err
	}
	treasuries, err := s.Store.ListTreasuries(ctx, pr.Project.ID, pr.Mode)
	if err != nil {
		return nil, err
	}
	out := []HotWallet{}
	for _, c := range s.EnabledChains(pr.Mode) {
		_, addr, err := seed.WalletKey(c.Protocol, pr.Mode.Live(), c.ChainID)
		if err != nil {
			return nil, err
		}
		w := HotWallet{Chain: c, Address: chain.FormatAddress(c.Protocol, addr), Path: chain.WalletPath(c.Protocol, pr.Mode.Live(), c.ChainID)}
		for _, t := range treasuries {
			if t.ChainID == c.Slug {
				w.Treasury = t.Address
			}
		}
		s.readBalances(ctx, &w, addr)
		out = append(out, w)
	}
	return out, nil
}

// readBalances fills what the wallet holds; a node that cannot answer leaves BalanceError, not a
// failed listing (the addresses are what a merchant needs first).
func (s *Service) readBalances(ctx context.Context, w *HotWallet, addr [20]byte) {
	if s.Nodes == nil {
		w.BalanceError = "no node of " + w.Chain.Slug + " is configured"
		return
	}
	native, err := s.Nodes.NativeBalance(ctx, w.Chain.Slug, addr)
	if err != nil {
		w.BalanceError = "cannot read balances: " + err.Error()
		return
	}
	w.Native = native
	for _, t := range w.Chain.Tokens {
		token, err := chain.ParseAddress(w.Chain.Protocol, t.Address)
		if err != nil {
			continue
		}
		amount, err := s.Nodes.TokenBalance(ctx, w.Chain.Slug, token, addr)
		if err != nil {
			w.Native, w.Tokens, w.BalanceError = nil, nil, "cannot read balances: "+err.Error()
			return
		}
		w.Tokens = append(w.Tokens, TokenBalance{Token: t, Amount: amount})
	}
}

// Treasuries returns the principal's treasury addresses.
func (s *Service) Treasuries(ctx context.Context, pr *Principal) ([]Treasury, error) {
	return s.Store.ListTreasuries(ctx, pr.Project.ID, pr.Mode)
}

// SetTreasury sets the merchant's treasury address on a chain of the key's mode. It decides where
// money goes, so it needs the API secret; the address must be one of the chain's protocol, with a
// valid checksum, and not the zero address.
func (s *Service) SetTreasury(ctx context.Context, pr *Principal, chainID, address, ceiling string) (*Treasury, error) {
	if err := RequireSecret(pr); err != nil {
		return nil, err
	}
	c, err := s.modeChain(pr, chainID)
	if err != nil {
		return nil, err
	}
	raw, perr := chain.ParseAddress(c.Protocol, strings.TrimSpace(address))
	if perr != nil {
		other := chain.TRON
		if c.Protocol == chain.TRON {
			other = chain.EVM
		}
		if _, err := chain.ParseAddress(other, strings.TrimSpace(address)); err == nil {
			return nil, Errorf(ENetworkMismatch, "address", "%s is a %s address; %s takes %s addresses", address, other, c.Slug, c.Protocol)
		}
		return nil, Errorf(EInvalid, "address", "address: %v", perr)
	}
	if raw == ([20]byte{}) {
		return nil, Errorf(EInvalid, "address", "address is the zero address: funds sent there are burnt")
	}
	if ceiling = strings.TrimSpace(ceiling); ceiling == "" {
		ceiling = DefaultCeiling
	}
	for _, tok := range c.Tokens {
		if _, err := money.Parse(ceiling, tok.Decimals); err != nil {
			return nil, Errorf(EInvalid, "ceiling", "ceiling: %v (token units of %s, such as \"1000\"; \"0\" sends everything on)", err, tok.Symbol)
		}
	}
	t := Treasury{ChainID: c.Slug, Address: chain.FormatAddress(c.Protocol, raw), Ceiling: ceiling, UpdatedAt: s.now()}
	ctx = s.audited(ctx, pr.Project.ID, pr.Mode, AuditTreasurySet, c.Slug, map[string]any{"chainId": c.Slug, "address": t.Address, "ceiling": t.Ceiling})
	if err := s.Store.SetTreasury(ctx, pr.Project.ID, pr.Mode, t); err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteTreasury removes the treasury address of a chain (the API secret required): sweeps then
// stay in the hot wallet.
func (s *Service) DeleteTreasury(ctx context.Context, pr *Principal, chainID string) error {
	if err := RequireSecret(pr); err != nil {
		return err
	}
	c, err := s.modeChain(pr, chainID)
	if err != nil {
		return err
	}
	ctx = s.audited(ctx, pr.Project.ID, pr.Mode, AuditTreasuryRemoved, c.Slug, map[string]any{"chainId": c.Slug})
	if err := s.Store.DeleteTreasury(ctx, pr.Project.ID, pr.Mode, c.Slug); errors.Is(err, ErrNotFound) {
		return Errorf(ENotFound, "chainId", "No treasury address is set on %s", c.Slug)
	} else if err != nil {
		return err
	}
	return nil
}

// modeChain is a chain of the registry in the key's mode.
func (s *Service) modeChain(pr *Principal, chainID string) (chain.Chain, error) {
	c, ok := s.ChainRegistry().Lookup(chainID)
	if !ok || c.Testnet == pr.Mode.Live() {
		return chain.Chain{}, Errorf(EInvalid, "chainId", "chainId %q is not a chain of %s mode (one of %s)", chainID, pr.Mode,
			s.ChainRegistry().Slugs(!pr.Mode.Live()))
	}
	return c, nil
}

// HotWalletGas is what a project's hot wallet on an EVM chain holds of the chain's coin, which
// pays the gas of its sweeps and payouts: for monitoring (a wallet short of gas stops both).
type HotWalletGas struct {
	ProjectID string
	Mode      Mode
	Chain     chain.Chain
	Address   string
	Native    *big.Int // nil when the node could not be read
}

// HotWalletsGas reads the coin balance of every hot wallet stablegate signs for: each project with
// a seed, on each EVM chain it watches, in both modes.
func (s *Service) HotWalletsGas(ctx context.Context) ([]HotWalletGas, error) {
	projects, err := s.Store.ListProjects(ctx)
	if err != nil {
		return nil, err
	}
	var out []HotWalletGas
	for _, p := range projects {
		if p.WatchOnly() || s.Keyring == nil {
			continue
		}
		for _, m := range []Mode{Test, Live} {
			for _, c := range s.EnabledChains(m) {
				if c.Protocol != chain.EVM {
					continue
				}
				address, err := s.HotWalletAddress(ctx, p.ID, m, c.Slug)
				if err != nil {
					return nil, err
				}
				w := HotWalletGas{ProjectID: p.ID, Mode: m, Chain: c, Address: address}
				if raw, err := chain.ParseAddress(c.Protocol, address); err == nil && s.Nodes != nil {
					w.Native, _ = s.Nodes.NativeBalance(ctx, c.Slug, raw)
				}
				out = append(out, w)
			}
		}
	}
	return out, nil
}
