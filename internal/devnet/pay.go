package devnet

import (
	"context"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/stablegate/stablegate/internal/chain"
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

// Fund sends wei of the devnet's coin from the dev wallet to the address (gas for a hot wallet),
// through the devnet's JSON-RPC at rpcURL. It is mined with the next block.
func Fund(ctx context.Context, rpcURL string, to common.Address, wei *big.Int) (common.Hash, error) {
	client, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		return common.Hash{}, fmt.Errorf("devnet: dial %s: %w", rpcURL, err)
	}
	defer client.Close()
	nonce, err := client.PendingNonceAt(ctx, chain.DevnetDeployer)
	if err != nil {
		return common.Hash{}, fmt.Errorf("devnet: nonce: %w", err)
	}
	head, err := client.HeaderByNumber(ctx, nil)
	if err != nil {
		return common.Hash{}, fmt.Errorf("devnet: head: %w", err)
	}
	tx, err := signDevValue(head, nonce, &to, wei, nil, 21_000)
	if err != nil {
		return common.Hash{}, err
	}
	if err := client.SendTransaction(ctx, tx); err != nil {
		return common.Hash{}, fmt.Errorf("devnet: send: %w", err)
	}
	return tx.Hash(), nil
}

// Transfer is Pay on this devnet.
func (c *Chain) Transfer(ctx context.Context, symbol string, to common.Address, amount *big.Int) (common.Hash, error) {
	hashes, err := c.TransferMany(ctx, symbol, []common.Address{to}, []*big.Int{amount})
	if err != nil {
		return common.Hash{}, err
	}
	return hashes[0], nil
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
	hashes, _, err := sendTokens(ctx, client, token, []common.Address{to}, []*big.Int{amount}, 0)
	if err != nil {
		return common.Hash{}, err
	}
	return hashes[0], nil
}

// sendTokens sends several transfers with consecutive nonces, from the pending nonce or minNonce,
// whichever is higher (the pool learns of a new block asynchronously, so the pending nonce can lag
// right after a block).
func sendTokens(ctx context.Context, client txClient, token common.Address, to []common.Address, amounts []*big.Int, minNonce uint64) (hashes []common.Hash, next uint64, err error) {
	key := DevKey()
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, err := client.PendingNonceAt(ctx, from)
	if err != nil {
		return nil, 0, fmt.Errorf("devnet: nonce: %w", err)
	}
	nonce = max(nonce, minNonce)
	head, err := client.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("devnet: head: %w", err)
	}
	var gas uint64
	hashes = make([]common.Hash, len(to))
	for i := range to {
		data, err := tokenABI.Pack("transfer", to[i], amounts[i])
		if err != nil {
			return nil, 0, fmt.Errorf("devnet: pack transfer: %w", err)
		}
		if i == 0 {
			if gas, err = client.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &token, Data: data}); err != nil {
				return nil, 0, fmt.Errorf("devnet: the transfer would fail: %w", err)
			}
		}
		tx, err := signDevTx(head, nonce+uint64(i), &token, data, gas*2)
		if err != nil {
			return nil, 0, err
		}
		if err := client.SendTransaction(ctx, tx); err != nil {
			return nil, 0, fmt.Errorf("devnet: send: %w", err)
		}
		hashes[i] = tx.Hash()
	}
	return hashes, nonce + uint64(len(to)), nil
}

// TransferMany sends several transfers of one test token from the dev wallet, with consecutive
// nonces, to be mined together.
func (c *Chain) TransferMany(ctx context.Context, symbol string, to []common.Address, amounts []*big.Int) ([]common.Hash, error) {
	token, ok := Tokens()[symbol]
	if !ok {
		return nil, fmt.Errorf("devnet: no test token %q (USDT, USDC, DAI)", symbol)
	}
	c.nonceMu.Lock()
	defer c.nonceMu.Unlock()
	hashes, next, err := sendTokens(ctx, c.backend.Client(), token, to, amounts, c.nextNonce)
	if err != nil {
		return nil, err
	}
	c.nextNonce = next
	return hashes, c.waitPending(ctx, next)
}

// waitPending waits until the pool holds the dev wallet's transactions below nonce next: the pool
// takes transactions in asynchronously, and a block mined before that would leave them out.
func (c *Chain) waitPending(ctx context.Context, next uint64) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := c.backend.Client().PendingNonceAt(ctx, chain.DevnetDeployer)
		if err == nil && n >= next {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("devnet: transactions up to nonce %d never reached the pool (pending nonce %d, %v)", next, n, err)
		}
		time.Sleep(time.Millisecond)
	}
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

// Blacklist puts the address on the test token's blacklist (Tether's isBlackListed; listed
// addresses can neither send nor receive it), or takes it off, through the devnet's JSON-RPC at
// rpcURL. It is mined with the next block.
func Blacklist(ctx context.Context, rpcURL, symbol string, who common.Address, listed bool) (common.Hash, error) {
	token, ok := Tokens()[symbol]
	if !ok {
		return common.Hash{}, fmt.Errorf("devnet: no test token %q (USDT, USDC, DAI)", symbol)
	}
	client, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		return common.Hash{}, fmt.Errorf("devnet: dial %s: %w", rpcURL, err)
	}
	defer client.Close()
	method := "addBlackList"
	if !listed {
		method = "removeBlackList"
	}
	data, err := tokenABI.Pack(method, who)
	if err != nil {
		return common.Hash{}, err
	}
	nonce, err := client.PendingNonceAt(ctx, chain.DevnetDeployer)
	if err != nil {
		return common.Hash{}, fmt.Errorf("devnet: nonce: %w", err)
	}
	head, err := client.HeaderByNumber(ctx, nil)
	if err != nil {
		return common.Hash{}, fmt.Errorf("devnet: head: %w", err)
	}
	gas, err := client.EstimateGas(ctx, ethereum.CallMsg{From: chain.DevnetDeployer, To: &token, Data: data})
	if err != nil {
		return common.Hash{}, fmt.Errorf("devnet: %s would fail: %w", method, err)
	}
	tx, err := signDevTx(head, nonce, &token, data, gas*2)
	if err != nil {
		return common.Hash{}, err
	}
	if err := client.SendTransaction(ctx, tx); err != nil {
		return common.Hash{}, fmt.Errorf("devnet: send: %w", err)
	}
	return tx.Hash(), nil
}
