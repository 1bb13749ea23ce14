package dashboard_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/store"
	"github.com/stablegate/stablegate/internal/store/postgres"
	"github.com/stablegate/stablegate/internal/store/sqlite"
	"github.com/stablegate/stablegate/internal/testpg"
	"github.com/stablegate/stablegate/internal/web/dashboard"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// world is the dashboard on a real HTTP server over an engine's store, with two projects and a
// clock the test moves.
type world struct {
	t      *testing.T
	url    string
	svc    *gateway.Service
	clock  atomic.Int64
	shop   *gateway.CreatedProject
	other  *gateway.CreatedProject
	handle *dashboard.Handler
}

// newWorld is the world with two-factor authentication optional (the tests of what came before
// it); newWorldWith takes the dashboard's configuration.
func newWorld(t *testing.T, engine string) *world {
	t.Helper()
	return newWorldWith(t, engine, dashboard.Config{TwoFactor: gateway.TwoFactorOptional})
}

func newWorldWith(t *testing.T, engine string, cfg dashboard.Config) *world {
	t.Helper()
	var st *store.Store
	var err error
	if engine == "postgres" {
		st, err = postgres.Open(context.Background(), testpg.DSN(t))
	} else {
		st, err = sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "dash.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &world{t: t}
	w.clock.Store(time.Now().UnixMilli())
	kr, _ := gateway.NewKeyring(make([]byte, 32))
	w.svc = &gateway.Service{Store: st, Keyring: kr, Now: func() time.Time { return time.UnixMilli(w.clock.Load()) }}
	for i, name := range []string{"Shop", "Other"} {
		cp, err := w.svc.CreateProject(context.Background(), gateway.CreateProjectParams{Live: true, Name: name, Website: "https://" + strings.ToLower(name) + ".example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			w.shop = cp
		} else {
			w.other = cp
		}
	}
	w.handle = dashboard.New(w.svc, cfg)
	hs := httptest.NewServer(w.handle)
	t.Cleanup(hs.Close)
	w.url = hs.URL
	return w
}

func (w *world) later(d time.Duration) { w.clock.Add(d.Milliseconds()) }

// browser is a client with its own cookies that does not follow redirects.
type browser struct {
	w      *world
	client *http.Client
}

func (w *world) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{w: w, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(method, path string, form url.Values, headers ...string) answer {
	b.w.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.w.url+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.w.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, location: res.Header.Get("Location"), body: string(raw), header: res.Header}
}

func (b *browser) signIn(email, password string) answer {
	return b.do("POST", "/dashboard/signin", url.Values{"email": {email}, "password": {password}})
}

func forEachEngine(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			fn(t, engine)
		})
	}
}

const password = "correct horse battery staple"

func TestSignInShowsOnlyTheMembersProject(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		w := newWorld(t, engine)
		ctx := context.Background()
		if _, _, err := w.svc.CreateUser(ctx, "Ana@Shop.example.com", password, w.shop.Project.ID, gateway.RoleViewer); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []gateway.Mode{gateway.Test, gateway.Live} {
			o, _, err := w.svc.CreateOrder(ctx, &gateway.Principal{Project: w.shop.Project, Mode: mode},
				gateway.OrderInput{Reference: "shop-" + string(mode), Amount: "12.5", Currency: "USDT", ChainID: map[gateway.Mode]string{gateway.Test: "devnet", gateway.Live: "ethereum"}[mode]})
			if err != nil && mode == gateway.Test {
				t.Fatal(err)
			}
			_ = o
		}
		if _, _, err := w.svc.CreateOrder(ctx, &gateway.Principal{Project: w.other.Project, Mode: gateway.Test},
			gateway.OrderInput{Reference: "other-secret-order", Amount: "1", Currency: "USDT", ChainID: "devnet"}); err != nil {
			t.Fatal(err)
		}
		b := w.browser()
		if a := b.do("GET", "/dashboard/", nil); a.status != 303 || a.location != "/dashboard/signin" {
			t.Fatalf("signed out, the overview: %d → %q", a.status, a.location)
		}
		a := b.signIn("ana@shop.example.com", password)
		if a.status != 303 || a.location != "/dashboard/" {
			t.Fatalf("sign in: %d %s", a.status, a.body)
		}
		cookie := a.header.Get("Set-Cookie")
		for _, want := range []string{dashboard.CookieName + "=", "Path=/dashboard/", "HttpOnly", "SameSite=Strict"} {
			if !strings.Contains(cookie, want) {
				t.Errorf("the session cookie %q lacks %s", cookie, want)
			}
		}
		page := b.do("GET", "/dashboard/", nil)
		if page.status != 200 || !strings.Contains(page.body, "shop-test") || strings.Contains(page.body, "other-secret-order") ||
			!strings.Contains(page.body, "TEST") || !strings.Contains(page.body, "12.5 USDT") {
			t.Fatalf("the overview: %d %s", page.status, page.body)
		}
		if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
			t.Errorf("CSP %q: want nothing but the stylesheet", csp)
		}
		if other := b.do("GET", "/dashboard/?project="+w.other.Project.ID, nil); other.status != 404 || strings.Contains(other.body, "other-secret-order") {
			t.Fatalf("another project's overview: %d %s", other.status, other.body)
		}
		if live := b.do("GET", "/dashboard/?mode=live", nil); live.status != 200 || !strings.Contains(live.body, "LIVE") || strings.Contains(live.body, "shop-test") {
			t.Fatalf("live mode: %d %s", live.status, live.body)
		}
		// Signing out ends the session on the server: the old cookie is worth nothing.
		old := b.client.Jar.Cookies(mustURL(w.url + "/dashboard/"))
		if a := b.do("POST", "/dashboard/signout", url.Values{}); a.status != 303 || a.location != "/dashboard/signin" {
			t.Fatalf("sign out: %d", a.status)
		}
		replay := w.browser()
		replay.client.Jar.SetCookies(mustURL(w.url+"/dashboard/"), old)
		if a := replay.do("GET", "/dashboard/", nil); a.status != 303 {
			t.Fatalf("the signed-out session's cookie replayed: %d %s", a.status, a.body)
		}
	})
}

func mustURL(s string) *url.URL {
	u, _ := url.Parse(s)
	return u
}

// A wrong password and an unknown email get the same answer; five failures lock the account for
// fifteen minutes, during which even the right password fails; fifty wrong passwords at once lock
// it too.
func TestSignInFailures(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		w := newWorld(t, engine)
		if _, _, err := w.svc.CreateUser(context.Background(), "ana@shop.example.com", password, w.shop.Project.ID, gateway.RoleOwner); err != nil {
			t.Fatal(err)
		}
		b := w.browser()
		// The form shows the email back; everything else must be the same.
		echo := regexp.MustCompile(`value="[^"]*"`)
		wrong := b.signIn("ana@shop.example.com", "not the password at all")
		unknown := b.signIn("nobody@shop.example.com", password)
		malformed := b.signIn("not an email", password)
		wrong.body, unknown.body, malformed.body = echo.ReplaceAllString(wrong.body, ""), echo.ReplaceAllString(unknown.body, ""),
			echo.ReplaceAllString(malformed.body, "")
		if wrong.status != 401 || unknown.status != 401 || malformed.status != 401 || wrong.body != unknown.body || malformed.body != unknown.body {
			t.Fatalf("a wrong password (%d) and an unknown email (%d) answer differently:\n%s\n---\n%s", wrong.status, unknown.status, wrong.body, unknown.body)
		}
		if !strings.Contains(wrong.body, "Wrong email or password") || wrong.header.Get("Set-Cookie") != "" {
			t.Errorf("a wrong password: %s", wrong.body)
		}
		for range 4 {
			b.signIn("ana@shop.example.com", "still not the password")
		}
		if a := b.signIn("ana@shop.example.com", password); a.status != 401 || echo.ReplaceAllString(a.body, "") != wrong.body {
			t.Fatalf("the right password on a locked account: %d", a.status)
		}
		w.later(gateway.SignInLockout + time.Second)
		if a := b.signIn("ana@shop.example.com", password); a.status != 303 {
			t.Fatalf("the right password once the lock is over: %d %s", a.status, a.body)
		}

		if _, _, err := w.svc.CreateUser(context.Background(), "bo@shop.example.com", password, w.shop.Project.ID, gateway.RoleOwner); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() { w.browser().signIn("bo@shop.example.com", "a guess of the attacker") })
		}
		wg.Wait()
		if a := w.browser().signIn("bo@shop.example.com", password); a.status != 401 {
			t.Fatalf("the right password after fifty wrong ones at once: %d (want locked)", a.status)
		}
	})
}

// A session ends after half an hour without a request, and twelve hours after sign-in whatever.
func TestSessionTimeouts(t *testing.T) {
	w := newWorld(t, "sqlite")
	if _, _, err := w.svc.CreateUser(context.Background(), "ana@shop.example.com", password, w.shop.Project.ID, gateway.RoleOwner); err != nil {
		t.Fatal(err)
	}
	b := w.browser()
	b.signIn("ana@shop.example.com", password)
	w.later(gateway.SessionIdle - time.Minute)
	if a := b.do("GET", "/dashboard/", nil); a.status != 200 {
		t.Fatalf("within the idle timeout: %d", a.status)
	}
	w.later(gateway.SessionIdle + time.Second)
	if a := b.do("GET", "/dashboard/", nil); a.status != 303 {
		t.Fatalf("after the idle timeout: %d", a.status)
	}
	b.signIn("ana@shop.example.com", password)
	for range int(gateway.SessionMaxAge / (gateway.SessionIdle - time.Minute)) {
		w.later(gateway.SessionIdle - time.Minute)
		b.do("GET", "/dashboard/", nil)
	}
	w.later(gateway.SessionIdle - time.Minute)
	if a := b.do("GET", "/dashboard/", nil); a.status != 303 {
		t.Fatalf("a session kept busy past twelve hours: %d", a.status)
	}
}

// A form posted from another site is refused and changes nothing; so is one too large.
func TestCrossSiteAndOversizedPostsRefused(t *testing.T) {
	w := newWorld(t, "sqlite")
	if _, _, err := w.svc.CreateUser(context.Background(), "ana@shop.example.com", password, w.shop.Project.ID, gateway.RoleOwner); err != nil {
		t.Fatal(err)
	}
	b := w.browser()
	b.signIn("ana@shop.example.com", password)
	change := url.Values{"current": {password}, "password": {"an entirely new password"}}
	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example.net"}} {
		if a := b.do("POST", "/dashboard/password", change, h...); a.status != 403 || !strings.Contains(a.body, "another site") {
			t.Fatalf("a password change posted with %s: %d %s", h[0], a.status, a.body)
		}
	}
	if a := w.browser().signIn("ana@shop.example.com", password); a.status != 303 {
		t.Fatalf("the password changed after refused cross-site posts: %d", a.status)
	}
	big := url.Values{"email": {strings.Repeat("a", 20<<10)}, "password": {password}}
	if a := b.do("POST", "/dashboard/signin", big); a.status != 413 {
		t.Fatalf("a 20 KiB sign-in form: %d", a.status)
	}
	if a := b.do("GET", "/dashboard/%ff", nil); a.status != 404 {
		t.Fatalf("a path that is not UTF-8: %d", a.status)
	}
}

// A generated password (users create) must be replaced at the first sign-in; a password change
// ends the user's other sessions.
func TestGeneratedPasswordAndChange(t *testing.T) {
	w := newWorld(t, "sqlite")
	_, generated, err := w.svc.CreateUser(context.Background(), "ana@shop.example.com", "", w.shop.Project.ID, gateway.RoleOwner)
	if err != nil || len(generated) < 20 {
		t.Fatalf("CreateUser with no password: %q, %v", generated, err)
	}
	b, other := w.browser(), w.browser()
	b.signIn("ana@shop.example.com", generated)
	other.signIn("ana@shop.example.com", generated)
	if a := b.do("GET", "/dashboard/", nil); a.status != 303 || a.location != "/dashboard/password" {
		t.Fatalf("the overview with a generated password: %d → %q", a.status, a.location)
	}
	for next, want := range map[string]string{"short": "at least 12", generated: "must differ"} {
		if a := b.do("POST", "/dashboard/password", url.Values{"current": {generated}, "password": {next}}); a.status != 400 || !strings.Contains(a.body, want) {
			t.Errorf("new password %q: %d (want 400 saying %q)", next, a.status, want)
		}
	}
	if a := b.do("POST", "/dashboard/password", url.Values{"current": {"wrong"}, "password": {"an entirely new password"}}); a.status != 400 ||
		!strings.Contains(a.body, "current password is wrong") {
		t.Errorf("a wrong current password: %d", a.status)
	}
	if a := b.do("POST", "/dashboard/password", url.Values{"current": {generated}, "password": {"an entirely new password"}}); a.status != 303 {
		t.Fatalf("change: %d %s", a.status, a.body)
	}
	if a := b.do("GET", "/dashboard/", nil); a.status != 200 {
		t.Fatalf("the overview after the change: %d", a.status)
	}
	if a := other.do("GET", "/dashboard/", nil); a.status != 303 {
		t.Fatalf("the other session after the change: %d (want signed out)", a.status)
	}
	if a := w.browser().signIn("ana@shop.example.com", generated); a.status != 401 {
		t.Fatalf("the old password: %d", a.status)
	}
}
