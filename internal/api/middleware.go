package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

type ctxKey int

const (
	requestIDKey ctxKey = iota
	principalKey
)

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func principalFrom(ctx context.Context) *gateway.Principal {
	p, _ := ctx.Value(principalKey).(*gateway.Principal)
	return p
}

// withRequestID gives every request an id, returned in X-Request-Id and quoted in errors and logs.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := gateway.NewID("req")
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// recoverPanics turns a panic into a 500 in the envelope and a log line, never a dropped
// connection.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "request_id", requestIDFrom(r.Context()), "path", r.URL.Path, "panic", v)
				writeError(w, newError(gateway.EInternal, "", "Internal error; quote the requestId if you contact the operator", requestIDFrom(r.Context())))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// apiKey finds the API key in the three accepted headers.
func apiKey(r *http.Request) string {
	if v := r.Header.Get("Authorization"); v != "" {
		if k, ok := strings.CutPrefix(v, "Bearer "); ok {
			return strings.TrimSpace(k)
		}
		return strings.TrimSpace(v)
	}
	if v := r.Header.Get("apikey"); v != "" {
		return strings.TrimSpace(v)
	}
	return strings.TrimSpace(r.Header.Get("X-API-Key"))
}

// authenticate reads the body (at most MaxBodyBytes), resolves the key and checks a secret or
// signature if one is sent, and puts the principal in the context.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		rid := requestIDFrom(ctx)
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeError(w, newError(ePayloadTooLarge, "", "Request body is larger than 1 MiB", rid))
				return
			}
			writeError(w, newError(gateway.EInvalid, "body", "Request body could not be read", rid))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if e := checkURL(r, rid); e != nil {
			writeError(w, e)
			return
		}
		if e := checkJSON(body, rid); e != nil {
			writeError(w, e)
			return
		}
		if len(body) > 0 && !strings.Contains(r.Header.Get("Content-Type"), "json") {
			// Bodies are always JSON; a client that forgot the header (curl -d sends a form type)
			// gets its JSON read rather than an opaque error.
			r.Header.Set("Content-Type", "application/json")
		}
		addr := s.clientAddress(r)
		if s.authBlocked(w, r, addr) {
			return
		}
		pr, err := s.svc.Authenticate(ctx, apiKey(r))
		if err != nil {
			s.authFailed(w, r, addr, err)
			return
		}
		if secret := r.Header.Get("x-api-secret"); secret != "" {
			if err := pr.ProveSecret(secret); err != nil {
				s.authFailed(w, r, addr, err)
				return
			}
		}
		if sig := r.Header.Get("X-Signature"); sig != "" {
			if len(body) == 0 {
				// The HMAC of an empty body is one token for every body-less call: captured from any
				// signed GET, it would prove the secret on all of them.
				writeError(w, newError(gateway.EUnauthorized, "X-Signature", "X-Signature signs the request body, and this request has none: "+
					"send the API secret as x-api-secret instead", rid))
				return
			}
			if err := pr.ProveSignature(sig, body); err != nil {
				s.authFailed(w, r, addr, err)
				return
			}
		}
		if e := s.crossOrigin(w, r, pr); e != nil {
			writeError(w, e)
			return
		}
		ctx = context.WithValue(ctx, principalKey, pr)
		ctx = gateway.WithActor(ctx, gateway.Actor{Kind: gateway.ActorKey, ID: pr.Credential.ID, Address: addr, RequestID: rid})
		r = r.WithContext(ctx)
		if r.Method == http.MethodPost && r.Header.Get("Idempotency-Key") != "" {
			s.idempotent(w, r, pr, body, next)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// fail writes err in the envelope, logging what is not the user's fault.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := fromDomain(err, requestIDFrom(r.Context()))
	if e.status >= 500 {
		s.log.Error("request failed", "request_id", e.RequestID, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, e)
}

// logRequests logs one line per request: never headers or bodies, which carry secrets.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if s.log.Enabled(r.Context(), slog.LevelDebug) || rec.status >= 500 {
			s.log.Log(r.Context(), levelFor(rec.status), "http request", "request_id", requestIDFrom(r.Context()), "method", r.Method,
				"path", r.URL.Path, "status", rec.status, "duration_ms", time.Since(start).Milliseconds())
		}
	})
}

func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelDebug
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
