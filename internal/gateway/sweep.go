package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/money"
)

// Sweeps gather what order and deposit addresses hold into the project's hot wallet. On a chain
// with EIP-7702 (chain.Chain.SetCode) a sweep is one transaction from the hot wallet, paying all
// gas: each address, delegated to the hot wallet's sweeper contract by an authorization it signs
// at sweep time, sends its amount to the hot wallet; no native coin is ever sent to an address.
// The sweeper (internal/evm/contracts/Sweeper.sol) is deployed once per hot wallet, by the first
// sweep. The ledger decides what moves: each address's holding — its credited, confirmed payments
// less what sweeps took — checked against the chain before anything is sent.

// EInsufficientFunds: the hot wallet cannot pay the gas of what was asked.
const EInsufficientFunds = "InsufficientFunds"

// Events of sweeps.
const (
	EventSweepCompleted = "sweep.completed"
	EventSweepFailed    = "sweep.failed"
)

// Purposes of the outgoing transactions of sweeps.
const (
	PurposeSweep         = "sweep"
	PurposeDeploySweeper = "deploy-sweeper"
	PurposeSweepTopUp    = "sweep-topup"
)

// How a sweep moves money: a batch of delegated addresses in one transaction from the hot wallet
// (EIP-7702), or — on a chain without it — a gas top-up from the hot wallet, then a transfer from
// the address.
const (
	SweepBatch = "batch"
	SweepTopUp = "topup"
)

// TopUpTransferGas is the gas limit of a token transfer from an address to the hot wallet, and
// what its top-up pays for (measured: ~30,000–47,000; unused gas stays on the address).
const TopUpTransferGas = 70_000

// SweepStatus is where a sweep is.
type SweepStatus string

// The states: deploying (waiting for the hot wallet's sweeper to be deployed) → sending (its
// transaction is with the sender) → completed or failed.
const (
	SweepDeploying SweepStatus = "deploying"
	SweepSending   SweepStatus = "sending"
	SweepCompleted SweepStatus = "completed"
	SweepFailed    SweepStatus = "failed"
)

// Final reports whether nothing more happens to a sweep in the status.
func (s SweepStatus) Final() bool { return s == SweepCompleted || s == SweepFailed }

// Sweep is one batch: amounts of one token from many addresses of a chain into the hot wallet,
// in one transaction.
type Sweep struct {
	ID        string
	ProjectID string
	Mode      Mode
	ChainID   string
	Currency  string
	Token     string // the token's contract
	To        string // the hot wallet
	Method    string // SweepBatch or SweepTopUp
	Status    SweepStatus
	Legs      []SweepLeg
	// OutgoingID is the sweep's transaction (empty while deploying), and TxHash, GasUsed and Fee
	// (wei) what its receipt says, once final.
	OutgoingID  string
	TxHash      string
	GasUsed     uint64
	Fee         *big.Int
	Failure     string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt *time.Time
}

// Total is the sum of the legs' amounts.
func (s *Sweep) Total() *big.Int {
	t := new(big.Int)
	for _, l := range s.Legs {
		t.Add(t, l.Amount)
	}
	return t
}

// Moved is the sum of what the legs moved (final sweeps).
func (s *Sweep) Moved() *big.Int {
	t := new(big.Int)
	for _, l := range s.Legs {
		if l.Moved != nil {
			t.Add(t, l.Moved)
		}
	}
	return t
}

// SweepLeg is one address of a sweep: the amount the ledger says it holds, what the chain said it
// held when the sweep was made, and what moved (from the receipt's Transfer logs; nil before).
type SweepLeg struct {
	Address   string
	Amount    *big.Int
	OnChain   *big.Int
	Moved     *big.Int
	OrderID   string
	DepositID string
}

// Holding is what the ledger says an address holds of a token: its credited, confirmed payments,
// less what completed sweeps moved and what sweeps in flight will move.
type Holding struct {
	Address   string
	Currency  string
	Amount    *big.Int
	OrderID   string
	DepositID string
	// Collecting: the address's order still takes payments (pending, confirming, underpaid).
	Collecting bool
	// InFlight: a sweep of it is in flight.
	InFlight bool
	// Derived: stablegate derived the address from the project's seed (it can sign for it); an
	// address imported into a pool cannot be swept.
	Derived bool
}

// Sweeper is a hot wallet's sweeper contract on a chain: deploying until its deployment is
// confirmed, then at Address.
type Sweeper struct {
	ProjectID string
	Mode      Mode
	ChainID   string
	HotWallet string
	Address   string
	// DeployID is the outgoing transaction that deploys it; Deployed says it is confirmed.
	DeployID string
	Deployed bool
}

// SweepStore keeps sweeps, their legs and the hot wallets' sweepers.
type SweepStore interface {
	// Holdings returns what the ledger says each address of the project holds on the chain, per
	// token, where it is positive.
	Holdings(ctx context.Context, projectID string, mode Mode, chainID string) ([]Holding, error)
	// HotWalletHoldings is what sweeps moved into the project's hot wallet on the chain, less what
	// treasury sends took (in flight or confirmed), per currency.
	HotWalletHoldings(ctx context.Context, projectID string, mode Mode, chainID string) (map[string]*big.Int, error)
	// FindSweeper returns the hot wallet's sweeper on the chain (ErrNotFound: none yet).
	FindSweeper(ctx context.Context, projectID string, mode Mode, chainID string) (*Sweeper, error)
	// CreateSweeps stores new sweeps with their legs and queues their transactions, and the
	// sweeper's deployment when deploy is set, in one transaction. A leg whose address's holding
	// the store no longer has (another sweep took it meanwhile) is EConflict.
	CreateSweeps(ctx context.Context, sweeps []*Sweep, txs []*OutgoingTx, deploy *Sweeper) error
	FindSweep(ctx context.Context, projectID string, mode Mode, id string) (*Sweep, error)
	ListSweeps(ctx context.Context, projectID string, mode Mode, limit int) ([]*Sweep, error)
	// DerivedIndices are the derivation indices of the addresses stablegate derived for the
	// project, by address as given; an address it did not derive (another project's, one imported
	// into a pool) is missing.
	DerivedIndices(ctx context.Context, projectID string, mode Mode, p chain.Protocol, addresses []string) (map[string]uint32, error)
	// FindTreasurySend returns a treasury send by id (ErrNotFound).
	FindTreasurySend(ctx context.Context, id string) (*TreasurySend, error)
	// SweepsOf returns the sweeps whose transaction is outgoingID, or (deploying ones) that wait
	// for the sweeper deployed by it.
	SweepsOf(ctx context.Context, outgoingID string) ([]*Sweep, error)
}

// Encoder encodes the contract calls the domain decides on, for EVM chains (internal/evm).
type Encoder interface {
	// DeploySweeper is the creation code of a sweeper for the hot wallet.
	DeploySweeper(hot [20]byte) []byte
	// SweepMany is the sweeper's call that moves amounts[i] of token from from[i] to the hot
	// wallet.
	SweepMany(token [20]byte, from [][20]byte, amounts []*big.Int) []byte
	// TokenTransfer is an ERC-20 transfer(to, amount).
	TokenTransfer(to [20]byte, amount *big.Int) []byte
}

// OutgoingEffects are what a step of an outgoing transaction changes besides the transaction,
// stored in the same database transaction: the sweeps it ends or starts, the transactions it
// queues, the sweeper it deploys, the fees it posts and the events it writes.
type OutgoingEffects struct {
	Sweeps   []*Sweep
	Queue    []*OutgoingTx
	Sweeper  *Sweeper
	Sends    []*TreasurySend // new ones (with Queue) and final ones
	Postings []LedgerPosting
	Events   []*Event
	// Withdrawals are the changes of the withdrawal the transaction pays.
	Withdrawals *WithdrawalEffects
}

// LedgerPosting is an entry of what leaves the merchant's custody or costs it: gas a transaction
// paid (external → fees, in the chain's coin), or a treasury send confirmed (available →
// external, in the token).
type LedgerPosting struct {
	ProjectID string
	Mode      Mode
	ChainID   string
	Currency  string
	From, To  string
	Amount    *big.Int
	Reason    string // "gas", "treasury", "withdrawal", "released", "withdrawn"
	TxHash    string
	At        time.Time
	// User is the deposit binding whose user balance moves with the posting: out of available
	// it is debited, into available credited.
	User string
}

// AccountFees is the ledger account of gas spent.
const AccountFees = "fees"

// TreasurySend moves what the hot wallet holds of a token above the treasury's ceiling to the
// merchant's treasury address, in one transaction from the hot wallet (Status: the transaction's,
// mirrored: queued while in flight, then confirmed or failed).
type TreasurySend struct {
	ID         string
	ProjectID  string
	Mode       Mode
	ChainID    string
	Currency   string
	Amount     *big.Int
	To         string
	OutgoingID string
	Status     OutgoingStatus
}

// PurposeTreasury is the purpose of a treasury send's transaction.
const PurposeTreasury = "treasury"

// DefaultCeiling is what a hot wallet keeps of each token when its treasury is set without a
// ceiling: the float for payouts; the rest goes on to the treasury.
const DefaultCeiling = "1000"

// SweepRequest asks for sweeps of one chain.
type SweepRequest struct {
	ChainID string
	// Currency limits the sweep to one token (empty: every registry token of the chain).
	Currency string
	// Addresses limits it to these addresses (empty: every address holding funds).
	Addresses []string
	// IncludeCollecting sweeps addresses whose order still takes payments too.
	IncludeCollecting bool
	// DryRun plans and estimates without sending anything.
	DryRun bool
	// Threshold, when set, leaves out an address whose holding of a token is below it (token
	// units, a decimal string): what automatic sweeps use.
	Threshold string
}

// SweepPlan is what a sweep request makes: the sweeps (stored and sent unless it was a dry run),
// what was left out and why, and what it costs.
type SweepPlan struct {
	ChainID     string
	Method      string // SweepBatch or SweepTopUp
	Sweeps      []*Sweep
	Skipped     []SkippedAddress
	Differences []HoldingDifference
	// NeedsSweeper: the hot wallet has no sweeper yet; the first sweep deploys it (its gas is in
	// the estimate).
	NeedsSweeper bool
	// Gas and Cost (wei, at the network's fees now) are the estimate of every transaction.
	Gas  uint64
	Cost *big.Int
	// Native is the chain's coin (Cost's unit) and NativeBalance what the hot wallet holds of it.
	Native        string
	NativeBalance *big.Int
	DryRun        bool
}

// SkippedAddress is an address with funds that a sweep left alone, and why.
type SkippedAddress struct {
	Address  string
	Currency string
	Amount   *big.Int
	Reason   string
}

// HoldingDifference is an address whose on-chain balance is not what the ledger says it holds:
// reported, never papered over. Less on chain than in the ledger leaves the address out of the
// sweep; more sweeps the ledger's amount and leaves the rest where it is.
type HoldingDifference struct {
	Address  string
	Currency string
	Ledger   *big.Int
	OnChain  *big.Int
}

// Gas of sweeps, measured on the devnet under Prague rules (bench/README.md), with room: what the
// estimate before a sweep says, and how many addresses a batch takes under the EIP-7825
// transaction gas cap. The sender estimates each transaction again when it signs it.
const (
	SweepBaseGas      = 60_000  // the transaction, the batch call
	SweepAddressGas   = 40_000  // an address's first sweep (its authorization, the token transfer)
	SweepAgainGas     = 20_000  // a later sweep of a delegated address
	DeploySweeperGas  = 400_000 // the sweeper's deployment
	TxGasCap          = 1 << 24 // EIP-7825: 16,777,216
	MaxSweepAddresses = (TxGasCap - SweepBaseGas) / SweepAddressGas * 9 / 10
)

// Sweep plans the sweeps of a chain for the principal and, unless it is a dry run, stores and
// queues them: it needs the API secret (it decides where money goes), a project with a seed, and
// a node of the chain (each address's balance is checked on chain first).
func (s *Service) Sweep(ctx context.Context, pr *Principal, req SweepRequest) (*SweepPlan, error) {
	if err := RequireSecret(pr); err != nil {
		return nil, err
	}
	c, err := s.modeChain(pr, req.ChainID)
	if err != nil {
		return nil, err
	}
	if c.Protocol != chain.EVM {
		return nil, Errorf(EInvalid, "chainId", "Sweeping %s is not supported: funds on TRON stay on their addresses (docs/sweeps.md)", c.Name)
	}
	if !s.ChainEnabled(c.Slug) || s.Nodes == nil {
		return nil, Errorf(EInvalid, "chainId", "This gateway has no node of %s: configure its rpcUrls to sweep there", c.Slug)
	}
	if s.Encoder == nil {
		return nil, errors.New("sweep: no encoder")
	}
	var tokens []chain.Token
	for _, t := range c.Tokens {
		if req.Currency == "" || strings.EqualFold(t.Symbol, req.Currency) {
			tokens = append(tokens, t)
		}
	}
	if len(tokens) == 0 {
		return nil, Errorf(EInvalid, "currency", "currency %q is not a token of %s (one of %s)", req.Currency, c.Slug, tokenSymbols(c))
	}
	wanted := map[string]bool{}
	for i, a := range req.Addresses {
		raw, err := chain.ParseAddress(chain.EVM, strings.TrimSpace(a))
		if err != nil {
			return nil, Errorf(EInvalid, fmt.Sprintf("addresses[%d]", i), "addresses[%d]: %v", i, err)
		}
		wanted[chain.FormatAddress(chain.EVM, raw)] = true
	}
	_, hot, err := s.hotWalletKey(ctx, pr.Project.ID, pr.Mode, c.Slug)
	if err != nil {
		return nil, err
	}
	hotRaw, _ := chain.ParseAddress(chain.EVM, hot)
	holdings, err := s.Store.Holdings(ctx, pr.Project.ID, pr.Mode, c.Slug)
	if err != nil {
		return nil, err
	}
	sortHoldings(holdings)
	plan := &SweepPlan{ChainID: c.Slug, Native: c.Native, DryRun: req.DryRun, Cost: new(big.Int), Method: SweepBatch}
	var sweeper *Sweeper
	if !c.SetCode {
		plan.Method = SweepTopUp
	} else if sweeper, err = s.Store.FindSweeper(ctx, pr.Project.ID, pr.Mode, c.Slug); errors.Is(err, ErrNotFound) {
		sweeper, plan.NeedsSweeper = nil, true
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	for _, tok := range tokens {
		tokenRaw, err := chain.ParseAddress(chain.EVM, tok.Address)
		if err != nil {
			return nil, err
		}
		var threshold *big.Int
		if req.Threshold != "" {
			if threshold, err = money.Parse(req.Threshold, tok.Decimals); err != nil {
				return nil, Errorf(EInvalid, "threshold", "threshold: %v", err)
			}
		}
		var legs []SweepLeg
		for _, h := range holdings {
			if h.Currency != tok.Symbol || len(wanted) > 0 && !wanted[h.Address] {
				continue
			}
			skip := func(reason string) {
				plan.Skipped = append(plan.Skipped, SkippedAddress{Address: h.Address, Currency: h.Currency, Amount: h.Amount, Reason: reason})
			}
			if threshold != nil && h.Amount.Cmp(threshold) < 0 {
				continue // below the threshold: not worth its gas yet
			}
			switch {
			case !h.Derived:
				skip("imported into the address pool: stablegate holds no key for it")
				continue
			case h.InFlight:
				skip("a sweep of it is in flight: what arrived since is swept after it")
				continue
			case h.Collecting && !req.IncludeCollecting:
				skip("its order still takes payments (includeCollecting sweeps it anyway)")
				continue
			}
			addr, _ := chain.ParseAddress(chain.EVM, h.Address)
			onChain, err := s.Nodes.TokenBalance(ctx, c.Slug, tokenRaw, addr)
			if err != nil {
				return nil, fmt.Errorf("sweep: balance of %s: %w", h.Address, err)
			}
			if onChain.Cmp(h.Amount) != 0 {
				plan.Differences = append(plan.Differences, HoldingDifference{Address: h.Address, Currency: h.Currency, Ledger: h.Amount, OnChain: onChain})
			}
			if onChain.Cmp(h.Amount) < 0 {
				skip("it holds less on chain than the ledger says (see differences): left for you to look into")
				continue
			}
			legs = append(legs, SweepLeg{Address: h.Address, Amount: h.Amount, OnChain: onChain, OrderID: h.OrderID, DepositID: h.DepositID})
		}
		per := MaxSweepAddresses
		if plan.Method == SweepTopUp {
			per = 1 // each address sends its own transfer
		}
		for len(legs) > 0 {
			batch := legs[:min(len(legs), per)]
			legs = legs[len(batch):]
			plan.Sweeps = append(plan.Sweeps, &Sweep{ID: NewID("swp"), ProjectID: pr.Project.ID, Mode: pr.Mode, ChainID: c.Slug,
				Currency: tok.Symbol, Token: tok.Address, To: hot, Method: plan.Method, Status: SweepSending, Legs: batch, CreatedAt: now, UpdatedAt: now})
		}
	}
	if len(plan.Sweeps) == 0 {
		plan.NeedsSweeper = false
	}
	plan.Gas = plan.estimateGas()
	base, tip, err := s.Nodes.NetworkFees(ctx, c.Slug)
	if err != nil {
		return nil, fmt.Errorf("sweep: the network's fees: %w", err)
	}
	fees, _ := NewFees(base, tip, nil)
	plan.Cost = new(big.Int).Mul(new(big.Int).SetUint64(plan.Gas), new(big.Int).Add(base, fees.TipCap))
	if plan.NativeBalance, err = s.Nodes.NativeBalance(ctx, c.Slug, hotRaw); err != nil {
		return nil, fmt.Errorf("sweep: the hot wallet's balance: %w", err)
	}
	if req.DryRun || len(plan.Sweeps) == 0 {
		return plan, nil
	}
	// A node takes a transaction only if its sender can pay its gas limit at its max fee.
	if need := new(big.Int).Mul(new(big.Int).SetUint64(plan.Gas), fees.MaxFee); plan.NativeBalance.Cmp(need) < 0 {
		return nil, Errorf(EInsufficientFunds, "", "The hot wallet %s holds %s %s; these sweeps need up to %s %s of gas (%d gas at %s gwei): "+
			"send %s to it first (GET /api/v1/wallets shows it)", hot, money.Format(plan.NativeBalance, c.NativeDecimals()), c.Native,
			money.Format(need, c.NativeDecimals()), c.Native, plan.Gas, money.Format(fees.MaxFee, 9), c.Native)
	}
	var txs []*OutgoingTx
	var deploy *Sweeper
	if plan.Method == SweepTopUp {
		for _, sw := range plan.Sweeps {
			txs = append(txs, s.topUpTxs(sw, fees.MaxFee, now)...)
		}
	} else if plan.NeedsSweeper {
		d := &OutgoingTx{ID: NewID("otx"), ProjectID: pr.Project.ID, Mode: pr.Mode, ChainID: c.Slug, Purpose: PurposeDeploySweeper,
			From: hot, Value: new(big.Int), Data: s.Encoder.DeploySweeper(hotRaw), Status: OutQueued, CreatedAt: now, UpdatedAt: now}
		deploy = &Sweeper{ProjectID: pr.Project.ID, Mode: pr.Mode, ChainID: c.Slug, HotWallet: hot, DeployID: d.ID}
		d.PurposeID = d.ID
		txs = append(txs, d)
		for _, sw := range plan.Sweeps {
			sw.Status = SweepDeploying
		}
	} else if !sweeper.Deployed {
		for _, sw := range plan.Sweeps {
			sw.Status = SweepDeploying // the sweeper's deployment is in flight: they wait for it
		}
	} else {
		for _, sw := range plan.Sweeps {
			txs = append(txs, s.sweepTx(sw, sweeper.Address, now))
		}
	}
	swept := make([]map[string]any, 0, len(plan.Sweeps))
	for _, sw := range plan.Sweeps {
		tok, _ := c.Token(sw.Currency)
		swept = append(swept, map[string]any{"id": sw.ID, "currency": sw.Currency, "amount": money.Format(sw.Total(), tok.Decimals),
			"addresses": len(sw.Legs), "to": sw.To})
	}
	ctx = s.audited(ctx, pr.Project.ID, pr.Mode, AuditSweepRequested, c.Slug, map[string]any{"chainId": c.Slug, "sweeps": swept})
	if err := s.Store.CreateSweeps(ctx, plan.Sweeps, txs, deploy); err != nil {
		return nil, err
	}
	return plan, nil
}

// topUpTxs are the transactions of a sweep where EIP-7702 is not available: the hot wallet sends
// the address the gas of its transfer (TopUpTransferGas at the max fee now), then the address
// transfers its amount to the hot wallet, once the top-up is confirmed.
func (s *Service) topUpTxs(sw *Sweep, maxFee *big.Int, now time.Time) []*OutgoingTx {
	l := sw.Legs[0]
	to, _ := chain.ParseAddress(chain.EVM, sw.To)
	topUp := &OutgoingTx{ID: NewID("otx"), ProjectID: sw.ProjectID, Mode: sw.Mode, ChainID: sw.ChainID, Purpose: PurposeSweepTopUp,
		PurposeID: sw.ID, From: sw.To, To: l.Address, Value: new(big.Int).Mul(big.NewInt(TopUpTransferGas), maxFee), GasLimit: 21_000,
		Status: OutQueued, CreatedAt: now, UpdatedAt: now}
	transfer := &OutgoingTx{ID: NewID("otx"), ProjectID: sw.ProjectID, Mode: sw.Mode, ChainID: sw.ChainID, Purpose: PurposeSweep,
		PurposeID: sw.ID, From: l.Address, To: sw.Token, Value: new(big.Int), Data: s.Encoder.TokenTransfer(to, l.Amount),
		GasLimit: TopUpTransferGas, After: topUp.ID, Status: OutQueued, CreatedAt: now, UpdatedAt: now}
	sw.OutgoingID = transfer.ID
	return []*OutgoingTx{topUp, transfer}
}

// estimateGas is the plan's gas: each sweep's transaction (an address's first sweep costs more:
// its authorization), and the sweeper's deployment; or each address's top-up and transfer.
func (p *SweepPlan) estimateGas() uint64 {
	var gas uint64
	if p.Method == SweepTopUp {
		return uint64(len(p.Sweeps)) * (21_000 + TopUpTransferGas)
	}
	if p.NeedsSweeper {
		gas += DeploySweeperGas
	}
	for _, sw := range p.Sweeps {
		gas += SweepBaseGas + uint64(len(sw.Legs))*SweepAddressGas
	}
	return gas
}

// sweepTx is the transaction of a sweep: the hot wallet calls its sweeper's sweepMany, with an
// authorization of each address delegating it to the sweeper (the sender leaves out those
// already delegated).
func (s *Service) sweepTx(sw *Sweep, sweeper string, now time.Time) *OutgoingTx {
	token, _ := chain.ParseAddress(chain.EVM, sw.Token)
	from := make([][20]byte, len(sw.Legs))
	amounts := make([]*big.Int, len(sw.Legs))
	authorize := make([]string, len(sw.Legs))
	for i, l := range sw.Legs {
		from[i], _ = chain.ParseAddress(chain.EVM, l.Address)
		amounts[i], authorize[i] = l.Amount, l.Address
	}
	t := &OutgoingTx{ID: NewID("otx"), ProjectID: sw.ProjectID, Mode: sw.Mode, ChainID: sw.ChainID, Purpose: PurposeSweep, PurposeID: sw.ID,
		From: sw.To, To: sweeper, Value: new(big.Int), Data: s.Encoder.SweepMany(token, from, amounts), Authorize: authorize, Delegate: sweeper,
		Status: OutQueued, CreatedAt: now, UpdatedAt: now}
	sw.OutgoingID, sw.Status = t.ID, SweepSending
	return t
}

func tokenSymbols(c chain.Chain) string {
	var s []string
	for _, t := range c.Tokens {
		s = append(s, t.Symbol)
	}
	return strings.Join(s, ", ")
}

// Sweeps returns the principal's sweeps, newest first.
func (s *Service) Sweeps(ctx context.Context, pr *Principal, limit int) ([]*Sweep, error) {
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	return s.Store.ListSweeps(ctx, pr.Project.ID, pr.Mode, limit)
}

// FindSweep returns one of the principal's sweeps.
func (s *Service) FindSweep(ctx context.Context, pr *Principal, id string) (*Sweep, error) {
	sw, err := s.Store.FindSweep(ctx, pr.Project.ID, pr.Mode, id)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(ENotFound, "id", "No sweep %s", id)
	}
	return sw, err
}

// outgoingEffects are what a transaction's final step does to the sweeps it serves: the
// sweeper's deployment confirmed sends the sweeps that waited for it; a sweep's transaction
// confirmed completes it with what its receipt moved; failed, it fails and nothing moved. Gas a
// mined transaction paid posts to the fees account.
func (s *Service) outgoingEffects(ctx context.Context, t *OutgoingTx, rc *Receipt) (*OutgoingEffects, error) {
	if t.Purpose == PurposeWithdrawal && !t.Status.Final() {
		fx := &OutgoingEffects{}
		if err := s.withdrawalTxEffects(ctx, t, rc, fx); err != nil || fx.Withdrawals == nil {
			return nil, err
		}
		return fx, nil
	}
	if !t.Status.Final() {
		return nil, nil
	}
	fx := &OutgoingEffects{}
	c, _ := s.ChainRegistry().Lookup(t.ChainID)
	if fee := t.Fee(); fee != nil && fee.Sign() > 0 && t.TxHash != "" {
		fx.Postings = append(fx.Postings, LedgerPosting{ProjectID: t.ProjectID, Mode: t.Mode, ChainID: t.ChainID, Currency: c.Native,
			From: AccountExternal, To: AccountFees, Amount: fee, Reason: "gas", TxHash: t.TxHash, At: t.UpdatedAt})
	}
	switch t.Purpose {
	case PurposeDeploySweeper, PurposeSweep:
	case PurposeWithdrawal:
		return fx, s.withdrawalTxEffects(ctx, t, rc, fx)
	case PurposeTreasury:
		send, err := s.Store.FindTreasurySend(ctx, t.PurposeID)
		if err != nil {
			return nil, err
		}
		send.Status = t.Status
		fx.Sends = append(fx.Sends, send)
		if t.Status == OutConfirmed {
			fx.Postings = append(fx.Postings, LedgerPosting{ProjectID: send.ProjectID, Mode: send.Mode, ChainID: send.ChainID, Currency: send.Currency,
				From: AccountAvailable, To: AccountExternal, Amount: send.Amount, Reason: "treasury", TxHash: t.TxHash, At: t.UpdatedAt})
		}
		return fx, nil
	default:
		return fx, nil
	}
	sweeps, err := s.Store.SweepsOf(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	now := t.UpdatedAt
	if t.Purpose == PurposeDeploySweeper {
		sw := &Sweeper{ProjectID: t.ProjectID, Mode: t.Mode, ChainID: t.ChainID, HotWallet: t.From, DeployID: t.ID}
		if t.Status == OutConfirmed && rc != nil && rc.ContractAddress != "" {
			sw.Address, sw.Deployed = rc.ContractAddress, true
			fx.Sweeper = sw
			for _, w := range sweeps {
				fx.Queue = append(fx.Queue, s.sweepTx(w, sw.Address, now))
				w.UpdatedAt = now
				fx.Sweeps = append(fx.Sweeps, w)
			}
			return fx, nil
		}
		fx.Sweeper = sw // not deployed: forgotten, the next sweep deploys again
		for _, w := range sweeps {
			s.failSweep(fx, w, "the sweeper's deployment failed: "+t.Failure, now)
		}
		return fx, nil
	}
	for _, w := range sweeps {
		w.TxHash, w.GasUsed, w.Fee, w.UpdatedAt = t.TxHash, t.GasUsed, t.Fee(), now
		if t.Status != OutConfirmed || rc == nil {
			s.failSweep(fx, w, t.Failure, now)
			continue
		}
		moved := movedTo(rc, w.Token, w.To)
		for i := range w.Legs {
			l := &w.Legs[i]
			l.Moved = new(big.Int)
			if m := moved[strings.ToLower(l.Address)]; m != nil {
				l.Moved = m
			}
		}
		w.Status, w.CompletedAt = SweepCompleted, &now
		fx.Sweeps = append(fx.Sweeps, w)
		fx.Events = append(fx.Events, s.sweepEvent(w, EventSweepCompleted))
		if err := s.forwardToTreasury(ctx, fx, w, c, now); err != nil {
			return nil, err
		}
	}
	return fx, nil
}

// forwardToTreasury queues, after a completed sweep, the send of what the hot wallet then holds of
// its token above the ceiling of the chain's treasury, when one is set.
func (s *Service) forwardToTreasury(ctx context.Context, fx *OutgoingEffects, w *Sweep, c chain.Chain, now time.Time) error {
	treasuries, err := s.Store.ListTreasuries(ctx, w.ProjectID, w.Mode)
	if err != nil {
		return err
	}
	var tr *Treasury
	for i := range treasuries {
		if treasuries[i].ChainID == w.ChainID {
			tr = &treasuries[i]
		}
	}
	if tr == nil {
		return nil
	}
	tok, _ := c.Token(w.Currency)
	ceiling, err := money.Parse(tr.Ceiling, tok.Decimals)
	if err != nil {
		return fmt.Errorf("treasury ceiling %q: %w", tr.Ceiling, err)
	}
	held, err := s.Store.HotWalletHoldings(ctx, w.ProjectID, w.Mode, w.ChainID)
	if err != nil {
		return err
	}
	after := new(big.Int).Add(w.Moved(), bigOr0(held[w.Currency])) // this sweep is not stored as moved yet
	excess := after.Sub(after, ceiling)
	if excess.Sign() <= 0 {
		return nil
	}
	to, _ := chain.ParseAddress(chain.EVM, tr.Address)
	send := &TreasurySend{ID: NewID("trs"), ProjectID: w.ProjectID, Mode: w.Mode, ChainID: w.ChainID, Currency: w.Currency, Amount: excess,
		To: tr.Address, Status: OutQueued}
	tx := &OutgoingTx{ID: NewID("otx"), ProjectID: w.ProjectID, Mode: w.Mode, ChainID: w.ChainID, Purpose: PurposeTreasury, PurposeID: send.ID,
		From: w.To, To: w.Token, Value: new(big.Int), Data: s.Encoder.TokenTransfer(to, excess), Status: OutQueued, CreatedAt: now, UpdatedAt: now}
	send.OutgoingID = tx.ID
	fx.Sends = append(fx.Sends, send)
	fx.Queue = append(fx.Queue, tx)
	return nil
}

func bigOr0(v *big.Int) *big.Int {
	if v == nil {
		return new(big.Int)
	}
	return v
}

func (s *Service) failSweep(fx *OutgoingEffects, w *Sweep, reason string, now time.Time) {
	w.Status, w.Failure, w.UpdatedAt, w.CompletedAt = SweepFailed, reason, now, &now
	for i := range w.Legs {
		w.Legs[i].Moved = new(big.Int)
	}
	fx.Sweeps = append(fx.Sweeps, w)
	fx.Events = append(fx.Events, s.sweepEvent(w, EventSweepFailed))
}

// movedTo sums the token's Transfer logs of the receipt that go to the hot wallet, by sender
// (lower-case hex).
func movedTo(rc *Receipt, token, hot string) map[string]*big.Int {
	out := map[string]*big.Int{}
	tok, _ := chain.ParseAddress(chain.EVM, token)
	to, _ := chain.ParseAddress(chain.EVM, hot)
	for _, l := range rc.Logs {
		if l.Contract != tok || len(l.Topics) != 3 || l.Topics[0] != TransferTopic || len(l.Data) != 32 {
			continue
		}
		if [20]byte(l.Topics[2][12:]) != to {
			continue
		}
		from := "0x" + fmt.Sprintf("%x", l.Topics[1][12:])
		if out[from] == nil {
			out[from] = new(big.Int)
		}
		out[from].Add(out[from], new(big.Int).SetBytes(l.Data))
	}
	return out
}

// sweepEvent is a sweep's webhook event.
func (s *Service) sweepEvent(w *Sweep, typ string) *Event {
	c, _ := s.ChainRegistry().Lookup(w.ChainID)
	return &Event{ID: NewID("evt"), Subject: w.ID, ProjectID: w.ProjectID, Mode: w.Mode, Type: typ, Data: SweepEventData(w, c), CreatedAt: w.UpdatedAt}
}

// SweepEventData is the data of a sweep.completed or sweep.failed event: the sweep, each address
// with what the ledger said it held and what moved, the transaction and the gas it paid.
func SweepEventData(w *Sweep, c chain.Chain) json.RawMessage {
	tok, _ := c.Token(w.Currency)
	legs := make([]map[string]any, 0, len(w.Legs))
	for _, l := range w.Legs {
		moved := l.Moved
		if moved == nil {
			moved = new(big.Int)
		}
		leg := map[string]any{"address": l.Address, "amount": money.Format(l.Amount, tok.Decimals), "moved": money.Format(moved, tok.Decimals)}
		if l.OrderID != "" {
			leg["orderId"] = l.OrderID
		}
		if l.DepositID != "" {
			leg["depositId"] = l.DepositID
		}
		legs = append(legs, leg)
	}
	d := map[string]any{"sweepId": w.ID, "status": w.Status, "method": w.Method, "chainId": w.ChainID, "currency": w.Currency, "tokenAddress": w.Token,
		"to": w.To, "amount": money.Format(w.Total(), tok.Decimals), "moved": money.Format(w.Moved(), tok.Decimals), "addresses": legs,
		"txHash": w.TxHash, "gasUsed": w.GasUsed, "fee": "0", "feeCurrency": c.Native, "livemode": w.Mode.Live()}
	if w.Fee != nil {
		d["fee"] = money.Format(w.Fee, c.NativeDecimals()) // a transaction never mined paid none
	}
	if w.Failure != "" {
		d["failure"] = w.Failure
	}
	return MarshalJSON(d)
}

// sortHoldings orders holdings by address, for batches that do not depend on the store's order.
func sortHoldings(hs []Holding) {
	slices.SortFunc(hs, func(a, b Holding) int { return strings.Compare(a.Address, b.Address) })
}
