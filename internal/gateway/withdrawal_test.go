package gateway_test

import (
	"context"
	"math/big"
	"strings"
	"testing"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

// Every destination a withdrawal must refuse, each with the error type and the field named.
func TestCheckDestination(t *testing.T) {
	reg := chain.Builtin()
	eth, _ := reg.Lookup("ethereum")
	tron, _ := reg.Lookup("tron")
	usdt, _ := eth.Token("USDT")
	good := "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
	for _, tc := range []struct {
		name, address string
		c             chain.Chain
		code, says    string
	}{
		{"a wrong EIP-55 checksum", "0x70997970c51812dc3A010C7d01b50e0d17dc79C8", eth, gateway.EInvalid, "checksum"},
		{"not hex", "0x70997970C51812dc3A010C7d01b50e0d17dc79CZ", eth, gateway.EInvalid, "not a valid EVM address"},
		{"too short", "0x70997970C51812dc3A010C7d01b50e0d17dc79", eth, gateway.EInvalid, "not a valid EVM address"},
		{"no 0x", "70997970C51812dc3A010C7d01b50e0d17dc79C8", eth, gateway.EInvalid, "not a valid EVM address"},
		{"the zero address", "0x0000000000000000000000000000000000000000", eth, gateway.EInvalid, "zero address"},
		{"the token contract", usdt.Address, eth, gateway.EInvalid, "USDT token contract"},
		{"the token contract in lower case", strings.ToLower(usdt.Address), eth, gateway.EInvalid, "token contract"},
		{"a TRON address on an EVM chain", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", eth, gateway.ENetworkMismatch, "TRON address"},
		{"an EVM address on TRON", good, tron, gateway.ENetworkMismatch, "EVM address"},
		{"a bad 0x address on TRON", "0x1234", tron, gateway.ENetworkMismatch, "EVM address"},
		{"a NUL byte", good + "\x00", eth, gateway.EInvalid, "NUL"},
		{"the USDT contract on TRON", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", tron, gateway.EInvalid, "token contract"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gateway.CheckDestination(tc.c, tc.address)
			if err == nil || err.Code != tc.code || err.Param != "address" || !strings.Contains(err.Message, tc.says) {
				t.Fatalf("CheckDestination(%q) = %v, want %s about %q", tc.address, err, tc.code, tc.says)
			}
		})
	}
	for _, a := range []string{good, strings.ToLower(good), "0x" + strings.ToUpper(good[2:])} {
		got, err := gateway.CheckDestination(eth, a)
		if err != nil || got != good {
			t.Errorf("CheckDestination(%q) = %q, %v; want %q", a, got, err, good)
		}
	}
}

// A withdrawal on TRON is refused with a clear error before anything is read or held.
func TestWithdrawalOnTronRefused(t *testing.T) {
	svc := &gateway.Service{}
	pr := &gateway.Principal{Project: &gateway.Project{ID: "prj_1"}, Credential: &gateway.Credential{ID: "cred_1"}, Mode: gateway.Live, SecretProven: true}
	_, _, err := svc.CreateWithdrawal(context.Background(), pr, gateway.WithdrawalInput{Reference: "w1", Amount: "5", Currency: "USDT",
		ChainID: "tron", Address: "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7"})
	if gateway.ErrorCode(err) != gateway.EInvalid || !strings.Contains(err.Error(), "not supported yet") || !strings.Contains(err.Error(), "chainId") {
		t.Fatalf("a TRON withdrawal: %v", err)
	}
	// Without the secret it is refused first.
	pr.SecretProven = false
	if _, _, err := svc.CreateWithdrawal(context.Background(), pr, gateway.WithdrawalInput{}); gateway.ErrorCode(err) != gateway.EUnauthorized {
		t.Fatalf("without the secret: %v", err)
	}
}

func TestWithdrawalPolicyRules(t *testing.T) {
	usdt := chain.Token{Symbol: "USDT", Decimals: 6}
	p := gateway.DefaultWithdrawalPolicy("prj_1", gateway.Test)
	if p.AutoApproves(big.NewInt(1), usdt) || p.ApprovalsNeeded(nil) != 1 || p.CoolingPeriod != gateway.DefaultCoolingPeriod {
		t.Fatalf("the default policy: %+v", p)
	}
	p.AutoApproveBelow = "10"
	if !p.AutoApproves(big.NewInt(9_999_999), usdt) || p.AutoApproves(big.NewInt(10_000_000), usdt) {
		t.Fatal("auto-approval is below the amount, not at it")
	}
	p.TwoApprovals = true
	if p.ApprovalsNeeded(nil) != 2 {
		t.Fatal("two approvals")
	}
}

func TestWithdrawalStatuses(t *testing.T) {
	for _, st := range gateway.WithdrawalStatuses {
		final := st == gateway.WithdrawalCompleted || st == gateway.WithdrawalRejected || st == gateway.WithdrawalFailed
		if st.Final() != final || st.Holds() == final {
			t.Errorf("%s: final %v, holds %v", st, st.Final(), st.Holds())
		}
	}
}
