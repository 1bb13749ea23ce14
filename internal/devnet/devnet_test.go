package devnet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/holiman/uint256"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/devnet"
)

var transferTopic = crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))

func start(t *testing.T) (*devnet.Chain, *ethclient.Client) {
	t.Helper()
	c, err := devnet.Start(devnet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	client, err := ethclient.Dial(c.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	return c, client
}

// rpc makes a raw JSON-RPC call over HTTP, as any client would.
func rpc(t *testing.T, url, method string, params ...any) json.RawMessage {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	res, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Result json.RawMessage
		Error  *struct{ Message string }
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.Error != nil {
		t.Fatalf("%s: %v %+v", method, err, out.Error)
	}
	return out.Result
}

func balance(t *testing.T, client *ethclient.Client, symbol string, who common.Address) *big.Int {
	t.Helper()
	token := devnet.Tokens()[symbol]
	data := append(crypto.Keccak256([]byte("balanceOf(address)"))[:4], common.LeftPadBytes(who.Bytes(), 32)...)
	out, err := client.CallContract(context.Background(), ethereum.CallMsg{To: &token, Data: data}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return new(big.Int).SetBytes(out)
}

func TestDevnetServesJSONRPCWithRegistryTokens(t *testing.T) {
	t.Parallel()
	c, client := start(t)
	if id := rpc(t, c.RPCURL(), "eth_chainId"); string(id) != `"0x539"` {
		t.Errorf("eth_chainId = %s, want 0x539 (1337)", id)
	}
	reg, _ := chain.Builtin().Lookup("devnet")
	for symbol, addr := range devnet.Tokens() {
		tok, ok := reg.Token(symbol)
		if !ok || tok.Address != addr.Hex() {
			t.Errorf("%s deployed at %s, registry says %s", symbol, addr, tok.Address)
		}
		if dec, _ := devnet.Decimals(symbol); dec != tok.Decimals {
			t.Errorf("%s decimals %d, registry %d", symbol, dec, tok.Decimals)
		}
		code, err := client.CodeAt(context.Background(), addr, nil)
		if err != nil || len(code) == 0 {
			t.Errorf("%s has no code at %s", symbol, addr)
		}
	}
	if b := balance(t, client, "DAI", chain.DevnetDeployer); b.Cmp(new(big.Int).Exp(big.NewInt(10), big.NewInt(30), nil)) != 0 {
		t.Errorf("dev wallet DAI = %s, want 10^30 (a trillion at 18 decimals)", b)
	}
}

func TestTransferIsARealLog(t *testing.T) {
	t.Parallel()
	c, client := start(t)
	ctx := context.Background()
	to := common.HexToAddress("0x9858EfFD232B4033E47d90003D41EC34EcaEda94")
	amount := big.NewInt(12_500_000) // 12.5 USDT
	hash, err := c.Transfer(ctx, "USDT", to, amount)
	if err != nil {
		t.Fatal(err)
	}
	block := c.Mine()
	rcpt, err := client.TransactionReceipt(ctx, hash)
	if err != nil || rcpt.Status != 1 || rcpt.BlockHash != block {
		t.Fatalf("receipt = %+v, %v", rcpt, err)
	}
	if got := balance(t, client, "USDT", to); got.Cmp(amount) != 0 {
		t.Errorf("balance = %s, want %s", got, amount)
	}
	// The scanner's query: eth_getLogs by token and Transfer topic over HTTP.
	logs := rpc(t, c.RPCURL(), "eth_getLogs", map[string]any{"fromBlock": fmt.Sprintf("0x%x", rcpt.BlockNumber), "toBlock": "latest",
		"address": []string{devnet.Tokens()["USDT"].Hex()}, "topics": []any{transferTopic.Hex()}})
	var got []struct {
		TransactionHash common.Hash
		Topics          []common.Hash
		Data            string
		BlockHash       common.Hash
	}
	if err := json.Unmarshal(logs, &got); err != nil || len(got) != 1 {
		t.Fatalf("logs = %s, %v", logs, err)
	}
	if got[0].TransactionHash != hash || common.BytesToAddress(got[0].Topics[2].Bytes()) != to || got[0].BlockHash != block {
		t.Errorf("log = %+v", got[0])
	}
	if _, err := c.Transfer(ctx, "BTC", to, amount); err == nil {
		t.Error("a transfer of an unknown test token was sent")
	}
}

func TestReorg(t *testing.T) {
	t.Parallel()
	c, client := start(t)
	ctx := context.Background()
	to := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	hash, err := c.Transfer(ctx, "USDC", to, big.NewInt(1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	first := c.Mine()
	c.Mine()
	// Re-mined: the same transaction lands in another block of the new branch.
	if err := c.Reorg(ctx, 2, false); err != nil {
		t.Fatal(err)
	}
	rcpt, err := client.TransactionReceipt(ctx, hash)
	if err != nil || rcpt.BlockHash == first {
		t.Fatalf("after a reorg keeping transactions: receipt %+v, %v", rcpt, err)
	}
	if b := balance(t, client, "USDC", to); b.Int64() != 1_000_000 {
		t.Errorf("balance after re-mined reorg = %s", b)
	}
	// Dropped: the transaction is gone from the canonical chain.
	hash2, err := c.Transfer(ctx, "USDC", to, big.NewInt(5))
	if err != nil {
		t.Fatal(err)
	}
	c.Mine()
	if err := c.Reorg(ctx, 1, true); err != nil {
		t.Fatal(err)
	}
	if _, err := client.TransactionReceipt(ctx, hash2); err == nil {
		t.Error("a dropped transaction still has a receipt")
	}
	if b := balance(t, client, "USDC", to); b.Int64() != 1_000_000 {
		t.Errorf("balance after dropping reorg = %s, want 1000000", b)
	}
}

// A devnet under Cancun's rules refuses set-code (EIP-7702) transactions; the default and
// mainnet's rules take them; an unknown fork does not start.
func TestForks(t *testing.T) {
	for _, c := range []struct {
		fork    string
		setCode bool
	}{{"", true}, {"osaka", true}, {"cancun", false}} {
		dn, err := devnet.Start(devnet.Config{Fork: c.fork})
		if err != nil {
			t.Fatal(err)
		}
		client, err := ethclient.Dial(dn.RPCURL())
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		key := devnet.DevKey()
		nonce, _ := client.PendingNonceAt(ctx, chain.DevnetDeployer)
		head, _ := client.HeaderByNumber(ctx, nil)
		fee := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), big.NewInt(1e9))
		auth, _ := types.SignSetCode(key, types.SetCodeAuthorization{ChainID: *uint256.NewInt(devnet.ChainID), Address: common.HexToAddress("0x01"), Nonce: nonce + 1})
		tx, _ := types.SignTx(types.NewTx(&types.SetCodeTx{ChainID: uint256.NewInt(devnet.ChainID), Nonce: nonce, GasTipCap: uint256.NewInt(1e9),
			GasFeeCap: uint256.MustFromBig(fee), Gas: 100_000, To: common.HexToAddress("0x02"), AuthList: []types.SetCodeAuthorization{auth}}),
			types.LatestSignerForChainID(big.NewInt(devnet.ChainID)), key)
		err = client.SendTransaction(ctx, tx)
		if (err == nil) != c.setCode {
			t.Errorf("fork %q: a set-code transaction: %v", c.fork, err)
		}
		client.Close()
		dn.Close()
	}
	if _, err := devnet.Start(devnet.Config{Fork: "bogus"}); err == nil {
		t.Error("an unknown fork started")
	}
}
