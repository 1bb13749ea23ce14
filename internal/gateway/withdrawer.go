package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/money"
	"github.com/stablegate/stablegate/internal/startstop"
)

// DefaultWithdrawalInterval is how often the approved withdrawals are looked at without being
// woken (an approval wakes the withdrawer at once; a sweep that brings funds does not).
const DefaultWithdrawalInterval = 5 * time.Second

// Withdrawer queues the transactions of approved withdrawals on each chain it is given, under the
// lease "withdrawals:<chain>" (one replica decides what a hot wallet can pay): each withdrawal
// the hot wallet can pay — its token on chain, less what queued transactions will take, and its
// gas — gets one transfer, in the order they were created; one it cannot pay awaits funds, with
// the reason, and a sweep of the token is started (at most once a minute per project, chain and
// token). The chain's sender sends what it queues.
type Withdrawer struct {
	Service  *Service
	Chains   []string
	Interval time.Duration
	Holder   string
	Log      *slog.Logger
	loop     startstop.Loop
	mu       sync.Mutex
	swept    map[string]time.Time // "project/mode/chain/currency" → when a sweep was last started
}

var _ startstop.Service = (*Withdrawer)(nil)

// Start runs the withdrawer until Stop: a pass every Interval, and one at once when a withdrawal
// is approved.
func (w *Withdrawer) Start(ctx context.Context) error {
	interval := w.Interval
	if interval <= 0 {
		interval = DefaultWithdrawalInterval
	}
	return w.loop.Start(ctx, func(ctx context.Context) {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			w.RunOnce(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-w.Service.withdrawals.C():
			}
		}
	})
}

// Stop ends the loop and waits for its pass in flight.
func (w *Withdrawer) Stop() { w.loop.Stop() }

// RunOnce looks at every chain's withdrawals to send now and returns how many it queued.
func (w *Withdrawer) RunOnce(ctx context.Context) int {
	queued := 0
	for _, slug := range w.Chains {
		n, err := w.runChain(ctx, slug)
		if err != nil && ctx.Err() == nil {
			w.log().Warn("withdrawals", "chain", slug, "err", err)
		}
		queued += n
	}
	return queued
}

func (w *Withdrawer) runChain(ctx context.Context, slug string) (int, error) {
	s := w.Service
	c, ok := s.ChainRegistry().Lookup(slug)
	if !ok || c.Protocol != chain.EVM || s.Nodes == nil {
		return 0, nil
	}
	todo, err := s.Store.WithdrawalsToSend(ctx, slug, 500)
	if err != nil || len(todo) == 0 {
		return 0, err
	}
	held, err := s.AcquireLease(ctx, "withdrawals:"+slug, w.Holder, s.now(), 3*max(w.Interval, 20*time.Second))
	if err != nil || !held {
		return 0, err
	}
	base, tip, err := s.Nodes.NetworkFees(ctx, slug)
	if err != nil {
		return 0, fmt.Errorf("the network's fees: %w", err)
	}
	fees, _ := NewFees(base, tip, nil)
	gas := new(big.Int).Mul(big.NewInt(WithdrawalGas), fees.MaxFee)
	queued := 0
	wallets := map[string]*hotFunds{}
	for _, wd := range todo {
		f := wallets[wd.From]
		if f == nil {
			if f, err = w.funds(ctx, c, wd.From); err != nil {
				return queued, err
			}
			wallets[wd.From] = f
		}
		tokenLeft := f.tokens[wd.Currency]
		if tokenLeft == nil {
			raw, _ := chain.ParseAddress(chain.EVM, wd.Token)
			hot, _ := chain.ParseAddress(chain.EVM, wd.From)
			bal, err := s.Nodes.TokenBalance(ctx, slug, raw, hot)
			if err != nil {
				return queued, fmt.Errorf("the hot wallet's %s: %w", wd.Currency, err)
			}
			tokenLeft = bal.Sub(bal, bigOr0(f.inFlight[wd.Currency]))
			f.tokens[wd.Currency] = tokenLeft
		}
		tok, _ := c.Token(wd.Currency)
		var waiting string
		switch {
		case tokenLeft.Cmp(wd.Amount) < 0:
			waiting = fmt.Sprintf("the hot wallet %s can pay %s %s of the %s needed (what queued transactions will take is left out)",
				wd.From, money.Format(maxZero(tokenLeft), tok.Decimals), wd.Currency, money.Format(wd.Amount, tok.Decimals))
			if id := w.sweepFor(ctx, wd); id != "" {
				waiting += "; sweep " + id + " is bringing funds"
			}
		case f.native.Cmp(gas) < 0:
			waiting = fmt.Sprintf("the hot wallet %s holds %s %s; its transfer needs up to %s %s of gas: send %s to it",
				wd.From, money.Format(maxZero(f.native), c.NativeDecimals()), c.Native, money.Format(gas, c.NativeDecimals()), c.Native, c.Native)
		}
		if waiting != "" {
			if wd.Status == WithdrawalAwaitingFunds && wd.Waiting == waitingKey(waiting) {
				continue
			}
			if err := s.awaitFunds(ctx, wd, waiting); err != nil && !errors.Is(err, ErrChanged) {
				return queued, err
			}
			continue
		}
		if err := s.queueWithdrawal(ctx, wd); errors.Is(err, ErrChanged) {
			continue // rejected meanwhile
		} else if err != nil {
			return queued, err
		}
		tokenLeft.Sub(tokenLeft, wd.Amount)
		f.native.Sub(f.native, gas)
		queued++
	}
	return queued, nil
}

// waitingKey is a reason without the sweep it names (a sweep started again does not make the
// reason new).
func waitingKey(reason string) string {
	if i := strings.Index(reason, "; sweep "); i >= 0 {
		return reason[:i]
	}
	return reason
}

func maxZero(v *big.Int) *big.Int {
	if v.Sign() < 0 {
		return new(big.Int)
	}
	return v
}

// hotFunds is what a hot wallet can still pay in this pass.
type hotFunds struct {
	native   *big.Int
	tokens   map[string]*big.Int // on chain less in flight, read when first needed
	inFlight map[string]*big.Int
}

func (w *Withdrawer) funds(ctx context.Context, c chain.Chain, hot string) (*hotFunds, error) {
	s := w.Service
	raw, err := chain.ParseAddress(chain.EVM, hot)
	if err != nil {
		return nil, err
	}
	native, err := s.Nodes.NativeBalance(ctx, c.Slug, raw)
	if err != nil {
		return nil, fmt.Errorf("the hot wallet's %s: %w", c.Native, err)
	}
	inFlight, err := s.Store.InFlightFrom(ctx, c.Slug, hot)
	if err != nil {
		return nil, err
	}
	return &hotFunds{native: native, tokens: map[string]*big.Int{}, inFlight: inFlight}, nil
}

// sweepFor starts a sweep of the withdrawal's token on its chain into its hot wallet, at most once
// a minute per project, mode, chain and token, and returns its id ("" when none was made: nothing
// to sweep, or a sweep is in flight).
func (w *Withdrawer) sweepFor(ctx context.Context, wd *Withdrawal) string {
	key := wd.ProjectID + "/" + string(wd.Mode) + "/" + wd.ChainID + "/" + wd.Currency
	w.mu.Lock()
	if w.swept == nil {
		w.swept = map[string]time.Time{}
	}
	last, ok := w.swept[key]
	if ok && time.Since(last) < time.Minute {
		w.mu.Unlock()
		return ""
	}
	w.swept[key] = time.Now()
	w.mu.Unlock()
	s := w.Service
	p, err := s.Store.FindProject(ctx, wd.ProjectID)
	if err != nil {
		return ""
	}
	plan, err := s.Sweep(ctx, &Principal{Project: p, Mode: wd.Mode, SecretProven: true}, SweepRequest{ChainID: wd.ChainID, Currency: wd.Currency})
	if err != nil {
		if ErrorCode(err) != EConflict {
			w.log().Warn("sweep for a withdrawal", "withdrawal", wd.ID, "err", err)
		}
		return ""
	}
	if len(plan.Sweeps) == 0 {
		return ""
	}
	w.log().Info("sweep for a withdrawal", "withdrawal", wd.ID, "sweep", plan.Sweeps[0].ID, "addresses", len(plan.Sweeps[0].Legs))
	return plan.Sweeps[0].ID
}

func (w *Withdrawer) log() *slog.Logger {
	if w.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Log
}

// awaitFunds records that the hot wallet cannot pay the withdrawal now, and why.
func (s *Service) awaitFunds(ctx context.Context, wd *Withdrawal, reason string) error {
	return s.Store.InWithdrawalTx(ctx, func(tx WithdrawalTx) error {
		cur, err := tx.LockWithdrawal(ctx, wd.ProjectID, wd.Mode, wd.ID)
		if err != nil {
			return err
		}
		if cur.Status != wd.Status || cur.OutgoingID != "" {
			return ErrChanged
		}
		now := s.now()
		from := cur.Status
		cur.Status, cur.Waiting, cur.UpdatedAt = WithdrawalAwaitingFunds, waitingKey(reason), now
		return tx.Apply(ctx, &WithdrawalEffects{Saves: []WithdrawalSave{{W: cur, From: from, Change: WithdrawalChange{At: now, Status: cur.Status, Note: reason}}}})
	})
}

// queueWithdrawal queues the withdrawal's transfer from its hot wallet.
func (s *Service) queueWithdrawal(ctx context.Context, wd *Withdrawal) error {
	if s.Encoder == nil {
		return errors.New("withdrawal: no encoder")
	}
	return s.Store.InWithdrawalTx(ctx, func(tx WithdrawalTx) error {
		cur, err := tx.LockWithdrawal(ctx, wd.ProjectID, wd.Mode, wd.ID)
		if err != nil {
			return err
		}
		if cur.Status != WithdrawalApproved && cur.Status != WithdrawalAwaitingFunds || cur.OutgoingID != "" {
			return ErrChanged
		}
		now := s.now()
		to, _ := chain.ParseAddress(chain.EVM, cur.Address)
		t := &OutgoingTx{ID: NewID("otx"), ProjectID: cur.ProjectID, Mode: cur.Mode, ChainID: cur.ChainID, Purpose: PurposeWithdrawal, PurposeID: cur.ID,
			From: cur.From, To: cur.Token, Value: new(big.Int), Data: s.Encoder.TokenTransfer(to, cur.Amount), Status: OutQueued, CreatedAt: now, UpdatedAt: now}
		from := cur.Status
		cur.Status, cur.Waiting, cur.OutgoingID, cur.UpdatedAt = WithdrawalApproved, "", t.ID, now
		return tx.Apply(ctx, &WithdrawalEffects{
			Saves: []WithdrawalSave{{W: cur, From: from, Change: WithdrawalChange{At: now, Status: cur.Status, Note: "transaction " + t.ID + " queued from the hot wallet " + cur.From}}},
			Queue: []*OutgoingTx{t},
		})
	})
}

// withdrawalTxEffects are what a step of a withdrawal's transaction does to the withdrawal:
// accepted by a node (or mined) it is broadcast; confirmed with a receipt whose Transfer logs
// moved its amount from the hot wallet to its address, completed (held → external); failed, or
// confirmed without that transfer, failed with its amount released.
func (s *Service) withdrawalTxEffects(ctx context.Context, t *OutgoingTx, rc *Receipt, fx *OutgoingEffects) error {
	w, err := s.Store.WithdrawalOf(ctx, t.ID)
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if w.Status != WithdrawalApproved && w.Status != WithdrawalBroadcast {
		return nil
	}
	now := t.UpdatedAt
	from := w.Status
	wx := &WithdrawalEffects{}
	save := func(note string) {
		wx.Saves = append(wx.Saves, WithdrawalSave{W: w, From: from, Change: WithdrawalChange{At: now, Status: w.Status, Note: note}})
	}
	hash := t.TxHash
	if hash == "" && t.Current() != nil {
		hash = t.Current().Hash
	}
	switch {
	case !t.Status.Final():
		if w.Status != WithdrawalApproved || t.Status != OutBroadcast && t.Status != OutMined {
			return nil
		}
		w.Status, w.TxHash, w.UpdatedAt = WithdrawalBroadcast, hash, now
		save("transaction " + hash + " accepted by a node")
		wx.Events = append(wx.Events, s.withdrawalEvent(w, EventWithdrawalBroadcast))
	case t.Status == OutConfirmed && rc != nil && transferred(rc, w.Token, w.From, w.Address).Cmp(w.Amount) == 0:
		w.Status, w.TxHash, w.GasUsed, w.Fee, w.UpdatedAt, w.CompletedAt = WithdrawalCompleted, t.TxHash, t.GasUsed, t.Fee(), now, &now
		save(fmt.Sprintf("confirmed in block %d", t.BlockNumber))
		wx.Postings = append(wx.Postings, s.withdrawalPosting(w, AccountHeld, AccountExternal, "withdrawn", now))
		wx.Events = append(wx.Events, s.withdrawalEvent(w, EventWithdrawalCompleted))
	default:
		reason := t.Failure
		if t.Status == OutConfirmed {
			reason = "its transaction " + t.TxHash + " was confirmed but its receipt shows no transfer of the amount to the address"
		}
		w.Status, w.Failure, w.UpdatedAt, w.CompletedAt = WithdrawalFailed, reason, now, &now
		w.TxHash, w.GasUsed, w.Fee = t.TxHash, t.GasUsed, t.Fee()
		save("failed: " + reason + "; the amount is released")
		wx.Postings = append(wx.Postings, s.withdrawalPosting(w, AccountHeld, AccountAvailable, "released", now))
		wx.Events = append(wx.Events, s.withdrawalEvent(w, EventWithdrawalFailed))
	}
	fx.Withdrawals = wx
	return nil
}

// transferred sums the token's Transfer logs of the receipt from one address to another.
func transferred(rc *Receipt, token, from, to string) *big.Int {
	sum := new(big.Int)
	tok, _ := chain.ParseAddress(chain.EVM, token)
	f, _ := chain.ParseAddress(chain.EVM, from)
	d, _ := chain.ParseAddress(chain.EVM, to)
	for _, l := range rc.Logs {
		if l.Contract != tok || len(l.Topics) != 3 || l.Topics[0] != TransferTopic || len(l.Data) != 32 {
			continue
		}
		if [20]byte(l.Topics[1][12:]) == f && [20]byte(l.Topics[2][12:]) == d {
			sum.Add(sum, new(big.Int).SetBytes(l.Data))
		}
	}
	return sum
}

// signal wakes one waiter; notifying it while nobody waits keeps one wake-up.
type signal struct {
	once sync.Once
	ch   chan struct{}
}

// C is the channel a waiter receives from.
func (g *signal) C() chan struct{} {
	g.once.Do(func() { g.ch = make(chan struct{}, 1) })
	return g.ch
}

func (g *signal) notify() {
	select {
	case g.C() <- struct{}{}:
	default:
	}
}

// wakeWithdrawals tells the withdrawer that a withdrawal was approved.
func (s *Service) wakeWithdrawals() { s.withdrawals.notify() }
