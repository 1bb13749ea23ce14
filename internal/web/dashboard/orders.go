package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

type ordersView struct {
	*scope
	Status, Chain, Currency string
	Chains, Currencies      []string
	Statuses                []gateway.OrderStatus
	Orders                  []orderRow
	Page                    int
	Pages                   int
	Total                   int
}

// orderStatuses are the statuses the filter offers.
var orderStatuses = []gateway.OrderStatus{gateway.OrderPending, gateway.OrderConfirming, gateway.OrderCompleted, gateway.OrderUnderpaid,
	gateway.OrderExpired, gateway.OrderInvalid}

const ordersPerPage = 50

// orders lists the project's orders in the mode, newest first, by status (?status=…), 50 a page.
func (h *Handler) orders(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	sc := h.scopeOf(w, r, u, r.URL.Query(), "Orders")
	if sc == nil {
		return
	}
	sc.Nav = "orders"
	v := ordersView{scope: sc, Statuses: orderStatuses, Page: 1}
	if st := gateway.OrderStatus(r.URL.Query().Get("status")); st.Valid() {
		v.Status = string(st)
	}
	seen := map[string]bool{}
	for _, c := range h.svc.EnabledChains(sc.pr.Mode) {
		v.Chains = append(v.Chains, c.Slug)
		if c.Slug == r.URL.Query().Get("chainId") {
			v.Chain = c.Slug
		}
		for _, sym := range c.Symbols() {
			if !seen[sym] {
				seen[sym] = true
				v.Currencies = append(v.Currencies, sym)
			}
			if sym == r.URL.Query().Get("currency") {
				v.Currency = sym
			}
		}
	}
	if p, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && p > 1 && p < 1_000_000 {
		v.Page = p
	}
	orders, total, err := h.svc.ListOrders(r.Context(), sc.pr, gateway.OrderFilter{Status: gateway.OrderStatus(v.Status), ChainID: v.Chain, Currency: v.Currency,
		Page: v.Page, Limit: ordersPerPage})
	if err != nil {
		h.failed(w, r, err)
		return
	}
	v.Total, v.Pages = total, max(1, (total+ordersPerPage-1)/ordersPerPage)
	for _, o := range orders {
		v.Orders = append(v.Orders, orderRowOf(o))
	}
	h.render(w, "orders", http.StatusOK, v)
}

func orderRowOf(o *gateway.Order) orderRow {
	return orderRow{ID: o.ID, Reference: o.Reference, Status: string(o.Status), Amount: money.Format(o.Amount, o.Token.Decimals),
		Currency: o.Currency, ChainID: o.ChainID, Created: o.CreatedAt.UTC().Format(time.RFC3339)}
}

type paymentRow struct {
	TxHash, From, Amount, Currency, ExplorerURL string
	Block, Confirmations                        uint64
	Required                                    int
	Simulated, Wrong                            bool
}

type eventRow struct {
	ID, Type, Status, Created string
	Attempts                  int
}

type orderView struct {
	*scope
	Order      *gateway.Order
	Amount     string
	PayAmount  string
	PaidAmount string
	PaymentURL string
	Payments   []paymentRow
	Events     []eventRow
	Resolvable bool
	Outcome    string
	Reason     string
	ResolvedAt string
}

// order shows one order: its amounts, payments with their confirmations and explorer links, its
// events and their deliveries, and — to who may move money — the form that resolves it by hand.
func (h *Handler) order(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.renderOrder(w, r, u, r.URL.Query(), http.StatusOK, "")
}

func (h *Handler) renderOrder(w http.ResponseWriter, r *http.Request, u *gateway.User, values url.Values, status int, errText string) {
	sc := h.scopeOf(w, r, u, values, "Order")
	if sc == nil {
		return
	}
	ctx := r.Context()
	o, err := h.svc.GetOrder(ctx, sc.pr, r.PathValue("id"))
	if gateway.ErrorCode(err) == gateway.ENotFound {
		h.message(w, http.StatusNotFound, "Not found", "There is no such order in this project and mode.")
		return
	} else if err != nil {
		h.failed(w, r, err)
		return
	}
	sc.Nav, sc.Title, sc.Error = "orders", "Order "+o.Reference, errText
	if r.URL.Query().Get("done") == "resolved" {
		sc.Notice = "Order resolved by hand: " + string(o.Resolution) + "."
	}
	tok := o.Token
	v := orderView{scope: sc, Order: o, Amount: money.Format(o.Amount, tok.Decimals), PayAmount: money.Format(o.PayAmount(), tok.Decimals),
		PaidAmount: money.Format(o.PaidAmount, tok.Decimals), PaymentURL: "/pay/" + o.ID, Outcome: values.Get("outcome"), Reason: values.Get("reason"),
		Resolvable: !o.ResolvedManually() && (o.Status == gateway.OrderPending || o.Status == gateway.OrderUnderpaid || o.Status == gateway.OrderExpired)}
	if o.ResolvedAt != nil {
		v.ResolvedAt = o.ResolvedAt.UTC().Format(time.RFC3339)
	}
	payments, wrong, err := h.svc.OrderPayments(ctx, o)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	for _, p := range payments {
		row := paymentRow{TxHash: p.TxHash, From: p.From, Amount: money.Format(p.Amount, tok.Decimals), Currency: o.Currency, Block: p.BlockNumber,
			Confirmations: p.Confirmations, Required: p.Required, Simulated: p.Simulated}
		if !p.Simulated {
			row.ExplorerURL = o.Chain.TxURL(p.TxHash)
		}
		v.Payments = append(v.Payments, row)
	}
	for _, p := range wrong {
		v.Payments = append(v.Payments, paymentRow{TxHash: p.TxHash, From: p.From, Amount: money.Format(p.Amount, p.Decimals), Currency: p.Currency,
			Block: p.BlockNumber, Confirmations: p.Confirmations, ExplorerURL: o.Chain.TxURL(p.TxHash), Wrong: true})
	}
	evs, _, err := h.svc.Store.ListWebhookEvents(ctx, gateway.WebhookEventFilter{ProjectID: sc.pr.Project.ID, Mode: sc.pr.Mode, Subject: o.ID, Page: 1, Limit: 50})
	if err != nil {
		h.failed(w, r, err)
		return
	}
	for _, e := range evs {
		v.Events = append(v.Events, eventRow{ID: e.ID, Type: e.Type, Status: e.Status, Created: e.CreatedAt.UTC().Format(time.RFC3339), Attempts: e.AttemptCount})
	}
	h.render(w, "order", status, v)
}

// resolveOrder sets the order's status by hand (completed or invalid, with a reason), with the
// user's two-factor code: the API's POST /api/v1/orders/{id}/resolve.
func (h *Handler) resolveOrder(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	id := r.PathValue("id")
	h.run(w, r, u, action{title: "Order", perm: gateway.PermMoney, code: true,
		act: func(pr *gateway.Principal) error {
			_, err := h.svc.ResolveOrder(r.Context(), pr, id, gateway.OrderStatus(r.PostForm.Get("outcome")), strings.TrimSpace(r.PostForm.Get("reason")))
			return err
		},
		again: func(status int, msg string) { h.renderOrder(w, r, u, r.PostForm, status, msg) },
		done:  func(sc *scope) { back(w, r, "/dashboard/orders/"+url.PathEscape(id), sc, "done=resolved") }})
}
