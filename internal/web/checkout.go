package web

import (
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/stablegate/stablegate/internal/gateway"
)

var checkoutPage = template.Must(template.New("checkout.html").ParseFS(assets, "assets/checkout.html", "assets/langs.html"))

type option struct{ Value, Label string }

type checkoutView struct {
	L             *Locale
	Langs         []langLink
	Link          *gateway.PaymentLink
	Merchant      gateway.Merchant
	Options       []option
	Custom, Test  bool
	Closed, Error string
	Amount        string
	// Left says how many units the link still has, when it has an inventory ("": unlimited).
	Left string
}

// payerError says what went wrong in the payer's words, not the API's: what to type or choose.
func (h *Handler) payerError(e *gateway.Error, currency, chainID string, l *Locale) string {
	switch e.Param {
	case "amount":
		tok, ok := h.svc.ChainRegistry().Token(chainID, currency)
		if !ok {
			return l.T("checkout.err.amount")
		}
		return l.T("checkout.err.amount.decimals", tok.Decimals)
	case "currency", "chainId":
		return l.T("checkout.err.option")
	}
	return closedText(e.Message, l)
}

// closedKeys are the domain's reasons a link takes no payer, by their catalog keys.
var closedKeys = map[string]string{
	"This payment link is not published yet.":             "checkout.closed.unpublished",
	"This payment link is no longer available.":           "checkout.closed.archived",
	"This payment link has expired.":                      "checkout.closed.expired",
	"Sold out.":                                           "checkout.closed.soldout",
	"This merchant does not take payments at the moment.": "checkout.closed.disabled",
}

// closedText is a domain reason in the payer's language (as it is where the catalog has none).
func closedText(reason string, l *Locale) string {
	if key, ok := closedKeys[reason]; ok {
		return l.T(key)
	}
	return reason
}

// checkout serves a payment link's page: the payer picks a currency and network (and the amount
// when the link leaves it to them); posting creates the order and goes to its payment page.
func (h *Handler) checkout(w http.ResponseWriter, r *http.Request) {
	l, err := h.svc.PublicPaymentLink(r.Context(), r.PathValue("slug"))
	if errors.Is(err, gateway.ErrNotFound) {
		h.message(w, r, http.StatusNotFound, "msg.link.notfound", "msg.link.notfound.text")
		return
	} else if err != nil {
		h.cfg.Log.Error("checkout page", "err", err)
		h.message(w, r, http.StatusInternalServerError, "msg.failed", "msg.failed.text")
		return
	}
	m, err := h.svc.MerchantOf(r.Context(), l.ProjectID)
	if err != nil {
		h.cfg.Log.Error("checkout page", "err", err)
		h.message(w, r, http.StatusInternalServerError, "msg.failed", "msg.failed.text")
		return
	}
	loc := localeOf(w, r)
	v := checkoutView{L: loc, Langs: langLinks(r, loc), Link: l, Merchant: m, Custom: l.Amount == "0", Test: !l.Mode.Live()}
	status := http.StatusOK
	for _, c := range l.Currencies {
		if !h.svc.ChainEnabled(c.ChainID) {
			continue // a chain this gateway no longer watches: a payment there would never be seen
		}
		ch, _ := h.svc.ChainRegistry().Lookup(c.ChainID)
		what := c.Currency
		if !v.Custom {
			what = loc.Amount(l.Amount) + " " + what // every amount with its currency
		}
		label := loc.T("checkout.option", what, ch.Name)
		v.Options = append(v.Options, option{Value: c.Currency + "@" + c.ChainID, Label: label})
	}
	if l.InventoryTotal != nil {
		v.Left = loc.T("checkout.left", max(0, *l.InventoryTotal-l.Sold-l.Reserved))
	}
	if ok, why := l.Available(h.now()); !ok {
		v.Closed = closedText(why, loc)
	} else if len(v.Options) == 0 {
		v.Closed = loc.T("checkout.closed.nocurrency")
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
			h.message(w, r, http.StatusInternalServerError, "msg.failed", "msg.failed.text")
			return
		}
		if e.Message == "Sold out." {
			v.Closed = loc.T("checkout.closed.soldout")
		} else {
			v.Error = h.payerError(e, currency, chainID, loc)
		}
		status = http.StatusUnprocessableEntity
	}
	h.render(w, checkoutPage, status, v)
}
