package devnet

import (
	"errors"
	"fmt"
	"maps"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
)

// backend is the devnet's node: go-ethereum's simulated backend (ethclient/simulated), assembled
// the way its NewBackend does, with one difference: its chain may live in a data directory and go
// on from where it stopped. The upstream constructor keeps the chain in memory and sets its head
// back to genesis on every start.
type backend struct {
	node   *node.Node
	eth    *eth.Ethereum
	beacon *catalyst.SimulatedBeacon
	client *ethclient.Client
}

// newBackend starts a node with the dev genesis (alloc over the system contracts every fork
// expects) under the rules, its chain in dataDir ("" keeps it in memory), then lets configure set
// the rest.
func newBackend(dataDir string, alloc types.GenesisAlloc, rules *params.ChainConfig, configure func(*node.Config, *ethconfig.Config)) (*backend, error) {
	nodeConf := node.DefaultConfig
	nodeConf.DataDir = dataDir
	nodeConf.Name = "geth" // the chain is in <dataDir>/geth, whatever the executable is called
	nodeConf.P2P = p2p.Config{NoDiscovery: true}

	genesisAlloc := core.SystemContractAllocs()
	maps.Copy(genesisAlloc, alloc)
	ethConf := ethconfig.Defaults
	ethConf.Genesis = &core.Genesis{Config: rules, GasLimit: ethconfig.Defaults.Miner.GasCeil, Alloc: genesisAlloc}
	ethConf.SyncMode = ethconfig.FullSync
	ethConf.TxPool.NoLocals = true
	ethConf.LogNoHistory = true // no log index: eth_getLogs searches the blocks
	// A development chain is small: small caches keep memory and the database's preallocated
	// files small, and a small write buffer puts state on disk often.
	ethConf.DatabaseCache, ethConf.TrieCleanCache, ethConf.TrieDirtyCache, ethConf.SnapshotCache = 16, 16, 16, 16
	configure(&nodeConf, &ethConf)

	stack, err := node.New(&nodeConf)
	if err != nil {
		return nil, err
	}
	b := &backend{node: stack}
	if b.eth, err = eth.New(stack, &ethConf); err != nil {
		stack.Close()
		return nil, err
	}
	stack.RegisterAPIs([]rpc.API{{Namespace: "eth", Service: filters.NewFilterAPI(filters.NewFilterSystem(b.eth.APIBackend, filters.Config{}))}})
	if err := stack.Start(); err != nil {
		stack.Close()
		return nil, err
	}
	if b.beacon, err = catalyst.NewSimulatedBeacon(0, common.Address{}, b.eth); err != nil {
		stack.Close()
		return nil, err
	}
	if b.head().Number.Sign() == 0 {
		// As upstream does for a new chain: the fork choice starts at genesis.
		if err := b.beacon.Fork(b.eth.BlockChain().GetCanonicalHash(0)); err != nil {
			stack.Close()
			return nil, err
		}
	}
	b.client = ethclient.NewClient(stack.Attach())
	return b, nil
}

// head is the current head block's header.
func (b *backend) head() *types.Header { return b.eth.BlockChain().CurrentBlock() }

// Client is a JSON-RPC client of the node, in process.
func (b *backend) Client() *ethclient.Client { return b.client }

// Commit seals a block with the pending transactions.
func (b *backend) Commit() common.Hash { return b.beacon.Commit() }

// Rollback drops the pending transactions.
func (b *backend) Rollback() { b.beacon.Rollback() }

// Fork makes the block parent the head, so the next Commit starts a side branch there.
func (b *backend) Fork(parent common.Hash) error { return b.beacon.Fork(parent) }

// Close stops the node; a chain in a data directory writes its state there first.
func (b *backend) Close() error {
	b.client.Close()
	err := b.beacon.Stop()
	if cerr := b.node.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("devnet: close: %w", cerr))
	}
	return err
}
