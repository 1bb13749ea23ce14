package evm

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

// isWS reports whether a URL is a WebSocket endpoint.
func isWS(url string) bool {
	return strings.HasPrefix(url, "ws://") || strings.HasPrefix(url, "wss://")
}

// wsClient returns the connection to a WebSocket URL, dialing it if needed.
func (c *Client) wsClient(ctx context.Context, url string) (*gethrpc.Client, error) {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	if wc := c.ws[url]; wc != nil {
		return wc, nil
	}
	dctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	wc, err := gethrpc.DialContext(dctx, url)
	if err != nil {
		return nil, err
	}
	if c.ws == nil {
		c.ws = map[string]*gethrpc.Client{}
	}
	c.ws[url] = wc
	return wc, nil
}

// dropWS forgets a WebSocket connection after a transport error, so that the next call redials.
func (c *Client) dropWS(url string, wc *gethrpc.Client) {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	if c.ws[url] == wc {
		delete(c.ws, url)
		wc.Close()
	}
}

// doWS makes one call over a WebSocket connection, with the errors do gives.
func (c *Client) doWS(ctx context.Context, url, method string, params []any, out any) error {
	wc, err := c.wsClient(ctx, url)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var raw json.RawMessage
	if err := wc.CallContext(ctx, &raw, method, params...); err != nil {
		var re gethrpc.Error
		if errors.As(err, &re) {
			return classify(&RPCError{Code: re.ErrorCode(), Message: re.Error()})
		}
		c.dropWS(url, wc)
		return err
	}
	if out == nil {
		return nil
	}
	if len(raw) == 0 || string(raw) == "null" {
		return ErrNotFound
	}
	return json.Unmarshal(raw, out)
}

// SubscribeHeads subscribes to new heads (eth_subscribe newHeads) on the first WebSocket URL: each
// new block sends a value on the channel, until ctx ends or the subscription fails (then the
// channel is closed). Without a WebSocket URL it returns nil, nil.
func (c *Client) SubscribeHeads(ctx context.Context) (<-chan struct{}, error) {
	var url string
	for _, u := range c.urls {
		if isWS(u) {
			url = u
			break
		}
	}
	if url == "" {
		return nil, nil
	}
	wc, err := c.wsClient(ctx, url)
	if err != nil {
		return nil, c.redact(err)
	}
	heads := make(chan json.RawMessage, 16)
	sub, err := wc.EthSubscribe(ctx, heads, "newHeads")
	if err != nil {
		c.dropWS(url, wc)
		return nil, c.redact(err)
	}
	out := make(chan struct{}, 1)
	go func() {
		defer close(out)
		defer sub.Unsubscribe()
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.Err():
				c.dropWS(url, wc)
				return
			case <-heads:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out, nil
}
