package evm

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/startstop"
)

// Sender carries out one chain's outgoing transactions (gateway.OutgoingTx): it signs the queued
// ones, broadcasts them, follows them to their receipts and confirmations, rebroadcasts what a
// node dropped, replaces what stays unmined with higher fees, and takes a reorged one back to
// broadcast. The rules are the domain's (OutgoingTx.Next, NewFees, BumpFees); the sender talks to
// the node and stores each step through the Gateway.
//
// Each sending address has one nonce owner: the holder of its lease "sender:<chain>:<address>".
// A nonce is assigned under the lease, and the signed transaction is stored with it — in the
// transaction that checks the lease and that the nonce is free — before it is broadcast. A crash
// at any point leaves rows from which the next run (this process restarted, or another replica)
// goes on: a signed transaction that no node has is broadcast, one in flight is followed.
type Sender struct {
	Chain   chain.Chain
	Client  *Client
	Gateway gateway.Sending
	Log     *slog.Logger
	Now     func() time.Time
	// Interval between runs (default 2 s).
	Interval time.Duration
	// Policy says when an unmined transaction is sent again and when it is replaced (defaults:
	// every 30 s, and after 3 minutes).
	Policy gateway.SendPolicy
	// MaxFee caps the max fee per gas of every transaction on the chain, in wei (nil: no cap).
	MaxFee *big.Int
	// InFlight bounds the signed, unconfirmed transactions of one address (default 16, what
	// go-ethereum's pool keeps per account).
	InFlight int
	// Holder names this process for the leases (default: random); LeaseTTL is how long a lease
	// lasts unrenewed (default 30 s, at least 3 intervals).
	Holder   string
	LeaseTTL time.Duration
	// AfterSign, when set, is called after a transaction is signed and stored, before it is
	// broadcast (tests stop the sender there, as a crash would).
	AfterSign func(t *gateway.OutgoingTx)

	loop     startstop.Loop
	initOnce sync.Once
	initErr  error
	signer   types.Signer
	// sent are the transactions this process broadcast: one stored as broadcast by an earlier
	// run (before a restart) is sent again at once, whatever the rebroadcast interval.
	sentMu sync.Mutex
	sent   map[string]bool
}

func (s *Sender) init(ctx context.Context) error {
	s.initOnce.Do(func() {
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.Log == nil {
			s.Log = slog.Default()
		}
		if s.Interval <= 0 {
			s.Interval = 2 * time.Second
		}
		if s.Policy.RebroadcastEvery <= 0 {
			s.Policy.RebroadcastEvery = 30 * time.Second
		}
		if s.Policy.ReplaceAfter <= 0 {
			s.Policy.ReplaceAfter = 3 * time.Minute
		}
		if s.InFlight <= 0 {
			s.InFlight = 16
		}
		if s.LeaseTTL <= 0 {
			s.LeaseTTL = 30 * time.Second
		}
		s.LeaseTTL = max(s.LeaseTTL, 3*s.Interval)
		if s.Holder == "" {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			s.Holder = "sender-" + hex.EncodeToString(b)
		}
		s.signer = types.LatestSignerForChainID(new(big.Int).SetUint64(s.Chain.ChainID))
	})
	if s.initErr != nil {
		return s.initErr
	}
	id, err := s.Client.ChainID(ctx)
	if err != nil {
		return fmt.Errorf("sender %s: chain id: %w", s.Chain.Slug, err)
	}
	if id != s.Chain.ChainID {
		s.initErr = fmt.Errorf("sender %s: the node is of chain %d, not %d: nothing is signed for it", s.Chain.Slug, id, s.Chain.ChainID)
		return s.initErr
	}
	return nil
}

// Start runs the sender (Run) in the background until Stop.
func (s *Sender) Start(ctx context.Context) error { return s.loop.Start(ctx, s.Run) }

// Stop ends the sender and waits for its run in flight.
func (s *Sender) Stop() { s.loop.Stop() }

// Run carries out the chain's transactions until ctx ends; a failing run is logged and the next
// one retries.
func (s *Sender) Run(ctx context.Context) {
	var failing failureLog
	for {
		err := s.RunOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		failing.note(s.Log, s.Chain.Slug, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.Interval):
		}
	}
}

// leaseName is the lease of a sending address on the chain.
func (s *Sender) leaseName(from string) string {
	return "sender:" + s.Chain.Slug + ":" + strings.ToLower(from)
}

// RunOnce takes one step with every unfinished transaction of the chain whose address's lease
// this sender holds (or takes).
func (s *Sender) RunOnce(ctx context.Context) error {
	if err := s.init(ctx); err != nil {
		return err
	}
	txs, err := s.Gateway.UnfinishedOutgoing(ctx, s.Chain.Slug)
	if err != nil || len(txs) == 0 {
		return err
	}
	var errs []error
	for len(txs) > 0 {
		n := 1
		for n < len(txs) && strings.EqualFold(txs[n].From, txs[0].From) {
			n++
		}
		if err := s.address(ctx, txs[0].From, txs[:n]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", txs[0].From, err))
		}
		txs = txs[n:]
	}
	return errors.Join(errs...)
}

// address steps the transactions of one sending address: signed ones by nonce, then queued ones.
func (s *Sender) address(ctx context.Context, from string, txs []*gateway.OutgoingTx) error {
	lease := s.leaseName(from)
	held, err := s.Gateway.AcquireLease(ctx, lease, s.Holder, s.Now(), s.LeaseTTL)
	if err != nil || !held {
		return err // another replica sends for it
	}
	head, err := s.Client.BlockNumber(ctx)
	if err != nil {
		return err
	}
	var finalized uint64
	if s.Chain.FinalityTag != "" {
		h, err := s.Client.HeaderByTag(ctx, s.Chain.FinalityTag)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%s block: %w", s.Chain.FinalityTag, err)
		}
		if h != nil {
			finalized = h.Number
		}
	}
	addr := common.HexToAddress(from)
	mined, err := s.Client.NonceAt(ctx, addr, "latest")
	if err != nil {
		return err
	}
	inFlight := 0
	var errs []error
	for _, t := range txs {
		if t.Status == gateway.OutQueued {
			continue
		}
		inFlight++
		if err := s.follow(ctx, t, head, finalized, mined); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.ID, err))
		}
		if t.Status.Final() {
			inFlight--
		}
	}
	var next *uint64
	for _, t := range txs {
		if t.Status != gateway.OutQueued || inFlight >= s.InFlight {
			continue
		}
		if ready, failure := t.Ready(); failure != "" {
			t.Fail(failure)
			if err := s.Gateway.SaveOutgoing(ctx, t, gateway.OutQueued, "", nil); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", t.ID, err))
			}
			continue
		} else if !ready {
			continue // it waits for the transaction it depends on
		}
		if next == nil {
			n, err := s.nextNonce(ctx, from, addr)
			if err != nil {
				return errors.Join(append(errs, err)...)
			}
			next = &n
		}
		signed, err := s.sign(ctx, t, *next, lease)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.ID, err))
			break // the next one would take the same nonce: it waits for the next run
		}
		if !signed {
			continue // failed for good without a nonce
		}
		*next++
		inFlight++
		if s.AfterSign != nil {
			s.AfterSign(t)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if err := s.broadcast(ctx, t); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.ID, err))
		}
	}
	return errors.Join(errs...)
}

// nextNonce is the address's next nonce: past every one stored, and past every one the node
// knows of (a transaction sent with the seed outside stablegate).
func (s *Sender) nextNonce(ctx context.Context, from string, addr common.Address) (uint64, error) {
	stored, err := s.Gateway.NextNonce(ctx, s.Chain.Slug, from)
	if err != nil {
		return 0, err
	}
	pending, err := s.Client.NonceAt(ctx, addr, "pending")
	if err != nil {
		return 0, err
	}
	return max(stored, pending), nil
}

// sign signs a queued transaction at the nonce and stores it. signed is false (and err nil) when
// the transaction failed for good instead (it would revert): its nonce is still free.
func (s *Sender) sign(ctx context.Context, t *gateway.OutgoingTx, nonce uint64, lease string) (signed bool, err error) {
	key, err := s.Gateway.SigningKey(ctx, t)
	if err != nil {
		return false, err
	}
	auths, err := s.authorizations(ctx, t)
	if err != nil {
		return false, err
	}
	gas := t.GasLimit
	if gas == 0 {
		est, err := s.Client.EstimateGas(ctx, callArgs(t, auths))
		if errors.Is(err, ErrReverted) {
			t.Fail("not sent: the chain would revert it (" + err.Error() + ")")
			return false, s.Gateway.SaveOutgoing(ctx, t, gateway.OutQueued, "", nil)
		}
		if err != nil {
			return false, fmt.Errorf("estimate gas: %w", err)
		}
		gas = est + est/5 // room for state that changes before it is mined
	}
	fees, base, err := s.fees(ctx)
	if err != nil {
		return false, err
	}
	balance, err := s.Client.Balance(ctx, common.HexToAddress(t.From))
	if err != nil {
		return false, err
	}
	fitted, ok := gateway.FitFees(fees, base, balance, t.Value, gas)
	if !ok {
		return false, fmt.Errorf("%s holds %s wei, too little for %s wei and %d gas at the base fee now: waiting", t.From, balance, t.Value, gas)
	}
	a, err := s.signAttempt(key, s.unsigned(t, nonce, gas, fitted, auths))
	if err != nil {
		return false, err
	}
	t.Status, t.Nonce, t.GasLimit, t.Attempts = gateway.OutSigned, nonce, gas, []gateway.TxAttempt{a}
	if err := s.Gateway.SignOutgoing(ctx, t, lease, s.Holder); err != nil {
		return false, err
	}
	return true, nil
}

// delegationPrefix starts the code of an account delegated by EIP-7702: 0xef0100 ‖ delegate.
var delegationPrefix = []byte{0xef, 0x01, 0x00}

// authorizations are the EIP-7702 authorizations of the transaction's Authorize addresses, each
// signed now by the address's key for this chain (never chain id 0) and its current nonce; an
// address already delegated to the transaction's Delegate needs none.
func (s *Sender) authorizations(ctx context.Context, t *gateway.OutgoingTx) ([]types.SetCodeAuthorization, error) {
	if len(t.Authorize) == 0 {
		return nil, nil
	}
	delegate := common.HexToAddress(t.Delegate)
	want := append(append([]byte{}, delegationPrefix...), delegate.Bytes()...)
	var need []string
	nonces := map[string]uint64{}
	for _, a := range t.Authorize {
		addr := common.HexToAddress(a)
		code, err := s.Client.Code(ctx, addr)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(code, want) {
			continue
		}
		if nonces[a], err = s.Client.NonceAt(ctx, addr, "pending"); err != nil {
			return nil, err
		}
		need = append(need, a)
	}
	if len(need) == 0 {
		return nil, nil
	}
	keys, err := s.Gateway.AuthorityKeys(ctx, t, need)
	if err != nil {
		return nil, err
	}
	var out []types.SetCodeAuthorization
	for _, a := range need {
		auth, err := types.SignSetCode(keys[a], types.SetCodeAuthorization{ChainID: *uint256.NewInt(s.Chain.ChainID), Address: delegate, Nonce: nonces[a]})
		if err != nil {
			return nil, fmt.Errorf("authorization of %s: %w", a, err)
		}
		out = append(out, auth)
	}
	return out, nil
}

// unsigned is the transaction to sign: a set-code transaction when it carries authorizations, a
// dynamic-fee one otherwise (a creation when To is empty).
func (s *Sender) unsigned(t *gateway.OutgoingTx, nonce, gas uint64, fees gateway.Fees, auths []types.SetCodeAuthorization) *types.Transaction {
	chainID := new(big.Int).SetUint64(s.Chain.ChainID)
	if len(auths) > 0 {
		return types.NewTx(&types.SetCodeTx{ChainID: uint256.MustFromBig(chainID), Nonce: nonce, GasTipCap: uint256.MustFromBig(fees.TipCap),
			GasFeeCap: uint256.MustFromBig(fees.MaxFee), Gas: gas, To: common.HexToAddress(t.To), Value: uint256.MustFromBig(t.Value), Data: t.Data,
			AuthList: auths})
	}
	var to *common.Address
	if t.To != "" {
		addr := common.HexToAddress(t.To)
		to = &addr
	}
	return types.NewTx(&types.DynamicFeeTx{ChainID: chainID, Nonce: nonce, GasTipCap: fees.TipCap, GasFeeCap: fees.MaxFee,
		Gas: gas, To: to, Value: t.Value, Data: t.Data})
}

// callArgs is the transaction as eth_estimateGas takes it.
func callArgs(t *gateway.OutgoingTx, auths []types.SetCodeAuthorization) map[string]any {
	call := map[string]any{"from": common.HexToAddress(t.From), "value": (*hexutil.Big)(t.Value), "data": hexutil.Bytes(t.Data)}
	if t.To != "" {
		call["to"] = common.HexToAddress(t.To)
	}
	if len(auths) > 0 {
		call["authorizationList"] = auths
	}
	return call
}

// fees are what a new transaction offers now (gateway.NewFees), and the next block's base fee.
func (s *Sender) fees(ctx context.Context) (gateway.Fees, *big.Int, error) {
	base, tip, err := s.Client.NetworkFees(ctx)
	if err != nil {
		return gateway.Fees{}, nil, err
	}
	f, err := gateway.NewFees(base, tip, s.MaxFee)
	return f, base, err
}

func (s *Sender) signAttempt(key *ecdsa.PrivateKey, tx *types.Transaction) (gateway.TxAttempt, error) {
	signed, err := types.SignTx(tx, s.signer, key)
	if err != nil {
		return gateway.TxAttempt{}, fmt.Errorf("sign: %w", err)
	}
	raw, err := signed.MarshalBinary()
	if err != nil {
		return gateway.TxAttempt{}, fmt.Errorf("sign: %w", err)
	}
	fees := gateway.Fees{TipCap: tx.GasTipCap(), MaxFee: tx.GasFeeCap()}
	return gateway.TxAttempt{Hash: signed.Hash().Hex(), Raw: raw, GasLimit: tx.Gas(), Fees: fees, SignedAt: s.Now().UTC().Truncate(time.Millisecond)}, nil
}

// sentHere reports whether this process broadcast the transaction.
func (s *Sender) sentHere(id string) bool {
	s.sentMu.Lock()
	defer s.sentMu.Unlock()
	return s.sent[id]
}

// broadcast sends the current attempt and stores what the node said.
func (s *Sender) broadcast(ctx context.Context, t *gateway.OutgoingTx) error {
	a := t.Current()
	err := s.Client.SendRawTransaction(ctx, a.Raw)
	if err == nil || nonceTooLow(err) {
		s.sentMu.Lock()
		if s.sent == nil {
			s.sent = map[string]bool{}
		}
		s.sent[t.ID] = true
		s.sentMu.Unlock()
	}
	from := t.Status
	switch {
	case err == nil:
		a.BroadcastAt, a.Error = s.Now().UTC().Truncate(time.Millisecond), ""
		t.Status = gateway.OutBroadcast
	case nonceTooLow(err):
		// A transaction at this nonce is mined: ours (its receipt comes next) or another's
		// (found at the confirmed depth). Nothing to send.
		a.BroadcastAt, a.Error = s.Now().UTC().Truncate(time.Millisecond), err.Error()
		t.Status = gateway.OutBroadcast
	default:
		if a.Error == err.Error() {
			return err // stored already
		}
		a.Error = err.Error()
	}
	note := ""
	if from != t.Status {
		note = "sent " + a.Hash
	}
	if serr := s.Gateway.SaveOutgoing(ctx, t, from, note, nil); serr != nil {
		return serr
	}
	if err != nil && !nonceTooLow(err) {
		return fmt.Errorf("broadcast %s: %w", a.Hash, err)
	}
	return nil
}

// follow takes the next step with a signed transaction, as the domain decides from what the node
// says of it.
func (s *Sender) follow(ctx context.Context, t *gateway.OutgoingTx, head, finalized, mined uint64) error {
	obs := gateway.TxObservation{Head: head, Finalized: finalized, SentHere: s.sentHere(t.ID)}
	for i := len(t.Attempts) - 1; i >= 0; i-- {
		rc, err := s.Client.Receipt(ctx, t.Attempts[i].Hash)
		if errors.Is(err, gateway.ErrNotFound) {
			continue
		}
		if err != nil {
			return err // a reorg in progress, a node that failed: the next run sees
		}
		obs.Receipt = rc
		break
	}
	if obs.Receipt == nil && mined > t.Nonce {
		rule := gateway.RuleOf(s.Chain)
		if head+1 >= uint64(rule.Confirmations) {
			deep, err := s.Client.NonceAt(ctx, common.HexToAddress(t.From), hexutil.EncodeUint64(head+1-uint64(rule.Confirmations)))
			if err != nil {
				return err
			}
			obs.NonceTaken = deep > t.Nonce
		}
	}
	return s.step(ctx, t, obs, head)
}

// step carries out what the domain decides for the transaction; one found mined that already has
// its confirmations is confirmed in the same run.
func (s *Sender) step(ctx context.Context, t *gateway.OutgoingTx, obs gateway.TxObservation, head uint64) error {
	from := t.Status
	switch step := t.Next(obs, gateway.RuleOf(s.Chain), s.Now(), s.Policy); step {
	case gateway.StepWait:
		return nil
	case gateway.StepBroadcast:
		return s.broadcast(ctx, t)
	case gateway.StepReplace:
		return s.replace(ctx, t)
	case gateway.StepMined:
		t.Mined(obs.Receipt)
		if err := s.Gateway.SaveOutgoing(ctx, t, from, fmt.Sprintf("%s in block %d", t.TxHash, t.BlockNumber), obs.Receipt); err != nil {
			return err
		}
		return s.step(ctx, t, obs, head) // mined: it waits, or it is final already
	case gateway.StepConfirmed:
		t.Status = gateway.OutConfirmed
		return s.Gateway.SaveOutgoing(ctx, t, from, fmt.Sprintf("confirmed at block %d", head), obs.Receipt)
	case gateway.StepReverted:
		t.Fail(fmt.Sprintf("reverted: the receipt of %s in block %d has status 0", t.TxHash, t.BlockNumber))
		return s.Gateway.SaveOutgoing(ctx, t, from, "", obs.Receipt)
	case gateway.StepReorged:
		block := t.BlockNumber
		t.Reorged()
		if err := s.Gateway.SaveOutgoing(ctx, t, from, fmt.Sprintf("block %d left the canonical chain: sending again", block), nil); err != nil {
			return err
		}
		return s.broadcast(ctx, t)
	case gateway.StepNonceUsed:
		t.Fail(fmt.Sprintf("nonce %d of %s was used by a transaction stablegate did not sign (was the seed used elsewhere?)", t.Nonce, t.From))
		return s.Gateway.SaveOutgoing(ctx, t, from, "", nil)
	default:
		return fmt.Errorf("unknown step %q", step)
	}
}

// withFees is the signed transaction raw, unsigned, with other fees: a replacement is the same
// transaction — nonce, gas, call, authorizations — at a higher price.
func withFees(raw []byte, f gateway.Fees) *types.Transaction {
	var tx types.Transaction
	if err := tx.UnmarshalBinary(raw); err != nil {
		panic("sender: a stored transaction does not decode: " + err.Error())
	}
	switch tx.Type() {
	case types.SetCodeTxType:
		return types.NewTx(&types.SetCodeTx{ChainID: uint256.MustFromBig(tx.ChainId()), Nonce: tx.Nonce(), GasTipCap: uint256.MustFromBig(f.TipCap),
			GasFeeCap: uint256.MustFromBig(f.MaxFee), Gas: tx.Gas(), To: *tx.To(), Value: uint256.MustFromBig(tx.Value()), Data: tx.Data(),
			AuthList: tx.SetCodeAuthorizations()})
	default:
		return types.NewTx(&types.DynamicFeeTx{ChainID: tx.ChainId(), Nonce: tx.Nonce(), GasTipCap: f.TipCap, GasFeeCap: f.MaxFee,
			Gas: tx.Gas(), To: tx.To(), Value: tx.Value(), Data: tx.Data()})
	}
}

// replace signs a replacement of the current attempt at the same nonce with higher fees, stores
// it, then sends it. When the cap leaves no room for the bump, nothing is signed: the attempt
// sent stays valid and is sent again.
func (s *Sender) replace(ctx context.Context, t *gateway.OutgoingTx) error {
	cur := t.Current()
	now, _, err := s.fees(ctx)
	if errors.Is(err, gateway.ErrFeeCap) {
		now = cur.Fees
	} else if err != nil {
		return err
	}
	fees, ok := gateway.BumpFees(cur.Fees, now, s.MaxFee)
	if !ok {
		if s.Now().Sub(cur.BroadcastAt) < s.Policy.RebroadcastEvery {
			return nil
		}
		return s.broadcast(ctx, t)
	}
	key, err := s.Gateway.SigningKey(ctx, t)
	if err != nil {
		return err
	}
	a, err := s.signAttempt(key, withFees(cur.Raw, fees))
	if err != nil {
		return err
	}
	t.Attempts = append(t.Attempts, a)
	note := fmt.Sprintf("replaced %s, unmined after %s, by %s (max fee %s → %s wei, tip %s → %s)", cur.Hash, s.Policy.ReplaceAfter,
		a.Hash, cur.Fees.MaxFee, fees.MaxFee, cur.Fees.TipCap, fees.TipCap)
	if err := s.Gateway.SaveOutgoing(ctx, t, t.Status, note, nil); err != nil {
		return err
	}
	return s.broadcast(ctx, t)
}
