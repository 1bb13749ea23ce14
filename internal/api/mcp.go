package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/stablegate/stablegate/internal/gateway"
)

// The MCP server (docs/mcp.md): streamable HTTP at /mcp, authenticated like the API (the key as a
// Bearer token, x-api-secret where an operation needs it) and scoped to the key's project and
// mode. Each tool is an operation of the REST API, called in process with the caller's principal,
// so it checks, answers and fails exactly as the API does — one implementation, two doors.

// mcpHandler serves /mcp: the API's authentication (brute-force limits included), then the
// go-sdk's bearer check, which hands the principal to the tools, then the MCP transport.
func (s *Server) mcpHandler(apiMux http.Handler) http.Handler {
	server := mcp.NewServer(&mcp.Implementation{Name: "stablegate", Title: "stablegate payment gateway", Version: s.cfg.Version},
		&mcp.ServerOptions{Instructions: "Tools of a stablecoin payment gateway, scoped to one project in test or live mode: " +
			"create and read orders (invoices), bind deposit addresses, manage payment links, read balances and webhook events. " +
			"Amounts are decimal strings in token units (\"10.50\"); chainId is a chain slug such as ethereum-sepolia or devnet."})
	s.addMCPTools(server, apiMux)
	transport := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
	verified := auth.RequireBearerToken(func(ctx context.Context, _ string, r *http.Request) (*auth.TokenInfo, error) {
		pr := principalFrom(r.Context()) // authenticate has checked the key (and a secret, if sent)
		if pr == nil {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{UserID: pr.Credential.ID, Expiration: time.Now().Add(time.Hour),
			Extra: map[string]any{mcpPrincipal: pr, mcpActor: gateway.ActorFrom(r.Context()), mcpRequestID: requestIDFrom(r.Context())}}, nil
	}, nil)(transport)
	return s.authenticate(verified)
}

const (
	mcpPrincipal = "principal"
	mcpActor     = "actor"
	mcpRequestID = "requestId"
)

// call runs one API operation for a tool, as the caller: its structured result is the API's
// answer without "success" (data, message, pagination); an API error is a tool error that carries
// the API's error type, message and param.
func (s *Server) mcpCall(ctx context.Context, req *mcp.CallToolRequest, apiMux http.Handler, method, path string, query url.Values,
	body any) (*mcp.CallToolResult, any, error) {
	extra := req.Extra
	if extra == nil || extra.TokenInfo == nil {
		return nil, nil, fmt.Errorf("unauthenticated")
	}
	pr, _ := extra.TokenInfo.Extra[mcpPrincipal].(*gateway.Principal)
	actor, _ := extra.TokenInfo.Extra[mcpActor].(gateway.Actor)
	rid, _ := extra.TokenInfo.Extra[mcpRequestID].(string)
	if pr == nil {
		return nil, nil, fmt.Errorf("unauthenticated")
	}
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return nil, nil, err
		}
	}
	target := path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	ctx = context.WithValue(ctx, principalKey, pr)
	ctx = context.WithValue(ctx, requestIDKey, rid)
	ctx = gateway.WithActor(ctx, actor)
	r, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(raw))
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	w := &bufferWriter{header: http.Header{}, status: http.StatusOK}
	apiMux.ServeHTTP(w, r)
	var answer map[string]json.RawMessage
	if err := json.Unmarshal(w.buf.Bytes(), &answer); err != nil {
		return nil, nil, fmt.Errorf("%s %s answered %d", method, path, w.status)
	}
	if w.status >= 400 {
		var e struct {
			Error, Message, Param, RequestID string
		}
		_ = json.Unmarshal(w.buf.Bytes(), &e)
		text := e.Error + ": " + e.Message
		if e.Param != "" {
			text += " (param " + e.Param + ")"
		}
		delete(answer, "success")
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: text}}, StructuredContent: answer}, nil, nil
	}
	delete(answer, "success")
	return nil, answer, nil
}

// bufferWriter keeps an in-process answer.
type bufferWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferWriter) Header() http.Header         { return b.header }
func (b *bufferWriter) WriteHeader(code int)        { b.status = code }
func (b *bufferWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }

// The tools' inputs: what a model fills in. Descriptions say what the API's documentation says.
type (
	mcpCreateOrder struct {
		OrderReference       string         `json:"orderReference" jsonschema:"your unique order id; creating the same reference again returns the existing order"`
		Amount               string         `json:"amount" jsonschema:"decimal string in token units, greater than zero, e.g. 10.50"`
		Currency             string         `json:"currency" jsonschema:"token symbol: USDT, USDC or DAI"`
		ChainID              string         `json:"chainId" jsonschema:"chain slug, e.g. ethereum-sepolia or devnet (test mode), ethereum, polygon, bsc, tron (live mode)"`
		SuccessURL           string         `json:"successUrl,omitempty" jsonschema:"where the payment page sends the payer after paying (on the project's website)"`
		CancelURL            string         `json:"cancelUrl,omitempty" jsonschema:"where the payment page sends the payer when the order expires"`
		PaymentWindowMinutes *int           `json:"paymentWindowMinutes,omitempty" jsonschema:"minutes until the order expires (default: the project's)"`
		Metadata             map[string]any `json:"metadata,omitempty" jsonschema:"your own JSON object, returned as sent"`
	}
	mcpOrderID struct {
		OrderID string `json:"orderId" jsonschema:"the order's id, ord_…"`
	}
	mcpListOrders struct {
		Status         string `json:"status,omitempty" jsonschema:"pending, confirming, completed, underpaid or expired"`
		ChainID        string `json:"chainId,omitempty"`
		Currency       string `json:"currency,omitempty"`
		OrderReference string `json:"orderReference,omitempty"`
		Page           int    `json:"page,omitempty" jsonschema:"page number, from 1"`
		Limit          int    `json:"limit,omitempty" jsonschema:"results per page, at most 100 (default 20)"`
	}
	mcpSimulate struct {
		OrderID string `json:"orderId" jsonschema:"the test-mode order's id, ord_…"`
		Outcome string `json:"outcome" jsonschema:"what the simulated payer does: completed, underpaid or expired"`
		Amount  string `json:"amount,omitempty" jsonschema:"the payment in token units (completed: at least what is due; underpaid: less)"`
	}
	mcpBind struct {
		DepositReference string         `json:"depositReference" jsonschema:"your user's id; binding it again returns the same address"`
		Protocol         string         `json:"protocol" jsonschema:"evm (one address for every EVM chain) or tron"`
		Metadata         map[string]any `json:"metadata,omitempty"`
	}
	mcpDepositReference struct {
		DepositReference string `json:"depositReference" jsonschema:"your user's id"`
	}
	mcpListDeposits struct {
		DepositReference string `json:"depositReference,omitempty"`
		Status           string `json:"status,omitempty" jsonschema:"pending, confirmed or ignored"`
		ChainID          string `json:"chainId,omitempty"`
		Currency         string `json:"currency,omitempty"`
		Page             int    `json:"page,omitempty"`
		Limit            int    `json:"limit,omitempty"`
	}
	mcpCreateLink struct {
		Title              string                 `json:"title"`
		Description        string                 `json:"description,omitempty"`
		Amount             string                 `json:"amount" jsonschema:"decimal string in token units, or 0 to let the payer choose"`
		Currencies         []gateway.LinkCurrency `json:"currencies" jsonschema:"the currency and chain pairs a payer may pay with"`
		InventoryTotal     *int                   `json:"inventoryTotal,omitempty" jsonschema:"how many payers may buy; omitted: no limit"`
		ReservationMinutes *int                   `json:"reservationMinutes,omitempty" jsonschema:"how long an unpaid checkout holds a unit (default 5)"`
		Metadata           map[string]any         `json:"metadata,omitempty"`
	}
	mcpLinkID struct {
		ID string `json:"id" jsonschema:"the payment link's id, lnk_…"`
	}
	mcpBalances struct {
		DepositReference string `json:"depositReference,omitempty" jsonschema:"a user's balances instead of the project's"`
	}
	mcpListEvents struct {
		DeliveryStatus string `json:"deliveryStatus,omitempty" jsonschema:"pending, delivered, failed or skipped"`
		Type           string `json:"type,omitempty" jsonschema:"an event type such as order.completed"`
		Page           int    `json:"page,omitempty"`
		Limit          int    `json:"limit,omitempty"`
	}
	mcpEventID struct {
		WebhookEventID string `json:"webhookEventId" jsonschema:"the event's id, evt_…"`
	}
	mcpCreateWithdrawal struct {
		Reference        string         `json:"reference" jsonschema:"your unique id for it: sending it again returns the existing withdrawal"`
		Amount           string         `json:"amount" jsonschema:"decimal string in token units, greater than zero"`
		Currency         string         `json:"currency" jsonschema:"USDT, USDC or DAI"`
		ChainID          string         `json:"chainId" jsonschema:"an EVM chain of the key's mode"`
		Address          string         `json:"address" jsonschema:"the destination (EIP-55 checksummed when in mixed case)"`
		DepositReference string         `json:"depositReference,omitempty" jsonschema:"pay it from this user's balance instead of the project's"`
		Metadata         map[string]any `json:"metadata,omitempty"`
	}
	mcpWithdrawalID struct {
		WithdrawalID string `json:"withdrawalId" jsonschema:"the withdrawal's id, wdr_…"`
	}
	mcpRejectWithdrawal struct {
		WithdrawalID string `json:"withdrawalId" jsonschema:"the withdrawal's id, wdr_…"`
		Reason       string `json:"reason,omitempty" jsonschema:"why: kept with the withdrawal and sent with withdrawal.rejected"`
	}
	mcpSweep struct {
		ChainID  string `json:"chainId" jsonschema:"an EVM chain of the key's mode"`
		Currency string `json:"currency,omitempty" jsonschema:"only this token (default: every registry token of the chain)"`
		DryRun   bool   `json:"dryRun,omitempty" jsonschema:"plan and estimate only: nothing is stored or sent"`
	}
	mcpListWithdrawals struct {
		Status           string `json:"status,omitempty" jsonschema:"pending_approval, approved, awaiting_funds, broadcast, completed, rejected or failed"`
		DepositReference string `json:"depositReference,omitempty"`
		Page             int    `json:"page,omitempty"`
		Limit            int    `json:"limit,omitempty"`
	}
)

// pageQuery adds the query parameters that are set.
func pageQuery(kv ...any) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case string:
			if v != "" {
				q.Set(kv[i].(string), v)
			}
		case int:
			if v != 0 {
				q.Set(kv[i].(string), strconv.Itoa(v))
			}
		}
	}
	return q
}

func (s *Server) addMCPTools(server *mcp.Server, apiMux http.Handler) {
	call := func(ctx context.Context, req *mcp.CallToolRequest, method, path string, q url.Values, body any) (*mcp.CallToolResult, any, error) {
		return s.mcpCall(ctx, req, apiMux, method, path, q, body)
	}
	// esc escapes a path parameter; one that would change the path (a "/" or a dot segment) is
	// replaced by a segment no route has, so the API answers 404 rather than another operation.
	esc := func(v string) string {
		if strings.Contains(v, "/") || v == "." || v == ".." || v == "" {
			return "%00invalid"
		}
		return url.PathEscape(v)
	}
	mcp.AddTool(server, &mcp.Tool{Name: "create_order", Description: "Create an order (an invoice): the payer pays amount of currency on chainId " +
		"to the order's own address, or through its paymentUrl. The same orderReference returns the existing order."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpCreateOrder) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodPost, "/api/v1/orders", nil, in)
		})
	mcp.AddTool(server, &mcp.Tool{Name: "get_order", Description: "Read an order: its status (pending, confirming, completed, underpaid, expired), " +
		"what was paid, its payments and their confirmations."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpOrderID) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodGet, "/api/v1/orders/"+esc(in.OrderID), nil, nil)
		})
	mcp.AddTool(server, &mcp.Tool{Name: "list_orders", Description: "List orders, newest first, filtered by status, chain, currency or reference."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpListOrders) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodGet, "/api/v1/orders", pageQuery("status", in.Status, "chainId", in.ChainID, "currency", in.Currency,
				"orderReference", in.OrderReference, "page", in.Page, "limit", in.Limit), nil)
		})
	mcp.AddTool(server, &mcp.Tool{Name: "simulate_payment", Description: "Test mode only: drive an order through a simulated payment " +
		"(completed, underpaid or expired) with the same events as a real one. Refused with live credentials."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpSimulate) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodPost, "/api/v1/orders/"+esc(in.OrderID)+"/simulate", nil, struct {
				Outcome string `json:"outcome"`
				Amount  string `json:"amount,omitempty"`
			}{in.Outcome, in.Amount})
		})
	mcp.AddTool(server, &mcp.Tool{Name: "bind_deposit_address", Description: "Give a user (depositReference) a permanent deposit address; " +
		"every deposit to it is credited to that user. Binding again returns the same address."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpBind) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodPost, "/api/v1/deposits/bind", nil, in)
		})
	mcp.AddTool(server, &mcp.Tool{Name: "get_deposit_reference", Description: "Read a user's deposit address, totals and balances per chain and currency."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpDepositReference) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodGet, "/api/v1/deposits/references/"+esc(in.DepositReference), nil, nil)
		})
	mcp.AddTool(server, &mcp.Tool{Name: "list_deposits", Description: "List deposits to users' addresses, newest first."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpListDeposits) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodGet, "/api/v1/deposits", pageQuery("depositReference", in.DepositReference, "status", in.Status,
				"chainId", in.ChainID, "currency", in.Currency, "page", in.Page, "limit", in.Limit), nil)
		})
	mcp.AddTool(server, &mcp.Tool{Name: "create_payment_link", Description: "Create a payment link (a reusable checkout page, a draft until published)."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpCreateLink) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodPost, "/api/v1/payment-links", nil, in)
		})
	mcp.AddTool(server, &mcp.Tool{Name: "publish_payment_link", Description: "Publish a payment link: its checkout page takes payers."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpLinkID) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodPost, "/api/v1/payment-links/"+esc(in.ID)+"/publish", nil, nil)
		})
	mcp.AddTool(server, &mcp.Tool{Name: "archive_payment_link", Description: "Archive a payment link: its checkout page takes no more payers."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpLinkID) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodPost, "/api/v1/payment-links/"+esc(in.ID)+"/archive", nil, nil)
		})
	mcp.AddTool(server, &mcp.Tool{Name: "get_balances", Description: "The project's balances (or a user's) per chain and currency: pending, available and held."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpBalances) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodGet, "/api/v1/balances", pageQuery("depositReference", in.DepositReference), nil)
		})
	mcp.AddTool(server, &mcp.Tool{Name: "list_webhook_events", Description: "List the events sent (or to be sent) to the webhook endpoint, with their delivery status."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpListEvents) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodGet, "/api/v1/webhook/events", pageQuery("deliveryStatus", in.DeliveryStatus, "type", in.Type,
				"page", in.Page, "limit", in.Limit), nil)
		})
	if s.cfg.MCPMoneyTools {
		s.addMCPMoneyTools(server, call, esc)
	}
	mcp.AddTool(server, &mcp.Tool{Name: "retry_webhook_event", Description: "Deliver an event to the webhook endpoint again now."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpEventID) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodPost, "/api/v1/webhook/retry/"+esc(in.WebhookEventID), nil, nil)
		})
}

// addMCPMoneyTools offers the withdrawals and sweeps, when the operator enabled them (mcpMoneyTools): each
// needs the API secret (the x-api-secret header of the MCP connection), like its API operation,
// and the withdrawal policy applies as to any other caller.
func (s *Server) addMCPMoneyTools(server *mcp.Server, call func(context.Context, *mcp.CallToolRequest, string, string, url.Values, any) (*mcp.CallToolResult, any, error),
	esc func(string) string) {
	mcp.AddTool(server, &mcp.Tool{Name: "create_withdrawal", Description: "Request a withdrawal (a payout) of amount to address; the amount is held " +
		"at once and nothing is sent until it is approved (or the policy approves it). Needs the API secret."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpCreateWithdrawal) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodPost, "/api/v1/withdrawals", nil, in)
		})
	mcp.AddTool(server, &mcp.Tool{Name: "list_withdrawals", Description: "List withdrawals, newest first. Needs the API secret."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpListWithdrawals) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodGet, "/api/v1/withdrawals", pageQuery("status", in.Status, "depositReference", in.DepositReference,
				"page", in.Page, "limit", in.Limit), nil)
		})
	mcp.AddTool(server, &mcp.Tool{Name: "approve_withdrawal", Description: "Approve a pending withdrawal: it is then sent. Needs the API secret."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpWithdrawalID) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodPost, "/api/v1/withdrawals/"+esc(in.WithdrawalID)+"/approve", nil, nil)
		})
	mcp.AddTool(server, &mcp.Tool{Name: "sweep", Description: "Sweep what paid addresses hold into the project's hot wallet on a chain " +
		"(dryRun: only the plan and its gas estimate). Needs the API secret."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpSweep) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodPost, "/api/v1/sweeps", nil, in)
		})
	mcp.AddTool(server, &mcp.Tool{Name: "reject_withdrawal", Description: "Reject a pending withdrawal: its amount is released. Needs the API secret."},
		func(ctx context.Context, req *mcp.CallToolRequest, in mcpRejectWithdrawal) (*mcp.CallToolResult, any, error) {
			return call(ctx, req, http.MethodPost, "/api/v1/withdrawals/"+esc(in.WithdrawalID)+"/reject", nil, struct {
				Reason string `json:"reason,omitempty"`
			}{in.Reason})
		})
}
