// Package dashboard serves the merchant dashboard at /dashboard/: server-rendered pages
// (html/template, assets embedded, no script, no CDN) for people signed in with a dashboard
// account (gateway/accounts.go). Sessions are cookies whose token the database knows only by its
// hash; cross-origin form posts are refused (http.CrossOriginProtection); one handler per file.
package dashboard

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/ratelimit"
)

//go:embed assets
var assets embed.FS

// Config configures the dashboard.
type Config struct {
	Log *slog.Logger
	// SecureCookies marks the session cookie Secure: sent over https only (serve; dev is http).
	SecureCookies bool
	// Limiter counts failed sign-ins against the auth tier per client address, and a signed-in
	// user's requests against the dashboard tier (nil: no limit);
	// Proxies are the reverse proxies whose X-Forwarded-For names the client.
	Limiter *ratelimit.Limiter
	Proxies ratelimit.Proxies
	// TwoFactor says who is sent to enrol two-factor authentication before anything else.
	TwoFactor gateway.TwoFactorPolicy
	// PublicURL is where the gateway is reached, for invitation links (empty: the request's host).
	PublicURL string
	// Chains reports each watched chain's scanner health (what /health shows; nil: none).
	Chains func() []any
}

// CookieName is the session cookie's name.
const CookieName = "sg_dashboard"

// maxForm bounds a form's body: the dashboard's forms are a few fields.
const maxForm = 16 << 10

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"inc": func(n int) int { return n + 1 },
	"dec": func(n int) int { return n - 1 },
}

// Handler serves /dashboard/….
type Handler struct {
	svc     *gateway.Service
	cfg     Config
	mux     *http.ServeMux
	protect *http.CrossOriginProtection
	pages   map[string]*template.Template
}

// New returns the dashboard's handler.
func New(svc *gateway.Service, cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.TwoFactor == "" {
		cfg.TwoFactor = gateway.TwoFactorAdmins
	}
	h := &Handler{svc: svc, cfg: cfg, mux: http.NewServeMux(), protect: http.NewCrossOriginProtection(), pages: map[string]*template.Template{}}
	for _, name := range []string{"signin", "password", "overview", "message", "security", "recovery", "withdrawals", "payouts", "sweeps", "orders", "order", "keys", "webhooks", "team", "invite", "deposits", "links", "audit", "settings"} {
		h.pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(assets, "assets/layout.html", "assets/"+name+".html"))
	}
	h.protect.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.cfg.Log.Warn("dashboard: a cross-origin request refused", "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		h.message(w, http.StatusForbidden, "Refused", "This form was sent from another site. Open the dashboard and try again from its own page.")
	}))
	h.mux.HandleFunc("GET /dashboard/assets/dashboard.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.ServeFileFS(w, r, assets, "assets/dashboard.css")
	})
	h.mux.HandleFunc("GET /dashboard", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dashboard/", http.StatusSeeOther)
	})
	h.mux.HandleFunc("GET /dashboard/signin", h.signinPage)
	h.mux.HandleFunc("POST /dashboard/signin", h.signin)
	h.mux.HandleFunc("POST /dashboard/signout", h.signout)
	h.mux.HandleFunc("GET /dashboard/password", h.signedIn(h.passwordPage))
	h.mux.HandleFunc("POST /dashboard/password", h.signedIn(h.password))
	h.mux.HandleFunc("GET /dashboard/security", h.signedIn(h.securityPage))
	h.mux.HandleFunc("GET /dashboard/security/qr.png", h.signedIn(h.securityQR))
	h.mux.HandleFunc("POST /dashboard/security/begin", h.signedIn(h.securityBegin))
	h.mux.HandleFunc("POST /dashboard/security/confirm", h.signedIn(h.securityConfirm))
	h.mux.HandleFunc("GET /dashboard/{$}", h.signedIn(h.overview))
	h.mux.HandleFunc("GET /dashboard/orders", h.signedIn(h.orders))
	h.mux.HandleFunc("GET /dashboard/orders/{id}", h.signedIn(h.order))
	h.mux.HandleFunc("POST /dashboard/orders/{id}/resolve", h.signedIn(h.resolveOrder))
	h.mux.HandleFunc("GET /dashboard/withdrawals", h.signedIn(h.withdrawals))
	h.mux.HandleFunc("POST /dashboard/withdrawals/{id}/approve", h.signedIn(h.approveWithdrawal))
	h.mux.HandleFunc("POST /dashboard/withdrawals/{id}/reject", h.signedIn(h.rejectWithdrawal))
	h.mux.HandleFunc("GET /dashboard/payouts", h.signedIn(h.payoutsPage))
	h.mux.HandleFunc("POST /dashboard/payouts", h.signedIn(h.payout))
	h.mux.HandleFunc("GET /dashboard/keys", h.signedIn(h.keys))
	h.mux.HandleFunc("POST /dashboard/keys", h.signedIn(h.createKey))
	h.mux.HandleFunc("POST /dashboard/keys/{id}/revoke", h.signedIn(h.revokeKey))
	h.mux.HandleFunc("GET /dashboard/webhooks", h.signedIn(h.webhooks))
	h.mux.HandleFunc("POST /dashboard/webhooks/endpoint", h.signedIn(h.setEndpoint))
	h.mux.HandleFunc("POST /dashboard/webhooks/rotate", h.signedIn(h.rotateSecret))
	h.mux.HandleFunc("POST /dashboard/webhooks/events/{id}/retry", h.signedIn(h.retryEvent))
	h.mux.HandleFunc("GET /dashboard/team", h.signedIn(h.team))
	h.mux.HandleFunc("POST /dashboard/team/invite", h.signedIn(h.invite))
	h.mux.HandleFunc("POST /dashboard/team/{user}/role", h.signedIn(h.changeRole))
	h.mux.HandleFunc("POST /dashboard/team/{user}/remove", h.signedIn(h.removeMember))
	h.mux.HandleFunc("GET /dashboard/invite/{token}", h.invitePage)
	h.mux.HandleFunc("POST /dashboard/invite/{token}", h.acceptInvite)
	h.mux.HandleFunc("GET /dashboard/deposits", h.signedIn(h.deposits))
	h.mux.HandleFunc("GET /dashboard/links", h.signedIn(h.links))
	h.mux.HandleFunc("POST /dashboard/links", h.signedIn(h.createLink))
	h.mux.HandleFunc("POST /dashboard/links/{id}/publish", h.signedIn(h.publishLink))
	h.mux.HandleFunc("POST /dashboard/links/{id}/archive", h.signedIn(h.archiveLink))
	h.mux.HandleFunc("GET /dashboard/audit", h.signedIn(h.audit))
	h.mux.HandleFunc("GET /dashboard/settings", h.signedIn(h.settings))
	h.mux.HandleFunc("POST /dashboard/settings", h.signedIn(h.saveSettings))
	h.mux.HandleFunc("POST /dashboard/settings/policy", h.signedIn(h.savePolicy))
	h.mux.HandleFunc("GET /dashboard/sweeps", h.signedIn(h.sweepsPage))
	h.mux.HandleFunc("POST /dashboard/sweeps", h.signedIn(h.sweep))
	h.mux.HandleFunc("/dashboard/", func(w http.ResponseWriter, r *http.Request) {
		h.message(w, http.StatusNotFound, "Not found", "There is no such page in the dashboard.")
	})
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	if gateway.TextProblem(r.URL.Path) != "" || gateway.TextProblem(r.URL.RawQuery) != "" {
		h.message(w, http.StatusNotFound, "Not found", "There is no such page in the dashboard.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	h.protect.Handler(h.mux).ServeHTTP(w, r)
}

// page is what every page's template gets.
type page struct {
	Title  string
	User   *gateway.User
	Member *gateway.Membership
	Live   bool
	Error  string
	// Notice says what the last action did.
	Notice string
	// Nav names the page the header marks as the current one.
	Nav string
}

// Can reports whether the user's role in the page's project allows the permission (the
// templates show an action's form only to who may use it; the handlers refuse the others).
func (p page) Can(perm string) bool {
	return p.Member != nil && p.Member.Role.Can(gateway.Permission(perm))
}

// Here is the path of the page's section, for the mode switch to stay on it.
func (p page) Here() string {
	switch p.Nav {
	case "withdrawals", "payouts", "sweeps", "orders", "keys", "webhooks", "team", "deposits", "links", "audit", "settings":
		return "/dashboard/" + p.Nav
	}
	return "/dashboard/"
}

// QueryIn is the page's project in the mode ("test" or "live") as a query string. It is a
// template.URL so that html/template keeps its & and = (a plain string in a query is escaped
// whole); the project id in it is escaped here.
func (p page) QueryIn(mode string) template.URL {
	if p.Member == nil {
		return ""
	}
	if mode != "live" {
		mode = "test"
	}
	return template.URL("project=" + url.QueryEscape(p.Member.ProjectID) + "&mode=" + mode)
}

// Query is the page's project and mode as a query string, for links between pages.
func (p page) Query() template.URL {
	if p.Live {
		return p.QueryIn("live")
	}
	return p.QueryIn("test")
}

// render writes a page, or a plain error if its template fails.
func (h *Handler) render(w http.ResponseWriter, name string, status int, v any) {
	var b bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&b, name+".html", v); err != nil {
		h.cfg.Log.Error("dashboard: render "+name, "err", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// message answers with a page that says one thing.
func (h *Handler) message(w http.ResponseWriter, status int, title, text string) {
	h.render(w, "message", status, struct {
		page
		Text string
	}{page{Title: title}, text})
}

// failed answers a request the server could not serve, and logs why.
func (h *Handler) failed(w http.ResponseWriter, r *http.Request, err error) {
	h.cfg.Log.Error("dashboard", "path", r.URL.Path, "err", err)
	h.message(w, http.StatusInternalServerError, "Something went wrong", "The request could not be served. Try again; if it persists, tell the operator.")
}

// signedIn runs next with the request's session and user, or sends the browser to sign in. A
// user whose password was generated is sent to change it first.
func (h *Handler) signedIn(next func(http.ResponseWriter, *http.Request, *gateway.Session, *gateway.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(CookieName)
		if err != nil {
			http.Redirect(w, r, "/dashboard/signin", http.StatusSeeOther)
			return
		}
		sess, u, err := h.svc.SessionOf(r.Context(), c.Value)
		if errors.Is(err, gateway.ErrNoSession) {
			h.clearCookie(w)
			http.Redirect(w, r, "/dashboard/signin", http.StatusSeeOther)
			return
		} else if err != nil {
			h.failed(w, r, err)
			return
		}
		if h.cfg.Limiter != nil {
			d, err := h.cfg.Limiter.Take(r.Context(), ratelimit.Dashboard, u.ID)
			if err != nil {
				h.failed(w, r, err)
				return
			}
			if !d.Allowed {
				d.SetHeaders(w.Header())
				h.message(w, http.StatusTooManyRequests, "Too many requests", "You made more requests than the dashboard serves one person in a while: wait a few minutes.")
				return
			}
		}
		if u.MustChangePassword && r.URL.Path != "/dashboard/password" {
			http.Redirect(w, r, "/dashboard/password", http.StatusSeeOther)
			return
		}
		if !u.TwoFactor() && !strings.HasPrefix(r.URL.Path, "/dashboard/security") && r.URL.Path != "/dashboard/password" {
			members, err := h.svc.Memberships(r.Context(), u)
			if err != nil {
				h.failed(w, r, err)
				return
			}
			if gateway.TwoFactorDue(h.cfg.TwoFactor, u, members) {
				http.Redirect(w, r, "/dashboard/security", http.StatusSeeOther)
				return
			}
		}
		r = r.WithContext(gateway.WithActor(r.Context(), gateway.Actor{Kind: gateway.ActorUser, ID: u.Email, Address: h.clientAddress(r)}))
		next(w, r, sess, u)
	}
}

func (h *Handler) setCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/dashboard/", HttpOnly: true, Secure: h.cfg.SecureCookies,
		SameSite: http.SameSiteStrictMode})
}

func (h *Handler) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/dashboard/", MaxAge: -1, HttpOnly: true, Secure: h.cfg.SecureCookies,
		SameSite: http.SameSiteStrictMode})
}

// clientAddress is the address a request came from (through the configured proxies).
func (h *Handler) clientAddress(r *http.Request) string {
	return h.cfg.Proxies.ClientAddress(r)
}

// userMessage is what a domain error tells the person; other errors are the server's.
func userMessage(err error) (string, bool) {
	var e *gateway.Error
	if errors.As(err, &e) {
		return strings.TrimSpace(e.Message), true
	}
	return "", false
}

// statusOf is the HTTP status of a domain error's code.
func statusOf(err error) int {
	switch gateway.ErrorCode(err) {
	case gateway.EUnauthorized:
		return http.StatusUnauthorized
	case gateway.EForbidden:
		return http.StatusForbidden
	case gateway.ENotFound:
		return http.StatusNotFound
	case gateway.EConflict:
		return http.StatusConflict
	}
	return http.StatusBadRequest
}

// scope is the project and mode a page is about, from its query (?project=…&mode=test|live; the
// user's first project and test mode by default), with the user's principal in them.
type scope struct {
	page
	Members []gateway.Membership
	pr      *gateway.Principal
}

// scopeOf reads the request's project and mode, or answers the request (no project, not one of
// the user's) and returns nil. values are the query or the posted form.
func (h *Handler) scopeOf(w http.ResponseWriter, r *http.Request, u *gateway.User, values url.Values, title string) *scope {
	ctx := r.Context()
	members, err := h.svc.Memberships(ctx, u)
	if err != nil {
		h.failed(w, r, err)
		return nil
	}
	if len(members) == 0 {
		h.message(w, http.StatusOK, "No project", "Your account belongs to no project yet: ask a project's owner to invite you.")
		return nil
	}
	projectID := values.Get("project")
	if projectID == "" {
		projectID = members[0].ProjectID
	}
	mode := gateway.Test
	if values.Get("mode") == "live" {
		mode = gateway.Live
	}
	pr, _, err := h.svc.PrincipalIn(ctx, u, members, projectID, mode)
	if gateway.ErrorCode(err) == gateway.ENotFound {
		h.message(w, http.StatusNotFound, "Not found", "There is no such project among yours.")
		return nil
	} else if err != nil {
		h.failed(w, r, err)
		return nil
	}
	sc := &scope{Members: members, pr: pr}
	for i := range members {
		if members[i].ProjectID == pr.Project.ID {
			sc.page = page{Title: title, User: u, Member: &members[i], Live: mode.Live()}
		}
	}
	return sc
}

// action is how every posted form of a project runs: the form is parsed (too large: 413), the
// project and mode it names are the user's (scopeOf), the role allows perm — and when code is
// true the user's two-factor code is good (gateway.ActingPrincipal: the code stands for the API
// secret the same action needs on the API) — then act runs with the principal. A domain error
// shows the page again (again, with the error's status and message); any other error is the
// server's; success is done's to answer.
type action struct {
	title string
	perm  gateway.Permission
	code  bool
	act   func(pr *gateway.Principal) error
	again func(status int, msg string)
	done  func(sc *scope)
}

func (h *Handler) run(w http.ResponseWriter, r *http.Request, u *gateway.User, a action) {
	if err := r.ParseForm(); err != nil {
		h.message(w, http.StatusRequestEntityTooLarge, "Refused", "The form is larger than it can be.")
		return
	}
	sc := h.scopeOf(w, r, u, r.PostForm, a.title)
	if sc == nil {
		return
	}
	err := func() error {
		pr := sc.pr
		if a.code {
			p, err := h.svc.ActingPrincipal(r.Context(), u, sc.pr.Project.ID, sc.pr.Mode, a.perm, r.PostForm.Get("code"))
			if err != nil {
				return err
			}
			pr = p
		} else if !sc.Member.Role.Can(a.perm) {
			return gateway.Errorf(gateway.EForbidden, "", "Your role in this project (%s) does not allow this.", sc.Member.Role)
		}
		return a.act(pr)
	}()
	if msg, ok := userMessage(err); ok {
		a.again(statusOf(err), msg)
		return
	} else if err != nil {
		h.failed(w, r, err)
		return
	}
	h.cfg.Log.Info("dashboard: "+r.URL.Path, "user", u.ID)
	a.done(sc)
}

// back answers a done action by sending the browser to the page with what it did.
func back(w http.ResponseWriter, r *http.Request, path string, sc *scope, query string) {
	http.Redirect(w, r, path+"?"+string(sc.Query())+"&"+query, http.StatusSeeOther)
}
