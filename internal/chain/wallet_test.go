package chain_test

import (
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/stablegate/stablegate/internal/chain"
)

// A hot wallet is its own key: one per mode and chain, never an order address, the same every time.
func TestHotWallets(t *testing.T) {
	seed, err := chain.OpenSeed(abandonMnemonic)
	if err != nil {
		t.Fatal(err)
	}
	xpub, _ := chain.AccountXPub(abandonMnemonic, chain.EVM)
	orders := map[string]bool{}
	for i := uint32(0); i < 50; i++ {
		a, _ := chain.DeriveAddress(xpub, chain.EVM, i)
		orders[a] = true
	}
	seen := map[[20]byte]string{}
	for _, c := range []struct {
		live bool
		id   uint64
	}{{false, 1337}, {false, 11155111}, {true, 1}, {true, 56}, {true, 1337}} {
		key, addr, err := seed.WalletKey(chain.EVM, c.live, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if crypto.PubkeyToAddress(key.PublicKey) != addr {
			t.Fatal("the address is not the key's")
		}
		path := chain.WalletPath(chain.EVM, c.live, c.id)
		if prev, ok := seen[addr]; ok {
			t.Errorf("%s and %s are one wallet", prev, path)
		}
		seen[addr] = path
		if orders[chain.FormatAddress(chain.EVM, addr)] {
			t.Errorf("the hot wallet at %s is an order address", path)
		}
		_, again, _ := seed.WalletKey(chain.EVM, c.live, c.id)
		if again != addr {
			t.Errorf("%s derives two addresses", path)
		}
	}
	if got := chain.WalletPath(chain.TRON, true, 728126428); got != "m/44'/195'/1'/1/728126428" {
		t.Errorf("TRON path %s", got)
	}
	// Pinned, so that a change of the derivation (which would strand funds) fails here.
	if _, addr, _ := seed.WalletKey(chain.EVM, false, 1337); chain.FormatAddress(chain.EVM, addr) != "0xEE512D960f975750646C89F9Ba8159d1817ceC8D" {
		t.Errorf("the devnet test wallet moved: %s", chain.FormatAddress(chain.EVM, addr))
	}
	if got := chain.WalletPath(chain.TRON, false, 3448148188); got != "m/44'/195'/1'/0/1300664540" {
		t.Errorf("TRON Nile path %s", got)
	}
	// Every chain of the registry has its own wallet in each mode.
	all := map[[20]byte]string{}
	for _, c := range chain.Builtin().All() {
		for _, live := range []bool{false, true} {
			_, addr, err := seed.WalletKey(c.Protocol, live, c.ChainID)
			if err != nil {
				t.Fatal(err)
			}
			if prev, ok := all[addr]; ok {
				t.Errorf("%s and %s share a hot wallet", prev, c.Slug)
			}
			all[addr] = c.Slug
		}
	}
	if _, err := chain.OpenSeed("abandon abandon"); err == nil {
		t.Error("a bad mnemonic opened")
	}
}

// An address key derives the very address the account xpub gives at the index: the key that
// sweeps an order's address is that address's.
func TestAddressKeyMatchesTheXPub(t *testing.T) {
	seed, err := chain.OpenSeed(abandonMnemonic)
	if err != nil {
		t.Fatal(err)
	}
	xpub, err := chain.AccountXPub(abandonMnemonic, chain.EVM)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []uint32{0, 1, 7, 1_000_000} {
		_, addr, err := seed.AddressKey(chain.EVM, i)
		if err != nil {
			t.Fatal(err)
		}
		want, err := chain.DeriveAddress(xpub, chain.EVM, i)
		if err != nil {
			t.Fatal(err)
		}
		if got := chain.FormatAddress(chain.EVM, addr); got != want {
			t.Fatalf("index %d: key of %s, xpub gives %s", i, got, want)
		}
	}
}

const abandonMnemonic = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
