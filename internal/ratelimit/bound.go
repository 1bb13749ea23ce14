package ratelimit

import (
	"net/http"
)

// Bound lets at most n requests run in next at once; one more is answered 503 with Retry-After
// at once, rather than queued behind the rest where it would time out anyway. Requests exempt
// reports (health checks, long-lived streams that have their own cap) are never bounded.
func Bound(n int, exempt func(*http.Request) bool, next http.Handler) http.Handler {
	slots := make(chan struct{}, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if exempt != nil && exempt(r) {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
		default:
			// The connection is closed after the answer: the server would otherwise read what is
			// left of the refused request's body first, as long as the client takes to send it.
			w.Header().Set("Connection", "close")
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"success":false,"error":"Overloaded","message":"The server is answering as many requests as it can; try again in a second"}` + "\n"))
			return
		}
		defer func() { <-slots }()
		next.ServeHTTP(w, r)
	})
}
