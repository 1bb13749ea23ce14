package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/stablegate/stablegate/internal/gateway"
)

type settingsView struct {
	*scope
	Name, Website, Tolerance, Window, Grace string
	Confirmations                           string
	AutoApproveBelow                        string
	TwoApprovals, Allowlist                 bool
}

// settings shows the project's settings and the mode's withdrawal policy, and to owners and admins
// the forms that change them, each with a two-factor code (the API's PATCH /api/v1/project and
// PUT /api/v1/withdrawal-policy).
func (h *Handler) settings(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.renderSettings(w, r, u, r.URL.Query(), http.StatusOK, "")
}

func (h *Handler) renderSettings(w http.ResponseWriter, r *http.Request, u *gateway.User, values url.Values, status int, errText string) {
	sc := h.scopeOf(w, r, u, values, "Settings")
	if sc == nil {
		return
	}
	sc.Nav, sc.Error = "settings", errText
	switch r.URL.Query().Get("done") {
	case "project":
		sc.Notice = "Settings saved: new orders take them; existing orders keep theirs."
	case "policy":
		sc.Notice = "Withdrawal policy saved."
	}
	p := sc.pr.Project
	v := settingsView{scope: sc, Name: p.Name, Website: p.Website, Tolerance: gateway.FormatTolerance(p.UnderpaymentPPM),
		Window: strconv.Itoa(p.PaymentWindowMinutes), Grace: strconv.Itoa(p.GraceMinutes)}
	var cs []string
	for slug, n := range p.Confirmations {
		cs = append(cs, slug+"="+strconv.Itoa(n))
	}
	slices.Sort(cs)
	v.Confirmations = strings.Join(cs, ", ")
	pol, err := h.svc.WithdrawalPolicy(r.Context(), sc.pr)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	v.AutoApproveBelow, v.TwoApprovals, v.Allowlist = pol.AutoApproveBelow, pol.TwoApprovals, pol.Allowlist
	h.render(w, "settings", status, v)
}

// saveSettings changes the project's name, website, default payment window and grace, and
// underpayment tolerance.
func (h *Handler) saveSettings(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.settingsAction(w, r, u, "project", func(pr *gateway.Principal) error {
		f := r.PostForm
		up := gateway.ProjectUpdate{}
		name, website, tol := strings.TrimSpace(f.Get("name")), strings.TrimSpace(f.Get("website")), strings.TrimSpace(f.Get("tolerance"))
		up.Name, up.Website, up.UnderpaymentTolerance = &name, &website, &tol
		for _, fld := range []struct {
			name string
			dst  **int
		}{{"window", &up.PaymentWindowMinutes}, {"grace", &up.GraceMinutes}} {
			n, err := strconv.Atoi(strings.TrimSpace(f.Get(fld.name)))
			if err != nil {
				return gateway.Errorf(gateway.EInvalid, fld.name, "%s must be a whole number of minutes", map[string]string{"window": "The payment window", "grace": "The grace period"}[fld.name])
			}
			*fld.dst = &n
		}
		if c := strings.TrimSpace(f.Get("confirmations")); c != v0(r) {
			m, err := parseConfirmations(c)
			if err != nil {
				return err
			}
			up.Confirmations = m
		}
		_, err := h.svc.ChangeProject(r.Context(), pr, up)
		return err
	})
}

// v0 is the confirmations field as the page showed it (a hidden copy), so that an unchanged
// field changes nothing.
func v0(r *http.Request) string { return strings.TrimSpace(r.PostForm.Get("confirmationsWere")) }

// parseConfirmations reads "bsc=20, ethereum=15" into a change of the project's confirmations:
// each chain named is set, 0 drops a chain's entry, a chain not named keeps its own.
func parseConfirmations(s string) (map[string]int, error) {
	m := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		slug, n, ok := strings.Cut(part, "=")
		v, err := strconv.Atoi(strings.TrimSpace(n))
		if !ok || err != nil || v < 0 {
			return nil, gateway.Errorf(gateway.EInvalid, "confirmations", "confirmations must read chain=number, separated by commas (bsc=20, ethereum=15; 0 drops a chain's)")
		}
		m[strings.TrimSpace(slug)] = v
	}
	return m, nil
}

// savePolicy changes the mode's withdrawal policy: auto-approval below an amount, two approvals,
// the allowlist.
func (h *Handler) savePolicy(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.settingsAction(w, r, u, "policy", func(pr *gateway.Principal) error {
		f := r.PostForm
		below := strings.TrimSpace(f.Get("autoApproveBelow"))
		two, allow := f.Get("twoApprovals") == "on", f.Get("allowlist") == "on"
		_, err := h.svc.SetWithdrawalPolicy(r.Context(), pr, gateway.PolicyInput{AutoApproveBelow: &below, TwoApprovals: &two, Allowlist: &allow})
		return err
	})
}

func (h *Handler) settingsAction(w http.ResponseWriter, r *http.Request, u *gateway.User, done string, act func(*gateway.Principal) error) {
	h.run(w, r, u, action{title: "Settings", perm: gateway.PermSettings, code: true, act: act,
		again: func(status int, msg string) { h.renderSettings(w, r, u, r.PostForm, status, msg) },
		done:  func(sc *scope) { back(w, r, "/dashboard/settings", sc, "done="+done) }})
}
