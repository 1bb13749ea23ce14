package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/stablegate/stablegate/internal/gateway"
)

// Idempotency-Key rules: the same key with the same request, sent with the same API key, replays
// the stored response with Idempotent-Replayed: true — to a request that proves the API secret if
// the first one did; with another request (or another API key) it is 422; while the first request
// still runs it is 409. Keys live gateway.IdempotencyTTL. Only a success (below 400) is stored: a request
// refused (authentication, validation, a conflict) or failed can be sent again with the same key,
// and nobody can store a refusal under a key the merchant will use. A record left "running" by a
// crash is taken over after gateway.IdempotencyTakeover.
const (
	maxIdempotencyKey  = 255
	replayedHeader     = "Idempotent-Replayed"
	idempotencyKeyHead = "Idempotency-Key"
)

func requestHash(r *http.Request, pr *gateway.Principal, body []byte) string {
	h := sha256.New()
	h.Write([]byte(pr.Credential.ID + "\n" + r.Method + " " + r.URL.Path + "?" + r.URL.RawQuery + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, pr *gateway.Principal, body []byte, next http.Handler) {
	ctx := r.Context()
	rid := requestIDFrom(ctx)
	key := r.Header.Get(idempotencyKeyHead)
	if len(key) > maxIdempotencyKey {
		writeError(w, newError(gateway.EInvalid, idempotencyKeyHead, "Idempotency-Key must be at most 255 characters", rid))
		return
	}
	if why := gateway.TextProblem(key); why != "" {
		writeError(w, newError(gateway.EInvalid, idempotencyKeyHead, "Idempotency-Key "+why, rid))
		return
	}
	now := s.now()
	rec := &gateway.IdempotencyRecord{ProjectID: pr.Project.ID, Mode: pr.Mode, Key: key, RequestHash: requestHash(r, pr, body),
		SecretProven: pr.SecretProven, CreatedAt: now}
	existing, err := s.svc.BeginIdempotent(ctx, rec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if existing != nil {
		switch {
		case !existing.Done:
			writeError(w, newError(eIdempotencyInUse, idempotencyKeyHead, "A request with this Idempotency-Key is still being processed; retry later", rid))
		case existing.RequestHash != rec.RequestHash:
			writeError(w, newError(eIdempotencyReused, idempotencyKeyHead, "Idempotency-Key was already used with a different request", rid))
		case existing.SecretProven && !pr.SecretProven:
			s.fail(w, r, gateway.RequireSecret(pr)) // the replay proves what the request did
		default:
			body, err := s.openAnswer(rec, existing.Body)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set(replayedHeader, "true")
			w.WriteHeader(existing.Status)
			_, _ = w.Write(body)
		}
		return
	}
	capture := &captureWriter{ResponseWriter: w, status: http.StatusOK}
	completed := false
	defer func() {
		// Runs on return and on panic: an unfinished or failed request releases its key.
		bg := context.WithoutCancel(ctx)
		if completed && capture.status < 400 {
			rec.Done, rec.Status, rec.Body = true, capture.status, s.sealAnswer(rec, capture.buf.Bytes())
			if err := s.svc.FinishIdempotent(bg, rec); err != nil {
				s.log.Error("store idempotent response", "request_id", rid, "err", err)
			}
			return
		}
		if err := s.svc.ReleaseIdempotent(bg, rec); err != nil {
			s.log.Error("release idempotency key", "request_id", rid, "err", err)
		}
	}()
	next.ServeHTTP(capture, r)
	completed = true
}

// captureWriter passes a response through and keeps a copy of it.
type captureWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (c *captureWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	c.buf.Write(b)
	return c.ResponseWriter.Write(b)
}

// Stored answers are sealed with the master key (gateway.Keyring.SealAnswer). Without a keyring
// (tests, benchmarks) they are stored as they are.
func (s *Server) sealAnswer(rec *gateway.IdempotencyRecord, body []byte) []byte {
	if s.svc.Keyring == nil {
		return body
	}
	return s.svc.Keyring.SealAnswer(rec, body)
}

func (s *Server) openAnswer(rec *gateway.IdempotencyRecord, stored []byte) ([]byte, error) {
	if s.svc.Keyring == nil {
		if gateway.IsSealedAnswer(stored) {
			return nil, errors.New("idempotent answer: sealed, and no master key to open it")
		}
		return stored, nil
	}
	return s.svc.Keyring.OpenAnswer(rec, stored)
}
