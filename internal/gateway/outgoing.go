package gateway

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
)

// Outgoing transactions are every transaction stablegate signs: sweeps, treasury sends and withdrawals. Each is
// one row from the moment it is wanted (queued) to its end (confirmed or failed), with every signed
// version of it (its attempts: the first, and same-nonce replacements with higher fees) and the
// history of its states. The rules a sender follows are here, without a node or a database; the
// EVM sender (internal/evm) carries them out:
//
//   - sign, then store the raw transaction, its hash and its nonce in one database transaction,
//     and broadcast only after it commits; never sign a second transaction for one intent except
//     a replacement at the same nonce;
//   - done only when a receipt with status 1 is on a canonical block with the chain's required
//     confirmations; status 0 is failed, with the reason;
//   - a block that a reorg drops sends the transaction back to broadcast.

// OutgoingStatus is where an outgoing transaction is in its life.
type OutgoingStatus string

// The states. Queued → signed → broadcast → mined → confirmed or failed; mined → broadcast on a
// reorg; any unfinished state → failed when the transaction cannot be sent at all.
const (
	// OutQueued: wanted, not signed yet (the nonce owner signs queued transactions in order).
	OutQueued OutgoingStatus = "queued"
	// OutSigned: signed and stored; no node has accepted it yet (a crash here is finished by the
	// restart, which broadcasts what is stored).
	OutSigned OutgoingStatus = "signed"
	// OutBroadcast: a node accepted it; waiting for a block.
	OutBroadcast OutgoingStatus = "broadcast"
	// OutMined: in a canonical block, waiting for the chain's confirmations.
	OutMined OutgoingStatus = "mined"
	// OutConfirmed is final: it succeeded (receipt status 1) and has the confirmations.
	OutConfirmed OutgoingStatus = "confirmed"
	// OutFailed is final: it reverted (receipt status 0), would have reverted (never signed), or
	// another transaction took its nonce. Failure says which.
	OutFailed OutgoingStatus = "failed"
)

// Final reports whether nothing more happens to a transaction in the status.
func (s OutgoingStatus) Final() bool { return s == OutConfirmed || s == OutFailed }

// OutgoingTx is one transaction stablegate sends.
type OutgoingTx struct {
	ID        string
	ProjectID string
	Mode      Mode
	ChainID   string
	// Purpose says what it is for ("sweep", "topup", "payout", …) and PurposeID which one.
	Purpose   string
	PurposeID string
	// From is the signing address (a hot wallet, or a deposit address); To, Value and Data what it
	// does. Addresses are EIP-55 hex.
	From  string
	To    string
	Value *big.Int
	Data  []byte
	// Authorize lists addresses whose EIP-7702 authorizations, delegating them to Delegate, go
	// with the transaction (a sweep): signed by each address when the transaction is signed,
	// except by those already delegated to Delegate.
	Authorize []string
	Delegate  string
	// After names a transaction that must be confirmed before this one is signed (a sweep's
	// transfer waits for its gas top-up); AfterStatus is its status as last read. When it fails,
	// this one fails unsigned.
	After       string
	AfterStatus OutgoingStatus
	// GasLimit is fixed by the intent, or 0: estimated when it is signed.
	GasLimit uint64

	Status OutgoingStatus
	// Nonce is set from signing on (Status past queued).
	Nonce uint64
	// Attempts are the signed versions at Nonce, the first first; the last is the one sent now.
	Attempts []TxAttempt
	// The mined attempt's receipt: its hash, block, gas used and price paid (Status mined, and
	// final after it).
	TxHash            string
	BlockNumber       uint64
	BlockHash         string
	GasUsed           uint64
	EffectiveGasPrice *big.Int
	// Failure is why it failed.
	Failure   string
	CreatedAt time.Time
	UpdatedAt time.Time
	// History is every change of Status, oldest first (read by FindOutgoing).
	History []OutgoingChange
}

// TxAttempt is one signed version of an outgoing transaction.
type TxAttempt struct {
	Hash     string
	Raw      []byte // the signed transaction, as eth_sendRawTransaction takes it
	GasLimit uint64
	Fees     Fees
	SignedAt time.Time
	// BroadcastAt is when a node last accepted it (zero: none has yet); Error what the last node
	// that refused it said.
	BroadcastAt time.Time
	Error       string
}

// Current is the attempt sent now (the last), or nil before signing.
func (t *OutgoingTx) Current() *TxAttempt {
	if len(t.Attempts) == 0 {
		return nil
	}
	return &t.Attempts[len(t.Attempts)-1]
}

// Fee is what the mined transaction cost in the chain's native coin (gas used × price paid).
func (t *OutgoingTx) Fee() *big.Int {
	if t.EffectiveGasPrice == nil {
		return nil
	}
	return new(big.Int).Mul(new(big.Int).SetUint64(t.GasUsed), t.EffectiveGasPrice)
}

// OutgoingChange is one change of an outgoing transaction's status.
type OutgoingChange struct {
	At     time.Time
	Status OutgoingStatus
	Note   string
}

// Fees are an EIP-1559 transaction's fee parameters, in wei per gas.
type Fees struct {
	TipCap *big.Int // max priority fee per gas
	MaxFee *big.Int // max fee per gas
}

// Ready says whether a queued transaction may be signed now: yes without After, or once After is
// confirmed; never when After failed (failure says why, for Fail).
func (t *OutgoingTx) Ready() (ready bool, failure string) {
	switch {
	case t.After == "" || t.AfterStatus == OutConfirmed:
		return true, ""
	case t.AfterStatus == OutFailed:
		return false, "not sent: the transaction it waited for (" + t.After + ") failed"
	}
	return false, ""
}

// FitFees fits fees to what the sender holds: a node takes a transaction only if its sender can
// pay value plus gas at the max fee. A sender holding less pays a lower max fee, if that still
// covers the base fee and the tip now (its gas top-up was priced before); otherwise ok is false:
// it waits for the base fee to come down, or for coin.
func FitFees(f Fees, baseFee, balance, value *big.Int, gas uint64) (Fees, bool) {
	g := new(big.Int).SetUint64(gas)
	need := new(big.Int).Add(value, new(big.Int).Mul(g, f.MaxFee))
	if balance.Cmp(need) >= 0 {
		return f, true
	}
	left := new(big.Int).Sub(balance, value)
	if left.Sign() <= 0 {
		return Fees{}, false
	}
	fee := left.Div(left, g)
	if fee.Cmp(new(big.Int).Add(baseFee, f.TipCap)) < 0 {
		return Fees{}, false
	}
	return Fees{TipCap: f.TipCap, MaxFee: fee}, true
}

// FeeBuffer is the share, in percent, added to the tip the network suggests; MinBump the share by
// which a replacement raises both fees (go-ethereum's txpool refuses a replacement below 10 %).
const (
	FeeBuffer = 10
	MinBump   = 10
)

// ErrFeeCap is NewFees's error when the chain's base fee is above the configured cap: nothing is
// signed until it comes down.
var ErrFeeCap = fmt.Errorf("the network's base fee is above the configured fee cap")

// NewFees are the fees of a new transaction: the suggested tip plus FeeBuffer %, and a max fee
// of twice the latest base fee plus the tip (room for the base fee to rise for several blocks), at
// most maxFee when it is set.
func NewFees(baseFee, suggestedTip, maxFee *big.Int) (Fees, error) {
	tip := percent(suggestedTip, 100+FeeBuffer)
	fee := new(big.Int).Add(new(big.Int).Lsh(baseFee, 1), tip)
	if maxFee != nil && maxFee.Sign() > 0 && fee.Cmp(maxFee) > 0 {
		if maxFee.Cmp(baseFee) <= 0 {
			return Fees{}, fmt.Errorf("%w (base fee %s wei, cap %s wei)", ErrFeeCap, baseFee, maxFee)
		}
		fee = new(big.Int).Set(maxFee)
		if tip.Cmp(fee) > 0 {
			tip = new(big.Int).Set(fee)
		}
	}
	return Fees{TipCap: tip, MaxFee: fee}, nil
}

// BumpFees are the fees of a replacement of a transaction sent with prev, when the network now
// asks for now (NewFees): each at least MinBump % above prev's and at least now's, the max fee at
// most maxFee. ok is false when the cap leaves no room for the bump: no replacement is sent (a
// node would refuse it, and the one sent stays valid).
func BumpFees(prev, now Fees, maxFee *big.Int) (f Fees, ok bool) {
	tip := bigMax(percentUp(prev.TipCap, 100+MinBump), now.TipCap)
	fee := bigMax(percentUp(prev.MaxFee, 100+MinBump), now.MaxFee)
	if tip.Cmp(fee) > 0 {
		fee = new(big.Int).Set(tip)
	}
	if maxFee != nil && maxFee.Sign() > 0 && fee.Cmp(maxFee) > 0 {
		return Fees{}, false
	}
	return Fees{TipCap: tip, MaxFee: fee}, true
}

func percent(x *big.Int, p int64) *big.Int {
	return new(big.Int).Div(new(big.Int).Mul(x, big.NewInt(p)), big.NewInt(100))
}

// percentUp is x·p/100 rounded up: a bump of 10 % of 1 wei is 1 wei, never 0.
func percentUp(x *big.Int, p int64) *big.Int {
	n := new(big.Int).Mul(x, big.NewInt(p))
	n.Add(n, big.NewInt(99))
	return n.Div(n, big.NewInt(100))
}

func bigMax(a, b *big.Int) *big.Int {
	if b != nil && b.Cmp(a) > 0 {
		return new(big.Int).Set(b)
	}
	return new(big.Int).Set(a)
}

// SendPolicy is when a sender acts on a transaction that is not mined.
type SendPolicy struct {
	// RebroadcastEvery: a transaction not mined is sent to the node again this often (a node may
	// have dropped it from its pool; sending a known transaction again is harmless).
	RebroadcastEvery time.Duration
	// ReplaceAfter: a transaction not mined this long after its attempt was signed is replaced at
	// the same nonce with higher fees (BumpFees).
	ReplaceAfter time.Duration
}

// TxObservation is what a sender saw of a signed transaction on the chain.
type TxObservation struct {
	// Receipt is the receipt of one of its attempts on the canonical chain, nil when none is mined.
	Receipt *Receipt
	// Head is the chain's head block; Finalized the block at the chain's finality tag, on a chain
	// with one (ChainRule.Finality).
	Head      uint64
	Finalized uint64
	// SentHere: this process broadcast the transaction. One stored as broadcast by an earlier
	// process (before a restart) is sent again at once: the node may have lost it meanwhile.
	SentHere bool
	// NonceTaken: the sender's nonce at the depth of the required confirmations is past the
	// transaction's, so a transaction at its nonce is final there — and no attempt of ours has a
	// receipt, so it is someone else's (the seed used outside stablegate).
	NonceTaken bool
}

// SendStep is what a sender does next with a signed transaction.
type SendStep string

// The steps.
const (
	StepWait      SendStep = "wait"      // nothing now
	StepBroadcast SendStep = "broadcast" // send the current attempt (again)
	StepReplace   SendStep = "replace"   // sign a replacement with higher fees, then send it
	StepMined     SendStep = "mined"     // record the receipt's block
	StepConfirmed SendStep = "confirmed" // final: succeeded
	StepReverted  SendStep = "reverted"  // final: receipt status 0
	StepReorged   SendStep = "reorged"   // its block left the canonical chain: back to broadcast
	StepNonceUsed SendStep = "nonce-used"
)

// Next decides the sender's next step for the transaction from what it observed. A receipt is final
// by the chain's rule, as a payment is: its confirmations (its block counts as the first) and, on a
// chain with a finality tag, a finalized block at or past it.
func (t *OutgoingTx) Next(obs TxObservation, rule ChainRule, now time.Time, p SendPolicy) SendStep {
	if t.Status.Final() || t.Status == OutQueued {
		return StepWait
	}
	if rc := obs.Receipt; rc != nil {
		if t.Status != OutMined || rc.BlockHash != t.BlockHash || rc.TxHash != t.TxHash {
			return StepMined
		}
		if obs.Head+1 < rc.BlockNumber+uint64(max(rule.Confirmations, 1)) || rule.Finality != "" && obs.Finalized < rc.BlockNumber {
			return StepWait
		}
		if rc.Success {
			return StepConfirmed
		}
		return StepReverted
	}
	if t.Status == OutMined {
		return StepReorged
	}
	if obs.NonceTaken {
		return StepNonceUsed
	}
	a := t.Current()
	if t.Status == OutSigned || a.BroadcastAt.IsZero() || !obs.SentHere {
		return StepBroadcast
	}
	if p.ReplaceAfter > 0 && now.Sub(a.SignedAt) >= p.ReplaceAfter {
		return StepReplace
	}
	if now.Sub(a.BroadcastAt) >= p.RebroadcastEvery {
		return StepBroadcast
	}
	return StepWait
}

// Mined records the receipt of a mined attempt.
func (t *OutgoingTx) Mined(rc *Receipt) {
	t.Status = OutMined
	t.TxHash, t.BlockNumber, t.BlockHash = rc.TxHash, rc.BlockNumber, rc.BlockHash
	t.GasUsed, t.EffectiveGasPrice = rc.GasUsed, rc.EffectiveGasPrice
}

// Reorged sends a mined transaction back to broadcast: its block left the canonical chain.
func (t *OutgoingTx) Reorged() {
	t.Status = OutBroadcast
	t.TxHash, t.BlockNumber, t.BlockHash, t.GasUsed, t.EffectiveGasPrice = "", 0, "", 0, nil
	for i := range t.Attempts {
		t.Attempts[i].BroadcastAt = time.Time{} // send it again at once
	}
}

// Fail ends the transaction as failed, for the reason.
func (t *OutgoingTx) Fail(reason string) {
	t.Status = OutFailed
	t.Failure = reason
}

// OutgoingFilter selects outgoing transactions for listing.
type OutgoingFilter struct {
	ProjectID string
	Mode      Mode
	ChainID   string
	Status    OutgoingStatus
	Purpose   string
	Limit     int
}

// OutgoingStore keeps the outgoing transactions. A state change and its history row commit
// together.
type OutgoingStore interface {
	// QueueOutgoing stores new transactions in status queued.
	QueueOutgoing(ctx context.Context, txs []*OutgoingTx) error
	// SignOutgoing stores a queued transaction's nonce and first attempt (Status signed), in one
	// transaction that also checks that holder still holds the lease (ErrChanged otherwise), that
	// the transaction is still queued (ErrChanged), and that no transaction of its From on its
	// chain has the nonce (ErrChanged).
	SignOutgoing(ctx context.Context, t *OutgoingTx, lease, holder string, now time.Time) error
	// SaveOutgoing stores t's state (status, attempts, receipt, failure), the change in its
	// history and the effects (nil: none), if its stored status is still from (ErrChanged
	// otherwise).
	SaveOutgoing(ctx context.Context, t *OutgoingTx, from OutgoingStatus, change OutgoingChange, fx *OutgoingEffects) error
	// FindOutgoing returns a transaction with its attempts and history (ErrNotFound).
	FindOutgoing(ctx context.Context, projectID string, mode Mode, id string) (*OutgoingTx, error)
	// ListOutgoing returns a project's transactions, newest first, with their attempts.
	ListOutgoing(ctx context.Context, f OutgoingFilter) ([]*OutgoingTx, error)
	// UnfinishedOutgoing returns every transaction of the chain that is not final, with its
	// attempts: per sending address, signed ones by nonce, then queued ones oldest first.
	UnfinishedOutgoing(ctx context.Context, chainID string) ([]*OutgoingTx, error)
	// NextNonce is one more than the highest nonce stored for the address on the chain (0 when
	// none is).
	NextNonce(ctx context.Context, chainID, from string) (uint64, error)
}

// Outgoing returns one of the principal's outgoing transactions, with its attempts and history.
func (s *Service) Outgoing(ctx context.Context, pr *Principal, id string) (*OutgoingTx, error) {
	t, err := s.Store.FindOutgoing(ctx, pr.Project.ID, pr.Mode, id)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(ENotFound, "id", "No outgoing transaction %s", id)
	}
	return t, err
}

// ListOutgoing returns the principal's outgoing transactions, newest first.
func (s *Service) ListOutgoing(ctx context.Context, pr *Principal, f OutgoingFilter) ([]*OutgoingTx, error) {
	f.ProjectID, f.Mode = pr.Project.ID, pr.Mode
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 100
	}
	switch f.Status {
	case "", OutQueued, OutSigned, OutBroadcast, OutMined, OutConfirmed, OutFailed:
	default:
		return nil, Errorf(EInvalid, "status", "status %q is not one of queued, signed, broadcast, mined, confirmed, failed", f.Status)
	}
	return s.Store.ListOutgoing(ctx, f)
}

// Sending is what a sender asks of the domain (the Service): the transactions to carry out, the
// keys to sign them with, and the storing of each step.
type Sending interface {
	UnfinishedOutgoing(ctx context.Context, chainID string) ([]*OutgoingTx, error)
	NextNonce(ctx context.Context, chainID, from string) (uint64, error)
	SigningKey(ctx context.Context, t *OutgoingTx) (*ecdsa.PrivateKey, error)
	AuthorityKeys(ctx context.Context, t *OutgoingTx, addresses []string) (map[string]*ecdsa.PrivateKey, error)
	SignOutgoing(ctx context.Context, t *OutgoingTx, lease, holder string) error
	SaveOutgoing(ctx context.Context, t *OutgoingTx, from OutgoingStatus, note string, rc *Receipt) error
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
}

var _ Sending = (*Service)(nil)

// UnfinishedOutgoing returns the chain's transactions that are not final (OutgoingStore).
func (s *Service) UnfinishedOutgoing(ctx context.Context, chainID string) ([]*OutgoingTx, error) {
	return s.Store.UnfinishedOutgoing(ctx, chainID)
}

// NextNonce is the next nonce the store has not used for the address (OutgoingStore).
func (s *Service) NextNonce(ctx context.Context, chainID, from string) (uint64, error) {
	return s.Store.NextNonce(ctx, chainID, from)
}

// SignOutgoing stores a queued transaction's first signed attempt under the lease (OutgoingStore).
func (s *Service) SignOutgoing(ctx context.Context, t *OutgoingTx, lease, holder string) error {
	now := s.now()
	t.UpdatedAt = now
	return s.Store.SignOutgoing(ctx, t, lease, holder, now)
}

// SaveOutgoing stores a step of a transaction that was in status from, with a note for its
// history; a final step carries its effects (the sweeps it ends or starts, its fee) in the same
// database transaction. rc is the receipt the step saw (nil: none).
func (s *Service) SaveOutgoing(ctx context.Context, t *OutgoingTx, from OutgoingStatus, note string, rc *Receipt) error {
	t.UpdatedAt = s.now()
	fx, err := s.outgoingEffects(ctx, t, rc)
	if err != nil {
		return err
	}
	return s.Store.SaveOutgoing(ctx, t, from, OutgoingChange{At: t.UpdatedAt, Status: t.Status, Note: note}, fx)
}

// QueueOutgoing records transactions to send from a project's hot wallet (Status queued); the
// chain's sender signs and sends them in order.
func (s *Service) QueueOutgoing(ctx context.Context, txs ...*OutgoingTx) error {
	now := s.now()
	for _, t := range txs {
		if t.ID == "" {
			t.ID = NewID("otx")
		}
		if t.Value == nil {
			t.Value = new(big.Int)
		}
		t.Status, t.CreatedAt, t.UpdatedAt = OutQueued, now, now
	}
	return s.Store.QueueOutgoing(ctx, txs)
}

// HotWalletAddress is the address of the project's hot wallet on the chain in the mode. It is
// derived from the seed (which never changes) the first time only: opening a seed costs a key
// derivation, and withdrawals, ledger checks and every metrics scrape ask.
func (s *Service) HotWalletAddress(ctx context.Context, projectID string, mode Mode, chainID string) (string, error) {
	key := projectID + "/" + string(mode) + "/" + chainID
	if addr, ok := s.hotAddrs.Load(key); ok {
		return addr.(string), nil
	}
	_, addr, err := s.hotWalletKey(ctx, projectID, mode, chainID)
	if err != nil {
		return "", err
	}
	s.hotAddrs.Store(key, addr)
	return addr, nil
}

// SigningKey is the private key of the transaction's From: the hot wallet of its project, mode
// and chain, or an address stablegate derived for the project (a sweep's transfer from it, where
// EIP-7702 is not available). It opens the project's seed for the signature only; a watch-only
// project has none.
func (s *Service) SigningKey(ctx context.Context, t *OutgoingTx) (*ecdsa.PrivateKey, error) {
	key, addr, err := s.hotWalletKey(ctx, t.ProjectID, t.Mode, t.ChainID)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(addr, t.From) {
		return key, nil
	}
	return s.AuthorityKey(ctx, t, t.From)
}

// AuthorityKey is the private key of an address of the transaction's project that stablegate
// derived from its seed (an order's or a deposit's), to sign the address's authorization of a
// sweep (or its transfer, without EIP-7702). An address of another project, or one imported into
// a pool, has none here.
func (s *Service) AuthorityKey(ctx context.Context, t *OutgoingTx, address string) (*ecdsa.PrivateKey, error) {
	keys, err := s.AuthorityKeys(ctx, t, []string{address})
	if err != nil {
		return nil, err
	}
	return keys[address], nil
}

// AuthorityKeys is AuthorityKey of many addresses, with the project's seed opened once, by
// address as given.
func (s *Service) AuthorityKeys(ctx context.Context, t *OutgoingTx, addresses []string) (map[string]*ecdsa.PrivateKey, error) {
	c, ok := s.ChainRegistry().Lookup(t.ChainID)
	if !ok {
		return nil, fmt.Errorf("authority key: unknown chain %s", t.ChainID)
	}
	indices, err := s.Store.DerivedIndices(ctx, t.ProjectID, t.Mode, c.Protocol, addresses)
	if err != nil {
		return nil, fmt.Errorf("authority keys: %w", err)
	}
	p, err := s.Store.FindProject(ctx, t.ProjectID)
	if err != nil {
		return nil, err
	}
	seed, err := s.seedOf(p)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*ecdsa.PrivateKey, len(addresses))
	for _, address := range addresses {
		index, ok := indices[address]
		if !ok {
			return nil, fmt.Errorf("authority key of %s: %w (not an address stablegate derived for %s)", address, ErrNotFound, t.ProjectID)
		}
		key, addr, err := seed.AddressKey(c.Protocol, index)
		if err != nil {
			return nil, err
		}
		if got := chain.FormatAddress(c.Protocol, addr); !strings.EqualFold(got, address) {
			return nil, fmt.Errorf("authority key: index %d of %s derives %s, not %s", index, t.ProjectID, got, address)
		}
		out[address] = key
	}
	return out, nil
}

func (s *Service) hotWalletKey(ctx context.Context, projectID string, mode Mode, chainID string) (*ecdsa.PrivateKey, string, error) {
	p, err := s.Store.FindProject(ctx, projectID)
	if err != nil {
		return nil, "", fmt.Errorf("hot wallet of %s: %w", projectID, err)
	}
	c, ok := s.ChainRegistry().Lookup(chainID)
	if !ok {
		return nil, "", fmt.Errorf("hot wallet of %s: unknown chain %s", projectID, chainID)
	}
	seed, err := s.seedOf(p)
	if err != nil {
		return nil, "", err
	}
	key, addr, err := seed.WalletKey(c.Protocol, mode.Live(), c.ChainID)
	if err != nil {
		return nil, "", err
	}
	return key, chain.FormatAddress(c.Protocol, addr), nil
}
