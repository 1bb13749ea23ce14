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

// Withdrawals move money out: a payout from the project's balance, or a user withdrawal from the
// balance of one of its deposit references (3PAY's per-user wallets). The amount is held in the
// ledger from the moment the withdrawal is created (available → held, and out of the user's
// balance), so a balance never promises the same money twice; rejection or failure releases it,
// completion sends it to external. Nothing is sent before the merchant approves it with the API
// secret (or the project's policy approves it), and then only through the chain's sender, from
// the hot wallet, one transfer per withdrawal: persisted before it is broadcast, completed only
// with the chain's confirmations and a receipt whose Transfer log moved exactly the amount to the
// destination.

// WithdrawalStatus is where a withdrawal is.
type WithdrawalStatus string

// The states: pending_approval → approved → broadcast → completed; approved ⇄ awaiting_funds
// (the hot wallet lacks the token or its gas); pending_approval, approved (nothing sent yet) or
// awaiting_funds → rejected; approved or broadcast → failed (its transaction reverted, would have
// reverted, or was dropped). Rejected and failed release the amount.
const (
	WithdrawalPendingApproval WithdrawalStatus = "pending_approval"
	WithdrawalApproved        WithdrawalStatus = "approved"
	WithdrawalAwaitingFunds   WithdrawalStatus = "awaiting_funds"
	WithdrawalBroadcast       WithdrawalStatus = "broadcast"
	WithdrawalCompleted       WithdrawalStatus = "completed"
	WithdrawalRejected        WithdrawalStatus = "rejected"
	WithdrawalFailed          WithdrawalStatus = "failed"
)

// WithdrawalStatuses are the states, in the order of a withdrawal's life.
var WithdrawalStatuses = []WithdrawalStatus{WithdrawalPendingApproval, WithdrawalApproved, WithdrawalAwaitingFunds, WithdrawalBroadcast,
	WithdrawalCompleted, WithdrawalRejected, WithdrawalFailed}

// Final reports whether nothing more happens to a withdrawal in the status.
func (s WithdrawalStatus) Final() bool {
	return s == WithdrawalCompleted || s == WithdrawalRejected || s == WithdrawalFailed
}

// Holds reports whether a withdrawal in the status holds its amount in the ledger.
func (s WithdrawalStatus) Holds() bool { return !s.Final() }

// Events of withdrawals.
const (
	EventWithdrawalCreated   = "withdrawal.created"
	EventWithdrawalApproved  = "withdrawal.approved"
	EventWithdrawalRejected  = "withdrawal.rejected"
	EventWithdrawalBroadcast = "withdrawal.broadcast"
	EventWithdrawalCompleted = "withdrawal.completed"
	EventWithdrawalFailed    = "withdrawal.failed"
)

// Error codes of withdrawals.
const (
	// ELimitExceeded: the project's withdrawal policy refuses the amount (its daily limit).
	ELimitExceeded = "LimitExceeded"
)

// AccountHeld is the ledger account of withdrawals not yet final: out of available, not yet gone.
const AccountHeld = "held"

// PurposeWithdrawal is the purpose of a withdrawal's transaction.
const PurposeWithdrawal = "withdrawal"

// WithdrawalGas is what the hot wallet must be able to pay, at the network's max fee now, before
// a withdrawal's transfer is queued (a token transfer uses ~35,000–65,000; the sender estimates
// each when it signs).
const WithdrawalGas = 100_000

// Withdrawal is one transfer out of the merchant's custody.
type Withdrawal struct {
	ID        string
	ProjectID string
	Mode      Mode
	Reference string // the merchant's unique id
	ChainID   string
	Currency  string
	Token     string // the token's contract
	Amount    *big.Int
	Address   string // the destination
	// DepositReference and DepositID name the deposit reference whose user balance pays it (a
	// user withdrawal); empty for a payout from the project's balance.
	DepositReference string
	DepositID        string
	Metadata         json.RawMessage
	Status           WithdrawalStatus
	// CreatedBy is the API key (credential id) that created it; Approvals who approved it.
	CreatedBy string
	Approvals []WithdrawalApproval
	// Reason is why it was rejected; Waiting why it awaits funds; Failure why it failed.
	Reason  string
	Waiting string
	Failure string
	// From is the hot wallet it leaves from; OutgoingID its transaction (once queued), and
	// TxHash, GasUsed and Fee (wei) what that transaction did.
	From        string
	OutgoingID  string
	TxHash      string
	GasUsed     uint64
	Fee         *big.Int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt *time.Time
	// History is every change, oldest first (read by FindWithdrawal).
	History []WithdrawalChange
}

// WithdrawalApproval is one approval of a withdrawal: by an API key (its credential id), or by
// the project's policy ("policy").
type WithdrawalApproval struct {
	By string
	At time.Time
}

// ApprovedByPolicy is the approver of a withdrawal the policy approved.
const ApprovedByPolicy = "policy"

// WithdrawalChange is one entry of a withdrawal's history.
type WithdrawalChange struct {
	At     time.Time
	Status WithdrawalStatus
	Note   string
}

// WithdrawalInput is a withdrawal as the merchant asks for it.
type WithdrawalInput struct {
	Reference        string
	Amount           string
	Currency         string
	ChainID          string
	Address          string
	DepositReference string
	Metadata         json.RawMessage
	// AllowOwnAddress allows a destination that is one of stablegate's own addresses (an order's,
	// a deposit's, the hot wallet).
	AllowOwnAddress bool
}

// WithdrawalFilter selects withdrawals of one project and mode.
type WithdrawalFilter struct {
	ProjectID        string
	Mode             Mode
	Status           WithdrawalStatus
	ChainID          string
	Currency         string
	DepositReference string
	Page             int
	Limit            int
}

// WithdrawalSave is a change of a withdrawal to store: its new state, the status it had (empty:
// a new one) and the history entry. The store refuses it (ErrChanged) when the stored status is
// not From any more.
type WithdrawalSave struct {
	W      *Withdrawal
	From   WithdrawalStatus
	Change WithdrawalChange
}

// WithdrawalEffects are what a change of withdrawals writes with it, in the same transaction.
type WithdrawalEffects struct {
	Saves    []WithdrawalSave
	Postings []LedgerPosting
	Events   []*Event
	Queue    []*OutgoingTx
}

// ErrBalance is what a store returns when a posting would take a balance below zero.
var ErrBalance = errors.New("balance would go negative")

// WithdrawalStore keeps withdrawals, their policy, the allowlisted destinations and the user
// balances.
type WithdrawalStore interface {
	// InWithdrawalTx runs fn in one write transaction.
	InWithdrawalTx(ctx context.Context, fn func(WithdrawalTx) error) error
	FindWithdrawal(ctx context.Context, projectID string, mode Mode, id string) (*Withdrawal, error)
	ListWithdrawals(ctx context.Context, f WithdrawalFilter) ([]*Withdrawal, int, error)
	// WithdrawalOf is the withdrawal whose transaction is outgoingID (ErrNotFound).
	WithdrawalOf(ctx context.Context, outgoingID string) (*Withdrawal, error)
	// WithdrawalsToSend are the chain's approved and awaiting_funds withdrawals with no
	// transaction yet, oldest first, at most limit.
	WithdrawalsToSend(ctx context.Context, chainID string, limit int) ([]*Withdrawal, error)
	// InFlightFrom is what the outgoing transactions of withdrawals and treasury sends from the
	// address on the chain will take of each token and have not been confirmed yet, by currency.
	InFlightFrom(ctx context.Context, chainID, from string) (map[string]*big.Int, error)
	// WithdrawalPolicy is the project's policy in the mode (DefaultWithdrawalPolicy when none was
	// set).
	WithdrawalPolicy(ctx context.Context, projectID string, mode Mode) (*WithdrawalPolicy, error)
	SetWithdrawalPolicy(ctx context.Context, p *WithdrawalPolicy) error
	ListDestinations(ctx context.Context, projectID string, mode Mode) ([]Destination, error)
	// AddDestination stores d, or returns the destination already stored for its address.
	AddDestination(ctx context.Context, d *Destination) (existing *Destination, err error)
	RemoveDestination(ctx context.Context, projectID string, mode Mode, protocol chain.Protocol, address string) error
	// UserBalances are the deposit binding's balances per chain and currency: Available its
	// confirmed deposits less its withdrawals held or completed, Held those not final yet
	// (Pending is left zero).
	UserBalances(ctx context.Context, depositID string) ([]Balance, error)
	// OwnAddress reports whether the address is one stablegate watches (an order's or a
	// deposit's, of any project).
	OwnAddress(ctx context.Context, p chain.Protocol, address string) (bool, error)
}

// WithdrawalTx is what a withdrawal's change reads and writes in its transaction.
type WithdrawalTx interface {
	// LockPolicy is the project's policy in the mode, locked until the transaction ends: the
	// creations of a project (its daily limit, its references) run one at a time.
	LockPolicy(ctx context.Context, projectID string, mode Mode) (*WithdrawalPolicy, error)
	// SharePolicy is the policy, kept from changing until the transaction ends but shared:
	// approvals of different withdrawals run side by side.
	SharePolicy(ctx context.Context, projectID string, mode Mode) (*WithdrawalPolicy, error)
	// LockWithdrawal returns a withdrawal of the project and mode, locked (ErrNotFound).
	LockWithdrawal(ctx context.Context, projectID string, mode Mode, id string) (*Withdrawal, error)
	// WithdrawalByReference returns the withdrawal with the merchant reference (ErrNotFound).
	WithdrawalByReference(ctx context.Context, projectID string, mode Mode, ref string) (*Withdrawal, error)
	// Withdrawn is the sum of the currency's withdrawals of the project and mode created since
	// the time that were not rejected or failed.
	Withdrawn(ctx context.Context, projectID string, mode Mode, currency string, since time.Time) (*big.Int, error)
	// Apply writes the effects: the withdrawals saved, the ledger posted (ErrBalance when a
	// balance would go below zero), the events and transactions queued.
	Apply(ctx context.Context, fx *WithdrawalEffects) error
}

// CreateWithdrawal creates a withdrawal and holds its amount, or returns the one already created
// under the same reference (created false; another amount, currency, chain, address or deposit
// reference under it is a conflict). It needs the API secret.
func (s *Service) CreateWithdrawal(ctx context.Context, pr *Principal, in WithdrawalInput) (*Withdrawal, bool, error) {
	if err := RequireSecret(pr); err != nil {
		return nil, false, err
	}
	w, c, err := s.validateWithdrawal(ctx, pr, in)
	if err != nil {
		return nil, false, err
	}
	var binding *DepositBinding
	if in.DepositReference != "" {
		b, err := s.depositBinding(ctx, pr, in.DepositReference)
		if err != nil {
			return nil, false, err
		}
		binding = b
		w.DepositReference, w.DepositID = b.Reference, b.ID
	}
	policy, err := s.Store.WithdrawalPolicy(ctx, pr.Project.ID, pr.Mode)
	if err != nil {
		return nil, false, err
	}
	if policy.Allowlist {
		if err := s.allowlisted(ctx, pr, c, w.Address, policy); err != nil {
			return nil, false, err
		}
	}
	tok, _ := c.Token(w.Currency)
	var existing *Withdrawal
	audit := &AuditEntry{ID: NewID("aud"), ProjectID: pr.Project.ID, Mode: pr.Mode, Actor: ActorFrom(ctx), Action: AuditWithdrawalRequested,
		Subject: w.ID, Details: map[string]any{"reference": w.Reference, "amount": money.Format(w.Amount, tok.Decimals), "currency": w.Currency,
			"chainId": w.ChainID, "address": w.Address, "depositReference": w.DepositReference}, CreatedAt: w.CreatedAt}
	errReplay := errors.New("the reference's withdrawal exists")
	err = s.Store.InWithdrawalTx(Audited(ctx, audit), func(tx WithdrawalTx) error {
		existing = nil
		// The policy's lock first: a second request with the same reference waits for the first,
		// then finds its withdrawal.
		policy, err := tx.LockPolicy(ctx, pr.Project.ID, pr.Mode)
		if err != nil {
			return err
		}
		if old, err := tx.WithdrawalByReference(ctx, pr.Project.ID, pr.Mode, w.Reference); err == nil {
			existing = old
			return errReplay // nothing to write, and nothing to audit
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if limit, ok := policy.DailyLimits[w.Currency]; ok {
			if err := s.checkDailyLimit(ctx, tx, w, tok, limit); err != nil {
				return err
			}
		}
		fx := s.createdEffects(w, policy, tok, pr)
		audit.Details["status"] = string(w.Status)
		if err := tx.Apply(ctx, fx); errors.Is(err, ErrBalance) {
			return s.insufficient(ctx, pr, w, binding, tok)
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil && !errors.Is(err, errReplay) {
		return nil, false, err
	}
	if existing != nil {
		if existing.Amount.Cmp(w.Amount) != 0 || existing.Currency != w.Currency || existing.ChainID != w.ChainID ||
			!strings.EqualFold(existing.Address, w.Address) || existing.DepositReference != w.DepositReference {
			return nil, false, Errorf(EConflict, "reference", "Withdrawal reference %q was already used for another withdrawal (%s %s on %s to %s)",
				w.Reference, money.Format(existing.Amount, tok.Decimals), existing.Currency, existing.ChainID, existing.Address)
		}
		return existing, false, nil
	}
	if w.Status == WithdrawalApproved {
		s.wakeWithdrawals()
	}
	return w, true, nil
}

// createdEffects are what a new withdrawal writes: itself (approved at once when the policy
// approves it), its hold, and its events.
func (s *Service) createdEffects(w *Withdrawal, policy *WithdrawalPolicy, tok chain.Token, pr *Principal) *WithdrawalEffects {
	fx := &WithdrawalEffects{}
	note := "created by " + pr.Who()
	w.Status = WithdrawalPendingApproval
	created := *w
	fx.Events = append(fx.Events, s.withdrawalEvent(&created, EventWithdrawalCreated))
	if policy.AutoApproves(w.Amount, tok) {
		w.Status = WithdrawalApproved
		w.Approvals = []WithdrawalApproval{{By: ApprovedByPolicy, At: w.CreatedAt}}
		note += "; approved by the policy (below its autoApproveBelow)"
		fx.Events = append(fx.Events, s.withdrawalEvent(w, EventWithdrawalApproved))
	}
	fx.Saves = []WithdrawalSave{{W: w, Change: WithdrawalChange{At: w.CreatedAt, Status: w.Status, Note: note}}}
	fx.Postings = []LedgerPosting{s.withdrawalPosting(w, AccountAvailable, AccountHeld, "withdrawal", w.CreatedAt)}
	return fx
}

// withdrawalPosting moves a withdrawal's amount between two accounts; into or out of available,
// it moves its user's balance too.
func (s *Service) withdrawalPosting(w *Withdrawal, from, to, reason string, at time.Time) LedgerPosting {
	p := LedgerPosting{ProjectID: w.ProjectID, Mode: w.Mode, ChainID: w.ChainID, Currency: w.Currency, From: from, To: to, Amount: w.Amount,
		Reason: reason, TxHash: w.TxHash, At: at}
	if from == AccountAvailable || to == AccountAvailable {
		p.User = w.DepositID
	}
	return p
}

// insufficient is the error of a withdrawal larger than what its balance has available.
func (s *Service) insufficient(ctx context.Context, pr *Principal, w *Withdrawal, b *DepositBinding, tok chain.Token) error {
	have := new(big.Int)
	whose := "the project's"
	if b != nil {
		whose = fmt.Sprintf("deposit reference %q's", b.Reference)
		if bs, err := s.Store.UserBalances(ctx, b.ID); err == nil { // a read after the refusal, for its message
			for _, ub := range bs {
				if ub.ChainID == w.ChainID && ub.Currency == w.Currency {
					have = ub.Available
				}
			}
		}
	} else if bs, err := s.Store.Balances(ctx, pr.Project.ID, pr.Mode); err == nil {
		for _, ub := range bs {
			if ub.ChainID == w.ChainID && ub.Currency == w.Currency {
				have = ub.Available
			}
		}
	}
	return Errorf(EInsufficientFunds, "amount", "amount %s %s is more than %s available balance on %s (%s %s); nothing was held",
		money.Format(w.Amount, tok.Decimals), w.Currency, whose, w.ChainID, money.Format(have, tok.Decimals), w.Currency)
}

// checkDailyLimit refuses a withdrawal that would take the currency's withdrawals of the last 24
// hours above the policy's daily limit.
func (s *Service) checkDailyLimit(ctx context.Context, tx WithdrawalTx, w *Withdrawal, tok chain.Token, limit string) error {
	max, err := money.Parse(limit, tok.Decimals)
	if err != nil {
		return fmt.Errorf("daily limit %q: %w", limit, err)
	}
	spent, err := tx.Withdrawn(ctx, w.ProjectID, w.Mode, w.Currency, w.CreatedAt.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	if after := new(big.Int).Add(spent, w.Amount); after.Cmp(max) > 0 {
		left := new(big.Int).Sub(max, spent)
		if left.Sign() < 0 {
			left.SetInt64(0)
		}
		return Errorf(ELimitExceeded, "amount", "amount %s %s would exceed the daily withdrawal limit of %s %s: %s were withdrawn in the last 24 hours, %s %s remain",
			money.Format(w.Amount, tok.Decimals), w.Currency, limit, w.Currency, money.Format(spent, tok.Decimals), money.Format(left, tok.Decimals), w.Currency)
	}
	return nil
}

// validateWithdrawal checks a withdrawal's input and returns the withdrawal it describes.
func (s *Service) validateWithdrawal(ctx context.Context, pr *Principal, in WithdrawalInput) (*Withdrawal, chain.Chain, error) {
	var missing []string
	for _, f := range []struct{ name, v string }{{"reference", in.Reference}, {"amount", in.Amount}, {"currency", in.Currency}, {"chainId", in.ChainID},
		{"address", in.Address}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, chain.Chain{}, Errorf(EInvalid, missing[0], "Required fields: %s", strings.Join(missing, ", "))
	}
	if !validReference(in.Reference) {
		return nil, chain.Chain{}, Errorf(EInvalid, "reference", "reference must be 1 to %d printable characters", MaxReferenceLength)
	}
	if in.DepositReference != "" && !validReference(in.DepositReference) {
		return nil, chain.Chain{}, Errorf(EInvalid, "depositReference", "depositReference must be 1 to %d printable characters", MaxReferenceLength)
	}
	c, tok, verr := s.ResolveToken(pr.Mode, in.ChainID, in.Currency)
	if verr != nil {
		return nil, c, verr
	}
	amount, err := money.ParsePositive(in.Amount, tok.Decimals)
	if err != nil {
		msg := fmt.Sprintf("amount %v", err)
		if errors.Is(err, money.ErrTooPrecise) {
			msg = fmt.Sprintf("amount has more than %d decimal places, the most %s on %s allows", tok.Decimals, tok.Symbol, c.Slug)
		}
		return nil, c, Errorf(EInvalid, "amount", "%s", msg)
	}
	addr, verr := CheckDestination(c, in.Address)
	if verr != nil {
		return nil, c, verr
	}
	if c.Protocol == chain.TRON {
		return nil, c, Errorf(EInvalid, "chainId", "Withdrawals on %s are not supported yet: stablegate sends on EVM chains only for now; nothing was held", c.Name)
	}
	meta, verr := compactMetadata(in.Metadata)
	if verr != nil {
		return nil, c, verr
	}
	hot, err := s.HotWalletAddress(ctx, pr.Project.ID, pr.Mode, c.Slug)
	if err != nil {
		return nil, c, err
	}
	if !in.AllowOwnAddress {
		own := strings.EqualFold(addr, hot)
		if !own {
			if own, err = s.Store.OwnAddress(ctx, c.Protocol, addr); err != nil {
				return nil, c, err
			}
		}
		if own {
			return nil, c, Errorf(EInvalid, "address", "address %s is one of this gateway's own addresses (an order's, a deposit's or a hot wallet): "+
				"send allowOwnAddress: true if that is meant", addr)
		}
	}
	if err := s.checkBlacklist(ctx, c, tok, addr); err != nil {
		return nil, c, err
	}
	now := s.now()
	return &Withdrawal{ID: NewID("wdr"), ProjectID: pr.Project.ID, Mode: pr.Mode, Reference: in.Reference, ChainID: c.Slug, Currency: tok.Symbol,
		Token: tok.Address, Amount: amount, Address: addr, Metadata: meta, CreatedBy: pr.ActorID(), From: hot, CreatedAt: now, UpdatedAt: now}, c, nil
}

// CheckDestination checks a withdrawal's destination on the chain and returns it in canonical
// form: an address of the chain's family (another family's is NetworkMismatch), with a valid
// EIP-55 checksum when in mixed case, not the zero address, not a token contract of the registry.
func CheckDestination(c chain.Chain, address string) (string, *Error) {
	if why := TextProblem(address); why != "" {
		return "", Errorf(EInvalid, "address", "address %s", why)
	}
	other := chain.TRON
	if c.Protocol == chain.TRON {
		other = chain.EVM
	}
	raw, err := chain.ParseAddress(c.Protocol, address)
	if err != nil {
		if _, oerr := chain.ParseAddress(other, address); oerr == nil || other == chain.EVM && strings.HasPrefix(address, "0x") {
			return "", Errorf(ENetworkMismatch, "address", "address %s is a %s address, but %s is a %s chain: send to an address of %s",
				address, familyName(other), c.Slug, familyName(c.Protocol), c.Name)
		}
		return "", Errorf(EInvalid, "address", "address %q is not a valid %s address: %v", address, familyName(c.Protocol), err)
	}
	if raw == [20]byte{} {
		return "", Errorf(EInvalid, "address", "address is the zero address: whatever is sent there is lost")
	}
	canonical := chain.FormatAddress(c.Protocol, raw)
	for _, t := range c.Tokens {
		if tr, err := chain.ParseAddress(c.Protocol, t.Address); err == nil && tr == raw {
			return "", Errorf(EInvalid, "address", "address %s is the %s token contract on %s: tokens sent to it are lost", canonical, t.Symbol, c.Slug)
		}
	}
	return canonical, nil
}

func familyName(p chain.Protocol) string {
	if p == chain.TRON {
		return "TRON"
	}
	return "EVM"
}

// Blacklists is implemented by node clients that can read a token's blacklist (Nodes).
type Blacklists interface {
	// Blacklisted calls the token's isBlackListed(address); known is false when the contract has
	// no such function.
	Blacklisted(ctx context.Context, chainID string, token, holder [20]byte) (blacklisted, known bool, err error)
}

// checkBlacklist refuses a USDT destination that the token's contract has blacklisted (Tether's
// isBlackListed): what is sent there can never be moved again.
func (s *Service) checkBlacklist(ctx context.Context, c chain.Chain, tok chain.Token, addr string) error {
	bl, ok := s.Nodes.(Blacklists)
	if !ok || tok.Symbol != "USDT" || c.Protocol != chain.EVM {
		return nil
	}
	token, _ := chain.ParseAddress(c.Protocol, tok.Address)
	holder, _ := chain.ParseAddress(c.Protocol, addr)
	listed, _, err := bl.Blacklisted(ctx, c.Slug, token, holder)
	if err != nil {
		return fmt.Errorf("withdrawal: %s's blacklist: %w", tok.Symbol, err)
	}
	if listed {
		return Errorf(EInvalid, "address", "address %s is blacklisted by the %s contract on %s (isBlackListed): it could never move what it received", addr, tok.Symbol, c.Slug)
	}
	return nil
}

// ApproveWithdrawal approves a pending withdrawal with the API secret. Approving it again, or a
// withdrawal that is not pending, is a conflict that changes nothing. When the policy asks for
// two approvals, the key that created it cannot be the only one: the first approval is recorded
// and the withdrawal waits for a second key's.
func (s *Service) ApproveWithdrawal(ctx context.Context, pr *Principal, id string) (*Withdrawal, error) {
	if err := RequireSecret(pr); err != nil {
		return nil, err
	}
	var w *Withdrawal
	audit := &AuditEntry{ID: NewID("aud"), ProjectID: pr.Project.ID, Mode: pr.Mode, Actor: ActorFrom(ctx), Action: AuditWithdrawalApproved,
		Subject: id, Details: map[string]any{}, CreatedAt: s.now()}
	err := s.Store.InWithdrawalTx(Audited(ctx, audit), func(tx WithdrawalTx) error {
		policy, err := tx.SharePolicy(ctx, pr.Project.ID, pr.Mode)
		if err != nil {
			return err
		}
		if w, err = s.lockWithdrawal(ctx, tx, pr, id); err != nil {
			return err
		}
		if w.Status != WithdrawalPendingApproval {
			return Errorf(EConflict, "id", "Withdrawal %s is %s: only a pending_approval withdrawal can be approved; nothing was sent", w.ID, w.Status)
		}
		by := pr.ActorID()
		for _, a := range w.Approvals {
			if a.By == by {
				return Errorf(EConflict, "id", "Withdrawal %s was already approved by this %s: it needs a second approval from another key or user", w.ID,
					pr.actorKind())
			}
		}
		now := s.now()
		from := w.Status
		w.Approvals = append(w.Approvals, WithdrawalApproval{By: by, At: now})
		w.UpdatedAt = now
		fx := &WithdrawalEffects{}
		note := "approved by " + pr.Who()
		need := policy.ApprovalsNeeded(w)
		audit.Details["approvals"], audit.Details["approvalsNeeded"] = len(w.Approvals), need
		if len(w.Approvals) < need {
			note += fmt.Sprintf(" (%d of %d approvals: the key that created it cannot be the only one)", len(w.Approvals), need)
		} else {
			w.Status = WithdrawalApproved
			fx.Events = append(fx.Events, s.withdrawalEvent(w, EventWithdrawalApproved))
		}
		fx.Saves = []WithdrawalSave{{W: w, From: from, Change: WithdrawalChange{At: now, Status: w.Status, Note: note}}}
		return tx.Apply(ctx, fx)
	})
	if err != nil {
		return nil, err
	}
	if w.Status == WithdrawalApproved {
		s.wakeWithdrawals()
	}
	return w, nil
}

// RejectWithdrawal rejects a withdrawal nothing was sent for yet (pending approval, approved but
// not queued, or awaiting funds) with the API secret, and releases its amount.
func (s *Service) RejectWithdrawal(ctx context.Context, pr *Principal, id, reason string) (*Withdrawal, error) {
	if err := RequireSecret(pr); err != nil {
		return nil, err
	}
	if len(reason) > 1000 || TextProblem(reason) != "" {
		return nil, Errorf(EInvalid, "reason", "reason must be at most 1000 characters of text")
	}
	var w *Withdrawal
	ctx = s.audited(ctx, pr.Project.ID, pr.Mode, AuditWithdrawalRejected, id, map[string]any{"reason": reason})
	err := s.Store.InWithdrawalTx(ctx, func(tx WithdrawalTx) error {
		var err error
		if w, err = s.lockWithdrawal(ctx, tx, pr, id); err != nil {
			return err
		}
		switch {
		case w.Status == WithdrawalPendingApproval, w.Status == WithdrawalAwaitingFunds, w.Status == WithdrawalApproved && w.OutgoingID == "":
		case w.Status == WithdrawalApproved:
			return Errorf(EConflict, "id", "Withdrawal %s is approved and its transaction %s is queued: it can no longer be rejected", w.ID, w.OutgoingID)
		default:
			return Errorf(EConflict, "id", "Withdrawal %s is %s: only a withdrawal nothing was sent for can be rejected", w.ID, w.Status)
		}
		now := s.now()
		from := w.Status
		w.Status, w.Reason, w.UpdatedAt, w.CompletedAt = WithdrawalRejected, reason, now, &now
		note := "rejected by " + pr.Who()
		if reason != "" {
			note += ": " + reason
		}
		return tx.Apply(ctx, &WithdrawalEffects{
			Saves:    []WithdrawalSave{{W: w, From: from, Change: WithdrawalChange{At: now, Status: w.Status, Note: note}}},
			Postings: []LedgerPosting{s.withdrawalPosting(w, AccountHeld, AccountAvailable, "released", now)},
			Events:   []*Event{s.withdrawalEvent(w, EventWithdrawalRejected)},
		})
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (s *Service) lockWithdrawal(ctx context.Context, tx WithdrawalTx, pr *Principal, id string) (*Withdrawal, error) {
	w, err := tx.LockWithdrawal(ctx, pr.Project.ID, pr.Mode, id)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(ENotFound, "id", "No withdrawal %s", id)
	}
	return w, err
}

// FindWithdrawal returns one of the principal's withdrawals with its history.
func (s *Service) FindWithdrawal(ctx context.Context, pr *Principal, id string) (*Withdrawal, error) {
	w, err := s.Store.FindWithdrawal(ctx, pr.Project.ID, pr.Mode, id)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(ENotFound, "id", "No withdrawal %s", id)
	}
	return w, err
}

// ListWithdrawals returns the principal's withdrawals, newest first, and how many match.
func (s *Service) ListWithdrawals(ctx context.Context, pr *Principal, f WithdrawalFilter) ([]*Withdrawal, int, error) {
	f.ProjectID, f.Mode = pr.Project.ID, pr.Mode
	if f.Page < 1 {
		f.Page = 1
	}
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 100
	}
	if f.Status != "" && !validWithdrawalStatus(f.Status) {
		return nil, 0, Errorf(EInvalid, "status", "status %q is not one of %s", f.Status, withdrawalStatusList())
	}
	return s.Store.ListWithdrawals(ctx, f)
}

func validWithdrawalStatus(st WithdrawalStatus) bool {
	for _, s := range WithdrawalStatuses {
		if s == st {
			return true
		}
	}
	return false
}

func withdrawalStatusList() string {
	var out []string
	for _, s := range WithdrawalStatuses {
		out = append(out, string(s))
	}
	return strings.Join(out, ", ")
}

// UserBalances returns a deposit reference's balances per chain and currency (3PAY's wallet
// balance): available, its confirmed deposits less its withdrawals held or completed; held, its
// withdrawals not final yet; pending, its deposits waiting for confirmations.
func (s *Service) UserBalances(ctx context.Context, pr *Principal, ref string) ([]Balance, error) {
	b, err := s.depositBinding(ctx, pr, ref)
	if err != nil {
		return nil, err
	}
	bs, err := s.Store.UserBalances(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	trs, err := s.Store.DepositTransfers(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	for _, t := range trs {
		if !t.Credited() || t.Confirmed {
			continue
		}
		i := slices.IndexFunc(bs, func(x Balance) bool { return x.ChainID == t.ChainID && x.Currency == t.Currency })
		if i < 0 {
			bs = append(bs, Balance{ChainID: t.ChainID, Currency: t.Currency, Pending: new(big.Int), Available: new(big.Int), Held: new(big.Int)})
			i = len(bs) - 1
		}
		bs[i].Pending.Add(bs[i].Pending, t.Amount)
	}
	slices.SortFunc(bs, func(a, b Balance) int { return strings.Compare(a.ChainID+"/"+a.Currency, b.ChainID+"/"+b.Currency) })
	return bs, nil
}

// withdrawalEvent is a withdrawal's webhook event.
func (s *Service) withdrawalEvent(w *Withdrawal, typ string) *Event {
	c, _ := s.ChainRegistry().Lookup(w.ChainID)
	return &Event{ID: NewID("evt"), Subject: w.ID, ProjectID: w.ProjectID, Mode: w.Mode, Type: typ, Data: WithdrawalEventData(w, c), CreatedAt: w.UpdatedAt}
}

// WithdrawalEventData is the data of a withdrawal's event: the withdrawal as the API shows it.
func WithdrawalEventData(w *Withdrawal, c chain.Chain) json.RawMessage {
	tok, _ := c.Token(w.Currency)
	d := map[string]any{"withdrawalId": w.ID, "reference": w.Reference, "status": w.Status, "chainId": w.ChainID, "currency": w.Currency,
		"tokenAddress": w.Token, "amount": money.Format(w.Amount, tok.Decimals), "address": w.Address, "from": w.From, "livemode": w.Mode.Live()}
	if w.DepositReference != "" {
		d["depositReference"] = w.DepositReference
	}
	if w.TxHash != "" {
		d["txHash"] = w.TxHash
	}
	if w.Fee != nil {
		d["fee"], d["feeCurrency"] = money.Format(w.Fee, c.NativeDecimals()), c.Native
	}
	if w.Reason != "" {
		d["reason"] = w.Reason
	}
	if w.Failure != "" {
		d["failure"] = w.Failure
	}
	if meta := webhookMetadata(w.Metadata); meta != nil {
		d["metadata"] = meta
	}
	return MarshalJSON(d)
}
