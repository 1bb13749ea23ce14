package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The dashboard in a real browser: the demo owner signs in with the printed login, sees the demo
// order in test mode, switches to live mode and signs out; the stylesheet loads under the CSP (its
// layout applies).
func TestDashboardInBrowser(t *testing.T) {
	ctx := browser(t)
	creds, _ := startDev(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(creds.BaseURL+"/dashboard/"), chromedp.WaitVisible(chromedp.ID("email"))); err != nil {
		t.Fatal(err)
	}
	shoot(t, ctx, "dashboard-signin-phone.png", 390, 844)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.SendKeys(chromedp.ID("email"), creds.DashboardEmail),
		chromedp.SendKeys(chromedp.ID("password"), creds.DashboardPassword), chromedp.Click(chromedp.CSS("button.primary")),
		chromedp.WaitVisible(chromedp.ID("orders-total"))); err != nil {
		t.Fatal(err)
	}
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	styled, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.card')).borderRadius`))
	if !strings.Contains(body, "Demo shop") || !strings.Contains(body, "demo-") || !strings.Contains(body, "Test mode") || styled != "12px" {
		t.Fatalf("the overview reads %q (card radius %q: the stylesheet must load)", body, styled)
	}
	shoot(t, ctx, "dashboard-desktop.png", 1280, 900)
	shoot(t, ctx, "dashboard-phone.png", 390, 844)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Click(chromedp.CSS(`.modes a[href$="mode=live"]`)),
		chromedp.WaitVisible(chromedp.CSS(".live"))); err != nil {
		t.Fatal(err)
	}
	if live, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))); !strings.Contains(live, "No orders in live mode") {
		t.Errorf("live mode shows %q", live)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`header button`)), chromedp.WaitVisible(chromedp.ID("email"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `location.pathname === '/dashboard/signin'`, 5*time.Second)
}
