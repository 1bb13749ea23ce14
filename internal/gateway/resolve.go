package gateway

import (
	"context"
	"errors"
	"strings"

	"github.com/stablegate/stablegate/internal/money"
)

// Resolving an order by hand (BTCPay's "mark as settled / invalid"): the merchant completes an
// order whose money never reached the chain as such (an exchange's internal transfer, a payment
// settled elsewhere) or closes one as invalid. It changes the order's status and says so in the
// usual event, with resolvedManually; it posts nothing to the ledger, which only ever holds what
// arrived on chain — so a manual completion credits nothing that was not received.

// MaxResolutionReason bounds a resolution's reason.
const MaxResolutionReason = 1000

// ResolveOrder sets an order's status by hand — completed or invalid — for a reason, with the API
// secret. Only an order that is not settled on chain may be resolved: pending, underpaid or expired
// (a completed order has its money; a confirming one waits for its confirmations first). It is
// resolved once: from then on it keeps the status whatever arrives (a later payment is still
// recorded and credited to the ledger, and reported by its totals).
func (s *Service) ResolveOrder(ctx context.Context, pr *Principal, id string, outcome OrderStatus, reason string) (*Order, error) {
	if err := RequireSecret(pr); err != nil {
		return nil, err
	}
	if outcome != OrderCompleted && outcome != OrderInvalid {
		return nil, Errorf(EInvalid, "outcome", "outcome must be completed or invalid")
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > MaxResolutionReason || TextProblem(reason) != "" {
		return nil, Errorf(EInvalid, "reason", "reason must say why, in 1 to %d characters of text: it is kept with the order and in the audit log", MaxResolutionReason)
	}
	if _, err := s.GetOrder(ctx, pr, id); err != nil {
		return nil, err
	}
	now := s.now()
	details := map[string]any{"outcome": string(outcome), "reason": reason}
	ctx = s.audited(ctx, pr.Project.ID, pr.Mode, AuditOrderResolved, id, details)
	errNot := errors.New("not resolvable")
	var refusal *Error
	err := s.Store.InTx(ctx, func(tx PaymentTx) error {
		os, err := tx.LockOrders(ctx, []string{id})
		if err != nil {
			return err
		}
		if len(os) != 1 || os[0].ProjectID != pr.Project.ID || os[0].Mode != pr.Mode {
			return ErrNotFound
		}
		o := os[0]
		s.resolve(o)
		switch {
		case o.ResolvedManually():
			refusal = Errorf(EConflict, "id", "Order %s was resolved by hand already (%s, by %s): nothing changed", o.ID, o.Resolution, o.ResolvedBy)
		case o.Status == OrderCompleted:
			refusal = Errorf(EConflict, "id", "Order %s is completed on chain: there is nothing to resolve (refund the payer if it must be undone)", o.ID)
		case o.Status == OrderConfirming:
			refusal = Errorf(EConflict, "id", "Order %s has a payment waiting for its confirmations: resolve it once they are in, if it is still short", o.ID)
		}
		if refusal != nil {
			return errNot
		}
		before := *o
		details["from"], details["paidAmount"] = string(o.Status), money.Format(o.PaidAmount, o.Token.Decimals)
		o.Resolution, o.ResolutionReason, o.ResolvedBy, o.ResolvedAt = outcome, reason, pr.Who(), &now
		o.Status = outcome
		event := EventOrderInvalid
		if outcome == OrderCompleted {
			o.CompletedAt, event = &now, EventOrderCompleted
		}
		st := s.newStep(now, false)
		if err := st.save(ctx, tx, &before, o, []string{event}, nil); err != nil {
			return err
		}
		return st.write(ctx, tx)
	})
	switch {
	case refusal != nil:
		return nil, refusal
	case errors.Is(err, ErrNotFound):
		return nil, Errorf(ENotFound, "id", "No order %s", id)
	case err != nil:
		return nil, err
	}
	return s.GetOrder(ctx, pr, id)
}
