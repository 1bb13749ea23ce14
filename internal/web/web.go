// Package web serves the pages payers see: the hosted payment page of an order (/pay/{orderId}),
// server-rendered with html/template, its assets embedded (no CDN, no external font), live status
// over server-sent events with polling as the fallback.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/metrics"
	"github.com/stablegate/stablegate/internal/ratelimit"
)

//go:embed assets
var assets embed.FS

// message answers a payer with a page of the payment page's style (the JSON and image routes of a
// payment answer plain text: their readers are scripts).
// message answers with a page that says one thing, in the payer's language: title and text are
// catalog keys.
func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, title, text string) {
	l := localeOf(w, r)
	h.render(w, messagePage, status, struct {
		L           *Locale
		Title, Text string
		Langs       []langLink
	}{l, l.T(title), l.T(text), langLinks(r, l)})
}

// DevPay sends a real transfer from the development chain's dev wallet to an order's address, and
// returns the transaction hash (stablegate dev sets it for the devnet).
type DevPay func(ctx context.Context, o *gateway.Order) (string, error)

// Config configures the pages.
type Config struct {
	Log *slog.Logger
	// DevPay, when set, shows "Pay with the dev wallet" on devnet orders.
	DevPay DevPay
	// Poll is how often the live status looks at the order (default 500 ms).
	Poll time.Duration
	// Limiter counts page loads and checkouts in the public tier per client address (nil: no
	// limit); Proxies are the reverse proxies whose X-Forwarded-For names the client.
	Limiter *ratelimit.Limiter
	Proxies ratelimit.Proxies
	// MaxStreams is how many live-status streams one client address may hold open at once
	// (default 10); beyond it the page polls instead.
	MaxStreams int
}

// DefaultMaxStreams is Config.MaxStreams's default.
const DefaultMaxStreams = 10

// Handler serves /pay/…, /checkout/… and /assets/….
type Handler struct {
	svc *gateway.Service
	cfg Config
	mux *http.ServeMux

	mu      sync.Mutex
	streams map[string]int // live-status streams open per client address
}

// New returns the pages' handler.
func New(svc *gateway.Service, cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	h := &Handler{svc: svc, cfg: cfg, mux: http.NewServeMux(), streams: map[string]int{}}
	static, _ := fs.Sub(assets, "assets")
	files := http.StripPrefix("/assets/", http.FileServerFS(static))
	h.mux.HandleFunc("GET /assets/{name}", func(w http.ResponseWriter, r *http.Request) {
		// The stylesheet and the script only (not the templates, not a listing); a name the file
		// system cannot hold (invalid UTF-8, "..") is not found, where FileServer would answer 500.
		name := r.PathValue("name")
		if ext := path.Ext(name); ext != ".css" && ext != ".js" || !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
	h.mux.HandleFunc("GET /pay/{id}", h.limited(h.page))
	h.mux.HandleFunc("GET /pay/{id}/status", h.status)
	h.mux.HandleFunc("GET /pay/{id}/events", h.events)
	h.mux.HandleFunc("GET /pay/{id}/qr.png", h.qr)
	h.mux.HandleFunc("POST /pay/{id}/simulate", h.simulate)
	h.mux.HandleFunc("POST /pay/{id}/devpay", h.devpay)
	h.mux.HandleFunc("GET /checkout/{slug}", h.limited(h.checkout))
	h.mux.HandleFunc("POST /checkout/{slug}", h.limited(h.checkout))
	return h
}

func (h *Handler) now() time.Time {
	if h.svc.Now != nil {
		return h.svc.Now()
	}
	return time.Now()
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if metrics.Counting(r.Context()) {
		if _, pattern := h.mux.Handler(r); pattern != "" {
			metrics.Route(r.Context(), pattern) // the endpoint, never the order id or slug
		}
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	// An id or slug that is not valid UTF-8, or holds NUL, names nothing (and PostgreSQL could not
	// even be asked about it).
	if gateway.TextProblem(r.URL.Path) != "" {
		if strings.HasPrefix(r.URL.Path, "/checkout/") {
			h.message(w, r, http.StatusNotFound, "msg.link.notfound", "msg.link.notfound.text")
		} else {
			h.message(w, r, http.StatusNotFound, "msg.payment.notfound", "msg.payment.notfound.text")
		}
		return
	}
	h.mux.ServeHTTP(w, r)
}

// load reads the order of the request's path, or answers: with a page when html, else in plain text.
func (h *Handler) load(w http.ResponseWriter, r *http.Request, html bool) *gateway.Order {
	o, err := h.svc.PublicOrder(r.Context(), r.PathValue("id"))
	if err != nil {
		status, title, text := http.StatusNotFound, "msg.payment.notfound", "msg.payment.notfound.text"
		if !errors.Is(err, gateway.ErrNotFound) {
			h.cfg.Log.Error("payment page", "err", err)
			status, title, text = http.StatusInternalServerError, "msg.failed", "msg.failed.text"
		}
		if html {
			h.message(w, r, status, title, text)
		} else {
			http.Error(w, localeOf(nil, r).T(text), status)
		}
		return nil
	}
	return o
}

// render writes a page with the status, or a plain error if the template fails.
func (h *Handler) render(w http.ResponseWriter, t *template.Template, status int, v any) {
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		h.cfg.Log.Error("render "+t.Name(), "err", err)
		http.Error(w, English().T("msg.failed.text"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
