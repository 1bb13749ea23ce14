package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

// OrderBody is the request of POST /api/v1/orders.
type OrderBody struct {
	OrderReference       string          `json:"orderReference" maxLength:"128" doc:"Your unique order id; creating the same reference again returns the existing order" example:"order_123"`
	Amount               string          `json:"amount" maxLength:"100" doc:"Decimal string in token units, greater than zero, at most the token's decimals" example:"49.99" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	Currency             string          `json:"currency" maxLength:"16" doc:"Token symbol: USDT, USDC, DAI (USDC.e on Polygon)" example:"USDT"`
	ChainID              string          `json:"chainId" maxLength:"32" doc:"Chain slug, e.g. ethereum-sepolia, polygon-amoy, tron-nile, devnet (test) or ethereum, polygon, bsc, arbitrum, base, tron (live)" example:"ethereum-sepolia"`
	SuccessURL           string          `json:"successUrl,omitempty" maxLength:"2048" doc:"Redirect after payment; absolute https (http in test mode) on the project website's domain"`
	CancelURL            string          `json:"cancelUrl,omitempty" maxLength:"2048" doc:"Redirect on expiry; same rules as successUrl"`
	PaymentWindowMinutes *int            `json:"paymentWindowMinutes,omitempty" minimum:"1" maximum:"10080" doc:"Minutes until expiresAt (default: the project's, 10 unless changed)"`
	GraceMinutes         *int            `json:"graceMinutes,omitempty" minimum:"0" maximum:"1440" doc:"Minutes after expiresAt during which a payment still completes the order (default: the project's, 5 unless changed)"`
	Metadata             json.RawMessage `json:"metadata,omitempty" doc:"Your own JSON object, returned as sent (at most 16 KiB)"`
}

// Order is an order as the API shows it.
type Order struct {
	OrderID               string                 `json:"orderId" example:"ord_abcdefghijklmnopqrstuvwx"`
	OrderReference        string                 `json:"orderReference"`
	Status                string                 `json:"status" enum:"pending,confirming,completed,underpaid,expired,invalid" doc:"invalid: closed by hand (POST /orders/{orderId}/resolve)"`
	Amount                string                 `json:"amount" doc:"Decimal string in token units" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	Currency              string                 `json:"currency"`
	ChainID               string                 `json:"chainId"`
	Address               string                 `json:"address" doc:"Where the payment goes: the order's own address, or the project's shared address (sharedAddress setting of the chain), where payAmount tells the orders apart"`
	PayAmount             string                 `json:"payAmount" doc:"What the payer must send: the amount, plus the order's unique offset on a shared address (pay exactly this there: another amount pays no order)" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	TokenAddress          string                 `json:"tokenAddress" doc:"The token contract the payment must use"`
	Decimals              int                    `json:"decimals" doc:"The token's decimals on this chain"`
	PaymentURL            string                 `json:"paymentUrl" doc:"Hosted payment page"`
	SuccessURL            string                 `json:"successUrl,omitempty"`
	CancelURL             string                 `json:"cancelUrl,omitempty"`
	PaymentWindowMinutes  int                    `json:"paymentWindowMinutes"`
	GraceMinutes          int                    `json:"graceMinutes"`
	ExpiresAt             time.Time              `json:"expiresAt"`
	TxHash                string                 `json:"txHash,omitempty" doc:"Transaction hash of the payment that completed the order (only on a completed order)"`
	CompletedAt           *time.Time             `json:"completedAt,omitempty"`
	CreatedAt             time.Time              `json:"createdAt"`
	Metadata              json.RawMessage        `json:"metadata,omitempty" doc:"Exactly as given at creation (webhooks carry it as JavaScript's JSON.stringify writes it)"`
	PaymentLinkID         string                 `json:"paymentLinkId,omitempty" doc:"The payment link the order was checked out from"`
	PaidAmount            string                 `json:"paidAmount" doc:"Sum of the payments seen, confirmed or not" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	Overpaid              bool                   `json:"overpaid"`
	PaidLate              bool                   `json:"paidLate" doc:"A payment arrived after expiresAt + graceMinutes"`
	MultiplePayments      bool                   `json:"multiplePayments"`
	WrongCurrency         bool                   `json:"wrongCurrency" doc:"Another registry token than currency was sent to the address on this chain: recorded, never counted"`
	ResolvedManually      bool                   `json:"resolvedManually" doc:"The merchant set the status by hand (POST /orders/{orderId}/resolve); paidAmount still says what arrived on chain"`
	Resolution            *Resolution            `json:"resolution,omitempty" doc:"On an order resolved by hand: the outcome, why, by whom, when"`
	Payments              []Payment              `json:"payments,omitempty" doc:"On GET /orders/{orderId}: each payment with its confirmations"`
	WrongCurrencyPayments []WrongCurrencyPayment `json:"wrongCurrencyPayments,omitempty" doc:"On GET /orders/{orderId}: transfers of another token to the address, never counted"`
	Livemode              bool                   `json:"livemode"`
}

// Resolution is how an order was resolved by hand.
type Resolution struct {
	Outcome string    `json:"outcome" enum:"completed,invalid"`
	Reason  string    `json:"reason"`
	By      string    `json:"by" doc:"key cred_… (an API key with its secret) or user ana@… (a dashboard user, with a two-factor code)"`
	At      time.Time `json:"at"`
}

// Payment is one on-chain payment of an order.
type Payment struct {
	TxHash        string `json:"txHash"`
	LogIndex      uint64 `json:"logIndex"`
	From          string `json:"from"`
	Amount        string `json:"amount" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	BlockNumber   uint64 `json:"blockNumber,omitempty" doc:"Absent on a simulated payment, which is in no block"`
	Confirmations uint64 `json:"confirmations,omitempty" doc:"Absent on a simulated payment; 0 is never shown: a seen payment has at least 1"`
	Required      int    `json:"requiredConfirmations,omitempty" doc:"Confirmations the payment needs to count: the chain's rule, or what the project asked for when it was seen; absent on a simulated payment"`
	ExplorerURL   string `json:"explorerUrl,omitempty" doc:"The transaction on the chain's block explorer"`
	Simulated     bool   `json:"simulated,omitempty" doc:"Made by POST /orders/{orderId}/simulate (test mode): no block, no confirmations"`
}

// WrongCurrencyPayment is a transfer of another registry token than the order's currency to its
// address: the funds are at an address the project holds the keys of, but they pay nothing.
type WrongCurrencyPayment struct {
	Payment
	Currency     string `json:"currency" doc:"The token that was sent"`
	TokenAddress string `json:"tokenAddress"`
}

func (s *Server) order(o *gateway.Order) Order {
	tok := o.Token
	return Order{
		OrderID: o.ID, OrderReference: o.Reference, Status: string(o.Status), Amount: money.Format(o.Amount, tok.Decimals),
		Currency: o.Currency, ChainID: o.ChainID, Address: o.Address, PayAmount: money.Format(o.PayAmount(), tok.Decimals),
		TokenAddress: tok.Address, Decimals: tok.Decimals, PaymentURL: s.cfg.PublicURL + "/pay/" + o.ID, SuccessURL: o.SuccessURL, CancelURL: o.CancelURL,
		PaymentWindowMinutes: o.PaymentWindowMinutes, GraceMinutes: o.GraceMinutes, ExpiresAt: o.ExpiresAt,
		TxHash: o.TxHash, CompletedAt: o.CompletedAt, CreatedAt: o.CreatedAt, Metadata: o.Metadata, Livemode: o.Mode.Live(),
		PaidAmount: money.Format(o.PaidAmount, tok.Decimals), Overpaid: o.Overpaid, PaidLate: o.PaidLate, MultiplePayments: o.MultiplePayments,
		WrongCurrency: o.WrongCurrency, PaymentLinkID: o.PaymentLinkID, ResolvedManually: o.ResolvedManually(), Resolution: resolutionOf(o),
	}
}

func resolutionOf(o *gateway.Order) *Resolution {
	if !o.ResolvedManually() {
		return nil
	}
	return &Resolution{Outcome: string(o.Resolution), Reason: o.ResolutionReason, By: o.ResolvedBy, At: *o.ResolvedAt}
}

type createOrderInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes a retry return the first response instead of acting twice (kept 24 h)"`
	Body           OrderBody
}

type orderOutput struct {
	Status int
	Body   Envelope[Order]
}

type getOrderInput struct {
	OrderID string `path:"orderId" maxLength:"64" example:"ord_abcdefghijklmnopqrstuvwx"`
}

type listOrdersInput struct {
	Status         string `query:"status" doc:"pending, confirming, completed, underpaid, expired or invalid"`
	ChainID        string `query:"chainId"`
	Currency       string `query:"currency"`
	OrderReference string `query:"orderReference"`
	Page           int    `query:"page" default:"1" doc:"Page number, from 1"`
	Limit          int    `query:"limit" default:"20" doc:"Results per page (default 20); above 100 it is capped at 100"`
}

// Pagination describes a page of a list.
type Pagination struct {
	Page       int `json:"page"`
	Limit      int `json:"limit"`
	Total      int `json:"total"`
	TotalPages int `json:"totalPages"`
}

// paginate describes a page of a list of total items.
func paginate(page, limit, total int) Pagination {
	return Pagination{Page: page, Limit: limit, Total: total, TotalPages: (total + limit - 1) / limit}
}

// OrderList is a page of orders.
type OrderList struct {
	Orders     []Order    `json:"orders"`
	Pagination Pagination `json:"pagination"`
}

type listOrdersOutput struct {
	Body Envelope[OrderList]
}

func (s *Server) registerOrders() {
	huma.Register(s.API, huma.Operation{OperationID: "createOrder", Method: http.MethodPost, Path: "/api/v1/orders",
		Summary: "Create an order", Tags: []string{"Orders"}, DefaultStatus: http.StatusCreated,
		Description: "Creates a one-time payment with a fresh address. Answers 201 for a new order and 200 with the " +
			"existing order when the orderReference was used before with the same amount, currency and chainId.",
		Responses: alsoOK("The order already existed under this orderReference", "EnvelopeOrder"),
	}, s.createOrder)
	huma.Register(s.API, huma.Operation{OperationID: "getOrder", Method: http.MethodGet, Path: "/api/v1/orders/{orderId}",
		Summary: "Get an order", Tags: []string{"Orders"}}, s.getOrder)
	huma.Register(s.API, huma.Operation{OperationID: "listOrders", Method: http.MethodGet, Path: "/api/v1/orders",
		Summary: "List orders", Tags: []string{"Orders"}, Description: "Newest first."}, s.listOrders)
	huma.Register(s.API, huma.Operation{OperationID: "simulateOrder", Method: http.MethodPost, Path: "/api/v1/orders/{orderId}/simulate",
		Summary: "Simulate a payment (test mode)", Tags: []string{"Orders"}, DefaultStatus: http.StatusOK,
		Description: "Drives a test-mode order through the same state machine and events as a real payment, without a chain: " +
			"completed (a confirmed payment of what is due, or of amount), underpaid (half of it, or amount) or expired. " +
			"Refused with live credentials."}, s.simulateOrder)
	huma.Register(s.API, huma.Operation{OperationID: "resolveOrder", Method: http.MethodPost, Path: "/api/v1/orders/{orderId}/resolve",
		Summary: "Resolve an order by hand", Tags: []string{"Orders"}, DefaultStatus: http.StatusOK,
		Description: "Sets the status of an order that is not settled on chain (pending, underpaid or expired) by hand: completed " +
			"(the payer paid some other way, such as an exchange's internal transfer) or invalid (closed). The usual event follows " +
			"(order.completed or order.invalid) with resolvedManually: true. Nothing is posted to the ledger: balances hold only " +
			"what arrived on chain, so a manual completion credits nothing that was not received. Once resolved, the order keeps " +
			"its status whatever arrives (a later payment is still credited to the ledger and shows in paidAmount). A completed, " +
			"confirming or already resolved order is 409."}, s.resolveOrder)
}

type resolveOrderInput struct {
	OrderID string `path:"orderId" maxLength:"64" example:"ord_abcdefghijklmnopqrstuvwx"`
	Body    struct {
		Outcome string `json:"outcome" enum:"completed,invalid" doc:"completed: count the order as paid; invalid: close it"`
		Reason  string `json:"reason" minLength:"1" maxLength:"1000" doc:"Why, kept with the order and in the audit log" example:"Paid by internal transfer on Binance, ref 7741"`
	}
}

func (s *Server) resolveOrder(ctx context.Context, in *resolveOrderInput) (*orderOutput, error) {
	o, err := s.svc.ResolveOrder(ctx, principalFrom(ctx), in.OrderID, gateway.OrderStatus(in.Body.Outcome), in.Body.Reason)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out, err := s.getOrder(ctx, &getOrderInput{OrderID: o.ID})
	if err != nil {
		return nil, err
	}
	out.Body.Message = "Order resolved by hand: " + in.Body.Outcome
	return out, nil
}

func (s *Server) createOrder(ctx context.Context, in *createOrderInput) (*orderOutput, error) {
	b := in.Body
	o, created, err := s.svc.CreateOrder(ctx, principalFrom(ctx), gateway.OrderInput{
		Reference: b.OrderReference, Amount: b.Amount, Currency: b.Currency, ChainID: b.ChainID,
		SuccessURL: b.SuccessURL, CancelURL: b.CancelURL, PaymentWindowMinutes: b.PaymentWindowMinutes,
		GraceMinutes: b.GraceMinutes, Metadata: b.Metadata,
	})
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	if !created {
		return &orderOutput{Status: http.StatusOK, Body: ok(s.order(o), "Order already exists")}, nil
	}
	return &orderOutput{Status: http.StatusCreated, Body: ok(s.order(o), "Order created successfully")}, nil
}

func (s *Server) getOrder(ctx context.Context, in *getOrderInput) (*orderOutput, error) {
	o, err := s.svc.GetOrder(ctx, principalFrom(ctx), in.OrderID)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	payments, wrong, err := s.svc.OrderPayments(ctx, o)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	view := s.order(o)
	c, tok := o.Chain, o.Token
	for _, p := range payments {
		v := Payment{TxHash: p.TxHash, LogIndex: p.LogIndex, From: p.From, Amount: money.Format(p.Amount, tok.Decimals),
			BlockNumber: p.BlockNumber, Confirmations: p.Confirmations, Simulated: p.Simulated}
		if !p.Simulated {
			v.ExplorerURL, v.Required = c.TxURL(p.TxHash), p.Required
		}
		view.Payments = append(view.Payments, v)
	}
	for _, p := range wrong {
		view.WrongCurrencyPayments = append(view.WrongCurrencyPayments, WrongCurrencyPayment{Currency: p.Currency, TokenAddress: p.TokenAddress,
			Payment: Payment{TxHash: p.TxHash, LogIndex: p.LogIndex, From: p.From, Amount: money.Format(p.Amount, p.Decimals),
				BlockNumber: p.BlockNumber, Confirmations: p.Confirmations, ExplorerURL: c.TxURL(p.TxHash)}})
	}
	return &orderOutput{Status: http.StatusOK, Body: ok(view, "")}, nil
}

type simulateOrderInput struct {
	OrderID string `path:"orderId" maxLength:"64" example:"ord_abcdefghijklmnopqrstuvwx"`
	Body    struct {
		Outcome string `json:"outcome" enum:"completed,underpaid,expired" doc:"What the simulated payer does"`
		Amount  string `json:"amount,omitempty" maxLength:"100" doc:"The payment in token units (completed: at least what is due; underpaid: less)" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	}
}

func (s *Server) simulateOrder(ctx context.Context, in *simulateOrderInput) (*orderOutput, error) {
	pr := principalFrom(ctx)
	o, err := s.svc.SimulateOrder(ctx, pr, in.OrderID, in.Body.Outcome, in.Body.Amount)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out, err := s.getOrder(ctx, &getOrderInput{OrderID: o.ID})
	if err != nil {
		return nil, err
	}
	out.Body.Message = "Simulated: " + in.Body.Outcome
	return out, nil
}

func (s *Server) listOrders(ctx context.Context, in *listOrdersInput) (*listOrdersOutput, error) {
	in.Limit = gateway.PageLimit(in.Limit) // capped, as 3PAY caps pagination at 100
	orders, total, err := s.svc.ListOrders(ctx, principalFrom(ctx), gateway.OrderFilter{
		Status: gateway.OrderStatus(in.Status), ChainID: in.ChainID, Currency: in.Currency, Reference: in.OrderReference,
		Page: in.Page, Limit: in.Limit,
	})
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out := OrderList{Orders: make([]Order, len(orders)), Pagination: paginate(in.Page, in.Limit, total)}
	for i, o := range orders {
		out.Orders[i] = s.order(o)
	}
	return &listOrdersOutput{Body: ok(out, "")}, nil
}

// apiError converts a domain error for Huma, logging internal ones.
func (s *Server) apiError(ctx context.Context, err error) error {
	e := fromDomain(err, requestIDFrom(ctx))
	if e.status >= 500 && e.Type == gateway.EInternal {
		s.log.Error("request failed", "request_id", e.RequestID, "err", err)
	}
	return e
}
