package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/money"
)

// OrderInput is an order as a merchant sends it.
type OrderInput struct {
	Reference            string
	Amount               string
	Currency             string
	ChainID              string
	SuccessURL           string
	CancelURL            string
	PaymentWindowMinutes *int
	GraceMinutes         *int
	Metadata             json.RawMessage
}

// ResolveToken finds the registry token for a currency on a chain for the mode, on a chain this
// gateway watches (an order on a chain nobody scans would never see its payment); the error names
// the field that is wrong and lists what the mode accepts.
func (s *Service) ResolveToken(mode Mode, chainID, currency string) (chain.Chain, chain.Token, *Error) {
	c, ok := s.ChainRegistry().Lookup(chainID)
	if !ok {
		return c, chain.Token{}, Errorf(EInvalid, "chainId", "chainId %q is not supported; %s mode accepts: %s", chainID, mode, s.enabledSlugs(mode))
	}
	if c.Testnet == mode.Live() {
		kind := "a mainnet"
		if c.Testnet {
			kind = "a test network"
		}
		return c, chain.Token{}, Errorf(EInvalid, "chainId", "chainId %q is %s, not available in %s mode; %s mode accepts: %s", chainID, kind, mode, mode, s.enabledSlugs(mode))
	}
	if !s.ChainEnabled(c.Slug) {
		return c, chain.Token{}, Errorf(EInvalid, "chainId", "chainId %q is not watched by this gateway (no RPC endpoint is configured for it), so a payment there would never be seen; %s mode accepts: %s",
			chainID, mode, s.enabledSlugs(mode))
	}
	for _, t := range c.Tokens {
		if strings.EqualFold(t.Symbol, currency) {
			return c, t, nil
		}
	}
	return c, chain.Token{}, Errorf(EInvalid, "currency", "currency %q is not available on %s; available: %s", currency, c.Slug, strings.Join(c.Symbols(), ", "))
}

// ChainEnabled reports whether the gateway watches the chain (Chains nil: every registry chain).
func (s *Service) ChainEnabled(slug string) bool {
	return s.Chains == nil || slices.Contains(s.Chains, slug)
}

// enabledSlugs lists the chains the gateway watches for the mode, for error messages.
func (s *Service) enabledSlugs(m Mode) string {
	var out []string
	for _, c := range s.EnabledChains(m) {
		out = append(out, c.Slug)
	}
	if len(out) == 0 {
		return "none (no chain of this mode is configured)"
	}
	return strings.Join(out, ", ")
}

// liveAllowed refuses live payments — an order, a payment link, a checkout — to a project whose
// website is not https on a real domain (the Crypto Pay rule); test mode takes any website.
func liveAllowed(pr *Principal) *Error {
	if pr.Mode.Live() && !pr.Project.LiveReady() {
		return Errorf(EForbidden, "", "Project website %q cannot take live payments: set an https website on a real domain (localhost and IP addresses are for test mode)", pr.Project.Website)
	}
	return nil
}

// TextProblem says why s can be no field's value, or "": text that is not valid UTF-8 (decoders
// turn it into U+FFFD, so two different values would become one) or holds NUL (PostgreSQL stores
// neither). Checked before anything reads a path, a query or a header.
func TextProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL character"
	}
	return ""
}

// validReference reports whether a merchant reference is 1–128 printable characters (no control
// characters and no spaces but U+0020: line separators in a reference would also make webhook
// bodies that JavaScript and Go serialize differently).
func validReference(s string) bool {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxReferenceLength {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// validate checks an order input for the principal and returns the order it describes.
func (s *Service) validateOrder(pr *Principal, in OrderInput) (*Order, chain.Chain, *Error) {
	var c chain.Chain
	var missing []string
	for _, f := range []struct{ name, v string }{{"orderReference", in.Reference}, {"amount", in.Amount}, {"currency", in.Currency}, {"chainId", in.ChainID}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, c, Errorf(EInvalid, missing[0], "Required fields: %s", strings.Join(missing, ", "))
	}
	if !validReference(in.Reference) {
		return nil, c, Errorf(EInvalid, "orderReference", "orderReference must be 1 to %d printable characters", MaxReferenceLength)
	}
	c, tok, verr := s.ResolveToken(pr.Mode, in.ChainID, in.Currency)
	if verr != nil {
		return nil, c, verr
	}
	amount, err := money.ParsePositive(in.Amount, tok.Decimals)
	if err != nil {
		msg := fmt.Sprintf("amount %v", err)
		if errors.Is(err, money.ErrTooPrecise) {
			msg = fmt.Sprintf("amount has more than %d decimal places, the most %s on %s allows", tok.Decimals, tok.Symbol, c.Slug)
		}
		return nil, c, Errorf(EInvalid, "amount", "%s", msg)
	}
	if e := checkRedirectURL(pr.Project, pr.Mode, "successUrl", in.SuccessURL); e != nil {
		return nil, c, e
	}
	if e := checkRedirectURL(pr.Project, pr.Mode, "cancelUrl", in.CancelURL); e != nil {
		return nil, c, e
	}
	window, grace := pr.Project.PaymentWindowMinutes, pr.Project.GraceMinutes
	if window == 0 { // a Project built by hand (tests, benchmarks)
		window, grace = DefaultPaymentWindowMinutes, DefaultGraceMinutes
	}
	if e := checkWindow(in.PaymentWindowMinutes, in.GraceMinutes); e != nil {
		return nil, c, e
	}
	if in.PaymentWindowMinutes != nil {
		window = *in.PaymentWindowMinutes
	}
	if in.GraceMinutes != nil {
		grace = *in.GraceMinutes
	}
	meta, verr := compactMetadata(in.Metadata)
	if verr != nil {
		return nil, c, verr
	}
	now := s.now()
	return &Order{
		ID: NewID("ord"), ProjectID: pr.Project.ID, Mode: pr.Mode, Reference: in.Reference,
		Status: OrderPending, Amount: amount, PaidAmount: new(big.Int), Currency: tok.Symbol, ChainID: c.Slug, Chain: c, Token: tok,
		SuccessURL: in.SuccessURL, CancelURL: in.CancelURL, Metadata: meta,
		PaymentWindowMinutes: window, GraceMinutes: grace, UnderpaymentPPM: pr.Project.UnderpaymentPPM,
		ExpiresAt: now.Add(time.Duration(window) * time.Minute), CreatedAt: now,
	}, c, nil
}

// compactMetadata checks that metadata is a JSON object of bounded size, which JavaScript reads as
// Go does (webhooks carry its jsForm), and compacts it: stored exactly as sent.
func compactMetadata(raw json.RawMessage) (json.RawMessage, *Error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if len(raw) > MaxMetadataBytes {
		return nil, Errorf(EInvalid, "metadata", "metadata must be at most %d bytes", MaxMetadataBytes)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return nil, Errorf(EInvalid, "metadata", "metadata must be a JSON object")
	}
	if _, err := jsForm(buf.Bytes()); err != nil {
		return nil, Errorf(EInvalid, "metadata", "metadata must be valid Unicode text: %v", err)
	}
	return buf.Bytes(), nil
}

// CreateOrder creates an order with a fresh address, or returns the order already created under
// the same orderReference (created = false). A reference reused with another amount, currency or
// chain is a conflict, not a silent second order.
func (s *Service) CreateOrder(ctx context.Context, pr *Principal, in OrderInput) (o *Order, created bool, err error) {
	if err := liveAllowed(pr); err != nil {
		return nil, false, err
	}
	o, c, verr := s.validateOrder(pr, in)
	if verr != nil {
		return nil, false, verr
	}
	// A repeated reference is found by the store's unique index inside its transaction; the
	// index reserved for it here is then skipped, never reused.
	req, err := s.orderAddress(ctx, pr, o, c)
	if err != nil {
		return nil, false, err
	}
	existing, err := s.Store.CreateOrder(ctx, o, req)
	if err != nil {
		return nil, false, err
	}
	if existing != nil {
		s.resolve(existing)
		return sameOrder(existing, o, in.Reference)
	}
	return o, true, nil
}

// sameOrder returns the order stored under a reference if the request asks for the same payment,
// and a conflict otherwise.
func sameOrder(existing, requested *Order, ref string) (*Order, bool, error) {
	if existing.Amount.Cmp(requested.Amount) != 0 || existing.Currency != requested.Currency || existing.ChainID != requested.ChainID {
		return nil, false, Errorf(EConflict, "orderReference", "orderReference %q is already used by order %s for a different amount, currency or chainId", ref, existing.ID)
	}
	return existing, false, nil
}

// orderAddress decides where a new order's address comes from: the project's shared address, with
// a pay amount to find, on a chain of its SharedAmounts; otherwise an address of its own
// (addressFor).
func (s *Service) orderAddress(ctx context.Context, pr *Principal, o *Order, c chain.Chain) (AddressRequest, error) {
	sa, ok := pr.Project.SharedAmounts[c.Slug]
	if !ok {
		return s.addressFor(ctx, pr, c.Protocol)
	}
	addr, err := s.sharedAddress(ctx, pr, c.Protocol)
	if err != nil {
		return AddressRequest{}, err
	}
	sr, err := sharedRequest(o, addr, sa)
	if err != nil {
		return AddressRequest{}, err
	}
	return AddressRequest{Protocol: c.Protocol, Shared: sr}, nil
}

// addressFor decides where a new order's or deposit's address comes from: the pool when the project's mode has
// one for the protocol, otherwise a fresh index derived from the project's xpub. Deriving is done
// here, outside the store's write transaction, so it never holds up other writers.
func (s *Service) addressFor(ctx context.Context, pr *Principal, p chain.Protocol) (AddressRequest, error) {
	req := AddressRequest{Protocol: p}
	pool, err := s.hasPool(ctx, pr.Project.ID, pr.Mode, p)
	if err != nil || pool {
		return req, err
	}
	xpub := pr.Project.XPubs[p]
	if xpub == "" {
		return req, Errorf(EInsufficientAddresses, "", "No available addresses in pool for protocol: %s (the project has no %s xpub; import addresses with POST /api/v1/address-pool/import)", p, p)
	}
	acct, err := s.account(xpub, p)
	if err != nil {
		return req, err
	}
	index, err := s.Store.ReserveAddressIndex(ctx, pr.Project.ID, p)
	if err != nil {
		return req, err
	}
	addr, err := acct.Address(index)
	if err != nil {
		return req, err
	}
	req.Derived = &DerivedAddress{Index: index, Address: addr}
	return req, nil
}

// hasPool reports whether the project's mode has a pool for the protocol. A pool, once filled,
// stays (its addresses are used, never removed), so "yes" is cached for good and "no" for
// CacheTTL.
func (s *Service) hasPool(ctx context.Context, projectID string, mode Mode, p chain.Protocol) (bool, error) {
	key := projectID + "/" + string(mode) + "/" + string(p)
	if v, ok := s.pools.Load(key); ok {
		if until, no := v.(time.Time); !no || time.Now().Before(until) {
			return !no, nil
		}
	}
	pool, err := s.Store.HasPool(ctx, projectID, mode, p)
	if err != nil {
		return false, err
	}
	if pool {
		s.pools.Store(key, true)
	} else {
		s.pools.Store(key, time.Now().Add(CacheTTL))
	}
	return pool, nil
}

// account returns the parsed account key of an xpub, parsed once per process.
func (s *Service) account(xpub string, p chain.Protocol) (*chain.Account, error) {
	key := string(p) + ":" + xpub
	if v, ok := s.accounts.Load(key); ok {
		return v.(*chain.Account), nil
	}
	a, err := chain.ParseAccount(xpub, p)
	if err != nil {
		return nil, fmt.Errorf("project xpub: %w", err)
	}
	s.accounts.Store(key, a)
	return a, nil
}

// GetOrder returns one order of the principal's project and mode.
func (s *Service) GetOrder(ctx context.Context, pr *Principal, id string) (*Order, error) {
	o, err := s.Store.FindOrder(ctx, pr.Project.ID, pr.Mode, id)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(ENotFound, "orderId", "Order not found")
	} else if err != nil {
		return nil, err
	}
	s.resolve(o)
	return o, nil
}

// GetOrderByNumber returns an order of the principal's project and mode by its Number (param
// names the field that carried it).
func (s *Service) GetOrderByNumber(ctx context.Context, pr *Principal, number int64, param string) (*Order, error) {
	o, err := s.Store.FindOrderByNumber(ctx, pr.Project.ID, pr.Mode, number)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(ENotFound, param, "Order not found")
	} else if err != nil {
		return nil, err
	}
	s.resolve(o)
	return o, nil
}

// ListOrders lists orders of the principal's project and mode, newest first.
func (s *Service) ListOrders(ctx context.Context, pr *Principal, f OrderFilter) ([]*Order, int, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, 0, Errorf(EInvalid, "status", "status must be one of pending, confirming, completed, underpaid, expired")
	}
	if err := checkPage(f.Page, f.Limit); err != nil {
		return nil, 0, err
	}
	f.ProjectID, f.Mode = pr.Project.ID, pr.Mode
	orders, total, err := s.Store.ListOrders(ctx, f)
	s.resolve(orders...)
	return orders, total, err
}

// PageLimit caps a list's limit at MaxListLimit, as 3PAY does ("pagination capped at 100"): a
// larger limit answers 100 items, not an error. A limit below 1 is left for checkPage to refuse.
func PageLimit(limit int) int { return min(limit, MaxListLimit) }

// checkPage validates a list's page and limit.
func checkPage(page, limit int) *Error {
	if page < 1 || page > 1_000_000 {
		return Errorf(EInvalid, "page", "page must be between 1 and 1000000")
	}
	if limit < 1 || limit > MaxListLimit {
		return Errorf(EInvalid, "limit", "limit must be between 1 and %d", MaxListLimit)
	}
	return nil
}

// MaxImportAddresses bounds one pool import.
const MaxImportAddresses = 10_000

// ImportResult reports a pool import.
type ImportResult struct {
	Added, Skipped, Available, Total int
}

// ImportAddresses adds merchant-held addresses to the project's pool for the principal's mode. It
// decides where money goes — the next orders are paid to these addresses — so it needs the API
// secret, and each address keeps the id of the key that imported it.
func (s *Service) ImportAddresses(ctx context.Context, pr *Principal, protocol string, addrs []string) (*ImportResult, error) {
	if err := RequireSecret(pr); err != nil {
		return nil, err
	}
	p := chain.Protocol(protocol)
	if !p.Valid() {
		return nil, Errorf(EInvalid, "protocol", "protocol must be evm or tron")
	}
	if len(addrs) == 0 || len(addrs) > MaxImportAddresses {
		return nil, Errorf(EInvalid, "addresses", "addresses must hold 1 to %d addresses", MaxImportAddresses)
	}
	seen := make(map[string]bool, len(addrs))
	norm := make([]string, 0, len(addrs))
	for i, a := range addrs {
		n, err := chain.NormalizeAddress(p, a)
		if err != nil {
			return nil, Errorf(EInvalid, fmt.Sprintf("addresses[%d]", i), "addresses[%d] %q is not a valid %s address: %v", i, a, p, err)
		}
		if b, _ := chain.ParseAddress(p, n); b == ([20]byte{}) {
			return nil, Errorf(EInvalid, fmt.Sprintf("addresses[%d]", i), "addresses[%d] is the zero address, which nobody holds the keys of", i)
		}
		if !seen[n] {
			seen[n] = true
			norm = append(norm, n)
		}
	}
	ctx = s.audited(ctx, pr.Project.ID, pr.Mode, AuditPoolImported, string(p), map[string]any{"protocol": string(p), "addresses": len(norm)})
	added, skipped, err := s.Store.ImportAddresses(ctx, pr.Project.ID, pr.Mode, p, norm, pr.ActorID(), s.now())
	if err != nil {
		return nil, err
	}
	if added > 0 {
		s.pools.Store(pr.Project.ID+"/"+string(pr.Mode)+"/"+string(p), true)
	}
	avail, total, err := s.Store.PoolStats(ctx, pr.Project.ID, pr.Mode, p)
	if err != nil {
		return nil, err
	}
	return &ImportResult{Added: added, Skipped: skipped + len(addrs) - len(norm), Available: avail, Total: total}, nil
}

// Pool is the state of a project's address pool for one protocol in one mode.
type Pool struct {
	Protocol         chain.Protocol
	Available, Total int // unused addresses, and all of them
}

// Pools returns the principal's address pools, one per protocol (a protocol without a pool has
// Total 0: its orders take derived addresses).
func (s *Service) Pools(ctx context.Context, pr *Principal) ([]Pool, error) {
	var out []Pool
	for _, p := range []chain.Protocol{chain.EVM, chain.TRON} {
		avail, total, err := s.Store.PoolStats(ctx, pr.Project.ID, pr.Mode, p)
		if err != nil {
			return nil, err
		}
		out = append(out, Pool{Protocol: p, Available: avail, Total: total})
	}
	return out, nil
}
