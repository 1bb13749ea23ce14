package web

import (
	"net/http"
	"time"

	"github.com/stablegate/stablegate/internal/ratelimit"
)

// limited counts a page load or a checkout against the public tier of the client's address, and
// answers 429 with a page once the address is over it. The live status (its stream, its polling),
// the QR code and the assets are not counted: a payer watching one order for its whole window
// loads the page once.
func (h *Handler) limited(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.Limiter == nil {
			next(w, r)
			return
		}
		addr := h.cfg.Proxies.ClientAddress(r)
		d, err := h.cfg.Limiter.Take(r.Context(), ratelimit.Public, addr)
		if err != nil {
			h.cfg.Log.Error("rate limit", "err", err)
			h.message(w, r, http.StatusInternalServerError, "msg.failed", "msg.failed.text")
			return
		}
		d.SetHeaders(w.Header())
		if !d.Allowed {
			h.cfg.Log.Warn("payment page refused: the address is over the public rate limit", "client", addr, "path", r.URL.Path)
			h.message(w, r, http.StatusTooManyRequests, "msg.ratelimited", "msg.ratelimited.text")
			return
		}
		next(w, r)
	}
}

// openStream takes one of the address's live-status streams, or reports there is none left.
func (h *Handler) openStream(addr string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams[addr] >= h.cfg.MaxStreams {
		return false
	}
	h.streams[addr]++
	return true
}

func (h *Handler) closeStream(addr string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams[addr]--; h.streams[addr] <= 0 {
		delete(h.streams, addr)
	}
}

// streamRetry is what a refused stream tells the page: poll instead, and try a stream again later.
const streamRetry = 30 * time.Second
