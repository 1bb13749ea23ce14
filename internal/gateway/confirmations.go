package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
)

// MaxConfirmations bounds what a project may ask for on a chain.
const MaxConfirmations = 1000

// RequiredConfirmations is how many confirmations a payment to the project on the chain needs now:
// the chain's rule, or more where the project asks for more (finality rules apply besides).
func RequiredConfirmations(p *Project, c chain.Chain) int {
	n := RuleOf(c).Confirmations
	if p != nil {
		n = max(n, p.Confirmations[c.Slug])
	}
	return n
}

// PaymentRequired is how many confirmations a stored payment needs: the chain's rule, or what its
// project asked for when it was seen.
func PaymentRequired(t *Transfer, c chain.Chain) int {
	return max(RuleOf(c).Confirmations, t.MinConfirmations)
}

// deepEnough reports whether the transfer has what its project asks for with the chain at head.
func deepEnough(t *Transfer, head uint64) bool {
	return t.BlockNumber+uint64(t.MinConfirmations) <= head+1
}

// cachedProject is a project's settings as a scanner step reads them, for CacheTTL.
type cachedProject struct {
	project *Project
	until   time.Time
}

// askedConfirmations sets each new transfer's MinConfirmations from its project's settings for the
// batch's chain, where they ask for more than the chain's rule.
func (s *Service) askedConfirmations(ctx context.Context, b *ScanBatch) error {
	now := time.Now()
	for _, tr := range b.Transfers {
		if tr.ProjectID == "" {
			continue
		}
		var p *Project
		if v, ok := s.projects.Load(tr.ProjectID); ok && now.Before(v.(cachedProject).until) {
			p = v.(cachedProject).project
		} else {
			found, err := s.Store.FindProject(ctx, tr.ProjectID)
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			p = found
			s.projects.Store(p.ID, cachedProject{project: p, until: now.Add(CacheTTL)})
		}
		if n := p.Confirmations[b.ChainID]; n > max(b.Required, 1) {
			tr.MinConfirmations = n
		}
	}
	return nil
}

// checkConfirmations checks a project's asked confirmations: chains of the registry, each at least
// the chain's rule (asking can only add) and at most MaxConfirmations; 0 drops the chain's entry.
func (s *Service) checkConfirmations(asked map[string]int) *Error {
	reg := s.ChainRegistry()
	for slug, n := range asked {
		c, ok := reg.Lookup(slug)
		if !ok {
			return Errorf(EInvalid, "confirmations", "confirmations: no chain %q (one of %s, %s)", slug, reg.Slugs(false), reg.Slugs(true))
		}
		if n == 0 {
			continue
		}
		if rule := RuleOf(c).Confirmations; n < rule || n > MaxConfirmations {
			return Errorf(EInvalid, "confirmations", "confirmations.%s must be between %d (the gateway's rule for %s: a project can only ask for more) and %d, or 0 to drop it",
				slug, rule, slug, MaxConfirmations)
		}
	}
	return nil
}
