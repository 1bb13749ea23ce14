package evm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/stablegate/stablegate/internal/devnet"
	"github.com/stablegate/stablegate/internal/evm"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
	"github.com/stablegate/stablegate/internal/store/postgres"
	"github.com/stablegate/stablegate/internal/testpg"
)

// usdt is an amount of the devnet's USDT (6 decimals) in base units.
func usdt(s string) *big.Int {
	v, err := money.Parse(s, 6)
	if err != nil {
		panic(err)
	}
	return v
}

// newAddress is an address nobody holds a key of (a merchant's customer).
func newAddress() common.Address {
	return crypto.CreateAddress(common.HexToAddress("0x00000000000000000000000000000000000000bb"), uint64(time.Now().UnixNano()))
}

func (w *sendWorld) withdrawer() *gateway.Withdrawer {
	return &gateway.Withdrawer{Service: w.svc, Chains: []string{"devnet"}, Holder: "a"}
}

// funded pays orders of amount and sweeps them into the hot wallet: the project's available
// balance and the hot wallet hold it.
func (w *sendWorld) funded(n int, amount string) *evm.Sender {
	w.t.Helper()
	w.paidOrders(n, amount)
	w.sweep(gateway.SweepRequest{})
	s := w.sender("a", nil)
	w.settle(s, 10)
	return s
}

func (w *sendWorld) withdraw(in gateway.WithdrawalInput) (*gateway.Withdrawal, error) {
	w.t.Helper()
	if in.Reference == "" {
		in.Reference = gateway.NewID("ref")
	}
	if in.Currency == "" {
		in.Currency = "USDT"
	}
	in.ChainID = "devnet"
	wd, _, err := w.svc.CreateWithdrawal(context.Background(), w.pr, in)
	return wd, err
}

func (w *sendWorld) mustWithdraw(in gateway.WithdrawalInput) *gateway.Withdrawal {
	w.t.Helper()
	wd, err := w.withdraw(in)
	if err != nil {
		w.t.Fatal(err)
	}
	return wd
}

func (w *sendWorld) withdrawal(id string) *gateway.Withdrawal {
	w.t.Helper()
	wd, err := w.svc.FindWithdrawal(context.Background(), w.pr, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return wd
}

// balanceOf is the project's (or, with a reference, the deposit reference's) USDT balance on the
// devnet: available and held.
func (w *sendWorld) balanceOf(ref string) (available, held *big.Int) {
	w.t.Helper()
	var bs []gateway.Balance
	var err error
	if ref == "" {
		bs, err = w.svc.Balances(context.Background(), w.pr)
	} else {
		bs, err = w.svc.UserBalances(context.Background(), w.pr, ref)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	for _, b := range bs {
		if b.ChainID == "devnet" && b.Currency == "USDT" {
			return b.Available, b.Held
		}
	}
	return new(big.Int), new(big.Int)
}

func (w *sendWorld) wantBalance(ref, available, held string) {
	w.t.Helper()
	a, h := w.balanceOf(ref)
	if a.Cmp(usdt(available)) != 0 || h.Cmp(usdt(held)) != 0 {
		w.t.Fatalf("balance of %q: available %s held %s, want %s and %s", ref, money.Format(a, 6), money.Format(h, 6), available, held)
	}
}

// ledgerClean fails the test if the ledger disagrees with itself or with what happened.
func (w *sendWorld) ledgerClean() {
	w.t.Helper()
	diffs, err := w.svc.Store.VerifyLedger(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	for _, d := range diffs {
		w.t.Errorf("ledger difference: %+v", d)
	}
}

// events are the types of the project's events about the withdrawal, in the order of its life
// (the world's clock stands still, so the store's order cannot tell them apart).
func (w *sendWorld) events(id string) []string {
	w.t.Helper()
	evs, _, err := w.svc.ListWebhookEvents(context.Background(), w.pr, gateway.WebhookEventFilter{Page: 1, Limit: 100})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		var d struct {
			WithdrawalID string `json:"withdrawalId"`
		}
		if json.Unmarshal(e.Data, &d) == nil && d.WithdrawalID == id {
			out = append(out, e.Type)
		}
	}
	order := []string{gateway.EventWithdrawalCreated, gateway.EventWithdrawalApproved, gateway.EventWithdrawalRejected,
		gateway.EventWithdrawalBroadcast, gateway.EventWithdrawalCompleted, gateway.EventWithdrawalFailed}
	slices.SortStableFunc(out, func(a, b string) int { return slices.Index(order, a) - slices.Index(order, b) })
	return out
}

// Request → approve → mined → completed: the destination receives the amount, the hot wallet and
// the balance lose exactly it, the gas is posted to fees, every event is written once.
func TestWithdrawalRequestApproveComplete(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 2, nil)
	ctx := context.Background()
	s := w.funded(4, "25")
	w.wantBalance("", "100", "0")
	hotBefore := w.token("USDT", w.hot)
	to := newAddress()

	wd := w.mustWithdraw(gateway.WithdrawalInput{Amount: "30.5", Address: to.Hex(), Metadata: []byte(`{"invoice": 7}`)})
	if wd.Status != gateway.WithdrawalPendingApproval || wd.From != w.hot.Hex() {
		t.Fatalf("created: %+v", wd)
	}
	w.wantBalance("", "69.5", "30.5")
	// Nothing is sent before the approval.
	if n := w.withdrawer().RunOnce(ctx); n != 0 {
		t.Fatalf("the withdrawer queued %d unapproved withdrawals", n)
	}
	if _, err := w.svc.ApproveWithdrawal(ctx, w.pr, wd.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.ApproveWithdrawal(ctx, w.pr, wd.ID); gateway.ErrorCode(err) != gateway.EConflict {
		t.Fatalf("approving twice: %v", err)
	}
	if n := w.withdrawer().RunOnce(ctx); n != 1 {
		t.Fatalf("the withdrawer queued %d, want 1", n)
	}
	if n := w.withdrawer().RunOnce(ctx); n != 0 {
		t.Fatalf("a second pass queued %d more", n)
	}
	w.run(s)
	if got := w.withdrawal(wd.ID); got.Status != gateway.WithdrawalBroadcast || got.TxHash == "" {
		t.Fatalf("after the broadcast: %s %q", got.Status, got.TxHash)
	}
	if _, err := w.svc.RejectWithdrawal(ctx, w.pr, wd.ID, "too late"); gateway.ErrorCode(err) != gateway.EConflict {
		t.Fatalf("rejecting a broadcast withdrawal: %v", err)
	}
	w.settle(s, 10)

	got := w.withdrawal(wd.ID)
	if got.Status != gateway.WithdrawalCompleted || got.Fee == nil || got.Fee.Sign() <= 0 || got.GasUsed == 0 || got.CompletedAt == nil {
		t.Fatalf("completed: %+v", got)
	}
	if b := w.token("USDT", to); b.Cmp(usdt("30.5")) != 0 {
		t.Fatalf("the destination holds %s", b)
	}
	if b := w.token("USDT", w.hot); new(big.Int).Sub(hotBefore, b).Cmp(usdt("30.5")) != 0 {
		t.Fatalf("the hot wallet went from %s to %s", hotBefore, b)
	}
	w.wantBalance("", "69.5", "0")
	w.ledgerClean()
	if evs := strings.Join(w.events(wd.ID), " "); evs != "withdrawal.created withdrawal.approved withdrawal.broadcast withdrawal.completed" {
		t.Fatalf("events: %s", evs)
	}
	var sawConfirm bool
	for _, c := range got.History {
		sawConfirm = sawConfirm || strings.Contains(c.Note, "confirmed in block")
	}
	if !sawConfirm || len(got.History) < 4 {
		t.Fatalf("history: %+v", got.History)
	}
}

// Rejected, the amount is back; a rejected withdrawal can be neither approved nor rejected again;
// a withdrawal larger than the balance is refused and holds nothing; the same reference returns
// the same withdrawal, or is a conflict with another request.
func TestWithdrawalRejectAndRefusals(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	ctx := context.Background()
	w.paidOrders(2, "10")
	to := newAddress().Hex()
	wd := w.mustWithdraw(gateway.WithdrawalInput{Reference: "payout-1", Amount: "15", Address: to})
	again, created, err := w.svc.CreateWithdrawal(ctx, w.pr, gateway.WithdrawalInput{Reference: "payout-1", Amount: "15", Currency: "USDT", ChainID: "devnet", Address: to})
	if err != nil || created || again.ID != wd.ID {
		t.Fatalf("the same reference again: %v, %v, %v", again, created, err)
	}
	if _, err := w.withdraw(gateway.WithdrawalInput{Reference: "payout-1", Amount: "16", Address: to}); gateway.ErrorCode(err) != gateway.EConflict {
		t.Fatalf("the reference with another amount: %v", err)
	}
	w.wantBalance("", "5", "15")
	if _, err := w.withdraw(gateway.WithdrawalInput{Amount: "5.000001", Address: to}); gateway.ErrorCode(err) != gateway.EInsufficientFunds ||
		!strings.Contains(err.Error(), "available balance on devnet (5 USDT)") {
		t.Fatalf("over the balance: %v", err)
	}
	w.wantBalance("", "5", "15")
	r, err := w.svc.RejectWithdrawal(ctx, w.pr, wd.ID, "customer cancelled")
	if err != nil || r.Status != gateway.WithdrawalRejected || r.Reason != "customer cancelled" {
		t.Fatalf("reject: %+v, %v", r, err)
	}
	w.wantBalance("", "20", "0")
	if _, err := w.svc.ApproveWithdrawal(ctx, w.pr, wd.ID); gateway.ErrorCode(err) != gateway.EConflict || !strings.Contains(err.Error(), "rejected") {
		t.Fatalf("approving a rejected one: %v", err)
	}
	if _, err := w.svc.RejectWithdrawal(ctx, w.pr, wd.ID, ""); gateway.ErrorCode(err) != gateway.EConflict {
		t.Fatalf("rejecting twice: %v", err)
	}
	if n := w.withdrawer().RunOnce(ctx); n != 0 {
		t.Fatalf("queued %d", n)
	}
	if evs := strings.Join(w.events(wd.ID), " "); evs != "withdrawal.created withdrawal.rejected" {
		t.Fatalf("events: %s", evs)
	}
	w.ledgerClean()
}

// A user withdrawal: a deposit reference is paid, its balance pays the withdrawal, and both its
// balance and the project's are debited. The hot wallet holds nothing, so the approved withdrawal
// awaits funds, a sweep brings them, and it completes.
func TestUserWithdrawalAwaitsFundsThenCompletes(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	ctx := context.Background()
	b, _, err := w.svc.BindDeposit(ctx, w.pr, "player-7", "evm", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.chain.Transfer(ctx, "USDT", common.HexToAddress(b.Address), usdt("50")); err != nil {
		t.Fatal(err)
	}
	w.chain.Mine()
	w.scanAll()
	w.wantBalance("player-7", "50", "0")
	to := newAddress()
	if _, err := w.withdraw(gateway.WithdrawalInput{Amount: "50.5", Address: to.Hex(), DepositReference: "player-7"}); gateway.ErrorCode(err) != gateway.EInsufficientFunds ||
		!strings.Contains(err.Error(), `deposit reference "player-7"`) {
		t.Fatalf("over the user's balance: %v", err)
	}
	if _, err := w.withdraw(gateway.WithdrawalInput{Amount: "1", Address: to.Hex(), DepositReference: "nobody"}); gateway.ErrorCode(err) != gateway.ENotFound {
		t.Fatalf("an unknown reference: %v", err)
	}
	wd := w.mustWithdraw(gateway.WithdrawalInput{Amount: "20", Address: to.Hex(), DepositReference: "player-7"})
	w.wantBalance("player-7", "30", "20")
	w.wantBalance("", "30", "20")
	if _, err := w.svc.ApproveWithdrawal(ctx, w.pr, wd.ID); err != nil {
		t.Fatal(err)
	}
	wr := w.withdrawer()
	if n := wr.RunOnce(ctx); n != 0 {
		t.Fatalf("queued %d with an empty hot wallet", n)
	}
	got := w.withdrawal(wd.ID)
	if got.Status != gateway.WithdrawalAwaitingFunds || !strings.Contains(got.Waiting, "can pay 0 USDT of the 20 needed") {
		t.Fatalf("awaiting: %s %q", got.Status, got.Waiting)
	}
	sweeps, err := w.svc.Sweeps(ctx, w.pr, 10)
	if err != nil || len(sweeps) != 1 || sweeps[0].Legs[0].Address != b.Address {
		t.Fatalf("the sweep it started: %+v, %v", sweeps, err)
	}
	s := w.sender("a", nil)
	w.settle(s, 10)
	if n := wr.RunOnce(ctx); n != 1 {
		t.Fatalf("after the sweep, queued %d", n)
	}
	w.settle(s, 10)
	if got := w.withdrawal(wd.ID); got.Status != gateway.WithdrawalCompleted {
		t.Fatalf("status %s", got.Status)
	}
	if bal := w.token("USDT", to); bal.Cmp(usdt("20")) != 0 {
		t.Fatalf("the destination holds %s", bal)
	}
	w.wantBalance("player-7", "30", "0")
	w.wantBalance("", "30", "0")
	w.ledgerClean()
}

// A destination blacklisted by the token is refused; one blacklisted after the approval makes the
// transfer fail (it would revert): the withdrawal fails and its amount is released.
func TestWithdrawalBlacklistedFails(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	ctx := context.Background()
	s := w.funded(1, "40")
	listed := newAddress()
	if _, err := devnet.Blacklist(ctx, w.chain.RPCURL(), "USDT", listed, true); err != nil {
		t.Fatal(err)
	}
	w.chain.Mine()
	if _, err := w.withdraw(gateway.WithdrawalInput{Amount: "1", Address: listed.Hex()}); gateway.ErrorCode(err) != gateway.EInvalid ||
		!strings.Contains(err.Error(), "blacklisted") {
		t.Fatalf("a blacklisted destination: %v", err)
	}
	// USDC's contract is not checked (only USDT's isBlackListed is).
	later := newAddress()
	wd := w.mustWithdraw(gateway.WithdrawalInput{Amount: "15", Address: later.Hex()})
	if _, err := w.svc.ApproveWithdrawal(ctx, w.pr, wd.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := devnet.Blacklist(ctx, w.chain.RPCURL(), "USDT", later, true); err != nil {
		t.Fatal(err)
	}
	w.chain.Mine()
	if n := w.withdrawer().RunOnce(ctx); n != 1 {
		t.Fatalf("queued %d", n)
	}
	w.settle(s, 10)
	got := w.withdrawal(wd.ID)
	if got.Status != gateway.WithdrawalFailed || !strings.Contains(got.Failure, "revert") {
		t.Fatalf("failed: %s %q", got.Status, got.Failure)
	}
	w.wantBalance("", "40", "0")
	if b := w.token("USDT", w.hot); b.Cmp(usdt("40")) != 0 {
		t.Fatalf("the hot wallet holds %s", b)
	}
	if evs := strings.Join(w.events(wd.ID), " "); evs != "withdrawal.created withdrawal.approved withdrawal.failed" {
		t.Fatalf("events: %s", evs)
	}
	w.ledgerClean()
}

// The destinations a withdrawal refuses that only the gateway knows: its own addresses.
func TestWithdrawalOwnAddresses(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	ctx := context.Background()
	orders := w.paidOrders(1, "10")
	for _, a := range []string{orders[0].Address, w.hot.Hex(), strings.ToLower(w.hot.Hex())} {
		if _, err := w.withdraw(gateway.WithdrawalInput{Amount: "1", Address: a}); gateway.ErrorCode(err) != gateway.EInvalid ||
			!strings.Contains(err.Error(), "own addresses") {
			t.Fatalf("to %s: %v", a, err)
		}
	}
	if _, err := w.withdraw(gateway.WithdrawalInput{Amount: "1", Address: orders[0].Address, AllowOwnAddress: true}); err != nil {
		t.Fatalf("allowed: %v", err)
	}
	if _, err := w.withdraw(gateway.WithdrawalInput{Amount: "1", Address: devnet.Tokens()["USDC"].Hex()}); gateway.ErrorCode(err) != gateway.EInvalid {
		t.Fatalf("to a token contract: %v", err)
	}
	_ = ctx
}

// The policy: auto-approval below an amount, the daily limit (rejected withdrawals free it), the
// allowlist's cooling period on the world's clock, and two approvals by two different keys.
func TestWithdrawalPolicy(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	ctx := context.Background()
	w.paidOrders(4, "50")
	to := newAddress().Hex()
	set := func(in gateway.PolicyInput) {
		t.Helper()
		if _, err := w.svc.SetWithdrawalPolicy(ctx, w.pr, in); err != nil {
			t.Fatal(err)
		}
	}
	str := func(s string) *string { return &s }
	yes, no := true, false

	set(gateway.PolicyInput{AutoApproveBelow: str("10")})
	if wd := w.mustWithdraw(gateway.WithdrawalInput{Amount: "9.99", Address: to}); wd.Status != gateway.WithdrawalApproved ||
		len(wd.Approvals) != 1 || wd.Approvals[0].By != gateway.ApprovedByPolicy {
		t.Fatalf("below the limit: %+v", wd)
	}
	if wd := w.mustWithdraw(gateway.WithdrawalInput{Amount: "10", Address: to}); wd.Status != gateway.WithdrawalPendingApproval {
		t.Fatalf("at the limit: %s", wd.Status)
	}

	set(gateway.PolicyInput{AutoApproveBelow: str(""), DailyLimits: map[string]string{"usdt": "50"}})
	// 19.99 so far today; 30 fits, then 0.02 does not.
	first := w.mustWithdraw(gateway.WithdrawalInput{Amount: "30", Address: to})
	_, err := w.withdraw(gateway.WithdrawalInput{Amount: "0.02", Address: to})
	if gateway.ErrorCode(err) != gateway.ELimitExceeded || !strings.Contains(err.Error(), "0.01 USDT remain") {
		t.Fatalf("over the daily limit: %v", err)
	}
	if _, err := w.svc.RejectWithdrawal(ctx, w.pr, first.ID, ""); err != nil {
		t.Fatal(err)
	}
	w.mustWithdraw(gateway.WithdrawalInput{Amount: "30", Address: to})
	w.clock.Add(25 * time.Hour)
	w.mustWithdraw(gateway.WithdrawalInput{Amount: "49", Address: to}) // a new day

	set(gateway.PolicyInput{DailyLimits: map[string]string{}, Allowlist: &yes})
	if _, err := w.withdraw(gateway.WithdrawalInput{Amount: "1", Address: to}); gateway.ErrorCode(err) != gateway.EInvalid ||
		!strings.Contains(err.Error(), "not on the withdrawal allowlist") {
		t.Fatalf("not allowlisted: %v", err)
	}
	d, created, err := w.svc.AddDestination(ctx, w.pr, "", strings.ToLower(to), "treasury")
	if err != nil || !created || d.Address != to || !d.UsableAt.Equal(d.AddedAt.Add(24*time.Hour)) {
		t.Fatalf("add: %+v, %v, %v", d, created, err)
	}
	if _, err := w.withdraw(gateway.WithdrawalInput{Amount: "1", Address: to}); gateway.ErrorCode(err) != gateway.EInvalid ||
		!strings.Contains(err.Error(), "cooling period") {
		t.Fatalf("cooling: %v", err)
	}
	w.clock.Add(23 * time.Hour)
	if _, created, _ := w.svc.AddDestination(ctx, w.pr, "evm", to, "again"); created {
		t.Fatal("adding it again restarted it")
	}
	if _, err := w.withdraw(gateway.WithdrawalInput{Amount: "1", Address: to}); gateway.ErrorCode(err) != gateway.EInvalid {
		t.Fatalf("still cooling after 23 h: %v", err)
	}
	w.clock.Add(time.Hour)
	w.mustWithdraw(gateway.WithdrawalInput{Amount: "1", Address: to})
	if err := w.svc.RemoveDestination(ctx, w.pr, "", to); err != nil {
		t.Fatal(err)
	}
	if _, err := w.withdraw(gateway.WithdrawalInput{Amount: "1", Address: to}); gateway.ErrorCode(err) != gateway.EInvalid {
		t.Fatalf("removed: %v", err)
	}

	set(gateway.PolicyInput{Allowlist: &no, TwoApprovals: &yes})
	wd := w.mustWithdraw(gateway.WithdrawalInput{Amount: "2", Address: to})
	if got, err := w.svc.ApproveWithdrawal(ctx, w.pr, wd.ID); err != nil || got.Status != gateway.WithdrawalPendingApproval {
		t.Fatalf("the first approval: %+v, %v", got, err)
	}
	if _, err := w.svc.ApproveWithdrawal(ctx, w.pr, wd.ID); gateway.ErrorCode(err) != gateway.EConflict || !strings.Contains(err.Error(), "another key") {
		t.Fatalf("the same key again: %v", err)
	}
	second := w.secondKey()
	if got, err := w.svc.ApproveWithdrawal(ctx, second, wd.ID); err != nil || got.Status != gateway.WithdrawalApproved || len(got.Approvals) != 2 {
		t.Fatalf("the second key: %+v, %v", got, err)
	}
	w.ledgerClean()
}

// secondKey is another key pair of the world's project in test mode, with its secret proven.
func (w *sendWorld) secondKey() *gateway.Principal {
	w.t.Helper()
	kp, _, err := w.svc.NewCredential(context.Background(), w.project, gateway.Test)
	if err != nil {
		w.t.Fatal(err)
	}
	pr, err := w.svc.Authenticate(context.Background(), kp.Key)
	if err != nil {
		w.t.Fatal(err)
	}
	pr.SecretProven = true
	return pr
}

// On PostgreSQL, with its connections: 50 withdrawals requested at once against a balance that
// pays 33 leave exactly 33 held and the balance at 1, never below zero; 50 approvals of one
// withdrawal at once approve it once, and it is sent once.
func TestWithdrawalsAtOnceOnPostgreSQL(t *testing.T) {
	t.Parallel()
	st, err := postgres.Open(context.Background(), testpg.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := newSendWorld(t, 1, st)
	ctx := context.Background()
	s := w.funded(1, "100")
	to := newAddress().Hex()
	var wg sync.WaitGroup
	var mu sync.Mutex
	made, refused := []*gateway.Withdrawal{}, 0
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wd, err := w.withdraw(gateway.WithdrawalInput{Reference: fmt.Sprint("w-", i), Amount: "3", Address: to})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				made = append(made, wd)
			case gateway.ErrorCode(err) == gateway.EInsufficientFunds:
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(made) != 33 || refused != 17 {
		t.Fatalf("%d made, %d refused; want 33 and 17", len(made), refused)
	}
	w.wantBalance("", "1", "99")

	one := made[0]
	var approved, conflicts int
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := w.svc.ApproveWithdrawal(ctx, w.pr, one.ID)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				approved++
			case gateway.ErrorCode(err) == gateway.EConflict:
				conflicts++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if approved != 1 || conflicts != 49 {
		t.Fatalf("%d approved, %d conflicts", approved, conflicts)
	}
	// Two withdrawers of two replicas at once: one queues it.
	other := &gateway.Withdrawer{Service: w.svc, Chains: []string{"devnet"}, Holder: "b"}
	var queued [2]int
	for i, wr := range []*gateway.Withdrawer{w.withdrawer(), other} {
		wg.Add(1)
		go func() { defer wg.Done(); queued[i] = wr.RunOnce(ctx) }()
	}
	wg.Wait()
	if queued[0]+queued[1] != 1 {
		t.Fatalf("queued %v", queued)
	}
	w.settle(s, 10)
	if b := w.token("USDT", common.HexToAddress(to)); b.Cmp(usdt("3")) != 0 {
		t.Fatalf("the destination holds %s", b)
	}
	w.wantBalance("", "1", "96")
	w.ledgerClean()
}
