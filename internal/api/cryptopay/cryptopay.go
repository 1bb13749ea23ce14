// Package cryptopay speaks Crypto Pay's API over stablegate's orders, so that a Crypto Pay
// merchant's code works by changing its base URL and keys: POST /api/create-payment.php and GET
// /api/payment-status.php, authenticated by X-API-Key and a required X-Signature, answered in
// Crypto Pay's {"ok": …} envelope with its error strings (docs/compat-cryptopay.md). It holds no
// state and no rule of its own: a payment is an order of the same services and state machine.
package cryptopay

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
	"github.com/stablegate/stablegate/internal/ratelimit"
)

// The seed's error strings, exactly.
const (
	errInvalidKey        = "Invalid API key"
	errInvalidSignature  = "Invalid signature"
	errWebsite           = "Project website is not configured."
	errSuccessURL        = "Success URL domain does not match project website."
	errFailURL           = "Fail URL domain does not match project website."
	errDisabled          = "Project is disabled."
	errAmountNotPositive = "Amount must be greater than zero"
)

// maxBody bounds a request body, as on the rest of the API.
const maxBody = 1 << 20

// Config is what the adapter works with.
type Config struct {
	Service *gateway.Service
	// PublicURL is the gateway's base URL: payment_url is its payment page of the order.
	PublicURL string
	// Limiter and Proxies apply the API's rate limits and its brute-force protection (nil
	// Limiter: none).
	Limiter *ratelimit.Limiter
	Proxies ratelimit.Proxies
	Log     *slog.Logger
	Now     func() time.Time
}

// Handler answers Crypto Pay's two endpoints.
type Handler struct {
	cfg Config
	mux *http.ServeMux
}

// Paths are the endpoints the handler answers, for the API server's router.
var Paths = []string{"/api/create-payment.php", "/api/payment-status.php"}

// New returns the handler.
func New(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /api/create-payment.php", h.createPayment)
	h.mux.HandleFunc("GET /api/payment-status.php", h.paymentStatus)
	return h
}

// ServeHTTP implements http.Handler: a method the endpoint does not take is 405 with Allow.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern == "" {
		allow := http.MethodPost
		if r.URL.Path == "/api/payment-status.php" {
			allow = http.MethodGet
		}
		w.Header().Set("Allow", allow)
		fail(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here; use "+allow)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// Payment is Crypto Pay's payment object.
type Payment struct {
	PaymentID  int64  `json:"payment_id"`
	OrderID    string `json:"order_id"`
	Status     string `json:"status"` // pending, paid, expired, failed
	Amount     string `json:"amount"`
	PayAmount  string `json:"pay_amount"`
	Currency   string `json:"currency"`
	Network    string `json:"network"`
	Address    string `json:"address"`
	PaymentURL string `json:"payment_url"`
	ExpiresAt  string `json:"expires_at"` // "YYYY-MM-DD HH:MM:SS", UTC
	IsTest     bool   `json:"is_test"`
}

type answer struct {
	OK      bool     `json:"ok"`
	Payment *Payment `json:"payment,omitempty"`
	Error   string   `json:"error,omitempty"`
}

func write(w http.ResponseWriter, status int, a answer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(a)
}

func fail(w http.ResponseWriter, status int, msg string) {
	write(w, status, answer{Error: msg})
}

// authenticate reads the body and proves the key and the signature (required on both endpoints:
// for the GET, the HMAC of its empty body), counting a failed proof against the client address.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (*gateway.Principal, []byte, *http.Request, bool) {
	ctx := r.Context()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		fail(w, http.StatusRequestEntityTooLarge, "Request body is larger than 1 MiB")
		return nil, nil, nil, false
	}
	addr := h.cfg.Proxies.ClientAddress(r)
	if h.cfg.Limiter != nil {
		d, err := h.cfg.Limiter.Peek(ctx, ratelimit.Auth, addr)
		if err != nil {
			h.internal(w, r, err)
			return nil, nil, nil, false
		}
		if !d.Allowed {
			d.SetHeaders(w.Header())
			fail(w, http.StatusTooManyRequests, d.Message())
			return nil, nil, nil, false
		}
	}
	key := r.Header.Get("X-API-Key")
	pr, err := h.cfg.Service.Authenticate(ctx, key)
	if err == nil {
		if err = pr.ProveSignature(r.Header.Get("X-Signature"), body); err != nil {
			err = errBadSignature
		}
	}
	if err != nil {
		msg, status := errInvalidKey, http.StatusUnauthorized
		switch {
		case errors.Is(err, errBadSignature):
			msg = errInvalidSignature
		case gateway.ErrorCode(err) == gateway.EForbidden && strings.Contains(err.Error(), gateway.TestModeMessage):
			msg, status = gateway.TestModeMessage, http.StatusForbidden
		case gateway.ErrorCode(err) == gateway.EForbidden:
			msg, status = errDisabled, http.StatusForbidden
		case gateway.ErrorCode(err) != gateway.EUnauthorized:
			h.internal(w, r, err)
			return nil, nil, nil, false
		}
		if h.cfg.Limiter != nil && status == http.StatusUnauthorized && key != "" {
			if d, err := h.cfg.Limiter.Take(ctx, ratelimit.Auth, addr); err == nil {
				d.Allowed = true // this answer is the 401; the next one is refused
				d.SetHeaders(w.Header())
			}
		}
		fail(w, status, msg)
		return nil, nil, nil, false
	}
	if h.cfg.Limiter != nil {
		d, err := h.cfg.Limiter.Take(ctx, ratelimit.Standard, pr.Credential.ID)
		if err != nil {
			h.internal(w, r, err)
			return nil, nil, nil, false
		}
		d.SetHeaders(w.Header())
		if !d.Allowed {
			fail(w, http.StatusTooManyRequests, d.Message())
			return nil, nil, nil, false
		}
	}
	ctx = gateway.WithActor(ctx, gateway.Actor{Kind: gateway.ActorKey, ID: pr.Credential.ID, Address: addr})
	return pr, body, r.WithContext(ctx), true
}

var errBadSignature = errors.New("bad signature")

func (h *Handler) internal(w http.ResponseWriter, r *http.Request, err error) {
	h.cfg.Log.Error("crypto pay request failed", "path", r.URL.Path, "err", err)
	fail(w, http.StatusInternalServerError, "Internal error")
}

// createRequest is the body of create-payment.php. order_id and amount may come as JSON strings
// or numbers (a number is read as its exact text, never through a float).
type createRequest struct {
	OrderID     flexString `json:"order_id"`
	Amount      flexString `json:"amount"`
	Description string     `json:"description"`
	SuccessURL  string     `json:"success_url"`
	FailURL     string     `json:"fail_url"`
}

// flexString is a JSON string, or a number kept as its text.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case string(b) == "null":
		*f = ""
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return errors.New("order_id and amount must be strings or numbers")
		}
		*f = flexString(n.String())
	}
	return nil
}

func (h *Handler) createPayment(w http.ResponseWriter, r *http.Request) {
	pr, body, r, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	var in createRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "The body must be a JSON object: "+jsonProblem(err))
		return
	}
	if problem := gateway.TextProblem(string(in.OrderID) + string(in.Amount) + in.Description + in.SuccessURL + in.FailURL); problem != "" {
		fail(w, http.StatusBadRequest, "A field "+problem)
		return
	}
	switch {
	case in.OrderID == "":
		fail(w, http.StatusBadRequest, "order_id is required")
		return
	case in.Amount == "":
		fail(w, http.StatusBadRequest, "amount is required")
		return
	case notPositive(string(in.Amount)):
		fail(w, http.StatusBadRequest, errAmountNotPositive)
		return
	case len(in.Description) > 1000:
		fail(w, http.StatusBadRequest, "description must be at most 1000 characters")
		return
	}
	c, cerr := h.cfg.Service.CompatChain(pr.Mode, chain.TRON, "USDT")
	if cerr != nil {
		fail(w, http.StatusConflict, cerr.Message)
		return
	}
	var meta json.RawMessage
	if in.Description != "" {
		meta, _ = json.Marshal(map[string]string{"description": in.Description})
	}
	o, _, err := h.cfg.Service.CreateOrder(r.Context(), pr, gateway.OrderInput{Reference: string(in.OrderID), Amount: string(in.Amount),
		Currency: "USDT", ChainID: c.Slug, SuccessURL: in.SuccessURL, CancelURL: in.FailURL, Metadata: meta})
	if err != nil {
		h.domainError(w, r, pr, in, err)
		return
	}
	write(w, http.StatusOK, answer{OK: true, Payment: h.payment(o)})
}

// domainError answers a refused creation with the seed's string where it has one.
func (h *Handler) domainError(w http.ResponseWriter, r *http.Request, pr *gateway.Principal, in createRequest, err error) {
	var de *gateway.Error
	if !errors.As(err, &de) || de.Code == gateway.EInternal {
		h.internal(w, r, err)
		return
	}
	msg, status := de.Message, http.StatusBadRequest
	switch {
	case de.Code == gateway.EForbidden:
		msg, status = errWebsite, http.StatusForbidden // live payments need an https website on a real domain
	case de.Param == "successUrl" && gateway.RedirectOffWebsite(pr.Project, in.SuccessURL):
		msg = errSuccessURL
	case de.Param == "cancelUrl" && gateway.RedirectOffWebsite(pr.Project, in.FailURL):
		msg = errFailURL
	case de.Param != "":
		msg = strings.NewReplacer("orderReference", "order_id", "successUrl", "success_url", "cancelUrl", "fail_url").Replace(msg)
	}
	switch de.Code {
	case gateway.EConflict:
		status = http.StatusConflict
	case gateway.ENotFound:
		status = http.StatusNotFound
	}
	fail(w, status, msg)
}

func (h *Handler) paymentStatus(w http.ResponseWriter, r *http.Request) {
	pr, _, r, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	raw := r.URL.Query().Get("payment_id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		fail(w, http.StatusBadRequest, "payment_id must be a positive integer")
		return
	}
	o, err := h.cfg.Service.GetOrderByNumber(r.Context(), pr, id, "payment_id")
	if err != nil {
		if gateway.ErrorCode(err) == gateway.ENotFound {
			fail(w, http.StatusNotFound, "Payment not found")
			return
		}
		h.internal(w, r, err)
		return
	}
	write(w, http.StatusOK, answer{OK: true, Payment: h.payment(o)})
}

// payment is an order as Crypto Pay shows a payment.
func (h *Handler) payment(o *gateway.Order) *Payment {
	decimals := o.Token.Decimals
	return &Payment{PaymentID: o.Number, OrderID: o.Reference, Status: Status(o, h.cfg.Now()), Amount: places(o.Amount, decimals, 2),
		PayAmount: places(o.PayAmount(), decimals, 6), Currency: o.Currency, Network: gateway.NetworkName(o.Chain), Address: o.Address,
		PaymentURL: h.cfg.PublicURL + "/pay/" + o.ID, ExpiresAt: o.ExpiresAt.UTC().Format(time.DateTime), IsTest: !o.Mode.Live()}
}

// Status is an order's status in Crypto Pay's words: pending while it can still be paid (a
// payment seen but not yet confirmed, or an underpayment that a top-up may still complete), paid
// once completed (late too), expired when the window passed with nothing paid, failed when it
// passed short of the amount, or when the merchant closed it by hand (invalid).
func Status(o *gateway.Order, now time.Time) string {
	switch o.Status {
	case gateway.OrderCompleted:
		return "paid"
	case gateway.OrderExpired:
		return "expired"
	case gateway.OrderInvalid:
		return "failed"
	case gateway.OrderUnderpaid:
		if o.Expired(now) {
			return "failed"
		}
	}
	return "pending"
}

// places writes base units as a decimal string with at least min decimal places ("50.00",
// "50.000000"), more when the amount has them.
func places(v *big.Int, decimals, min int) string { return padDecimals(money.Format(v, decimals), min) }

// notPositive reports whether a decimal amount is zero or negative ("0", "0.00", "-5"): the
// seed's "Amount must be greater than zero". Other malformed amounts get the domain's message.
func notPositive(s string) bool {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		_, err := money.Parse(rest, 64)
		return err == nil
	}
	v, err := money.Parse(s, 64)
	return err == nil && v.Sign() <= 0
}

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "invalid JSON at byte " + strconv.FormatInt(syn.Offset, 10)
	case errors.As(err, &typ):
		return typ.Field + " has the wrong type"
	case errors.Is(err, io.EOF):
		return "the body is empty"
	}
	return err.Error()
}

// WebhookSchedule is when Crypto Pay retries a failed delivery: after 5 minutes, 15 minutes and
// an hour; then the delivery is failed.
var WebhookSchedule = []time.Duration{5 * time.Minute, 15 * time.Minute, time.Hour}

// WebhookBody is the body Crypto Pay posts when a payment becomes paid, from the data of an
// order.completed event: payment_id is the order's number, app_id the project's id, txid the
// transaction that completed it (a test id for a simulated payment), paid_at its completion in
// UTC ("YYYY-MM-DD HH:MM:SS").
func WebhookBody(e *gateway.Event) ([]byte, error) {
	var d struct {
		OrderNumber    int64  `json:"orderNumber"`
		OrderReference string `json:"orderReference"`
		Amount         string `json:"amount"`
		PayAmount      string `json:"payAmount"` // absent from events written before shared addresses
		Currency       string `json:"currency"`
		ChainID        string `json:"chainId"`
		TxHash         string `json:"txHash"`
		CompletedAt    string `json:"completedAt"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return nil, err
	}
	if d.PayAmount == "" {
		d.PayAmount = d.Amount
	}
	paidAt := e.CreatedAt
	if t, err := time.Parse(time.RFC3339Nano, d.CompletedAt); err == nil {
		paidAt = t
	}
	c, _ := chain.Builtin().Lookup(d.ChainID)
	return json.Marshal(struct {
		PaymentID int64  `json:"payment_id"`
		AppID     string `json:"app_id"`
		OrderID   string `json:"order_id"`
		Status    string `json:"status"`
		Amount    string `json:"amount"`
		PayAmount string `json:"pay_amount"`
		Currency  string `json:"currency"`
		Network   string `json:"network"`
		TxID      string `json:"txid"`
		PaidAt    string `json:"paid_at"`
		IsTest    bool   `json:"is_test"`
	}{d.OrderNumber, e.ProjectID, d.OrderReference, "paid", padDecimals(d.Amount, 2), padDecimals(d.PayAmount, 6), d.Currency, gateway.NetworkName(c),
		d.TxHash, paidAt.UTC().Format(time.DateTime), !e.Mode.Live()})
}

// padDecimals writes a decimal string with at least min decimal places.
func padDecimals(s string, min int) string {
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < min {
		frac += "0"
	}
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}
