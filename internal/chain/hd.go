package chain

import (
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/tyler-smith/go-bip39"
)

// BIP44 coin types of the protocols.
var coinType = map[Protocol]uint32{EVM: 60, TRON: 195}

// NewMnemonic returns a fresh 24-word BIP39 mnemonic.
func NewMnemonic() (string, error) {
	entropy, err := bip39.NewEntropy(256)
	if err != nil {
		return "", fmt.Errorf("new entropy: %w", err)
	}
	return bip39.NewMnemonic(entropy)
}

// AccountXPub derives the account-level extended public key m/44'/coin'/0' of the protocol from a
// BIP39 mnemonic (no passphrase). Addresses are then derived from it as …/0/index, so a merchant
// can import the same xpub into a watch-only wallet.
func AccountXPub(mnemonic string, p Protocol) (string, error) {
	coin, ok := coinType[p]
	if !ok {
		return "", fmt.Errorf("account xpub: unknown protocol %q", p)
	}
	seed, err := bip39.NewSeedWithErrorChecking(mnemonic, "")
	if err != nil {
		return "", fmt.Errorf("account xpub: %w", err)
	}
	key, err := hdkeychain.NewMaster(seed, &chaincfg.MainNetParams)
	if err != nil {
		return "", fmt.Errorf("account xpub: %w", err)
	}
	for _, i := range []uint32{44, coin, 0} {
		if key, err = key.Derive(hdkeychain.HardenedKeyStart + i); err != nil {
			return "", fmt.Errorf("account xpub: %w", err)
		}
	}
	pub, err := key.Neuter()
	if err != nil {
		return "", fmt.Errorf("account xpub: %w", err)
	}
	return pub.String(), nil
}

// ErrXPub is returned for an extended key that cannot serve as an account xpub.
var ErrXPub = errors.New("invalid extended public key")

// ValidateXPub checks that s is an extended public key from which addresses can be derived.
func ValidateXPub(s string) error {
	key, err := hdkeychain.NewKeyFromString(s)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrXPub, err)
	}
	if key.IsPrivate() {
		return fmt.Errorf("%w: that is a private key (xprv); give the public one, never the private", ErrXPub)
	}
	return nil
}

// Account is an account-level xpub parsed once, with its external chain (…/0) derived, so that
// each address costs one child derivation.
type Account struct {
	protocol Protocol
	external *hdkeychain.ExtendedKey
}

// ParseAccount parses an account-level xpub for the protocol.
func ParseAccount(xpub string, p Protocol) (*Account, error) {
	key, err := hdkeychain.NewKeyFromString(xpub)
	if err != nil {
		return nil, fmt.Errorf("parse account: %w", err)
	}
	if key.IsPrivate() {
		if key, err = key.Neuter(); err != nil {
			return nil, fmt.Errorf("parse account: %w", err)
		}
	}
	ext, err := key.Derive(0)
	if err != nil {
		return nil, fmt.Errorf("parse account: %w", err)
	}
	return &Account{protocol: p, external: ext}, nil
}

// Address derives the receive address …/0/index, formatted for the account's protocol.
func (a *Account) Address(index uint32) (string, error) {
	if index >= hdkeychain.HardenedKeyStart {
		return "", fmt.Errorf("derive address: index %d out of range", index)
	}
	key, err := a.external.Derive(index)
	if err != nil {
		return "", fmt.Errorf("derive address %d: %w", index, err)
	}
	pub, err := key.ECPubKey()
	if err != nil {
		return "", fmt.Errorf("derive address %d: %w", index, err)
	}
	hash := crypto.Keccak256(pub.SerializeUncompressed()[1:])
	var b [20]byte
	copy(b[:], hash[12:])
	return FormatAddress(a.protocol, b), nil
}

// DeriveAddress derives the receive address …/0/index from an account-level xpub.
func DeriveAddress(xpub string, p Protocol, index uint32) (string, error) {
	a, err := ParseAccount(xpub, p)
	if err != nil {
		return "", err
	}
	return a.Address(index)
}
