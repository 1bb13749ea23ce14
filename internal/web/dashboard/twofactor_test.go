package dashboard_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/web/dashboard"
)

var (
	secretOnPage = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	recoveryCode = regexp.MustCompile(`<code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code>`)
)

// code is the TOTP code of the secret at the world's time.
func (w *world) code(secret string) string {
	w.t.Helper()
	c, err := gateway.TOTPCode(secret, time.UnixMilli(w.clock.Load()))
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// enrol turns two-factor authentication on for the signed-in browser as a person does: begin,
// read the secret off the page, confirm with its code. It returns the secret and the recovery
// codes shown.
func (b *browser) enrol() (string, []string) {
	t := b.w.t
	t.Helper()
	if a := b.do("POST", "/dashboard/security/begin", url.Values{}); a.status != 303 {
		t.Fatalf("begin enrolment: %d %s", a.status, a.body)
	}
	page := b.do("GET", "/dashboard/security", nil)
	m := secretOnPage.FindStringSubmatch(page.body)
	if page.status != 200 || m == nil {
		t.Fatalf("the enrolment page shows no secret: %d %s", page.status, page.body)
	}
	a := b.do("POST", "/dashboard/security/confirm", url.Values{"code": {b.w.code(m[1])}})
	codes := recoveryCode.FindAllStringSubmatch(a.body, -1)
	if a.status != 200 || len(codes) != gateway.RecoveryCodeCount {
		t.Fatalf("confirm enrolment: %d, %d recovery codes\n%s", a.status, len(codes), a.body)
	}
	var out []string
	for _, c := range codes {
		out = append(out, c[1])
	}
	return m[1], out
}

// An owner must turn two-factor authentication on before anything else (the default policy);
// afterwards a sign-in needs a code, each code is good once, and each recovery code once.
func TestTwoFactorEnrolmentAndSignIn(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		w := newWorldWith(t, engine, dashboard.Config{})
		ctx := context.Background()
		if _, _, err := w.svc.CreateUser(ctx, "ana@shop.example.com", password, w.shop.Project.ID, gateway.RoleOwner); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.svc.CreateUser(ctx, "vi@shop.example.com", password, w.shop.Project.ID, gateway.RoleViewer); err != nil {
			t.Fatal(err)
		}
		// A viewer is not sent to enrol; an owner is, from every page but security and password.
		viewer := w.browser()
		viewer.signIn("vi@shop.example.com", password)
		if a := viewer.do("GET", "/dashboard/", nil); a.status != 200 {
			t.Fatalf("a viewer without two-factor: %d → %s", a.status, a.location)
		}
		b := w.browser()
		b.signIn("ana@shop.example.com", password)
		for _, path := range []string{"/dashboard/", "/dashboard/withdrawals", "/dashboard/payouts"} {
			if a := b.do("GET", path, nil); a.status != 303 || a.location != "/dashboard/security" {
				t.Fatalf("an owner without two-factor, %s: %d → %q", path, a.status, a.location)
			}
		}
		if a := b.do("GET", "/dashboard/security/qr.png", nil); a.status != 404 {
			t.Fatalf("the QR code before any enrolment: %d", a.status)
		}
		b.do("POST", "/dashboard/security/begin", url.Values{})
		if a := b.do("GET", "/dashboard/security/qr.png", nil); a.status != 200 || a.header.Get("Content-Type") != "image/png" ||
			!strings.HasPrefix(a.body, "\x89PNG") || a.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("the QR code: %d %s", a.status, a.header)
		}
		page := b.do("GET", "/dashboard/security", nil)
		secret := secretOnPage.FindStringSubmatch(page.body)[1]
		// A wrong code, and a code of another secret, turn nothing on.
		if a := b.do("POST", "/dashboard/security/confirm", url.Values{"code": {"000000"}}); a.status != 401 || !strings.Contains(a.body, "wrong or was used") {
			t.Fatalf("confirm with a wrong code: %d %s", a.status, a.body)
		}
		if a := b.do("GET", "/dashboard/", nil); a.status != 303 {
			t.Fatalf("the overview after a wrong confirmation: %d", a.status)
		}
		confirmed := w.code(secret)
		a := b.do("POST", "/dashboard/security/confirm", url.Values{"code": {confirmed}})
		codes := recoveryCode.FindAllStringSubmatch(a.body, -1)
		if a.status != 200 || len(codes) != 10 || a.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("confirm: %d, %d codes", a.status, len(codes))
		}
		if a := b.do("GET", "/dashboard/", nil); a.status != 200 {
			t.Fatalf("the overview with two-factor on: %d → %s", a.status, a.location)
		}
		if a := b.do("GET", "/dashboard/security", nil); !strings.Contains(a.body, `id="codes-left">10<`) || strings.Contains(a.body, codes[0][1]) ||
			strings.Contains(a.body, secret) {
			t.Fatalf("the security page shows the secret or a code again, or not the count:\n%s", a.body)
		}
		// Nothing in the database is the secret or a recovery code.
		u, err := w.svc.Store.FindUserByEmail(ctx, "ana@shop.example.com")
		if err != nil || strings.Contains(string(u.TOTPSecret), secret) || len(u.TOTPPending) != 0 {
			t.Fatalf("the stored secret is in clear, or still pending: %v", err)
		}

		wrongPassword := w.browser().signIn("ana@shop.example.com", "not the password at all")
		for name, form := range map[string]url.Values{
			"no code":       {"email": {"ana@shop.example.com"}, "password": {password}},
			"a wrong code":  {"email": {"ana@shop.example.com"}, "password": {password}, "code": {"123456"}},
			"the used code": {"email": {"ana@shop.example.com"}, "password": {password}, "code": {confirmed}},
		} {
			if a := w.browser().do("POST", "/dashboard/signin", form); a.status != 401 || a.body != wrongPassword.body {
				t.Fatalf("sign-in with the right password and %s: %d (want the one answer of a wrong password)", name, a.status)
			}
		}
		w.later(30 * time.Second)
		next := w.code(secret)
		if a := w.browser().do("POST", "/dashboard/signin", url.Values{"email": {"ana@shop.example.com"}, "password": {password}, "code": {next}}); a.status != 303 {
			t.Fatalf("sign-in with the next code: %d %s", a.status, a.body)
		}
		if a := w.browser().do("POST", "/dashboard/signin", url.Values{"email": {"ana@shop.example.com"}, "password": {password}, "code": {next}}); a.status != 401 {
			t.Fatalf("the same code again, in its window: %d", a.status)
		}
		// A recovery code, typed in capitals without dashes, is good once.
		typed := strings.ToUpper(strings.ReplaceAll(codes[3][1], "-", ""))
		for i, want := range []int{303, 401} {
			if a := w.browser().do("POST", "/dashboard/signin", url.Values{"email": {"ana@shop.example.com"}, "password": {password}, "code": {typed}}); a.status != want {
				t.Fatalf("recovery code, use %d: %d (want %d)", i+1, a.status, want)
			}
		}
		if a := b.do("GET", "/dashboard/security", nil); !strings.Contains(a.body, `id="codes-left">9<`) {
			t.Fatalf("a recovery code used, the count: %s", a.body)
		}
		// Every sign-in and the enrolment are in the project's audit log, by the user, from where.
		lines, _, err := w.svc.Store.ListAudit(ctx, gateway.AuditFilter{ProjectID: w.shop.Project.ID, Page: 1, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		count := map[gateway.AuditAction]int{}
		for _, l := range lines {
			if l.Actor.Kind == gateway.ActorUser && l.Actor.ID == "ana@shop.example.com" && l.Actor.Address != "" {
				count[l.Action]++
			}
		}
		if count[gateway.AuditSignedIn] != 3 || count[gateway.AuditTwoFactorEnabled] != 1 {
			t.Fatalf("audit lines of ana: %v (want 3 sign-ins, 1 two-factor enabled)", count)
		}
		other, _, _ := w.svc.Store.ListAudit(ctx, gateway.AuditFilter{ProjectID: w.other.Project.ID, Action: gateway.AuditSignedIn, Page: 1, Limit: 50})
		if len(other) != 0 {
			t.Fatalf("ana's sign-ins are in another project's audit log: %d", len(other))
		}
	})
}

// The operator's reset (users reset-two-factor) turns it off and signs the user out everywhere;
// the owner enrols again.
func TestResetTwoFactor(t *testing.T) {
	w := newWorldWith(t, "sqlite", dashboard.Config{})
	if _, _, err := w.svc.CreateUser(context.Background(), "ana@shop.example.com", password, w.shop.Project.ID, gateway.RoleOwner); err != nil {
		t.Fatal(err)
	}
	b := w.browser()
	b.signIn("ana@shop.example.com", password)
	b.enrol()
	if _, err := w.svc.ResetTwoFactor(context.Background(), "ANA@shop.example.com"); err != nil {
		t.Fatal(err)
	}
	if a := b.do("GET", "/dashboard/", nil); a.status != 303 || a.location != "/dashboard/signin" {
		t.Fatalf("the session after the reset: %d → %s", a.status, a.location)
	}
	if a := b.signIn("ana@shop.example.com", password); a.status != 303 {
		t.Fatalf("sign-in without a code after the reset: %d", a.status)
	}
	if a := b.do("GET", "/dashboard/", nil); a.location != "/dashboard/security" {
		t.Fatalf("the owner after the reset goes to %q, want to enrol again", a.location)
	}
	b.enrol()
	if _, err := w.svc.ResetTwoFactor(context.Background(), "nobody@shop.example.com"); gateway.ErrorCode(err) != gateway.ENotFound {
		t.Fatalf("reset of an unknown email: %v", err)
	}
}

// Five wrong codes lock the account, as five wrong passwords do.
func TestWrongCodesLock(t *testing.T) {
	w := newWorldWith(t, "sqlite", dashboard.Config{})
	if _, _, err := w.svc.CreateUser(context.Background(), "ana@shop.example.com", password, w.shop.Project.ID, gateway.RoleOwner); err != nil {
		t.Fatal(err)
	}
	b := w.browser()
	b.signIn("ana@shop.example.com", password)
	secret, _ := b.enrol()
	for range 5 {
		w.browser().do("POST", "/dashboard/signin", url.Values{"email": {"ana@shop.example.com"}, "password": {password}, "code": {"999999"}})
	}
	w.later(30 * time.Second)
	if a := w.browser().do("POST", "/dashboard/signin", url.Values{"email": {"ana@shop.example.com"}, "password": {password}, "code": {w.code(secret)}}); a.status != 401 {
		t.Fatalf("the right password and code after five wrong codes: %d (want locked)", a.status)
	}
}
