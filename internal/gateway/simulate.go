package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/money"
)

// Simulation outcomes (Crypto Pay's test credentials: "no real blockchain transfer is required").
const (
	SimulateCompleted = "completed"
	SimulateUnderpaid = "underpaid"
	SimulateExpired   = "expired"
)

// SimulatedFrom is the payer of a simulated payment.
const SimulatedFrom = "simulation"

// SimulateOrder drives a test-mode order through the same state machine, and the same events, as a
// real payment: a confirmed payment of what is still due (completed) or of part of it (underpaid,
// half by default), or expiry now. amount, when given, is the payment in token units. Live
// credentials are refused.
func (s *Service) SimulateOrder(ctx context.Context, pr *Principal, id, outcome, amount string) (*Order, error) {
	if pr.Mode.Live() {
		return nil, Errorf(EForbidden, "", "Simulation is for test mode only: use your test credentials (pk_test_…)")
	}
	switch outcome {
	case SimulateCompleted, SimulateUnderpaid, SimulateExpired:
	default:
		return nil, Errorf(EInvalid, "outcome", "outcome must be completed, underpaid or expired")
	}
	o, err := s.GetOrder(ctx, pr, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if outcome == SimulateExpired {
		if amount != "" {
			return nil, Errorf(EInvalid, "amount", "amount is not used when the outcome is expired")
		}
		if err := s.expireOrderNow(ctx, pr.Project.ID, pr.Mode, o.ID, now); errors.Is(err, ErrNotFound) {
			return nil, Errorf(EConflict, "outcome", "Only a pending order (no payment yet) can expire; this one is %s", o.Status)
		} else if err != nil {
			return nil, err
		}
		return s.GetOrder(ctx, pr, id)
	}
	if o.Status == OrderCompleted {
		return nil, Errorf(EConflict, "outcome", "The order is already completed")
	}
	c, tok := o.Chain, o.Token
	due := new(big.Int).Sub(o.Due(), o.PaidAmount)
	if due.Sign() <= 0 {
		due = big.NewInt(1)
	}
	pay := new(big.Int).Set(due)
	if outcome == SimulateUnderpaid {
		pay.Quo(due, big.NewInt(2))
		if pay.Sign() == 0 {
			return nil, Errorf(EConflict, "outcome", "Less than one base unit is due: the order cannot be underpaid")
		}
	}
	if amount != "" {
		v, err := money.ParsePositive(amount, tok.Decimals)
		if err != nil {
			return nil, Errorf(EInvalid, "amount", "amount must be a decimal string greater than 0 with at most %d decimals", tok.Decimals)
		}
		if outcome == SimulateUnderpaid && v.Cmp(due) >= 0 {
			return nil, Errorf(EInvalid, "amount", "amount must be less than the %s still due for an underpaid outcome", money.Format(due, tok.Decimals))
		}
		if outcome == SimulateCompleted && v.Cmp(due) < 0 {
			return nil, Errorf(EInvalid, "amount", "amount must be at least the %s still due for a completed outcome", money.Format(due, tok.Decimals))
		}
		pay = v
	}
	var h [32]byte
	if _, err := rand.Read(h[:]); err != nil {
		return nil, err
	}
	t := &Transfer{ChainID: o.ChainID, TxHash: chain.FormatTxHash(c.Protocol, h), Token: tok.Address, Currency: o.Currency,
		From: SimulatedFrom, To: o.Address, Amount: pay, OrderID: o.ID, ProjectID: o.ProjectID, Mode: o.Mode, SeenAt: now}
	if err := s.simulatePayment(ctx, t, o.PaidAmount, now); errors.Is(err, ErrChanged) {
		// Another simulation (or a payment) moved the order since it was read: one at a time.
		return nil, Errorf(EConflict, "outcome", "The order changed while this simulation ran (another one at the same time?); read it and try again")
	} else if err != nil {
		return nil, err
	}
	return s.GetOrder(ctx, pr, id)
}
