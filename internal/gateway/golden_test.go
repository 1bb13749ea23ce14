package gateway_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got (JSON) with testdata/name, indented; -update rewrites the file. A change to
// what merchants receive shows up in review as a change of these files.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("%s: %v: %s", name, err, got)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s changed (go test -update rewrites it; review what merchants will receive):\n--- got\n%s--- want\n%s", path, buf.Bytes(), want)
	}
}

// The data of every webhook event type, as a merchant's endpoint receives it.
func TestWebhookPayloadsGolden(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 30, 0, 0, time.UTC)
	done := at.Add(2 * time.Minute)
	devnet, _ := chain.Builtin().Lookup("devnet")
	usdt, _ := devnet.Token("USDT")
	order := func(status gateway.OrderStatus, paid int64) *gateway.Order {
		o := &gateway.Order{ID: "ord_golden", Reference: "order_123", Status: status, Amount: big.NewInt(100_000_000), Currency: "USDT",
			ChainID: "devnet", Address: "0x9858EfFD232B4033E47d90003D41EC34EcaEda94", PaidAmount: big.NewInt(paid), ExpiresAt: at,
			Chain: devnet, Token: usdt, Metadata: json.RawMessage(`{"cartId":"c_981","items":2}`)}
		if status == gateway.OrderCompleted {
			o.TxHash, o.CompletedAt = "0x"+fmt64("ab"), &done
		}
		return o
	}
	transfer := &gateway.Transfer{ChainID: "devnet", TxHash: "0x" + fmt64("cd"), LogIndex: 3, BlockNumber: 123, Currency: "USDT",
		Token: "0x5FbDB2315678afecb367f032d93F642f64180aa3", From: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
		To: "0x9858EfFD232B4033E47d90003D41EC34EcaEda94", Amount: big.NewInt(10_500_000), Confirmed: true}
	dai := *transfer
	dai.Currency, dai.Token, dai.Amount, dai.WrongCurrency = "DAI", "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0", big.NewInt(100_000_000), true
	unmatched := *transfer
	unmatched.To, unmatched.Amount, unmatched.Unmatched = "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", big.NewInt(50_013_300), true
	wrong := order(gateway.OrderPending, 0)
	wrong.WrongCurrency = true
	late := order(gateway.OrderCompleted, 100_000_000)
	late.PaidLate = true
	invalid := order(gateway.OrderInvalid, 40_000_000)
	resolvedAt := done.Add(time.Hour)
	invalid.Resolution, invalid.ResolutionReason, invalid.ResolvedBy, invalid.ResolvedAt = gateway.OrderInvalid,
		"customer cancelled; refund by hand", "user ana@shop.example.com", &resolvedAt
	player := &gateway.DepositBinding{Reference: "player_42", Metadata: json.RawMessage(`{"userId":"u_42"}`)}
	pending := *transfer
	pending.Confirmed = false
	swept := &gateway.Sweep{ID: "swp_golden", Mode: gateway.Test, ChainID: "devnet", Currency: "USDT", Token: usdt.Address,
		To: "0x52ef0f9e5A3C4D3A1f1ee2ba1F1b3E7A0D2C79C8", Method: gateway.SweepBatch, Status: gateway.SweepCompleted, TxHash: "0x" + fmt64("ef"), GasUsed: 61_210,
		Fee: big.NewInt(61_210_000_000_000), UpdatedAt: done, Legs: []gateway.SweepLeg{
			{Address: "0x9858EfFD232B4033E47d90003D41EC34EcaEda94", Amount: big.NewInt(100_000_000), Moved: big.NewInt(100_000_000), OrderID: "ord_golden"},
			{Address: "0x6Fac4D18c912343BF86fa7049364Dd4E424Ab9C0", Amount: big.NewInt(10_500_000), Moved: big.NewInt(10_500_000), DepositID: "dep_golden"}}}
	failed := *swept
	failed.Status, failed.TxHash, failed.GasUsed, failed.Fee = gateway.SweepFailed, "", 0, nil
	failed.Failure = "not sent: the chain would revert it (execution reverted)"
	failed.Legs = []gateway.SweepLeg{{Address: swept.Legs[0].Address, Amount: big.NewInt(100_000_000), Moved: new(big.Int), OrderID: "ord_golden"}}
	payout := &gateway.Withdrawal{ID: "wdr_golden", Mode: gateway.Test, Reference: "payout_7", ChainID: "devnet", Currency: "USDT", Token: usdt.Address,
		Amount: big.NewInt(25_000_000), Address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", From: swept.To, DepositReference: "player_42",
		Metadata: json.RawMessage(`{"userId":"u_42"}`), Status: gateway.WithdrawalPendingApproval, UpdatedAt: done}
	withdrawal := func(st gateway.WithdrawalStatus, edit func(w *gateway.Withdrawal)) json.RawMessage {
		w := *payout
		w.Status = st
		if edit != nil {
			edit(&w)
		}
		return gateway.WithdrawalEventData(&w, devnet)
	}
	sent := func(w *gateway.Withdrawal) { w.TxHash = "0x" + fmt64("ab") }
	for name, data := range map[string]json.RawMessage{
		gateway.EventWithdrawalCreated:   withdrawal(gateway.WithdrawalPendingApproval, nil),
		gateway.EventWithdrawalApproved:  withdrawal(gateway.WithdrawalApproved, nil),
		gateway.EventWithdrawalRejected:  withdrawal(gateway.WithdrawalRejected, func(w *gateway.Withdrawal) { w.Reason = "not this user" }),
		gateway.EventWithdrawalBroadcast: withdrawal(gateway.WithdrawalBroadcast, sent),
		gateway.EventWithdrawalCompleted: withdrawal(gateway.WithdrawalCompleted, func(w *gateway.Withdrawal) { sent(w); w.Fee = big.NewInt(35_000_000_000_000) }),
		gateway.EventWithdrawalFailed: withdrawal(gateway.WithdrawalFailed, func(w *gateway.Withdrawal) {
			w.Failure = "not sent: the chain would revert it (execution reverted: balance)"
		}),
		gateway.EventOrderCompleted:     gateway.OrderEventData(order(gateway.OrderCompleted, 100_000_000)),
		gateway.EventOrderUnderpaid:     gateway.OrderEventData(order(gateway.OrderUnderpaid, 40_000_000)),
		gateway.EventOrderExpired:       gateway.OrderEventData(order(gateway.OrderExpired, 0)),
		gateway.EventOrderInvalid:       gateway.OrderEventData(invalid),
		gateway.EventOrderPaidLate:      gateway.OrderEventData(late),
		gateway.EventOrderReorged:       gateway.OrderEventData(order(gateway.OrderPending, 0)),
		gateway.EventOrderWrongCurrency: gateway.WrongCurrencyEventData(wrong, &dai),
		gateway.EventDepositPending:     gateway.DepositEventData(&pending, usdt, player),
		gateway.EventDepositConfirmed:   gateway.DepositEventData(transfer, usdt, player),
		gateway.EventDepositReorged:     gateway.DepositReorgedEventData(transfer, usdt, player),
		gateway.EventSweepCompleted:     gateway.SweepEventData(swept, devnet),
		gateway.EventSweepFailed:        gateway.SweepEventData(&failed, devnet),
		gateway.EventPaymentUnmatched:   gateway.UnmatchedEventData(&unmatched, usdt),
	} {
		t.Run(name, func(t *testing.T) { golden(t, filepath.Join("webhooks", name+".json"), data) })
	}
	if n := len(gateway.EventTypes); n != 19 {
		t.Errorf("%d event types: give the new ones a golden payload here", n)
	}
}

func fmt64(pair string) string {
	var b bytes.Buffer
	for range 32 {
		b.WriteString(pair)
	}
	return b.String()
}
