package gateway

import (
	"net"
	"net/url"
	"slices"
	"strings"
)

// MaxAllowedOrigins bounds a project's CORS allowlist.
const MaxAllowedOrigins = 20

// ParseOrigins checks a CORS allowlist: each entry a browser origin — https://host[:port], or
// http:// on localhost or a loopback address (a site in development) — without a path, query or
// credentials; "*" is refused (an API key is not for every page of the web). It returns them
// lowercased, in order, without duplicates.
func ParseOrigins(origins []string) ([]string, *Error) {
	if len(origins) > MaxAllowedOrigins {
		return nil, Errorf(EInvalid, "allowedOrigins", "allowedOrigins holds at most %d origins", MaxAllowedOrigins)
	}
	out := make([]string, 0, len(origins))
	for _, o := range origins {
		norm, e := parseOrigin(o)
		if e != nil {
			return nil, e
		}
		if !slices.Contains(out, norm) {
			out = append(out, norm)
		}
	}
	return out, nil
}

func parseOrigin(o string) (string, *Error) {
	bad := func(why string) (string, *Error) {
		return "", Errorf(EInvalid, "allowedOrigins", "allowedOrigins: %q is not an origin: %s", o, why)
	}
	if o == "*" {
		return bad(`"*" would let every web page use the key; list the sites`)
	}
	if len(o) > 300 || TextProblem(o) != "" {
		return bad("an origin is at most 300 characters of text")
	}
	u, err := url.Parse(strings.ToLower(o))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return bad("write it as https://shop.example.com")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") {
		return bad("an origin is a scheme, a host and a port: no path, query or credentials")
	}
	host := u.Hostname()
	if host == "" || strings.Contains(host, "*") {
		return bad("it has no host (wildcards are not accepted)")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return bad("http is accepted for localhost only: a page served over http can be rewritten on its way")
		}
	default:
		return bad("the scheme is https (or http on localhost)")
	}
	if p := u.Port(); p != "" && (len(p) > 5 || strings.TrimLeft(p, "0123456789") != "") {
		return bad("the port is a number")
	}
	if (u.Scheme == "https" && u.Port() == "443") || (u.Scheme == "http" && u.Port() == "80") {
		u.Host = strings.TrimSuffix(u.Host, ":"+u.Port()) // a browser's Origin names no default port
	}
	return u.Scheme + "://" + u.Host, nil
}

// AllowsOrigin reports whether a browser page of the origin (its Origin header) may call the API
// with the project's keys: the origin is on the project's allowlist.
func (p *Project) AllowsOrigin(origin string) bool {
	return slices.Contains(p.AllowedOrigins, strings.ToLower(origin))
}
