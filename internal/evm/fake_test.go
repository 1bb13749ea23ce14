package evm_test

import (
	"context"
	"encoding/hex"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/stablegate/stablegate/internal/devnet"
)

// deployFakeToken deploys another copy of the test token from a second account, so its address is
// not in the registry, and funds the dev wallet with it.
func deployFakeToken(t *testing.T, c *devnet.Chain) common.Address {
	t.Helper()
	abiJSON, _ := os.ReadFile("../devnet/contracts/TestToken.abi")
	binHex, _ := os.ReadFile("../devnet/contracts/TestToken.bin")
	parsed, err := abi.JSON(strings.NewReader(string(abiJSON)))
	if err != nil {
		t.Fatal(err)
	}
	args, _ := parsed.Pack("", "Fake USD", "USDT", uint8(6), new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil))
	bin, _ := hex.DecodeString(strings.TrimSpace(string(binHex)))
	client, err := ethclient.Dial(c.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()
	key := devnet.DevKey()
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, _ := client.PendingNonceAt(ctx, from)
	head, _ := client.HeaderByNumber(ctx, nil)
	tx, _ := types.SignTx(types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(devnet.ChainID), Nonce: nonce, GasTipCap: big.NewInt(1e9),
		GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), big.NewInt(1e9)), Gas: 3_000_000,
		Data: append(bin, args...)}), types.LatestSignerForChainID(big.NewInt(devnet.ChainID)), key)
	if err := client.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	c.Mine()
	return crypto.CreateAddress(from, nonce)
}
