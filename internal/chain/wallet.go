package chain

import (
	"crypto/ecdsa"
	"fmt"

	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/tyler-smith/go-bip39"
)

// A project's hot wallets are derived from its seed at m/44'/coin'/1'/mode/chainID: account 1'
// (order and deposit addresses are under account 0', so no payer is ever given a hot wallet's
// address), change 0 for test mode and 1 for live mode, and the chain's numeric id modulo 2^31 as
// the index (TRON Nile's id, 3448148188, is above what an index holds): one wallet per project,
// mode and chain, never the same address on two chains of the registry.

// WalletPath is the derivation path of the hot wallet of a mode on a chain.
func WalletPath(p Protocol, live bool, chainID uint64) string {
	return fmt.Sprintf("m/44'/%d'/1'/%d/%d", coinType[p], b2u(live), walletIndex(chainID))
}

// Seed is a project's BIP39 seed, opened once to derive its hot wallets.
type Seed struct{ master *hdkeychain.ExtendedKey }

// OpenSeed reads a BIP39 mnemonic (no passphrase).
func OpenSeed(mnemonic string) (*Seed, error) {
	seed, err := bip39.NewSeedWithErrorChecking(mnemonic, "")
	if err != nil {
		return nil, fmt.Errorf("open seed: %w", err)
	}
	master, err := hdkeychain.NewMaster(seed, &chaincfg.MainNetParams)
	if err != nil {
		return nil, fmt.Errorf("open seed: %w", err)
	}
	return &Seed{master: master}, nil
}

// WalletKey derives the hot wallet's private key and address (WalletPath).
func (s *Seed) WalletKey(p Protocol, live bool, chainID uint64) (*ecdsa.PrivateKey, [20]byte, error) {
	return s.derive(p, 1, b2u(live), walletIndex(chainID))
}

// AddressKey derives the private key of the receive address …/0/index of the protocol's account
// (m/44'/coin'/0'/0/index): the key of an order's or a deposit's address, which signs only when
// its funds are swept.
func (s *Seed) AddressKey(p Protocol, index uint32) (*ecdsa.PrivateKey, [20]byte, error) {
	return s.derive(p, 0, 0, index)
}

// derive is the key at m/44'/coin'/account'/change/index and its address.
func (s *Seed) derive(p Protocol, account, change, index uint32) (*ecdsa.PrivateKey, [20]byte, error) {
	var addr [20]byte
	coin, ok := coinType[p]
	if !ok {
		return nil, addr, fmt.Errorf("derive key: unknown protocol %q", p)
	}
	key := s.master
	var err error
	for _, i := range []uint32{hdkeychain.HardenedKeyStart + 44, hdkeychain.HardenedKeyStart + coin, hdkeychain.HardenedKeyStart + account, change, index} {
		if key, err = key.Derive(i); err != nil {
			return nil, addr, fmt.Errorf("derive key: %w", err)
		}
	}
	priv, err := key.ECPrivKey()
	if err != nil {
		return nil, addr, fmt.Errorf("derive key: %w", err)
	}
	k := priv.ToECDSA()
	copy(addr[:], crypto.PubkeyToAddress(k.PublicKey).Bytes())
	return k, addr, nil
}

// walletIndex is the derivation index of a chain's hot wallet: its id, below 2^31.
func walletIndex(chainID uint64) uint32 { return uint32(chainID % hdkeychain.HardenedKeyStart) }

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
