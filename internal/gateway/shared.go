package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/money"
)

// Unique pay amounts on a shared address (Crypto Pay's model, BEpusdt's and epusdt's too): a
// project may have its orders on a chain paid to one address of its own instead of a fresh one
// each. Orders there are told apart by what the payer pays: the order's amount plus an offset that
// no other order holds on that address, chain and token (50.00 → 50.0134). The database decides
// who holds a pay amount (amount_reservations' primary key), so two orders created at once never
// share one; the scanner's transfer to the shared address is its order's payment only when its
// amount is exactly a held pay amount, and was made while the order held it. Any other transfer
// there is recorded as unmatched and reported (payment.unmatched), never credited.

// SharedAmounts is a project's setting for one chain: its orders there are paid to the project's
// shared address, each with an offset of Step to MaxOffset in steps of Step (decimal strings in
// the token's unit). 999 orders of one price may then be held at once with the defaults.
type SharedAmounts struct {
	Step      string `json:"step"`
	MaxOffset string `json:"maxOffset"`
}

// Defaults and bounds of SharedAmounts.
const (
	DefaultOffsetStep = "0.0001"
	DefaultMaxOffset  = "0.0999"
	// MaxOffsetLimit is the most an offset may be: what a payer pays above the price.
	MaxOffsetLimit = "1"
	// maxOffsetSteps bounds the offsets of a setting (Step to MaxOffset), so that they fit an int64
	// and a random pick among them is uniform.
	maxOffsetSteps = 1_000_000_000
)

// SharedHold is how long after an order's deadline (expiresAt + grace) its pay amount stays held:
// a late payment within it is still the order's; after it, a transfer of that amount is unmatched
// (and another order may take the amount).
const SharedHold = time.Hour

// ReservationSkew is how far a block's time may be from this gateway's clock. A pay amount is taken
// over only once its holder's hold ended this long ago, and a transfer is a holder's only when its
// block was made no earlier than this before the holder was created: so a payment made for the old
// holder is never the new one's, however late the scanner reads it.
const ReservationSkew = 2 * time.Minute

// offsetCandidates is how many random offsets one attempt of a create offers the store.
const offsetCandidates = 16

// EInsufficientAmounts: every offered pay amount of the order's price is held on the shared address.
const EInsufficientAmounts = "InsufficientAmounts"

// Reservation is a pay amount held on a shared address for one order.
type Reservation struct {
	ChainID, Address, Currency string
	PayAmount                  *big.Int
	OrderID                    string
	CreatedAt, Until           time.Time
}

// Holds reports whether a transfer to a shared address is the payment of the reservation's order:
// the same chain, address and registry token, exactly the pay amount, in a block made while the
// order held it (from its creation, less the skew, to the end of its hold).
func (r *Reservation) Holds(t *Transfer) bool {
	return t.Currency != "" && t.ChainID == r.ChainID && t.To == r.Address && t.Currency == r.Currency &&
		t.Amount != nil && t.Amount.Cmp(r.PayAmount) == 0 &&
		!t.BlockTime.IsZero() && !t.BlockTime.Before(r.CreatedAt.Add(-ReservationSkew)) && !t.BlockTime.After(r.Until)
}

// SharedRequest is what the store needs to give an order a pay amount on the shared address: the
// address, the offsets to try, in order (base units), and until when the one taken is held; a pay
// amount whose holder's hold ended before ReclaimBefore may be taken over.
type SharedRequest struct {
	Address       string
	Offsets       []*big.Int
	Until         time.Time
	ReclaimBefore time.Time
}

// offsets returns the setting's step in the token's base units and how many offsets it allows.
func (sa SharedAmounts) offsets(tok chain.Token) (step *big.Int, n int64, err error) {
	step, err = money.ParsePositive(sa.Step, tok.Decimals)
	if err != nil {
		return nil, 0, fmt.Errorf("step %v", err)
	}
	most, err := money.ParsePositive(sa.MaxOffset, tok.Decimals)
	if err != nil {
		return nil, 0, fmt.Errorf("maxOffset %v", err)
	}
	limit, _ := money.ParsePositive(MaxOffsetLimit, tok.Decimals)
	if most.Cmp(limit) > 0 {
		return nil, 0, fmt.Errorf("maxOffset must be at most %s", MaxOffsetLimit)
	}
	count := new(big.Int).Quo(most, step)
	if count.Sign() == 0 {
		return nil, 0, fmt.Errorf("maxOffset must be at least the step")
	}
	if count.Cmp(big.NewInt(maxOffsetSteps)) > 0 {
		return nil, 0, fmt.Errorf("the step is too small: maxOffset / step must be at most %d", maxOffsetSteps)
	}
	return step, count.Int64(), nil
}

// pickOffsets returns k distinct random offsets among step × 1..n (fewer when n < k).
func pickOffsets(step *big.Int, n int64, k int) []*big.Int {
	k = int(min(int64(k), n))
	seen := make(map[int64]bool, k)
	out := make([]*big.Int, 0, k)
	for len(out) < k {
		i := rand.Int64N(n) + 1
		if seen[i] {
			continue
		}
		seen[i] = true
		out = append(out, new(big.Int).Mul(step, big.NewInt(i)))
	}
	return out
}

// checkSharedAmounts checks a change of the setting: every chain exists, the project can derive
// an address on it, and the setting fits each of its tokens (nil: drop the chain's setting).
func (s *Service) checkSharedAmounts(p *Project, in map[string]*SharedAmounts) *Error {
	for slug, sa := range in {
		if sa == nil {
			continue
		}
		c, ok := s.ChainRegistry().Lookup(slug)
		if !ok {
			return Errorf(EInvalid, "sharedAddress", "sharedAddress: chain %q is not supported", slug)
		}
		if sa.Step == "" {
			sa.Step = DefaultOffsetStep
		}
		if sa.MaxOffset == "" {
			sa.MaxOffset = DefaultMaxOffset
		}
		for _, tok := range c.Tokens {
			if _, _, err := sa.offsets(tok); err != nil {
				return Errorf(EInvalid, "sharedAddress", "sharedAddress.%s: %v (%s on %s has %d decimals)", slug, err, tok.Symbol, slug, tok.Decimals)
			}
		}
		if p.XPubs[c.Protocol] == "" {
			return Errorf(EInvalid, "sharedAddress", "sharedAddress.%s: the project has no %s xpub to derive its shared address from", slug, c.Protocol)
		}
	}
	return nil
}

// sharedAddress returns the project's shared address of the principal's mode on the protocol,
// deriving and storing it the first time (a race between two creates is decided by the store).
func (s *Service) sharedAddress(ctx context.Context, pr *Principal, p chain.Protocol) (string, error) {
	key := pr.Project.ID + "/" + string(pr.Mode) + "/" + string(p)
	if v, ok := s.shared.Load(key); ok {
		return v.(string), nil
	}
	addr, err := s.Store.SharedAddress(ctx, pr.Project.ID, pr.Mode, p)
	if errors.Is(err, ErrNotFound) {
		req, aerr := s.addressFor(ctx, pr, p)
		if aerr != nil {
			return "", aerr
		}
		if req.Derived == nil {
			return "", Errorf(EInvalid, "sharedAddress", "a shared address is derived from the project's %s xpub, which it has none of", p)
		}
		addr, err = s.Store.AddSharedAddress(ctx, pr.Project.ID, pr.Mode, p, *req.Derived, s.now())
	}
	if err != nil {
		return "", err
	}
	s.shared.Store(key, addr) // once given, it never changes
	return addr, nil
}

// sharedRequest is what a new order o of a shared-address chain asks the store for.
func sharedRequest(o *Order, address string, sa SharedAmounts) (*SharedRequest, error) {
	step, n, err := sa.offsets(o.Token)
	if err != nil {
		return nil, Errorf(EInvalid, "sharedAddress", "the project's sharedAddress setting for %s: %v", o.ChainID, err)
	}
	return &SharedRequest{
		Address:       address,
		Offsets:       pickOffsets(step, n, offsetCandidates),
		Until:         o.Deadline().Add(SharedHold),
		ReclaimBefore: o.CreatedAt.Add(-ReservationSkew),
	}, nil
}

// matchShared gives each transfer to a shared address the order holding its amount, or marks it
// unmatched: recorded, reported, never credited.
func matchShared(ctx context.Context, tx PaymentTx, ts []*Transfer) error {
	var keys []*Transfer
	for _, t := range ts {
		// A token outside the registry, or a chain of the other mode, is ignored as anywhere.
		if t.Shared && t.OrderID == "" && !t.Unmatched && t.Credited() {
			keys = append(keys, t)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	held, err := tx.Reservations(ctx, keys)
	if err != nil {
		return err
	}
	for _, t := range keys {
		t.Unmatched, t.Ignored = true, true
		for _, r := range held {
			if r.Holds(t) {
				t.OrderID, t.Unmatched, t.Ignored = r.OrderID, false, false
				break
			}
		}
	}
	return nil
}

// EventPaymentUnmatched reports a transfer to a shared address that no order holds the amount of.
const EventPaymentUnmatched = "payment.unmatched"

// unmatchedEvent is the event of an unmatched transfer.
func (s *Service) unmatchedEvent(t *Transfer, now time.Time) *Event {
	tok, _ := s.ChainRegistry().Token(t.ChainID, t.Currency)
	return &Event{ID: NewID("evt"), Subject: fmt.Sprintf("unmatched:%s/%s/%d", t.ChainID, t.TxHash, t.LogIndex), ProjectID: t.ProjectID,
		Mode: t.Mode, Type: EventPaymentUnmatched, Data: UnmatchedEventData(t, tok), CreatedAt: now}
}

// UnmatchedEventData is the data of a payment.unmatched event: where the transfer went and what it
// was, in its token's units.
func UnmatchedEventData(t *Transfer, tok chain.Token) json.RawMessage {
	return MarshalJSON(map[string]any{"chainId": t.ChainID, "address": t.To, "txHash": t.TxHash, "logIndex": t.LogIndex,
		"blockNumber": t.BlockNumber, "from": t.From, "tokenAddress": t.Token, "currency": t.Currency, "amount": money.Format(t.Amount, tok.Decimals),
		"reason": "no order held this amount on the shared address when it was paid: recorded, not credited"})
}
