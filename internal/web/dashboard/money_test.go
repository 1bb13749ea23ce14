package dashboard_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/web/dashboard"
)

const payee = "0x1111111111111111111111111111111111111111"

// funded gives the project's test mode a balance of 100 USDT on the devnet: a simulated payment
// of an order.
func (w *world) funded(p *gateway.CreatedProject) {
	w.t.Helper()
	ctx := context.Background()
	pr := &gateway.Principal{Project: p.Project, Mode: gateway.Test}
	o, _, err := w.svc.CreateOrder(ctx, pr, gateway.OrderInput{Reference: "funding", Amount: "100", Currency: "USDT", ChainID: "devnet"})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.svc.SimulateOrder(ctx, pr, o.ID, gateway.SimulateCompleted, ""); err != nil {
		w.t.Fatal(err)
	}
}

// withdrawal makes a pending withdrawal of the project with its API key.
func (w *world) withdrawal(p *gateway.CreatedProject, ref, amount string) *gateway.Withdrawal {
	w.t.Helper()
	pr := &gateway.Principal{Project: p.Project, Mode: gateway.Test, Credential: &gateway.Credential{ID: "cred_test"}, SecretProven: true}
	wd, _, err := w.svc.CreateWithdrawal(context.Background(), pr, gateway.WithdrawalInput{Reference: ref, Amount: amount, Currency: "USDT",
		ChainID: "devnet", Address: payee})
	if err != nil {
		w.t.Fatal(err)
	}
	return wd
}

func (w *world) status(p *gateway.CreatedProject, id string) gateway.WithdrawalStatus {
	w.t.Helper()
	wd, err := w.svc.FindWithdrawal(context.Background(), &gateway.Principal{Project: p.Project, Mode: gateway.Test}, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return wd.Status
}

var approveButton = regexp.MustCompile(`/withdrawals/[a-z0-9_]+/approve|Send payout`)

// Approving, rejecting and paying out each need the role and a fresh two-factor code: without
// one, with a wrong or used one, or in a role that does not move money, nothing changes. A
// viewer sees no money button.
func TestMoneyActionsNeedRoleAndCode(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		w := newWorldWith(t, engine, dashboard.Config{})
		ctx := context.Background()
		w.funded(w.shop)
		w.funded(w.other)
		for _, u := range []struct {
			email string
			role  gateway.Role
		}{{"ana@shop.example.com", gateway.RoleOwner}, {"vi@shop.example.com", gateway.RoleViewer}, {"dev@shop.example.com", gateway.RoleDeveloper}} {
			if _, _, err := w.svc.CreateUser(ctx, u.email, password, w.shop.Project.ID, u.role); err != nil {
				t.Fatal(err)
			}
		}
		first, second := w.withdrawal(w.shop, "w-1", "10"), w.withdrawal(w.shop, "w-2", "5")
		foreign := w.withdrawal(w.other, "w-other", "1")
		q := "?project=" + w.shop.Project.ID + "&mode=test"
		form := func(code string, kv ...string) url.Values {
			v := url.Values{"project": {w.shop.Project.ID}, "mode": {"test"}, "code": {code}}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}

		// The viewer and the developer see the pending withdrawal, no button, and get 403.
		for _, email := range []string{"vi@shop.example.com", "dev@shop.example.com"} {
			b := w.browser()
			b.signIn(email, password)
			secret, _ := b.enrol()
			for _, path := range []string{"/dashboard/withdrawals" + q, "/dashboard/payouts" + q} {
				if a := b.do("GET", path, nil); a.status != 200 || approveButton.MatchString(a.body) {
					t.Fatalf("%s sees a money button on %s: %d", email, path, a.status)
				}
			}
			w.later(30 * time.Second)
			if a := b.do("POST", "/dashboard/withdrawals/"+first.ID+"/approve", form(w.code(secret))); a.status != 403 {
				t.Fatalf("%s approves: %d %s", email, a.status, a.body)
			}
			if a := b.do("POST", "/dashboard/payouts", form(w.code(secret), "option", "devnet USDT", "amount", "1", "address", payee, "reference", "p-x")); a.status != 403 {
				t.Fatalf("%s pays out: %d", email, a.status)
			}
		}
		if st := w.status(w.shop, first.ID); st != gateway.WithdrawalPendingApproval {
			t.Fatalf("after refused approvals the withdrawal is %s", st)
		}

		b := w.browser()
		b.signIn("ana@shop.example.com", password)
		secret, _ := b.enrol()
		page := b.do("GET", "/dashboard/withdrawals"+q, nil)
		if !strings.Contains(page.body, "/withdrawals/"+first.ID+"/approve") || strings.Contains(page.body, foreign.ID) {
			t.Fatalf("the owner's withdrawals page: %s", page.body)
		}
		// No code, a wrong code, the code the enrolment used: refused, nothing changes.
		used := w.code(secret)
		for name, code := range map[string]string{"no code": "", "a wrong code": "000000", "the enrolment's code": used} {
			if a := b.do("POST", "/dashboard/withdrawals/"+first.ID+"/approve", form(code)); a.status != 401 || !strings.Contains(a.body, "wrong or was used") {
				t.Fatalf("approve with %s: %d %s", name, a.status, a.body)
			}
		}
		if st := w.status(w.shop, first.ID); st != gateway.WithdrawalPendingApproval {
			t.Fatalf("after refused codes the withdrawal is %s", st)
		}
		// Another project's withdrawal, by id: not found, whichever project the form names.
		w.later(30 * time.Second)
		code := w.code(secret)
		if a := b.do("POST", "/dashboard/withdrawals/"+foreign.ID+"/approve", form(code)); a.status != 404 {
			t.Fatalf("approve another project's withdrawal: %d", a.status)
		}
		w.later(30 * time.Second)
		code = w.code(secret)
		other := form(code)
		other.Set("project", w.other.Project.ID)
		if a := b.do("POST", "/dashboard/withdrawals/"+foreign.ID+"/approve", other); a.status != 404 {
			t.Fatalf("approve in a project the user is no member of: %d", a.status)
		}
		if st := w.status(w.other, foreign.ID); st != gateway.WithdrawalPendingApproval {
			t.Fatalf("the other project's withdrawal is %s", st)
		}
		// A good code approves; the same code again rejects nothing.
		w.later(30 * time.Second)
		code = w.code(secret)
		if a := b.do("POST", "/dashboard/withdrawals/"+first.ID+"/approve", form(code)); a.status != 303 || !strings.Contains(a.location, "done=approved") {
			t.Fatalf("approve: %d %s", a.status, a.body)
		}
		if st := w.status(w.shop, first.ID); st != gateway.WithdrawalApproved {
			t.Fatalf("approved withdrawal is %s", st)
		}
		if a := b.do("POST", "/dashboard/withdrawals/"+second.ID+"/reject", form(code, "reason", "not ours")); a.status != 401 {
			t.Fatalf("reject with the code just used: %d", a.status)
		}
		w.later(30 * time.Second)
		if a := b.do("POST", "/dashboard/withdrawals/"+first.ID+"/approve", form(w.code(secret))); a.status != 409 {
			t.Fatalf("approve twice: %d", a.status)
		}
		w.later(30 * time.Second)
		if a := b.do("POST", "/dashboard/withdrawals/"+second.ID+"/reject", form(w.code(secret), "reason", "not ours")); a.status != 303 {
			t.Fatalf("reject: %d %s", a.status, a.body)
		}
		if st := w.status(w.shop, second.ID); st != gateway.WithdrawalRejected {
			t.Fatalf("rejected withdrawal is %s", st)
		}

		// A payout: created and approved with one code; the same form twice makes one payout.
		w.later(30 * time.Second)
		page = b.do("GET", "/dashboard/payouts"+q, nil)
		ref := regexp.MustCompile(`name="reference" value="([^"]+)"`).FindStringSubmatch(page.body)
		if ref == nil || !strings.Contains(page.body, `<td class="num">90</td><td class="num">10</td>`) || strings.Contains(page.body, "tron-nile") { // 100 received, 10 held, 5 released
			t.Fatalf("the payouts page: %s", page.body)
		}
		pay := form(w.code(secret), "option", "devnet USDT", "amount", "2.5", "address", payee, "reference", ref[1])
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		for range 2 {
			wg.Go(func() {
				a := b.do("POST", "/dashboard/payouts", pay)
				mu.Lock()
				statuses[a.status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if statuses[303] != 1 || statuses[401] != 1 {
			t.Fatalf("one payout form sent twice at once with one code: %v (want one done, one refused code)", statuses)
		}
		w.later(30 * time.Second)
		pay.Set("code", w.code(secret))
		if a := b.do("POST", "/dashboard/payouts", pay); a.status != 303 {
			t.Fatalf("the payout form again with a new code: %d %s", a.status, a.body)
		}
		list, _, err := w.svc.ListWithdrawals(ctx, &gateway.Principal{Project: w.shop.Project, Mode: gateway.Test}, gateway.WithdrawalFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var payouts []*gateway.Withdrawal
		for _, wd := range list {
			if wd.Reference == ref[1] {
				payouts = append(payouts, wd)
			}
		}
		if len(payouts) != 1 || payouts[0].Status != gateway.WithdrawalApproved || payouts[0].CreatedBy == "" ||
			!strings.HasPrefix(payouts[0].CreatedBy, "usr_") || payouts[0].Amount.String() != "2500000" {
			t.Fatalf("payouts of reference %s: %+v", ref[1], payouts)
		}
		// Bad input: a clear message on the page, nothing created.
		for name, kv := range map[string][]string{
			"too much":         {"amount", "1000", "address", payee},
			"zero":             {"amount", "0", "address", payee},
			"seven decimals":   {"amount", "1.0000001", "address", payee},
			"a TRON address":   {"amount", "1", "address", "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"},
			"the zero address": {"amount", "1", "address", "0x0000000000000000000000000000000000000000"},
			"no chain":         {"amount", "1", "address", payee, "option", "nowhere USDT"},
		} {
			w.later(30 * time.Second)
			f := form(w.code(secret), append([]string{"option", "devnet USDT", "reference", "bad-" + strings.ReplaceAll(name, " ", "-")}, kv...)...)
			if a := b.do("POST", "/dashboard/payouts", f); a.status < 400 || a.status >= 500 || !strings.Contains(a.body, `class="error"`) {
				t.Fatalf("a payout of %s: %d", name, a.status)
			}
		}
		after, _, _ := w.svc.ListWithdrawals(ctx, &gateway.Principal{Project: w.shop.Project, Mode: gateway.Test}, gateway.WithdrawalFilter{})
		if len(after) != len(list) {
			t.Fatalf("bad payouts created withdrawals: %d → %d", len(list), len(after))
		}
		// The approvals are in the audit log by the user.
		lines, _, _ := w.svc.Store.ListAudit(ctx, gateway.AuditFilter{ProjectID: w.shop.Project.ID, Action: gateway.AuditWithdrawalApproved, Page: 1, Limit: 10})
		if len(lines) != 2 || lines[0].Actor.Kind != gateway.ActorUser || lines[0].Actor.ID != "ana@shop.example.com" {
			t.Fatalf("approval audit lines: %d %+v", len(lines), lines)
		}
	})
}

// The attacker's and the crash's questions of the money forms: a payout whose approval never ran
// (the gateway stopped between its two steps) is finished by sending the form again; the other
// mode's withdrawal is not found; a 2 MB form and a NUL byte change nothing.
func TestMoneyFormsEdges(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		w := newWorldWith(t, engine, dashboard.Config{})
		ctx := context.Background()
		w.funded(w.shop)
		if _, _, err := w.svc.CreateUser(ctx, "ana@shop.example.com", password, w.shop.Project.ID, gateway.RoleOwner); err != nil {
			t.Fatal(err)
		}
		b := w.browser()
		b.signIn("ana@shop.example.com", password)
		secret, _ := b.enrol()
		form := func(mode string, kv ...string) url.Values {
			w.later(30 * time.Second)
			v := url.Values{"project": {w.shop.Project.ID}, "mode": {mode}, "code": {w.code(secret)}}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
		// The first step of a payout stored (created, pending), the second never ran.
		half := w.withdrawal(w.shop, "payout_half", "2")
		if a := b.do("POST", "/dashboard/payouts", form("test", "option", "devnet USDT", "amount", "2", "address", payee, "reference", "payout_half")); a.status != 303 {
			t.Fatalf("the payout form again: %d %s", a.status, a.body)
		}
		if st := w.status(w.shop, half.ID); st != gateway.WithdrawalApproved {
			t.Fatalf("the half-made payout after the form again: %s", st)
		}
		list, _, _ := w.svc.ListWithdrawals(ctx, &gateway.Principal{Project: w.shop.Project, Mode: gateway.Test}, gateway.WithdrawalFilter{})
		if len(list) != 1 {
			t.Fatalf("withdrawals: %d, want the one", len(list))
		}
		// The other mode: a test withdrawal approved with mode=live is not found.
		pending := w.withdrawal(w.shop, "w-modes", "1")
		if a := b.do("POST", "/dashboard/withdrawals/"+pending.ID+"/approve", form("live")); a.status != 404 {
			t.Fatalf("a test withdrawal approved in live mode: %d", a.status)
		}
		// A NUL byte in the reason, and a 2 MB form: refused, nothing changes.
		if a := b.do("POST", "/dashboard/withdrawals/"+pending.ID+"/reject", form("test", "reason", "no\x00pe")); a.status != 400 {
			t.Fatalf("a reason with a NUL byte: %d", a.status)
		}
		big := form("test", "reason", strings.Repeat("x", 2<<20))
		if a := b.do("POST", "/dashboard/withdrawals/"+pending.ID+"/reject", big); a.status != 413 {
			t.Fatalf("a 2 MB form: %d", a.status)
		}
		if st := w.status(w.shop, pending.ID); st != gateway.WithdrawalPendingApproval {
			t.Fatalf("after the refused forms the withdrawal is %s", st)
		}
		if a := b.do("GET", "/dashboard/withdrawals?project="+w.shop.Project.ID+"%00&mode=test", nil); a.status != 404 {
			t.Fatalf("a NUL byte in the project: %d", a.status)
		}
	})
}
