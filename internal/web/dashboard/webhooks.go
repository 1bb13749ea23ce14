package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

type deliveryRow struct {
	ID, Type, Status, Created, LastError string
	Attempts, LastStatusCode             int
	Tries                                []attemptRow
}

type attemptRow struct {
	At, Result string
}

type webhooksView struct {
	*scope
	URL, Format, Secret, PreviousUntil, Disabled string
	Events                                       []string
	AllEvents                                    []string
	Deliveries                                   []deliveryRow
	// NewSecret is the secret just made: shown on this answer only.
	NewSecret string
}

// webhooks shows the endpoint (its URL, events and format), the secret masked, and the latest
// deliveries with their attempts; the forms set the endpoint and rotate the secret (each with a
// two-factor code) and retry a delivery.
func (h *Handler) webhooks(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.renderWebhooks(w, r, u, r.URL.Query(), http.StatusOK, "", "")
}

func (h *Handler) renderWebhooks(w http.ResponseWriter, r *http.Request, u *gateway.User, values url.Values, status int, errText, newSecret string) {
	sc := h.scopeOf(w, r, u, values, "Webhooks")
	if sc == nil {
		return
	}
	sc.Nav, sc.Error = "webhooks", errText
	switch r.URL.Query().Get("done") {
	case "endpoint":
		sc.Notice = "Endpoint saved: events are sent there from now on."
	case "retry":
		sc.Notice = "Delivery queued: it is sent now, and retried on the schedule if it fails."
	}
	ctx := r.Context()
	e, err := h.svc.GetWebhookEndpoint(ctx, sc.pr)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	v := webhooksView{scope: sc, URL: e.URL, Format: string(e.Format), Events: e.Events, AllEvents: gateway.EventTypes, NewSecret: newSecret}
	if v.Format == "" {
		v.Format = string(gateway.FormatPayIn)
	}
	if e.DisabledAt != nil {
		v.Disabled = e.DisabledReason
	}
	if sec, err := h.svc.GetWebhookSecret(ctx, sc.pr); err == nil {
		v.Secret = sec.Secret
		if sec.PreviousUntil != nil {
			v.PreviousUntil = sec.PreviousUntil.UTC().Format(time.RFC3339)
		}
	} else if _, ok := userMessage(err); !ok {
		h.failed(w, r, err)
		return
	}
	evs, _, err := h.svc.ListWebhookEvents(ctx, sc.pr, gateway.WebhookEventFilter{Page: 1, Limit: 50})
	if err != nil {
		h.failed(w, r, err)
		return
	}
	for _, ev := range evs {
		row := deliveryRow{ID: ev.ID, Type: ev.Type, Status: ev.Status, Created: ev.CreatedAt.UTC().Format(time.RFC3339), LastError: ev.LastError,
			Attempts: ev.AttemptCount, LastStatusCode: ev.LastStatusCode}
		for _, a := range ev.Attempts {
			res := a.Error
			if a.StatusCode != 0 {
				res = "HTTP " + strconv.Itoa(a.StatusCode) + " " + res
			}
			row.Tries = append(row.Tries, attemptRow{At: a.At.UTC().Format(time.RFC3339), Result: res + " (" + a.Duration.Round(time.Millisecond).String() + ")"})
		}
		v.Deliveries = append(v.Deliveries, row)
	}
	h.render(w, "webhooks", status, v)
}

// Subscribed reports whether the endpoint gets events of the type (no list: all).
func (v webhooksView) Subscribed(t string) bool {
	return len(v.Events) == 0 || slices.Contains(v.Events, t)
}

// setEndpoint sets the endpoint's URL, events and format, with a two-factor code: whoever sets
// the URL receives the events.
func (h *Handler) setEndpoint(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.run(w, r, u, action{title: "Webhooks", perm: gateway.PermWebhooks, code: true,
		act: func(pr *gateway.Principal) error {
			events := r.PostForm["events"]
			if len(events) == len(gateway.EventTypes) {
				events = nil // every type, and the ones to come
			}
			_, err := h.svc.SetWebhookEndpoint(r.Context(), pr, r.PostForm.Get("url"), events, gateway.WebhookFormat(r.PostForm.Get("format")))
			return err
		},
		again: func(status int, msg string) { h.renderWebhooks(w, r, u, r.PostForm, status, msg, "") },
		done:  func(sc *scope) { back(w, r, "/dashboard/webhooks", sc, "done=endpoint") }})
}

// rotateSecret replaces the webhook secret and shows the new one in this answer, once.
func (h *Handler) rotateSecret(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	var sec *gateway.WebhookSecret
	h.run(w, r, u, action{title: "Webhooks", perm: gateway.PermWebhooks, code: true,
		act: func(pr *gateway.Principal) (err error) {
			sec, err = h.svc.RotateWebhookSecret(r.Context(), pr)
			return err
		},
		again: func(status int, msg string) { h.renderWebhooks(w, r, u, r.PostForm, status, msg, "") },
		done:  func(*scope) { h.renderWebhooks(w, r, u, r.PostForm, http.StatusOK, "", sec.Secret) }})
}

// retryEvent queues one event for delivery now (no code: it sends what was sent, where it goes).
func (h *Handler) retryEvent(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.run(w, r, u, action{title: "Webhooks", perm: gateway.PermWebhooks,
		act:   func(pr *gateway.Principal) error { return h.svc.RetryWebhookEvent(r.Context(), pr, r.PathValue("id")) },
		again: func(status int, msg string) { h.renderWebhooks(w, r, u, r.PostForm, status, msg, "") },
		done:  func(sc *scope) { back(w, r, "/dashboard/webhooks", sc, "done=retry") }})
}
