// Package api serves the REST API (/api/v1/…), /health and the OpenAPI description: handlers that
// decode, call the domain and answer in the seeds' envelope {success, data, message}.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/stablegate/stablegate/internal/api/cryptopay"
	"github.com/stablegate/stablegate/internal/api/threepay"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/metrics"
	"github.com/stablegate/stablegate/internal/ratelimit"
)

func init() {
	huma.NewErrorWithContext = humaError
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		return humaError(nil, status, msg, errs...)
	}
	huma.ValidateStrictCasing = true
}

// Config is what the API needs besides the domain.
type Config struct {
	// PublicURL is the base URL payers and merchants reach stablegate at (paymentUrl and
	// checkoutUrl are built on it), without a trailing slash.
	PublicURL string
	Version   string
	Log       *slog.Logger
	Now       func() time.Time
	// Chains reports the health of each watched chain for /health.
	Chains func() []any
	// Limiter applies the rate limits (nil: none); Proxies are the reverse proxies whose
	// X-Forwarded-For names the client.
	Limiter *ratelimit.Limiter
	Proxies ratelimit.Proxies
	// DocsUser and DocsPassword, when set, put /docs and the OpenAPI document behind HTTP basic
	// authentication.
	DocsUser, DocsPassword string
	// MCPMoneyTools offers the withdrawal tools on /mcp (each still needs the API secret).
	MCPMoneyTools bool
}

// Server is the HTTP API.
type Server struct {
	svc     *gateway.Service
	cfg     Config
	log     *slog.Logger
	handler http.Handler
	API     huma.API
	// origin is the public URL's origin (scheme://host), whose pages (/docs) are not cross-origin.
	origin string
	// reference is the API reference /docs shows, rendered from the document.
	reference *docsReference
}

// New builds the API handler.
func New(svc *gateway.Service, cfg Config) *Server {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Server{svc: svc, cfg: cfg, log: cfg.Log, origin: originOf(cfg.PublicURL)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}

	apiMux := http.NewServeMux()
	hc := huma.DefaultConfig("stablegate API", cfg.Version)
	hc.Info.Description = "Self-hosted stablecoin payment gateway. Every response is the envelope " +
		"{success, data, message}; errors are {success: false, error, message, param, requestId}. Authenticate with " +
		"Authorization: Bearer pk_…, apikey: pk_… or X-API-Key: pk_…."
	hc.OpenAPIPath = "/docs/openapi"
	hc.DocsPath = ""
	hc.SchemasPath = ""
	hc.CreateHooks = nil // no $schema links in responses
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer":  {Type: "http", Scheme: "bearer", Description: "Authorization: Bearer pk_test_… or pk_live_…"},
		"apikey":  {Type: "apiKey", In: "header", Name: "apikey", Description: "3PAY style"},
		"xApiKey": {Type: "apiKey", In: "header", Name: "X-API-Key", Description: "Crypto Pay style"},
	}
	hc.Security = []map[string][]string{{"bearer": {}}, {"apikey": {}}, {"xApiKey": {}}}
	s.API = humago.New(apiMux, hc)
	s.API.UseMiddleware(nameRoute, s.limit)
	s.registerOrders()
	s.registerPool()
	s.registerWebhooks()
	s.registerProject()
	s.registerDeposits()
	s.registerBalances()
	s.registerChains()
	s.registerPaymentLinks()
	s.registerWallets()
	s.registerTxCheck()
	s.registerSweeps()
	s.registerWithdrawals()
	s.registerAudit()
	s.registerOutgoing()
	s.registerHealth()
	threepay.Register(s.API, svc, threePayHost{s})
	s.completeDocument()
	s.reference = buildReference(s.API.OpenAPI(), docsBaseURL(cfg.PublicURL))

	apiMux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) { s.noRoute(apiMux, w, r) })
	// What 3PAY v2 removed answers 404 as its documents say, with the reason.
	apiMux.HandleFunc("POST /api/v1/public/payout/create", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, newError(gateway.ENotFound, "", "POST /api/v1/public/payout/create was removed in 3PAY v2: payouts are made from the dashboard, "+
			"or requested as withdrawals (POST /api/v1/withdrawals) and approved with the API secret", requestIDFrom(r.Context())))
	})
	apiMux.HandleFunc("/api/v1/refund/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, newError(gateway.ENotFound, "", "The refund endpoints were removed in 3PAY v2: handle refunds outside the gateway "+
			"(a withdrawal to the payer, POST /api/v1/withdrawals)", requestIDFrom(r.Context())))
	})

	root := http.NewServeMux()
	root.Handle("/api/", s.preflight(s.authenticate(apiMux)))
	root.Handle("/health", apiMux)
	root.Handle("/mcp", s.mcpHandler(apiMux))
	compat := cryptopay.New(cryptopay.Config{Service: svc, PublicURL: cfg.PublicURL, Limiter: cfg.Limiter, Proxies: cfg.Proxies,
		Log: s.log, Now: cfg.Now})
	for _, p := range cryptopay.Paths {
		root.Handle(p, compat)
	}
	root.Handle("/docs/openapi.json", s.docsAuth(apiMux))
	root.Handle("/docs/openapi.yaml", s.docsAuth(apiMux))
	root.Handle("GET /docs", s.docsAuth(http.HandlerFunc(s.docsPage)))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && r.Method == http.MethodGet {
			http.Redirect(w, r, "/docs", http.StatusFound)
			return
		}
		writeError(w, newError(gateway.ENotFound, "", "No such endpoint: "+r.Method+" "+r.URL.Path, requestIDFrom(r.Context())))
	})
	named := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if metrics.Counting(r.Context()) { // a second lookup of the route, only when metrics are on
			if _, pattern := root.Handler(r); pattern != "" {
				metrics.Route(r.Context(), pattern) // an API operation names itself more closely (nameRoute)
			}
		}
		root.ServeHTTP(w, r)
	})
	s.handler = securityHeaders(s.withRequestID(s.logRequests(s.recoverPanics(uncleanAPIPaths(named)))))
	return s
}

// nameRoute names the request's endpoint for its metrics: the operation's method and path pattern.
func nameRoute(ctx huma.Context, next func(huma.Context)) {
	if op := ctx.Operation(); op != nil {
		metrics.Route(ctx.Context(), op.Method+" "+op.Path)
	}
	next(ctx)
}

// securityHeaders are on every answer: nothing is sniffed into another type, no page of the API
// may be framed or run a script, and no URL of it leaks in a Referer.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// uncleanAPIPaths answers an API path with an empty or dot segment ("/api/v1/orders//simulate",
// what a client sends when an id it interpolates is empty) with 404 in the envelope. ServeMux would
// answer a redirect to the cleaned path, which is another endpoint; a client would follow it.
func uncleanAPIPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/api/") {
			clean := path.Clean(p)
			if strings.HasSuffix(p, "/") && clean != "/" {
				clean += "/"
			}
			if clean != p {
				writeError(w, newError(gateway.ENotFound, "", "No such endpoint: "+r.Method+" "+p+
					" (an empty or dot path segment: is an id missing?)", requestIDFrom(r.Context())))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// alsoOK documents a 200 answer, besides an operation's 201, with the body schema of the 201.
func alsoOK(description, schema string) map[string]*huma.Response {
	return map[string]*huma.Response{"200": {Description: description, Content: map[string]*huma.MediaType{
		"application/json": {Schema: &huma.Schema{Ref: "#/components/schemas/" + schema}}}}}
}

// Envelope is the success envelope of every /api/v1 response.
type Envelope[T any] struct {
	Success bool   `json:"success"`
	Data    T      `json:"data"`
	Message string `json:"message,omitempty"`
}

func ok[T any](data T, msg string) Envelope[T] {
	return Envelope[T]{Success: true, Data: data, Message: msg}
}

// docsAuth asks for the configured user and password, when there are, before next.
func (s *Server) docsAuth(next http.Handler) http.Handler {
	if s.cfg.DocsUser == "" && s.cfg.DocsPassword == "" {
		return next
	}
	want := sha256.Sum256([]byte(s.cfg.DocsUser + ":" + s.cfg.DocsPassword))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		got := sha256.Sum256([]byte(user + ":" + pass))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="stablegate API docs", charset="UTF-8"`)
			writeError(w, newError(gateway.EUnauthorized, "Authorization", "The API documentation needs the user and password the operator set (HTTP basic authentication)",
				requestIDFrom(r.Context())))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// noRoute answers a request no operation matched: 405 with Allow when the path exists for other
// methods, 404 otherwise, both in the envelope.
func (s *Server) noRoute(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	rid := requestIDFrom(r.Context())
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "/api/" && pattern != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, newError(eMethodNotAllowed, "", r.Method+" is not allowed on "+r.URL.Path+"; use "+strings.Join(allowed, " or "), rid))
		return
	}
	writeError(w, newError(gateway.ENotFound, "", "No such endpoint: "+r.Method+" "+r.URL.Path, rid))
}

// threePayHost lends the 3PAY adapter the request's principal, the error answers and the payment
// page's URL.
type threePayHost struct{ s *Server }

func (h threePayHost) Principal(ctx context.Context) *gateway.Principal { return principalFrom(ctx) }
func (h threePayHost) Error(ctx context.Context, err error) error       { return h.s.apiError(ctx, err) }
func (h threePayHost) PaymentURL(orderID string) string                 { return h.s.cfg.PublicURL + "/pay/" + orderID }
