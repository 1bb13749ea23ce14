package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/ratelimit"
)

// eRateLimited is the error type of a request over its tier's limit (429).
const eRateLimited = "RateLimitExceeded"

// walletOperations derive and watch a new address per call: 3PAY's wallet-generation tier.
var walletOperations = map[string]bool{"bindDeposit": true}

// tierOf is the rate-limit tier of an operation: what needs the secret is financial (it moves
// money, decides where it goes or who hears of it) but for the audit log, which only reads; a
// deposit binding generates a wallet; the rest is standard.
func tierOf(operationID string) ratelimit.Tier {
	switch {
	case secretOperations[operationID] && operationID != "getAuditLog":
		return ratelimit.Financial
	case walletOperations[operationID]:
		return ratelimit.WalletGeneration
	}
	return ratelimit.Standard
}

// clientAddress is where the request came from (behind the configured proxies).
func (s *Server) clientAddress(r *http.Request) string { return s.cfg.Proxies.ClientAddress(r) }

// authBlocked reports whether the request's address has failed too many proofs in this window; it
// then answers 429, whatever the request brings — the right secret too.
func (s *Server) authBlocked(w http.ResponseWriter, r *http.Request, addr string) bool {
	if s.cfg.Limiter == nil {
		return false
	}
	d, err := s.cfg.Limiter.Peek(r.Context(), ratelimit.Auth, addr)
	if err != nil {
		s.fail(w, r, err)
		return true
	}
	if d.Allowed {
		return false
	}
	s.log.Warn("request refused: too many failed authentications from the address", "request_id", requestIDFrom(r.Context()),
		"client", addr, "path", r.URL.Path)
	s.refuse(w, r, d)
	return true
}

// authFailed answers a failed proof of a key, secret or signature, and counts it against the
// address when the client presented one (a guess).
func (s *Server) authFailed(w http.ResponseWriter, r *http.Request, addr string, err error) {
	var de *gateway.Error
	if s.cfg.Limiter != nil && errors.As(err, &de) && de.Code == gateway.EUnauthorized && presentedCredentials(r) {
		d, lerr := s.cfg.Limiter.Take(r.Context(), ratelimit.Auth, addr)
		if lerr != nil {
			s.fail(w, r, lerr)
			return
		}
		s.log.Warn("failed authentication", "request_id", requestIDFrom(r.Context()), "client", addr, "param", de.Param,
			"failures_left", d.Remaining)
		d.Allowed = true // this answer is the 401; the next one is refused
		d.SetHeaders(w.Header())
	}
	s.fail(w, r, err)
}

// presentedCredentials reports whether the request carried a key, a secret or a signature.
func presentedCredentials(r *http.Request) bool {
	return apiKey(r) != "" || r.Header.Get("x-api-secret") != "" || r.Header.Get("X-Signature") != ""
}

// limit counts each operation's call against its tier for the caller's key (Huma middleware, so
// that the operation is known), sets the RateLimit headers, and answers 429 over the limit.
func (s *Server) limit(ctx huma.Context, next func(huma.Context)) {
	pr := principalFrom(ctx.Context())
	if s.cfg.Limiter == nil || pr == nil { // /health has no principal, and no limit
		next(ctx)
		return
	}
	d, err := s.cfg.Limiter.Take(ctx.Context(), tierOf(ctx.Operation().OperationID), pr.Credential.ID)
	if err != nil {
		s.log.Error("rate limit", "request_id", requestIDFrom(ctx.Context()), "err", err)
		writeHuma(ctx, newError(gateway.EInternal, "", "Internal error; quote the requestId if you contact the operator", requestIDFrom(ctx.Context())))
		return
	}
	h := http.Header{}
	d.SetHeaders(h)
	for k, v := range h {
		ctx.SetHeader(k, v[0])
	}
	if !d.Allowed {
		writeHuma(ctx, newError(eRateLimited, "", d.Message(), requestIDFrom(ctx.Context())))
		return
	}
	next(ctx)
}

// writeHuma answers e in the envelope from a Huma middleware.
func writeHuma(ctx huma.Context, e *Error) {
	ctx.SetHeader("Content-Type", "application/json")
	ctx.SetStatus(e.status)
	_ = json.NewEncoder(ctx.BodyWriter()).Encode(e)
}

// refuse answers 429 with the headers and 3PAY's message.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, d ratelimit.Decision) {
	d.SetHeaders(w.Header())
	writeError(w, newError(eRateLimited, "", d.Message(), requestIDFrom(r.Context())))
}
