package evm

import (
	_ "embed"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"

	"github.com/stablegate/stablegate/internal/gateway"
)

// The sweeper contract (contracts/Sweeper.sol, compiled by contracts/build.sh): one per hot
// wallet, the hot wallet fixed in it at deployment.
var (
	//go:embed contracts/Sweeper.abi
	sweeperABIJSON string
	//go:embed contracts/Sweeper.bin
	sweeperBinHex string

	sweeperABI = func() abi.ABI {
		a, err := abi.JSON(strings.NewReader(sweeperABIJSON))
		if err != nil {
			panic("evm: bad embedded sweeper ABI: " + err.Error())
		}
		return a
	}()
)

// Encoder encodes the sweeper's calls (gateway.Encoder).
type Encoder struct{}

var _ gateway.Encoder = Encoder{}

// DeploySweeper is the sweeper's creation code with the hot wallet as its constructor argument.
func (Encoder) DeploySweeper(hot [20]byte) []byte {
	args, err := sweeperABI.Pack("", common.Address(hot))
	if err != nil {
		panic("evm: pack sweeper constructor: " + err.Error())
	}
	return append(common.FromHex(sweeperBinHex), args...)
}

// SweepMany is sweepMany(token, from, amounts).
func (Encoder) SweepMany(token [20]byte, from [][20]byte, amounts []*big.Int) []byte {
	addrs := make([]common.Address, len(from))
	for i, a := range from {
		addrs[i] = a
	}
	data, err := sweeperABI.Pack("sweepMany", common.Address(token), addrs, amounts)
	if err != nil {
		panic("evm: pack sweepMany: " + err.Error())
	}
	return data
}

// TokenTransfer is ERC-20 transfer(to, amount).
func (Encoder) TokenTransfer(to [20]byte, amount *big.Int) []byte {
	return append(append(common.FromHex("0xa9059cbb"), common.LeftPadBytes(to[:], 32)...), common.LeftPadBytes(amount.Bytes(), 32)...)
}
