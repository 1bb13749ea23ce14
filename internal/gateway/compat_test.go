package gateway_test

import (
	"testing"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

// Which chain a compatibility surface's payment goes to: 3PAY's network names and Crypto Pay's
// USDT TRC20, on the chains this gateway watches in the mode.
func TestCompatibilityChains(t *testing.T) {
	every := &gateway.Service{}
	for _, c := range []struct {
		chains          []string
		mode            gateway.Mode
		network, symbol string
		want, wantParam string
	}{
		{nil, gateway.Test, "", "USDT", "ethereum-sepolia", ""},
		{nil, gateway.Live, "ERC20", "USDT", "ethereum", ""},
		{nil, gateway.Live, "TRC20", "USDT", "tron", ""},
		{nil, gateway.Test, "TRC20", "USDT", "tron-nile", ""},
		{nil, gateway.Live, "BEP20", "USDT", "bsc", ""},
		{nil, gateway.Test, "BEP20", "USDT", "", "network"}, // no BNB testnet
		{nil, gateway.Test, "SOL", "USDT", "", "network"},
		{nil, gateway.Test, "TRC20", "DAI", "", "currency"},
		{[]string{"polygon", "base"}, gateway.Live, "ERC20", "USDC", "polygon", ""},
		{[]string{"devnet"}, gateway.Test, "ERC20", "USDT", "devnet", ""},
		{[]string{"devnet"}, gateway.Test, "TRC20", "USDT", "", "network"},
	} {
		svc := every
		if c.chains != nil {
			svc = &gateway.Service{Chains: c.chains}
		}
		got, err := svc.NetworkChain(c.mode, c.network, c.symbol)
		switch {
		case c.wantParam != "" && (err == nil || err.Param != c.wantParam):
			t.Errorf("%v %s %s %s: %+v, %v; want an error on %s", c.chains, c.mode, c.network, c.symbol, got.Slug, err, c.wantParam)
		case c.wantParam == "" && (err != nil || got.Slug != c.want):
			t.Errorf("%v %s %s %s: %s, %v; want %s", c.chains, c.mode, c.network, c.symbol, got.Slug, err, c.want)
		}
	}
	// Crypto Pay: TRON first, else the first chain with USDT, else a Conflict saying so.
	for _, c := range []struct {
		chains []string
		mode   gateway.Mode
		want   string
	}{{nil, gateway.Test, "tron-nile"}, {nil, gateway.Live, "tron"}, {[]string{"devnet"}, gateway.Test, "devnet"}, {[]string{"devnet"}, gateway.Live, ""}} {
		got, err := (&gateway.Service{Chains: c.chains}).CompatChain(c.mode, chain.TRON, "USDT")
		if c.want == "" && (err == nil || err.Code != gateway.EConflict) || c.want != "" && (err != nil || got.Slug != c.want) {
			t.Errorf("CompatChain %v %s = %s, %v; want %q", c.chains, c.mode, got.Slug, err, c.want)
		}
	}
	if gateway.NetworkName(chain.Chain{Slug: "tron", Protocol: chain.TRON}) != "TRC20" || gateway.NetworkName(chain.Chain{Slug: "bsc", Protocol: chain.EVM}) != "BEP20" ||
		gateway.NetworkName(chain.Chain{Slug: "arbitrum", Protocol: chain.EVM}) != "ERC20" {
		t.Error("NetworkName")
	}
}
