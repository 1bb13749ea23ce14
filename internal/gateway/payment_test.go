package gateway_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

func TestDueWithTolerance(t *testing.T) {
	for _, c := range []struct {
		amount int64
		ppm    int
		due    int64
	}{
		{100_000_000, 0, 100_000_000},
		{100_000_000, 10_000, 99_000_000}, // 1 %
		{100_000_000, 5_000, 99_500_000},  // 0.5 %
		{999, 5_000, 995},                 // 4.995 of tolerance rounds down: the merchant is never short more
		{1, 100_000, 1},
	} {
		o := &gateway.Order{Amount: big.NewInt(c.amount), UnderpaymentPPM: c.ppm}
		if got := o.Due().Int64(); got != c.due {
			t.Errorf("Due(%d, %d ppm) = %d, want %d", c.amount, c.ppm, got, c.due)
		}
	}
}

func TestSettleWithTolerance(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	o := &gateway.Order{Amount: big.NewInt(100), UnderpaymentPPM: 10_000, Status: gateway.OrderPending, ExpiresAt: now.Add(time.Hour),
		PaidAmount: new(big.Int)}
	pt := gateway.PaymentTotals{Seen: big.NewInt(99), Confirmed: big.NewInt(99), Count: 1, FirstTx: "0x1", FirstBlock: 7}
	if ev := gateway.Settle(o, pt, now, false); o.Status != gateway.OrderCompleted || len(ev) != 1 || ev[0] != gateway.EventOrderCompleted || o.Overpaid {
		t.Fatalf("99 of 100 with 1 %%: %s %v overpaid=%v", o.Status, ev, o.Overpaid)
	}
	o = &gateway.Order{Amount: big.NewInt(100), UnderpaymentPPM: 10_000, Status: gateway.OrderPending, ExpiresAt: now.Add(time.Hour),
		PaidAmount: new(big.Int)}
	pt = gateway.PaymentTotals{Seen: big.NewInt(98), Confirmed: big.NewInt(98), Count: 1, FirstTx: "0x1"}
	if gateway.Settle(o, pt, now, false); o.Status != gateway.OrderUnderpaid {
		t.Fatalf("98 of 100 with 1 %%: %s", o.Status)
	}
}

func TestParseTolerance(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "0.5": 5_000, "1": 10_000, "10": 100_000, "0.0001": 1} {
		if got, err := gateway.ParseTolerance(in); err != nil || got != want {
			t.Errorf("ParseTolerance(%q) = %d, %v; want %d", in, got, err, want)
		}
		if back := gateway.FormatTolerance(want); in != back {
			t.Errorf("FormatTolerance(%d) = %q, want %q", want, back, in)
		}
	}
	for _, in := range []string{"", "-1", "10.0001", "11", "0.00001", "1e1", "abc", "1%", " 1"} {
		if _, err := gateway.ParseTolerance(in); err == nil || err.Param != "underpaymentTolerance" {
			t.Errorf("ParseTolerance(%q) accepted", in)
		}
	}
}
