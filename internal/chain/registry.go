package chain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Chain is one network stablegate can watch. Its tokens are the only ones ever credited on it.
type Chain struct {
	Slug string
	Name string
	// Native is the symbol of the chain's own coin, which pays its gas (NativeDecimals places).
	Native   string
	Protocol Protocol
	ChainID  uint64
	// Testnet chains serve test mode, the others live mode; nothing crosses modes.
	Testnet bool
	// Confirmations is the default number of confirmations before a payment counts; FinalityTag,
	// when set, names the block tag ("finalized", "safe") that the scanner must respect as well.
	Confirmations int
	FinalityTag   string
	// BlockTime is the chain's typical block interval; ExplorerTx is a block explorer's
	// transaction page with %s for the hash (empty for the devnet).
	BlockTime  time.Duration
	ExplorerTx string
	Tokens     []Token
	// SetCode says the chain runs EIP-7702 (set-code transactions, since Ethereum's Pectra and
	// its counterparts): sweeps there are batches of delegated deposit addresses, one transaction
	// from the hot wallet paying all gas; elsewhere each address gets its gas topped up.
	SetCode bool
	// Ephemeral chains may be replaced by a new chain (a devnet started afresh, or a test's
	// in-memory one): the scanner then meets a chain that shares none of the blocks it remembers,
	// which is expected.
	Ephemeral bool
}

// NativeDecimals are the decimals of the chain's coin: 18 on EVM chains (wei), 6 on TRON (sun).
func (c Chain) NativeDecimals() int {
	if c.Protocol == TRON {
		return 6
	}
	return 18
}

// TxURL returns the explorer page of a transaction, or "" when the chain has no explorer.
func (c Chain) TxURL(hash string) string {
	if c.ExplorerTx == "" {
		return ""
	}
	return fmt.Sprintf(c.ExplorerTx, hash)
}

// Token is a canonical token contract on a chain.
type Token struct {
	Symbol   string
	Address  string // in the chain's own address format
	Decimals int
	// Bridged marks a token that is not issuer-minted on this chain (Polygon USDC.e, Base USDT).
	Bridged bool
}

// Token returns the chain's token with the symbol.
func (c Chain) Token(symbol string) (Token, bool) {
	for _, t := range c.Tokens {
		if t.Symbol == symbol {
			return t, true
		}
	}
	return Token{}, false
}

// Symbols lists the chain's token symbols.
func (c Chain) Symbols() []string {
	out := make([]string, len(c.Tokens))
	for i, t := range c.Tokens {
		out[i] = t.Symbol
	}
	return out
}

// DevnetChainID is the chain id of the embedded development chain.
const DevnetChainID = 1337

// DevnetDeployer is the address of the embedded development chain's funded dev wallet, which
// deploys the test tokens as its first three transactions, so their addresses are fixed.
var DevnetDeployer = common.HexToAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")

// DevnetToken returns the fixed address of the devnet test token deployed at the deployer's nonce.
func DevnetToken(nonce uint64) string {
	return crypto.CreateAddress(DevnetDeployer, nonce).Hex()
}

// The built-in registry: entries, addresses and decimals from shared/TOKENS.md (verified
// 2026-11-22). TRON USDC is left out on purpose (Circle ended support); bridged tokens carry Bridged.
var builtin = []Chain{
	{Slug: "ethereum", Name: "Ethereum", Native: "ETH", Protocol: EVM, SetCode: true, ChainID: 1, Confirmations: 12, FinalityTag: "finalized", BlockTime: 12 * time.Second, ExplorerTx: "https://etherscan.io/tx/%s", Tokens: []Token{
		{Symbol: "USDT", Address: "0xdAC17F958D2ee523a2206206994597C13D831ec7", Decimals: 6},
		{Symbol: "USDC", Address: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", Decimals: 6},
		{Symbol: "DAI", Address: "0x6B175474E89094C44Da98b954EedeAC495271d0F", Decimals: 18},
	}},
	{Slug: "ethereum-sepolia", Name: "Ethereum Sepolia", Native: "ETH", Protocol: EVM, SetCode: true, ChainID: 11155111, Testnet: true, Confirmations: 12, FinalityTag: "finalized", BlockTime: 12 * time.Second, ExplorerTx: "https://sepolia.etherscan.io/tx/%s", Tokens: []Token{
		{Symbol: "USDT", Address: "0xaA8E23Fb1079EA71e0a56F48a2aA51851D8433D0", Decimals: 6},
		{Symbol: "USDC", Address: "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238", Decimals: 6},
	}},
	{Slug: "polygon", Name: "Polygon PoS", Native: "POL", Protocol: EVM, SetCode: true, ChainID: 137, Confirmations: 1, FinalityTag: "finalized", BlockTime: 2 * time.Second, ExplorerTx: "https://polygonscan.com/tx/%s", Tokens: []Token{
		{Symbol: "USDT", Address: "0xc2132D05D31c914a87C6611C10748AEb04B58e8F", Decimals: 6},
		{Symbol: "USDC", Address: "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", Decimals: 6},
		{Symbol: "USDC.e", Address: "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174", Decimals: 6, Bridged: true},
		{Symbol: "DAI", Address: "0x8f3Cf7ad23Cd3CaDbD9735AFf958023239c6A063", Decimals: 18},
	}},
	{Slug: "polygon-amoy", Name: "Polygon Amoy", Native: "POL", Protocol: EVM, SetCode: true, ChainID: 80002, Testnet: true, Confirmations: 1, FinalityTag: "finalized", BlockTime: 2 * time.Second, ExplorerTx: "https://amoy.polygonscan.com/tx/%s", Tokens: []Token{
		{Symbol: "USDC", Address: "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582", Decimals: 6},
	}},
	{Slug: "bsc", Name: "BNB Smart Chain", Native: "BNB", Protocol: EVM, SetCode: true, ChainID: 56, Confirmations: 2, FinalityTag: "finalized", BlockTime: 750 * time.Millisecond, ExplorerTx: "https://bscscan.com/tx/%s", Tokens: []Token{
		{Symbol: "USDT", Address: "0x55d398326f99059fF775485246999027B3197955", Decimals: 18},
		{Symbol: "USDC", Address: "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d", Decimals: 18},
		{Symbol: "DAI", Address: "0x1AF3F329e8BE154074D8769D1FFa4eE058B1DBc3", Decimals: 18},
	}},
	{Slug: "arbitrum", Name: "Arbitrum One", Native: "ETH", Protocol: EVM, SetCode: true, ChainID: 42161, Confirmations: 1, FinalityTag: "finalized", BlockTime: 250 * time.Millisecond, ExplorerTx: "https://arbiscan.io/tx/%s", Tokens: []Token{
		{Symbol: "USDT", Address: "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", Decimals: 6},
		{Symbol: "USDC", Address: "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", Decimals: 6},
		{Symbol: "DAI", Address: "0xDA10009cBd5D07dd0CeCc66161FC93D7c9000da1", Decimals: 18},
	}},
	{Slug: "base", Name: "Base", Native: "ETH", Protocol: EVM, SetCode: true, ChainID: 8453, Confirmations: 1, FinalityTag: "finalized", BlockTime: 2 * time.Second, ExplorerTx: "https://basescan.org/tx/%s", Tokens: []Token{
		{Symbol: "USDC", Address: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", Decimals: 6},
		{Symbol: "USDT", Address: "0xfde4C96c8593536E31F229EA8f37b2ADa2699bb2", Decimals: 6, Bridged: true},
		{Symbol: "DAI", Address: "0x50c5725949A6F0c72E6C4a641F24049A917DB0Cb", Decimals: 18},
	}},
	{Slug: "tron", Name: "TRON", Native: "TRX", Protocol: TRON, ChainID: 728126428, Confirmations: 19, BlockTime: 3 * time.Second, ExplorerTx: "https://tronscan.org/#/transaction/%s", Tokens: []Token{
		{Symbol: "USDT", Address: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", Decimals: 6},
	}},
	{Slug: "tron-nile", Name: "TRON Nile", Native: "TRX", Protocol: TRON, ChainID: 3448148188, Testnet: true, Confirmations: 19, BlockTime: 3 * time.Second, ExplorerTx: "https://nile.tronscan.org/#/transaction/%s", Tokens: []Token{
		{Symbol: "USDT", Address: "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf", Decimals: 6},
	}},
	{Slug: "devnet", Name: "stablegate devnet", Native: "ETH", Protocol: EVM, SetCode: true, ChainID: DevnetChainID, Testnet: true, Confirmations: 1, BlockTime: time.Second, ExplorerTx: "", Ephemeral: true, Tokens: []Token{
		{Symbol: "USDT", Address: DevnetToken(0), Decimals: 6},
		{Symbol: "USDC", Address: DevnetToken(1), Decimals: 6},
		{Symbol: "DAI", Address: DevnetToken(2), Decimals: 18},
	}},
}

// Registry is the chains a gateway knows, each with its tokens and the rule its payments are
// confirmed by. It is a value: built once from the built-in list and the operator's configuration
// (Builtin, then Configure), and passed to what needs it; tests build their own. It never changes
// once built.
type Registry struct{ chains []Chain }

var builtinRegistry = &Registry{chains: builtin}

// Builtin returns the verified registry of shared/TOKENS.md, with each chain's default rule.
func Builtin() *Registry { return builtinRegistry }

// NewRegistry returns a registry of the chains, once each passes Validate.
func NewRegistry(chains ...Chain) (*Registry, error) {
	r := &Registry{chains: slices.Clone(chains)}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// Lookup returns the chain with the slug.
func (r *Registry) Lookup(slug string) (Chain, bool) {
	for _, c := range r.chains {
		if c.Slug == slug {
			return c, true
		}
	}
	return Chain{}, false
}

// Token returns the token of the currency on the chain.
func (r *Registry) Token(slug, symbol string) (Token, bool) {
	c, ok := r.Lookup(slug)
	if !ok {
		return Token{}, false
	}
	return c.Token(symbol)
}

// All returns every chain, in the registry's stable order.
func (r *Registry) All() []Chain { return slices.Clone(r.chains) }

// Slugs lists the slugs of the chains for one mode (testnet or not), comma-separated, for error
// messages.
func (r *Registry) Slugs(testnet bool) string {
	var out []string
	for _, c := range r.chains {
		if c.Testnet == testnet {
			out = append(out, c.Slug)
		}
	}
	return strings.Join(out, ", ")
}

// Configure returns a copy of the registry in which the chain's payments count after
// confirmations (when > 0; otherwise its default stays) and, with finality "none", by the count
// alone, or also wait for the block tag finality names ("finalized", "safe"; empty: the chain's
// default tag).
func (r *Registry) Configure(slug string, confirmations int, finality string) (*Registry, error) {
	i := slices.IndexFunc(r.chains, func(c Chain) bool { return c.Slug == slug })
	if i < 0 {
		return nil, fmt.Errorf("registry: no chain %q", slug)
	}
	out := &Registry{chains: slices.Clone(r.chains)}
	c := &out.chains[i]
	if confirmations > 0 {
		c.Confirmations = confirmations
	}
	switch finality {
	case "":
	case "none":
		c.FinalityTag = ""
	case "finalized", "safe":
		c.FinalityTag = finality
	default:
		return nil, fmt.Errorf("registry: %s finality must be finalized, safe or none, not %q", slug, finality)
	}
	return out, nil
}

// WithoutSetCode returns the registry with EIP-7702 turned off on the chain: its sweeps top up
// each address's gas instead (an operator whose node or chain refuses set-code transactions; a
// devnet under older rules).
func (r *Registry) WithoutSetCode(slug string) (*Registry, error) {
	i := slices.IndexFunc(r.chains, func(c Chain) bool { return c.Slug == slug })
	if i < 0 {
		return nil, fmt.Errorf("registry: no chain %q", slug)
	}
	out := &Registry{chains: slices.Clone(r.chains)}
	out.chains[i].SetCode = false
	return out, nil
}

// Validate checks every registry entry: addresses parse and are canonical, decimals are sane.
func (r *Registry) Validate() error {
	seen := map[string]bool{}
	for _, c := range r.chains {
		if seen[c.Slug] {
			return fmt.Errorf("registry: duplicate chain %s", c.Slug)
		}
		seen[c.Slug] = true
		for _, t := range c.Tokens {
			norm, err := NormalizeAddress(c.Protocol, t.Address)
			if err != nil || norm != t.Address {
				return fmt.Errorf("registry: %s %s address %s is not canonical: %v", c.Slug, t.Symbol, t.Address, err)
			}
			if t.Decimals < 0 || t.Decimals > 36 {
				return fmt.Errorf("registry: %s %s decimals %d", c.Slug, t.Symbol, t.Decimals)
			}
		}
	}
	return nil
}

// TokenByAddress returns the chain's registry token at the contract address, if it is one.
func (c Chain) TokenByAddress(address string) (Token, bool) {
	want, err := ParseAddress(c.Protocol, address)
	if err != nil {
		return Token{}, false
	}
	for _, t := range c.Tokens {
		if got, err := ParseAddress(c.Protocol, t.Address); err == nil && got == want {
			return t, true
		}
	}
	return Token{}, false
}
