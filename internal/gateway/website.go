package gateway

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Website rules (the Crypto Pay seed): every project names its website; its host is unique across
// projects; success and cancel URLs must stay on that domain. A localhost or IP website is accepted
// for test mode only: live-mode requests of such a project are refused until it has a real domain.

// parseWebURL parses an absolute http(s) URL with a host and no credentials.
func parseWebURL(s string) (*url.URL, bool) {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.Hostname() == "" {
		return nil, false
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, false
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, false // a port no connection can reach
		}
	}
	return u, true
}

// realDomain reports whether host is a public DNS name: dot-separated LDH labels ending in an
// alphabetic top-level label, and neither localhost nor an IP address.
func realDomain(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" || len(host) > 253 || net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return false
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.HasPrefix(tld, "xn--") || strings.Trim(tld, "abcdefghijklmnopqrstuvwxyz") == ""
}

// localHost reports whether host is a name or address that a test-mode website may use.
func localHost(host string) bool {
	host = strings.ToLower(host)
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || net.ParseIP(host) != nil
}

// WebsiteHost validates a project website URL and returns its canonical host, the key of the
// uniqueness rule.
func WebsiteHost(website string) (string, *Error) {
	u, ok := parseWebURL(website)
	if !ok {
		return "", Errorf(EInvalid, "website", "website must be an absolute http or https URL, such as https://shop.example.com")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if !realDomain(host) && !localHost(host) {
		return "", Errorf(EInvalid, "website", "website host %q is not a valid domain", u.Hostname())
	}
	return host, nil
}

// LiveReady reports whether the project's website allows live mode: https on a real domain.
func (p *Project) LiveReady() bool {
	u, ok := parseWebURL(p.Website)
	return ok && u.Scheme == "https" && realDomain(u.Hostname())
}

// checkRedirectURL validates a successUrl or cancelUrl: absolute, https (http too in test mode),
// and on the website's domain or a subdomain of it.
func checkRedirectURL(p *Project, mode Mode, field, raw string) *Error {
	if raw == "" {
		return nil
	}
	u, ok := parseWebURL(raw)
	if !ok {
		return Errorf(EInvalid, field, "%s must be an absolute https URL", field)
	}
	if u.Scheme != "https" && mode.Live() {
		return Errorf(EInvalid, field, "%s must use https in live mode", field)
	}
	if RedirectOffWebsite(p, raw) {
		site, _ := WebsiteHost(p.Website)
		return Errorf(EInvalid, field, "%s domain %q does not match the project website %q", field, strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), site)
	}
	return nil
}
