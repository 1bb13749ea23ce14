// Package ratelimit counts requests in fixed windows per tier and key — the six tiers of 3PAY v2 —
// in memory or in a store shared by replicas, and says whether one more is allowed.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Tier is a class of requests with a limit of its own (3PAY v2's tiers).
type Tier string

const (
	// Auth counts failed proofs (an unknown or revoked key, a wrong secret or signature) and
	// sign-ins, per client address.
	Auth Tier = "auth"
	// Financial counts what moves money or decides where it goes, per API key.
	Financial Tier = "financial"
	// WalletGeneration counts deposit bindings (each derives and watches an address), per API key.
	WalletGeneration Tier = "walletGeneration"
	// Standard counts every other API call, per API key.
	Standard Tier = "standard"
	// Dashboard counts dashboard requests, per signed-in user.
	Dashboard Tier = "dashboard"
	// Public counts payment-page loads and checkouts, per client address.
	Public Tier = "public"
)

// Tiers lists every tier, in the order the docs show them.
var Tiers = []Tier{Auth, Financial, WalletGeneration, Standard, Dashboard, Public}

// Rule is a tier's limit: at most Limit requests in each Window (0 Limit: no limit).
type Rule struct {
	Limit  int
	Window time.Duration
}

// Rules is a limit per tier.
type Rules map[Tier]Rule

// Defaults are stablegate's limits: 3PAY's figures for the tiers a stranger reaches (Auth, Public),
// and for the authenticated API limits a busy shop does not reach.
func Defaults() Rules {
	const w = 15 * time.Minute
	return Rules{
		Auth:             {Limit: 15, Window: w},
		Financial:        {Limit: 3_000, Window: w},
		WalletGeneration: {Limit: 30_000, Window: w},
		Standard:         {Limit: 300_000, Window: w},
		Dashboard:        {Limit: 2_000, Window: w},
		Public:           {Limit: 60, Window: w},
	}
}

// ThreePay are 3PAY v2's own tiers, exactly (the "3pay" profile).
func ThreePay() Rules {
	const w = 15 * time.Minute
	return Rules{
		Auth:             {Limit: 15, Window: w},
		Financial:        {Limit: 30, Window: w},
		WalletGeneration: {Limit: 20, Window: w},
		Standard:         {Limit: 100, Window: w},
		Dashboard:        {Limit: 200, Window: w},
		Public:           {Limit: 60, Window: w},
	}
}

// Profile returns the named rules: "default" (or empty) or "3pay".
func Profile(name string) (Rules, error) {
	switch name {
	case "", "default":
		return Defaults(), nil
	case "3pay":
		return ThreePay(), nil
	}
	return nil, fmt.Errorf("rateLimits %q: want \"default\" or \"3pay\"", name)
}

// Counter keeps the counts of windows. Add adds n (0: only reads) to the count of key in the
// window that starts at start, and returns the count after it; Purge forgets windows that started
// before the time.
type Counter interface {
	Add(ctx context.Context, key string, start time.Time, n int) (int, error)
	Purge(ctx context.Context, before time.Time) error
}

// Limiter applies the rules with a counter.
type Limiter struct {
	Rules   Rules
	Counter Counter
	// Now is the clock (default time.Now); tests inject one.
	Now func() time.Time

	purged atomic.Int64 // when windows were last purged (unix ms)
}

// New returns a limiter of the rules over the counter (nil: in memory).
func New(rules Rules, c Counter) *Limiter {
	if c == nil {
		c = NewMemory()
	}
	return &Limiter{Rules: rules, Counter: c}
}

// Decision is what the limiter said of one request.
type Decision struct {
	Tier      Tier
	Limit     int
	Remaining int
	Reset     time.Time // when the window ends
	Allowed   bool
	now       time.Time
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Take counts one request of the tier for the key, and says whether it is within the limit. A
// request over the limit is counted too: a client that keeps knocking keeps its window full.
func (l *Limiter) Take(ctx context.Context, tier Tier, key string) (Decision, error) {
	return l.add(ctx, tier, key, 1)
}

// Peek says whether one more request of the tier for the key would be allowed, without counting
// it (the auth tier counts only failures, but refuses everything once they reach the limit).
func (l *Limiter) Peek(ctx context.Context, tier Tier, key string) (Decision, error) {
	return l.add(ctx, tier, key, 0)
}

func (l *Limiter) add(ctx context.Context, tier Tier, key string, n int) (Decision, error) {
	rule := l.Rules[tier]
	now := l.now()
	if rule.Limit <= 0 || rule.Window <= 0 {
		return Decision{Tier: tier, Allowed: true, Limit: -1, now: now}, nil
	}
	start := now.Truncate(rule.Window)
	count, err := l.Counter.Add(ctx, string(tier)+":"+key, start, n)
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit %s: %w", tier, err)
	}
	l.purge(ctx, now)
	d := Decision{Tier: tier, Limit: rule.Limit, Reset: start.Add(rule.Window), now: now}
	if n == 0 {
		d.Allowed = count < rule.Limit
	} else {
		d.Allowed = count <= rule.Limit
	}
	d.Remaining = max(rule.Limit-count, 0)
	return d, nil
}

// purge forgets the windows every rule has left behind, at most once a minute.
func (l *Limiter) purge(ctx context.Context, now time.Time) {
	last := l.purged.Load()
	if now.UnixMilli()-last < time.Minute.Milliseconds() || !l.purged.CompareAndSwap(last, now.UnixMilli()) {
		return
	}
	var longest time.Duration
	for _, r := range l.Rules {
		longest = max(longest, r.Window)
	}
	_ = l.Counter.Purge(ctx, now.Add(-2*longest)) // a failed purge is retried a minute later
}

// RetryAfter is how long until the window ends, rounded up to a second.
func (d Decision) RetryAfter() time.Duration {
	return (max(d.Reset.Sub(d.now), 0) + time.Second - 1).Truncate(time.Second)
}

// Minutes is RetryAfter in whole minutes, rounded up (at least 1): what the refusal says.
func (d Decision) Minutes() int {
	return max(int(math.Ceil(d.Reset.Sub(d.now).Minutes())), 1)
}

// Message is the refusal's text, 3PAY's words with the real minutes.
func (d Decision) Message() string {
	if m := d.Minutes(); m != 1 {
		return "API rate limit exceeded. Try again in " + strconv.Itoa(m) + " minutes."
	}
	return "API rate limit exceeded. Try again in 1 minute."
}

// SetHeaders writes RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds until the
// window ends, as the IETF draft and 3PAY say), and Retry-After when the request is refused.
func (d Decision) SetHeaders(h http.Header) {
	if d.Limit < 0 {
		return
	}
	secs := strconv.Itoa(int(d.RetryAfter() / time.Second))
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("RateLimit-Reset", secs)
	if !d.Allowed {
		h.Set("Retry-After", secs)
	}
}

// Memory is a Counter in this process's memory (one replica, or SQLite).
type Memory struct {
	mu     sync.Mutex
	counts map[memKey]int
}

type memKey struct {
	key   string
	start int64
}

// NewMemory returns an empty in-memory counter.
func NewMemory() *Memory { return &Memory{counts: map[memKey]int{}} }

// Add implements Counter.
func (m *Memory) Add(_ context.Context, key string, start time.Time, n int) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey{key, start.UnixMilli()}
	if n == 0 {
		return m.counts[k], nil
	}
	m.counts[k] += n
	return m.counts[k], nil
}

// Purge implements Counter.
func (m *Memory) Purge(_ context.Context, before time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cut := before.UnixMilli()
	for k := range m.counts {
		if k.start < cut {
			delete(m.counts, k)
		}
	}
	return nil
}

// ParseRule reads a rule written LIMIT/WINDOW ("100/15m"; "0": no limit).
func ParseRule(s string) (Rule, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return Rule{}, nil
	}
	n, w, ok := strings.Cut(s, "/")
	limit, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || limit < 0 {
		return Rule{}, fmt.Errorf("%q: want LIMIT/WINDOW, such as \"100/15m\", or \"0\" for no limit", s)
	}
	window, err := time.ParseDuration(strings.TrimSpace(w))
	if err != nil || window < time.Second || window > 24*time.Hour {
		return Rule{}, fmt.Errorf("%q: the window must be a duration from 1s to 24h, such as \"15m\"", s)
	}
	return Rule{Limit: limit, Window: window}, nil
}

// String writes the rule as ParseRule reads it.
func (r Rule) String() string {
	if r.Limit <= 0 {
		return "0"
	}
	w := r.Window.String()
	switch {
	case r.Window%time.Hour == 0:
		w = strconv.Itoa(int(r.Window/time.Hour)) + "h"
	case r.Window%time.Minute == 0:
		w = strconv.Itoa(int(r.Window/time.Minute)) + "m"
	}
	return strconv.Itoa(r.Limit) + "/" + w
}
