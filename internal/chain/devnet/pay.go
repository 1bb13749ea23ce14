package devnet

import (
	"context"
	"fmt"
	"math/big"
	"net"
	"strconv"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
)

// Pay sends amount base units of the test token from the dev wallet to the address, through the
// devnet's JSON-RPC at rpcURL, and returns the transaction hash. It works against a devnet in this
// process or in another one (`stablegate devnet`). The transfer is mined with the next block.
func Pay(ctx context.Context, rpcURL, symbol string, to common.Address, amount *big.Int) (common.Hash, error) {
	tokenAddr, ok := Tokens()[symbol]
	if !ok {
		return common.Hash{}, fmt.Errorf("devnet: no test token %q (USDT, USDC, DAI)", symbol)
	}
	client, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		return common.Hash{}, fmt.Errorf("devnet: dial %s: %w", rpcURL, err)
	}
	defer client.Close()
	return sendToken(ctx, client, tokenAddr, to, amount)
}

// Transfer is Pay on this devnet.
func (c *Chain) Transfer(ctx context.Context, symbol string, to common.Address, amount *big.Int) (common.Hash, error) {
	return Pay(ctx, c.url, symbol, to, amount)
}

// SendContract sends a call of a token's transfer on any contract address (for tests that pay with
// a token outside the registry).
func SendContract(ctx context.Context, rpcURL string, token, to common.Address, amount *big.Int) (common.Hash, error) {
	client, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		return common.Hash{}, fmt.Errorf("devnet: dial %s: %w", rpcURL, err)
	}
	defer client.Close()
	return sendToken(ctx, client, token, to, amount)
}

type txClient interface {
	PendingNonceAt(ctx context.Context, account common.Address) (uint64, error)
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	EstimateGas(ctx context.Context, msg ethereum.CallMsg) (uint64, error)
	SendTransaction(ctx context.Context, tx *types.Transaction) error
}

func sendToken(ctx context.Context, client txClient, token, to common.Address, amount *big.Int) (common.Hash, error) {
	data, err := tokenABI.Pack("transfer", to, amount)
	if err != nil {
		return common.Hash{}, fmt.Errorf("devnet: pack transfer: %w", err)
	}
	key := DevKey()
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, err := client.PendingNonceAt(ctx, from)
	if err != nil {
		return common.Hash{}, fmt.Errorf("devnet: nonce: %w", err)
	}
	gas, err := client.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &token, Data: data})
	if err != nil {
		return common.Hash{}, fmt.Errorf("devnet: the transfer would fail: %w", err)
	}
	head, err := client.HeaderByNumber(ctx, nil)
	if err != nil {
		return common.Hash{}, fmt.Errorf("devnet: head: %w", err)
	}
	tip := big.NewInt(1_000_000_000)
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	tx, err := types.SignTx(types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(ChainID), Nonce: nonce, GasTipCap: tip,
		GasFeeCap: feeCap, Gas: gas * 2, To: &token, Data: data}), types.LatestSignerForChainID(big.NewInt(ChainID)), key)
	if err != nil {
		return common.Hash{}, fmt.Errorf("devnet: sign: %w", err)
	}
	if err := client.SendTransaction(ctx, tx); err != nil {
		return common.Hash{}, fmt.Errorf("devnet: send: %w", err)
	}
	return tx.Hash(), nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("devnet: address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("devnet: address %q: bad port", addr)
	}
	return host, port, nil
}

// freePort asks the OS for a free loopback port (the simulated backend does not report the port it
// bound, so the devnet picks it).
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("devnet: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
