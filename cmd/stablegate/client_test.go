package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stablegate/stablegate/client"
)

// The Go client against a live `stablegate dev`, every operation of the API through it, on the
// path a merchant's integration takes: settings, an order paid on the devnet, a test-mode
// simulation, a user's deposit, a payment link, the webhook endpoint and its secret (a delivery
// verified with client.VerifyWebhook), a sweep into the hot wallet, a withdrawal approved and sent,
// the treasury, the address pool, a transaction check, the audit log, and the errors on the way.
func TestClientEveryOperationAgainstDev(t *testing.T) {
	ctx := context.Background()
	creds, dir := startDev(t, "--block-time", "300ms")
	c := client.New(creds.BaseURL, creds.APIKey, client.WithSecret(creds.APISecret))
	keyOnly := client.New(creds.BaseURL, creds.APIKey)
	var apiErr *client.Error
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	until := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(150 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never happened", what)
			}
		}
	}
	pay := func(to, amount string) {
		t.Helper()
		if _, _, err := runCLI(t, "dev", "pay", "--to", to, "--amount", amount, "--currency", "USDT", "--data", dir); err != nil {
			t.Fatal(err)
		}
	}

	// Health: degraded until the scanner's first step, then healthy.
	var h *client.Health
	until("a healthy gateway", func() bool {
		var err error
		h, err = c.Health(ctx)
		return err == nil && h.Status == "healthy"
	})
	if len(h.Chains) != 1 || h.Chains[0].Chain != "devnet" || h.Webhooks == nil {
		t.Fatalf("Health = %+v", h)
	}
	// The project and its settings; the chains.
	p, err := c.GetProject(ctx)
	if err != nil || p.ProjectID != creds.ProjectID || p.Livemode || p.WatchOnly {
		t.Fatalf("GetProject = %+v, %v", p, err)
	}
	window := 15
	if _, err := keyOnly.UpdateProject(ctx, client.ProjectUpdate{PaymentWindowMinutes: &window}); !errors.As(err, &apiErr) || apiErr.Param != "x-api-secret" {
		t.Errorf("UpdateProject with the key alone = %v", err)
	}
	if p, err := c.UpdateProject(ctx, client.ProjectUpdate{PaymentWindowMinutes: &window}); err != nil || p.PaymentWindowMinutes != 15 {
		t.Errorf("UpdateProject = %+v, %v", p, err)
	}
	chains, err := c.ListChains(ctx)
	if err != nil || len(chains) != 1 || chains[0].ChainID != "devnet" || !slices.ContainsFunc(chains[0].Tokens, func(tk client.Token) bool {
		return tk.Currency == "USDT" && tk.Decimals == 6
	}) {
		t.Fatalf("ListChains = %+v, %v", chains, err)
	}

	// The webhook endpoint, its secret rotated (shown in full once), a delivery verified.
	var mu sync.Mutex
	var delivered []string
	secret := ""
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if secret != "" {
			if _, err := client.VerifyWebhook(secret, client.SchemeStandard, r.Header, body, time.Now()); err != nil {
				t.Errorf("a delivery does not verify: %v", err)
			}
		}
		delivered = append(delivered, r.Header.Get("webhook-id"))
	}))
	defer receiver.Close()
	if _, err := keyOnly.PutWebhookEndpoint(ctx, client.WebhookEndpointInput{URL: receiver.URL}); !errors.As(err, &apiErr) || apiErr.Status != 401 {
		t.Errorf("PutWebhookEndpoint with the key alone = %v", err)
	}
	if e, err := c.PutWebhookEndpoint(ctx, client.WebhookEndpointInput{URL: receiver.URL, Events: []string{"order.completed"}}); err != nil || !e.Enabled || e.URL != receiver.URL {
		t.Fatalf("PutWebhookEndpoint = %+v, %v", e, err)
	}
	if e, err := c.GetWebhookEndpoint(ctx); err != nil || !slices.Equal(e.Events, []string{"order.completed"}) || e.Format != "payin" {
		t.Errorf("GetWebhookEndpoint = %+v, %v", e, err)
	}
	rotated, err := c.RotateWebhookSecret(ctx)
	must("RotateWebhookSecret", err)
	masked, err := c.GetWebhookSecret(ctx)
	if err != nil || masked.Secret == rotated.Secret || !strings.HasSuffix(rotated.Secret, masked.Secret[strings.LastIndex(masked.Secret, "*")+1:]) {
		t.Errorf("GetWebhookSecret = %+v (rotated %q), %v", masked, rotated.Secret, err)
	}
	mu.Lock()
	secret = rotated.Secret
	mu.Unlock()
	if _, err := c.PutWebhookEndpoint(ctx, client.WebhookEndpointInput{URL: receiver.URL}); err != nil { // all events again
		t.Fatal(err)
	}

	// An order paid on the devnet, found by reference and by iteration.
	o, err := c.CreateOrder(ctx, client.OrderInput{OrderReference: "client-1", Amount: "12.5", Currency: "USDT", ChainID: "devnet"})
	if err != nil || o.PaymentWindowMinutes != 15 || o.Decimals != 6 {
		t.Fatalf("CreateOrder = %+v, %v", o, err)
	}
	pay(o.Address, "12.5")
	until("the order's completion", func() bool { got, err := c.GetOrder(ctx, o.OrderID); return err == nil && got.Status == "completed" })
	if got, _, err := c.ListOrders(ctx, client.OrderFilter{OrderReference: "client-1"}, 1); err != nil || len(got) != 1 || got[0].TxHash == "" {
		t.Errorf("ListOrders by reference = %+v, %v", got, err)
	}
	// A test-mode simulation of another order.
	o2, err := c.CreateOrder(ctx, client.OrderInput{OrderReference: "client-2", Amount: "1", Currency: "USDC", ChainID: "devnet"})
	must("CreateOrder", err)
	if sim, err := c.SimulatePayment(ctx, o2.OrderID, "underpaid", "0.5"); err != nil || sim.Status != "underpaid" {
		t.Errorf("SimulatePayment = %+v, %v", sim, err)
	}
	var refs []string
	for ord, err := range c.Orders(ctx, client.OrderFilter{Limit: 1}) {
		must("Orders", err)
		refs = append(refs, ord.OrderReference)
	}
	if len(refs) < 2 || refs[0] != "client-2" || refs[1] != "client-1" { // newest first, after dev's own demo order
		t.Errorf("Orders iterated over %v", refs)
	}

	// A user's deposit address, paid, read back, unbound.
	d, err := c.BindDeposit(ctx, "user-7", "evm")
	must("BindDeposit", err)
	pay(d.Address, "3")
	until("the deposit's confirmation", func() bool {
		ds, _, err := c.ListDeposits(ctx, client.DepositFilter{DepositReference: "user-7", Status: "confirmed"}, 1)
		return err == nil && len(ds) == 1 && ds[0].Amount == "3"
	})
	if ref, err := c.GetDepositReference(ctx, "user-7"); err != nil || ref.TotalDeposits != 1 || ref.Totals["USDT"] != "3" {
		t.Errorf("GetDepositReference = %+v, %v", ref, err)
	}
	if b, err := c.Balances(ctx, "user-7"); err != nil || len(b) != 1 || b[0].Available != "3" {
		t.Errorf("Balances(user-7) = %+v, %v", b, err)
	}
	for dep, err := range c.Deposits(ctx, client.DepositFilter{}) {
		if err != nil || dep.DepositReference != "user-7" {
			t.Errorf("Deposits = %+v, %v", dep, err)
		}
	}
	if u, err := c.UnbindDeposit(ctx, "user-7"); err != nil || u.Bound {
		t.Errorf("UnbindDeposit = %+v, %v", u, err)
	}

	// A payment link: listed, read.
	l, err := c.CreatePaymentLink(ctx, client.PaymentLinkInput{Title: "Sticker", Amount: "2", Currencies: []client.LinkCurrency{{Currency: "USDT", ChainID: "devnet"}}})
	must("CreatePaymentLink", err)
	if _, err := c.PublishPaymentLink(ctx, l.ID); err != nil {
		t.Error(err)
	}
	if links, pg, err := c.ListPaymentLinks(ctx, 10, 1); err != nil || len(links) != 1 || links[0].Status != "published" || pg.Total != 1 {
		t.Errorf("ListPaymentLinks = %+v %+v, %v", links, pg, err)
	}
	for got, err := range c.PaymentLinks(ctx) {
		if err != nil || got.ID != l.ID {
			t.Errorf("PaymentLinks = %+v, %v", got, err)
		}
	}
	if got, err := c.ArchivePaymentLink(ctx, l.ID); err != nil || got.Status != "archived" {
		t.Errorf("ArchivePaymentLink = %+v, %v", got, err)
	}
	if got, err := c.GetPaymentLink(ctx, l.ID); err != nil || got.Status != "archived" {
		t.Errorf("GetPaymentLink = %+v, %v", got, err)
	}

	// Webhook events: the completion was delivered, and is sent again on request.
	var completed string
	until("the order.completed delivery", func() bool {
		for e, err := range c.WebhookEvents(ctx, client.EventFilter{Type: "order.completed"}) {
			if err == nil && e.DeliveryStatus == "delivered" {
				completed = e.ID
				return true
			}
		}
		return false
	})
	must("RetryWebhookEvent", c.RetryWebhookEvent(ctx, completed))
	until("the retried delivery", func() bool { // the first delivery and the one asked for
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, id := range delivered {
			if id == completed {
				n++
			}
		}
		return n == 2
	})

	// A sweep: planned, then made, into the hot wallet.
	wallets, err := c.ListWallets(ctx)
	if err != nil || len(wallets) != 1 || wallets[0].ChainID != "devnet" || wallets[0].Native == nil {
		t.Fatalf("ListWallets = %+v, %v", wallets, err)
	}
	plan, err := c.CreateSweep(ctx, client.SweepInput{ChainID: "devnet", Currency: "USDT", DryRun: true})
	if err != nil || !plan.DryRun || len(plan.Sweeps) != 1 || plan.Sweeps[0].Amount != "15.5" {
		t.Fatalf("CreateSweep dry run = %+v, %v", plan, err)
	}
	if _, err := keyOnly.CreateSweep(ctx, client.SweepInput{ChainID: "devnet"}); !errors.As(err, &apiErr) || apiErr.Status != 401 {
		t.Errorf("CreateSweep with the key alone = %v", err)
	}
	plan, err = c.CreateSweep(ctx, client.SweepInput{ChainID: "devnet", Currency: "USDT"})
	if err != nil || plan.DryRun || len(plan.Sweeps) != 1 {
		t.Fatalf("CreateSweep = %+v, %v", plan, err)
	}
	sweepID := plan.Sweeps[0].SweepID
	until("the sweep's completion", func() bool { s, err := c.GetSweep(ctx, sweepID); return err == nil && s.Status == "completed" })
	if sweeps, err := c.ListSweeps(ctx, 0); err != nil || len(sweeps) != 1 || sweeps[0].Moved != "15.5" {
		t.Errorf("ListSweeps = %+v, %v", sweeps, err)
	}

	// A withdrawal from the project's balance: requested, approved, sent; another rejected.
	policy, err := c.GetWithdrawalPolicy(ctx)
	if err != nil || policy.AutoApproveBelow != "" {
		t.Errorf("GetWithdrawalPolicy = %+v, %v", policy, err)
	}
	cooling := 0
	if got, err := c.PutWithdrawalPolicy(ctx, client.WithdrawalPolicyInput{CoolingPeriodMinutes: &cooling}); err != nil || got.CoolingPeriodMinutes != 0 {
		t.Errorf("PutWithdrawalPolicy = %+v, %v", got, err)
	}
	to := "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
	if dest, err := c.AddWithdrawalDestination(ctx, to, "evm", "payouts"); err != nil || dest.Label != "payouts" || !dest.Usable {
		t.Errorf("AddWithdrawalDestination = %+v, %v", dest, err)
	}
	if dests, err := c.ListWithdrawalDestinations(ctx); err != nil || len(dests) != 1 {
		t.Errorf("ListWithdrawalDestinations = %+v, %v", dests, err)
	}
	w, err := c.CreateWithdrawal(ctx, client.WithdrawalInput{Reference: "payout-1", Amount: "4", Currency: "USDT", ChainID: "devnet", Address: to})
	if err != nil || w.Status != "pending_approval" {
		t.Fatalf("CreateWithdrawal = %+v, %v", w, err)
	}
	if _, err := keyOnly.ApproveWithdrawal(ctx, w.WithdrawalID); !errors.As(err, &apiErr) || apiErr.Status != 401 {
		t.Errorf("ApproveWithdrawal with the key alone = %v", err)
	}
	if got, err := c.ApproveWithdrawal(ctx, w.WithdrawalID); err != nil || len(got.Approvals) != 1 {
		t.Fatalf("ApproveWithdrawal = %+v, %v", got, err)
	}
	var sent *client.Withdrawal
	until("the withdrawal's completion", func() bool {
		sent, err = c.GetWithdrawal(ctx, w.WithdrawalID)
		return err == nil && sent.Status == "completed"
	})
	if sent.TxHash == "" || sent.Transaction == nil || sent.Transaction.Status != "confirmed" || len(sent.History) < 3 {
		t.Errorf("the completed withdrawal = %+v", sent)
	}
	if tx, err := c.GetOutgoingTransaction(ctx, sent.OutgoingTransactionID); err != nil || tx.TxHash != sent.TxHash || len(tx.Attempts) == 0 {
		t.Errorf("GetOutgoingTransaction = %+v, %v", tx, err)
	}
	if txs, err := c.ListOutgoingTransactions(ctx, client.OutgoingFilter{Purpose: "withdrawal"}); err != nil || len(txs) != 1 {
		t.Errorf("ListOutgoingTransactions = %+v, %v", txs, err)
	}
	w2, err := c.CreateWithdrawal(ctx, client.WithdrawalInput{Reference: "payout-2", Amount: "1", Currency: "USDT", ChainID: "devnet", Address: to})
	must("CreateWithdrawal", err)
	if got, err := c.RejectWithdrawal(ctx, w2.WithdrawalID, "duplicate"); err != nil || got.Status != "rejected" || got.Reason != "duplicate" {
		t.Errorf("RejectWithdrawal = %+v, %v", got, err)
	}
	if ws, _, err := c.ListWithdrawals(ctx, client.WithdrawalFilter{Status: "completed"}, 1); err != nil || len(ws) != 1 || ws[0].Reference != "payout-1" {
		t.Errorf("ListWithdrawals = %+v, %v", ws, err)
	}
	n := 0
	for _, err := range c.Withdrawals(ctx, client.WithdrawalFilter{Limit: 1}) {
		must("Withdrawals", err)
		n++
	}
	if n != 2 {
		t.Errorf("Withdrawals iterated over %d", n)
	}
	if _, err := c.CreateWithdrawal(ctx, client.WithdrawalInput{Reference: "payout-3", Amount: "1000000", Currency: "USDT", ChainID: "devnet",
		Address: to}); !errors.As(err, &apiErr) || apiErr.Type != "InsufficientFunds" {
		t.Errorf("a withdrawal of more than the balance = %v", err)
	}
	if left, err := c.RemoveWithdrawalDestination(ctx, to, "evm"); err != nil || len(left) != 0 {
		t.Errorf("RemoveWithdrawalDestination = %+v, %v", left, err)
	}

	// The treasury, the address pool, a transaction check.
	if tr, err := c.PutTreasury(ctx, "devnet", to, "100"); err != nil || tr.Ceiling != "100" {
		t.Errorf("PutTreasury = %+v, %v", tr, err)
	}
	if trs, err := c.ListTreasuries(ctx); err != nil || len(trs) != 1 || trs[0].Address != to {
		t.Errorf("ListTreasuries = %+v, %v", trs, err)
	}
	if left, err := c.DeleteTreasury(ctx, "devnet"); err != nil || len(left) != 0 {
		t.Errorf("DeleteTreasury = %+v, %v", left, err)
	}
	if imp, err := c.ImportAddressPool(ctx, "evm", []string{"0x52908400098527886E0F7030069857D2E4169EE7"}); err != nil || imp.Imported != 1 {
		t.Errorf("ImportAddressPool = %+v, %v", imp, err)
	}
	if pools, err := c.GetAddressPool(ctx); err != nil || !slices.ContainsFunc(pools, func(p client.AddressPool) bool { return p.Protocol == "evm" && p.Available == 1 }) {
		t.Errorf("GetAddressPool = %+v, %v", pools, err)
	}
	if chk, err := c.CheckTransaction(ctx, "devnet", sent.TxHash); err != nil || chk.TxHash != sent.TxHash || chk.Outcome == "" {
		t.Errorf("CheckTransaction = %+v, %v", chk, err)
	}
	if _, err := c.CheckTransaction(ctx, "devnet", "0x12"); !errors.As(err, &apiErr) || apiErr.Type != "ValidationError" || apiErr.Param != "txHash" {
		t.Errorf("CheckTransaction of a short hash = %v", err)
	}

	// The audit log holds what the secret did, newest first.
	var actions []string
	for e, err := range c.AuditLog(ctx, "") {
		must("AuditLog", err)
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"project.updated", "webhook.url_set", "withdrawal.approved", "treasury.set"} {
		if !slices.Contains(actions, want) {
			t.Errorf("the audit log has no %s: %v", want, actions)
		}
	}
	if entries, _, err := c.ListAuditLog(ctx, "withdrawal.rejected", 5, 1); err != nil || len(entries) != 1 || entries[0].Actor.Type != "api_key" {
		t.Errorf("ListAuditLog(withdrawal.rejected) = %+v, %v", entries, err)
	}
	if _, err := c.DeleteWebhookEndpoint(ctx); err != nil {
		t.Error(err)
	}
	if e, err := c.GetWebhookEndpoint(ctx); err != nil || e.Enabled || e.URL != "" {
		t.Errorf("after DeleteWebhookEndpoint = %+v, %v", e, err)
	}
}
