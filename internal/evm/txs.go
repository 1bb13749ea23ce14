package evm

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// What a sender asks of a node: nonces, fees, gas, and broadcasting.

// ChainID is eth_chainId.
func (c *Client) ChainID(ctx context.Context) (uint64, error) {
	var id hexutil.Uint64
	if err := c.Call(ctx, "eth_chainId", &id); err != nil {
		return 0, err
	}
	return uint64(id), nil
}

// Balance is eth_getBalance of the address at the latest block, in wei.
func (c *Client) Balance(ctx context.Context, addr common.Address) (*big.Int, error) {
	var b hexutil.Big
	if err := c.Call(ctx, "eth_getBalance", &b, addr, "latest"); err != nil {
		return nil, err
	}
	return b.ToInt(), nil
}

// NonceAt is eth_getTransactionCount of the address at the block ("latest", "pending", or a
// number): how many of its transactions the block has (with "pending", the node's pool too).
func (c *Client) NonceAt(ctx context.Context, addr common.Address, block string) (uint64, error) {
	var n hexutil.Uint64
	if err := c.Call(ctx, "eth_getTransactionCount", &n, addr, block); err != nil {
		return 0, err
	}
	return uint64(n), nil
}

// NetworkFees are what the network asks now: the next block's base fee (eth_feeHistory) and
// the node's suggested priority fee (eth_maxPriorityFeePerGas, or the median tip of the last
// blocks where a node lacks that method).
func (c *Client) NetworkFees(ctx context.Context) (baseFee, tip *big.Int, err error) {
	var hist struct {
		BaseFee []hexutil.Big   `json:"baseFeePerGas"`
		Reward  [][]hexutil.Big `json:"reward"`
	}
	if err := c.Call(ctx, "eth_feeHistory", &hist, hexutil.Uint64(5), "latest", []float64{50}); err != nil {
		return nil, nil, err
	}
	if len(hist.BaseFee) == 0 {
		return nil, nil, errors.New("eth_feeHistory: no base fee (is the chain before London?)")
	}
	baseFee = hist.BaseFee[len(hist.BaseFee)-1].ToInt() // the next block's
	var suggested hexutil.Big
	if err := c.Call(ctx, "eth_maxPriorityFeePerGas", &suggested); err == nil {
		return baseFee, suggested.ToInt(), nil
	}
	var tips []*big.Int
	for _, r := range hist.Reward {
		if len(r) > 0 {
			tips = append(tips, r[0].ToInt())
		}
	}
	if len(tips) == 0 {
		return baseFee, new(big.Int), nil
	}
	for i := 1; i < len(tips); i++ { // a handful: insertion sort
		for j := i; j > 0 && tips[j].Cmp(tips[j-1]) < 0; j-- {
			tips[j], tips[j-1] = tips[j-1], tips[j]
		}
	}
	return baseFee, tips[len(tips)/2], nil
}

// ErrReverted is EstimateGas's error for a call that the chain would revert.
var ErrReverted = errors.New("execution reverted")

// EstimateGas is eth_estimateGas of a call (ErrReverted, with the node's reason, when it would
// revert).
func (c *Client) EstimateGas(ctx context.Context, call map[string]any) (uint64, error) {
	var gas hexutil.Uint64
	if err := c.Call(ctx, "eth_estimateGas", &gas, call); err != nil {
		var re *RPCError
		if errors.As(err, &re) && (re.Code == 3 || strings.Contains(strings.ToLower(re.Message), "revert")) {
			return 0, fmt.Errorf("%w: %s", ErrReverted, re.Message)
		}
		return 0, err
	}
	return uint64(gas), nil
}

// Code is eth_getCode of the address at the latest block (an EIP-7702 delegated account's is
// 0xef0100 followed by its delegate).
func (c *Client) Code(ctx context.Context, addr common.Address) ([]byte, error) {
	var code hexutil.Bytes
	if err := c.Call(ctx, "eth_getCode", &code, addr, "latest"); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return code, nil
}

// SendRawTransaction is eth_sendRawTransaction. A node that already has the transaction answers
// nil, as one that takes it does.
func (c *Client) SendRawTransaction(ctx context.Context, raw []byte) error {
	var hash common.Hash
	err := c.Call(ctx, "eth_sendRawTransaction", &hash, hexutil.Bytes(raw))
	var re *RPCError
	if errors.As(err, &re) {
		msg := strings.ToLower(re.Message)
		if strings.Contains(msg, "already known") || strings.Contains(msg, "known transaction") || strings.Contains(msg, "already imported") {
			return nil
		}
	}
	return err
}

// nonceTooLow reports whether a node refused a transaction because its sender's nonce is past it.
func nonceTooLow(err error) bool {
	var re *RPCError
	return errors.As(err, &re) && strings.Contains(strings.ToLower(re.Message), "nonce too low")
}
