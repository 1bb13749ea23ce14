package gateway_test

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// memStore keeps what the payment story writes in memory: the story is tested here without a
// database (the SQL of each single operation is tested by the store suite on both engines).
type memStore struct {
	gateway.Store // the rest of the store: not used by the story
	transfers     []*gateway.Transfer
	orders        map[string]*gateway.Order
	refs          map[string]string
	links         map[string]int // units sold
	postings      []string
	events        []string
	cursor        gateway.BlockRef
	projects      map[string]*gateway.Project
	reservations  []*gateway.Reservation
}

func (m *memStore) Reservations(_ context.Context, ts []*gateway.Transfer) ([]*gateway.Reservation, error) {
	var out []*gateway.Reservation
	for _, r := range m.reservations {
		if slices.ContainsFunc(ts, func(t *gateway.Transfer) bool {
			return t.ChainID == r.ChainID && t.To == r.Address && t.Currency == r.Currency && t.Amount.Cmp(r.PayAmount) == 0
		}) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memStore) FindProject(_ context.Context, id string) (*gateway.Project, error) {
	if p, ok := m.projects[id]; ok {
		return p, nil
	}
	return nil, gateway.ErrNotFound
}

func (m *memStore) InTx(_ context.Context, fn func(gateway.PaymentTx) error) error { return fn(m) }

func (m *memStore) InsertTransfers(_ context.Context, ts []*gateway.Transfer) ([]*gateway.Transfer, error) {
	var added []*gateway.Transfer
	for _, t := range ts {
		if !slices.ContainsFunc(m.transfers, func(s *gateway.Transfer) bool { return s.TxHash == t.TxHash && s.LogIndex == t.LogIndex }) {
			c := *t
			m.transfers = append(m.transfers, &c)
			added = append(added, t)
		}
	}
	return added, nil
}

func (m *memStore) ConfirmTransfers(_ context.Context, chainID string, upTo, head uint64) ([]*gateway.Transfer, error) {
	var out []*gateway.Transfer
	for _, t := range m.transfers {
		if t.ChainID == chainID && !t.Confirmed && t.BlockNumber <= upTo && t.BlockNumber+uint64(t.MinConfirmations) <= head+1 {
			t.Confirmed = true
			c := *t
			out = append(out, &c)
		}
	}
	return out, nil
}

func (m *memStore) RemoveTransfersAbove(_ context.Context, chainID string, block uint64) ([]*gateway.Transfer, error) {
	var gone []*gateway.Transfer
	m.transfers = slices.DeleteFunc(m.transfers, func(t *gateway.Transfer) bool {
		if t.ChainID == chainID && t.BlockNumber > block {
			gone = append(gone, t)
			return true
		}
		return false
	})
	return gone, nil
}

func (m *memStore) LockOrders(_ context.Context, ids []string) ([]*gateway.Order, error) {
	var out []*gateway.Order
	for _, id := range ids {
		if o := m.orders[id]; o != nil {
			c := *o
			out = append(out, &c)
		}
	}
	return out, nil
}

func (m *memStore) ExpiringOrders(_ context.Context, now time.Time, limit int) ([]*gateway.Order, error) {
	var ids []string
	for id, o := range m.orders {
		if (o.Status == gateway.OrderPending || o.Status == gateway.OrderUnderpaid) && o.Expired(now) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return m.LockOrders(context.Background(), ids[:min(limit, len(ids))])
}

func (m *memStore) TransfersOf(_ context.Context, ids []string) ([]*gateway.Transfer, error) {
	var out []*gateway.Transfer
	for _, t := range m.transfers {
		if slices.Contains(ids, t.OrderID) {
			c := *t
			out = append(out, &c)
		}
	}
	return out, nil
}

func (m *memStore) SaveOrder(_ context.Context, o *gateway.Order) error {
	c := *o
	m.orders[o.ID] = &c
	return nil
}

func (m *memStore) MoveInventory(_ context.Context, id string, sold int) error {
	m.links[id] += sold
	return nil
}

// inventory is the story's link as a checkout page sees it at the moment: units sold, units held.
func (m *memStore) inventory(at time.Time) [2]int {
	held := 0
	for _, o := range m.orders {
		if o.PaymentLinkID == "lnk_1" && o.HoldsUnit(at, gateway.DefaultReservationMinutes*time.Minute) {
			held++
		}
	}
	return [2]int{m.links["lnk_1"], held}
}

func (m *memStore) Post(_ context.Context, ps []gateway.Posting) error {
	for _, p := range ps {
		m.postings = append(m.postings, fmt.Sprintf("%s %s→%s %s %s", p.Transfer.TxHash, p.From, p.To, p.Transfer.Amount, p.Reason))
	}
	return nil
}

func (m *memStore) DepositBindings(_ context.Context, ids []string) (map[string]*gateway.DepositBinding, error) {
	out := map[string]*gateway.DepositBinding{}
	for _, id := range ids {
		if ref, ok := m.refs[id]; ok {
			out[id] = &gateway.DepositBinding{ID: id, Reference: ref}
		}
	}
	return out, nil
}

func (m *memStore) AddEvents(_ context.Context, es []*gateway.Event) error {
	for _, e := range es {
		m.events = append(m.events, e.Type)
	}
	return nil
}

func (m *memStore) MoveCursor(_ context.Context, _ string, to gateway.BlockRef, _ []gateway.BlockRef, _ time.Time) error {
	m.cursor = to
	return nil
}

// taken returns what the story wrote since the last call.
func (m *memStore) taken() (postings, events []string) {
	postings, events = m.postings, m.events
	m.postings, m.events = nil, nil
	return postings, events
}

var storyNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func newStory() (*gateway.Service, *memStore) {
	m := &memStore{orders: map[string]*gateway.Order{}, refs: map[string]string{"dep_1": "user-7"}, links: map[string]int{"lnk_1": 0}}
	m.orders["ord_1"] = &gateway.Order{ID: "ord_1", ProjectID: "prj", Mode: gateway.Test, Amount: big.NewInt(100), Currency: "USDT",
		ChainID: "devnet", Status: gateway.OrderPending, PaidAmount: new(big.Int), ConfirmedAmount: new(big.Int),
		ExpiresAt: storyNow.Add(10 * time.Minute), GraceMinutes: 5, PaymentLinkID: "lnk_1", CreatedAt: storyNow}
	return &gateway.Service{Store: m, Now: func() time.Time { return storyNow }}, m
}

func payment(tx string, block uint64, amount int64) *gateway.Transfer {
	return &gateway.Transfer{ChainID: "devnet", TxHash: tx, BlockNumber: block, Currency: "USDT", Amount: big.NewInt(amount),
		OrderID: "ord_1", ProjectID: "prj", Mode: gateway.Test, SeenAt: storyNow}
}

func step(t *testing.T, svc *gateway.Service, head uint64, trs ...*gateway.Transfer) {
	t.Helper()
	if err := svc.ApplyScan(context.Background(), &gateway.ScanBatch{ChainID: "devnet", From: head, To: head, ToHash: fmt.Sprint(head),
		Head: head, Required: 3, Transfers: trs, Now: storyNow}); err != nil {
		t.Fatal(err)
	}
}

func expect(t *testing.T, m *memStore, what string, postings, events []string) {
	t.Helper()
	p, e := m.taken()
	if !slices.Equal(p, postings) || !slices.Equal(e, events) {
		t.Errorf("%s: postings %q, events %q; want %q, %q", what, p, e, postings, events)
	}
}

func TestStorySeenConfirmedReorged(t *testing.T) {
	svc, m := newStory()
	step(t, svc, 10, payment("0xa", 10, 100))
	expect(t, m, "seen", []string{"0xa external→pending 100 seen"}, nil)
	if o := m.orders["ord_1"]; o.Status != gateway.OrderConfirming || o.PaidAmount.Int64() != 100 {
		t.Fatalf("after the payment is seen: %s paid %s", o.Status, o.PaidAmount)
	}
	step(t, svc, 11, payment("0xa", 10, 100)) // a rescan: not counted twice
	expect(t, m, "rescan", nil, nil)
	step(t, svc, 12)
	expect(t, m, "confirmed", []string{"0xa pending→available 100 confirmed"}, []string{gateway.EventOrderCompleted})
	if o := m.orders["ord_1"]; o.Status != gateway.OrderCompleted || o.TxHash != "0xa" || m.inventory(storyNow) != [2]int{1, 0} {
		t.Fatalf("after the confirmation: %s txHash %q, link %v (want sold 1, held 0)", o.Status, o.TxHash, m.inventory(storyNow))
	}
	if m.cursor.Number != 12 {
		t.Errorf("cursor %d, want 12", m.cursor.Number)
	}
	n, err := svc.Rewind(context.Background(), "devnet", gateway.BlockRef{Number: 9, Hash: "9"}, storyNow)
	if err != nil || n != 1 {
		t.Fatalf("Rewind = %d, %v", n, err)
	}
	expect(t, m, "reorged", []string{"0xa available→external 100 reversed"}, []string{gateway.EventOrderReorged})
	if o := m.orders["ord_1"]; o.Status != gateway.OrderPending || o.TxHash != "" || m.inventory(storyNow) != [2]int{0, 1} || m.cursor.Number != 9 {
		t.Fatalf("after the reorg: %s txHash %q, link %v, cursor %d", o.Status, o.TxHash, m.inventory(storyNow), m.cursor.Number)
	}
}

func TestStoryCatchUpPostsOnce(t *testing.T) {
	svc, m := newStory()
	// Seen already three blocks deep: one entry straight to available, and the order completes.
	step(t, svc, 20, payment("0xa", 10, 150))
	expect(t, m, "caught up", []string{"0xa external→available 150 confirmed"}, []string{gateway.EventOrderCompleted})
	if o := m.orders["ord_1"]; o.Status != gateway.OrderCompleted || !o.Overpaid {
		t.Fatalf("caught up: %s overpaid %v", o.Status, o.Overpaid)
	}
}

func TestStoryWrongCurrencyIsNotMoney(t *testing.T) {
	svc, m := newStory()
	tr := payment("0xd", 20, 100)
	tr.Currency, tr.Ignored, tr.WrongCurrency = "DAI", true, true
	step(t, svc, 20, tr)
	expect(t, m, "wrong currency", nil, []string{gateway.EventOrderWrongCurrency})
	if o := m.orders["ord_1"]; o.Status != gateway.OrderPending || !o.WrongCurrency || o.PaidAmount.Sign() != 0 {
		t.Fatalf("after a DAI transfer: %s wrongCurrency %v paid %s", o.Status, o.WrongCurrency, o.PaidAmount)
	}
}

func TestStoryDeposit(t *testing.T) {
	svc, m := newStory()
	tr := payment("0xe", 10, 5)
	tr.OrderID, tr.DepositID = "", "dep_1"
	step(t, svc, 20, tr)
	expect(t, m, "deposit caught up", []string{"0xe external→available 5 confirmed"},
		[]string{gateway.EventDepositPending, gateway.EventDepositConfirmed})
	if _, err := svc.Rewind(context.Background(), "devnet", gateway.BlockRef{Number: 9}, storyNow); err != nil {
		t.Fatal(err)
	}
	expect(t, m, "deposit reorged", []string{"0xe available→external 5 reversed"}, []string{gateway.EventDepositReorged})
}

func TestStoryExpiry(t *testing.T) {
	svc, m := newStory()
	if n, err := svc.ExpireOrders(context.Background(), storyNow.Add(15*time.Minute)); err != nil || n != 0 {
		t.Fatalf("within grace: %d, %v", n, err)
	}
	if n, err := svc.ExpireOrders(context.Background(), storyNow.Add(16*time.Minute)); err != nil || n != 1 {
		t.Fatalf("after grace: %d, %v", n, err)
	}
	expect(t, m, "expired", nil, []string{gateway.EventOrderExpired})
	if m.inventory(storyNow) != [2]int{0, 0} {
		t.Errorf("link after expiry %v, want the unit released", m.inventory(storyNow))
	}
	// A late payment completes the expired order: the unit is sold although it was released.
	late := payment("0xf", 30, 100)
	late.SeenAt = storyNow.Add(time.Hour)
	step(t, svc, 40, late)
	expect(t, m, "late", []string{"0xf external→available 100 confirmed"}, []string{gateway.EventOrderCompleted})
	if o := m.orders["ord_1"]; o.Status != gateway.OrderCompleted || !o.PaidLate || m.inventory(storyNow) != [2]int{1, 0} {
		t.Fatalf("after the late payment: %s late %v link %v", o.Status, o.PaidLate, m.inventory(storyNow))
	}
}

// A project that asks for more confirmations than the chain's rule (3 here) has its payments wait
// for them, caught up or not; a payment seen before it asked keeps the rule it was seen under.
func TestStoryProjectAsksForMoreConfirmations(t *testing.T) {
	svc, m := newStory()
	m.projects = map[string]*gateway.Project{"prj": {ID: "prj", Confirmations: map[string]int{"devnet": 5, "ethereum": 64}}}
	step(t, svc, 12, payment("0xa", 10, 100)) // 3 deep: enough for the chain, not for the project
	expect(t, m, "seen 3 deep", []string{"0xa external→pending 100 seen"}, nil)
	step(t, svc, 13)
	expect(t, m, "4 deep", nil, nil)
	if o := m.orders["ord_1"]; o.Status != gateway.OrderConfirming {
		t.Fatalf("4 confirmations of the 5 asked: %s", o.Status)
	}
	step(t, svc, 14)
	expect(t, m, "5 deep", []string{"0xa pending→available 100 confirmed"}, []string{gateway.EventOrderCompleted})
	if got := m.transfers[0].MinConfirmations; got != 5 {
		t.Errorf("the transfer keeps MinConfirmations %d, want 5", got)
	}
	// Caught up far enough: stored confirmed at once.
	svc2, m2 := newStory()
	m2.projects = m.projects
	step(t, svc2, 30, payment("0xb", 10, 100))
	expect(t, m2, "caught up", []string{"0xb external→available 100 confirmed"}, []string{gateway.EventOrderCompleted})
	// Asking for fewer than the rule changes nothing: the rule stands.
	svc3, m3 := newStory()
	m3.projects = map[string]*gateway.Project{"prj": {ID: "prj", Confirmations: map[string]int{"devnet": 1}}}
	step(t, svc3, 10, payment("0xc", 10, 100))
	step(t, svc3, 11)
	expect(t, m3, "below the rule", []string{"0xc external→pending 100 seen"}, nil)
	step(t, svc3, 12)
	expect(t, m3, "the rule", []string{"0xc pending→available 100 confirmed"}, []string{gateway.EventOrderCompleted})
}

// An unpaid checkout holds its unit for the reservation only; a payment seen holds it until the
// order completes or expires, however long the confirmations take.
func TestHoldsUnit(t *testing.T) {
	const reservation = 5 * time.Minute
	o := &gateway.Order{Status: gateway.OrderPending, CreatedAt: storyNow}
	for _, c := range []struct {
		status gateway.OrderStatus
		after  time.Duration
		holds  bool
	}{
		{gateway.OrderPending, 0, true}, {gateway.OrderPending, reservation - time.Millisecond, true},
		{gateway.OrderPending, reservation, false}, {gateway.OrderPending, time.Hour, false},
		{gateway.OrderConfirming, time.Hour, true}, {gateway.OrderUnderpaid, time.Hour, true},
		{gateway.OrderCompleted, 0, false}, {gateway.OrderExpired, 0, false},
	} {
		o.Status = c.status
		if got := o.HoldsUnit(storyNow.Add(c.after), reservation); got != c.holds {
			t.Errorf("%s order %v after checkout: holds %v, want %v", c.status, c.after, got, c.holds)
		}
	}
}
