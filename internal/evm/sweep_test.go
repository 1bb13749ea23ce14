package evm_test

import (
	"context"
	"fmt"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

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
	w.chain.Mine()
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
		client, err := evm.NewClient([]string{w.chain.RPCURL()}, fastConfig())
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
	if diffs, err := w.svc.VerifyHoldings(ctx); err != nil || len(diffs) != 0 {
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
	diffs, err := w.svc.VerifyHoldings(ctx)
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
