package evm_test

import (
	"context"
	"crypto/ecdsa"
	"io"
	"log/slog"
	"math/big"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/devnet"
	"github.com/stablegate/stablegate/internal/evm"
	"github.com/stablegate/stablegate/internal/evm/evmtest"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/store/postgres"
	"github.com/stablegate/stablegate/internal/store/sqlite"
	"github.com/stablegate/stablegate/internal/testpg"
)

// clock is a test's time, moved by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// sendWorld is a devnet behind a fault proxy, a gateway on SQLite with a project whose seed it
// holds, and that project's hot wallet on the devnet, funded with ETH.
type sendWorld struct {
	t       *testing.T
	chain   *devnet.Chain
	proxy   *evmtest.Proxy
	eth     *ethclient.Client
	svc     *gateway.Service
	project string
	pr      *gateway.Principal // the project's test key, with its secret
	scanner *evm.Scanner
	hot     common.Address
	clock   *clock
	rule    chain.Chain
}

func newSendWorld(t *testing.T, confirmations int, st gateway.Store) *sendWorld {
	t.Helper()
	return newSendWorldOn(t, confirmations, st, "")
}

// newSendWorldOn is newSendWorld on a devnet of the fork's rules ("cancun": without EIP-7702, and
// the registry says so).
func newSendWorldOn(t *testing.T, confirmations int, st gateway.Store, fork string) *sendWorld {
	t.Helper()
	c, err := devnet.Start(devnet.Config{Fork: fork})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	proxy, err := evmtest.Start(c.RPCURL(), evmtest.Faults{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	if st == nil {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "send.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		st = s
	}
	kr, err := gateway.NewKeyring(make([]byte, gateway.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := chain.Builtin().Configure("devnet", confirmations, "none")
	if err != nil {
		t.Fatal(err)
	}
	if fork == "cancun" {
		if reg, err = reg.WithoutSetCode("devnet"); err != nil {
			t.Fatal(err)
		}
	}
	clk := &clock{now: time.Now().UTC()}
	svc := &gateway.Service{Store: st, Keyring: kr, Registry: reg, Now: clk.Now, Chains: []string{"devnet"}}
	cp, err := svc.CreateProject(context.Background(), gateway.CreateProjectParams{Live: true, Name: "Shop", Website: "https://shop.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	hot, err := svc.HotWalletAddress(context.Background(), cp.Project.ID, gateway.Test, "devnet")
	if err != nil {
		t.Fatal(err)
	}
	eth, err := ethclient.Dial(c.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eth.Close)
	pr, err := svc.Authenticate(context.Background(), cp.Keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	pr.SecretProven = true
	nodes, err := evm.NewClient([]string{c.RPCURL()}, sendConfig())
	if err != nil {
		t.Fatal(err)
	}
	svc.Nodes, svc.Encoder = evm.Nodes{"devnet": nodes}, evm.Encoder{}
	rule, _ := reg.Lookup("devnet")
	w := &sendWorld{t: t, chain: c, proxy: proxy, eth: eth, svc: svc, project: cp.Project.ID, pr: pr, hot: common.HexToAddress(hot), clock: clk,
		rule: rule}
	w.sendETH(devnet.DevKey(), w.hot, ether(10), nil)
	w.chain.Mine()
	return w
}

func ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

// sendETH sends wei from key to to outside the sender (at nonce, or the next one), and returns
// the transaction.
func (w *sendWorld) sendETH(priv *ecdsa.PrivateKey, to common.Address, wei *big.Int, nonce *uint64) *types.Transaction {
	w.t.Helper()
	ctx := context.Background()
	from := crypto.PubkeyToAddress(priv.PublicKey)
	n, err := w.eth.PendingNonceAt(ctx, from)
	if err != nil {
		w.t.Fatal(err)
	}
	if nonce != nil {
		n = *nonce
	}
	head, err := w.eth.HeaderByNumber(ctx, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	fee := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), big.NewInt(1e9))
	tx, err := types.SignTx(types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(int64(devnet.ChainID)), Nonce: n, GasTipCap: big.NewInt(1e9),
		GasFeeCap: fee, Gas: 21000, To: &to, Value: wei}), types.LatestSignerForChainID(big.NewInt(int64(devnet.ChainID))), priv)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.eth.SendTransaction(ctx, tx); err != nil {
		w.t.Fatal(err)
	}
	return tx
}

func TestMain(m *testing.M) { testpg.Main(m) }

// sender is a sender of the world's chain through its proxy, on the world's clock.
func (w *sendWorld) sender(holder string, svc *gateway.Service) *evm.Sender {
	w.t.Helper()
	client, err := evm.NewClient([]string{w.proxy.URL()}, sendConfig())
	if err != nil {
		w.t.Fatal(err)
	}
	if svc == nil {
		svc = w.svc
	}
	return &evm.Sender{Chain: w.rule, Client: client, Gateway: svc, Now: w.clock.Now, Holder: holder,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Policy: gateway.SendPolicy{RebroadcastEvery: 30 * time.Second, ReplaceAfter: 3 * time.Minute}}
}

// queue queues n payments of (i+1) × 0.001 ETH from the hot wallet, each to a new address.
func (w *sendWorld) queue(n int) []*gateway.OutgoingTx {
	w.t.Helper()
	var txs []*gateway.OutgoingTx
	for i := range n {
		to := crypto.CreateAddress(common.HexToAddress("0x00000000000000000000000000000000000000aa"), uint64(time.Now().UnixNano())+uint64(i))
		txs = append(txs, &gateway.OutgoingTx{ProjectID: w.project, Mode: gateway.Test, ChainID: "devnet", Purpose: "test",
			From: w.hot.Hex(), To: to.Hex(), Value: big.NewInt(int64(i+1) * 1e15)})
	}
	if err := w.svc.QueueOutgoing(context.Background(), txs...); err != nil {
		w.t.Fatal(err)
	}
	return txs
}

func (w *sendWorld) find(id string) *gateway.OutgoingTx {
	w.t.Helper()
	t, err := w.svc.Store.FindOutgoing(context.Background(), w.project, gateway.Test, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return t
}

func (w *sendWorld) run(s *evm.Sender) {
	w.t.Helper()
	if err := s.RunOnce(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

func (w *sendWorld) balance(a common.Address) *big.Int {
	w.t.Helper()
	b, err := w.eth.BalanceAt(context.Background(), a, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func (w *sendWorld) nonce(a common.Address) uint64 {
	w.t.Helper()
	n, err := w.eth.NonceAt(context.Background(), a, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

func statuses(t *gateway.OutgoingTx) string {
	var s []string
	for _, c := range t.History {
		s = append(s, string(c.Status))
	}
	return strings.Join(s, " ")
}

func TestSenderSignsStoresBroadcastsAndConfirms(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 2, nil)
	s := w.sender("a", nil)
	txs := w.queue(3)
	w.run(s)
	for i, q := range txs {
		got := w.find(q.ID)
		if got.Status != gateway.OutBroadcast || got.Nonce != uint64(i) || len(got.Attempts) != 1 || got.Attempts[0].BroadcastAt.IsZero() {
			t.Fatalf("tx %d after a run: %s nonce %d, %d attempts", i, got.Status, got.Nonce, len(got.Attempts))
		}
		if got.GasLimit < 21000 || got.Attempts[0].Fees.MaxFee.Sign() <= 0 {
			t.Fatalf("tx %d: gas %d, fees %+v", i, got.GasLimit, got.Attempts[0].Fees)
		}
	}
	block := w.chain.Mine()
	w.run(s)
	for _, q := range txs {
		if got := w.find(q.ID); got.Status != gateway.OutMined || got.BlockHash != block.Hex() || got.GasUsed != 21000 || got.Fee().Sign() <= 0 {
			t.Fatalf("after its block: %s in %s, gas %d", got.Status, got.BlockHash, got.GasUsed)
		}
	}
	w.run(s) // one confirmation of two: still mined
	if got := w.find(txs[0].ID); got.Status != gateway.OutMined {
		t.Fatalf("with 1 of 2 confirmations: %s", got.Status)
	}
	w.chain.Mine()
	w.run(s)
	w.run(s) // and nothing more happens after
	for i, q := range txs {
		got := w.find(q.ID)
		if got.Status != gateway.OutConfirmed || statuses(got) != "queued signed broadcast mined confirmed" {
			t.Fatalf("tx %d: %s, history %q", i, got.Status, statuses(got))
		}
		if b := w.balance(common.HexToAddress(q.To)); b.Cmp(q.Value) != 0 {
			t.Fatalf("tx %d: the recipient holds %s wei, want %s", i, b, q.Value)
		}
	}
	if n := w.nonce(w.hot); n != 3 {
		t.Fatalf("the hot wallet sent %d transactions, want 3", n)
	}
}

// A crash between signing and broadcasting, then between broadcasting and the receipt: the
// restarted sender (another holder, once the lease ran out) sends what was stored — the same
// signed transaction, not a new one — and follows it to the end.
func TestSenderRestartFinishesWhatACrashLeft(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	ctx, crash := context.WithCancel(context.Background())
	a := w.sender("a", nil)
	a.AfterSign = func(*gateway.OutgoingTx) { crash() }
	q := w.queue(1)[0]
	if err := a.RunOnce(ctx); err == nil {
		t.Fatal("the crashed run returned no error")
	}
	stored := w.find(q.ID)
	if stored.Status != gateway.OutSigned || len(stored.Attempts) != 1 || w.nonce(w.hot) != 0 {
		t.Fatalf("after a crash before broadcast: %s, %d attempts", stored.Status, len(stored.Attempts))
	}
	if n, _ := w.eth.PendingNonceAt(context.Background(), w.hot); n != 0 {
		t.Fatalf("the node has %d pending transactions of the hot wallet: something was broadcast", n)
	}
	b := w.sender("b", nil)
	w.run(b) // a's lease still holds: b does nothing
	if got := w.find(q.ID); got.Status != gateway.OutSigned {
		t.Fatalf("another sender acted under a's lease: %s", got.Status)
	}
	w.clock.Add(31 * time.Second)
	w.run(b)
	got := w.find(q.ID)
	if got.Status != gateway.OutBroadcast || len(got.Attempts) != 1 || got.Attempts[0].Hash != stored.Attempts[0].Hash {
		t.Fatalf("after the restart: %s, %d attempts, %s (stored %s)", got.Status, len(got.Attempts), got.Current().Hash, stored.Attempts[0].Hash)
	}
	// b dies after broadcasting; c takes over and finds the receipt.
	w.chain.Mine()
	w.clock.Add(31 * time.Second)
	c := w.sender("c", nil)
	w.run(c)
	w.run(c)
	if got = w.find(q.ID); got.Status != gateway.OutConfirmed || got.TxHash != stored.Attempts[0].Hash {
		t.Fatalf("after the second restart: %s %s", got.Status, got.TxHash)
	}
	if w.nonce(w.hot) != 1 || w.balance(common.HexToAddress(q.To)).Cmp(q.Value) != 0 {
		t.Fatalf("the hot wallet sent %d transactions; the recipient holds %s", w.nonce(w.hot), w.balance(common.HexToAddress(q.To)))
	}
}

// A restarted sender sends again at once what an earlier run stored as sent: the node may have
// lost it while the process was down.
func TestSenderRebroadcastsAtStart(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	w.proxy.Set(evmtest.Faults{LoseSends: true})
	q := w.queue(1)[0]
	w.run(w.sender("a", nil))
	w.proxy.Set(evmtest.Faults{})
	w.clock.Add(time.Second)  // well within the rebroadcast interval
	w.run(w.sender("a", nil)) // the same host, restarted
	w.chain.Mine()
	restarted := w.sender("a", nil)
	w.run(restarted)
	w.run(restarted)
	if got := w.find(q.ID); got.Status != gateway.OutConfirmed || w.proxy.Lost() != 1 {
		t.Fatalf("after a restart: %s, %d sends lost", got.Status, w.proxy.Lost())
	}
}

func TestSenderRebroadcastsWhatANodeDropped(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	s := w.sender("a", nil)
	w.proxy.Set(evmtest.Faults{LoseSends: true})
	q := w.queue(1)[0]
	w.run(s)
	w.chain.Mine()
	w.clock.Add(10 * time.Second)
	w.run(s)
	if got := w.find(q.ID); got.Status != gateway.OutBroadcast || w.proxy.Lost() != 1 {
		t.Fatalf("a lost transaction: %s, %d sends lost", got.Status, w.proxy.Lost())
	}
	w.proxy.Set(evmtest.Faults{})
	w.clock.Add(20 * time.Second) // 30 s after it was sent
	w.run(s)
	w.chain.Mine()
	w.run(s)
	w.run(s)
	got := w.find(q.ID)
	if got.Status != gateway.OutConfirmed || len(got.Attempts) != 1 || got.TxHash != got.Attempts[0].Hash {
		t.Fatalf("after the rebroadcast: %s, %d attempts", got.Status, len(got.Attempts))
	}
}

func TestSenderReplacesWhatStaysUnmined(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	s := w.sender("a", nil)
	w.proxy.Set(evmtest.Faults{LoseSends: true}) // the first attempt never reaches a node
	q := w.queue(1)[0]
	w.run(s)
	w.proxy.Set(evmtest.Faults{})
	w.clock.Add(3 * time.Minute)
	w.run(s)
	got := w.find(q.ID)
	if len(got.Attempts) != 2 || got.Attempts[0].Hash == got.Attempts[1].Hash {
		t.Fatalf("after 3 minutes unmined: %d attempts", len(got.Attempts))
	}
	first, second := got.Attempts[0].Fees, got.Attempts[1].Fees
	if minFee := new(big.Int).Div(new(big.Int).Mul(first.MaxFee, big.NewInt(110)), big.NewInt(100)); second.MaxFee.Cmp(minFee) < 0 ||
		second.TipCap.Cmp(new(big.Int).Div(new(big.Int).Mul(first.TipCap, big.NewInt(110)), big.NewInt(100))) < 0 {
		t.Fatalf("the replacement's fees %+v are not 10 %% above %+v", second, first)
	}
	w.chain.Mine()
	w.run(s)
	w.run(s)
	if got = w.find(q.ID); got.Status != gateway.OutConfirmed || got.TxHash != got.Attempts[1].Hash || got.Nonce != 0 {
		t.Fatalf("replaced: %s, mined %s", got.Status, got.TxHash)
	}
	if w.nonce(w.hot) != 1 || w.balance(common.HexToAddress(q.To)).Cmp(q.Value) != 0 {
		t.Fatalf("the hot wallet sent %d transactions", w.nonce(w.hot))
	}
	if !strings.Contains(got.History[len(got.History)-3].Note+got.History[len(got.History)-4].Note, "replaced") {
		t.Fatalf("the history does not say it was replaced: %+v", got.History)
	}
}

// A replacement the fee cap leaves no room for is not signed: the one sent stays, and is sent
// again.
func TestSenderSendsNoReplacementBelowTheBump(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	s := w.sender("a", nil)
	head, err := w.eth.HeaderByNumber(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.MaxFee = new(big.Int).Add(head.BaseFee, big.NewInt(1e9)) // below twice the base fee plus the tip: the cap binds
	w.proxy.Set(evmtest.Faults{LoseSends: true})
	q := w.queue(1)[0]
	w.run(s)
	if got := w.find(q.ID); got.Current().Fees.MaxFee.Cmp(s.MaxFee) != 0 {
		t.Fatalf("max fee %s, want the cap %s", got.Current().Fees.MaxFee, s.MaxFee)
	}
	w.clock.Add(3 * time.Minute)
	w.run(s)
	if got := w.find(q.ID); len(got.Attempts) != 1 || w.proxy.Lost() != 2 {
		t.Fatalf("at the cap: %d attempts, %d sends (want 1 attempt, sent again)", len(got.Attempts), w.proxy.Lost())
	}
}

func TestSenderRevertedIsFailedAndWouldRevertIsNotSent(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 1, nil)
	s := w.sender("a", nil)
	usdt := devnet.Tokens()["USDT"]
	to := common.HexToAddress("0x00000000000000000000000000000000000000bb")
	data := append(common.FromHex("0xa9059cbb"), append(common.LeftPadBytes(to.Bytes(), 32), common.LeftPadBytes(big.NewInt(5_000_000).Bytes(), 32)...)...)
	// The hot wallet holds no USDT: the transfer reverts. With its gas fixed, it is signed and mined.
	fixed := &gateway.OutgoingTx{ProjectID: w.project, Mode: gateway.Test, ChainID: "devnet", Purpose: "test", From: w.hot.Hex(), To: usdt.Hex(), Data: data, GasLimit: 100_000}
	// Estimated, the estimate says it would revert: nothing is signed.
	estimated := &gateway.OutgoingTx{ProjectID: w.project, Mode: gateway.Test, ChainID: "devnet", Purpose: "test", From: w.hot.Hex(), To: usdt.Hex(), Data: data}
	if err := w.svc.QueueOutgoing(context.Background(), fixed); err != nil {
		t.Fatal(err)
	}
	w.run(s)
	if err := w.svc.QueueOutgoing(context.Background(), estimated); err != nil {
		t.Fatal(err)
	}
	w.run(s)
	if got := w.find(estimated.ID); got.Status != gateway.OutFailed || len(got.Attempts) != 0 || !strings.Contains(got.Failure, "would revert") {
		t.Fatalf("a transaction that would revert: %s, %d attempts, %q", got.Status, len(got.Attempts), got.Failure)
	}
	w.chain.Mine()
	w.run(s)
	w.run(s)
	got := w.find(fixed.ID)
	if got.Status != gateway.OutFailed || !strings.Contains(got.Failure, "status 0") || got.GasUsed == 0 || got.Fee().Sign() <= 0 {
		t.Fatalf("a reverted transaction: %s, %q, gas %d", got.Status, got.Failure, got.GasUsed)
	}
	if n := w.nonce(w.hot); n != 1 {
		t.Fatalf("the hot wallet sent %d transactions, want 1 (the reverted one)", n)
	}
	next := w.queue(1)[0]
	w.run(s)
	if got := w.find(next.ID); got.Nonce != 1 {
		t.Fatalf("the next transaction has nonce %d, want 1 (no gap for the one never signed)", got.Nonce)
	}
}

func TestSenderSendsAgainWhenAReorgDropsItsBlock(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 3, nil)
	s := w.sender("a", nil)
	q := w.queue(1)[0]
	w.run(s)
	w.chain.Mine()
	w.run(s)
	first := w.find(q.ID)
	if first.Status != gateway.OutMined {
		t.Fatalf("before the reorg: %s", first.Status)
	}
	if err := w.chain.Reorg(context.Background(), 1, true); err != nil {
		t.Fatal(err)
	}
	w.run(s) // no receipt any more: back to broadcast, sent again
	if got := w.find(q.ID); got.Status != gateway.OutBroadcast || !strings.Contains(got.History[len(got.History)-1].Note, "left the canonical chain") {
		t.Fatalf("after the reorg: %s, %+v", got.Status, got.History)
	}
	w.chain.Mine()
	w.run(s)
	w.chain.Mine()
	w.chain.Mine()
	w.run(s)
	got := w.find(q.ID)
	if got.Status != gateway.OutConfirmed || got.BlockHash == first.BlockHash || len(got.Attempts) != 1 {
		t.Fatalf("after the reorg and 3 blocks: %s in %s (first %s)", got.Status, got.BlockHash, first.BlockHash)
	}
	if w.nonce(w.hot) != 1 || w.balance(common.HexToAddress(q.To)).Cmp(q.Value) != 0 {
		t.Fatalf("sent %d, recipient holds %s", w.nonce(w.hot), w.balance(common.HexToAddress(q.To)))
	}
}

// The hot wallet's seed used outside stablegate takes a stored transaction's nonce: that
// transaction can never be mined, and fails saying so; the next one takes the next nonce.
func TestSenderNonceTakenOutsideFails(t *testing.T) {
	t.Parallel()
	w := newSendWorld(t, 2, nil)
	s := w.sender("a", nil)
	w.proxy.Set(evmtest.Faults{LoseSends: true})
	q := w.queue(1)[0]
	w.run(s)
	w.proxy.Set(evmtest.Faults{})
	key, err := w.svc.SigningKey(context.Background(), w.find(q.ID))
	if err != nil {
		t.Fatal(err)
	}
	zero := uint64(0)
	w.sendETH(key, common.HexToAddress("0x00000000000000000000000000000000000000cc"), big.NewInt(1), &zero)
	w.chain.Mine()
	w.run(s) // one block deep: not yet final there
	if got := w.find(q.ID); got.Status != gateway.OutBroadcast {
		t.Fatalf("with the other transaction 1 block deep: %s", got.Status)
	}
	w.chain.Mine()
	w.run(s)
	got := w.find(q.ID)
	if got.Status != gateway.OutFailed || !strings.Contains(got.Failure, "nonce 0") {
		t.Fatalf("nonce taken: %s %q", got.Status, got.Failure)
	}
	next := w.queue(1)[0]
	w.run(s)
	if got := w.find(next.ID); got.Nonce != 1 || got.Status != gateway.OutBroadcast {
		t.Fatalf("the next transaction: nonce %d, %s", got.Nonce, got.Status)
	}
}

// Two senders, each with its own connections to one PostgreSQL database, race for the hot
// wallet; the one that lost then takes over when the other stops. Nonces are gapless and never
// reused, and every transaction is mined once.
func TestTwoSendersOnePostgreSQL(t *testing.T) {
	t.Parallel()
	dsn := testpg.DSN(t)
	open := func() *gateway.Service {
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return &gateway.Service{Store: st}
	}
	first := open()
	w := newSendWorld(t, 1, first.Store)
	other := open()
	other.Keyring, other.Registry, other.Now, other.Chains = w.svc.Keyring, w.svc.Registry, w.svc.Now, w.svc.Chains
	var signedMu sync.Mutex
	signed := map[string]int{}
	count := func(s *evm.Sender) *evm.Sender {
		s.AfterSign = func(*gateway.OutgoingTx) { signedMu.Lock(); signed[s.Holder]++; signedMu.Unlock() }
		return s
	}
	a, b := count(w.sender("a", nil)), count(w.sender("b", other))
	txs := w.queue(10)
	for range 4 {
		var wg sync.WaitGroup
		for _, s := range []*evm.Sender{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.RunOnce(context.Background()); err != nil {
					t.Log(err)
				}
			}()
		}
		wg.Wait()
		w.chain.Mine()
	}
	winner, loser := a, b
	if signed["b"] > 0 {
		winner, loser = b, a
	}
	if signed[loser.Holder] != 0 || signed[winner.Holder] != 10 {
		t.Fatalf("signatures while both ran: %v", signed)
	}
	txs = append(txs, w.queue(10)...)
	w.clock.Add(31 * time.Second) // the winner stopped: its lease runs out
	for range 4 {
		w.run(loser)
		w.chain.Mine()
	}
	if signed[loser.Holder] != 10 {
		t.Fatalf("signatures after the takeover: %v", signed)
	}
	nonces := map[uint64]bool{}
	for _, q := range txs {
		got := w.find(q.ID)
		if got.Status != gateway.OutConfirmed || nonces[got.Nonce] {
			t.Fatalf("%s: %s, nonce %d (seen: %v)", q.ID, got.Status, got.Nonce, nonces[got.Nonce])
		}
		nonces[got.Nonce] = true
		if b := w.balance(common.HexToAddress(q.To)); b.Cmp(q.Value) != 0 {
			t.Fatalf("%s: the recipient holds %s, want %s", q.ID, b, q.Value)
		}
	}
	for n := range uint64(20) {
		if !nonces[n] {
			t.Fatalf("nonce %d is missing: %v", n, nonces)
		}
	}
	if w.nonce(w.hot) != 20 {
		t.Fatalf("the hot wallet sent %d transactions, want 20", w.nonce(w.hot))
	}
}
