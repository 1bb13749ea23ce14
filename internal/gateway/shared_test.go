package gateway_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

const sharedAddr = "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"

// newSharedStory is the story's order made on a shared address: amount 100, offset 7, held from
// its creation to an hour after its deadline.
func newSharedStory() (*gateway.Service, *memStore, *gateway.Order) {
	svc, m := newStory()
	o := m.orders["ord_1"]
	o.Address, o.PayOffset, o.PaymentLinkID = sharedAddr, big.NewInt(7), ""
	m.reservations = []*gateway.Reservation{{ChainID: "devnet", Address: sharedAddr, Currency: "USDT", PayAmount: big.NewInt(107),
		OrderID: "ord_1", CreatedAt: o.CreatedAt, Until: o.Deadline().Add(gateway.SharedHold)}}
	return svc, m, o
}

// toShared is a transfer to the shared address, as the scanner hands it over: no order yet.
func toShared(tx string, amount int64, at time.Time) *gateway.Transfer {
	tr := payment(tx, 10, amount)
	tr.OrderID, tr.Shared, tr.To, tr.BlockTime = "", true, sharedAddr, at
	return tr
}

func TestSharedExactAmountPaysItsOrder(t *testing.T) {
	svc, m, _ := newSharedStory()
	step(t, svc, 20, toShared("0xa", 107, storyNow.Add(time.Minute)))
	expect(t, m, "exact amount", []string{"0xa external→available 107 confirmed"}, []string{gateway.EventOrderCompleted})
	o := m.orders["ord_1"]
	if o.Status != gateway.OrderCompleted || o.Overpaid || o.PaidAmount.Int64() != 107 || m.transfers[0].OrderID != "ord_1" {
		t.Fatalf("after the pay amount arrived: %s overpaid %v paid %s, transfer's order %q", o.Status, o.Overpaid, o.PaidAmount,
			m.transfers[0].OrderID)
	}
}

func TestSharedOtherTransfersAreUnmatched(t *testing.T) {
	hold := storyNow.Add(15*time.Minute + gateway.SharedHold)
	for _, c := range []struct {
		name string
		tr   *gateway.Transfer
	}{
		{"the price without the offset", toShared("0xb", 100, storyNow.Add(time.Minute))},
		{"one base unit more", toShared("0xb", 108, storyNow.Add(time.Minute))},
		{"the pay amount before the order existed", toShared("0xb", 107, storyNow.Add(-gateway.ReservationSkew-time.Second))},
		{"the pay amount after the hold", toShared("0xb", 107, hold.Add(time.Second))},
		{"the pay amount with no block time", toShared("0xb", 107, time.Time{})},
		{"the pay amount in another token", func() *gateway.Transfer { tr := toShared("0xb", 107, storyNow); tr.Currency = "USDC"; return tr }()},
		{"the pay amount on another chain", func() *gateway.Transfer { tr := toShared("0xb", 107, storyNow); tr.ChainID = "sepolia"; return tr }()},
	} {
		t.Run(c.name, func(t *testing.T) {
			svc, m, _ := newSharedStory()
			step(t, svc, 20, c.tr)
			expect(t, m, c.name, nil, []string{gateway.EventPaymentUnmatched})
			o := m.orders["ord_1"]
			if o.Status != gateway.OrderPending || o.PaidAmount.Sign() != 0 || len(m.transfers) != 1 || m.transfers[0].OrderID != "" ||
				!m.transfers[0].Unmatched || m.transfers[0].Credited() {
				t.Fatalf("%s: order %s paid %s; stored %d transfers (order %q, unmatched %v)", c.name, o.Status, o.PaidAmount, len(m.transfers),
					m.transfers[0].OrderID, m.transfers[0].Unmatched)
			}
			step(t, svc, 21, c.tr) // a rescan reports it once
			expect(t, m, "rescan", nil, nil)
		})
	}
}

func TestSharedLatePaymentWithinTheHold(t *testing.T) {
	svc, m, o := newSharedStory()
	o.Status = gateway.OrderExpired
	tr := toShared("0xc", 107, storyNow.Add(30*time.Minute))
	tr.SeenAt = tr.BlockTime
	step(t, svc, 20, tr)
	_, events := m.taken()
	o = m.orders["ord_1"]
	if !o.PaidLate || o.PaidAmount.Int64() != 107 || len(events) == 0 {
		t.Fatalf("a payment after expiry, within the hold: paidLate %v paid %s events %q", o.PaidLate, o.PaidAmount, events)
	}
}
