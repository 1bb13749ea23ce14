package chain

import "testing"

func TestRegistryValid(t *testing.T) {
	t.Parallel()
	if err := Builtin().Validate(); err != nil {
		t.Fatal(err)
	}
}

// Wrong decimals lose money: pin the entries TOKENS.md singles out.
func TestRegistryDecimals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		chain, symbol string
		decimals      int
	}{
		{"bsc", "USDT", 18}, {"bsc", "USDC", 18}, {"ethereum", "USDT", 6}, {"ethereum", "DAI", 18},
		{"tron", "USDT", 6}, {"arbitrum", "USDT", 6}, {"devnet", "USDT", 6}, {"devnet", "DAI", 18},
	}
	for _, tt := range tests {
		c, ok := Builtin().Lookup(tt.chain)
		if !ok {
			t.Fatalf("chain %s missing", tt.chain)
		}
		tok, ok := c.Token(tt.symbol)
		if !ok || tok.Decimals != tt.decimals {
			t.Errorf("%s %s decimals = %d (found %v), want %d", tt.chain, tt.symbol, tok.Decimals, ok, tt.decimals)
		}
	}
	if c, _ := Builtin().Lookup("tron"); func() bool { _, ok := c.Token("USDC"); return ok }() {
		t.Error("TRON USDC must stay out of the default registry")
	}
	for _, slug := range []string{"ethereum", "ethereum-sepolia", "polygon", "polygon-amoy", "bsc", "arbitrum", "base", "tron", "tron-nile", "devnet"} {
		if _, ok := Builtin().Lookup(slug); !ok {
			t.Errorf("chain %s missing", slug)
		}
	}
}

func TestExplorerAndBlockTime(t *testing.T) {
	t.Parallel()
	for _, c := range Builtin().All() {
		if c.BlockTime <= 0 || c.Confirmations < 1 {
			t.Errorf("%s: block time %v, confirmations %d", c.Slug, c.BlockTime, c.Confirmations)
		}
		if c.Slug != "devnet" && c.TxURL("0xabc") == "" {
			t.Errorf("%s has no explorer", c.Slug)
		}
	}
	eth, _ := Builtin().Lookup("ethereum")
	if got := eth.TxURL("0xabc"); got != "https://etherscan.io/tx/0xabc" {
		t.Errorf("TxURL = %s", got)
	}
}

// Configure changes one chain's rule in a copy: the built-in registry, and other chains, keep theirs.
func TestRegistryConfigure(t *testing.T) {
	t.Parallel()
	r, err := Builtin().Configure("ethereum-sepolia", 3, "none")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := r.Lookup("ethereum-sepolia")
	def, _ := Builtin().Lookup("ethereum-sepolia")
	if got.Confirmations != 3 || got.FinalityTag != "" || def.FinalityTag == "" || def.Confirmations == 3 {
		t.Errorf("configured %d %q; built-in %d %q", got.Confirmations, got.FinalityTag, def.Confirmations, def.FinalityTag)
	}
	if r2, _ := r.Configure("polygon-amoy", 0, "safe"); func() bool { c, _ := r2.Lookup("polygon-amoy"); return c.FinalityTag != "safe" }() {
		t.Error("finality safe not applied")
	}
	if _, err := r.Configure("nochain", 1, ""); err == nil {
		t.Error("an unknown chain was configured")
	}
	if _, err := r.Configure("ethereum", 1, "latest"); err == nil {
		t.Error("an unknown finality tag was accepted")
	}
	if _, err := NewRegistry(def, def); err == nil {
		t.Error("a registry with a chain twice was built")
	}
}
