// Package threepay speaks 3PAY v2's API over stablegate's services, so that a 3PAY merchant's
// integration works by changing its base URL and keys: invoices (POST /api/v1/transaction/create
// and reading one back), per-user wallets and withdrawal requests with their approval, on 3PAY's
// networks (ERC20, TRC20, BEP20). The shapes, which 3PAY's documents
// name but do not spell out, are written down in docs/compat-3pay.md. The operations are
// registered on the API's Huma instance, so they share its authentication (apikey, x-api-secret),
// rate limits, envelope, error types and OpenAPI document. No second order model: an invoice is an
// order.
package threepay

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

// Host is what the API server lends the adapter.
type Host interface {
	// Principal is the request's authenticated project and mode.
	Principal(ctx context.Context) *gateway.Principal
	// Error turns a domain error into the API's error answer.
	Error(ctx context.Context, err error) error
	// PaymentURL is the hosted payment page of an order.
	PaymentURL(orderID string) string
}

// Tag groups the adapter's operations in the OpenAPI document and the reference.
const Tag = "3PAY"

// Envelope is the API's success envelope, {success, data, message}.
type Envelope[T any] struct {
	Success bool   `json:"success"`
	Data    T      `json:"data"`
	Message string `json:"message,omitempty"`
}

// Invoice is a 3PAY invoice: an order, in 3PAY's words.
type Invoice struct {
	TransactionID string          `json:"transactionId" doc:"The invoice's id (the order's id in the native API)" example:"ord_abcdefghijklmnopqrstuvwx"`
	OrderID       string          `json:"orderId" doc:"Your order id"`
	Status        string          `json:"status" enum:"pending,processing,successful,underpaid,expired,failed" doc:"pending: waiting for the payment; processing: a payment seen, not yet confirmed; successful: paid and confirmed (final; also when the merchant completed it by hand); underpaid: confirmed payments are short; expired: the window ended with nothing paid; failed: the merchant closed it by hand"`
	Amount        string          `json:"amount" doc:"Decimal string in USDT" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	PayAmount     string          `json:"payAmount" doc:"What the customer must send: the amount, plus a unique offset when the project's shared address is on for the chain (docs/shared-address.md)" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	PaidAmount    string          `json:"paidAmount" doc:"What was paid so far, confirmed or not" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	Currency      string          `json:"currency"`
	Network       string          `json:"network" enum:"ERC20,TRC20,BEP20"`
	ChainID       string          `json:"chainId" doc:"The chain the network is on in the key's mode (sandbox: ethereum-sepolia, tron-nile)"`
	Address       string          `json:"address" doc:"Where the customer sends the payment"`
	PaymentURL    string          `json:"paymentUrl" doc:"The hosted payment page"`
	SuccessURL    string          `json:"successUrl,omitempty"`
	CancelURL     string          `json:"cancelUrl,omitempty"`
	TxHash        string          `json:"txHash,omitempty" doc:"The transaction that paid it, once successful"`
	Metadata      json.RawMessage `json:"metadata,omitempty"`
	ExpiresAt     time.Time       `json:"expiresAt"`
	CreatedAt     time.Time       `json:"createdAt"`
	CompletedAt   *time.Time      `json:"completedAt,omitempty"`
	Livemode      bool            `json:"livemode"`
}

type threePayInvoiceInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes a retry return the first response instead of acting twice (kept 24 h)"`
	Body           struct {
		OrderID    string          `json:"orderId" maxLength:"128" doc:"Your unique order id: sending it again returns the same invoice" example:"order_123"`
		Amount     string          `json:"amount" maxLength:"100" doc:"Decimal string in USDT, greater than zero" example:"25.00" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
		Currency   string          `json:"currency,omitempty" maxLength:"16" doc:"USDT (default) or another registry token on the network" example:"USDT"`
		Network    string          `json:"network,omitempty" enum:"ERC20,TRC20,BEP20" doc:"ERC20 (default): Ethereum (sandbox: Sepolia); TRC20: TRON (sandbox: Nile); BEP20: BNB Smart Chain" example:"ERC20"`
		SuccessURL string          `json:"successUrl,omitempty" maxLength:"2048" doc:"Redirect after payment, on the project website's domain"`
		CancelURL  string          `json:"cancelUrl,omitempty" maxLength:"2048" doc:"Redirect on expiry, on the project website's domain"`
		Metadata   json.RawMessage `json:"metadata,omitempty" doc:"Your own JSON object, returned as sent (at most 16 KiB)"`
	}
}

type invoiceOutput struct {
	Status int
	Body   Envelope[Invoice]
}

type getInput struct {
	TransactionID string `path:"transactionId" maxLength:"64" example:"ord_abcdefghijklmnopqrstuvwx"`
}

// Register adds the adapter's operations to the API.
func Register(api huma.API, svc *gateway.Service, host Host) {
	a := &adapter{svc: svc, host: host}
	huma.Register(api, huma.Operation{OperationID: "threePayCreateInvoice", Method: http.MethodPost, Path: "/api/v1/transaction/create",
		Summary: "Create an invoice (3PAY)", Tags: []string{Tag}, DefaultStatus: http.StatusCreated,
		Description: "3PAY v2's invoice payment: an order on the network's chain, with its payment URL. Answers 201 for a new invoice and " +
			"200 with the existing one when the orderId was used before with the same amount, currency and network.",
		Responses: map[string]*huma.Response{"200": {Description: "The invoice already existed under this orderId", Content: map[string]*huma.MediaType{
			"application/json": {Schema: &huma.Schema{Ref: "#/components/schemas/EnvelopeInvoice"}}}}},
	}, a.create)
	huma.Register(api, huma.Operation{OperationID: "threePayGetInvoice", Method: http.MethodGet, Path: "/api/v1/transaction/{transactionId}",
		Summary: "Get an invoice (3PAY)", Tags: []string{Tag}}, a.get)
	a.registerWithdrawals(api)
	a.registerWallets(api)
}

type adapter struct {
	svc  *gateway.Service
	host Host
}

func (a *adapter) create(ctx context.Context, in *threePayInvoiceInput) (*invoiceOutput, error) {
	pr := a.host.Principal(ctx)
	b := in.Body
	c, currency, err := a.network(ctx, pr, b.Network, b.Currency)
	if err != nil {
		return nil, err
	}
	o, created, err := a.svc.CreateOrder(ctx, pr, gateway.OrderInput{Reference: b.OrderID, Amount: b.Amount, Currency: currency, ChainID: c.Slug,
		SuccessURL: b.SuccessURL, CancelURL: b.CancelURL, Metadata: b.Metadata})
	if err != nil {
		return nil, a.host.Error(ctx, rename(err, invoiceNames))
	}
	if !created {
		return &invoiceOutput{Status: http.StatusOK, Body: Envelope[Invoice]{Success: true, Data: a.invoice(o), Message: "Transaction already exists"}}, nil
	}
	return &invoiceOutput{Status: http.StatusCreated, Body: Envelope[Invoice]{Success: true, Data: a.invoice(o), Message: "Transaction created successfully"}}, nil
}

func (a *adapter) get(ctx context.Context, in *getInput) (*invoiceOutput, error) {
	o, err := a.svc.GetOrder(ctx, a.host.Principal(ctx), in.TransactionID)
	if err != nil {
		return nil, a.host.Error(ctx, rename(err, invoiceNames))
	}
	return &invoiceOutput{Status: http.StatusOK, Body: Envelope[Invoice]{Success: true, Data: a.invoice(o)}}, nil
}

// rename gives a domain error 3PAY's name of the field it is about, in its param and its message.
func rename(err error, names map[string]string) error {
	de, ok := err.(*gateway.Error)
	if !ok {
		return err
	}
	n, ok := names[de.Param]
	if !ok {
		return err
	}
	cp := *de
	cp.Param, cp.Message = n, strings.ReplaceAll(de.Message, de.Param, n)
	return &cp
}

// invoiceNames are 3PAY's names of an order's fields.
var invoiceNames = map[string]string{"orderReference": "orderId", "orderId": "transactionId", "chainId": "network"}

// network is the chain of a 3PAY network (ERC20 unless named) and the currency (USDT unless named).
func (a *adapter) network(ctx context.Context, pr *gateway.Principal, network, currency string) (chain.Chain, string, error) {
	if currency == "" {
		currency = "USDT"
	}
	c, verr := a.svc.NetworkChain(pr.Mode, network, currency)
	if verr != nil {
		return chain.Chain{}, "", a.host.Error(ctx, verr)
	}
	return c, currency, nil
}

func (a *adapter) invoice(o *gateway.Order) Invoice {
	dec := o.Token.Decimals
	return Invoice{TransactionID: o.ID, OrderID: o.Reference, Status: Status(o.Status), Amount: money.Format(o.Amount, dec),
		PayAmount: money.Format(o.PayAmount(), dec), PaidAmount: money.Format(o.PaidAmount, dec), Currency: o.Currency, Network: gateway.NetworkName(o.Chain), ChainID: o.ChainID,
		Address: o.Address, PaymentURL: a.host.PaymentURL(o.ID), SuccessURL: o.SuccessURL, CancelURL: o.CancelURL, TxHash: o.TxHash,
		Metadata: o.Metadata, ExpiresAt: o.ExpiresAt, CreatedAt: o.CreatedAt, CompletedAt: o.CompletedAt, Livemode: o.Mode.Live()}
}

// Status is an order's status in 3PAY's words.
func Status(s gateway.OrderStatus) string {
	switch s {
	case gateway.OrderConfirming:
		return "processing"
	case gateway.OrderCompleted:
		return "successful"
	case gateway.OrderInvalid:
		return "failed" // closed by hand
	}
	return string(s) // pending, underpaid, expired
}
