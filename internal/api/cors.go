package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/stablegate/stablegate/internal/gateway"
)

// The CORS answers. A browser page may call the API only from an origin on the key's project's
// allowlist (allowedOrigins), with the key alone: the API secret is never for a page, so neither
// x-api-secret nor X-Signature is offered to one. Calls without an Origin header (servers, curl)
// are not concerned, nor are the gateway's own pages (/docs), which are of its public URL's origin.

const (
	corsMethods = "GET, POST, PUT, PATCH, DELETE"
	corsHeaders = "Authorization, apikey, X-API-Key, Content-Type, Idempotency-Key"
	corsExposed = "X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After"
)

// preflight answers a browser's CORS preflight of an API call. The key is not sent with a
// preflight, so it cannot say which project the call is for: it answers every origin, and the
// call itself is refused unless its key's project allows the origin.
func (s *Server) preflight(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if r.Method != http.MethodOptions || origin == "" || r.Header.Get("Access-Control-Request-Method") == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Allow-Headers", corsHeaders)
		h.Set("Access-Control-Max-Age", "600")
		h.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
		w.WriteHeader(http.StatusNoContent)
	})
}

// crossOrigin checks the Origin of an authenticated call: nil when it has none or it is the
// gateway's own, the refusal when the project does not allow it or the page sends the secret.
// Both get the headers that let the page read the answer: a refusal reveals nothing to a page
// that already holds the key, and tells its developer what to change.
func (s *Server) crossOrigin(w http.ResponseWriter, r *http.Request, pr *gateway.Principal) *Error {
	origin := r.Header.Get("Origin")
	if origin == "" || (s.origin != "" && strings.EqualFold(origin, s.origin)) {
		return nil
	}
	rid := requestIDFrom(r.Context())
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin) // even on a refusal, so the page's developer reads why
	h.Set("Access-Control-Expose-Headers", corsExposed)
	h.Add("Vary", "Origin")
	if !pr.Project.AllowsOrigin(origin) {
		return newError(gateway.EForbidden, "Origin", "Pages of "+origin+" may not call the API with this project's keys: "+
			"add the origin to the project's allowedOrigins (PATCH /api/v1/project)", rid)
	}
	for _, name := range []string{"x-api-secret", "X-Signature"} {
		if r.Header.Get(name) != "" {
			return newError(gateway.EForbidden, name, "The API secret is not for browser pages: call this operation from your server", rid)
		}
	}
	return nil
}

// originOf is the origin (scheme://host) of the public URL, whose pages (the docs' "try it") are
// the gateway's own; "" when it has none.
func originOf(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
