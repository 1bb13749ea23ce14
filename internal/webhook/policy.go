// Package webhook delivers events to merchants' endpoints: the outbox dispatcher, the signatures
// the seeds' receivers verify, and an HTTP client that cannot be pointed at internal networks.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// Resolver looks up a host's addresses (net.DefaultResolver in production).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy says where webhooks may go. Unless AllowPrivate, loopback, private, link-local (cloud
// metadata included), CGNAT, multicast and the other special-purpose ranges of IPv4 and IPv6 are
// refused: when a URL is configured (after resolving its host) and again when each request dials,
// so a host that resolves elsewhere later (DNS rebinding) is still refused.
type Policy struct {
	AllowPrivate bool
	Resolver     Resolver // nil: net.DefaultResolver
	guard        *ssrf.Guardian
}

// NewPolicy returns a policy; allowPrivate lets webhooks reach any address (development).
func NewPolicy(allowPrivate bool) *Policy {
	// Any port: the address decides what is internal, and merchants run receivers on 8443 too.
	return &Policy{AllowPrivate: allowPrivate, guard: ssrf.New(ssrf.WithAnyPort())}
}

// ErrPrivateAddress is the error of a destination the policy refuses.
var ErrPrivateAddress = errors.New("private or internal network addresses are not allowed")

// CheckURL refuses a URL whose host is, or resolves to, an address the policy refuses.
func (p *Policy) CheckURL(ctx context.Context, raw string) error {
	if p.AllowPrivate {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return errors.New("not an absolute URL")
	}
	host := strings.TrimSuffix(u.Hostname(), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		if p.guard.SafeAddr(ip.Unmap()) != nil {
			return fmt.Errorf("%s is a private or internal address", host)
		}
		return nil
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(lctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return fmt.Errorf("its host %s does not resolve", host)
	}
	for _, a := range addrs {
		if p.guard.SafeAddr(a.Unmap()) != nil {
			return fmt.Errorf("its host %s resolves to %s, a private or internal address", host, a.Unmap())
		}
	}
	return nil
}

// dialControl refuses, at connect time, an address the policy refuses (net.Dialer.Control).
func (p *Policy) dialControl(_, address string, _ syscall.RawConn) error {
	if p.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook dial %s: %w", address, err)
	}
	if err := p.guard.SafeAddrPort(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())); err != nil {
		return fmt.Errorf("webhook dial %s: %w", address, ErrPrivateAddress)
	}
	return nil
}

// Client returns the HTTP client deliveries use: the policy enforced at dial time, no proxy, no
// redirects followed, and timeout for the whole exchange. conns bounds idle connections per host.
func (p *Policy) Client(timeout time.Duration, conns int) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: p.dialControl}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           d.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          conns * 2,
			MaxIdleConnsPerHost:   conns,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
