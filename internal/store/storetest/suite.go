// Package storetest is the one test suite every store engine must pass.
package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

// Opener returns a fresh, empty, migrated store for one test.
type Opener func(t *testing.T) gateway.Store

// Run runs the suite against the engine.
func Run(t *testing.T, open Opener) {
	tests := map[string]func(*testing.T, gateway.Store){
		"ProjectsAndCredentials":    testProjects,
		"WebsiteUnique":             testWebsiteUnique,
		"OrderDerivedAddresses":     testDerivedAddresses,
		"OrderReferenceIdempotent":  testReferenceIdempotent,
		"OrderConcurrentCreates":    testConcurrentCreates,
		"OrderConcurrentSameRef":    testConcurrentSameReference,
		"OrderPool":                 testPool,
		"OrderListFilters":          testList,
		"OrderAmountExact":          testAmountExact,
		"ModesDoNotCross":           testModes,
		"IdempotencyKeys":           testIdempotency,
		"FailedWriteChangesNothing": testFailedWrite,
		"ReserveIndicesUnique":      testReserveIndices,
		"ChainScan":                 testChainScan,
		"WebhookOutbox":             testWebhookOutbox,
		"Leases":                    testLeases,
		"SecretsSealedAtStart":      testSealStoredSecrets,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open(t))
		})
	}
}

const abandon = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"

var testNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func service(t *testing.T, s gateway.Store) *gateway.Service {
	kr, err := gateway.NewKeyring(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &gateway.Service{Store: s, Keyring: kr, Now: func() time.Time { return testNow }}
}

// project creates a watch-only project on the "abandon … about" xpubs, so addresses are known.
func project(t *testing.T, s gateway.Store, website string) (*gateway.Service, *gateway.CreatedProject) {
	t.Helper()
	svc := service(t, s)
	evm, _ := chain.AccountXPub(abandon, chain.EVM)
	tron, _ := chain.AccountXPub(abandon, chain.TRON)
	cp, err := svc.CreateProject(context.Background(), gateway.CreateProjectParams{Name: "Shop", Website: website,
		XPubs: map[chain.Protocol]string{chain.EVM: evm, chain.TRON: tron}})
	if err != nil {
		t.Fatal(err)
	}
	return svc, cp
}

func principal(t *testing.T, svc *gateway.Service, cp *gateway.CreatedProject, m gateway.Mode) *gateway.Principal {
	t.Helper()
	for _, k := range cp.Keys {
		if k.Mode == m {
			pr, err := svc.Authenticate(context.Background(), k.Key)
			if err != nil {
				t.Fatal(err)
			}
			return pr
		}
	}
	t.Fatalf("no %s key", m)
	return nil
}

func order(ref, amount, currency, chainID string) gateway.OrderInput {
	return gateway.OrderInput{Reference: ref, Amount: amount, Currency: currency, ChainID: chainID}
}

func testProjects(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	got, err := s.FindProject(ctx, cp.Project.ID)
	if err != nil || got.Website != "https://shop.example.com" || got.XPubs[chain.EVM] == "" || !got.WatchOnly() {
		t.Fatalf("FindProject = %+v, %v", got, err)
	}
	if _, err := s.FindProject(ctx, "prj_missing"); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("FindProject(missing) = %v, want ErrNotFound", err)
	}
	// A generated seed is sealed and opens with the master key to the printed mnemonic.
	gen, err := svc.CreateProject(ctx, gateway.CreateProjectParams{Name: "Gen", Website: "https://gen.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := s.FindProject(ctx, gen.Project.ID)
	if stored.WatchOnly() || strings.Contains(string(stored.SealedSeed), gen.Mnemonic) {
		t.Fatal("generated seed must be stored sealed")
	}
	if plain, err := svc.Keyring.Open(stored.SealedSeed, []byte(stored.ID)); err != nil || string(plain) != gen.Mnemonic {
		t.Errorf("sealed seed does not open to the mnemonic: %v", err)
	}
	list, err := s.ListProjects(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListProjects = %d, %v", len(list), err)
	}
	for _, k := range cp.Keys {
		pr, err := svc.Authenticate(ctx, k.Key)
		if err != nil || pr.Mode != k.Mode || pr.Project.ID != cp.Project.ID {
			t.Fatalf("Authenticate(%s key) = %+v, %v", k.Mode, pr, err)
		}
		if pr.Credential.KeyHash == k.Key || string(pr.Credential.SecretHash) == k.Secret {
			t.Fatal("credentials must be stored hashed")
		}
		if err := pr.ProveSecret(k.Secret); err != nil {
			t.Errorf("ProveSecret(right secret) = %v", err)
		}
		if err := pr.ProveSecret(k.Secret + "x"); gateway.ErrorCode(err) != gateway.EUnauthorized {
			t.Errorf("ProveSecret(wrong secret) = %v", err)
		}
	}
	pr := principal(t, svc, cp, gateway.Test)
	if err := svc.RevokeCredential(ctx, pr.Credential.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, cp.Keys[0].Key); gateway.ErrorCode(err) != gateway.EUnauthorized {
		t.Errorf("Authenticate(revoked) = %v, want Unauthorized", err)
	}
	if _, err := svc.Authenticate(ctx, "pk_test_unknown"); gateway.ErrorCode(err) != gateway.EUnauthorized {
		t.Errorf("Authenticate(unknown) = %v, want Unauthorized", err)
	}
}

func testWebsiteUnique(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, _ := project(t, s, "https://shop.example.com")
	for _, site := range []string{"https://shop.example.com", "https://SHOP.example.com/other", "http://shop.example.com:8080"} {
		_, err := svc.CreateProject(ctx, gateway.CreateProjectParams{Name: "Again", Website: site})
		if gateway.ErrorCode(err) != gateway.EConflict {
			t.Errorf("second project on %s: %v, want Conflict", site, err)
		}
	}
	if list, _ := s.ListProjects(ctx); len(list) != 1 {
		t.Errorf("a refused project was stored: %d projects", len(list))
	}
}

func testDerivedAddresses(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	pr := principal(t, svc, cp, gateway.Test)
	o, created, err := svc.CreateOrder(ctx, pr, order("A-1", "10.5", "USDT", "ethereum-sepolia"))
	if err != nil || !created {
		t.Fatalf("CreateOrder = %v, %v", created, err)
	}
	// The first order of the project gets m/44'/60'/0'/0/0.
	if o.Address != "0x9858EfFD232B4033E47d90003D41EC34EcaEda94" {
		t.Errorf("first address = %s, want the BIP44 vector", o.Address)
	}
	o2, _, err := svc.CreateOrder(ctx, pr, order("A-2", "1", "USDT", "ethereum-sepolia"))
	if err != nil || o2.Address == o.Address {
		t.Fatalf("second order address %s (err %v) must differ from %s", o2.Address, err, o.Address)
	}
	want, _ := chain.DeriveAddress(pr.Project.XPubs[chain.EVM], chain.EVM, 1)
	if o2.Address != want {
		t.Errorf("second address = %s, want index 1 %s", o2.Address, want)
	}
	o3, _, err := svc.CreateOrder(ctx, pr, order("T-1", "3", "USDT", "tron-nile"))
	if err != nil || o3.Address != "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH" {
		t.Errorf("first TRON address = %s, %v; want the BIP44 vector", o3.Address, err)
	}
	got, err := s.FindOrder(ctx, pr.Project.ID, gateway.Test, o.ID)
	if err != nil || got.Address != o.Address || got.Amount.String() != "10500000" || got.Status != gateway.OrderPending {
		t.Fatalf("FindOrder = %+v, %v", got, err)
	}
	if !got.ExpiresAt.Equal(testNow.Add(10*time.Minute)) || got.GraceMinutes != 5 {
		t.Errorf("expiresAt = %v grace %d, want created + 10m and 5", got.ExpiresAt, got.GraceMinutes)
	}
	// Another mode or another project does not see the order, nor can it expire it.
	if _, err := s.FindOrder(ctx, pr.Project.ID, gateway.Live, o.ID); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("FindOrder in live mode of a test order = %v, want ErrNotFound", err)
	}
	if _, err := s.FindOrder(ctx, "prj_other", gateway.Test, o.ID); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("FindOrder by another project = %v, want ErrNotFound", err)
	}
	if err := s.ExpireOrder(ctx, pr.Project.ID, gateway.Live, o.ID, testNow); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("ExpireOrder in live mode of a test order = %v, want ErrNotFound", err)
	}
	if err := s.ExpireOrder(ctx, pr.Project.ID, gateway.Test, o.ID, testNow); err != nil {
		t.Errorf("ExpireOrder = %v", err)
	}
	if err := s.ExpireOrder(ctx, pr.Project.ID, gateway.Test, o.ID, testNow); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("ExpireOrder of an expired order = %v, want ErrNotFound", err)
	}
}

func testReferenceIdempotent(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	pr := principal(t, svc, cp, gateway.Test)
	first, _, err := svc.CreateOrder(ctx, pr, order("R-1", "5", "USDC", "ethereum-sepolia"))
	if err != nil {
		t.Fatal(err)
	}
	again, created, err := svc.CreateOrder(ctx, pr, order("R-1", "5", "USDC", "ethereum-sepolia"))
	if err != nil || created || again.ID != first.ID || again.Address != first.Address {
		t.Fatalf("same reference again = %v created=%v err=%v; want the first order", again, created, err)
	}
	if _, _, err := svc.CreateOrder(ctx, pr, order("R-1", "6", "USDC", "ethereum-sepolia")); gateway.ErrorCode(err) != gateway.EConflict {
		t.Errorf("same reference, other amount: %v, want Conflict", err)
	}
	_, total, _ := s.ListOrders(ctx, gateway.OrderFilter{ProjectID: pr.Project.ID, Mode: gateway.Test, Page: 1, Limit: 10})
	if total != 1 {
		t.Errorf("%d orders stored, want 1", total)
	}
}

func testConcurrentCreates(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	pr := principal(t, svc, cp, gateway.Test)
	const n = 64
	var wg sync.WaitGroup
	addrs := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, _, err := svc.CreateOrder(ctx, pr, order(fmt.Sprintf("C-%d", i), "1", "USDT", "ethereum-sepolia"))
			errs[i] = err
			if err == nil {
				addrs[i] = o.Address
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("order %d: %v", i, errs[i])
		}
		if seen[addrs[i]] {
			t.Fatalf("address %s handed out twice", addrs[i])
		}
		seen[addrs[i]] = true
	}
}

func testConcurrentSameReference(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	pr := principal(t, svc, cp, gateway.Test)
	const n = 16
	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, _, err := svc.CreateOrder(ctx, pr, order("SAME", "1", "USDT", "ethereum-sepolia"))
			if err != nil {
				t.Errorf("create: %v", err)
				return
			}
			ids[i] = o.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("one reference produced orders %s and %s", ids[0], id)
		}
	}
}

func testPool(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	pr := principal(t, svc, cp, gateway.Test)
	pool := []string{"0x1111111111111111111111111111111111111111", "0x2222222222222222222222222222222222222222"}
	if _, err := svc.ImportAddresses(ctx, pr, "evm", pool); gateway.ErrorCode(err) != gateway.EUnauthorized {
		t.Fatalf("import without the secret: %v, want Unauthorized", err)
	}
	pr.SecretProven = true
	res, err := svc.ImportAddresses(ctx, pr, "evm", append(pool, pool[0]))
	if err != nil || res.Added != 2 || res.Skipped != 1 || res.Available != 2 {
		t.Fatalf("ImportAddresses = %+v, %v", res, err)
	}
	got := map[string]bool{}
	for i := range 2 {
		o, _, err := svc.CreateOrder(ctx, pr, order(fmt.Sprintf("P-%d", i), "1", "USDT", "ethereum-sepolia"))
		if err != nil {
			t.Fatal(err)
		}
		got[o.Address] = true
	}
	if !got[pool[0]] || !got[pool[1]] {
		t.Errorf("pool orders got %v, want both pool addresses", got)
	}
	_, _, err = svc.CreateOrder(ctx, pr, order("P-3", "1", "USDT", "ethereum-sepolia"))
	if gateway.ErrorCode(err) != gateway.EInsufficientAddresses {
		t.Fatalf("empty pool: %v, want InsufficientAddresses", err)
	}
	// The failed order left nothing behind, and TRON (no pool) still derives.
	if _, total, _ := s.ListOrders(ctx, gateway.OrderFilter{ProjectID: pr.Project.ID, Mode: gateway.Test, Page: 1, Limit: 10}); total != 2 {
		t.Errorf("%d orders after an InsufficientAddresses failure, want 2", total)
	}
	if _, _, err := svc.CreateOrder(ctx, pr, order("T-1", "1", "USDT", "tron-nile")); err != nil {
		t.Errorf("TRON order with an EVM-only pool: %v", err)
	}
	// Another project cannot import an address that is already someone's.
	svc2, cp2 := project(t, s, "https://other.example.com")
	pr2 := principal(t, svc2, cp2, gateway.Test)
	pr2.SecretProven = true
	res, err = svc2.ImportAddresses(ctx, pr2, "evm", pool[:1])
	if err != nil || res.Added != 0 || res.Skipped != 1 {
		t.Errorf("importing a taken address = %+v, %v; want skipped", res, err)
	}
	if _, err := svc.ImportAddresses(ctx, pr, "evm", []string{"0x123"}); gateway.ErrorCode(err) != gateway.EInvalid {
		t.Errorf("invalid address import: %v", err)
	}
}

func testList(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	pr := principal(t, svc, cp, gateway.Test)
	for i := range 25 {
		cur, ch := "USDT", "ethereum-sepolia"
		if i%5 == 0 {
			cur, ch = "USDC", "polygon-amoy"
		}
		if _, _, err := svc.CreateOrder(ctx, pr, order(fmt.Sprintf("L-%02d", i), "1", cur, ch)); err != nil {
			t.Fatal(err)
		}
	}
	page, total, err := svc.ListOrders(ctx, pr, gateway.OrderFilter{Page: 2, Limit: 10})
	if err != nil || total != 25 || len(page) != 10 {
		t.Fatalf("page 2 = %d of %d, %v", len(page), total, err)
	}
	last, _, _ := svc.ListOrders(ctx, pr, gateway.OrderFilter{Page: 3, Limit: 10})
	if len(last) != 5 {
		t.Errorf("page 3 has %d, want 5", len(last))
	}
	amoy, total, _ := svc.ListOrders(ctx, pr, gateway.OrderFilter{ChainID: "polygon-amoy", Currency: "USDC", Page: 1, Limit: 100})
	if total != 5 || len(amoy) != 5 {
		t.Errorf("chain filter: %d of %d, want 5", len(amoy), total)
	}
	ref, total, _ := svc.ListOrders(ctx, pr, gateway.OrderFilter{Reference: "L-07", Page: 1, Limit: 100})
	if total != 1 || ref[0].Reference != "L-07" {
		t.Errorf("reference filter: %d", total)
	}
	if _, total, _ := svc.ListOrders(ctx, pr, gateway.OrderFilter{Status: gateway.OrderCompleted, Page: 1, Limit: 100}); total != 0 {
		t.Errorf("status filter: %d completed, want 0", total)
	}
	for _, f := range []gateway.OrderFilter{{Page: 0, Limit: 10}, {Page: 1, Limit: 101}, {Page: 1, Limit: 0}, {Status: "paid", Page: 1, Limit: 10}} {
		if _, _, err := svc.ListOrders(ctx, pr, f); gateway.ErrorCode(err) != gateway.EInvalid {
			t.Errorf("ListOrders(%+v) = %v, want ValidationError", f, err)
		}
	}
}

func testAmountExact(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	pr := principal(t, svc, cp, gateway.Test)
	o, _, err := svc.CreateOrder(ctx, pr, order("DAI-1", "123456789012345678901234567890.123456789012345678", "DAI", "devnet"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.FindOrder(ctx, pr.Project.ID, gateway.Test, o.ID)
	want, _ := new(big.Int).SetString("123456789012345678901234567890123456789012345678", 10)
	if got.Amount.Cmp(want) != 0 {
		t.Errorf("amount stored as %s, want %s", got.Amount, want)
	}
}

func testModes(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	test, live := principal(t, svc, cp, gateway.Test), principal(t, svc, cp, gateway.Live)
	o, _, err := svc.CreateOrder(ctx, test, order("M-1", "1", "USDT", "ethereum-sepolia"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetOrder(ctx, live, o.ID); gateway.ErrorCode(err) != gateway.ENotFound {
		t.Errorf("live key reading a test order: %v, want NotFound", err)
	}
	if _, total, _ := svc.ListOrders(ctx, live, gateway.OrderFilter{Page: 1, Limit: 10}); total != 0 {
		t.Errorf("live list shows %d test orders", total)
	}
	lo, _, err := svc.CreateOrder(ctx, live, order("M-1", "1", "USDT", "ethereum"))
	if err != nil || lo.ID == o.ID || lo.Address == o.Address {
		t.Fatalf("live order with a test order's reference: %v %v", lo, err)
	}
	if _, err := svc.GetOrder(ctx, test, lo.ID); gateway.ErrorCode(err) != gateway.ENotFound {
		t.Errorf("test key reading a live order: %v, want NotFound", err)
	}
	if _, _, err := svc.CreateOrder(ctx, test, order("M-2", "1", "USDT", "ethereum")); gateway.ErrorCode(err) != gateway.EInvalid {
		t.Errorf("test key on a mainnet: %v, want ValidationError", err)
	}
	if _, _, err := svc.CreateOrder(ctx, live, order("M-3", "1", "USDT", "devnet")); gateway.ErrorCode(err) != gateway.EInvalid {
		t.Errorf("live key on devnet: %v, want ValidationError", err)
	}
}

func testIdempotency(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	_, cp := project(t, s, "https://shop.example.com")
	r := &gateway.IdempotencyRecord{ProjectID: cp.Project.ID, Mode: gateway.Test, Key: "k1", RequestHash: "h1", CreatedAt: testNow}
	if e, err := s.BeginIdempotent(ctx, r, testNow.Add(-time.Hour)); err != nil || e != nil {
		t.Fatalf("first Begin = %v, %v", e, err)
	}
	e, err := s.BeginIdempotent(ctx, r, testNow.Add(-time.Hour))
	if err != nil || e == nil || e.Done {
		t.Fatalf("second Begin while running = %+v, %v", e, err)
	}
	r.Status, r.Body = 201, []byte(`{"ok":1}`)
	if err := s.FinishIdempotent(ctx, r); err != nil {
		t.Fatal(err)
	}
	e, _ = s.BeginIdempotent(ctx, r, testNow.Add(-time.Hour))
	if e == nil || !e.Done || e.Status != 201 || string(e.Body) != `{"ok":1}` || e.RequestHash != "h1" {
		t.Fatalf("Begin after finish = %+v", e)
	}
	// Expired records are replaced.
	if e, _ := s.BeginIdempotent(ctx, r, testNow.Add(time.Second)); e != nil {
		t.Errorf("stale record was not replaced: %+v", e)
	}
	if n, err := s.PurgeIdempotent(ctx, testNow.Add(time.Second)); err != nil || n != 1 {
		t.Errorf("Purge = %d, %v", n, err)
	}
	// Fifty requests racing for one key: exactly one takes it, the others find it.
	var wg sync.WaitGroup
	var mu sync.Mutex
	owners, found := 0, 0
	for range 50 {
		wg.Go(func() {
			e, err := s.BeginIdempotent(ctx, &gateway.IdempotencyRecord{ProjectID: cp.Project.ID, Mode: gateway.Test, Key: "race",
				RequestHash: "h", SecretProven: true, CreatedAt: testNow}, testNow.Add(-time.Hour))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case e == nil:
				owners++
			case !e.SecretProven:
				t.Errorf("the record lost what its request proved: %+v", e)
			default:
				found++
			}
		})
	}
	wg.Wait()
	if owners != 1 || found != 49 {
		t.Errorf("50 racing Begins: %d took the key, %d found it; want 1 and 49", owners, found)
	}
}

// Secret hashes stored in clear (before they were sealed) are sealed by SealStoredSecrets, once, and
// the secrets still prove themselves.
func testSealStoredSecrets(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://old.example.com")
	// As stored before hashes were sealed: the SHA-256 of each secret.
	legacy := map[string][]byte{}
	for _, k := range cp.Keys {
		pr, err := svc.Authenticate(ctx, k.Key)
		if err != nil {
			t.Fatal(err)
		}
		legacy[pr.Credential.ID] = gateway.HashSecret(k.Secret)
	}
	if _, err := s.ResealSecrets(ctx, func(id string, _ []byte) ([]byte, bool) { h, ok := legacy[id]; return h, ok }); err != nil {
		t.Fatal(err)
	}
	svc = service(t, s)
	if n, err := svc.SealStoredSecrets(ctx); err != nil || n != 2 {
		t.Fatalf("SealStoredSecrets = %d, %v; want the project's 2", n, err)
	}
	if n, err := svc.SealStoredSecrets(ctx); err != nil || n != 0 {
		t.Fatalf("SealStoredSecrets again = %d, %v; want 0", n, err)
	}
	for _, k := range cp.Keys {
		pr, err := svc.Authenticate(ctx, k.Key)
		if err != nil {
			t.Fatal(err)
		}
		if err := pr.ProveSecret(k.Secret); err != nil {
			t.Errorf("%s secret after sealing: %v", k.Mode, err)
		}
		if err := pr.ProveSecret(k.Secret + "x"); err == nil {
			t.Errorf("%s: a wrong secret proved itself", k.Mode)
		}
	}
}

func testFailedWrite(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	pr := principal(t, svc, cp, gateway.Test)
	first, _, err := svc.CreateOrder(ctx, pr, order("F-1", "1", "USDT", "ethereum-sepolia"))
	if err != nil {
		t.Fatal(err)
	}
	// An order whose address is already someone's fails as a whole: no order is stored.
	bad := &gateway.Order{ID: gateway.NewID("ord"), ProjectID: pr.Project.ID, Mode: gateway.Test, Reference: "F-2",
		Status: gateway.OrderPending, Amount: big.NewInt(1), Currency: "USDT", ChainID: "ethereum-sepolia",
		PaymentWindowMinutes: 10, GraceMinutes: 5, ExpiresAt: testNow, CreatedAt: testNow}
	_, err = s.CreateOrder(ctx, bad, gateway.AddressRequest{Protocol: chain.EVM, Derived: &gateway.DerivedAddress{Index: 99, Address: first.Address}})
	if err == nil {
		t.Fatal("an order reusing an address was stored")
	}
	if _, err := s.FindOrder(ctx, pr.Project.ID, gateway.Test, bad.ID); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("failed order is readable: %v", err)
	}
	if _, _, err := svc.CreateOrder(ctx, pr, order("F-2", "1", "USDT", "ethereum-sepolia")); err != nil {
		t.Errorf("the next order after a failed one: %v", err)
	}
}

func testReserveIndices(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	_, cp := project(t, s, "https://shop.example.com")
	const n = 200
	var mu sync.Mutex
	seen := map[uint32]bool{}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			i, err := s.ReserveAddressIndex(ctx, cp.Project.ID, chain.EVM)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[i] {
				t.Errorf("index %d reserved twice", i)
			}
			seen[i] = true
		}()
	}
	wg.Wait()
	// The counters are per protocol: TRON starts at 0.
	if i, err := s.ReserveAddressIndex(ctx, cp.Project.ID, chain.TRON); err != nil || i != 0 {
		t.Errorf("first TRON index = %d, %v", i, err)
	}
}

func testChainScan(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	pr := principal(t, svc, cp, gateway.Test)
	o, _, err := svc.CreateOrder(ctx, pr, order("S-1", "10", "USDT", "devnet"))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := s.WatchedAddresses(ctx, chain.EVM, testNow.Add(-time.Minute), testNow)
	if err != nil || len(ws) != 1 || ws[0].Address != o.Address || ws[0].OrderID != o.ID || ws[0].ChainID != "devnet" ||
		!ws[0].Deadline.Equal(o.ExpiresAt.Add(5*time.Minute)) {
		t.Fatalf("watched = %+v, %v", ws, err)
	}
	// Past its deadline plus the window asked for, an order's address is no longer returned.
	if ws, _ := s.WatchedAddresses(ctx, chain.EVM, time.Time{}, o.ExpiresAt.Add(6*time.Minute)); len(ws) != 0 {
		t.Fatalf("watched after the window: %+v", ws)
	}
	tr := func(tx string, block uint64, amount int64) *gateway.Transfer {
		return &gateway.Transfer{ChainID: "devnet", TxHash: tx, LogIndex: 0, BlockNumber: block, BlockHash: fmt.Sprintf("0xb%d", block),
			Token: "0xT", Currency: "USDT", From: "0xF", To: o.Address, Amount: big.NewInt(amount), OrderID: o.ID,
			ProjectID: o.ProjectID, Mode: o.Mode, SeenAt: testNow}
	}
	apply := func(from, to, head uint64, trs ...*gateway.Transfer) {
		t.Helper()
		if err := s.ApplyScan(ctx, &gateway.ScanBatch{ChainID: "devnet", From: from, To: to, ToHash: fmt.Sprintf("0xb%d", to),
			Head: head, Required: 2, Transfers: trs, Now: testNow}); err != nil {
			t.Fatal(err)
		}
	}
	status := func() *gateway.Order {
		t.Helper()
		got, err := s.FindOrder(ctx, o.ProjectID, o.Mode, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The running totals always equal the sum of the transfers.
		trs, err := s.OrderTransfers(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		stored, ok := got.Totals()
		if want := gateway.TotalsOf(got, trs); !ok || stored.Seen.Cmp(want.Seen) != 0 || stored.Confirmed.Cmp(want.Confirmed) != 0 ||
			stored.Count != want.Count || stored.WrongCurrency != want.WrongCurrency || stored.FirstBlock != want.FirstBlock || stored.Late != want.Late {
			t.Fatalf("stored totals %+v, transfers sum to %+v", stored, want)
		}
		return got
	}
	apply(1, 5, 5, tr("0x01", 5, 10_000_000))
	if got := status(); got.Status != gateway.OrderConfirming || got.PaidAmount.Int64() != 10_000_000 || got.TxHash != "" {
		t.Fatalf("after one block: %s %s txHash %q (only a completed order has one)", got.Status, got.PaidAmount, got.TxHash)
	}
	// The same transfer again (a rescan) is not counted twice.
	apply(6, 6, 6, tr("0x01", 5, 10_000_000))
	if got := status(); got.Status != gateway.OrderCompleted || got.PaidAmount.Int64() != 10_000_000 || got.CompletedAt == nil || got.TxHash != "0x01" {
		t.Fatalf("after confirmation: %s %s txHash %q", got.Status, got.PaidAmount, got.TxHash)
	}
	if cur, ok, err := s.Cursor(ctx, "devnet"); err != nil || !ok || cur.Number != 6 || cur.Hash != "0xb6" {
		t.Errorf("cursor = %+v %v %v", cur, ok, err)
	}
	// An order paid before totals were kept (NULL totals) is summed from its transfers once.
	if db, ok := s.(interface{ DB() *sql.DB }); ok {
		if _, err := db.DB().ExecContext(ctx, `UPDATE orders SET confirmed_amount = NULL, payment_count = 0 WHERE id = '`+o.ID+`'`); err != nil {
			t.Fatal(err)
		}
		apply(7, 7, 7, tr("0x07", 7, 1))
		if got := status(); got.PaidAmount.Int64() != 10_000_001 || got.PaymentCount != 2 || got.Overpaid || got.TxHash != "0x01" {
			t.Fatalf("after summing again: %s paid %s in %d", got.Status, got.PaidAmount, got.PaymentCount)
		}
	}
	// The ledger: confirmed payments are available; it agrees with its entries and the transfers.
	balance := func() (pending, available int64) {
		t.Helper()
		bs, err := s.Balances(ctx, o.ProjectID, o.Mode)
		if err != nil || len(bs) != 1 || bs[0].ChainID != "devnet" || bs[0].Currency != "USDT" {
			t.Fatalf("balances = %+v, %v", bs, err)
		}
		return bs[0].Pending.Int64(), bs[0].Available.Int64()
	}
	verify := func() {
		t.Helper()
		if diffs, err := s.VerifyLedger(ctx); err != nil || len(diffs) != 0 {
			t.Fatalf("ledger differences: %+v, %v", diffs, err)
		}
	}
	if p, a := balance(); p != 1 || a != 10_000_000 { // the 1-unit transfer of block 7 waits
		t.Fatalf("before the reorg: pending %d, available %d", p, a)
	}
	verify()
	n, err := s.Rewind(ctx, "devnet", gateway.BlockRef{Number: 4, Hash: "0xb4"}, testNow)
	if err != nil || n != 2 {
		t.Fatalf("Rewind = %d, %v", n, err)
	}
	if got := status(); got.Status != gateway.OrderPending || got.PaidAmount.Sign() != 0 || got.TxHash != "" {
		t.Errorf("after the reorg: %s %s %q", got.Status, got.PaidAmount, got.TxHash)
	}
	if blocks, _ := s.RecentBlocks(ctx, "devnet"); len(blocks) == 0 || blocks[0].Number != 4 {
		t.Errorf("recent blocks after rewind = %+v", blocks)
	}
	if trs, _ := s.OrderTransfers(ctx, o.ID); len(trs) != 0 {
		t.Errorf("%d transfers survive the rewind", len(trs))
	}
	// The reorg is reversed by entries, not by deleting history.
	if p, a := balance(); p != 0 || a != 0 {
		t.Fatalf("after the reorg: pending %d, available %d", p, a)
	}
	verify()
	if db, ok := s.(interface{ DB() *sql.DB }); ok {
		var entries int
		if err := db.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger_entries WHERE reason = 'reversed'`).Scan(&entries); err != nil || entries != 2 {
			t.Fatalf("reversing entries: %d, %v", entries, err)
		}
		// The database refuses a negative balance, and verify finds a tampered one.
		if _, err := db.DB().ExecContext(ctx, `UPDATE ledger_balances SET balance = '-1' WHERE account = 'available'`); err == nil {
			t.Fatal("a negative available balance was stored")
		}
		if _, err := db.DB().ExecContext(ctx, `UPDATE ledger_balances SET balance = '5' WHERE account = 'available'`); err != nil {
			t.Fatal(err)
		}
		if diffs, err := s.VerifyLedger(ctx); err != nil || len(diffs) != 1 || diffs[0].Stored.Int64() != 5 || diffs[0].Posted.Sign() != 0 {
			t.Fatalf("verify after tampering: %+v, %v", diffs, err)
		}
		if _, err := db.DB().ExecContext(ctx, `UPDATE ledger_balances SET balance = '0' WHERE account = 'available'`); err != nil {
			t.Fatal(err)
		}
	}
	// Expiry: the order was created at testNow with a 10 + 5 minute window.
	if n, err := s.ExpireOrders(ctx, testNow.Add(14*time.Minute)); err != nil || n != 0 {
		t.Errorf("expired within grace: %d, %v", n, err)
	}
	if n, err := s.ExpireOrders(ctx, testNow.Add(16*time.Minute)); err != nil || n != 1 {
		t.Errorf("expired after grace: %d, %v", n, err)
	}
	if got := status(); got.Status != gateway.OrderExpired {
		t.Errorf("status = %s, want expired", got.Status)
	}
}

func testLeases(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	ttl := 10 * time.Second
	take := func(holder string, at time.Time, want bool) {
		t.Helper()
		if got, err := s.AcquireLease(ctx, "scanner:devnet", holder, at, ttl); err != nil || got != want {
			t.Fatalf("%s at %s: held=%v, %v; want %v", holder, at.Format(time.TimeOnly), got, err, want)
		}
	}
	take("a", testNow, true)
	take("b", testNow.Add(time.Second), false)
	take("a", testNow.Add(5*time.Second), true) // renewed until +15 s
	take("b", testNow.Add(12*time.Second), false)
	take("b", testNow.Add(16*time.Second), true) // expired: taken over
	take("a", testNow.Add(17*time.Second), false)
	if got, err := s.AcquireLease(ctx, "scanner:other", "a", testNow.Add(17*time.Second), ttl); err != nil || !got {
		t.Fatalf("another lease: %v, %v", got, err)
	}
}
