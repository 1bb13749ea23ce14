package api_test

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

// sharedOn turns on the shared address for devnet's orders, with the offsets given (empty: the
// defaults), and returns the project's view of it.
func (e *env) sharedOn(step, most string) response {
	e.t.Helper()
	setting := `{"enabled":true`
	if step != "" {
		setting += `,"step":"` + step + `","maxOffset":"` + most + `"`
	}
	return e.as(e.test, "PATCH", "/api/v1/project", `{"sharedAddress":{"devnet":`+setting+`}}}`, "x-api-secret", e.test.Secret)
}

// sharedPayment is a transfer to the shared address as the scanner hands it over.
func (e *env) sharedPayment(to, tx string, amount *big.Int, at time.Time) *gateway.Transfer {
	return &gateway.Transfer{ProjectID: e.project.Project.ID, Mode: gateway.Test, ChainID: "devnet", TxHash: tx, BlockNumber: 5, BlockHash: "0x5", Token: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
		Currency: "USDT", From: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", To: to, Amount: amount, Shared: true, BlockTime: at, SeenAt: at}
}

func (e *env) scan(trs ...*gateway.Transfer) {
	e.t.Helper()
	if err := e.svc.ApplyScan(context.Background(), &gateway.ScanBatch{ChainID: "devnet", From: 10, To: 9, Head: 20, Required: 1,
		Transfers: trs, Now: time.Now()}); err != nil {
		e.t.Fatal(err)
	}
}

func TestSharedAddressSetting(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		if r := e.as(e.test, "PATCH", "/api/v1/project", `{"sharedAddress":{"devnet":{"enabled":true}}}`); r.status != 401 {
			t.Fatalf("without the secret: %d %s", r.status, r.raw)
		}
		for body, want := range map[string]string{
			`{"sharedAddress":{"mars":{"enabled":true}}}`:                                      `chain "mars"`,
			`{"sharedAddress":{"devnet":{"enabled":true,"step":"0.0000001"}}}`:                 "step has more decimal places",
			`{"sharedAddress":{"devnet":{"enabled":true,"step":"0.01","maxOffset":"2"}}}`:      "at most 1",
			`{"sharedAddress":{"devnet":{"enabled":true,"step":"0.01","maxOffset":"0.001"}}}`:  "at least the step",
			`{"sharedAddress":{"devnet":{"enabled":true,"step":"-1"}}}`:                        "step",
			`{"sharedAddress":{"devnet":{"enabled":true,"step":"0.01","maxOffset":"0.5e-1"}}}`: "maxOffset",
		} {
			r := e.as(e.test, "PATCH", "/api/v1/project", body, "x-api-secret", e.test.Secret)
			if r.status != 400 || r.str("param") != "sharedAddress" || !strings.Contains(r.str("message"), want) {
				t.Errorf("%s: %d %s (want 400 on sharedAddress saying %q)", body, r.status, r.raw, want)
			}
		}
		r := e.sharedOn("", "")
		got, _ := r.data()["sharedAddress"].(map[string]any)["devnet"].(map[string]any)
		if r.status != 200 || got["step"] != "0.0001" || got["maxOffset"] != "0.0999" || got["enabled"] != true {
			t.Fatalf("turned on with the defaults: %d %s", r.status, r.raw)
		}
		r = e.as(e.test, "PATCH", "/api/v1/project", `{"sharedAddress":{"devnet":{"enabled":false}}}`, "x-api-secret", e.test.Secret)
		if r.status != 200 || len(r.data()["sharedAddress"].(map[string]any)) != 0 {
			t.Fatalf("turned off: %d %s", r.status, r.raw)
		}
		o := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"own","amount":"50","currency":"USDT","chainId":"devnet"}`)
		if o.status != 201 || o.data()["payAmount"] != "50" {
			t.Fatalf("an order once turned off: %d %s (want its own address, payAmount = amount)", o.status, o.raw)
		}
	})
}

// Fifty orders of one price created at once on one shared address: each gets the address and a
// pay amount of its own, within the bounds; an exact payment completes its order alone, any other
// amount is recorded as unmatched and credits nobody.
func TestSharedAddressConcurrentCreatesAndMatching(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		if r := e.sharedOn("", ""); r.status != 200 {
			t.Fatalf("turn on: %d %s", r.status, r.raw)
		}
		if r := e.as(e.test, "PUT", "/api/v1/webhook/endpoint", `{"url":"https://93.184.216.34/hooks","events":["payment.unmatched"]}`,
			"x-api-secret", e.test.Secret); r.status != 200 {
			t.Fatalf("endpoint: %d %s", r.status, r.raw)
		}
		const n = 50
		orders := make([]map[string]any, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r := e.as(e.test, "POST", "/api/v1/orders", fmt.Sprintf(`{"orderReference":"shared-%d","amount":"50.00","currency":"USDT","chainId":"devnet"}`, i))
				if r.status != 201 {
					t.Errorf("create %d: %d %s", i, r.status, r.raw)
				}
				orders[i] = r.data()
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		address := orders[0]["address"].(string)
		seen := map[string]string{}
		for _, o := range orders {
			pay := o["payAmount"].(string)
			v, err := money.ParsePositive(pay, 6)
			if o["address"] != address || o["amount"] != "50" || err != nil || v.Cmp(big.NewInt(50_000_100)) < 0 || v.Cmp(big.NewInt(50_099_900)) > 0 ||
				v.Int64()%100 != 0 {
				t.Fatalf("order %s: address %s amount %s payAmount %s (want %s, 50, 50.0001 to 50.0999 in steps of 0.0001)", o["orderId"],
					o["address"], o["amount"], pay, address)
			}
			if other, dup := seen[pay]; dup {
				t.Fatalf("orders %s and %s share the pay amount %s", other, o["orderId"], pay)
			}
			seen[pay] = o["orderId"].(string)
		}

		// A replayed create, and ten of one new reference at once, are each one order holding one
		// pay amount: the losers of the reference's race hold nothing.
		if again := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"shared-0","amount":"50.00","currency":"USDT","chainId":"devnet"}`); again.status != 200 ||
			again.data()["orderId"] != seen[again.data()["payAmount"].(string)] || again.data()["payAmount"] != orders[0]["payAmount"] {
			t.Fatalf("a replayed create: %d %s", again.status, again.raw)
		}
		same := make([]string, 10)
		for i := range same {
			wg.Go(func() {
				r := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"shared-same","amount":"50.00","currency":"USDT","chainId":"devnet"}`)
				same[i] = fmt.Sprint(r.status, r.data()["orderId"], r.data()["payAmount"])
			})
		}
		wg.Wait()
		var held int
		if err := e.store.DB().QueryRow(`SELECT COUNT(*) FROM amount_reservations`).Scan(&held); err != nil || held != n+1 {
			t.Fatalf("%d pay amounts held after %d orders, %v", held, n+1, err)
		}
		for _, r := range same[1:] {
			if strings.TrimPrefix(strings.TrimPrefix(r, "200"), "201") != strings.TrimPrefix(strings.TrimPrefix(same[0], "200"), "201") {
				t.Fatalf("ten creates of one reference: %q", same)
			}
		}

		first := orders[0]
		exact, _ := money.ParsePositive(first["payAmount"].(string), 6)
		wrong := new(big.Int).Add(exact, big.NewInt(1))
		for seen[money.Format(wrong, 6)] != "" {
			wrong.Add(wrong, big.NewInt(1))
		}
		now := time.Now()
		e.scan(e.sharedPayment(address, "0x01", exact, now), e.sharedPayment(address, "0x02", wrong, now),
			e.sharedPayment(address, "0x03", big.NewInt(50_000_000), now))
		r := e.as(e.test, "GET", "/api/v1/orders/"+first["orderId"].(string), "")
		if r.data()["status"] != "completed" || r.data()["paidAmount"] != first["payAmount"] || r.data()["overpaid"] != false {
			t.Fatalf("the order paid its exact pay amount: %s", r.raw)
		}
		completed := 0
		for _, o := range orders {
			if r := e.as(e.test, "GET", "/api/v1/orders/"+o["orderId"].(string), ""); r.data()["paidAmount"] != "0" {
				completed++
			}
		}
		if completed != 1 {
			t.Fatalf("%d orders were credited by one exact payment and two others (want 1)", completed)
		}
		ev := e.as(e.test, "GET", "/api/v1/webhook/events?type=payment.unmatched", "")
		events, _ := ev.data()["events"].([]any)
		if ev.status != 200 || len(events) != 2 {
			t.Fatalf("unmatched events: %d %s (want the two other amounts)", ev.status, ev.raw)
		}
		amounts := map[any]bool{}
		for _, x := range events {
			d := x.(map[string]any)["data"].(map[string]any)
			amounts[d["amount"]] = d["address"] == address
		}
		if !amounts[money.Format(wrong, 6)] || !amounts["50"] {
			t.Errorf("unmatched events' amounts: %v", amounts)
		}
		for tx, want := range map[string]string{"0x01": first["orderId"].(string), "0x02": "", "0x03": ""} {
			tr, err := e.store.FindTransfer(context.Background(), "devnet", tx, 0)
			if err != nil || tr.OrderID != want || tr.Credited() != (want != "") {
				t.Errorf("transfer %s stored as order %q credited %v, %v (want order %q)", tx, tr.OrderID, tr.Credited(), err, want)
			}
		}
	})
}

// A pay amount is held until an hour after its order's deadline (and the skew): another order of
// the price cannot have it before; after, a new order takes it over, and a payment made for the
// old holder is not the new one's.
func TestSharedAddressHoldAndTakeOver(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		e := setup(t, engine, "https://shop.example.com")
		var clock atomic.Int64
		start := time.Now().Truncate(time.Millisecond)
		clock.Store(start.UnixMilli())
		e.svc.Now = func() time.Time { return time.UnixMilli(clock.Load()) }
		if r := e.sharedOn("0.01", "0.03"); r.status != 200 {
			t.Fatalf("turn on: %d %s", r.status, r.raw)
		}
		create := func(ref string) response {
			return e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"`+ref+`","amount":"9.99","currency":"USDT","chainId":"devnet","paymentWindowMinutes":10,"graceMinutes":5}`)
		}
		held := map[any]bool{}
		for i := range 3 {
			r := create(fmt.Sprint("held-", i))
			if r.status != 201 || held[r.data()["payAmount"]] {
				t.Fatalf("order %d of 3 offsets: %d %s", i, r.status, r.raw)
			}
			held[r.data()["payAmount"]] = true
		}
		before := e.orderCount(gateway.Test)
		holdEnds := start.Add(15*time.Minute + gateway.SharedHold + gateway.ReservationSkew)
		clock.Store(holdEnds.UnixMilli())
		r := create("one-too-many")
		if r.status != 409 || r.str("error") != gateway.EInsufficientAmounts || !strings.Contains(r.str("message"), "9.99 USDT") ||
			e.orderCount(gateway.Test) != before {
			t.Fatalf("a fourth order while the three hold every offset: %d %s", r.status, r.raw)
		}
		clock.Store(holdEnds.Add(time.Second).UnixMilli())
		r = create("takes-over")
		if r.status != 201 || !held[r.data()["payAmount"]] {
			t.Fatalf("an order once the holds ended: %d %s", r.status, r.raw)
		}
		pay, _ := money.ParsePositive(r.data()["payAmount"].(string), 6)
		// The old holder's payer paid within its hold, and the scanner reads it only now.
		e.scan(e.sharedPayment(r.data()["address"].(string), "0x0a", pay, start.Add(time.Hour)))
		if got := e.as(e.test, "GET", "/api/v1/orders/"+r.data()["orderId"].(string), ""); got.data()["paidAmount"] != "0" {
			t.Fatalf("the new holder was credited with a payment made before it existed: %s", got.raw)
		}
		e.scan(e.sharedPayment(r.data()["address"].(string), "0x0b", pay, holdEnds.Add(time.Minute)))
		if got := e.as(e.test, "GET", "/api/v1/orders/"+r.data()["orderId"].(string), ""); got.data()["status"] != "completed" {
			t.Fatalf("the new holder's own payment: %s", got.raw)
		}
	})
}
