package gateway

import (
	"strings"

	"github.com/stablegate/stablegate/internal/chain"
)

// CompatChain is the chain a compatibility surface whose payments name no chain takes them on
// (Crypto Pay's are USDT TRC20): the first chain of the mode this gateway watches that is of the
// protocol and has the currency, or else the first that has the currency (the devnet, in
// `stablegate dev`). The error says what to configure.
func (s *Service) CompatChain(m Mode, p chain.Protocol, currency string) (chain.Chain, *Error) {
	var fallback *chain.Chain
	for _, c := range s.EnabledChains(m) {
		if _, ok := c.Token(currency); !ok {
			continue
		}
		if c.Protocol == p {
			return c, nil
		}
		if fallback == nil {
			fallback = &c
		}
	}
	if fallback != nil {
		return *fallback, nil
	}
	return chain.Chain{}, Errorf(EConflict, "", "This gateway watches no %s chain with %s for %s mode: its operator configures one (docs/configuration.md, chains)",
		p, currency, m)
}

// RedirectOffWebsite reports whether raw is an absolute URL whose host is not the project
// website's domain or a subdomain of it: the error a compatibility surface names on its own
// ("Success URL domain does not match project website.").
func RedirectOffWebsite(p *Project, raw string) bool {
	u, ok := parseWebURL(raw)
	if !ok {
		return false
	}
	site, _ := WebsiteHost(p.Website)
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	return host != site && !strings.HasSuffix(host, "."+site)
}
