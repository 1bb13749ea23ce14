package gateway

import (
	"context"
	"maps"
	"slices"
	"strings"
)

// ProjectUpdate is a change of a project's settings; a nil field stays as it is.
type ProjectUpdate struct {
	Name    *string
	Website *string
	// UnderpaymentTolerance is a percentage, as at creation ("0.5").
	UnderpaymentTolerance *string
	// PaymentWindowMinutes and GraceMinutes are the defaults of new orders that name none.
	PaymentWindowMinutes *int
	GraceMinutes         *int
	// Confirmations merges into the project's: chain slug to the confirmations its payments need
	// (at least the chain's rule), 0 to drop a chain's entry.
	Confirmations map[string]int
	// AllowedOrigins replaces the project's CORS allowlist (empty clears it).
	AllowedOrigins *[]string
	// SharedAmounts merges into the project's: chain slug to its shared-address setting (a zero
	// field takes its default), nil to drop the chain's (its orders get fresh addresses again).
	SharedAmounts map[string]*SharedAmounts
}

// ChangeProject applies a merchant's change to the principal's project (PATCH /api/v1/project);
// it needs the API secret.
func (s *Service) ChangeProject(ctx context.Context, pr *Principal, u ProjectUpdate) (*Project, error) {
	if err := RequireSecret(pr); err != nil {
		return nil, err
	}
	return s.UpdateProject(ctx, pr.Project.ID, u)
}

// UpdateProject applies the change to the project, each field checked as at creation: all or
// nothing. Orders, links and deposits created from now on take the new settings (through other
// replicas within CacheTTL); existing orders keep the window, grace and tolerance they were made with.
func (s *Service) UpdateProject(ctx context.Context, id string, u ProjectUpdate) (*Project, error) {
	p, err := s.Store.FindProject(ctx, id)
	if err != nil {
		return nil, err
	}
	if e := s.checkConfirmations(u.Confirmations); e != nil {
		return nil, e
	}
	if e := s.checkSharedAmounts(p, u.SharedAmounts); e != nil {
		return nil, e
	}
	before := *p
	if e := u.apply(p); e != nil {
		return nil, e
	}
	ctx = s.audited(ctx, p.ID, "", AuditProjectUpdated, p.ID, projectChanges(&before, p))
	if err := s.Store.UpdateProject(ctx, p); err != nil {
		return nil, err
	}
	s.forgetProject(id)
	return p, nil
}

// SetProjectDisabled disables or enables the project (`stablegate projects disable|enable`). A
// disabled project's keys are refused (403) and its payment links take no new payer; the orders
// and deposit addresses it has are still watched, credited and reported, so no payment is lost.
func (s *Service) SetProjectDisabled(ctx context.Context, id string, disabled bool) (*Project, error) {
	p, err := s.Store.FindProject(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case disabled && p.DisabledAt == nil:
		now := s.now()
		p.DisabledAt = &now
	case !disabled:
		p.DisabledAt = nil
	}
	action := AuditProjectEnabled
	if disabled {
		action = AuditProjectDisabled
	}
	ctx = s.audited(ctx, p.ID, "", action, p.ID, nil)
	if err := s.Store.UpdateProject(ctx, p); err != nil {
		return nil, err
	}
	s.forgetProject(id)
	return p, nil
}

// TestModeMessage is what a live key of a project still in test mode is told (Crypto Pay's words,
// on every API surface).
const TestModeMessage = "Project is currently in Test mode. Use test API credentials or switch project to Live mode."

// SetProjectLive switches the project to live mode (`stablegate projects go-live`), whose keys it
// then takes, or back to test mode, whose live keys are refused again (orders already made in live
// mode are still watched and credited).
func (s *Service) SetProjectLive(ctx context.Context, id string, live bool) (*Project, error) {
	p, err := s.Store.FindProject(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case live && p.LiveAt == nil:
		now := s.now()
		p.LiveAt = &now
	case !live:
		p.LiveAt = nil
	}
	action := AuditProjectWentLive
	if !live {
		action = AuditProjectBackToTest
	}
	ctx = s.audited(ctx, p.ID, "", action, p.ID, nil)
	if err := s.Store.UpdateProject(ctx, p); err != nil {
		return nil, err
	}
	s.forgetProject(id)
	return p, nil
}

// forgetProject drops the cached copies of the project's keys: the next request reads it again.
func (s *Service) forgetProject(id string) {
	s.projects.Delete(id)
	s.keys.Range(func(k, v any) bool {
		if v.(cachedKey).project.ID == id {
			s.keys.Delete(k)
		}
		return true
	})
}

// projectChanges says what a change of settings changed: each setting's value before and after.
func projectChanges(before, after *Project) map[string]any {
	out := map[string]any{}
	change := func(name string, from, to any) {
		out[name] = map[string]any{"from": from, "to": to}
	}
	if before.Name != after.Name {
		change("name", before.Name, after.Name)
	}
	if before.Website != after.Website {
		change("website", before.Website, after.Website)
	}
	if before.UnderpaymentPPM != after.UnderpaymentPPM {
		change("underpaymentTolerance", FormatTolerance(before.UnderpaymentPPM), FormatTolerance(after.UnderpaymentPPM))
	}
	if before.PaymentWindowMinutes != after.PaymentWindowMinutes {
		change("paymentWindowMinutes", before.PaymentWindowMinutes, after.PaymentWindowMinutes)
	}
	if before.GraceMinutes != after.GraceMinutes {
		change("graceMinutes", before.GraceMinutes, after.GraceMinutes)
	}
	if !maps.Equal(before.Confirmations, after.Confirmations) {
		change("confirmations", maps.Collect(maps.All(before.Confirmations)), maps.Collect(maps.All(after.Confirmations)))
	}
	if !maps.Equal(before.SharedAmounts, after.SharedAmounts) {
		change("sharedAddress", maps.Clone(before.SharedAmounts), maps.Clone(after.SharedAmounts))
	}
	if !slices.Equal(before.AllowedOrigins, after.AllowedOrigins) {
		change("allowedOrigins", append([]string{}, before.AllowedOrigins...), append([]string{}, after.AllowedOrigins...))
	}
	return out
}

func (u ProjectUpdate) apply(p *Project) *Error {
	if u.Name != nil {
		name, e := projectName(*u.Name)
		if e != nil {
			return e
		}
		p.Name = name
	}
	if u.Website != nil {
		if _, e := WebsiteHost(*u.Website); e != nil {
			return e
		}
		p.Website = *u.Website
	}
	if u.UnderpaymentTolerance != nil {
		ppm, e := ParseTolerance(*u.UnderpaymentTolerance)
		if e != nil {
			return e
		}
		p.UnderpaymentPPM = ppm
	}
	if e := checkWindow(u.PaymentWindowMinutes, u.GraceMinutes); e != nil {
		return e
	}
	if u.PaymentWindowMinutes != nil {
		p.PaymentWindowMinutes = *u.PaymentWindowMinutes
	}
	if u.GraceMinutes != nil {
		p.GraceMinutes = *u.GraceMinutes
	}
	if u.AllowedOrigins != nil {
		origins, e := ParseOrigins(*u.AllowedOrigins)
		if e != nil {
			return e
		}
		p.AllowedOrigins = origins
	}
	if len(u.Confirmations) > 0 {
		merged := maps.Clone(p.Confirmations)
		if merged == nil {
			merged = map[string]int{}
		}
		for slug, n := range u.Confirmations {
			if n == 0 {
				delete(merged, slug)
			} else {
				merged[slug] = n
			}
		}
		p.Confirmations = merged
	}
	if len(u.SharedAmounts) > 0 {
		merged := maps.Clone(p.SharedAmounts)
		if merged == nil {
			merged = map[string]SharedAmounts{}
		}
		for slug, sa := range u.SharedAmounts {
			if sa == nil {
				delete(merged, slug)
			} else {
				merged[slug] = *sa
			}
		}
		p.SharedAmounts = merged
	}
	return nil
}

// projectName is a project's name, trimmed: 1 to 100 characters.
func projectName(name string) (string, *Error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 100 || TextProblem(name) != "" {
		return "", Errorf(EInvalid, "name", "name is required (1 to 100 characters)")
	}
	return name, nil
}

// checkWindow checks a payment window and a grace period, of an order or a project's defaults.
func checkWindow(window, grace *int) *Error {
	if window != nil && (*window < 1 || *window > MaxPaymentWindowMinutes) {
		return Errorf(EInvalid, "paymentWindowMinutes", "paymentWindowMinutes must be between 1 and %d", MaxPaymentWindowMinutes)
	}
	if grace != nil && (*grace < 0 || *grace > MaxGraceMinutes) {
		return Errorf(EInvalid, "graceMinutes", "graceMinutes must be between 0 and %d", MaxGraceMinutes)
	}
	return nil
}
