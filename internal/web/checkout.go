package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/stablegate/stablegate/internal/gateway"
)

var checkoutPage = template.Must(template.New("checkout.html").ParseFS(assets, "assets/checkout.html"))

type option struct{ Value, Label string }

type checkoutView struct {
	Link          *gateway.PaymentLink
	Merchant      gateway.Merchant
	Options       []option
	Custom, Test  bool
	Closed, Error string
	Amount        string
	// Left is how many units the link still has, when it has an inventory (nil: unlimited).
	Left *int
}

// payerError says what went wrong in the payer's words, not the API's: what to type or choose.
func (h *Handler) payerError(e *gateway.Error, currency, chainID string) string {
	switch e.Param {
	case "amount":
		tok, ok := h.svc.ChainRegistry().Token(chainID, currency)
		if !ok {
			return "Enter an amount like 10.50."
		}
		return fmt.Sprintf("Enter an amount like 10.50: a number greater than 0, with at most %d decimals.", tok.Decimals)
	case "currency", "chainId":
		return "Choose one of the ways to pay above."
	}
	return e.Message
}

// checkout serves a payment link's page: the payer picks a currency and network (and the amount
// when the link leaves it to them); posting creates the order and goes to its payment page.
func (h *Handler) checkout(w http.ResponseWriter, r *http.Request) {
	l, err := h.svc.PublicPaymentLink(r.Context(), r.PathValue("slug"))
	if errors.Is(err, gateway.ErrNotFound) {
		h.message(w, http.StatusNotFound, "Payment link not found", msgNoLink)
		return
	} else if err != nil {
		h.cfg.Log.Error("checkout page", "err", err)
		h.message(w, http.StatusInternalServerError, "Something went wrong", msgFailed)
		return
	}
	m, err := h.svc.MerchantOf(r.Context(), l.ProjectID)
	if err != nil {
		h.cfg.Log.Error("checkout page", "err", err)
		h.message(w, http.StatusInternalServerError, "Something went wrong", msgFailed)
		return
	}
	v := checkoutView{Link: l, Merchant: m, Custom: l.Amount == "0", Test: !l.Mode.Live()}
	status := http.StatusOK
	for _, c := range l.Currencies {
		if !h.svc.ChainEnabled(c.ChainID) {
			continue // a chain this gateway no longer watches: a payment there would never be seen
		}
		ch, _ := h.svc.ChainRegistry().Lookup(c.ChainID)
		label := c.Currency + " on " + ch.Name
		if !v.Custom {
			label = l.Amount + " " + label // every amount with its currency
		}
		v.Options = append(v.Options, option{Value: c.Currency + "@" + c.ChainID, Label: label})
	}
	if l.InventoryTotal != nil {
		left := max(0, *l.InventoryTotal-l.Sold-l.Reserved)
		v.Left = &left
	}
	if ok, why := l.Available(h.now()); !ok {
		v.Closed = why
	} else if len(v.Options) == 0 {
		v.Closed = "This link takes no currency this gateway can receive now."
	} else if r.Method == http.MethodPost {
		currency, chainID, _ := strings.Cut(r.FormValue("option"), "@")
		v.Amount = strings.TrimSpace(r.FormValue("amount"))
		o, err := h.svc.Checkout(r.Context(), l, currency, chainID, v.Amount)
		if err == nil {
			http.Redirect(w, r, "/pay/"+o.ID, http.StatusSeeOther)
			return
		}
		var e *gateway.Error
		if !errors.As(err, &e) {
			h.cfg.Log.Error("checkout", "err", err)
			h.message(w, http.StatusInternalServerError, "Something went wrong", msgFailed)
			return
		}
		if e.Message == "Sold out." {
			v.Closed = e.Message
		} else {
			v.Error = h.payerError(e, currency, chainID)
		}
		status = http.StatusUnprocessableEntity
	}
	h.render(w, checkoutPage, status, v)
}
