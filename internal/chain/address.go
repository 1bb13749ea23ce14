package chain

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/ethereum/go-ethereum/common"
)

// Protocol is an address family: one key hash is a 0x address on every EVM chain and a base58check
// T… address on TRON.
type Protocol string

// The protocols stablegate watches.
const (
	EVM  Protocol = "evm"
	TRON Protocol = "tron"
)

// tronPrefix is the version byte of TRON mainnet and testnet addresses.
const tronPrefix = 0x41

// Valid reports whether p is a known protocol.
func (p Protocol) Valid() bool { return p == EVM || p == TRON }

// ErrAddress is returned for an address that does not parse for its protocol.
var ErrAddress = errors.New("invalid address")

// ParseAddress reads an address of the protocol into its 20-byte key hash. EVM addresses are
// 0x-prefixed hex; an address in mixed case must carry a valid EIP-55 checksum. TRON addresses are
// base58check with the 0x41 prefix.
func ParseAddress(p Protocol, s string) ([20]byte, error) {
	var out [20]byte
	switch p {
	case EVM:
		if !common.IsHexAddress(s) || !strings.HasPrefix(s, "0x") {
			return out, fmt.Errorf("%w: want 0x followed by 40 hex digits", ErrAddress)
		}
		a := common.HexToAddress(s)
		if hasUpper(s[2:]) && hasLower(s[2:]) && a.Hex() != s {
			return out, fmt.Errorf("%w: EIP-55 checksum mismatch", ErrAddress)
		}
		return a, nil
	case TRON:
		payload, version, err := base58.CheckDecode(s)
		if err != nil || version != tronPrefix || len(payload) != 20 {
			return out, fmt.Errorf("%w: want a base58check TRON address starting with T", ErrAddress)
		}
		copy(out[:], payload)
		return out, nil
	default:
		return out, fmt.Errorf("%w: unknown protocol %q", ErrAddress, p)
	}
}

// FormatAddress writes a 20-byte key hash as the protocol's canonical address: EIP-55 for EVM,
// base58check T… for TRON.
func FormatAddress(p Protocol, b [20]byte) string {
	if p == TRON {
		return base58.CheckEncode(b[:], tronPrefix)
	}
	return common.Address(b).Hex()
}

// FormatTxHash writes a transaction hash the way the protocol's explorers and wallets do: 0x-hex
// on EVM chains, bare hex (a TRON transaction id) on TRON.
func FormatTxHash(p Protocol, h [32]byte) string {
	if p == TRON {
		return hex.EncodeToString(h[:])
	}
	return common.Hash(h).Hex()
}

// NormalizeAddress parses and re-formats an address, so that stored addresses compare equal.
func NormalizeAddress(p Protocol, s string) (string, error) {
	b, err := ParseAddress(p, s)
	if err != nil {
		return "", err
	}
	return FormatAddress(p, b), nil
}

func hasUpper(s string) bool { return strings.ToLower(s) != s }
func hasLower(s string) bool { return strings.ToUpper(s) != s }

// ParseTxHash reads a transaction hash of the protocol (0x and 64 hex digits; on TRON the bare 64
// are accepted too) and returns it as FormatTxHash writes it.
func ParseTxHash(p Protocol, s string) (string, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		return "", fmt.Errorf("%q is not a transaction hash (0x and 64 hex digits)", s)
	}
	var out [32]byte
	copy(out[:], b)
	return FormatTxHash(p, out), nil
}
