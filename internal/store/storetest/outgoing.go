package storetest

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// Outgoing transactions: a nonce is stored only under the lease, once per address and chain, and
// only for a transaction still queued; a step is stored only from the status it was taken from.
func testOutgoing(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	from := "0x1111111111111111111111111111111111111111"
	queue := func() *gateway.OutgoingTx {
		t.Helper()
		o := &gateway.OutgoingTx{ProjectID: cp.Project.ID, Mode: gateway.Test, ChainID: "devnet", Purpose: "test", From: from,
			To: "0x2222222222222222222222222222222222222222", Value: big.NewInt(1_000_000_000_000_000_001), Data: []byte{1, 2}}
		if err := svc.QueueOutgoing(ctx, o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	sign := func(o *gateway.OutgoingTx, nonce uint64, hash string) {
		o.Status, o.Nonce, o.GasLimit = gateway.OutSigned, nonce, 21000
		o.Attempts = []gateway.TxAttempt{{Hash: hash, Raw: []byte{0xde, 0xad}, GasLimit: 21000, SignedAt: testNow,
			Fees: gateway.Fees{TipCap: big.NewInt(2), MaxFee: big.NewInt(30)}}}
	}
	const lease = "sender:devnet:0x1111"
	a, b := queue(), queue()

	sign(a, 0, "0xa0")
	if err := svc.SignOutgoing(ctx, a, lease, "me"); !errors.Is(err, gateway.ErrChanged) {
		t.Fatalf("signed without the lease: %v", err)
	}
	if ok, err := s.AcquireLease(ctx, lease, "me", testNow, time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := svc.SignOutgoing(ctx, a, lease, "someone else"); !errors.Is(err, gateway.ErrChanged) {
		t.Fatalf("signed under another's lease: %v", err)
	}
	if err := svc.SignOutgoing(ctx, a, lease, "me"); err != nil {
		t.Fatal(err)
	}
	if err := svc.SignOutgoing(ctx, a, lease, "me"); !errors.Is(err, gateway.ErrChanged) {
		t.Fatalf("signed twice: %v", err)
	}
	sign(b, 0, "0xb0")
	if err := svc.SignOutgoing(ctx, b, lease, "me"); !errors.Is(err, gateway.ErrChanged) {
		t.Fatalf("nonce 0 used twice: %v", err)
	}
	if got, _ := s.FindOutgoing(ctx, cp.Project.ID, gateway.Test, b.ID); got.Status != gateway.OutQueued || len(got.Attempts) != 0 {
		t.Fatalf("the refused signature left %s with %d attempts", got.Status, len(got.Attempts))
	}
	if n, err := s.NextNonce(ctx, "devnet", from); n != 1 || err != nil {
		t.Fatalf("next nonce = %d, %v", n, err)
	}
	sign(b, 1, "0xb1")
	if err := svc.SignOutgoing(ctx, b, lease, "me"); err != nil {
		t.Fatal(err)
	}

	// A step from a status the row has left is refused.
	a.Status = gateway.OutBroadcast
	a.Attempts[0].BroadcastAt = testNow
	if err := svc.SaveOutgoing(ctx, a, gateway.OutSigned, "sent", nil); err != nil {
		t.Fatal(err)
	}
	if err := svc.SaveOutgoing(ctx, a, gateway.OutSigned, "sent again", nil); !errors.Is(err, gateway.ErrChanged) {
		t.Fatalf("a step from a stale status: %v", err)
	}
	a.Attempts = append(a.Attempts, gateway.TxAttempt{Hash: "0xa1", Raw: []byte{0xbe, 0xef}, GasLimit: 21000, SignedAt: testNow.Add(time.Minute),
		Fees: gateway.Fees{TipCap: big.NewInt(3), MaxFee: big.NewInt(33)}})
	a.Mined(&gateway.Receipt{TxHash: "0xa1", BlockNumber: 9, BlockHash: "0xb9", GasUsed: 21000, EffectiveGasPrice: big.NewInt(25)})
	if err := svc.SaveOutgoing(ctx, a, gateway.OutBroadcast, "mined", nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindOutgoing(ctx, cp.Project.ID, gateway.Test, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != gateway.OutMined || got.Nonce != 0 || got.Value.String() != "1000000000000000001" || len(got.Data) != 2 ||
		len(got.Attempts) != 2 || got.Attempts[1].Fees.MaxFee.Int64() != 33 || got.Attempts[0].BroadcastAt.IsZero() || !got.Attempts[1].BroadcastAt.IsZero() ||
		got.Fee().Int64() != 525000 || got.TxHash != "0xa1" {
		t.Fatalf("stored: %+v", got)
	}
	if len(got.History) != 4 || got.History[0].Status != gateway.OutQueued || got.History[3].Status != gateway.OutMined {
		t.Fatalf("history: %+v", got.History)
	}
	if _, err := s.FindOutgoing(ctx, cp.Project.ID, gateway.Live, a.ID); !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("found in the other mode: %v", err)
	}

	c := queue()
	un, err := s.UnfinishedOutgoing(ctx, "devnet")
	if err != nil || len(un) != 3 || un[0].ID != a.ID || un[1].ID != b.ID || un[2].ID != c.ID {
		t.Fatalf("unfinished: %d, %v", len(un), err)
	}
	list, err := s.ListOutgoing(ctx, gateway.OutgoingFilter{ProjectID: cp.Project.ID, Mode: gateway.Test, Status: gateway.OutSigned, Limit: 10})
	if err != nil || len(list) != 1 || list[0].ID != b.ID {
		t.Fatalf("signed ones: %d, %v", len(list), err)
	}
	if list, err = s.ListOutgoing(ctx, gateway.OutgoingFilter{ProjectID: cp.Project.ID, Mode: gateway.Test, Limit: 10}); err != nil || len(list) != 3 || list[0].ID != c.ID {
		t.Fatalf("newest first: %d, %v", len(list), err)
	}
}
