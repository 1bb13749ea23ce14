package api_test

import (
	"context"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/devnet"
	"github.com/stablegate/stablegate/internal/evm"
	"github.com/stablegate/stablegate/internal/gateway"
)

// GET /api/v1/wallets: a project with a seed has a hot wallet per watched chain, at its own path,
// with what it holds read from the chain; a watch-only project has none, and says why.
func TestHotWalletsAPI(t *testing.T) {
	t.Parallel()
	dn, client := devnetNode(t)
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		e.svc.Chains = []string{"devnet"}
		if r := e.as(e.test, "GET", "/api/v1/wallets", ""); r.status != 409 || r.str("error") != "WatchOnlyProject" {
			t.Errorf("a watch-only project's wallets: %d %s", r.status, r.raw)
		}
		cp, key := seededProject(t, e, engine)
		seed, _ := chain.OpenSeed(cp.Mnemonic)
		_, want, _ := seed.WalletKey(chain.EVM, false, devnet.ChainID)
		// Without a node the address is still shown, with the reason the balances are not.
		r := e.as(key, "GET", "/api/v1/wallets", "")
		ws, _ := r.data()["wallets"].([]any)
		if r.status != 200 || len(ws) != 1 {
			t.Fatalf("wallets: %d %s", r.status, r.raw)
		}
		w := ws[0].(map[string]any)
		if w["address"] != chain.FormatAddress(chain.EVM, want) || w["derivationPath"] != "m/44'/60'/1'/0/1337" || w["balanceError"] == nil {
			t.Fatalf("the devnet wallet: %v", w)
		}
		// With the devnet's node: what the wallet holds, exactly.
		e.svc.Nodes = evm.Nodes{"devnet": client}
		if _, err := dn.Transfer(context.Background(), "USDT", common.Address(want), big.NewInt(12_345_678)); err != nil {
			t.Fatal(err)
		}
		dn.Mine()
		r = e.as(key, "GET", "/api/v1/wallets", "")
		w = r.data()["wallets"].([]any)[0].(map[string]any)
		native, _ := w["native"].(map[string]any)
		if w["balanceError"] != nil || native["symbol"] != "ETH" || native["amount"] != "0" {
			t.Fatalf("the devnet wallet with a node: %v", w)
		}
		got := map[string]string{}
		for _, tok := range w["tokens"].([]any) {
			m := tok.(map[string]any)
			got[m["currency"].(string)] = m["amount"].(string)
		}
		if got["USDT"] != "12.345678" || got["USDC"] != "0" || got["DAI"] != "0" {
			t.Errorf("tokens = %v", got)
		}
		// The treasury set for the chain is shown beside the wallet.
		if r := e.as(key, "PUT", "/api/v1/treasury", `{"chainId":"devnet","address":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}`,
			"x-api-secret", key.Secret); r.status != 200 {
			t.Fatalf("PUT treasury: %d %s", r.status, r.raw)
		}
		if w := e.as(key, "GET", "/api/v1/wallets", "").data()["wallets"].([]any)[0].(map[string]any); w["treasury"] != "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" {
			t.Errorf("the wallet does not show its treasury: %v", w)
		}
		// The live key: no live chain watched here, no wallets.
		var live gateway.KeyPair
		for _, k := range cp.Keys {
			if k.Mode == gateway.Live {
				live = k
			}
		}
		if r := e.as(live, "GET", "/api/v1/wallets", ""); r.status != 200 || len(r.data()["wallets"].([]any)) != 0 {
			t.Errorf("live wallets: %d %s", r.status, r.raw)
		}
	})
}

// PUT /api/v1/treasury: the API secret, an address of the chain's protocol with its checksum, never
// the zero address; the wallets show it; DELETE removes it.
func TestTreasuryAPI(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		e.svc.Chains = []string{"devnet"}
		put := func(body string, headers ...string) response {
			return e.as(e.test, "PUT", "/api/v1/treasury", body, headers...)
		}
		good := `{"chainId":"devnet","address":"0x70997970c51812dc3a010c7d01b50e0d17dc79c8"}`
		if r := put(good); r.status != 401 || r.str("param") != "x-api-secret" {
			t.Errorf("without the secret: %d %s", r.status, r.raw)
		}
		for _, c := range []struct{ body, errType, param string }{
			{`{"chainId":"devnet","address":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"}`, "NetworkMismatch", "address"},
			{`{"chainId":"devnet","address":"0x70997970C51812dc3A010C7d01b50e0d17dc79C9"}`, "ValidationError", "address"}, // checksum
			{`{"chainId":"devnet","address":"0x0000000000000000000000000000000000000000"}`, "ValidationError", "address"},
			{`{"chainId":"ethereum","address":"0x70997970c51812dc3a010c7d01b50e0d17dc79c8"}`, "ValidationError", "chainId"}, // a live chain, test key
			{`{"chainId":"solana","address":"0x70997970c51812dc3a010c7d01b50e0d17dc79c8"}`, "ValidationError", "chainId"},
		} {
			if r := put(c.body, "x-api-secret", e.test.Secret); r.status != 400 || r.str("error") != c.errType || r.str("param") != c.param {
				t.Errorf("PUT %s: %d %s", c.body, r.status, r.raw)
			}
		}
		if r := e.as(e.test, "GET", "/api/v1/treasury", ""); len(r.data()["treasuries"].([]any)) != 0 {
			t.Fatalf("bad input set a treasury: %s", r.raw)
		}
		r := put(good, "x-api-secret", e.test.Secret)
		if r.status != 200 || r.data()["address"] != "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" {
			t.Fatalf("PUT: %d %s", r.status, r.raw)
		}
		if r := e.as(e.live, "GET", "/api/v1/treasury", ""); len(r.data()["treasuries"].([]any)) != 0 {
			t.Errorf("a test treasury shows in live mode: %s", r.raw)
		}
		if r := e.as(e.test, "DELETE", "/api/v1/treasury/devnet", ""); r.status != 401 {
			t.Errorf("DELETE without the secret: %d", r.status)
		}
		if r := e.as(e.test, "DELETE", "/api/v1/treasury/devnet", "", "x-api-secret", e.test.Secret); r.status != 200 || len(r.data()["treasuries"].([]any)) != 0 {
			t.Errorf("DELETE: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "DELETE", "/api/v1/treasury/devnet", "", "x-api-secret", e.test.Secret); r.status != 404 {
			t.Errorf("DELETE again: %d %s", r.status, r.raw)
		}
	})
}

// devnetNode starts a devnet for the test and returns it with a client of its node.
func devnetNode(t *testing.T) (*devnet.Chain, *evm.Client) {
	t.Helper()
	dn, err := devnet.Start(devnet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	client, err := evm.NewClient([]string{dn.RPCURL()}, evm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	return dn, client
}

// seededProject creates a project whose seed stablegate holds, and returns it with its test key.
func seededProject(t *testing.T, e *env, engine string) (*gateway.CreatedProject, gateway.KeyPair) {
	t.Helper()
	cp, err := e.svc.CreateProject(context.Background(), gateway.CreateProjectParams{Live: true, Name: "Seeded", Website: "https://seeded-" + engine + ".example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range cp.Keys {
		if k.Mode == gateway.Test {
			return cp, k
		}
	}
	t.Fatal("no test key")
	return nil, gateway.KeyPair{}
}
