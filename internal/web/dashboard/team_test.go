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

var inviteURL = regexp.MustCompile(`id="invite-url">https?://[^/]+(/dashboard/invite/[a-z0-9]+)<`)

// The team: an owner invites by a one-time link (a new account and an existing one), changes
// roles and removes members, each with a code; a non-owner cannot; the last owner stays; an
// expired or used link is refused; two owners demoting each other at once leave one owner.
func TestTeam(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		w := newWorldWith(t, engine, dashboard.Config{})
		ctx := context.Background()
		if _, _, err := w.svc.CreateUser(ctx, "ana@shop.example.com", password, w.shop.Project.ID, gateway.RoleOwner); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.svc.CreateUser(ctx, "bo@other.example.com", password, w.other.Project.ID, gateway.RoleOwner); err != nil {
			t.Fatal(err)
		}
		q := "?project=" + w.shop.Project.ID + "&mode=test"
		b := w.browser()
		b.signIn("ana@shop.example.com", password)
		secret, _ := b.enrol()
		form := func(kv ...string) url.Values {
			w.later(30 * time.Second)
			v := url.Values{"project": {w.shop.Project.ID}, "mode": {"test"}, "code": {w.code(secret)}}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
		invite := func(email, role string) string {
			t.Helper()
			a := b.do("POST", "/dashboard/team/invite", form("email", email, "role", role))
			m := inviteURL.FindStringSubmatch(a.body)
			if a.status != 200 || m == nil {
				t.Fatalf("invite %s: %d %s", email, a.status, a.body)
			}
			return m[1]
		}
		// The last owner cannot step down or leave.
		ana, _ := w.svc.Store.FindUserByEmail(ctx, "ana@shop.example.com")
		for _, path := range []string{"/role", "/remove"} {
			if a := b.do("POST", "/dashboard/team/"+ana.ID+path, form("role", "admin")); a.status != 409 || !strings.Contains(a.body, "at least one owner") {
				t.Fatalf("the last owner %s: %d", path, a.status)
			}
		}
		// A new account joins by its link, once.
		link := invite("Cy@Shop.example.com", "developer")
		anon := w.browser()
		if a := anon.do("GET", link, nil); a.status != 200 || !strings.Contains(a.body, "cy@shop.example.com") || !strings.Contains(a.body, "developer") ||
			!strings.Contains(a.body, "Choose a password") {
			t.Fatalf("the invitation page: %d %s", a.status, a.body)
		}
		if a := anon.do("POST", link, url.Values{"password": {"short"}}); a.status != 400 || !strings.Contains(a.body, "at least 12") {
			t.Fatalf("join with a short password: %d", a.status)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		joined := map[int]int{}
		for range 10 {
			wg.Go(func() {
				a := w.browser().do("POST", link, url.Values{"password": {"cy's own long password"}})
				mu.Lock()
				joined[a.status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if joined[200] != 1 || joined[400] != 9 {
			t.Fatalf("one link used ten times at once: %v", joined)
		}
		cy := w.browser()
		if a := cy.signIn("cy@shop.example.com", "cy's own long password"); a.status != 303 {
			t.Fatalf("the new member signs in: %d", a.status)
		}
		// A developer sees no team form and cannot change roles, even with a good code.
		cySecret, _ := cy.enrol()
		if a := cy.do("GET", "/dashboard/team"+q, nil); a.status != 200 || strings.Contains(a.body, "/dashboard/team/invite") {
			t.Fatalf("a developer's team page: %d", a.status)
		}
		cyUser, _ := w.svc.Store.FindUserByEmail(ctx, "cy@shop.example.com")
		w.later(30 * time.Second)
		if a := cy.do("POST", "/dashboard/team/"+cyUser.ID+"/role", url.Values{"project": {w.shop.Project.ID}, "role": {"owner"}, "code": {w.code(cySecret)}}); a.status != 403 {
			t.Fatalf("a developer makes itself owner: %d", a.status)
		}
		// An existing account (another project's owner) joins with its own password.
		link = invite("bo@other.example.com", "viewer")
		if a := anon.do("GET", link, nil); !strings.Contains(a.body, "has an account here") {
			t.Fatalf("the invitation of an existing account: %s", a.body)
		}
		if a := anon.do("POST", link, url.Values{"password": {"not bo's password"}}); a.status != 401 {
			t.Fatalf("join with a wrong password: %d", a.status)
		}
		if a := anon.do("POST", link, url.Values{"password": {password}}); a.status != 200 {
			t.Fatalf("bo joins: %d %s", a.status, a.body)
		}
		bo, _ := w.svc.Store.FindUserByEmail(ctx, "bo@other.example.com")
		if ms, _ := w.svc.Memberships(ctx, bo); len(ms) != 2 {
			t.Fatalf("bo's memberships: %v", ms)
		}
		// An expired link.
		link = invite("dee@shop.example.com", "viewer")
		w.later(gateway.InviteTTL)
		if a := anon.do("POST", link, url.Values{"password": {"dee's own long password"}}); a.status != 400 || !strings.Contains(a.body, "expired") {
			t.Fatalf("an expired link: %d", a.status)
		}
		if a := anon.do("GET", "/dashboard/invite/nosuchtoken", nil); a.status != 404 {
			t.Fatalf("an unknown link: %d", a.status)
		}
		// Two owners: each may demote the other, but not both at once.
		// (The week the link waited ended the sessions: sign in again, with a code.)
		w.later(30 * time.Second)
		b.do("POST", "/dashboard/signin", url.Values{"email": {"ana@shop.example.com"}, "password": {password}, "code": {w.code(secret)}})
		if a := b.do("POST", "/dashboard/team/"+cyUser.ID+"/role", form("role", "owner")); a.status != 303 {
			t.Fatalf("make cy owner: %d %s", a.status, a.body)
		}
		w.later(30 * time.Second)
		cy.do("POST", "/dashboard/signin", url.Values{"email": {"cy@shop.example.com"}, "password": {"cy's own long password"}, "code": {w.code(cySecret)}})
		w.later(30 * time.Second)
		codeAna, codeCy := w.code(secret), w.code(cySecret)
		var results [2]int
		wg.Go(func() {
			results[0] = b.do("POST", "/dashboard/team/"+cyUser.ID+"/role", url.Values{"project": {w.shop.Project.ID}, "role": {"admin"}, "code": {codeAna}}).status
		})
		wg.Go(func() {
			results[1] = cy.do("POST", "/dashboard/team/"+ana.ID+"/role", url.Values{"project": {w.shop.Project.ID}, "role": {"admin"}, "code": {codeCy}}).status
		})
		wg.Wait()
		members, _ := w.svc.TeamMembers(ctx, &gateway.Principal{Project: w.shop.Project})
		owners := 0
		for _, m := range members {
			if m.Role == gateway.RoleOwner {
				owners++
			}
		}
		// The loser is refused: 409 when both passed the role check (the last-owner rule under the
		// lock), 403 when the winner's change came first (no longer an owner).
		refused := func(s int) bool { return s == 409 || s == 403 }
		if owners != 1 || !(results[0] == 303 && refused(results[1]) || refused(results[0]) && results[1] == 303) {
			t.Fatalf("two owners demoting each other at once: %v, %d owners left", results, owners)
		}
		// Removing bo: bo keeps its other project.
		var remover *browser
		if results[0] == 303 {
			remover = b
		} else {
			remover = cy
		}
		rs := secret
		if remover == cy {
			rs = cySecret
		}
		w.later(30 * time.Second)
		if a := remover.do("POST", "/dashboard/team/"+bo.ID+"/remove", url.Values{"project": {w.shop.Project.ID}, "code": {w.code(rs)}}); a.status != 303 {
			t.Fatalf("remove bo: %d %s", a.status, a.body)
		}
		if ms, _ := w.svc.Memberships(ctx, bo); len(ms) != 1 || ms[0].ProjectID != w.other.Project.ID {
			t.Fatalf("bo's memberships after removal: %v", ms)
		}
		lines, _, _ := w.svc.Store.ListAudit(ctx, gateway.AuditFilter{ProjectID: w.shop.Project.ID, Page: 1, Limit: 100})
		seen := map[gateway.AuditAction]int{}
		for _, l := range lines {
			seen[l.Action]++
		}
		if seen[gateway.AuditMemberInvited] != 3 || seen[gateway.AuditMemberJoined] != 2 || seen[gateway.AuditMemberRoleChanged] != 2 || seen[gateway.AuditMemberRemoved] != 1 {
			t.Fatalf("team audit lines: %v", seen)
		}
	})
}
