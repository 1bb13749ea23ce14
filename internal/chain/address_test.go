package chain

import (
	"errors"
	"testing"
)

const abandon = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"

func TestDeriveKnownVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    Protocol
		want string
	}{
		{EVM, "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"},
		{TRON, "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH"},
	}
	for _, tt := range tests {
		xpub, err := AccountXPub(abandon, tt.p)
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidateXPub(xpub); err != nil {
			t.Fatalf("ValidateXPub(own xpub): %v", err)
		}
		got, err := DeriveAddress(xpub, tt.p, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s m/44'/…/0'/0/0 = %s, want %s", tt.p, got, tt.want)
		}
		next, _ := DeriveAddress(xpub, tt.p, 1)
		if next == got {
			t.Errorf("%s index 1 derived the same address as index 0", tt.p)
		}
	}
}

func TestValidateXPubRefusesPrivateAndGarbage(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "xpub123", "not a key",
		"xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"} {
		if err := ValidateXPub(s); !errors.Is(err, ErrXPub) {
			t.Errorf("ValidateXPub(%q) = %v, want ErrXPub", s, err)
		}
	}
}

func TestParseAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    Protocol
		in   string
		want string
		ok   bool
	}{
		{EVM, "0x9858EfFD232B4033E47d90003D41EC34EcaEda94", "0x9858EfFD232B4033E47d90003D41EC34EcaEda94", true},
		{EVM, "0x9858effd232b4033e47d90003d41ec34ecaeda94", "0x9858EfFD232B4033E47d90003D41EC34EcaEda94", true},
		{EVM, "0x9858EfFD232B4033E47d90003D41EC34EcaEda95", "", false}, // checksum broken
		{EVM, "9858effd232b4033e47d90003d41ec34ecaeda94", "", false},
		{EVM, "0x9858effd", "", false},
		{EVM, "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH", "", false},
		{TRON, "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH", "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH", true},
		{TRON, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", true},
		{TRON, "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdJ", "", false}, // checksum broken
		{TRON, "0x9858EfFD232B4033E47d90003D41EC34EcaEda94", "", false},
		{"btc", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizeAddress(tt.p, tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("NormalizeAddress(%s, %q) = %q, %v; want %q ok=%v", tt.p, tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseAddress(f *testing.F) {
	f.Add("evm", "0x9858EfFD232B4033E47d90003D41EC34EcaEda94")
	f.Add("tron", "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH")
	f.Fuzz(func(t *testing.T, p, s string) {
		b, err := ParseAddress(Protocol(p), s)
		if err != nil {
			return
		}
		if again, err := ParseAddress(Protocol(p), FormatAddress(Protocol(p), b)); err != nil || again != b {
			t.Fatalf("round trip of %q failed: %v", s, err)
		}
	})
}
