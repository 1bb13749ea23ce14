package gateway

import (
	"context"
	"errors"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/money"
)

// WithdrawalPolicy is what a project's withdrawals must pass in one mode, besides the balance.
type WithdrawalPolicy struct {
	ProjectID string
	Mode      Mode
	// AutoApproveBelow approves a withdrawal of less than this amount (token units, any
	// currency) when it is created; empty: every withdrawal waits for an approval.
	AutoApproveBelow string
	// DailyLimits bound, per currency, the sum of the withdrawals created in any 24 hours that
	// were not rejected or failed (token units); a currency without one has no limit.
	DailyLimits map[string]string
	// Allowlist: a withdrawal may only go to an address added to the project's destinations, once
	// its CoolingPeriod has passed.
	Allowlist     bool
	CoolingPeriod time.Duration
	// TwoApprovals: a withdrawal needs the approvals of two different keys (the one that created
	// it may be one of them, never the only one).
	TwoApprovals bool
	UpdatedAt    time.Time
}

// DefaultCoolingPeriod is how long a new allowlisted destination waits before it can be used.
const DefaultCoolingPeriod = 24 * time.Hour

// DefaultWithdrawalPolicy is a project's policy until one is set: every withdrawal waits for one
// approval, no daily limit, no allowlist.
func DefaultWithdrawalPolicy(projectID string, mode Mode) *WithdrawalPolicy {
	return &WithdrawalPolicy{ProjectID: projectID, Mode: mode, DailyLimits: map[string]string{}, CoolingPeriod: DefaultCoolingPeriod}
}

// AutoApproves reports whether the policy approves a withdrawal of the amount when it is created.
func (p *WithdrawalPolicy) AutoApproves(amount *big.Int, tok chain.Token) bool {
	if p.AutoApproveBelow == "" {
		return false
	}
	below, err := money.Parse(p.AutoApproveBelow, tok.Decimals)
	return err == nil && amount.Cmp(below) < 0
}

// ApprovalsNeeded is how many approvals the withdrawal needs.
func (p *WithdrawalPolicy) ApprovalsNeeded(*Withdrawal) int {
	if p.TwoApprovals {
		return 2
	}
	return 1
}

// PolicyInput is a change of the withdrawal policy: nil fields stay as they are.
type PolicyInput struct {
	AutoApproveBelow     *string
	DailyLimits          map[string]string // replaces the limits when not nil; "" removes a currency's
	Allowlist            *bool
	CoolingPeriodMinutes *int
	TwoApprovals         *bool
}

// MaxCoolingPeriodMinutes bounds the cooling period: 30 days.
const MaxCoolingPeriodMinutes = 30 * 24 * 60

// WithdrawalPolicy returns the principal's withdrawal policy.
func (s *Service) WithdrawalPolicy(ctx context.Context, pr *Principal) (*WithdrawalPolicy, error) {
	return s.Store.WithdrawalPolicy(ctx, pr.Project.ID, pr.Mode)
}

// SetWithdrawalPolicy changes the principal's withdrawal policy; it needs the API secret.
func (s *Service) SetWithdrawalPolicy(ctx context.Context, pr *Principal, in PolicyInput) (*WithdrawalPolicy, error) {
	if err := RequireSecret(pr); err != nil {
		return nil, err
	}
	p, err := s.Store.WithdrawalPolicy(ctx, pr.Project.ID, pr.Mode)
	if err != nil {
		return nil, err
	}
	if in.AutoApproveBelow != nil {
		v := strings.TrimSpace(*in.AutoApproveBelow)
		if v != "" {
			if _, err := money.ParsePositive(v, 18); err != nil {
				return nil, Errorf(EInvalid, "autoApproveBelow", "autoApproveBelow must be a positive decimal amount, or \"\" to turn auto-approval off: %v", err)
			}
		}
		p.AutoApproveBelow = v
	}
	if in.DailyLimits != nil {
		limits := map[string]string{}
		currencies := make([]string, 0, len(in.DailyLimits))
		for cur := range in.DailyLimits {
			currencies = append(currencies, cur)
		}
		sort.Strings(currencies)
		for _, cur := range currencies {
			v := strings.TrimSpace(in.DailyLimits[cur])
			sym := strings.ToUpper(cur)
			if !s.knownCurrency(sym) {
				return nil, Errorf(EInvalid, "dailyLimits", "dailyLimits: %q is not a currency of the registry", cur)
			}
			if v == "" {
				continue
			}
			if _, err := money.Parse(v, 18); err != nil {
				return nil, Errorf(EInvalid, "dailyLimits", "dailyLimits.%s must be a decimal amount: %v", cur, err)
			}
			limits[sym] = v
		}
		p.DailyLimits = limits
	}
	if in.Allowlist != nil {
		p.Allowlist = *in.Allowlist
	}
	if in.CoolingPeriodMinutes != nil {
		m := *in.CoolingPeriodMinutes
		if m < 0 || m > MaxCoolingPeriodMinutes {
			return nil, Errorf(EInvalid, "coolingPeriodMinutes", "coolingPeriodMinutes must be from 0 to %d", MaxCoolingPeriodMinutes)
		}
		p.CoolingPeriod = time.Duration(m) * time.Minute
	}
	if in.TwoApprovals != nil {
		p.TwoApprovals = *in.TwoApprovals
	}
	p.UpdatedAt = s.now()
	ctx = s.audited(ctx, pr.Project.ID, pr.Mode, AuditPolicyChanged, "withdrawal-policy", map[string]any{"autoApproveBelow": p.AutoApproveBelow,
		"dailyLimits": p.DailyLimits, "allowlist": p.Allowlist, "coolingPeriodMinutes": int(p.CoolingPeriod / time.Minute), "twoApprovals": p.TwoApprovals})
	if err := s.Store.SetWithdrawalPolicy(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Service) knownCurrency(sym string) bool {
	for _, c := range s.ChainRegistry().All() {
		if _, ok := c.Token(sym); ok {
			return true
		}
	}
	return false
}

// Destination is an address on the project's withdrawal allowlist, usable from UsableAt.
type Destination struct {
	ProjectID string
	Mode      Mode
	Protocol  chain.Protocol
	Address   string
	Label     string
	AddedAt   time.Time
	UsableAt  time.Time
}

// AddDestination puts an address on the principal's allowlist, usable once the policy's cooling
// period has passed (adding it again changes nothing: the cooling period is not restarted, nor
// cut short). It needs the API secret.
func (s *Service) AddDestination(ctx context.Context, pr *Principal, protocol, address, label string) (*Destination, bool, error) {
	if err := RequireSecret(pr); err != nil {
		return nil, false, err
	}
	p := chain.Protocol(protocol)
	if protocol == "" {
		p = chain.EVM
	}
	if !p.Valid() {
		return nil, false, Errorf(EInvalid, "protocol", "protocol must be evm or tron")
	}
	if len(label) > 200 || TextProblem(label) != "" {
		return nil, false, Errorf(EInvalid, "label", "label must be at most 200 characters of text")
	}
	addr, verr := CheckDestination(chain.Chain{Protocol: p, Slug: string(p), Name: familyName(p)}, address)
	if verr != nil {
		return nil, false, verr
	}
	policy, err := s.Store.WithdrawalPolicy(ctx, pr.Project.ID, pr.Mode)
	if err != nil {
		return nil, false, err
	}
	now := s.now()
	d := &Destination{ProjectID: pr.Project.ID, Mode: pr.Mode, Protocol: p, Address: addr, Label: label, AddedAt: now, UsableAt: now.Add(policy.CoolingPeriod)}
	ctx = s.audited(ctx, pr.Project.ID, pr.Mode, AuditDestinationAdded, addr, map[string]any{"protocol": string(p), "label": label,
		"usableAt": d.UsableAt.UTC().Format(time.RFC3339)})
	existing, err := s.Store.AddDestination(ctx, d)
	if err != nil {
		return nil, false, err
	}
	if existing != nil {
		return existing, false, nil
	}
	return d, true, nil
}

// Destinations lists the principal's allowlist.
func (s *Service) Destinations(ctx context.Context, pr *Principal) ([]Destination, error) {
	return s.Store.ListDestinations(ctx, pr.Project.ID, pr.Mode)
}

// RemoveDestination takes an address off the principal's allowlist; it needs the API secret.
func (s *Service) RemoveDestination(ctx context.Context, pr *Principal, protocol, address string) error {
	if err := RequireSecret(pr); err != nil {
		return err
	}
	p := chain.Protocol(protocol)
	if protocol == "" {
		p = chain.EVM
	}
	if !p.Valid() {
		return Errorf(EInvalid, "protocol", "protocol must be evm or tron")
	}
	raw, err := chain.ParseAddress(p, address)
	if err != nil {
		return Errorf(EInvalid, "address", "address %q: %v", address, err)
	}
	addr := chain.FormatAddress(p, raw)
	ctx = s.audited(ctx, pr.Project.ID, pr.Mode, AuditDestinationRemoved, addr, map[string]any{"protocol": string(p)})
	err = s.Store.RemoveDestination(ctx, pr.Project.ID, pr.Mode, p, addr)
	if errors.Is(err, ErrNotFound) {
		return Errorf(ENotFound, "address", "%s is not on the allowlist", address)
	}
	return err
}

// allowlisted refuses a destination that is not on the principal's allowlist, or still cooling.
func (s *Service) allowlisted(ctx context.Context, pr *Principal, c chain.Chain, addr string, policy *WithdrawalPolicy) error {
	ds, err := s.Store.ListDestinations(ctx, pr.Project.ID, pr.Mode)
	if err != nil {
		return err
	}
	now := s.now()
	for _, d := range ds {
		if d.Protocol != c.Protocol || !strings.EqualFold(d.Address, addr) {
			continue
		}
		if now.Before(d.UsableAt) {
			return Errorf(EInvalid, "address", "address %s is on the allowlist but still in its cooling period: usable from %s (in %s)",
				addr, d.UsableAt.Format(time.RFC3339), d.UsableAt.Sub(now).Round(time.Minute))
		}
		return nil
	}
	return Errorf(EInvalid, "address", "address %s is not on the withdrawal allowlist: add it (POST /api/v1/withdrawals/destinations); it becomes usable after the cooling period (%s)",
		addr, policy.CoolingPeriod)
}
