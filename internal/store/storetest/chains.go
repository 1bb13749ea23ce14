package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

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
		if err := svc.ApplyScan(ctx, &gateway.ScanBatch{ChainID: "devnet", From: from, To: to, ToHash: fmt.Sprintf("0xb%d", to),
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
	n, err := svc.Rewind(ctx, "devnet", gateway.BlockRef{Number: 4, Hash: "0xb4"}, testNow)
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
	if n, err := svc.ExpireOrders(ctx, testNow.Add(14*time.Minute)); err != nil || n != 0 {
		t.Errorf("expired within grace: %d, %v", n, err)
	}
	if n, err := svc.ExpireOrders(ctx, testNow.Add(16*time.Minute)); err != nil || n != 1 {
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

// A scan step and the expiry worker meeting on the same orders never lose a payment: each locks
// the orders it settles, so the later one settles from what the earlier one wrote (on PostgreSQL,
// where they run at the same time, an unlocked read let expiry write back totals without the
// payment).
func testScanAndExpiryRace(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	pr := principal(t, svc, cp, gateway.Test)
	const n = 20
	var orders []*gateway.Order
	for i := range n {
		o, _, err := svc.CreateOrder(ctx, pr, order(fmt.Sprintf("race-%d", i), "10", "USDT", "devnet"))
		if err != nil {
			t.Fatal(err)
		}
		orders = append(orders, o)
	}
	late := orders[0].Deadline().Add(time.Minute) // every order is past its deadline
	var wg sync.WaitGroup
	for i, o := range orders {
		blk := uint64(i + 1)
		tr := &gateway.Transfer{ChainID: "devnet", TxHash: fmt.Sprintf("0xrace%d", i), BlockNumber: blk, BlockHash: fmt.Sprintf("0xb%d", blk),
			Token: "0xT", Currency: "USDT", From: "0xF", To: o.Address, Amount: o.Amount, OrderID: o.ID, ProjectID: o.ProjectID,
			Mode: o.Mode, SeenAt: late}
		wg.Go(func() {
			if err := svc.ApplyScan(ctx, &gateway.ScanBatch{ChainID: "devnet", From: blk, To: blk - 1, Head: blk, Required: 1,
				Transfers: []*gateway.Transfer{tr}, Now: late}); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := svc.ExpireOrders(ctx, late); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, o := range orders {
		got, err := s.FindOrder(ctx, o.ProjectID, o.Mode, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		trs, _ := s.OrderTransfers(ctx, o.ID)
		stored, _ := got.Totals()
		if got.Status != gateway.OrderCompleted || got.PaidAmount.Cmp(o.Amount) != 0 || len(trs) != 1 || stored.Count != 1 {
			t.Errorf("%s: %s paid %s in %d (transfers %d); want completed with its payment", o.Reference, got.Status, got.PaidAmount, stored.Count, len(trs))
		}
	}
}
