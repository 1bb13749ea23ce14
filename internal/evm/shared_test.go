package evm_test

import (
	"testing"

	"github.com/stablegate/stablegate/internal/evm/evmtest"
	"github.com/stablegate/stablegate/internal/money"
)

// Orders on the project's shared address, paid with real transfers on the devnet and found by the
// scanner: the exact pay amount completes its order alone; the bare price, the other order's pay
// amount in another token, and a pay amount no order holds are recorded as unmatched and reported,
// never credited. Once with the node's block timestamps in the logs, once without (the scanner
// reads the block's header).
func TestSharedAddressOnTheDevnet(t *testing.T) {
	for name, faults := range map[string]evmtest.Faults{"timestamps in logs": {}, "no timestamps in logs": {NoBlockTimestamps: true}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, 1, func(url string) string {
				p, err := evmtest.Start(url, faults)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { p.Close() })
				return p.URL()
			})
			w.call("PATCH", "/api/v1/project", `{"sharedAddress":{"devnet":{"enabled":true}}}`)
			one, addr := w.order("10", "USDT")
			two, addr2 := w.order("10", "USDT")
			if addr != addr2 {
				t.Fatalf("two orders on a shared address got %s and %s", addr.Hex(), addr2.Hex())
			}
			payOf := func(id string) int64 {
				v, err := money.ParsePositive(w.get(id)["payAmount"].(string), 6)
				if err != nil {
					t.Fatal(err)
				}
				return v.Int64()
			}
			p1, p2 := payOf(one), payOf(two)
			if p1 == p2 || p1 <= 10_000_000 || p2 <= 10_000_000 {
				t.Fatalf("pay amounts %d and %d: want two distinct, above the price", p1, p2)
			}
			free := int64(10_099_900) // the largest offset: free unless one of the two holds it
			for free == p1 || free == p2 {
				free -= 100
			}
			exact := w.pay("USDT", addr, p1)
			w.pay("USDT", addr, 10_000_000)
			w.pay("USDC", addr, p2)
			w.pay("USDT", addr, free)
			w.chain.Mine()
			w.scanToHead()
			w.chain.Mine()
			w.scanToHead()
			expect(t, w.get(one), map[string]any{"status": "completed", "txHash": exact.Hex(), "overpaid": false})
			expect(t, w.get(two), map[string]any{"status": "pending", "paidAmount": "0", "wrongCurrency": false})
			unmatched := 0
			for _, typ := range w.events(addr.Hex()) {
				if typ == "payment.unmatched" {
					unmatched++
				}
			}
			if unmatched != 3 {
				t.Errorf("%d payment.unmatched events, want 3 (the price, USDC, a free pay amount)", unmatched)
			}
			// The order still open is paid by its own amount, as the scanner goes on.
			w.pay("USDT", addr, p2)
			w.chain.Mine()
			w.scanToHead()
			w.chain.Mine()
			w.scanToHead()
			expect(t, w.get(two), map[string]any{"status": "completed"})
		})
	}
}
