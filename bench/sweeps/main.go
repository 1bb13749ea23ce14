// Command sweeps measures sweeps on the devnet under Ethereum mainnet's rules (Prague and Osaka;
// see bench/README.md): gas per address of an EIP-7702 batch sweep, on an address's first sweep
// and on a later one, beside a gas top-up and a token transfer from the address; how many
// addresses a transaction takes under the EIP-7825 gas cap; and the time to sweep many addresses,
// from the request to the last sweep completed.
package main

import (
	"context"
	"crypto/ecdsa"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/devnet"
	"github.com/stablegate/stablegate/internal/evm"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/store/sqlite"
)

func main() {
	n := flag.Int("addresses", 1000, "paid addresses to sweep in the timed run")
	flag.Parse()
	fmt.Printf("cores=%d go=%s devnet rules: osaka (Prague and Osaka, no later fork)\n", runtime.NumCPU(), runtime.Version())
	w := newWorld()
	defer w.close()

	// The first sweep deploys the sweeper: measured apart.
	w.pay(w.orders(1, "1"))
	w.sweepAll()
	fmt.Printf("sweeper deployment: %d gas\n", w.lastGas(gateway.PurposeDeploySweeper))

	for _, k := range []int{1, 10, 100} {
		orders := w.orders(k, "1")
		w.pay(orders)
		first := w.sweepAll()
		w.pay(orders) // paid again: the same addresses, delegated now
		again := w.sweepAll()
		fmt.Printf("%4d addresses: first sweep %8d gas (%6d an address), again %8d gas (%6d an address)\n", k, first, first/uint64(k), again, again/uint64(k))
	}
	// The marginal cost of one more address, from 100 to 200.
	o100, o200 := w.orders(100, "1"), w.orders(200, "1")
	w.pay(o100)
	g100 := w.sweepAll()
	w.pay(o200)
	g200 := w.sweepAll()
	w.pay(o100)
	a100 := w.sweepAll()
	w.pay(o200)
	a200 := w.sweepAll()
	fmt.Printf("one more address (100 → 200): %d gas on its first sweep, %d on a later one\n", (g200-g100)/100, (a200-a100)/100)
	first := (g200 - g100) / 100
	fmt.Printf("addresses under the 16,777,216 gas cap at that rate: %d (a batch is capped at %d)\n", (gateway.TxGasCap-g100+100*first)/first,
		gateway.MaxSweepAddresses)

	// A gas top-up from the hot wallet, then a token transfer from the address: the fallback.
	fmt.Printf("gas top-up + token transfer from the address: %d gas an address\n", w.topUpAndTransfer())

	// Time to sweep n addresses, a block a second as the devnet of `stablegate dev` mines.
	orders := w.orders(*n, "1")
	w.pay(orders)
	start := time.Now()
	plan, err := w.svc.Sweep(context.Background(), w.pr, gateway.SweepRequest{ChainID: "devnet"})
	if err != nil {
		log.Fatal(err)
	}
	planned := time.Since(start)
	blocks := w.settle(time.Second)
	fmt.Printf("%d addresses: planned in %s (%d sweeps), all completed %s after the request (%d blocks, one a second)\n", *n,
		planned.Round(time.Millisecond), len(plan.Sweeps), time.Since(start).Round(time.Millisecond), blocks)
}

type world struct {
	chain  *devnet.Chain
	eth    *ethclient.Client
	svc    *gateway.Service
	pr     *gateway.Principal
	sender *evm.Sender
	scan   *evm.Scanner
	hot    common.Address
	dir    string
	refs   int
}

func newWorld() *world {
	c, err := devnet.Start(devnet.Config{Fork: "osaka"})
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sweeps-bench")
	if err != nil {
		log.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "bench.db"))
	if err != nil {
		log.Fatal(err)
	}
	kr, err := gateway.NewKeyring(make([]byte, gateway.MasterKeySize))
	if err != nil {
		log.Fatal(err)
	}
	reg, err := chain.Builtin().Configure("devnet", 1, "none")
	if err != nil {
		log.Fatal(err)
	}
	client, err := evm.NewClient([]string{c.RPCURL()}, evm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	svc := &gateway.Service{Store: st, Keyring: kr, Registry: reg, Chains: []string{"devnet"}, Nodes: evm.Nodes{"devnet": client}, Encoder: evm.Encoder{}}
	ctx := context.Background()
	cp, err := svc.CreateProject(ctx, gateway.CreateProjectParams{Live: true, Name: "Bench", Website: "https://bench.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	pr, err := svc.Authenticate(ctx, cp.Keys[0].Key)
	if err != nil {
		log.Fatal(err)
	}
	pr.SecretProven = true
	hot, err := svc.HotWalletAddress(ctx, cp.Project.ID, gateway.Test, "devnet")
	if err != nil {
		log.Fatal(err)
	}
	eth, err := ethclient.Dial(c.RPCURL())
	if err != nil {
		log.Fatal(err)
	}
	ch, _ := reg.Lookup("devnet")
	start := uint64(1)
	w := &world{chain: c, eth: eth, svc: svc, pr: pr, hot: common.HexToAddress(hot), dir: dir,
		sender: &evm.Sender{Chain: ch, Client: client, Gateway: svc, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Holder: "bench"},
		scan:   &evm.Scanner{Chain: ch, Client: client, Gateway: svc, StartBlock: &start, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	if _, err := devnet.Fund(ctx, c.RPCURL(), w.hot, new(big.Int).Mul(big.NewInt(1e18), big.NewInt(1000))); err != nil {
		log.Fatal(err)
	}
	c.Mine()
	return w
}

func (w *world) close() {
	w.eth.Close()
	w.chain.Close()
	os.RemoveAll(w.dir)
}

func (w *world) orders(n int, amount string) []*gateway.Order {
	var out []*gateway.Order
	for range n {
		w.refs++
		o, _, err := w.svc.CreateOrder(context.Background(), w.pr, gateway.OrderInput{Reference: fmt.Sprintf("bench-%d", w.refs), Amount: amount,
			Currency: "USDT", ChainID: "devnet"})
		if err != nil {
			log.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

// pay pays each order its amount from the dev wallet, mines, and scans until it is credited.
func (w *world) pay(orders []*gateway.Order) {
	ctx := context.Background()
	for len(orders) > 0 {
		batch := orders[:min(len(orders), 500)]
		orders = orders[len(batch):]
		var to []common.Address
		var amounts []*big.Int
		for _, o := range batch {
			to, amounts = append(to, common.HexToAddress(o.Address)), append(amounts, o.Amount)
		}
		if _, err := w.chain.TransferMany(ctx, "USDT", to, amounts); err != nil {
			log.Fatal(err)
		}
		w.chain.Mine()
	}
	for {
		caughtUp, err := w.scan.RunOnce(ctx)
		if err != nil {
			log.Fatal(err)
		}
		if caughtUp {
			return
		}
	}
}

// sweepAll sweeps everything there is and returns the gas the sweep transactions used.
func (w *world) sweepAll() uint64 {
	plan, err := w.svc.Sweep(context.Background(), w.pr, gateway.SweepRequest{ChainID: "devnet"})
	if err != nil {
		log.Fatal(err)
	}
	w.settle(0)
	var gas uint64
	for _, s := range plan.Sweeps {
		got, err := w.svc.FindSweep(context.Background(), w.pr, s.ID)
		if err != nil || got.Status != gateway.SweepCompleted {
			log.Fatalf("sweep %s: %v %v %s", s.ID, err, got.Status, got.Failure)
		}
		gas += got.GasUsed
	}
	return gas
}

// settle runs the sender and mines (every interval; 0: at once) until nothing is unfinished, and
// returns how many blocks that took.
func (w *world) settle(every time.Duration) int {
	ctx := context.Background()
	for blocks := 0; ; blocks++ {
		if err := w.sender.RunOnce(ctx); err != nil {
			log.Fatal(err)
		}
		un, err := w.svc.Store.UnfinishedOutgoing(ctx, "devnet")
		if err != nil {
			log.Fatal(err)
		}
		if len(un) == 0 {
			return blocks
		}
		time.Sleep(every)
		w.chain.Mine()
	}
}

func (w *world) lastGas(purpose string) uint64 {
	txs, err := w.svc.ListOutgoing(context.Background(), w.pr, gateway.OutgoingFilter{Purpose: purpose, Limit: 1})
	if err != nil || len(txs) == 0 {
		log.Fatalf("no %s transaction: %v", purpose, err)
	}
	return txs[0].GasUsed
}

// topUpAndTransfer pays an address, sends it the gas of a token transfer from the hot wallet, and
// has it send the token to the hot wallet: the gas of both.
func (w *world) topUpAndTransfer() uint64 {
	ctx := context.Background()
	o := w.orders(1, "1")[0]
	w.pay([]*gateway.Order{o})
	hotKey, err := w.svc.SigningKey(ctx, &gateway.OutgoingTx{ProjectID: w.pr.Project.ID, Mode: gateway.Test, ChainID: "devnet", From: w.hot.Hex()})
	if err != nil {
		log.Fatal(err)
	}
	addrKey, err := w.svc.AuthorityKey(ctx, &gateway.OutgoingTx{ProjectID: w.pr.Project.ID, Mode: gateway.Test, ChainID: "devnet"}, o.Address)
	if err != nil {
		log.Fatal(err)
	}
	to := common.HexToAddress(o.Address)
	head, err := w.eth.HeaderByNumber(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fee := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), big.NewInt(1e9))
	const transferGas = 60_000
	topUp := w.send(hotKey, &to, new(big.Int).Mul(fee, big.NewInt(transferGas)), nil, 21_000, fee)
	token := devnet.Tokens()["USDT"]
	data := append(crypto.Keccak256([]byte("transfer(address,uint256)"))[:4], append(common.LeftPadBytes(w.hot.Bytes(), 32),
		common.LeftPadBytes(o.Amount.Bytes(), 32)...)...)
	transfer := w.send(addrKey, &token, nil, data, transferGas, fee)
	return topUp + transfer
}

func (w *world) send(priv *ecdsa.PrivateKey, to *common.Address, value *big.Int, data []byte, gas uint64, fee *big.Int) uint64 {
	ctx := context.Background()
	from := crypto.PubkeyToAddress(priv.PublicKey)
	nonce, err := w.eth.PendingNonceAt(ctx, from)
	if err != nil {
		log.Fatal(err)
	}
	tx, err := types.SignTx(types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(devnet.ChainID), Nonce: nonce, GasTipCap: big.NewInt(1e9),
		GasFeeCap: fee, Gas: gas, To: to, Value: value, Data: data}), types.LatestSignerForChainID(big.NewInt(devnet.ChainID)), priv)
	if err != nil {
		log.Fatal(err)
	}
	if err := w.eth.SendTransaction(ctx, tx); err != nil {
		log.Fatal(err)
	}
	w.chain.Mine()
	rc, err := w.eth.TransactionReceipt(ctx, tx.Hash())
	if err != nil || rc.Status != 1 {
		log.Fatalf("%s: %v, status %v", tx.Hash(), err, rc)
	}
	return rc.GasUsed
}
