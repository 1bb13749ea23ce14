package evm

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/stablegate/stablegate/internal/gateway"
)

// Nodes are the clients of the chains this gateway watches, by chain slug: what the domain reads
// of chain state (gateway.Nodes).
type Nodes map[string]*Client

func (n Nodes) client(chainID string) (*Client, error) {
	c, ok := n[chainID]
	if !ok {
		return nil, fmt.Errorf("no node of %s is configured", chainID)
	}
	return c, nil
}

// NativeBalance is eth_getBalance of the address at the latest block.
func (n Nodes) NativeBalance(ctx context.Context, chainID string, holder [20]byte) (*big.Int, error) {
	c, err := n.client(chainID)
	if err != nil {
		return nil, err
	}
	return c.Balance(ctx, holder)
}

// balanceOf is the ERC-20 (and TRC-20) selector of balanceOf(address).
var balanceOf = common.FromHex("0x70a08231")

// TokenBalance is the token's balanceOf(holder) at the latest block.
func (n Nodes) TokenBalance(ctx context.Context, chainID string, token, holder [20]byte) (*big.Int, error) {
	c, err := n.client(chainID)
	if err != nil {
		return nil, err
	}
	data := append(append([]byte{}, balanceOf...), common.LeftPadBytes(holder[:], 32)...)
	var out hexutil.Bytes
	call := map[string]any{"to": common.Address(token), "data": hexutil.Bytes(data)}
	if err := c.Call(ctx, "eth_call", &out, call, "latest"); err != nil {
		return nil, err
	}
	if len(out) != 32 {
		return nil, fmt.Errorf("balanceOf of %s answered %d bytes, not 32", common.Address(token), len(out))
	}
	return new(big.Int).SetBytes(out), nil
}

// Receipt is eth_getTransactionReceipt: gateway.ErrNotFound when the node knows no mined
// transaction of that hash.
func (n Nodes) Receipt(ctx context.Context, chainID, txHash string) (*gateway.Receipt, error) {
	c, err := n.client(chainID)
	if err != nil {
		return nil, err
	}
	return c.Receipt(ctx, txHash)
}

// Receipt is eth_getTransactionReceipt, checked against the canonical block of its number:
// gateway.ErrNotFound when the node knows no mined transaction of that hash.
func (c *Client) Receipt(ctx context.Context, txHash string) (*gateway.Receipt, error) {
	param := txHash
	if !strings.HasPrefix(param, "0x") {
		param = "0x" + param // a TRON transaction id
	}
	var raw *struct {
		BlockNumber       hexutil.Uint64  `json:"blockNumber"`
		BlockHash         common.Hash     `json:"blockHash"`
		Status            hexutil.Uint64  `json:"status"`
		GasUsed           hexutil.Uint64  `json:"gasUsed"`
		EffectiveGasPrice *hexutil.Big    `json:"effectiveGasPrice"`
		ContractAddress   *common.Address `json:"contractAddress"`
		Logs              []Log           `json:"logs"`
	}
	if err := c.Call(ctx, "eth_getTransactionReceipt", &raw, param); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, gateway.ErrNotFound
		}
		return nil, err
	}
	if raw == nil || raw.BlockHash == (common.Hash{}) {
		return nil, gateway.ErrNotFound
	}
	rc := &gateway.Receipt{TxHash: txHash, BlockNumber: uint64(raw.BlockNumber), BlockHash: raw.BlockHash.Hex(), Success: raw.Status == 1,
		GasUsed: uint64(raw.GasUsed)}
	if raw.EffectiveGasPrice != nil {
		rc.EffectiveGasPrice = raw.EffectiveGasPrice.ToInt()
	}
	if raw.ContractAddress != nil && *raw.ContractAddress != (common.Address{}) {
		rc.ContractAddress = raw.ContractAddress.Hex()
	}
	h, err := c.HeaderByNumber(ctx, rc.BlockNumber)
	if err != nil {
		return nil, fmt.Errorf("the receipt's block: %w", err)
	}
	if h.Hash != raw.BlockHash {
		return nil, fmt.Errorf("the receipt's block %d is not the canonical one (a reorg): try again", rc.BlockNumber)
	}
	rc.BlockTime = time.Unix(int64(h.Time), 0).UTC()
	for _, l := range raw.Logs {
		if l.Removed {
			continue
		}
		rl := gateway.ReceiptLog{Index: uint64(l.LogIndex), Contract: l.Address, Data: l.Data}
		for _, t := range l.Topics {
			rl.Topics = append(rl.Topics, t)
		}
		rc.Logs = append(rc.Logs, rl)
	}
	return rc, nil
}

// NetworkFees are the chain's next base fee and suggested tip (Client.NetworkFees).
func (n Nodes) NetworkFees(ctx context.Context, chainID string) (*big.Int, *big.Int, error) {
	c, err := n.client(chainID)
	if err != nil {
		return nil, nil, err
	}
	return c.NetworkFees(ctx)
}

// FinalizedBlock is the number of the block at the tag ("finalized", "safe").
func (n Nodes) FinalizedBlock(ctx context.Context, chainID, tag string) (uint64, error) {
	c, err := n.client(chainID)
	if err != nil {
		return 0, err
	}
	h, err := c.HeaderByTag(ctx, tag)
	if err != nil {
		return 0, err
	}
	return h.Number, nil
}

// isBlackListed is the selector of Tether's isBlackListed(address).
var isBlackListed = crypto.Keccak256([]byte("isBlackListed(address)"))[:4]

// Blacklisted calls the token's isBlackListed(holder) (gateway.Blacklists): a contract without it
// reverts or answers nothing, and is known false.
func (n Nodes) Blacklisted(ctx context.Context, chainID string, token, holder [20]byte) (blacklisted, known bool, err error) {
	c, err := n.client(chainID)
	if err != nil {
		return false, false, err
	}
	data := append(append([]byte{}, isBlackListed...), common.LeftPadBytes(holder[:], 32)...)
	var out hexutil.Bytes
	call := map[string]any{"to": common.Address(token), "data": hexutil.Bytes(data)}
	if err := c.Call(ctx, "eth_call", &out, call, "latest"); err != nil {
		var rpcErr *RPCError
		if errors.As(err, &rpcErr) {
			return false, false, nil // reverted: no such function
		}
		return false, false, err
	}
	if len(out) != 32 {
		return false, false, nil
	}
	return new(big.Int).SetBytes(out).Sign() != 0, true, nil
}
