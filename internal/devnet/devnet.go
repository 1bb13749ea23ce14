// Package devnet is stablegate's embedded development chain: a real in-process EVM (go-ethereum's
// simulated backend) with a real HTTP JSON-RPC endpoint on loopback and test USDT, USDC and DAI
// tokens deployed at fixed addresses by a funded dev wallet. It is the sandbox of `stablegate dev`
// and the chain of the end-to-end tests: payments on it are real signed transactions in real blocks.
package devnet

import (
	"context"
	"crypto/ecdsa"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"

	"github.com/stablegate/stablegate/internal/chain"
)

// DevKeyHex is the dev wallet's private key: the well-known first development account of Hardhat
// and Anvil. It is public knowledge; never send anything of value to its address on a real chain.
const DevKeyHex = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

// ChainID is the devnet's chain id (the simulated backend's, and the registry's).
const ChainID = chain.DevnetChainID

var (
	//go:embed contracts/TestToken.abi
	tokenABIJSON string
	//go:embed contracts/TestToken.bin
	tokenBinHex string

	tokenABI = mustABI(tokenABIJSON)
)

func mustABI(s string) abi.ABI {
	a, err := abi.JSON(strings.NewReader(s))
	if err != nil {
		panic("devnet: bad embedded ABI: " + err.Error())
	}
	return a
}

// DevKey returns the dev wallet's key.
func DevKey() *ecdsa.PrivateKey {
	k, err := crypto.HexToECDSA(DevKeyHex)
	if err != nil {
		panic(err)
	}
	return k
}

// token is one test token: deployed in this order, so at the dev wallet's nonces 0, 1, 2.
type token struct {
	symbol   string
	name     string
	decimals uint8
}

var tokens = []token{
	{"USDT", "Tether USD (devnet)", 6},
	{"USDC", "USD Coin (devnet)", 6},
	{"DAI", "Dai Stablecoin (devnet)", 18},
}

// Config configures a devnet.
type Config struct {
	// Addr is where the JSON-RPC endpoint listens, host:port; default 127.0.0.1:0 (a free port).
	Addr string
	// BlockTime mines a block at this interval; 0 mines only on Mine (tests drive blocks).
	BlockTime time.Duration
	// Fork is the last fork the chain runs: "" every fork go-ethereum knows, active from genesis
	// (the default); "osaka" Ethereum mainnet's rules (Prague and Osaka, without later forks), for
	// gas measured as mainnet charges it; "cancun" the rules before Prague — no EIP-7702 — for a
	// chain without set-code transactions. A chain kept in DataDir keeps the rules it started with.
	Fork string
	// DataDir keeps the chain (blocks, state, the dev wallet's balances) in this directory, so a
	// restart goes on with the same chain; "" keeps it in memory, gone at Close.
	DataDir string
}

// forkRules is the chain configuration of a Config.Fork.
func forkRules(fork string) (*params.ChainConfig, error) {
	rules := *params.AllDevChainProtocolChanges
	switch fork {
	case "":
	case "osaka":
		rules.BogotaTime = nil
	case "cancun":
		rules.PragueTime, rules.OsakaTime, rules.BogotaTime = nil, nil, nil
	default:
		return nil, fmt.Errorf("devnet: unknown fork %q (\"\", \"osaka\" or \"cancun\")", fork)
	}
	return &rules, nil
}

// ErrNotStoppedCleanly is the error of Start on a data directory whose chain was not closed (its
// process was killed): the state of its last blocks may be lost, and continuing would undo them.
var ErrNotStoppedCleanly = errors.New("the devnet's chain was not stopped cleanly (was its process killed?), its last blocks may be lost")

// Chain is a running devnet.
type Chain struct {
	backend *backend
	url     string
	dataDir string
	key     *ecdsa.PrivateKey

	mu sync.Mutex // serializes block production: Mine, Reorg, the miner

	nonceMu   sync.Mutex // the dev wallet's next nonce for Transfer(Many)
	nextNonce uint64
	stop      chan struct{}
	done      chan struct{}
}

// Start starts a devnet: genesis funds the dev wallet with ETH, the three test tokens are
// deployed in block 1 with their whole supply in the dev wallet. With a DataDir that holds a chain
// closed by Close, the devnet goes on with that chain instead.
func Start(cfg Config) (c *Chain, err error) {
	host, port := "127.0.0.1", 0
	if cfg.Addr != "" {
		if host, port, err = splitHostPort(cfg.Addr); err != nil {
			return nil, err
		}
	}
	if port == 0 {
		if port, err = freePort(host); err != nil {
			return nil, err
		}
	}
	key := DevKey()
	dev := crypto.PubkeyToAddress(key.PublicKey)
	if dev != chain.DevnetDeployer {
		return nil, fmt.Errorf("devnet: dev key is %s, registry expects %s", dev, chain.DevnetDeployer)
	}
	var last *Head
	if cfg.DataDir != "" && HasChain(cfg.DataDir) {
		if last, err = LastHead(cfg.DataDir); err != nil {
			return nil, err
		}
		if last == nil {
			return nil, fmt.Errorf("devnet: %s: %w", cfg.DataDir, ErrNotStoppedCleanly)
		}
	}
	eth := new(big.Int).Exp(big.NewInt(10), big.NewInt(24), nil) // a million ETH for gas
	alloc := types.GenesisAlloc{dev: {Balance: eth}}
	defer func() {
		if r := recover(); r != nil { // go-ethereum panics on some failures to start
			c, err = nil, fmt.Errorf("devnet: start: %v", r)
		}
	}()
	rules, err := forkRules(cfg.Fork)
	if err != nil {
		return nil, err
	}
	b, err := newBackend(cfg.DataDir, alloc, rules, func(nc *node.Config, ec *ethconfig.Config) {
		nc.HTTPHost, nc.HTTPPort = host, port
		nc.HTTPModules = []string{"eth", "net", "web3"}
		nc.HTTPVirtualHosts = []string{"*"}
		nc.WSHost, nc.WSPort = host, port // WebSocket on the same port: ws://host:port
		nc.WSModules = []string{"eth", "net", "web3"}
		nc.WSOrigins = []string{"*"}
	})
	if err != nil {
		return nil, fmt.Errorf("devnet: start: %w", err)
	}
	c = &Chain{backend: b, key: key, dataDir: cfg.DataDir, stop: make(chan struct{}), done: make(chan struct{})}
	c.url = "http://" + net.JoinHostPort(host, strconv.Itoa(port))
	if last != nil {
		if h := b.head(); h.Hash() != last.Hash {
			b.Close()
			return nil, fmt.Errorf("devnet: %s: the chain is at block %d, not at block %d where it stopped: %w", cfg.DataDir, h.Number, last.Number, ErrNotStoppedCleanly)
		}
		// The chain is open: a stop without Close leaves no record of its head, and is caught.
		if err := os.Remove(headPath(cfg.DataDir)); err != nil {
			b.Close()
			return nil, fmt.Errorf("devnet: %w", err)
		}
	} else if err := c.deployTokens(context.Background()); err != nil {
		c.closeBackend()
		return nil, err
	}
	if cfg.BlockTime > 0 {
		go c.mine(cfg.BlockTime)
	} else {
		close(c.done)
	}
	return c, nil
}

func (c *Chain) deployTokens(ctx context.Context) error {
	client := c.backend.Client()
	bin, err := hex.DecodeString(strings.TrimSpace(tokenBinHex))
	if err != nil {
		return fmt.Errorf("devnet: bad embedded bytecode: %w", err)
	}
	for i, t := range tokens {
		supply := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(12+int(t.decimals))), nil) // a trillion tokens
		args, err := tokenABI.Pack("", t.name, t.symbol, t.decimals, supply)
		if err != nil {
			return fmt.Errorf("devnet: pack %s constructor: %w", t.symbol, err)
		}
		tx, err := c.signed(ctx, uint64(i), nil, append(append([]byte{}, bin...), args...), 3_000_000)
		if err != nil {
			return err
		}
		if err := client.SendTransaction(ctx, tx); err != nil {
			return fmt.Errorf("devnet: deploy %s: %w", t.symbol, err)
		}
	}
	if err := c.waitPending(ctx, uint64(len(tokens))); err != nil {
		return err
	}
	c.backend.Commit()
	for i, t := range tokens {
		addr := crypto.CreateAddress(chain.DevnetDeployer, uint64(i))
		code, err := client.CodeAt(ctx, addr, nil)
		if err != nil || len(code) == 0 {
			return fmt.Errorf("devnet: %s not deployed at %s: %v", t.symbol, addr, err)
		}
	}
	return nil
}

// signed returns a dynamic-fee transaction from the dev wallet, signed for the devnet.
func (c *Chain) signed(ctx context.Context, nonce uint64, to *common.Address, data []byte, gas uint64) (*types.Transaction, error) {
	head, err := c.backend.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("devnet: head: %w", err)
	}
	return signDevTx(head, nonce, to, data, gas)
}

// signDevTx signs a dynamic-fee transaction from the dev wallet: a 1 gwei tip and a fee cap of four
// times the head's base fee, room for the base fee to rise over a few blocks before it is mined.
func signDevTx(head *types.Header, nonce uint64, to *common.Address, data []byte, gas uint64) (*types.Transaction, error) {
	return signDevValue(head, nonce, to, nil, data, gas)
}

// signDevValue is signDevTx with a value of the devnet's coin.
func signDevValue(head *types.Header, nonce uint64, to *common.Address, value *big.Int, data []byte, gas uint64) (*types.Transaction, error) {
	tip := big.NewInt(1_000_000_000)
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(4)), tip)
	tx, err := types.SignTx(types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(ChainID), Nonce: nonce, GasTipCap: tip,
		GasFeeCap: feeCap, Gas: gas, To: to, Value: value, Data: data}), types.LatestSignerForChainID(big.NewInt(ChainID)), DevKey())
	if err != nil {
		return nil, fmt.Errorf("devnet: sign: %w", err)
	}
	return tx, nil
}

// RPCURL is the HTTP JSON-RPC endpoint.
func (c *Chain) RPCURL() string { return c.url }

// WSURL returns the WebSocket JSON-RPC URL (the same port), where eth_subscribe works.
func (c *Chain) WSURL() string { return "ws" + strings.TrimPrefix(c.url, "http") }

// Tokens returns the test tokens' addresses by symbol.
func Tokens() map[string]common.Address {
	out := map[string]common.Address{}
	for i, t := range tokens {
		out[t.symbol] = crypto.CreateAddress(chain.DevnetDeployer, uint64(i))
	}
	return out
}

// Decimals returns a test token's decimals.
func Decimals(symbol string) (int, bool) {
	for _, t := range tokens {
		if t.symbol == symbol {
			return int(t.decimals), true
		}
	}
	return 0, false
}

// Mine seals a block with the pending transactions and returns its hash.
func (c *Chain) Mine() common.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.backend.Commit()
}

func (c *Chain) mine(every time.Duration) {
	defer close(c.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.Mine()
		}
	}
}

// Reorg replaces the last depth blocks with depth+1 new ones, so the new branch is canonical.
// With drop, the transactions of the replaced blocks are discarded; without it they go back to the
// pool and are mined again in the new branch (as a real reorg usually does).
func (c *Chain) Reorg(ctx context.Context, depth int, drop bool) error {
	if depth < 1 {
		return errors.New("devnet: reorg depth must be at least 1")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	client := c.backend.Client()
	head, err := client.HeaderByNumber(ctx, nil)
	if err != nil {
		return fmt.Errorf("devnet: reorg: %w", err)
	}
	if head.Number.Int64() < int64(depth) {
		return fmt.Errorf("devnet: reorg depth %d beyond genesis (head %d)", depth, head.Number)
	}
	ancestor, err := client.HeaderByNumber(ctx, new(big.Int).Sub(head.Number, big.NewInt(int64(depth))))
	if err != nil {
		return fmt.Errorf("devnet: reorg: %w", err)
	}
	if err := c.backend.Fork(ancestor.Hash()); err != nil {
		return fmt.Errorf("devnet: fork: %w", err)
	}
	if drop {
		c.backend.Rollback()
		c.nonceMu.Lock()
		c.nextNonce = 0 // dropped transactions free their nonces: trust the chain again
		c.nonceMu.Unlock()
	}
	for range depth + 1 {
		c.backend.Commit()
		if drop {
			c.backend.Rollback()
		}
	}
	return nil
}

// Close stops the miner and the chain.
func (c *Chain) Close() error {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
	return c.closeBackend()
}

// closeBackend closes the node and, when the chain is kept in a directory, records its head there:
// the proof, at the next Start, that the chain was closed whole.
func (c *Chain) closeBackend() error {
	head := c.backend.head()
	if err := c.backend.Close(); err != nil || c.dataDir == "" {
		return err
	}
	return writeHead(c.dataDir, Head{Number: head.Number.Uint64(), Hash: head.Hash()})
}
