package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

var (
	page        = template.Must(template.New("pay.html").Funcs(template.FuncMap{"groups": groups}).ParseFS(assets, "assets/pay.html", "assets/langs.html"))
	messagePage = template.Must(template.New("message.html").ParseFS(assets, "assets/message.html", "assets/langs.html"))
)

// groups shows a long value (an address, a contract, a transaction hash) in groups of four
// characters that a line breaks only between, so no line ends with a stray character or two; the
// text stays the value itself (copy and select take it whole), the gaps are only margins. A
// "0x" stays with the first group, a short last group joins the one before it.
func groups(v string) template.HTML {
	prefix, rest := "", v
	if strings.HasPrefix(v, "0x") {
		prefix, rest = "0x", v[2:]
	}
	var groups []string
	for len(rest) > 0 {
		n := min(4, len(rest))
		if len(rest) < 8 && len(rest) > 4 { // 5 to 7 left: one group, not 4 and a stray 1 to 3
			n = len(rest)
		}
		groups = append(groups, rest[:n])
		rest = rest[n:]
	}
	if len(groups) == 0 {
		groups = []string{""}
	}
	groups[0] = prefix + groups[0]
	var b strings.Builder
	for i, g := range groups {
		if i > 0 {
			b.WriteString("<wbr>")
		}
		b.WriteString(`<span class="g">`)
		b.WriteString(template.HTMLEscapeString(g))
		b.WriteString(`</span>`)
	}
	return template.HTML(b.String())
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
	WrongCurrency bool `json:"wrongCurrency,omitempty"`
	// simulated says the payment that completed the order was a test-mode simulation (no chain).
	simulated bool
	Redirect  string `json:"redirect,omitempty"`
	// Text says the status to the payer, in the language of the request (?lang=, else the page's).
	Text  string `json:"text"`
	Final bool   `json:"final"`
}

// view is what the template renders.
type view struct {
	Order                  *gateway.Order
	Chain                  chain.Chain
	Token                  chain.Token
	Amount, Due            string
	ExpiresAt              string
	Status                 Status
	Test, DevPay, Simulate bool
	Message                string
	// Merchant is who is being paid; the receipt of a completed order: what was received, the
	// transaction that completed it (with its explorer page, where the chain has one) and when.
	Merchant gateway.Merchant
	TxURL    string
	// CompletedAt is when the order completed, the locale's way; CompletedISO the same, RFC 3339.
	CompletedAt, CompletedISO string
	// L is the payer's language; Langs the switch to the others.
	L     *Locale
	Langs []langLink
	// WalletURI is the EIP-681 payment request of the QR code, as a link a phone's wallet opens
	// (EVM chains; a TRON wallet scans the address).
	WalletURI template.URL
}

func (h *Handler) statusOf(ctx context.Context, o *gateway.Order, l *Locale) Status {
	c, tok := o.Chain, o.Token
	due := new(big.Int).Sub(o.PayAmount(), o.PaidAmount)
	if due.Sign() < 0 || o.Status == gateway.OrderCompleted {
		due.SetInt64(0)
	}
	st := Status{Status: string(o.Status), Currency: o.Currency, PaidAmount: money.Format(o.PaidAmount, tok.Decimals), Due: money.Format(due, tok.Decimals),
		Required: gateway.RuleOf(c).Confirmations, TxHash: o.TxHash, WrongCurrency: o.WrongCurrency}
	if payments, _, err := h.svc.OrderPayments(ctx, o); err == nil && len(payments) > 0 {
		st.Confirmations, st.Required = payments[0].Confirmations, payments[0].Required
		for _, p := range payments {
			st.simulated = st.simulated || p.Simulated && p.TxHash == o.TxHash
		}
		if st.TxHash == "" {
			st.TxHash = payments[len(payments)-1].TxHash // the payment the page waits on
		}
	}
	switch o.Status {
	case gateway.OrderCompleted:
		st.Final, st.Redirect = true, o.SuccessURL
	case gateway.OrderExpired, gateway.OrderInvalid:
		st.Final, st.Redirect = true, o.CancelURL
	}
	st.Text = statusText(st, l)
	return st
}

// statusText says the status to the payer. Amounts in it stay exact: what is still due is sent.
func statusText(st Status, l *Locale) string {
	text := statusOnly(st, l)
	if st.WrongCurrency && !st.Final {
		text += " " + l.T("status.wrong", st.Currency)
	}
	return text
}

func statusOnly(st Status, l *Locale) string {
	switch gateway.OrderStatus(st.Status) {
	case gateway.OrderPending:
		return l.T("status.pending")
	case gateway.OrderConfirming:
		return l.T("status.confirming", st.Confirmations, st.Required)
	case gateway.OrderCompleted:
		return l.T("status.completed")
	case gateway.OrderUnderpaid:
		return l.T("status.underpaid", st.PaidAmount+" "+st.Currency, st.Due+" "+st.Currency)
	case gateway.OrderExpired:
		return l.T("status.expired")
	case gateway.OrderInvalid:
		return l.T("status.invalid")
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
	l := localeOf(w, r)
	c, tok := o.Chain, o.Token
	st := h.statusOf(r.Context(), o, l)
	// What the payer pays: on a shared address, the amount with the order's offset.
	v := view{Order: o, Chain: c, Token: tok, Amount: money.Format(o.PayAmount(), tok.Decimals), Due: st.Due,
		ExpiresAt: o.ExpiresAt.UTC().Format(time.RFC3339), Status: st, Test: !o.Mode.Live(), Simulate: !o.Mode.Live() && !st.Final,
		DevPay: h.cfg.DevPay != nil && o.ChainID == "devnet" && !st.Final, L: l, Langs: langLinks(r, l)}
	if code := r.URL.Query().Get("msg"); notices[code] {
		v.Message = l.T("notice." + code)
	}
	if !st.simulated {
		v.TxURL = c.TxURL(o.TxHash)
	}
	if c.Protocol == chain.EVM {
		v.WalletURI = template.URL(qrPayload(o, c, tok)) // built from the registry and the order: no payer text in it
	}
	if o.CompletedAt != nil {
		v.CompletedAt, v.CompletedISO = l.Time(*o.CompletedAt), o.CompletedAt.UTC().Format(time.RFC3339)
	}
	m, err := h.svc.MerchantOf(r.Context(), o.ProjectID)
	if err != nil {
		h.cfg.Log.Error("payment page", "err", err)
		h.message(w, r, http.StatusInternalServerError, "msg.failed", "msg.failed.text")
		return
	}
	v.Merchant = m
	h.render(w, page, http.StatusOK, v)
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	o := h.load(w, r, false)
	if o == nil {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(h.statusOf(r.Context(), o, localeOf(nil, r)))
}

// events streams the order's status as server-sent events: now, then at every change, until it is
// final or the payer leaves.
// streamWriteTimeout bounds the writing of one live-status event.
const streamWriteTimeout = 30 * time.Second

func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	addr := h.cfg.Proxies.ClientAddress(r)
	if !h.openStream(addr) {
		// The page falls back to polling /status when its stream is refused.
		w.Header().Set("Retry-After", strconv.Itoa(int(streamRetry/time.Second)))
		http.Error(w, "Too many live-status streams from this address: poll /pay/{id}/status instead", http.StatusTooManyRequests)
		return
	}
	defer h.closeStream(addr)
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
	// The stream lives for the payment window, far beyond the server's write timeout: each event
	// gets its own deadline.
	rc := http.NewResponseController(w)
	l := localeOf(nil, r)
	var last []byte
	tick := time.NewTicker(h.cfg.Poll)
	defer tick.Stop()
	deadline := time.Now().Add(30 * time.Minute)
	for {
		st := h.statusOf(r.Context(), o, l)
		data, _ := json.Marshal(st)
		if !bytes.Equal(data, last) {
			_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
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
		next, err := h.svc.PublicOrder(r.Context(), o.ID)
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
	c, tok := o.Chain, o.Token
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
var notices = map[string]bool{"simulated-completed": true, "simulated-underpaid": true, "simulated-expired": true,
	"simulate-refused": true, "simulate-failed": true, "devpay-sent": true, "devpay-failed": true}

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
		h.message(w, r, http.StatusForbidden, "msg.unavailable", "msg.simulate.test")
		return
	}
	outcome := r.FormValue("outcome")
	if _, err := h.svc.SimulatePublic(r.Context(), o, outcome); err != nil {
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
		h.message(w, r, http.StatusForbidden, "msg.unavailable", "msg.devpay.devnet")
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

// Due is what an order still needs, in base units — its whole pay amount once nothing is due (the
// QR code and the dev wallet pay it).
func Due(o *gateway.Order) *big.Int {
	due := new(big.Int).Sub(o.PayAmount(), o.PaidAmount)
	if due.Sign() <= 0 {
		return o.PayAmount()
	}
	return due
}
