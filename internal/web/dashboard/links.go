package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

type linkRow struct {
	ID, Title, Amount, Status, URL, Created, Currencies string
	Sold, Reserved                                      int
	Inventory                                           string
}

type linksView struct {
	*scope
	Links   []linkRow
	Options []string
	// The form as sent, shown again with its error.
	Title, Amount, Description, Inventory string
	Chosen                                map[string]bool
}

// links lists the project's payment links with their checkout address, and the forms that make,
// publish and archive one (owners and admins: they decide what payers are asked for).
func (h *Handler) links(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.renderLinks(w, r, u, r.URL.Query(), http.StatusOK, "")
}

func (h *Handler) renderLinks(w http.ResponseWriter, r *http.Request, u *gateway.User, values url.Values, status int, errText string) {
	sc := h.scopeOf(w, r, u, values, "Payment links")
	if sc == nil {
		return
	}
	sc.Nav, sc.Error = "links", errText
	switch r.URL.Query().Get("done") {
	case "created":
		sc.Notice = "Payment link made, as a draft: publish it to take payers."
	case "published":
		sc.Notice = "Payment link published: its address takes payers now."
	case "archived":
		sc.Notice = "Payment link archived: it takes no new payer."
	}
	list, _, err := h.svc.ListPaymentLinks(r.Context(), sc.pr, 1, 100)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	v := linksView{scope: sc, Title: values.Get("title"), Amount: values.Get("amount"), Description: values.Get("description"),
		Inventory: values.Get("inventory"), Chosen: map[string]bool{}}
	for _, o := range values["currencies"] {
		v.Chosen[o] = true
	}
	for _, c := range h.svc.EnabledChains(sc.pr.Mode) {
		for _, sym := range c.Symbols() {
			v.Options = append(v.Options, c.Slug+" "+sym)
		}
	}
	base := h.publicURL(r)
	for _, l := range list {
		row := linkRow{ID: l.ID, Title: l.Title, Amount: l.Amount, Status: l.Status, URL: base + "/checkout/" + l.Slug,
			Created: l.CreatedAt.UTC().Format(time.RFC3339), Sold: l.Sold, Reserved: l.Reserved, Inventory: "unlimited"}
		if l.Amount == "0" {
			row.Amount = "the payer's choice"
		}
		if l.InventoryTotal != nil {
			row.Inventory = strconv.Itoa(*l.InventoryTotal)
		}
		var cs []string
		for _, c := range l.Currencies {
			cs = append(cs, c.Currency+" on "+c.ChainID)
		}
		row.Currencies = strings.Join(cs, ", ")
		v.Links = append(v.Links, row)
	}
	h.render(w, "links", status, v)
}

// createLink makes a draft payment link.
func (h *Handler) createLink(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.linkAction(w, r, u, "created", func(pr *gateway.Principal) error {
		f := r.PostForm
		in := gateway.PaymentLinkInput{Title: f.Get("title"), Description: f.Get("description"), Amount: strings.TrimSpace(f.Get("amount"))}
		if in.Amount == "" {
			in.Amount = "0"
		}
		for _, o := range f["currencies"] {
			chainID, currency, _ := strings.Cut(o, " ")
			in.Currencies = append(in.Currencies, gateway.LinkCurrency{Currency: currency, ChainID: chainID})
		}
		if s := strings.TrimSpace(f.Get("inventory")); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 1_000_000 {
				return gateway.Errorf(gateway.EInvalid, "inventory", "inventory must be a whole number from 1 to 1000000, or empty for unlimited")
			}
			in.InventoryTotal = &n
		}
		_, err := h.svc.CreatePaymentLink(r.Context(), pr, in)
		return err
	})
}

func (h *Handler) publishLink(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.linkAction(w, r, u, "published", func(pr *gateway.Principal) error {
		_, err := h.svc.PublishPaymentLink(r.Context(), pr, r.PathValue("id"))
		return err
	})
}

func (h *Handler) archiveLink(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.linkAction(w, r, u, "archived", func(pr *gateway.Principal) error {
		_, err := h.svc.ArchivePaymentLink(r.Context(), pr, r.PathValue("id"))
		return err
	})
}

// linkAction runs a change of payment links: owners and admins, no code (a link asks payers for
// money, it moves none).
func (h *Handler) linkAction(w http.ResponseWriter, r *http.Request, u *gateway.User, done string, act func(*gateway.Principal) error) {
	h.run(w, r, u, action{title: "Payment links", perm: gateway.PermSettings, act: act,
		again: func(status int, msg string) { h.renderLinks(w, r, u, r.PostForm, status, msg) },
		done:  func(sc *scope) { back(w, r, "/dashboard/links", sc, "done="+done) }})
}
