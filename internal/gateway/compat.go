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

// NetworkName is a chain's network as 3PAY and Crypto Pay name it: TRC20 on TRON, BEP20 on BNB
// Smart Chain, ERC20 on the other EVM chains.
func NetworkName(c chain.Chain) string {
	switch {
	case c.Protocol == chain.TRON:
		return "TRC20"
	case strings.HasPrefix(c.Slug, "bsc"):
		return "BEP20"
	}
	return "ERC20"
}

// NetworkChain is the chain a network name ("ERC20", the default; "TRC20"; "BEP20") takes the
// currency on in the mode: the first chain this gateway watches that the name covers, Ethereum's
// first (sandbox: Sepolia, Nile). The error names the field network.
func (s *Service) NetworkChain(m Mode, network, currency string) (chain.Chain, *Error) {
	if network == "" {
		network = "ERC20"
	}
	if network != "ERC20" && network != "TRC20" && network != "BEP20" {
		return chain.Chain{}, Errorf(EInvalid, "network", "network must be ERC20, TRC20 or BEP20")
	}
	var onNetwork, found []chain.Chain
	for _, c := range s.EnabledChains(m) {
		if NetworkName(c) != network {
			continue
		}
		onNetwork = append(onNetwork, c)
		if _, ok := c.Token(currency); ok {
			found = append(found, c)
		}
	}
	switch {
	case len(onNetwork) == 0:
		return chain.Chain{}, Errorf(EInvalid, "network", "network %s is not available in %s mode on this gateway", network, m)
	case len(found) == 0:
		return chain.Chain{}, Errorf(EInvalid, "currency", "currency %q is not available on %s; available: %s", currency, network,
			strings.Join(onNetwork[0].Symbols(), ", "))
	}
	for _, c := range found {
		if strings.HasPrefix(c.Slug, "ethereum") {
			return c, nil
		}
	}
	return found[0], nil
}
