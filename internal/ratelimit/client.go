package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the addresses of the reverse proxies in front of stablegate, whose X-Forwarded-For
// is believed.
type Proxies []netip.Prefix

// ParseProxies reads a comma-separated list of addresses and CIDR prefixes ("10.0.0.0/8,
// 127.0.0.1").
func ParseProxies(s string) (Proxies, error) {
	var out Proxies
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func (ps Proxies) trusted(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddress is the address a request came from: the connection's peer, or — when the peer is
// a trusted proxy — the last address in X-Forwarded-For that is not one (what a client writes
// there itself comes before what the proxies append, so it is never believed). An IPv6 address
// stands for its /64, which one client usually holds whole.
func (ps Proxies) ClientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if len(ps) > 0 && ps.trusted(peer) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a hop that is not an address: believe nothing before it
			}
			peer = a.Unmap()
			if !ps.trusted(peer) {
				break
			}
		}
	}
	if peer.Is6() {
		p, _ := peer.Prefix(64)
		return p.String()
	}
	return peer.String()
}
