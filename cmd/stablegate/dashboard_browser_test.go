package main

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stablegate/stablegate/internal/gateway"
)

// The "done when", in a real browser: the demo owner signs in with the printed login, is
// sent to turn on two-factor authentication, enrols (the test reads the secret off the page and
// computes the codes, as an app would), sees the demo orders, pays one from the payment page,
// approves a withdrawal with a code (a replayed code is refused first), sweeps into the hot wallet
// with a recovery code and sees the withdrawal complete on the devnet, then makes a payout that
// completes too. The stylesheet loads under the CSP (its layout applies). Screenshots of each page,
// desktop and phone.
func TestDashboardInBrowser(t *testing.T) {
	ctx := browserFor(t, 2*time.Minute)
	creds, dir := startDev(t, "--block-time", "300ms")
	began := time.Now()
	defer func() { t.Logf("took %s", time.Since(began).Round(time.Second)) }()
	run := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		return s
	}
	var secret string
	code := func(at time.Time) string {
		t.Helper()
		c, err := gateway.TOTPCode(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	run(chromedp.Navigate(creds.BaseURL+"/dashboard/"), chromedp.WaitVisible(chromedp.ID("email")))
	shoot(t, ctx, "dashboard-signin-phone.png", 390, 844)
	run(chromedp.EmulateViewport(1280, 900), chromedp.SendKeys(chromedp.ID("email"), creds.DashboardEmail),
		chromedp.SendKeys(chromedp.ID("password"), creds.DashboardPassword), chromedp.Click(chromedp.CSS("button.primary")),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/dashboard/security/begin"]`)))
	if body := text("main"); !strings.Contains(body, "turn it on before you go on") {
		t.Fatalf("the owner's first page: %q", body)
	}
	run(chromedp.Click(chromedp.CSS(`form[action="/dashboard/security/begin"] button`)), chromedp.WaitVisible(chromedp.ID("totp-secret")))
	waitFor(t, ctx, `document.querySelector('main img').complete && document.querySelector('main img').naturalWidth >= 200`, 10*time.Second)
	shoot(t, ctx, "dashboard-security-desktop.png", 1280, 900)
	shoot(t, ctx, "dashboard-security-phone.png", 390, 844)
	secret = text("#totp-secret")
	now := time.Now()
	run(chromedp.EmulateViewport(1280, 900), chromedp.SendKeys(chromedp.ID("code"), code(now)), chromedp.Submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.ID("recovery-codes")))
	recovery, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#recovery-codes code')).map(c => c.textContent)`))
	if err != nil || len(recovery) != 10 {
		t.Fatalf("recovery codes shown: %v %v", recovery, err)
	}
	run(chromedp.Click(chromedp.CSS(`main a[href="/dashboard/"]`)), chromedp.WaitVisible(chromedp.ID("orders-total")))
	body := text("body")
	styled, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.card')).borderRadius`))
	if !strings.Contains(body, "Demo shop") || !strings.Contains(body, "demo-") || !strings.Contains(body, "Test mode") || styled != "12px" {
		t.Fatalf("the overview reads %q (card radius %q: the stylesheet must load)", body, styled)
	}
	shoot(t, ctx, "dashboard-desktop.png", 1280, 900)
	shoot(t, ctx, "dashboard-phone.png", 390, 844)
	// An order's page, from the overview's list.
	run(chromedp.EmulateViewport(1280, 900), chromedp.Click(chromedp.CSS(`main table a[href^="/dashboard/orders/"]`)), chromedp.WaitVisible(chromedp.ID("order-status")))
	if body := text("main"); !strings.Contains(body, "Payments") || !strings.Contains(body, "Events") {
		t.Fatalf("an order's page: %q", body)
	}
	shoot(t, ctx, "dashboard-order-desktop.png", 1280, 900)
	shoot(t, ctx, "dashboard-order-phone.png", 390, 844)
	run(chromedp.EmulateViewport(1280, 900))

	// A payer pays an order on the payment page, from the dev wallet.
	pay := func(ref string) {
		t.Helper()
		o := createOrder(t, creds, `{"orderReference":"`+ref+`","amount":"20","currency":"USDT","chainId":"devnet"}`)
		run(chromedp.Navigate(o["paymentUrl"].(string)), chromedp.WaitVisible(chromedp.ID("address")), chromedp.Click(chromedp.CSS("button.primary")))
		waitFor(t, ctx, `document.getElementById('status-text').textContent.includes('Payment complete')`, 30*time.Second)
	}
	pay("dashboard-1")

	// A withdrawal waits for approval; the code the enrolment used is refused, the next one
	// approves, and the withdrawal completes on the devnet (the sender sweeps what it needs).
	wd := devAPI(t, creds, "POST", "/api/v1/withdrawals", `{"reference":"browser-wd-1","amount":"5","currency":"USDT","chainId":"devnet",
		"address":"0x2222222222222222222222222222222222222222"}`)
	id := wd["withdrawalId"].(string)
	approve := `form[action="/dashboard/withdrawals/` + id + `/approve"]`
	run(chromedp.Navigate(creds.BaseURL+"/dashboard/withdrawals"), chromedp.WaitVisible(chromedp.CSS(approve)))
	shoot(t, ctx, "dashboard-withdrawals-desktop.png", 1280, 900)
	shoot(t, ctx, "dashboard-withdrawals-phone.png", 390, 844)
	run(chromedp.EmulateViewport(1280, 900), chromedp.SendKeys(chromedp.CSS(approve+` input[name=code]`), code(now)),
		chromedp.Click(chromedp.CSS(approve+` button`)), chromedp.WaitVisible(chromedp.CSS(".error")))
	if e := text(".error"); !strings.Contains(e, "wrong or was used") {
		t.Fatalf("a replayed code: %q", e)
	}
	run(chromedp.SendKeys(chromedp.CSS(approve+` input[name=code]`), code(now.Add(30*time.Second))), chromedp.Click(chromedp.CSS(approve+` button`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if n := text(".notice"); !strings.Contains(n, "approved") {
		t.Fatalf("after approving: %q", n)
	}
	completed := func(withdrawal string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			run(chromedp.Navigate(creds.BaseURL+"/dashboard/withdrawals"), chromedp.WaitVisible(chromedp.CSS("main")))
			if st, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('#withdrawal-`+withdrawal+` .status')||{}).textContent||''`)); strings.HasPrefix(st, "completed") {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("withdrawal %s is %q after 30 s", withdrawal, st)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	completed(id)
	t.Logf("withdrawal completed at %s", time.Since(began).Round(time.Second))

	// Another payment, swept by hand: the estimate, then the sweep with a recovery code.
	pay("dashboard-2")
	run(chromedp.Navigate(creds.BaseURL+"/dashboard/sweeps"), chromedp.WaitVisible(chromedp.ID("chainId")),
		chromedp.SetValue(chromedp.ID("chainId"), "devnet"), chromedp.Click(chromedp.CSS(`button[name=estimate]`)), chromedp.WaitVisible(chromedp.ID("estimate")))
	if e := text("#estimate"); !strings.Contains(e, "20 USDT from 1 address") {
		t.Fatalf("the sweep's estimate: %q", e)
	}
	shoot(t, ctx, "dashboard-sweeps-desktop.png", 1280, 900)
	shoot(t, ctx, "dashboard-sweeps-phone.png", 390, 844)
	run(chromedp.EmulateViewport(1280, 900), chromedp.SendKeys(chromedp.ID("code-sweep"), recovery[0]), chromedp.Click(chromedp.CSS(`button[name=run]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if n := text(".notice"); !strings.Contains(n, "Sweep queued") {
		t.Fatalf("after the sweep: %q", n)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.HasPrefix(text(`tr[id^="sweep-"] .status`), "completed") {
		if time.Now().After(deadline) {
			t.Fatalf("the sweep after 30 s: %q", text("main"))
		}
		time.Sleep(500 * time.Millisecond)
		run(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main")))
	}

	// A payout, with another recovery code: created, approved and sent at once.
	run(chromedp.Navigate(creds.BaseURL+"/dashboard/payouts"), chromedp.WaitVisible(chromedp.ID("amount")))
	shoot(t, ctx, "dashboard-payouts-desktop.png", 1280, 900)
	shoot(t, ctx, "dashboard-payouts-phone.png", 390, 844)
	run(chromedp.EmulateViewport(1280, 900), chromedp.SetValue(chromedp.ID("option"), "devnet USDT"), chromedp.SendKeys(chromedp.ID("amount"), "3"),
		chromedp.SendKeys(chromedp.ID("address"), "0x3333333333333333333333333333333333333333"), chromedp.SendKeys(chromedp.ID("code-payout"), recovery[1]),
		chromedp.Click(chromedp.CSS("button.primary")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if n := text(".notice"); !strings.Contains(n, "created and approved") {
		t.Fatalf("after the payout: %q", n)
	}
	payout, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`new URLSearchParams(location.search).get('id')`))
	completed(payout)
	t.Logf("payout completed at %s", time.Since(began).Round(time.Second))

	// An API key: made with a recovery code, shown once, then revoked with another.
	run(chromedp.Navigate(creds.BaseURL+"/dashboard/keys"), chromedp.WaitVisible(chromedp.ID("code-create-key")),
		chromedp.SendKeys(chromedp.ID("code-create-key"), recovery[2]), chromedp.Submit(chromedp.ID("code-create-key")),
		chromedp.WaitVisible(chromedp.ID("new-key-secret")))
	newKey, newSecret := text("#new-key-key"), text("#new-key-secret")
	if !strings.HasPrefix(newKey, "pk_test_") || !strings.HasPrefix(newSecret, "sk_test_") {
		t.Fatalf("the new key: %q %q", newKey, newSecret)
	}
	shoot(t, ctx, "dashboard-keys-desktop.png", 1280, 900)
	devAPI(t, devCredentials{BaseURL: creds.BaseURL, APIKey: newKey, APISecret: newSecret}, "GET", "/api/v1/audit-log", "") // the key works, with its secret
	run(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(creds.BaseURL+"/dashboard/keys"), chromedp.WaitVisible(chromedp.CSS("main")))
	if page := text("main"); strings.Contains(page, newSecret) {
		t.Fatal("the keys page shows the secret again")
	}
	keyID, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('tr[id^="key-"]')).pop().id.slice(4)`))
	revoke := `form[action="/dashboard/keys/` + keyID + `/revoke"]`
	run(chromedp.SendKeys(chromedp.CSS(revoke+" input[name=code]"), recovery[3]), chromedp.Click(chromedp.CSS(revoke+" button")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if st := text("#key-" + keyID); !strings.Contains(st, "revoked") {
		t.Fatalf("the revoked key reads %q", st)
	}
	// Webhooks: the secret rotated (shown once), a delivery retried.
	run(chromedp.Navigate(creds.BaseURL+"/dashboard/webhooks"), chromedp.WaitVisible(chromedp.ID("code-rotate")),
		chromedp.SendKeys(chromedp.ID("code-rotate"), recovery[4]), chromedp.Submit(chromedp.ID("code-rotate")), chromedp.WaitVisible(chromedp.ID("new-secret-value")))
	rotated := text("#new-secret-value")
	if !strings.HasPrefix(rotated, "whsec_") {
		t.Fatalf("the rotated secret: %q", rotated)
	}
	shoot(t, ctx, "dashboard-webhooks-desktop.png", 1280, 900)
	run(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(creds.BaseURL+"/dashboard/webhooks"), chromedp.WaitVisible(chromedp.CSS("main")))
	if page := text("main"); strings.Contains(page, rotated) || !strings.Contains(text("#secret-masked"), "whsec_") {
		t.Fatal("the webhooks page shows the rotated secret again, or no masked one")
	}
	// A receiver that fails: the endpoint is set to it (with a code), a delivery is retried there.
	var hits atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer receiver.Close()
	run(chromedp.SetValue(chromedp.ID("url"), receiver.URL+"/hooks"), chromedp.SendKeys(chromedp.ID("code-endpoint"), recovery[5]),
		chromedp.Submit(chromedp.ID("code-endpoint")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if u := text("#endpoint-url"); u != receiver.URL+"/hooks" {
		t.Fatalf("the endpoint reads %q", u)
	}
	run(chromedp.Click(chromedp.CSS(`form[action$="/retry"] button`)))
	// (The page before had a notice of its own: wait for the retry's.)
	waitFor(t, ctx, `(document.querySelector('.notice') || {textContent: ''}).textContent.includes('Delivery queued')`, 10*time.Second)
	waitUntil := time.Now().Add(20 * time.Second)
	for hits.Load() == 0 {
		if time.Now().After(waitUntil) {
			t.Fatal("the retried delivery never reached the receiver")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The page shows the failed attempt, with the receiver's answer.
	for !strings.Contains(text("main"), "HTTP 503") {
		if time.Now().After(waitUntil) {
			t.Fatalf("the failed attempt is not on the page: %q", text("main"))
		}
		time.Sleep(300 * time.Millisecond)
		run(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main")))
	}
	// The other pages, each with what it must show.
	for _, p := range []struct{ path, shows, shot string }{
		{"/dashboard/team", "owner@demo.localhost", "dashboard-team"},
		{"/dashboard/deposits", "Deposits", "dashboard-deposits"},
		{"/dashboard/links", "Make a payment link", "dashboard-links"},
		{"/dashboard/settings", "Withdrawal policy", "dashboard-settings"},
		{"/dashboard/audit", "withdrawal.approved", "dashboard-audit"},
	} {
		run(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(creds.BaseURL+p.path), chromedp.WaitVisible(chromedp.CSS("main")))
		if body := text("main"); !strings.Contains(body, p.shows) {
			t.Fatalf("%s does not show %q: %q", p.path, p.shows, body)
		}
		shoot(t, ctx, p.shot+"-desktop.png", 1280, 900)
		shoot(t, ctx, p.shot+"-phone.png", 390, 844)
	}
	run(chromedp.EmulateViewport(1280, 900))

	// Live mode, then sign out.
	run(chromedp.Navigate(creds.BaseURL+"/dashboard/withdrawals"), chromedp.WaitVisible(chromedp.CSS("main")), chromedp.Click(chromedp.CSS(`.modes a[href$="mode=live"]`)), chromedp.WaitVisible(chromedp.CSS(".live")))
	if live := text("main"); !strings.Contains(live, "No withdrawals in live mode") {
		t.Errorf("live mode shows %q", live)
	}
	run(chromedp.Click(chromedp.CSS(`header button`)), chromedp.WaitVisible(chromedp.ID("email")))
	waitFor(t, ctx, `location.pathname === '/dashboard/signin'`, 5*time.Second)

	// A viewer (made on the command line, beside the running gateway) sees a pending withdrawal,
	// and on no page a form that acts.
	devAPI(t, creds, "POST", "/api/v1/withdrawals", `{"reference":"browser-wd-viewer","amount":"1","currency":"USDT","chainId":"devnet",
		"address":"0x2222222222222222222222222222222222222222"}`)
	out, _, err := runCLI(t, "users", "create", "--data", dir, "--email", "viewer@demo.localhost", "--project", creds.ProjectID, "--role", "viewer")
	m := regexp.MustCompile(`One-time password \(shown once; the first sign-in replaces it\): (\S+)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("users create: %v %s", err, out)
	}
	run(chromedp.SendKeys(chromedp.ID("email"), "viewer@demo.localhost"), chromedp.SendKeys(chromedp.ID("password"), m[1]),
		chromedp.Click(chromedp.CSS("button.primary")), chromedp.WaitVisible(chromedp.ID("current")),
		chromedp.SendKeys(chromedp.ID("current"), m[1]), chromedp.SendKeys(chromedp.ID("password"), "the viewer's own password"),
		chromedp.Click(chromedp.CSS("button.primary")))
	// (The page asking for a new password has a notice of its own: wait for the change's answer.)
	waitFor(t, ctx, `location.search === '?done=1'`, 10*time.Second)
	for _, path := range []string{"/dashboard/withdrawals", "/dashboard/payouts", "/dashboard/sweeps", "/dashboard/keys", "/dashboard/team"} {
		run(chromedp.Navigate(creds.BaseURL+path), chromedp.WaitVisible(chromedp.CSS("main")))
		forms, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('main form[method=post]').length`))
		if forms != 0 {
			t.Errorf("the viewer sees %d action form(s) on %s", forms, path)
		}
		if path == "/dashboard/withdrawals" && !strings.Contains(text("main"), "browser-wd-viewer") {
			t.Errorf("the viewer does not see the pending withdrawal: %q", text("main"))
		}
	}
}
