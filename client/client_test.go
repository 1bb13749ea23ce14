package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/client"
	"github.com/stablegate/stablegate/internal/api"
	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/store/sqlite"
	"github.com/stablegate/stablegate/internal/webhook"
)

const abandon = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"

// gatewayServer runs the API over SQLite on loopback, with a watch-only project, and returns its
// URL, the test key pair and the server (for its OpenAPI document).
func gatewayServer(t *testing.T) (string, gateway.KeyPair, *api.Server) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "client.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kr, _ := gateway.NewKeyring(make([]byte, gateway.MasterKeySize))
	svc := &gateway.Service{Store: st, Keyring: kr, WebhookPolicy: webhook.NewPolicy(false)}
	srv := api.New(svc, api.Config{PublicURL: "https://pay.example.com", Version: "test"})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	evm, _ := chain.AccountXPub(abandon, chain.EVM)
	tron, _ := chain.AccountXPub(abandon, chain.TRON)
	cp, err := svc.CreateProject(context.Background(), gateway.CreateProjectParams{Live: true, Name: "Shop", Website: "https://shop.example.com",
		XPubs: map[chain.Protocol]string{chain.EVM: evm, chain.TRON: tron}})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range cp.Keys {
		if k.Mode == gateway.Test {
			return hs.URL, k, srv
		}
	}
	t.Fatal("no test key")
	return "", gateway.KeyPair{}, nil
}

// The client against a running gateway: typed answers, the same reference giving the same
// order, iteration over pages, errors as *client.Error with the API's type and field.
func TestClientAgainstTheGateway(t *testing.T) {
	ctx := context.Background()
	url, key, _ := gatewayServer(t)
	c := client.New(url, key.Key)
	o, err := c.CreateOrder(ctx, client.OrderInput{OrderReference: "c-1", Amount: "10.50", Currency: "USDT", ChainID: "ethereum-sepolia",
		Metadata: []byte(`{"cart":7}`)})
	if err != nil || !strings.HasPrefix(o.OrderID, "ord_") || o.Amount != "10.5" || o.Status != "pending" || o.Decimals != 6 ||
		o.Address != "0x9858EfFD232B4033E47d90003D41EC34EcaEda94" || string(o.Metadata) != `{"cart":7}` || o.ExpiresAt.IsZero() {
		t.Fatalf("CreateOrder = %+v, %v", o, err)
	}
	again, err := c.CreateOrder(ctx, client.OrderInput{OrderReference: "c-1", Amount: "10.50", Currency: "USDT", ChainID: "ethereum-sepolia"})
	if err != nil || again.OrderID != o.OrderID {
		t.Errorf("the same reference again = %+v, %v", again, err)
	}
	for _, ref := range []string{"c-2", "c-3"} {
		if _, err := c.CreateOrder(ctx, client.OrderInput{OrderReference: ref, Amount: "1", Currency: "USDT", ChainID: "ethereum-sepolia"}); err != nil {
			t.Fatal(err)
		}
	}
	var refs []string
	for ord, err := range c.Orders(ctx, client.OrderFilter{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ord.OrderReference)
	}
	if strings.Join(refs, " ") != "c-3 c-2 c-1" {
		t.Errorf("Orders, a page of one at a time = %v", refs)
	}
	got, err := c.GetOrder(ctx, o.OrderID)
	if err != nil || got.OrderReference != "c-1" {
		t.Errorf("GetOrder = %+v, %v", got, err)
	}
	paid, err := c.SimulatePayment(ctx, o.OrderID, "completed", "")
	if err != nil || paid.Status != "completed" || paid.PaidAmount != "10.5" || len(paid.Payments) != 1 || !paid.Payments[0].Simulated {
		t.Errorf("SimulatePayment = %+v, %v", paid, err)
	}
	// Errors.
	_, err = c.CreateOrder(ctx, client.OrderInput{OrderReference: "c-4", Amount: "0", Currency: "USDT", ChainID: "ethereum-sepolia"})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Type != "ValidationError" || apiErr.Param != "amount" || apiErr.Status != 400 || apiErr.RequestID == "" {
		t.Errorf("a zero amount = %v (%+v)", err, apiErr)
	}
	if _, err := c.GetOrder(ctx, "ord_missing"); !client.IsNotFound(err) {
		t.Errorf("GetOrder(missing) = %v", err)
	}
	if _, err := c.CreateWithdrawal(ctx, client.WithdrawalInput{Reference: "w", Amount: "1", Currency: "USDT", ChainID: "ethereum-sepolia",
		Address: "0x1111111111111111111111111111111111111111"}); !errors.As(err, &apiErr) || apiErr.Type != "Unauthorized" || apiErr.Param != "x-api-secret" {
		t.Errorf("a withdrawal without the secret = %v", err)
	}
	if _, err := client.New(url, "pk_test_"+strings.Repeat("x", 32)).GetOrder(ctx, o.OrderID); !errors.As(err, &apiErr) || apiErr.Status != 401 {
		t.Errorf("a wrong key = %v", err)
	}
	// Deposits and balances.
	d, err := c.BindDeposit(ctx, "user-1", "evm")
	if err != nil || !strings.HasPrefix(d.Address, "0x") || !d.Bound {
		t.Fatalf("BindDeposit = %+v, %v", d, err)
	}
	ref, err := c.GetDepositReference(ctx, "user-1")
	if err != nil || ref.Address != d.Address || ref.TotalDeposits != 0 {
		t.Errorf("GetDepositReference = %+v, %v", ref, err)
	}
	if _, err := c.Balances(ctx, ""); err != nil {
		t.Errorf("Balances = %v", err)
	}
	// Payment links: a draft, published, archived.
	link, err := c.CreatePaymentLink(ctx, client.PaymentLinkInput{Title: "T-shirt", Amount: "20", Currencies: []client.LinkCurrency{{Currency: "USDT",
		ChainID: "ethereum-sepolia"}}})
	if err != nil || link.Status != "draft" || !strings.Contains(link.CheckoutURL, link.Slug) {
		t.Fatalf("CreatePaymentLink = %+v, %v", link, err)
	}
	if l, err := c.PublishPaymentLink(ctx, link.ID); err != nil || l.Status != "published" {
		t.Errorf("PublishPaymentLink = %+v, %v", l, err)
	}
	if l, err := c.ArchivePaymentLink(ctx, link.ID); err != nil || l.Status != "archived" {
		t.Errorf("ArchivePaymentLink = %+v, %v", l, err)
	}
	if l, err := c.GetPaymentLink(ctx, link.ID); err != nil || l.Status != "archived" || l.Title != "T-shirt" {
		t.Errorf("GetPaymentLink = %+v, %v", l, err)
	}
	// The simulated payment's events; sending one again needs an endpoint.
	var types []string
	var completed string
	for e, err := range c.WebhookEvents(ctx, client.EventFilter{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, e.Type)
		if e.Type == "order.completed" {
			completed = e.ID
		}
	}
	if completed == "" {
		t.Errorf("webhook events = %v, want an order.completed", types)
	}
	if err := c.RetryWebhookEvent(ctx, completed); !errors.As(err, &apiErr) || apiErr.Type != "Conflict" || apiErr.Param != "url" {
		t.Errorf("RetryWebhookEvent with no endpoint configured = %v", err)
	}
	// The secret opens the withdrawals: the watch-only project has no hot wallet to pay from.
	withSecret := client.New(url, key.Key, client.WithSecret(key.Secret))
	if _, err := withSecret.CreateWithdrawal(ctx, client.WithdrawalInput{Reference: "w", Amount: "1", Currency: "USDT", ChainID: "ethereum-sepolia",
		Address: "0x1111111111111111111111111111111111111111"}); !errors.As(err, &apiErr) || apiErr.Type == "Unauthorized" {
		t.Errorf("a withdrawal with the secret = %v", err)
	}
}

// Every request the client sends is an operation of the OpenAPI document, with its method, and
// every operation of the document is one the client sends.
func TestClientRoutesAreInTheDocument(t *testing.T) {
	url, key, srv := gatewayServer(t)
	var mu sync.Mutex
	var sent []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sent = append(sent, r.Method+" "+r.URL.Path)
		mu.Unlock()
		http.Redirect(w, r, url+r.URL.RequestURI(), http.StatusTemporaryRedirect) // 307 keeps the method and body
	}))
	defer proxy.Close()
	ctx := context.Background()
	c := client.New(proxy.URL, key.Key, client.WithSecret(key.Secret), client.WithRetries(0, time.Millisecond))
	c.CreateOrder(ctx, client.OrderInput{OrderReference: "r", Amount: "1", Currency: "USDT", ChainID: "ethereum-sepolia"})
	c.GetOrder(ctx, "ord_x")
	c.ListOrders(ctx, client.OrderFilter{}, 1)
	c.SimulatePayment(ctx, "ord_x", "completed", "")
	c.BindDeposit(ctx, "u", "evm")
	c.GetDepositReference(ctx, "u")
	c.Balances(ctx, "u")
	c.CreateWithdrawal(ctx, client.WithdrawalInput{})
	c.GetWithdrawal(ctx, "wdr_x")
	c.ResolveOrder(ctx, "ord_x", "invalid", "test")
	c.ApproveWithdrawal(ctx, "wdr_x")
	c.RejectWithdrawal(ctx, "wdr_x", "no")
	c.CreatePaymentLink(ctx, client.PaymentLinkInput{})
	c.GetPaymentLink(ctx, "lnk_x")
	c.PublishPaymentLink(ctx, "lnk_x")
	c.ArchivePaymentLink(ctx, "lnk_x")
	c.ListWebhookEvents(ctx, client.EventFilter{}, 2)
	c.RetryWebhookEvent(ctx, "evt_x")
	c.ListDeposits(ctx, client.DepositFilter{Status: "confirmed"}, 1)
	c.UnbindDeposit(ctx, "u")
	c.ListPaymentLinks(ctx, 5, 1)
	c.GetWebhookEndpoint(ctx)
	c.PutWebhookEndpoint(ctx, client.WebhookEndpointInput{URL: "https://hooks.example.com"})
	c.DeleteWebhookEndpoint(ctx)
	c.GetWebhookSecret(ctx)
	c.RotateWebhookSecret(ctx)
	c.ListWithdrawals(ctx, client.WithdrawalFilter{}, 1)
	c.GetWithdrawalPolicy(ctx)
	c.PutWithdrawalPolicy(ctx, client.WithdrawalPolicyInput{})
	c.ListWithdrawalDestinations(ctx)
	c.AddWithdrawalDestination(ctx, "0x52908400098527886E0F7030069857D2E4169EE7", "", "")
	c.RemoveWithdrawalDestination(ctx, "0x52908400098527886E0F7030069857D2E4169EE7", "evm")
	c.CreateSweep(ctx, client.SweepInput{ChainID: "ethereum-sepolia", DryRun: true})
	c.ListSweeps(ctx, 5)
	c.GetSweep(ctx, "swp_x")
	c.ListOutgoingTransactions(ctx, client.OutgoingFilter{})
	c.GetOutgoingTransaction(ctx, "otx_x")
	c.ListWallets(ctx)
	c.ListTreasuries(ctx)
	c.PutTreasury(ctx, "ethereum-sepolia", "0x52908400098527886E0F7030069857D2E4169EE7", "")
	c.DeleteTreasury(ctx, "ethereum-sepolia")
	c.GetAddressPool(ctx)
	c.ImportAddressPool(ctx, "evm", nil)
	c.CheckTransaction(ctx, "ethereum-sepolia", "0x12")
	c.GetProject(ctx)
	c.UpdateProject(ctx, client.ProjectUpdate{})
	c.ListAuditLog(ctx, "", 0, 1)
	c.ListChains(ctx)
	c.Health(ctx)
	doc := srv.API.OpenAPI()
	var templates []*regexp.Regexp
	param := regexp.MustCompile(`\{[^}]+\}`)
	for path, item := range doc.Paths {
		for method, op := range map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "PUT": item.Put, "PATCH": item.Patch, "DELETE": item.Delete} {
			if op == nil || slices.Contains(op.Tags, "3PAY") { // the compatibility surfaces are for 3PAY's own clients
				continue
			}
			pattern := strings.ReplaceAll(regexp.QuoteMeta(param.ReplaceAllString(path, "PARAM")), "PARAM", "[^/]+")
			templates = append(templates, regexp.MustCompile("^"+method+" "+pattern+"$"))
		}
	}
	// Every request is an operation, and every operation has its method.
	used := make([]bool, len(templates))
	for _, s := range sent {
		found := false
		for i, re := range templates {
			if re.MatchString(s) {
				found, used[i] = true, true
			}
		}
		if !found {
			t.Errorf("%s is no operation of the OpenAPI document", s)
		}
	}
	for i, re := range templates {
		if !used[i] {
			t.Errorf("the client has no method for the operation %s", re)
		}
	}
}
