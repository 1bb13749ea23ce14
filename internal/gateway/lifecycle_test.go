package gateway_test

import (
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// life is one order's life: its transfers, settled from scratch after every event, as the store
// does after a reorg (the incremental path is checked against it by the store suite).
type life struct {
	o         *gateway.Order
	transfers []*gateway.Transfer
	now       time.Time
	block     uint64
}

func newLife() *life {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	return &life{now: now, o: &gateway.Order{Amount: big.NewInt(100), Status: gateway.OrderPending, ExpiresAt: now.Add(10 * time.Minute),
		GraceMinutes: 5, PaidAmount: new(big.Int)}}
}

func (l *life) settle(reorged bool) []string {
	return gateway.Settle(l.o, gateway.TotalsOf(l.o, l.transfers), l.now, reorged)
}

// The events of DESIGN §2, each applied to an order as it stands.
var lifeEvents = map[string]func(l *life) []string{
	"payment seen": func(l *life) []string { return l.pay(100, false) },
	"part seen":    func(l *life) []string { return l.pay(40, false) },
	"confirmation": func(l *life) []string {
		for _, t := range l.transfers {
			t.Confirmed = true
		}
		return l.settle(false)
	},
	"full payment, confirmed":  func(l *life) []string { return l.pay(100, true) },
	"short payment, confirmed": func(l *life) []string { return l.pay(40, true) },
	"top-up, confirmed":        func(l *life) []string { return l.pay(60, true) },
	"over-payment, confirmed":  func(l *life) []string { return l.pay(150, true) },
	"reorg": func(l *life) []string {
		if len(l.transfers) > 0 {
			l.transfers = l.transfers[:len(l.transfers)-1]
		}
		return l.settle(true)
	},
	"deadline passes": func(l *life) []string {
		l.now = l.o.Deadline().Add(time.Second)
		return l.settle(false)
	},
	"late payment, confirmed": func(l *life) []string {
		l.now = l.o.Deadline().Add(time.Minute)
		return l.pay(100, true)
	},
}

func (l *life) pay(amount int64, confirmed bool) []string {
	l.block++
	l.transfers = append(l.transfers, &gateway.Transfer{TxHash: fmt.Sprintf("0x%02d", l.block), Currency: "USDT",
		Amount: big.NewInt(amount), BlockNumber: l.block, Confirmed: confirmed, SeenAt: l.now})
	return l.settle(false)
}

// How to bring an order to each status.
var lifeStatuses = map[gateway.OrderStatus][]string{
	gateway.OrderPending:    nil,
	gateway.OrderConfirming: {"payment seen"},
	gateway.OrderUnderpaid:  {"short payment, confirmed"},
	gateway.OrderCompleted:  {"full payment, confirmed"},
	gateway.OrderExpired:    {"deadline passes"},
}

// Every status × every event of DESIGN §2: where the order goes, what the merchant is told, and
// what it keeps (txHash only when completed, paidAmount what was paid).
func TestOrderLifeCycle(t *testing.T) {
	type want struct {
		status gateway.OrderStatus
		events []string
	}
	c, u, p, cf, ex := gateway.OrderCompleted, gateway.OrderUnderpaid, gateway.OrderPending, gateway.OrderConfirming, gateway.OrderExpired
	table := map[gateway.OrderStatus]map[string]want{
		p: {
			"payment seen": {cf, nil}, "part seen": {cf, nil}, "confirmation": {p, nil},
			"full payment, confirmed": {c, []string{"order.completed"}}, "short payment, confirmed": {u, []string{"order.underpaid"}},
			"top-up, confirmed": {u, []string{"order.underpaid"}}, "over-payment, confirmed": {c, []string{"order.completed"}},
			"reorg": {p, nil}, "deadline passes": {ex, []string{"order.expired"}},
			"late payment, confirmed": {c, []string{"order.completed"}},
		},
		cf: {
			"payment seen": {cf, nil}, "part seen": {cf, nil}, "confirmation": {c, []string{"order.completed"}},
			"full payment, confirmed": {c, []string{"order.completed"}}, "short payment, confirmed": {cf, nil}, "top-up, confirmed": {cf, nil},
			"over-payment, confirmed": {c, []string{"order.completed"}}, "reorg": {p, []string{"order.reorged"}},
			"deadline passes": {cf, nil}, "late payment, confirmed": {c, []string{"order.completed"}},
		},
		u: {
			"payment seen": {cf, nil}, "part seen": {cf, nil}, "confirmation": {u, nil},
			"full payment, confirmed": {c, []string{"order.completed"}}, "short payment, confirmed": {u, nil},
			"top-up, confirmed": {c, []string{"order.completed"}}, "over-payment, confirmed": {c, []string{"order.completed"}},
			"reorg": {p, []string{"order.reorged"}}, "deadline passes": {ex, []string{"order.expired"}},
			"late payment, confirmed": {c, []string{"order.completed"}},
		},
		c: {
			"payment seen": {c, nil}, "part seen": {c, nil}, "confirmation": {c, nil},
			"full payment, confirmed": {c, nil}, "short payment, confirmed": {c, nil}, "top-up, confirmed": {c, nil},
			"over-payment, confirmed": {c, nil}, "reorg": {p, []string{"order.reorged"}},
			"deadline passes": {c, nil}, "late payment, confirmed": {c, []string{"order.paid_late"}},
		},
		ex: {
			"payment seen": {cf, nil}, "part seen": {cf, nil}, "confirmation": {ex, nil},
			"full payment, confirmed":  {c, []string{"order.completed"}},
			"short payment, confirmed": {ex, []string{"order.paid_late"}}, "top-up, confirmed": {ex, []string{"order.paid_late"}},
			"over-payment, confirmed": {c, []string{"order.completed"}}, "reorg": {ex, nil},
			"deadline passes": {ex, nil}, "late payment, confirmed": {c, []string{"order.completed"}},
		},
	}
	for from, events := range table {
		for event, w := range events {
			t.Run(string(from)+"/"+event, func(t *testing.T) {
				l := newLife()
				for _, step := range lifeStatuses[from] {
					lifeEvents[step](l)
				}
				if l.o.Status != from {
					t.Fatalf("setup reached %s, not %s", l.o.Status, from)
				}
				got := lifeEvents[event](l)
				if l.o.Status != w.status || !slices.Equal(got, w.events) {
					t.Errorf("%s + %s = %s %v, want %s %v", from, event, l.o.Status, got, w.status, w.events)
				}
				if (l.o.TxHash != "") != (l.o.Status == gateway.OrderCompleted) {
					t.Errorf("%s with txHash %q", l.o.Status, l.o.TxHash)
				}
				paid := new(big.Int)
				for _, tr := range l.transfers {
					paid.Add(paid, tr.Amount)
				}
				if l.o.PaidAmount.Cmp(paid) != 0 {
					t.Errorf("paidAmount %s, transfers %s", l.o.PaidAmount, paid)
				}
			})
		}
	}
	if len(table) != 5 {
		t.Fatal("a status of DESIGN §2 is missing from the table")
	}
	for _, events := range table {
		if len(events) != len(lifeEvents) {
			t.Fatal("an event is missing from a row of the table")
		}
	}
}

// A late payment is one story: a handler that fulfils on order.completed and on order.paid_late
// fulfils once, since paid_late only ever reports late money that did not complete the order.
func TestLatePaymentIsOneStory(t *testing.T) {
	t.Run("seen, then confirmed", func(t *testing.T) {
		l := newLife()
		lifeEvents["deadline passes"](l)
		var all []string
		all = append(all, lifeEvents["payment seen"](l)...)
		all = append(all, lifeEvents["confirmation"](l)...)
		if !slices.Equal(all, []string{"order.completed"}) || !l.o.PaidLate {
			t.Errorf("events %v, paidLate %v; want order.completed alone, with paidLate", all, l.o.PaidLate)
		}
	})
	t.Run("short, then topped up", func(t *testing.T) {
		l := newLife()
		lifeEvents["deadline passes"](l)
		if got := l.pay(40, true); !slices.Equal(got, []string{"order.paid_late"}) || l.o.Status != gateway.OrderExpired {
			t.Errorf("late and short: %s %v", l.o.Status, got)
		}
		if got := l.pay(30, true); len(got) != 0 {
			t.Errorf("a second late, short payment: %v (reported once)", got)
		}
		if got := l.pay(30, true); !slices.Equal(got, []string{"order.completed"}) {
			t.Errorf("the top-up that completes it: %v", got)
		}
	})
}

// An order resolved by hand keeps its status whatever happens after: every event of its life,
// applied to it, moves the totals and never the status, and never says the order completed,
// fell short or expired again.
func TestResolvedOrderKeepsItsStatus(t *testing.T) {
	for _, outcome := range []gateway.OrderStatus{gateway.OrderCompleted, gateway.OrderInvalid} {
		for name, event := range lifeEvents {
			l := newLife()
			at := l.now
			l.o.Resolution, l.o.ResolvedAt, l.o.Status = outcome, &at, outcome
			if outcome == gateway.OrderCompleted {
				l.o.CompletedAt = &at
			}
			for range 2 { // twice: a top-up on a top-up, a reorg of a reorg
				for _, ev := range event(l) {
					if ev == gateway.EventOrderCompleted || ev == gateway.EventOrderUnderpaid || ev == gateway.EventOrderExpired {
						t.Errorf("%s order, %s: event %s", outcome, name, ev)
					}
				}
				if l.o.Status != outcome {
					t.Errorf("%s order, %s: status %s", outcome, name, l.o.Status)
				}
				if outcome == gateway.OrderCompleted && (l.o.CompletedAt == nil || !l.o.CompletedAt.Equal(at)) {
					t.Errorf("%s order, %s: completedAt %v, want the resolution's %v", outcome, name, l.o.CompletedAt, at)
				}
			}
		}
	}
}
