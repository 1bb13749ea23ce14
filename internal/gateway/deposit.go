package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/money"
)

// Deposit event types.
const (
	EventDepositPending   = "deposit.pending"
	EventDepositConfirmed = "deposit.confirmed"
	// EventDepositReorged: a reorganization removed the deposit's block; whatever the deposit
	// credited is reversed. If the transfer is mined again, it comes back as a new deposit.pending.
	EventDepositReorged = "deposit.reorged"
)

// DepositBinding is a permanent deposit address of one of the merchant's users (PayIn's bind): the
// address of a reference in a project and mode, watched on every chain of its protocol in that
// mode. Unbinding keeps it watched, so that a late deposit is still recorded.
type DepositBinding struct {
	ID        string
	ProjectID string
	Mode      Mode
	Reference string
	Protocol  chain.Protocol
	Address   string
	Metadata  json.RawMessage
	BoundAt   time.Time
	UnboundAt *time.Time
}

// Deposit statuses.
const (
	DepositPending   = "pending"   // seen, waiting for the chain's confirmations
	DepositConfirmed = "confirmed" // counts
	DepositIgnored   = "ignored"   // a token outside the registry, or a chain of the other mode
)

// Deposit is one transfer to a deposit address.
type Deposit struct {
	Transfer
	Reference string
	Status    string
}

// DepositFilter selects deposits of one project and mode.
type DepositFilter struct {
	ProjectID string
	Mode      Mode
	Reference string
	ChainID   string
	Currency  string
	Status    string
	Page      int
	Limit     int
}

// DepositStore keeps deposit bindings; their transfers are in the ChainStore's transfers.
type DepositStore interface {
	// BindDeposit stores b with the address req says, or returns the binding stored under b's
	// reference and leaves b untouched.
	BindDeposit(ctx context.Context, b *DepositBinding, req AddressRequest) (existing *DepositBinding, err error)
	FindDepositBinding(ctx context.Context, projectID string, mode Mode, ref string) (*DepositBinding, error)
	// SetDepositBound marks a binding bound (unboundAt nil) or unbound.
	SetDepositBound(ctx context.Context, id string, unboundAt *time.Time) error
	// DepositTransfers returns every transfer to a binding's address.
	DepositTransfers(ctx context.Context, bindingID string) ([]*Transfer, error)
	ListDeposits(ctx context.Context, f DepositFilter) ([]*Deposit, int, error)
}

// MonitoredChains returns the chains a deposit address of the protocol is watched on in the mode:
// the registry's chains of the protocol and mode that this gateway follows (Service.Chains), or all
// of them when that is not set.
func (s *Service) MonitoredChains(p chain.Protocol, m Mode) []string {
	var out []string
	for _, c := range s.ChainRegistry().All() {
		if c.Protocol != p || c.Testnet == m.Live() {
			continue
		}
		if s.Chains != nil && !slices.Contains(s.Chains, c.Slug) {
			continue
		}
		out = append(out, c.Slug)
	}
	return out
}

// BindDeposit returns the permanent deposit address of a reference, making it on first use;
// binding an unbound reference again binds its address again. It answers created true for a new
// address.
func (s *Service) BindDeposit(ctx context.Context, pr *Principal, ref, protocol string, metadata json.RawMessage) (*DepositBinding, bool, error) {
	if !validReference(ref) {
		return nil, false, Errorf(EInvalid, "depositReference", "depositReference must be 1 to %d printable characters", MaxReferenceLength)
	}
	p := chain.Protocol(protocol)
	if !p.Valid() {
		return nil, false, Errorf(EInvalid, "protocol", "protocol must be evm or tron")
	}
	meta, verr := compactMetadata(metadata)
	if verr != nil {
		return nil, false, verr
	}
	if err := liveAllowed(pr); err != nil {
		return nil, false, err
	}
	if len(s.MonitoredChains(p, pr.Mode)) == 0 {
		return nil, false, Errorf(EInvalid, "protocol", "This gateway watches no %s chain in %s mode, so deposits to the address would never be seen; %s mode accepts: %s",
			p, pr.Mode, pr.Mode, s.enabledSlugs(pr.Mode))
	}
	if b, err := s.Store.FindDepositBinding(ctx, pr.Project.ID, pr.Mode, ref); err == nil {
		return s.rebind(ctx, b, p)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	req, err := s.addressFor(ctx, pr, p)
	if err != nil {
		return nil, false, err
	}
	b := &DepositBinding{ID: NewID("dep"), ProjectID: pr.Project.ID, Mode: pr.Mode, Reference: ref, Protocol: p, Metadata: meta, BoundAt: s.now()}
	existing, err := s.Store.BindDeposit(ctx, b, req)
	if err != nil {
		return nil, false, err
	}
	if existing != nil { // bound concurrently
		return s.rebind(ctx, existing, p)
	}
	return b, true, nil
}

// rebind answers a bind of a reference that has an address: the same address, bound again.
func (s *Service) rebind(ctx context.Context, b *DepositBinding, p chain.Protocol) (*DepositBinding, bool, error) {
	if b.Protocol != p {
		return nil, false, Errorf(EConflict, "protocol", "depositReference %q is bound to a %s address", b.Reference, b.Protocol)
	}
	if b.UnboundAt != nil {
		if err := s.Store.SetDepositBound(ctx, b.ID, nil); err != nil {
			return nil, false, err
		}
		b.UnboundAt = nil
	}
	return b, false, nil
}

// UnbindDeposit unbinds a reference. Its address stays watched: deposits to it are still recorded
// and reported.
func (s *Service) UnbindDeposit(ctx context.Context, pr *Principal, ref string) (*DepositBinding, error) {
	b, err := s.depositBinding(ctx, pr, ref)
	if err != nil {
		return nil, err
	}
	if b.UnboundAt == nil {
		now := s.now()
		if err := s.Store.SetDepositBound(ctx, b.ID, &now); err != nil {
			return nil, err
		}
		b.UnboundAt = &now
	}
	return b, nil
}

func (s *Service) depositBinding(ctx context.Context, pr *Principal, ref string) (*DepositBinding, error) {
	b, err := s.Store.FindDepositBinding(ctx, pr.Project.ID, pr.Mode, ref)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(ENotFound, "depositReference", "No deposit address is bound to %q", ref)
	}
	return b, err
}

// DepositTotals sum a reference's confirmed deposits per currency, in token units (each chain's
// decimals: USDT on BSC has 18, on Ethereum 6).
type DepositTotals struct {
	Confirmed  int
	Pending    int
	ByCurrency map[string]string
}

// DepositReference returns a reference's binding and the totals of its deposits.
func (s *Service) DepositReference(ctx context.Context, pr *Principal, ref string) (*DepositBinding, *DepositTotals, error) {
	b, err := s.depositBinding(ctx, pr, ref)
	if err != nil {
		return nil, nil, err
	}
	trs, err := s.Store.DepositTransfers(ctx, b.ID)
	if err != nil {
		return nil, nil, err
	}
	const scale = 18 // every registry token has at most 18 decimals
	sums := map[string]*big.Int{}
	totals := &DepositTotals{ByCurrency: map[string]string{}}
	for _, t := range trs {
		if !t.Credited() {
			continue
		}
		if !t.Confirmed {
			totals.Pending++
			continue
		}
		totals.Confirmed++
		tok, _ := s.ChainRegistry().Token(t.ChainID, t.Currency)
		v := new(big.Int).Mul(t.Amount, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-tok.Decimals)), nil))
		if sums[t.Currency] == nil {
			sums[t.Currency] = new(big.Int)
		}
		sums[t.Currency].Add(sums[t.Currency], v)
	}
	for cur, v := range sums {
		totals.ByCurrency[cur] = money.Format(v, scale)
	}
	return b, totals, nil
}

// ListDeposits lists the principal's deposits, newest first.
func (s *Service) ListDeposits(ctx context.Context, pr *Principal, f DepositFilter) ([]*Deposit, int, error) {
	switch f.Status {
	case "", DepositPending, DepositConfirmed, DepositIgnored:
	case "completed": // PayIn's name for confirmed
		f.Status = DepositConfirmed
	default:
		return nil, 0, Errorf(EInvalid, "status", "status must be pending, confirmed or ignored")
	}
	if err := checkPage(f.Page, f.Limit); err != nil {
		return nil, 0, err
	}
	f.ProjectID, f.Mode = pr.Project.ID, pr.Mode
	return s.Store.ListDeposits(ctx, f)
}

// DepositStatus is the status of a transfer to a deposit address.
func DepositStatus(t *Transfer) string {
	switch {
	case !t.Credited():
		return DepositIgnored
	case t.Confirmed:
		return DepositConfirmed
	}
	return DepositPending
}

// DepositEventData is the data of a deposit event, as PayIn's webhooks carry it; tok is the
// transfer's token, b the binding of the address (its reference and metadata).
func DepositEventData(t *Transfer, tok chain.Token, b *DepositBinding) json.RawMessage {
	return depositEventData(t, tok, b, DepositStatus(t), nil)
}

// DepositReorgedEventData is the data of a deposit.reorged event: status "reorged", and
// wasConfirmed, whether the deposit had been confirmed (then a credit must be taken back).
func DepositReorgedEventData(t *Transfer, tok chain.Token, b *DepositBinding) json.RawMessage {
	return depositEventData(t, tok, b, "reorged", map[string]any{"wasConfirmed": t.Confirmed})
}

func depositEventData(t *Transfer, tok chain.Token, b *DepositBinding, status string, extra map[string]any) json.RawMessage {
	m := map[string]any{"depositReference": b.Reference, "address": t.To, "amount": money.Format(t.Amount, tok.Decimals),
		"currency": t.Currency, "chainId": t.ChainID, "txHash": t.TxHash, "logIndex": t.LogIndex, "blockNumber": t.BlockNumber,
		"from": t.From, "status": status}
	for k, v := range extra {
		m[k] = v
	}
	if meta := webhookMetadata(b.Metadata); meta != nil {
		m["metadata"] = meta
	}
	return MarshalJSON(m)
}
