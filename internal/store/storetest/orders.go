package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

func order(ref, amount, currency, chainID string) gateway.OrderInput {
	return gateway.OrderInput{Reference: ref, Amount: amount, Currency: currency, ChainID: chainID}
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
	other := *pr
	other.Project = &gateway.Project{ID: "prj_other"}
	if _, err := svc.SimulateOrder(ctx, &other, o.ID, gateway.SimulateExpired, ""); gateway.ErrorCode(err) != gateway.ENotFound {
		t.Errorf("expiring another project's order = %v, want NotFound", err)
	}
	if _, err := svc.SimulateOrder(ctx, principal(t, svc, cp, gateway.Live), o.ID, gateway.SimulateExpired, ""); gateway.ErrorCode(err) != gateway.EForbidden {
		t.Errorf("expiring with live credentials = %v, want Forbidden", err)
	}
	if got, err := svc.SimulateOrder(ctx, pr, o.ID, gateway.SimulateExpired, ""); err != nil || got.Status != gateway.OrderExpired {
		t.Errorf("expire = %v, %v", got, err)
	}
	if _, err := svc.SimulateOrder(ctx, pr, o.ID, gateway.SimulateExpired, ""); gateway.ErrorCode(err) != gateway.EConflict {
		t.Errorf("expiring an expired order = %v, want Conflict", err)
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
	nums := make([]int64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, _, err := svc.CreateOrder(ctx, pr, order(fmt.Sprintf("C-%d", i), "1", "USDT", "ethereum-sepolia"))
			errs[i] = err
			if err == nil {
				addrs[i], nums[i] = o.Address, o.Number
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	numbers := map[int64]string{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("order %d: %v", i, errs[i])
		}
		if seen[addrs[i]] {
			t.Fatalf("address %s handed out twice", addrs[i])
		}
		seen[addrs[i]] = true
		numbers[nums[i]] = fmt.Sprintf("C-%d", i)
	}
	// Each order has its own number (Crypto Pay's payment_id), 1 to n here, and is found by it,
	// in its own project and mode only.
	for k := int64(1); k <= n; k++ {
		ref, ok := numbers[k]
		if !ok {
			t.Fatalf("no order has the number %d: %v", k, numbers)
		}
		o, err := svc.GetOrderByNumber(ctx, pr, k, "payment_id")
		if err != nil || o.Reference != ref || o.Number != k {
			t.Fatalf("GetOrderByNumber(%d) = %+v, %v", k, o, err)
		}
	}
	if _, err := svc.GetOrderByNumber(ctx, principal(t, svc, cp, gateway.Live), 1, "payment_id"); gateway.ErrorCode(err) != gateway.ENotFound {
		t.Errorf("a test order's number with the live key: %v", err)
	}
	if got, _, err := svc.CreateOrder(ctx, pr, order("C-0", "1", "USDT", "ethereum-sepolia")); err != nil || got.Number != numbers0(numbers) {
		t.Errorf("the same reference again has the number %d, %v", got.Number, err)
	}
}

// numbers0 is the number of the order C-0.
func numbers0(numbers map[int64]string) int64 {
	for k, ref := range numbers {
		if ref == "C-0" {
			return k
		}
	}
	return 0
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
