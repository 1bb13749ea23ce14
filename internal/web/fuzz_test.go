package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/web"
)

// FuzzPages sends arbitrary ids, slugs and form bodies to the payer-facing routes (the live status
// stream aside: it waits for the order): no input may produce a 5xx or a panic.
func FuzzPages(f *testing.F) {
	svc, _, prs := setupOn(f, fuzzEngine())
	h := web.New(svc, web.Config{})
	o := order(f, svc, prs[gateway.Test], "devnet", "USDT")
	l, err := svc.CreatePaymentLink(context.Background(), prs[gateway.Test], gateway.PaymentLinkInput{Title: "Ticket", Amount: "0",
		Currencies: []gateway.LinkCurrency{{Currency: "USDT", ChainID: "devnet"}, {Currency: "USDC", ChainID: "ethereum-sepolia"}}})
	if err != nil {
		f.Fatal(err)
	}
	if l, err = svc.PublishPaymentLink(context.Background(), prs[gateway.Test], l.ID); err != nil {
		f.Fatal(err)
	}
	routes := []struct{ method, path string }{
		{"GET", "/pay/{}"}, {"GET", "/pay/{}/status"}, {"GET", "/pay/{}/qr.png"}, {"POST", "/pay/{}/simulate"},
		{"POST", "/pay/{}/devpay"}, {"GET", "/checkout/{}"}, {"POST", "/checkout/{}"}, {"GET", "/assets/{}"},
	}
	for i := range routes {
		f.Add(uint8(i), o.ID, "outcome=completed")
		f.Add(uint8(i), l.Slug, "option=USDT%40devnet&amount=12.5")
	}
	for _, form := range []string{"option=USDC%40ethereum-sepolia&amount=0.0000001", "option=DAI%40devnet&amount=1", "option=%40&amount=-1",
		"amount=1e9&option=USDT%40devnet", "outcome=expired", "outcome=underpaid", "%zz", "option=USDT%40devnet&amount=" + strings.Repeat("9", 90)} {
		f.Add(uint8(6), l.Slug, form)
		f.Add(uint8(3), o.ID, form)
	}
	f.Fuzz(func(t *testing.T, which uint8, id, form string) {
		r := routes[int(which)%len(routes)]
		req, err := http.NewRequest(r.method, "http://localhost"+strings.Replace(r.path, "{}", url.PathEscape(id), 1), strings.NewReader(form))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", r.method, req.URL.Path, form, rec.Code, rec.Body)
		}
	})
}
