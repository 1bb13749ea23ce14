package gateway_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
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

// What a transfer to a watched address counts for: an order takes its own token on its own chain
// only; a deposit address every registry token of a chain of its mode; zero is nothing at all.
func TestClassify(t *testing.T) {
	devnet, _ := chain.Builtin().Lookup("devnet")
	ethereum, _ := chain.Builtin().Lookup("ethereum")
	order := gateway.Recipient{Mode: gateway.Test, ChainID: "devnet", Currency: "USDT"}
	deposit := gateway.Recipient{Deposit: true, Mode: gateway.Test}
	for _, c := range []struct {
		name                  string
		r                     gateway.Recipient
		on                    chain.Chain
		currency              string
		amount                int64
		kept, credited, wrong bool
	}{
		{"own token, own chain", order, devnet, "USDT", 1, true, true, false},
		{"another registry token", order, devnet, "DAI", 100_000_000, true, false, true},
		{"another stablecoin", order, devnet, "USDC", 5, true, false, true},
		{"own token, another chain", order, ethereum, "USDT", 1, true, false, false},
		{"a token outside the registry", order, devnet, "", 1, true, false, false},
		{"zero of its own token", order, devnet, "USDT", 0, false, false, false},
		{"zero of another", order, devnet, "DAI", 0, false, false, false},
		{"deposit, any registry token", deposit, devnet, "DAI", 1, true, true, false},
		{"deposit, a chain of the other mode", deposit, ethereum, "USDT", 1, true, false, false},
		{"deposit, zero", deposit, devnet, "USDT", 0, false, false, false},
	} {
		tr := &gateway.Transfer{Currency: c.currency, Amount: big.NewInt(c.amount)}
		if kept := gateway.Classify(tr, c.r, c.on); kept != c.kept || kept && (tr.Credited() != c.credited || tr.WrongCurrency != c.wrong) {
			t.Errorf("%s: kept %v credited %v wrong %v; want %v %v %v", c.name, kept, tr.Credited(), tr.WrongCurrency, c.kept, c.credited, c.wrong)
		}
	}
}

// txHash is the payment that completed the order — the top-up after an underpayment — and only a
// completed order has one; an underpaid order expires at its deadline, keeping what was paid.
func TestSettleTxHashAndUnderpaidExpiry(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	o := &gateway.Order{Amount: big.NewInt(100), Status: gateway.OrderPending, ExpiresAt: now.Add(time.Hour), PaidAmount: new(big.Int)}
	first := &gateway.Transfer{TxHash: "0xa", Currency: "USDT", Amount: big.NewInt(60), BlockNumber: 5, Confirmed: true, SeenAt: now}
	pt := gateway.TotalsOf(o, []*gateway.Transfer{first})
	if ev := gateway.Settle(o, pt, now, false); o.Status != gateway.OrderUnderpaid || o.TxHash != "" || len(ev) != 1 {
		t.Fatalf("60 of 100: %s txHash %q %v", o.Status, o.TxHash, ev)
	}
	topUp := &gateway.Transfer{TxHash: "0xb", Currency: "USDT", Amount: big.NewInt(40), BlockNumber: 9, Confirmed: true, SeenAt: now}
	pt, _ = o.Totals()
	pt.Add(o, topUp)
	pt.Confirm(o, topUp)
	if gateway.Settle(o, pt, now, false); o.Status != gateway.OrderCompleted || o.TxHash != "0xb" {
		t.Fatalf("after the top-up: %s txHash %q, want completed by 0xb", o.Status, o.TxHash)
	}
	// Summed again from every transfer (after a reorg), the same payment completed it.
	if gateway.Settle(o, gateway.TotalsOf(o, []*gateway.Transfer{topUp, first}), now, true); o.TxHash != "0xb" {
		t.Fatalf("resummed: txHash %q", o.TxHash)
	}
	// Underpaid, then the deadline passes: expired, paidAmount kept.
	o = &gateway.Order{Amount: big.NewInt(100), Status: gateway.OrderPending, ExpiresAt: now.Add(time.Hour), PaidAmount: new(big.Int)}
	gateway.Settle(o, gateway.TotalsOf(o, []*gateway.Transfer{first}), now, false)
	pt, _ = o.Totals()
	later := o.Deadline().Add(time.Second)
	if ev := gateway.Settle(o, pt, later, false); o.Status != gateway.OrderExpired || o.PaidAmount.Int64() != 60 || len(ev) != 1 || ev[0] != gateway.EventOrderExpired {
		t.Fatalf("underpaid past its deadline: %s %s %v", o.Status, o.PaidAmount, ev)
	}
	// Still confirming past the deadline: it waits for the confirmation.
	o = &gateway.Order{Amount: big.NewInt(100), Status: gateway.OrderPending, ExpiresAt: now.Add(time.Hour), PaidAmount: new(big.Int)}
	unconfirmed := *first
	unconfirmed.Confirmed = false
	if gateway.Settle(o, gateway.TotalsOf(o, []*gateway.Transfer{&unconfirmed}), later, false); o.Status != gateway.OrderConfirming {
		t.Fatalf("unconfirmed past the deadline: %s", o.Status)
	}
}
