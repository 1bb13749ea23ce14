package gateway

import (
	"context"
	"encoding/json"
	"math/big"
	"time"

	"github.com/stablegate/stablegate/internal/money"
)

// Event types of orders.
const (
	EventOrderCompleted = "order.completed"
	EventOrderUnderpaid = "order.underpaid"
	EventOrderExpired   = "order.expired"
	EventOrderInvalid   = "order.invalid"
	EventOrderPaidLate  = "order.paid_late"
	EventOrderReorged   = "order.reorged"
	// EventOrderWrongCurrency reports a registry token other than the order's currency sent to the
	// order's address on its chain: never counted, one event per such transfer.
	EventOrderWrongCurrency = "order.wrong_currency"
)

// Event is an outbox row: written in the transaction of the change it reports.
type Event struct {
	ID string
	// Subject is what the event is about — an order's id, a deposit's transfer — so that the
	// events of one subject are delivered in the order they were written, one at a time.
	Subject   string
	ProjectID string
	Mode      Mode
	Type      string
	Data      json.RawMessage
	CreatedAt time.Time
}

// OrderEventData is the data of an order event, as PayIn's webhooks carry it (amounts in the
// order's resolved token).
func OrderEventData(o *Order) json.RawMessage {
	return MarshalJSON(orderEventData(o))
}

func orderEventData(o *Order) map[string]any {
	tok := o.Token
	d := map[string]any{"orderId": o.ID, "orderReference": o.Reference, "status": o.Status,
		"amount": money.Format(o.Amount, tok.Decimals), "payAmount": money.Format(o.PayAmount(), tok.Decimals),
		"paidAmount": money.Format(o.PaidAmount, tok.Decimals),
		"currency":   o.Currency, "chainId": o.ChainID, "address": o.Address,
		"overpaid": o.Overpaid, "paidLate": o.PaidLate, "multiplePayments": o.MultiplePayments, "wrongCurrency": o.WrongCurrency}
	if o.TxHash != "" {
		d["txHash"] = o.TxHash
	}
	if o.Number > 0 {
		d["orderNumber"] = o.Number
	}
	if meta := webhookMetadata(o.Metadata); meta != nil {
		d["metadata"] = meta
	}
	if o.PaymentLinkID != "" {
		d["paymentLinkId"] = o.PaymentLinkID
	}
	if o.CompletedAt != nil {
		d["completedAt"] = o.CompletedAt.UTC().Format(time.RFC3339Nano)
	}
	if o.ResolvedManually() {
		d["resolvedManually"] = true
		d["resolution"] = map[string]any{"outcome": o.Resolution, "reason": o.ResolutionReason, "by": o.ResolvedBy,
			"at": o.ResolvedAt.UTC().Format(time.RFC3339Nano)}
	}
	return d
}

// WrongCurrencyEventData is the data of an order.wrong_currency event: the order, and the transfer
// that was not counted, in its own token's units.
func WrongCurrencyEventData(o *Order, t *Transfer) json.RawMessage {
	got, _ := o.Chain.Token(t.Currency)
	d := orderEventData(o)
	d["transfer"] = map[string]any{"txHash": t.TxHash, "logIndex": t.LogIndex, "blockNumber": t.BlockNumber, "from": t.From,
		"currency": t.Currency, "tokenAddress": t.Token, "amount": money.Format(t.Amount, got.Decimals)}
	return MarshalJSON(d)
}

// Payment is one payment of an order as the API shows it.
type Payment struct {
	TxHash        string
	LogIndex      uint64
	Amount        *big.Int
	BlockNumber   uint64
	Confirmations uint64
	// Required is how many confirmations the payment needs: the chain's rule, or what its project
	// asked for when it was seen.
	Required int
	From     string
	// Simulated says a test-mode simulation made the payment: it is in no block and has no
	// confirmations.
	Simulated bool
}

// WrongPayment is a transfer of another registry token than the order's currency to the order's
// address on its chain: shown on the order, never counted.
type WrongPayment struct {
	Payment
	Currency     string
	TokenAddress string
	Decimals     int
}

// OrderPayments returns the order's payments with their confirmations counted from the chain's
// scanned head, and the transfers it received in another currency.
func (s *Service) OrderPayments(ctx context.Context, o *Order) ([]Payment, []WrongPayment, error) {
	if (o.Status == OrderPending || o.Status == OrderExpired) && o.PaidAmount.Sign() == 0 && !o.WrongCurrency {
		return nil, nil, nil // nothing was sent to the address that the order shows
	}
	transfers, err := s.Store.OrderTransfers(ctx, o.ID)
	if err != nil || len(transfers) == 0 {
		return nil, nil, err
	}
	head, _, err := s.Store.Cursor(ctx, o.ChainID)
	if err != nil {
		return nil, nil, err
	}
	c, _ := s.ChainRegistry().Lookup(o.ChainID)
	var out []Payment
	var wrong []WrongPayment
	for _, t := range transfers {
		p := Payment{TxHash: t.TxHash, LogIndex: t.LogIndex, Amount: t.Amount, BlockNumber: t.BlockNumber, From: t.From,
			Required: PaymentRequired(t, c), Simulated: t.From == SimulatedFrom}
		if head.Number >= t.BlockNumber && !p.Simulated {
			p.Confirmations = head.Number - t.BlockNumber + 1
		}
		switch {
		case t.Credited():
			out = append(out, p)
		case t.WrongCurrency:
			tok, _ := c.Token(t.Currency)
			wrong = append(wrong, WrongPayment{Payment: p, Currency: t.Currency, TokenAddress: t.Token, Decimals: tok.Decimals})
		}
	}
	return out, wrong, nil
}
