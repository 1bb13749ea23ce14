// Package web serves the pages payers see: the hosted payment page of an order (/pay/{orderId}),
// server-rendered with html/template, its assets embedded (no CDN, no external font), live status
// over server-sent events with polling as the fallback.
package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

//go:embed assets
var assets embed.FS

var (
	page        = template.Must(template.New("pay.html").ParseFS(assets, "assets/pay.html"))
	messagePage = template.Must(template.New("message.html").ParseFS(assets, "assets/message.html"))
)

// Payer-facing messages of the HTML routes.
const (
	msgNoPayment = "This payment does not exist. Check the link you were given."
	msgNoLink    = "This payment link does not exist. Check the link you were given."
	msgFailed    = "Something went wrong; try again in a moment."
)

// message answers a payer with a page of the payment page's style (the JSON and image routes of a
// payment answer plain text: their readers are scripts).
func (h *Handler) message(w http.ResponseWriter, status int, title, text string) {
	h.render(w, messagePage, status, struct{ Title, Text string }{title, text})
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
}

// Handler serves /pay/…, /checkout/… and /assets/….
type Handler struct {
	svc *gateway.Service
	cfg Config
	mux *http.ServeMux
}

// New returns the pages' handler.
func New(svc *gateway.Service, cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	h := &Handler{svc: svc, cfg: cfg, mux: http.NewServeMux()}
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
	h.mux.HandleFunc("GET /pay/{id}", h.page)
	h.mux.HandleFunc("GET /pay/{id}/status", h.status)
	h.mux.HandleFunc("GET /pay/{id}/events", h.events)
	h.mux.HandleFunc("GET /pay/{id}/qr.png", h.qr)
	h.mux.HandleFunc("POST /pay/{id}/simulate", h.simulate)
	h.mux.HandleFunc("POST /pay/{id}/devpay", h.devpay)
	h.mux.HandleFunc("GET /checkout/{slug}", h.checkout)
	h.mux.HandleFunc("POST /checkout/{slug}", h.checkout)
	return h
}

func (h *Handler) now() time.Time {
	if h.svc.Now != nil {
		return h.svc.Now()
	}
	return time.Now()
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	// An id or slug that is not valid UTF-8, or holds NUL, names nothing (and PostgreSQL could not
	// even be asked about it).
	if !utf8.ValidString(r.URL.Path) || strings.IndexByte(r.URL.Path, 0) >= 0 {
		if strings.HasPrefix(r.URL.Path, "/checkout/") {
			h.message(w, http.StatusNotFound, "Payment link not found", msgNoLink)
		} else {
			h.message(w, http.StatusNotFound, "Payment not found", msgNoPayment)
		}
		return
	}
	h.mux.ServeHTTP(w, r)
}

// Status is an order's state as the page shows it (and /status and /events send it).
type Status struct {
	Status        string `json:"status"`
	Currency      string `json:"currency"`
	PaidAmount    string `json:"paidAmount"`
	Due           string `json:"due" doc:"What is still to pay"`
	Confirmations uint64 `json:"confirmations"`
	Required      int    `json:"required"`
	TxHash        string `json:"txHash,omitempty"`
	// WrongCurrency says another token than Currency arrived: it pays nothing.
	WrongCurrency bool   `json:"wrongCurrency,omitempty"`
	Redirect      string `json:"redirect,omitempty"`
	Final         bool   `json:"final"`
}

// view is what the template renders.
type view struct {
	Order                  *gateway.Order
	Chain                  chain.Chain
	Token                  chain.Token
	Amount, Due            string
	ExpiresAt              string
	Status                 Status
	StatusText             string
	Test, DevPay, Simulate bool
	Message                string
}

// load reads the order of the request's path, or answers: with a page when html, else in plain text.
func (h *Handler) load(w http.ResponseWriter, r *http.Request, html bool) *gateway.Order {
	o, err := h.svc.Store.FindOrderByID(r.Context(), r.PathValue("id"))
	if err != nil {
		status, title, text := http.StatusNotFound, "Payment not found", msgNoPayment
		if !errors.Is(err, gateway.ErrNotFound) {
			h.cfg.Log.Error("payment page", "err", err)
			status, title, text = http.StatusInternalServerError, "Something went wrong", msgFailed
		}
		if html {
			h.message(w, status, title, text)
		} else {
			http.Error(w, text, status)
		}
		return nil
	}
	return o
}

func (h *Handler) statusOf(ctx context.Context, o *gateway.Order) Status {
	c, _ := chain.Lookup(o.ChainID)
	tok, _ := c.Token(o.Currency)
	due := new(big.Int).Sub(o.Amount, o.PaidAmount)
	if due.Sign() < 0 || o.Status == gateway.OrderCompleted {
		due.SetInt64(0)
	}
	st := Status{Status: string(o.Status), Currency: o.Currency, PaidAmount: money.Format(o.PaidAmount, tok.Decimals), Due: money.Format(due, tok.Decimals),
		Required: c.Confirmations, TxHash: o.TxHash, WrongCurrency: o.WrongCurrency}
	if payments, _, err := h.svc.OrderPayments(ctx, o); err == nil && len(payments) > 0 {
		st.Confirmations = payments[0].Confirmations
		if st.TxHash == "" {
			st.TxHash = payments[len(payments)-1].TxHash // the payment the page waits on
		}
	}
	switch o.Status {
	case gateway.OrderCompleted:
		st.Final, st.Redirect = true, o.SuccessURL
	case gateway.OrderExpired:
		st.Final, st.Redirect = true, o.CancelURL
	}
	return st
}

func statusText(st Status, currency string) string {
	text := statusOnly(st, currency)
	if st.WrongCurrency && !st.Final {
		text += " A transfer of another token than " + currency + " arrived: it does not pay this order."
	}
	return text
}

func statusOnly(st Status, currency string) string {
	switch gateway.OrderStatus(st.Status) {
	case gateway.OrderPending:
		return "Waiting for your payment."
	case gateway.OrderConfirming:
		return fmt.Sprintf("Payment seen, waiting for the network to confirm it (%d of %d confirmations).", st.Confirmations, st.Required)
	case gateway.OrderCompleted:
		return "Payment complete. Thank you!"
	case gateway.OrderUnderpaid:
		return fmt.Sprintf("We received %s %s, which is less than the amount: please send the remaining %s %s to the same address.",
			st.PaidAmount, currency, st.Due, currency)
	case gateway.OrderExpired:
		return "This payment request has expired. Do not send anything to this address."
	}
	return st.Status
}

// qrPayload is what the QR code holds: an EIP-681 token transfer for EVM chains (the wallet fills in
// token, chain, recipient and amount), the plain address on TRON.
func qrPayload(o *gateway.Order, c chain.Chain, tok chain.Token) string {
	if c.Protocol == chain.TRON {
		return o.Address
	}
	return fmt.Sprintf("ethereum:%s@%d/transfer?address=%s&uint256=%s", tok.Address, c.ChainID, o.Address, Due(o).String())
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	o := h.load(w, r, true)
	if o == nil {
		return
	}
	c, _ := chain.Lookup(o.ChainID)
	tok, _ := c.Token(o.Currency)
	st := h.statusOf(r.Context(), o)
	v := view{Order: o, Chain: c, Token: tok, Amount: money.Format(o.Amount, tok.Decimals), Due: st.Due,
		ExpiresAt: o.ExpiresAt.UTC().Format(time.RFC3339), Status: st,
		StatusText: statusText(st, o.Currency), Test: !o.Mode.Live(), Simulate: !o.Mode.Live() && !st.Final,
		DevPay: h.cfg.DevPay != nil && o.ChainID == "devnet" && !st.Final, Message: notices[r.URL.Query().Get("msg")]}
	h.render(w, page, http.StatusOK, v)
}

// render writes a page with the status, or a plain error if the template fails.
func (h *Handler) render(w http.ResponseWriter, t *template.Template, status int, v any) {
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		h.cfg.Log.Error("render "+t.Name(), "err", err)
		http.Error(w, msgFailed, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	o := h.load(w, r, false)
	if o == nil {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(h.statusOf(r.Context(), o))
}

// events streams the order's status as server-sent events: now, then at every change, until it is
// final or the payer leaves.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	o := h.load(w, r, false)
	if o == nil {
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	var last []byte
	tick := time.NewTicker(h.cfg.Poll)
	defer tick.Stop()
	deadline := time.Now().Add(30 * time.Minute)
	for {
		st := h.statusOf(r.Context(), o)
		data, _ := json.Marshal(st)
		if !bytes.Equal(data, last) {
			if _, err := fmt.Fprintf(w, "event: status\ndata: %s\n\n", data); err != nil {
				return
			}
			flusher.Flush()
			last = data
		}
		if st.Final || time.Now().After(deadline) {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		next, err := h.svc.Store.FindOrderByID(r.Context(), o.ID)
		if err != nil {
			return
		}
		o = next
	}
}

func (h *Handler) qr(w http.ResponseWriter, r *http.Request) {
	o := h.load(w, r, false)
	if o == nil {
		return
	}
	c, _ := chain.Lookup(o.ChainID)
	tok, _ := c.Token(o.Currency)
	png, err := qrcode.Encode(qrPayload(o, c, tok), qrcode.Medium, 320)
	if err != nil {
		http.Error(w, "QR code unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(png)
}

// notices are the messages the page shows after one of its own forms, by code: the page never
// shows text from its URL (anyone could link to a real order's page with "send the money
// elsewhere" in it).
var notices = map[string]string{
	"simulated-completed": "Simulated: completed.",
	"simulated-underpaid": "Simulated: underpaid.",
	"simulated-expired":   "Simulated: expired.",
	"simulate-refused":    "That simulation does not apply to the order as it is now.",
	"simulate-failed":     "The simulation failed.",
	"devpay-sent":         "Sent from the dev wallet: the page follows the payment.",
	"devpay-failed":       "The dev wallet could not pay; the gateway's log says why.",
}

// back redirects to the page with a notice code (POST, then GET: a reload does not resend the form).
func back(w http.ResponseWriter, r *http.Request, code string) {
	http.Redirect(w, r, "/pay/"+url.PathEscape(r.PathValue("id"))+"?msg="+url.QueryEscape(code), http.StatusSeeOther)
}

// simulate is the test-mode buttons: the same as POST /api/v1/orders/{id}/simulate.
func (h *Handler) simulate(w http.ResponseWriter, r *http.Request) {
	o := h.load(w, r, true)
	if o == nil {
		return
	}
	if o.Mode.Live() {
		h.message(w, http.StatusForbidden, "Not available", "Simulation is for test mode only.")
		return
	}
	p, err := h.svc.Store.FindProject(r.Context(), o.ProjectID)
	if err != nil {
		h.cfg.Log.Error("simulate from the payment page", "err", err)
		h.message(w, http.StatusInternalServerError, "Something went wrong", msgFailed)
		return
	}
	outcome := r.FormValue("outcome")
	_, err = h.svc.SimulateOrder(r.Context(), &gateway.Principal{Project: p, Mode: o.Mode}, o.ID, outcome, "")
	if err != nil {
		var e *gateway.Error
		if errors.As(err, &e) {
			back(w, r, "simulate-refused")
			return
		}
		h.cfg.Log.Error("simulate from the payment page", "err", err)
		back(w, r, "simulate-failed")
		return
	}
	back(w, r, "simulated-"+outcome)
}

// devpay sends the dev wallet's payment of what is due, on the devnet.
func (h *Handler) devpay(w http.ResponseWriter, r *http.Request) {
	o := h.load(w, r, true)
	if o == nil {
		return
	}
	if h.cfg.DevPay == nil || o.ChainID != "devnet" {
		h.message(w, http.StatusForbidden, "Not available", "The dev wallet pays devnet orders in stablegate dev only.")
		return
	}
	hash, err := h.cfg.DevPay(r.Context(), o)
	if err != nil {
		h.cfg.Log.Warn("dev wallet payment", "err", err)
		back(w, r, "devpay-failed")
		return
	}
	h.cfg.Log.Info("dev wallet payment sent", "order", o.ID, "tx", hash)
	back(w, r, "devpay-sent")
}

// Due is what an order still needs, in base units — its whole amount once nothing is due (the QR
// code and the dev wallet pay it).
func Due(o *gateway.Order) *big.Int {
	due := new(big.Int).Sub(o.Amount, o.PaidAmount)
	if due.Sign() <= 0 {
		return o.Amount
	}
	return due
}
