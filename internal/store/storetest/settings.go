package storetest

import (
	"context"
	"fmt"
	"math/big"
	"testing"

	"github.com/stablegate/stablegate/internal/gateway"
)

// testProjectSettings: a project's settings are stored and read back, a website host another
// project has is a conflict that changes nothing, and the confirmations a project asks for are
// kept on its transfers and wait in ConfirmTransfers.
func testProjectSettings(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "http://localhost:3000")
	if _, err := svc.CreateProject(ctx, gateway.CreateProjectParams{Live: true, Name: "Other", Website: "https://other.example.com"}); err != nil {
		t.Fatal(err)
	}
	id := cp.Project.ID
	name, site, window, grace := "Renamed", "https://shop.example.com/store", 30, 0
	p, err := svc.UpdateProject(ctx, id, gateway.ProjectUpdate{Name: &name, Website: &site, PaymentWindowMinutes: &window, GraceMinutes: &grace,
		Confirmations: map[string]int{"devnet": 4, "ethereum": 20}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.FindProject(ctx, id)
	if err != nil || got.Name != "Renamed" || got.Website != site || got.PaymentWindowMinutes != 30 || got.GraceMinutes != 0 ||
		got.Confirmations["devnet"] != 4 || got.Confirmations["ethereum"] != 20 || !got.LiveReady() || p.Name != got.Name {
		t.Fatalf("stored settings %+v, %v", got, err)
	}
	// Merged: 0 drops one chain's entry, the others stay.
	if got, err := svc.UpdateProject(ctx, id, gateway.ProjectUpdate{Confirmations: map[string]int{"ethereum": 0}}); err != nil ||
		len(got.Confirmations) != 1 || got.Confirmations["devnet"] != 4 {
		t.Fatalf("after dropping ethereum: %+v, %v", got, err)
	}
	taken := "https://other.example.com"
	if _, err := svc.UpdateProject(ctx, id, gateway.ProjectUpdate{Website: &taken, Name: &taken}); gateway.ErrorCode(err) != gateway.EConflict {
		t.Fatalf("another project's host: %v", err)
	}
	if got, _ := s.FindProject(ctx, id); got.Website != site || got.Name != "Renamed" {
		t.Fatalf("a conflict changed the project: %+v", got)
	}
	for _, bad := range []map[string]int{{"solana": 3}, {"ethereum": 2}, {"devnet": 1001}, {"devnet": -1}} {
		if _, err := svc.UpdateProject(ctx, id, gateway.ProjectUpdate{Confirmations: bad}); gateway.ErrorCode(err) != gateway.EInvalid {
			t.Errorf("confirmations %v: %v", bad, err)
		}
	}
	// An order takes the new window; its payment waits for the 4 confirmations the project asks.
	pr := principal(t, svc, cp, gateway.Test)
	o, _, err := svc.CreateOrder(ctx, pr, order("C-1", "10", "USDT", "devnet"))
	if err != nil || o.PaymentWindowMinutes != 30 || o.GraceMinutes != 0 {
		t.Fatalf("order after the change: %+v, %v", o, err)
	}
	apply := func(head uint64, trs ...*gateway.Transfer) *gateway.Order {
		t.Helper()
		if err := svc.ApplyScan(ctx, &gateway.ScanBatch{ChainID: "devnet", From: head, To: head, ToHash: fmt.Sprintf("0xc%d", head),
			Head: head, Required: 1, Transfers: trs, Now: testNow}); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindOrder(ctx, o.ProjectID, o.Mode, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	tr := &gateway.Transfer{ChainID: "devnet", TxHash: "0xc1", BlockNumber: 10, BlockHash: "0xc10", Token: "0xT", Currency: "USDT",
		From: "0xF", To: o.Address, Amount: big.NewInt(10_000_000), OrderID: o.ID, ProjectID: o.ProjectID, Mode: o.Mode, SeenAt: testNow}
	if got := apply(11, tr); got.Status != gateway.OrderConfirming {
		t.Fatalf("2 of 4 confirmations: %s", got.Status)
	}
	if got := apply(12); got.Status != gateway.OrderConfirming {
		t.Fatalf("3 of 4 confirmations: %s", got.Status)
	}
	if trs, _ := s.OrderTransfers(ctx, o.ID); len(trs) != 1 || trs[0].MinConfirmations != 4 || trs[0].Confirmed {
		t.Fatalf("stored transfer %+v", trs)
	}
	if got := apply(13); got.Status != gateway.OrderCompleted {
		t.Fatalf("4 of 4 confirmations: %s", got.Status)
	}
}
