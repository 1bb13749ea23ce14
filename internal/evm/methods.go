package evm

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// Header is what the scanner needs of a block, read from the raw JSON-RPC answer (go-ethereum's
// client recomputes hashes, which is wrong for TRON).
type Header struct {
	Number     uint64
	Hash       common.Hash
	ParentHash common.Hash
	Time       uint64
}

// BlockNumber returns the chain's head number.
func (c *Client) BlockNumber(ctx context.Context) (uint64, error) {
	var n hexutil.Uint64
	if err := c.Call(ctx, "eth_blockNumber", &n); err != nil {
		return 0, err
	}
	return uint64(n), nil
}

// HeaderByNumber returns a block's header by number.
func (c *Client) HeaderByNumber(ctx context.Context, n uint64) (*Header, error) {
	return c.header(ctx, hexutil.EncodeUint64(n))
}

// HeaderByTag returns the header of "latest", "safe" or "finalized".
func (c *Client) HeaderByTag(ctx context.Context, tag string) (*Header, error) {
	return c.header(ctx, tag)
}

func (c *Client) header(ctx context.Context, block string) (*Header, error) {
	var raw struct {
		Number     hexutil.Uint64 `json:"number"`
		Hash       common.Hash    `json:"hash"`
		ParentHash common.Hash    `json:"parentHash"`
		Timestamp  hexutil.Uint64 `json:"timestamp"`
	}
	if err := c.Call(ctx, "eth_getBlockByNumber", &raw, block, false); err != nil {
		return nil, err
	}
	return &Header{Number: uint64(raw.Number), Hash: raw.Hash, ParentHash: raw.ParentHash, Time: uint64(raw.Timestamp)}, nil
}

// Log is one event log.
type Log struct {
	Address     common.Address `json:"address"`
	Topics      []common.Hash  `json:"topics"`
	Data        hexutil.Bytes  `json:"data"`
	BlockNumber hexutil.Uint64 `json:"blockNumber"`
	BlockHash   common.Hash    `json:"blockHash"`
	TxHash      common.Hash    `json:"transactionHash"`
	LogIndex    hexutil.Uint   `json:"logIndex"`
	Removed     bool           `json:"removed"`
	// BlockTimestamp is the block's time, where the node gives it (go-ethereum since 1.16, and
	// most providers): the payment-detection latency is measured from it.
	BlockTimestamp *hexutil.Uint64 `json:"blockTimestamp"`
}

// Amount returns the log's data as an unsigned integer (the value of a Transfer).
func (l Log) Amount() *big.Int { return new(big.Int).SetBytes(l.Data) }

// Logs returns the logs of the contracts (nil: of every contract) with topic0 in [from, to], in one
// call.
func (c *Client) Logs(ctx context.Context, from, to uint64, contracts []common.Address, topic0 common.Hash) ([]Log, error) {
	filter := map[string]any{"fromBlock": hexutil.EncodeUint64(from), "toBlock": hexutil.EncodeUint64(to), "topics": []any{topic0}}
	if contracts != nil {
		filter["address"] = contracts
	}
	var logs []Log
	if err := c.Call(ctx, "eth_getLogs", &logs, filter); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return logs, nil
}

// LogsAt returns the logs of the contracts (nil: of every contract) with topic0 in the block with
// the hash (EIP-234). Unlike a range, which a node that has not reached it answers with no logs, a
// hash the node does not know is an error ("unknown block", retried).
func (c *Client) LogsAt(ctx context.Context, block common.Hash, contracts []common.Address, topic0 common.Hash) ([]Log, error) {
	filter := map[string]any{"blockHash": block, "topics": []any{topic0}}
	if contracts != nil {
		filter["address"] = contracts
	}
	var logs []Log
	if err := c.Call(ctx, "eth_getLogs", &logs, filter); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return logs, nil
}

// LogsInRange returns the logs of [from, to], halving the range whenever the provider refuses it;
// maxRange (if > 0) caps a single call's range. It never skips a block: a range of one block that
// is still refused is an error. It also returns the largest range a call used once a refusal
// halved it (or maxRange), for the caller to start from next time.
func (c *Client) LogsInRange(ctx context.Context, from, to uint64, contracts []common.Address, topic0 common.Hash, maxRange uint64) ([]Log, uint64, error) {
	var out []Log
	worked := maxRange
	for from <= to {
		end := to
		if maxRange > 0 && end-from+1 > maxRange {
			end = from + maxRange - 1
		}
		for {
			logs, err := c.Logs(ctx, from, end, contracts, topic0)
			if errors.Is(err, ErrRangeTooLarge) && end > from {
				end = from + (end-from)/2
				worked = end - from + 1
				maxRange = worked
				continue
			}
			if err != nil {
				return nil, worked, fmt.Errorf("logs %d–%d: %w", from, end, err)
			}
			out = append(out, logs...)
			break
		}
		from = end + 1
	}
	return out, worked, nil
}
