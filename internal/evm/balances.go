package evm

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
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
	var out hexutil.Big
	if err := c.Call(ctx, "eth_getBalance", &out, common.Address(holder), "latest"); err != nil {
		return nil, err
	}
	return out.ToInt(), nil
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
