package evm_test

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/stablegate/stablegate/internal/devnet"
	"github.com/stablegate/stablegate/internal/evm"
	"github.com/stablegate/stablegate/internal/gateway"
)

// paidOrders creates n USDT orders of amount each and pays each exactly from the dev wallet, in
// one block, then scans it: the orders are completed, their payments confirmed.
func (w *sendWorld) paidOrders(n int, amount string) []*gateway.Order {
	w.t.Helper()
	ctx := context.Background()
	var orders []*gateway.Order
	var to []common.Address
	var amounts []*big.Int
	for i := range n {
		o, _, err := w.svc.CreateOrder(ctx, w.pr, gateway.OrderInput{Reference: fmt.Sprintf("ref-%s-%d", gateway.NewID("r"), i), Amount: amount,
			Currency: "USDT", ChainID: "devnet"})
		if err != nil {
			w.t.Fatal(err)
		}
		orders = append(orders, o)
		to = append(to, common.HexToAddress(o.Address))
		amounts = append(amounts, o.Amount)
	}
	if _, err := w.chain.TransferMany(ctx, "USDT", to, amounts); err != nil {
		w.t.Fatal(err)
	}
	for range max(1, w.rule.Confirmations) {
		w.chain.Mine()
	}
	w.scanAll()
	for _, o := range orders {
		got, err := w.svc.Store.FindOrder(ctx, w.project, gateway.Test, o.ID)
		if err != nil || got.Status != gateway.OrderCompleted {
			w.t.Fatalf("order %s: %v, %v", o.ID, got.Status, err)
		}
	}
	return orders
}

// scanAll runs a scanner of the chain up to its head.
func (w *sendWorld) scanAll() {
	w.t.Helper()
	if w.scanner == nil {
		client, err := evm.NewClient([]string{w.chain.RPCURL()}, sendConfig())
		if err != nil {
			w.t.Fatal(err)
		}
		start := uint64(1)
		w.scanner = &evm.Scanner{Chain: w.rule, Client: client, Gateway: w.svc, StartBlock: &start, MaxRange: 100, Now: w.clock.Now}
	}
	for range 100 {
		caughtUp, err := w.scanner.RunOnce(context.Background())
		if err != nil {
			w.t.Fatal(err)
		}
		if caughtUp {
			return
		}
	}
	w.t.Fatal("the scanner never caught up")
}

// settle mines and runs the sender until every sweep of the plan is final (at most rounds times).
func (w *sendWorld) settle(s *evm.Sender, rounds int) {
	w.t.Helper()
	for range rounds {
		w.run(s)
		w.chain.Mine()
		un, err := w.svc.Store.UnfinishedOutgoing(context.Background(), "devnet")
		if err != nil {
			w.t.Fatal(err)
		}
		if len(un) == 0 {
			return
		}
	}
	w.t.Fatalf("outgoing transactions still unfinished after %d rounds", rounds)
}

func (w *sendWorld) token(symbol string, holder common.Address) *big.Int {
	w.t.Helper()
	b, err := w.svc.Nodes.TokenBalance(context.Background(), "devnet", devnet.Tokens()[symbol], holder)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func (w *sendWorld) sweep(req gateway.SweepRequest) *gateway.SweepPlan {
	w.t.Helper()
	req.ChainID = "devnet"
	plan, err := w.svc.Sweep(context.Background(), w.pr, req)
	if err != nil {
		w.t.Fatal(err)
	}
	return plan
}

func TestSweepFiftyPaidOrdersInOneTransaction(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	ctx := context.Background()
	orders := w.paidOrders(50, "10.5")
	sum := new(big.Int)
	for _, o := range orders {
		sum.Add(sum, o.Amount)
	}

	dry := w.sweep(gateway.SweepRequest{DryRun: true})
	if len(dry.Sweeps) != 1 || len(dry.Sweeps[0].Legs) != 50 || dry.Sweeps[0].Total().Cmp(sum) != 0 || !dry.NeedsSweeper || dry.Gas == 0 ||
		dry.Cost.Sign() <= 0 || len(dry.Differences) != 0 {
		t.Fatalf("dry run: %+v", dry)
	}
	if un, _ := w.svc.Store.UnfinishedOutgoing(ctx, "devnet"); len(un) != 0 {
		t.Fatalf("a dry run queued %d transactions", len(un))
	}

	plan := w.sweep(gateway.SweepRequest{})
	sw := plan.Sweeps[0]
	if sw.Status != gateway.SweepDeploying {
		t.Fatalf("the first sweep is %s, want deploying (the sweeper first)", sw.Status)
	}
	s := w.sender("a", nil)
	w.settle(s, 10)

	got, err := w.svc.FindSweep(ctx, w.pr, sw.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != gateway.SweepCompleted || got.Moved().Cmp(sum) != 0 || got.TxHash == "" || got.Fee.Sign() <= 0 {
		t.Fatalf("sweep: %s, moved %s of %s, tx %q, fee %v, %q", got.Status, got.Moved(), sum, got.TxHash, got.Fee, got.Failure)
	}
	for _, o := range orders {
		if b := w.token("USDT", common.HexToAddress(o.Address)); b.Sign() != 0 {
			t.Fatalf("order address %s still holds %s", o.Address, b)
		}
	}
	if b := w.token("USDT", w.hot); b.Cmp(sum) != 0 {
		t.Fatalf("the hot wallet holds %s, want %s", b, sum)
	}
	t.Logf("50 addresses in one transaction: %d gas, %d an address", got.GasUsed, got.GasUsed/50)

	// One transaction carried the fifty authorizations, each for this chain, none for chain 0.
	otx, err := w.svc.Store.FindOutgoing(ctx, w.project, gateway.Test, got.OutgoingID)
	if err != nil {
		t.Fatal(err)
	}
	var tx types.Transaction
	if err := tx.UnmarshalBinary(otx.Current().Raw); err != nil {
		t.Fatal(err)
	}
	if tx.Type() != types.SetCodeTxType || len(tx.SetCodeAuthorizations()) != 50 {
		t.Fatalf("the sweep was a type %d transaction with %d authorizations", tx.Type(), len(tx.SetCodeAuthorizations()))
	}
	for _, a := range tx.SetCodeAuthorizations() {
		if a.ChainID.Uint64() != devnet.ChainID {
			t.Fatalf("an authorization for chain %s", &a.ChainID)
		}
	}

	// The ledger: nothing left on the addresses, the sum in the hot wallet, gas in fees.
	if hs, err := w.svc.Store.Holdings(ctx, w.project, gateway.Test, "devnet"); err != nil || len(hs) != 0 {
		t.Fatalf("holdings after the sweep: %+v, %v", hs, err)
	}
	if hot, err := w.svc.Store.HotWalletHoldings(ctx, w.project, gateway.Test, "devnet"); err != nil || hot["USDT"].Cmp(sum) != 0 {
		t.Fatalf("hot wallet holdings: %v, %v", hot, err)
	}
	if diffs, err := w.svc.Store.VerifyLedger(ctx); err != nil || len(diffs) != 0 {
		t.Fatalf("ledger verify: %+v, %v", diffs, err)
	}
	if diffs, err := w.svc.VerifyHoldings(ctx, nil); err != nil || len(diffs) != 0 {
		t.Fatalf("holdings against the chain: %+v, %v", diffs, err)
	}

	// Nothing left to sweep: a second request makes no sweep.
	if again := w.sweep(gateway.SweepRequest{}); len(again.Sweeps) != 0 {
		t.Fatalf("a second sweep found %d sweeps", len(again.Sweeps))
	}

	// Paid again, the addresses are swept again without authorizations: they are delegated.
	w.payAgain(orders[:10], big.NewInt(1_000_000))
	second := w.sweep(gateway.SweepRequest{}).Sweeps
	if len(second) != 1 || len(second[0].Legs) != 10 || second[0].Status != gateway.SweepSending {
		t.Fatalf("the second sweep: %+v", second)
	}
	w.settle(s, 10)
	got2, _ := w.svc.FindSweep(ctx, w.pr, second[0].ID)
	otx2, _ := w.svc.Store.FindOutgoing(ctx, w.project, gateway.Test, got2.OutgoingID)
	var tx2 types.Transaction
	if err := tx2.UnmarshalBinary(otx2.Current().Raw); err != nil {
		t.Fatal(err)
	}
	if got2.Status != gateway.SweepCompleted || got2.Moved().Int64() != 10_000_000 || tx2.Type() != types.DynamicFeeTxType {
		t.Fatalf("the second sweep: %s, moved %s, type %d", got2.Status, got2.Moved(), tx2.Type())
	}
	t.Logf("10 delegated addresses again: %d gas, %d an address", got2.GasUsed, got2.GasUsed/10)
	if diffs, err := w.svc.Store.VerifyLedger(ctx); err != nil || len(diffs) != 0 {
		t.Fatalf("ledger verify: %+v, %v", diffs, err)
	}
	// Money the ledger did not credit — USDT sent to the hot wallet from outside — is reported.
	if _, err := w.chain.Transfer(ctx, "USDT", w.hot, big.NewInt(7)); err != nil {
		t.Fatal(err)
	}
	w.chain.Mine()
	diffs, err := w.svc.VerifyHoldings(ctx, nil)
	if err != nil || len(diffs) != 1 || !diffs[0].HotWallet || new(big.Int).Sub(diffs[0].OnChain, diffs[0].Ledger).Int64() != 7 {
		t.Fatalf("holdings with 7 units sent to the hot wallet from outside: %+v, %v", diffs, err)
	}
}

// payAgain pays each order's address amount more (an overpayment, credited) and scans it.
func (w *sendWorld) payAgain(orders []*gateway.Order, amount *big.Int) {
	w.t.Helper()
	var to []common.Address
	var amounts []*big.Int
	for _, o := range orders {
		to = append(to, common.HexToAddress(o.Address))
		amounts = append(amounts, amount)
	}
	if _, err := w.chain.TransferMany(context.Background(), "USDT", to, amounts); err != nil {
		w.t.Fatal(err)
	}
	w.chain.Mine()
	w.scanAll()
}

// devCall sends a transaction from the dev wallet — a set-code one when it carries
// authorizations — mines it, and returns its receipt's status.
func (w *sendWorld) devCall(to *common.Address, data []byte, auths []types.SetCodeAuthorization) uint64 {
	w.t.Helper()
	ctx := context.Background()
	key := devnet.DevKey()
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, err := w.eth.PendingNonceAt(ctx, from)
	if err != nil {
		w.t.Fatal(err)
	}
	head, err := w.eth.HeaderByNumber(ctx, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	fee := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(3)), big.NewInt(1e9))
	var tx *types.Transaction
	if len(auths) > 0 {
		tx = types.NewTx(&types.SetCodeTx{ChainID: uint256.NewInt(devnet.ChainID), Nonce: nonce, GasTipCap: uint256.NewInt(1e9),
			GasFeeCap: uint256.MustFromBig(fee), Gas: 1_000_000, To: *to, Data: data, AuthList: auths})
	} else {
		tx = types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(devnet.ChainID), Nonce: nonce, GasTipCap: big.NewInt(1e9), GasFeeCap: fee,
			Gas: 3_000_000, To: to, Data: data})
	}
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(big.NewInt(devnet.ChainID)), key)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.eth.SendTransaction(ctx, signed); err != nil {
		w.t.Fatal(err)
	}
	w.chain.Mine()
	rc, err := w.eth.TransactionReceipt(ctx, signed.Hash())
	if err != nil {
		w.t.Fatal(err)
	}
	return rc.Status
}

// authorize signs an authorization of the order address (by its key) delegating it to delegate,
// for the chain id, at the address's nonce.
func (w *sendWorld) authorize(address string, delegate common.Address, chainID uint64) types.SetCodeAuthorization {
	w.t.Helper()
	ctx := context.Background()
	key, err := w.svc.AuthorityKey(ctx, &gateway.OutgoingTx{ProjectID: w.project, Mode: gateway.Test, ChainID: "devnet"}, address)
	if err != nil {
		w.t.Fatal(err)
	}
	nonce, err := w.eth.PendingNonceAt(ctx, common.HexToAddress(address))
	if err != nil {
		w.t.Fatal(err)
	}
	auth, err := types.SignSetCode(key, types.SetCodeAuthorization{ChainID: *uint256.NewInt(chainID), Address: delegate, Nonce: nonce})
	if err != nil {
		w.t.Fatal(err)
	}
	return auth
}

func (w *sendWorld) code(a common.Address) []byte {
	w.t.Helper()
	code, err := w.eth.CodeAt(context.Background(), a, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return code
}

// The sweeper moves nothing for anyone but its hot wallet: not sweepMany from another account,
// not sweep called on a delegated address directly. An authorization signed for another chain id
// delegates nothing here. An address delegated elsewhere is delegated back and swept.
func TestSweeperRefusesOthers(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	ctx := context.Background()
	orders := w.paidOrders(3, "5")
	// The third address is delegated first to another contract (its key used outside stablegate).
	usdt := devnet.Tokens()["USDT"]
	nobody := common.HexToAddress("0x00000000000000000000000000000000000000cc")
	if st := w.devCall(&nobody, nil, []types.SetCodeAuthorization{w.authorize(orders[2].Address, usdt, devnet.ChainID)}); st != 1 {
		t.Fatal("the outside delegation failed")
	}
	if code := w.code(common.HexToAddress(orders[2].Address)); len(code) != 23 || common.BytesToAddress(code[3:]) != usdt {
		t.Fatalf("the outside delegation: code %x", code)
	}
	plan := w.sweep(gateway.SweepRequest{Addresses: []string{orders[0].Address, orders[2].Address}})
	w.settle(w.sender("a", nil), 10)
	got, _ := w.svc.FindSweep(ctx, w.pr, plan.Sweeps[0].ID)
	if got.Status != gateway.SweepCompleted || got.Moved().Int64() != 10_000_000 {
		t.Fatalf("the sweep of a fresh and a delegated-elsewhere address: %s, moved %s, %q", got.Status, got.Moved(), got.Failure)
	}
	sweeper, err := w.svc.Store.FindSweeper(ctx, w.project, gateway.Test, "devnet")
	if err != nil || !sweeper.Deployed {
		t.Fatalf("sweeper: %+v, %v", sweeper, err)
	}
	sw := common.HexToAddress(sweeper.Address)
	// Another account calling the batch: refused.
	enc := evm.Encoder{}
	token := [20]byte(usdt)
	data := enc.SweepMany(token, [][20]byte{common.HexToAddress(orders[1].Address)}, []*big.Int{big.NewInt(5_000_000)})
	if st := w.devCall(&sw, data, nil); st != 0 {
		t.Fatal("sweepMany from another account succeeded")
	}
	// Another account calling a delegated address's sweep directly: refused.
	swept := common.HexToAddress(orders[0].Address)
	if _, err := w.chain.Transfer(ctx, "USDT", swept, big.NewInt(1_000_000)); err != nil {
		t.Fatal(err)
	}
	w.chain.Mine()
	direct := append(crypto.Keccak256([]byte("sweep(address,uint256)"))[:4], append(common.LeftPadBytes(usdt.Bytes(), 32), common.LeftPadBytes(big.NewInt(1_000_000).Bytes(), 32)...)...)
	if st := w.devCall(&swept, direct, nil); st != 0 || w.token("USDT", swept).Int64() != 1_000_000 {
		t.Fatalf("sweep called on a delegated address by another account: status %d, it holds %s", st, w.token("USDT", swept))
	}
	// An authorization for another chain id: the address stays undelegated.
	second := common.HexToAddress(orders[1].Address)
	w.devCall(&nobody, nil, []types.SetCodeAuthorization{w.authorize(orders[1].Address, sw, 999)})
	if code := w.code(second); len(code) != 0 {
		t.Fatalf("an authorization for chain 999 delegated the address: %x", code)
	}
	if w.token("USDT", second).Int64() != 5_000_000 || w.token("USDT", w.hot).Int64() != 10_000_000 {
		t.Fatalf("balances moved: %s at the address, %s in the hot wallet", w.token("USDT", second), w.token("USDT", w.hot))
	}
}

// Funds that leave an address after its sweep was made (its key used elsewhere) make the sweep
// fail before anything is signed: nothing moves, nothing is posted, and the next plan reports the
// address as holding less than the ledger says and leaves it out.
func TestSweepOfMissingFundsFailsAndMovesNothing(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	ctx := context.Background()
	orders := w.paidOrders(2, "5")
	// A sweeper of the dev wallet's own, for the theft.
	dev := crypto.PubkeyToAddress(devnet.DevKey().PublicKey)
	w.devCall(nil, evm.Encoder{}.DeploySweeper(dev), nil)
	thief := crypto.CreateAddress(dev, mustNonce(t, w, dev)-1)
	if len(w.code(thief)) == 0 {
		t.Fatal("the thief's sweeper was not deployed")
	}
	s := w.sender("a", nil)
	// The first sweep deploys our sweeper; settle it, then plan the real one.
	first := w.sweep(gateway.SweepRequest{Addresses: []string{orders[0].Address}})
	w.settle(s, 10)
	if got, _ := w.svc.FindSweep(ctx, w.pr, first.Sweeps[0].ID); got.Status != gateway.SweepCompleted {
		t.Fatalf("the first sweep: %s %q", got.Status, got.Failure)
	}
	plan := w.sweep(gateway.SweepRequest{})
	if len(plan.Sweeps) != 1 || len(plan.Sweeps[0].Legs) != 1 {
		t.Fatalf("the plan: %+v", plan.Sweeps)
	}
	usdt := devnet.Tokens()["USDT"]
	token := [20]byte(usdt)
	victim := common.HexToAddress(orders[1].Address)
	steal := evm.Encoder{}.SweepMany(token, [][20]byte{victim}, []*big.Int{big.NewInt(5_000_000)})
	if st := w.devCall(&thief, steal, []types.SetCodeAuthorization{w.authorize(orders[1].Address, thief, devnet.ChainID)}); st != 1 ||
		w.token("USDT", victim).Sign() != 0 {
		t.Fatalf("the theft: status %d, the address holds %s", st, w.token("USDT", victim))
	}
	w.settle(s, 10)
	got, _ := w.svc.FindSweep(ctx, w.pr, plan.Sweeps[0].ID)
	if got.Status != gateway.SweepFailed || got.Moved().Sign() != 0 || !strings.Contains(got.Failure, "revert") {
		t.Fatalf("the sweep of stolen funds: %s, moved %s, %q", got.Status, got.Moved(), got.Failure)
	}
	if hot, _ := w.svc.Store.HotWalletHoldings(ctx, w.project, gateway.Test, "devnet"); hot["USDT"].Int64() != 5_000_000 {
		t.Fatalf("the hot wallet's holding: %v", hot)
	}
	again := w.sweep(gateway.SweepRequest{DryRun: true})
	if len(again.Sweeps) != 0 || len(again.Differences) != 1 || again.Differences[0].OnChain.Sign() != 0 || len(again.Skipped) != 1 {
		t.Fatalf("the next plan: %+v", again)
	}
	if diffs, err := w.svc.VerifyHoldings(ctx, nil); err != nil || len(diffs) != 1 || diffs[0].Address != orders[1].Address {
		t.Fatalf("holdings against the chain: %+v, %v", diffs, err)
	}
}

func mustNonce(t *testing.T, w *sendWorld, a common.Address) uint64 {
	t.Helper()
	n, err := w.eth.NonceAt(context.Background(), a, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Twenty sweep requests at once: each address is in one sweep, the sweeper deployed once, and
// what they move is what was paid.
func TestConcurrentSweepsSweepOnce(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	ctx := context.Background()
	orders := w.paidOrders(8, "3")
	var wg sync.WaitGroup
	plans := make(chan *gateway.SweepPlan, 20)
	refused := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			plan, err := w.svc.Sweep(ctx, w.pr, gateway.SweepRequest{ChainID: "devnet"})
			if err != nil {
				refused <- err
				return
			}
			plans <- plan
		}()
	}
	wg.Wait()
	close(plans)
	close(refused)
	for err := range refused {
		if gateway.ErrorCode(err) != gateway.EConflict {
			t.Fatalf("a concurrent sweep failed otherwise: %v", err)
		}
	}
	legs := 0
	for p := range plans {
		for _, s := range p.Sweeps {
			legs += len(s.Legs)
		}
	}
	if legs != len(orders) {
		t.Fatalf("%d legs in the sweeps made, want %d (one per address)", legs, len(orders))
	}
	w.settle(w.sender("a", nil), 10)
	if b := w.token("USDT", w.hot); b.Int64() != 24_000_000 {
		t.Fatalf("the hot wallet holds %s, want 24 USDT", b)
	}
	if n := mustNonce(t, w, w.hot); n != 2 {
		t.Fatalf("the hot wallet sent %d transactions, want 2 (the sweeper, one sweep)", n)
	}
}

// Automatic sweeps take the addresses whose holding reached the chain's threshold, and leave the
// rest until they do.
func TestAutomaticSweepsAboveTheThreshold(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	ctx := context.Background()
	w.paidOrders(3, "150")
	small := w.paidOrders(2, "50")
	auto := &gateway.AutoSweeper{Service: w.svc, Holder: "a", Chains: map[string]gateway.AutoSweep{"devnet": {Interval: time.Minute, Threshold: "100"}}}
	if n := auto.RunOnce(ctx, "devnet"); n != 1 {
		t.Fatalf("automatic sweeps made: %d, want 1", n)
	}
	w.settle(w.sender("a", nil), 10)
	if b := w.token("USDT", w.hot); b.Int64() != 450_000_000 {
		t.Fatalf("the hot wallet holds %s, want the three above the threshold", b)
	}
	if n := auto.RunOnce(ctx, "devnet"); n != 0 {
		t.Fatalf("a second pass made %d sweeps of addresses below the threshold", n)
	}
	w.payAgain(small[:1], big.NewInt(60_000_000)) // 50 + 60: above it now
	if n := auto.RunOnce(ctx, "devnet"); n != 1 {
		t.Fatalf("after a payment took one above the threshold: %d sweeps", n)
	}
	w.settle(w.sender("a", nil), 10)
	if b := w.token("USDT", common.HexToAddress(small[0].Address)); b.Sign() != 0 || w.token("USDT", common.HexToAddress(small[1].Address)).Int64() != 50_000_000 {
		t.Fatalf("after the second automatic sweep: %s and %s left", b, w.token("USDT", common.HexToAddress(small[1].Address)))
	}
}

// On a chain without EIP-7702 each address is swept by a gas top-up from the hot wallet, then a
// transfer from the address, both through the sender: every address ends at 0, the hot wallet
// holds the sum, and the ledger agrees.
func TestSweepByTopUpWithoutSetCode(t *testing.T) {
	t.Parallel()
	w := newSendWorldOn(t, 1, nil, "cancun")
	ctx := context.Background()
	orders := w.paidOrders(3, "7")
	dry := w.sweep(gateway.SweepRequest{DryRun: true})
	if dry.Method != gateway.SweepTopUp || len(dry.Sweeps) != 3 || dry.NeedsSweeper || dry.Gas != 3*(21_000+gateway.TopUpTransferGas) {
		t.Fatalf("the plan without EIP-7702: %+v", dry)
	}
	plan := w.sweep(gateway.SweepRequest{})
	w.settle(w.sender("a", nil), 10)
	for _, sw := range plan.Sweeps {
		got, _ := w.svc.FindSweep(ctx, w.pr, sw.ID)
		if got.Status != gateway.SweepCompleted || got.Method != gateway.SweepTopUp || got.Moved().Int64() != 7_000_000 {
			t.Fatalf("sweep %s: %s %s, moved %s, %q", got.ID, got.Method, got.Status, got.Moved(), got.Failure)
		}
	}
	for _, o := range orders {
		if b := w.token("USDT", common.HexToAddress(o.Address)); b.Sign() != 0 {
			t.Fatalf("%s still holds %s", o.Address, b)
		}
		if code := w.code(common.HexToAddress(o.Address)); len(code) != 0 {
			t.Fatalf("%s has code %x on a chain without EIP-7702", o.Address, code)
		}
	}
	if b := w.token("USDT", w.hot); b.Int64() != 21_000_000 {
		t.Fatalf("the hot wallet holds %s", b)
	}
	txs, _ := w.svc.ListOutgoing(ctx, w.pr, gateway.OutgoingFilter{})
	if len(txs) != 6 {
		t.Fatalf("%d outgoing transactions, want 3 top-ups and 3 transfers", len(txs))
	}
	if diffs, err := w.svc.Store.VerifyLedger(ctx); err != nil || len(diffs) != 0 {
		t.Fatalf("ledger verify: %+v, %v", diffs, err)
	}
	if diffs, err := w.svc.VerifyHoldings(ctx, nil); err != nil || len(diffs) != 0 {
		t.Fatalf("holdings: %+v, %v", diffs, err)
	}
}

// With a treasury set, what a sweep brings the hot wallet above the ceiling goes on to the
// treasury in one transfer: the hot wallet keeps the ceiling, the merchant's available balance
// drops by what left, and the ledger and the chain agree.
func TestSweepAboveTheCeilingGoesToTheTreasury(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	ctx := context.Background()
	treasury := common.HexToAddress("0x000000000000000000000000000000000000dEaD")
	if _, err := w.svc.SetTreasury(ctx, w.pr, "devnet", treasury.Hex(), "10.5"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.SetTreasury(ctx, w.pr, "devnet", treasury.Hex(), "-1"); gateway.ErrorCode(err) != gateway.EInvalid {
		t.Fatalf("a negative ceiling: %v", err)
	}
	w.paidOrders(3, "5")
	w.sweep(gateway.SweepRequest{})
	w.settle(w.sender("a", nil), 12)
	if hot, tr := w.token("USDT", w.hot), w.token("USDT", treasury); hot.Int64() != 10_500_000 || tr.Int64() != 4_500_000 {
		t.Fatalf("the hot wallet holds %s and the treasury %s, want 10.5 and 4.5", hot, tr)
	}
	sends, _ := w.svc.ListOutgoing(ctx, w.pr, gateway.OutgoingFilter{Purpose: gateway.PurposeTreasury})
	if len(sends) != 1 || sends[0].Status != gateway.OutConfirmed {
		t.Fatalf("treasury transactions: %+v", sends)
	}
	bal, err := w.svc.Balances(ctx, w.pr)
	if err != nil || len(bal) != 1 || bal[0].Available.Int64() != 10_500_000 {
		t.Fatalf("balances after the treasury send: %+v, %v", bal, err)
	}
	if diffs, err := w.svc.Store.VerifyLedger(ctx); err != nil || len(diffs) != 0 {
		t.Fatalf("ledger verify: %+v, %v", diffs, err)
	}
	if diffs, err := w.svc.VerifyHoldings(ctx, nil); err != nil || len(diffs) != 0 {
		t.Fatalf("holdings: %+v, %v", diffs, err)
	}
	// The next sweep's amount goes on whole: the hot wallet is at its ceiling already.
	w.paidOrders(1, "0.5")
	w.sweep(gateway.SweepRequest{})
	w.settle(w.sender("a", nil), 12)
	if hot, tr := w.token("USDT", w.hot), w.token("USDT", treasury); hot.Int64() != 10_500_000 || tr.Int64() != 5_000_000 {
		t.Fatalf("after a second sweep the hot wallet holds %s and the treasury %s", hot, tr)
	}
}

// A user's deposit address is swept like an order's, and stays theirs: a later deposit to it is
// credited and swept again.
func TestSweepDepositAddress(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	ctx := context.Background()
	b, _, err := w.svc.BindDeposit(ctx, w.pr, "player_7", "evm", nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := common.HexToAddress(b.Address)
	for round, amount := range []int64{25_000_000, 3_000_000} {
		if _, err := w.chain.Transfer(ctx, "USDT", addr, big.NewInt(amount)); err != nil {
			t.Fatal(err)
		}
		w.chain.Mine()
		w.scanAll()
		plan := w.sweep(gateway.SweepRequest{})
		if len(plan.Sweeps) != 1 || plan.Sweeps[0].Legs[0].DepositID == "" || plan.Sweeps[0].Total().Int64() != amount {
			t.Fatalf("round %d: the plan %+v", round, plan.Sweeps)
		}
		w.settle(w.sender("a", nil), 10)
		if b := w.token("USDT", addr); b.Sign() != 0 {
			t.Fatalf("round %d: the deposit address holds %s", round, b)
		}
	}
	if b := w.token("USDT", w.hot); b.Int64() != 28_000_000 {
		t.Fatalf("the hot wallet holds %s", b)
	}
}

// A reorg that drops the block of a sweep's transaction before its confirmations: the transaction
// goes back to broadcast, is mined again, and the sweep completes once, with what it moved.
func TestSweepThroughAReorg(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 3, nil)
	ctx := context.Background()
	w.paidOrders(2, "6")
	s := w.sender("a", nil)
	plan := w.sweep(gateway.SweepRequest{})
	w.settle(s, 12) // the sweeper first
	sw, _ := w.svc.FindSweep(ctx, w.pr, plan.Sweeps[0].ID)
	if sw.Status != gateway.SweepCompleted {
		t.Fatalf("the first sweep: %s", sw.Status)
	}
	w.payAgain(w.ordersOf(sw), big.NewInt(1_000_000))
	for range 2 {
		w.chain.Mine() // the payments' confirmations
	}
	w.scanAll()
	second := w.sweep(gateway.SweepRequest{}).Sweeps[0]
	w.run(s)
	w.chain.Mine()
	w.run(s)
	if otx, _ := w.svc.Store.FindOutgoing(ctx, w.project, gateway.Test, second.OutgoingID); otx.Status != gateway.OutMined {
		t.Fatalf("before the reorg: %s", otx.Status)
	}
	if err := w.chain.Reorg(ctx, 1, true); err != nil {
		t.Fatal(err)
	}
	w.settle(s, 12)
	got, _ := w.svc.FindSweep(ctx, w.pr, second.ID)
	if got.Status != gateway.SweepCompleted || got.Moved().Int64() != 2_000_000 {
		t.Fatalf("after the reorg: %s, moved %s", got.Status, got.Moved())
	}
	otx, _ := w.svc.Store.FindOutgoing(ctx, w.project, gateway.Test, second.OutgoingID)
	notes := ""
	for _, c := range otx.History {
		notes += c.Note + "; "
	}
	if !strings.Contains(notes, "left the canonical chain") {
		t.Fatalf("the sweep's transaction did not go through a reorg: %s", notes)
	}
	if b := w.token("USDT", w.hot); b.Int64() != 14_000_000 {
		t.Fatalf("the hot wallet holds %s, want 14", b)
	}
	if diffs, err := w.svc.Store.VerifyLedger(ctx); err != nil || len(diffs) != 0 {
		t.Fatalf("ledger verify: %+v, %v", diffs, err)
	}
}

// ordersOf is the orders of a sweep's addresses, as payAgain takes them.
func (w *sendWorld) ordersOf(sw *gateway.Sweep) []*gateway.Order {
	var out []*gateway.Order
	for _, l := range sw.Legs {
		out = append(out, &gateway.Order{Address: l.Address})
	}
	return out
}

// What an attacker would try on sweeps: another project's or the other mode's key on a sweep and
// its transaction (404), another project's addresses named in a request (not swept), the wrong
// token at an order's address (never swept: it was never credited), the same request again at
// once (nothing swept twice), and dust (swept on demand for exactly what it is, left by automatic
// sweeps below the threshold).
func TestSweepsAgainstAnAttacker(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	ctx := context.Background()
	orders := w.paidOrders(2, "4")
	// USDC at the first order's USDT address: recorded as the wrong currency, never credited.
	if _, err := w.chain.Transfer(ctx, "USDC", common.HexToAddress(orders[0].Address), big.NewInt(9_000_000)); err != nil {
		t.Fatal(err)
	}
	w.chain.Mine()
	w.scanAll()

	plan := w.sweep(gateway.SweepRequest{})
	if len(plan.Sweeps) != 1 || plan.Sweeps[0].Currency != "USDT" || plan.Sweeps[0].Total().Int64() != 8_000_000 {
		t.Fatalf("the plan: %+v", plan.Sweeps)
	}
	again := w.sweep(gateway.SweepRequest{}) // the same request at once: what is in flight is held already
	if len(again.Sweeps) != 0 {
		t.Fatalf("the same request again: %+v", again.Sweeps)
	}

	other, err := w.svc.CreateProject(ctx, gateway.CreateProjectParams{Live: true, Name: "Other", Website: "https://other.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []gateway.KeyPair{other.Keys[0], other.Keys[1]} {
		pr, err := w.svc.Authenticate(ctx, k.Key)
		if err != nil {
			t.Fatal(err)
		}
		pr.SecretProven = true
		if _, err := w.svc.FindSweep(ctx, pr, plan.Sweeps[0].ID); gateway.ErrorCode(err) != gateway.ENotFound {
			t.Errorf("%s key of another project read the sweep: %v", pr.Mode, err)
		}
		if _, err := w.svc.Outgoing(ctx, pr, plan.Sweeps[0].OutgoingID); gateway.ErrorCode(err) != gateway.ENotFound {
			t.Errorf("%s key of another project read the deployment: %v", pr.Mode, err)
		}
		if pr.Mode != gateway.Test {
			continue
		}
		theirs, err := w.svc.Sweep(ctx, pr, gateway.SweepRequest{ChainID: "devnet", Addresses: []string{orders[1].Address}, DryRun: true})
		if err != nil || len(theirs.Sweeps) != 0 {
			t.Fatalf("another project's sweep of our address: %+v, %v", theirs, err)
		}
	}
	live := &gateway.Principal{Project: w.pr.Project, Mode: gateway.Live, SecretProven: true}
	if _, err := w.svc.FindSweep(ctx, live, plan.Sweeps[0].ID); gateway.ErrorCode(err) != gateway.ENotFound {
		t.Errorf("the live mode read a test sweep: %v", err)
	}

	w.settle(w.sender("a", nil), 12)
	if b := w.token("USDC", common.HexToAddress(orders[0].Address)); b.Int64() != 9_000_000 || w.token("USDC", w.hot).Sign() != 0 {
		t.Fatalf("the wrong token moved: %s left at the address, %s in the hot wallet", b, w.token("USDC", w.hot))
	}
	// Dust: one base unit more at an address.
	w.payAgain(orders[1:], big.NewInt(1))
	auto := &gateway.AutoSweeper{Service: w.svc, Holder: "a", Chains: map[string]gateway.AutoSweep{"devnet": {Interval: time.Minute, Threshold: "100"}}}
	if n := auto.RunOnce(ctx, "devnet"); n != 0 {
		t.Fatalf("an automatic sweep of dust: %d", n)
	}
	dust := w.sweep(gateway.SweepRequest{Currency: "USDT"})
	if len(dust.Sweeps) != 1 || dust.Sweeps[0].Total().Int64() != 1 {
		t.Fatalf("the dust sweep: %+v", dust.Sweeps)
	}
	w.settle(w.sender("a", nil), 12)
	if b := w.token("USDT", w.hot); b.Int64() != 8_000_001 {
		t.Fatalf("the hot wallet holds %s, want 8.000001", b)
	}
	if diffs, err := w.svc.Store.VerifyLedger(ctx); err != nil || len(diffs) != 0 {
		t.Fatalf("ledger verify: %+v, %v", diffs, err)
	}
}
