package gateway_test

import (
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

func gwei(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1_000_000_000)) }

func TestNewFees(t *testing.T) {
	f, err := gateway.NewFees(gwei(10), gwei(2), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The tip plus 10 %; twice the base fee plus the tip.
	if f.TipCap.Cmp(big.NewInt(2_200_000_000)) != 0 || f.MaxFee.Cmp(big.NewInt(22_200_000_000)) != 0 {
		t.Fatalf("fees = tip %s, max %s", f.TipCap, f.MaxFee)
	}
	// A cap below that: the max fee is the cap.
	if f, err = gateway.NewFees(gwei(10), gwei(2), gwei(15)); err != nil || f.MaxFee.Cmp(gwei(15)) != 0 || f.TipCap.Cmp(big.NewInt(2_200_000_000)) != 0 {
		t.Fatalf("capped: %+v, %v", f, err)
	}
	// A cap at or below the base fee: nothing could be mined, nothing is signed.
	if _, err = gateway.NewFees(gwei(10), gwei(2), gwei(10)); !errors.Is(err, gateway.ErrFeeCap) {
		t.Fatalf("cap at the base fee: %v", err)
	}
}

func TestBumpFees(t *testing.T) {
	prev := gateway.Fees{TipCap: gwei(2), MaxFee: gwei(22)}
	// The network asks for less: the bump is 10 % of what was sent, rounded up.
	f, ok := gateway.BumpFees(prev, gateway.Fees{TipCap: gwei(1), MaxFee: gwei(12)}, nil)
	if !ok || f.TipCap.Cmp(big.NewInt(2_200_000_000)) != 0 || f.MaxFee.Cmp(big.NewInt(24_200_000_000)) != 0 {
		t.Fatalf("bump = %+v, %v", f, ok)
	}
	// It asks for more: what it asks.
	if f, ok = gateway.BumpFees(prev, gateway.Fees{TipCap: gwei(5), MaxFee: gwei(40)}, nil); !ok || f.TipCap.Cmp(gwei(5)) != 0 || f.MaxFee.Cmp(gwei(40)) != 0 {
		t.Fatalf("bump to the network = %+v, %v", f, ok)
	}
	// 1 wei bumps to 2, never to 1 (go-ethereum would refuse a replacement at the same price).
	if f, ok = gateway.BumpFees(gateway.Fees{TipCap: big.NewInt(1), MaxFee: big.NewInt(1)}, gateway.Fees{TipCap: big.NewInt(1), MaxFee: big.NewInt(1)}, nil); !ok ||
		f.TipCap.Int64() != 2 || f.MaxFee.Int64() != 2 {
		t.Fatalf("bump of 1 wei = %+v", f)
	}
	// A cap below the bumped max fee: no replacement (a node would refuse one under 10 %).
	if _, ok = gateway.BumpFees(prev, prev, big.NewInt(24_199_999_999)); ok {
		t.Fatal("a replacement under the cap's room was allowed")
	}
	if f, ok = gateway.BumpFees(prev, prev, big.NewInt(24_200_000_000)); !ok || f.MaxFee.Cmp(big.NewInt(24_200_000_000)) != 0 {
		t.Fatalf("a bump exactly at the cap = %+v, %v", f, ok)
	}
}

func TestOutgoingNext(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	policy := gateway.SendPolicy{RebroadcastEvery: 30 * time.Second, ReplaceAfter: 3 * time.Minute}
	rule := gateway.ChainRule{Confirmations: 3}
	sent := func(status gateway.OutgoingStatus, signed, broadcast time.Time) *gateway.OutgoingTx {
		return &gateway.OutgoingTx{Status: status, Nonce: 4, Attempts: []gateway.TxAttempt{{Hash: "0xa", SignedAt: signed, BroadcastAt: broadcast}}}
	}
	rc := &gateway.Receipt{TxHash: "0xa", BlockNumber: 100, BlockHash: "0xb100", Success: true}
	for _, c := range []struct {
		name string
		tx   *gateway.OutgoingTx
		obs  gateway.TxObservation
		rule gateway.ChainRule
		now  time.Time
		want gateway.SendStep
	}{
		{"queued waits for the nonce owner", &gateway.OutgoingTx{Status: gateway.OutQueued}, gateway.TxObservation{}, rule, t0, gateway.StepWait},
		{"signed, never sent: broadcast", sent(gateway.OutSigned, t0, time.Time{}), gateway.TxObservation{Head: 99}, rule, t0, gateway.StepBroadcast},
		{"broadcast just now: wait", sent(gateway.OutBroadcast, t0, t0), gateway.TxObservation{Head: 99, SentHere: true}, rule, t0.Add(10 * time.Second), gateway.StepWait},
		{"broadcast before a restart: again at once", sent(gateway.OutBroadcast, t0, t0), gateway.TxObservation{Head: 99}, rule, t0.Add(10 * time.Second), gateway.StepBroadcast},
		{"not mined after 30 s: send again", sent(gateway.OutBroadcast, t0, t0), gateway.TxObservation{Head: 99, SentHere: true}, rule, t0.Add(30 * time.Second), gateway.StepBroadcast},
		{"not mined after 3 min: replace", sent(gateway.OutBroadcast, t0, t0.Add(2*time.Minute)), gateway.TxObservation{Head: 99, SentHere: true}, rule, t0.Add(3 * time.Minute), gateway.StepReplace},
		{"a receipt: mined", sent(gateway.OutBroadcast, t0, t0), gateway.TxObservation{Receipt: rc, Head: 100}, rule, t0, gateway.StepMined},
		{"mined, 2 of 3 confirmations: wait", &gateway.OutgoingTx{Status: gateway.OutMined, TxHash: "0xa", BlockNumber: 100, BlockHash: "0xb100"},
			gateway.TxObservation{Receipt: rc, Head: 101}, rule, t0, gateway.StepWait},
		{"mined, 3 confirmations: confirmed", &gateway.OutgoingTx{Status: gateway.OutMined, TxHash: "0xa", BlockNumber: 100, BlockHash: "0xb100"},
			gateway.TxObservation{Receipt: rc, Head: 102}, rule, t0, gateway.StepConfirmed},
		{"3 confirmations but not finalized: wait", &gateway.OutgoingTx{Status: gateway.OutMined, TxHash: "0xa", BlockNumber: 100, BlockHash: "0xb100"},
			gateway.TxObservation{Receipt: rc, Head: 102, Finalized: 99}, gateway.ChainRule{Confirmations: 3, Finality: "finalized"}, t0, gateway.StepWait},
		{"finalized: confirmed", &gateway.OutgoingTx{Status: gateway.OutMined, TxHash: "0xa", BlockNumber: 100, BlockHash: "0xb100"},
			gateway.TxObservation{Receipt: rc, Head: 102, Finalized: 100}, gateway.ChainRule{Confirmations: 3, Finality: "finalized"}, t0, gateway.StepConfirmed},
		{"status 0 with confirmations: reverted", &gateway.OutgoingTx{Status: gateway.OutMined, TxHash: "0xa", BlockNumber: 100, BlockHash: "0xb100"},
			gateway.TxObservation{Receipt: &gateway.Receipt{TxHash: "0xa", BlockNumber: 100, BlockHash: "0xb100"}, Head: 102}, rule, t0, gateway.StepReverted},
		{"mined in another block (a reorg re-mined it): mined again", &gateway.OutgoingTx{Status: gateway.OutMined, TxHash: "0xa", BlockNumber: 100, BlockHash: "0xold"},
			gateway.TxObservation{Receipt: rc, Head: 102}, rule, t0, gateway.StepMined},
		{"mined, then no receipt: reorged", &gateway.OutgoingTx{Status: gateway.OutMined, TxHash: "0xa", BlockNumber: 100, BlockHash: "0xb100",
			Attempts: []gateway.TxAttempt{{Hash: "0xa"}}}, gateway.TxObservation{Head: 102}, rule, t0, gateway.StepReorged},
		{"nonce taken by another: failed", sent(gateway.OutBroadcast, t0, t0), gateway.TxObservation{Head: 120, NonceTaken: true, SentHere: true}, rule, t0, gateway.StepNonceUsed},
		{"final stays final", &gateway.OutgoingTx{Status: gateway.OutConfirmed}, gateway.TxObservation{Head: 200}, rule, t0, gateway.StepWait},
	} {
		if got := c.tx.Next(c.obs, c.rule, c.now, policy); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestOutgoingReorgedSendsAgainAtOnce(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	tx := &gateway.OutgoingTx{Status: gateway.OutBroadcast, Attempts: []gateway.TxAttempt{{Hash: "0xa", SignedAt: t0, BroadcastAt: t0}}}
	tx.Mined(&gateway.Receipt{TxHash: "0xa", BlockNumber: 7, BlockHash: "0xb7", GasUsed: 21000, EffectiveGasPrice: big.NewInt(3)})
	if tx.Fee().Int64() != 63000 {
		t.Fatalf("fee = %s", tx.Fee())
	}
	tx.Reorged()
	if tx.Status != gateway.OutBroadcast || tx.TxHash != "" || tx.Fee() != nil {
		t.Fatalf("after a reorg: %+v", tx)
	}
	if got := tx.Next(gateway.TxObservation{Head: 9}, gateway.ChainRule{Confirmations: 1}, t0.Add(time.Second),
		gateway.SendPolicy{RebroadcastEvery: time.Minute, ReplaceAfter: time.Hour}); got != gateway.StepBroadcast {
		t.Fatalf("after a reorg the next step is %s, want broadcast", got)
	}
}
