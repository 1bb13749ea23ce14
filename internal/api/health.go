package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// Health is the answer of GET /health.
type Health struct {
	Status    string         `json:"status" enum:"healthy,degraded,unhealthy"`
	Timestamp time.Time      `json:"timestamp"`
	Version   string         `json:"version"`
	Reasons   []string       `json:"reasons,omitempty" doc:"What is wrong, when degraded or unhealthy"`
	Chains    []any          `json:"chains,omitempty" doc:"Each watched chain: head, scanned block, lag and last error"`
	Webhooks  *WebhookHealth `json:"webhooks,omitempty"`
}

// WebhookHealth is the state of webhook delivery across projects.
type WebhookHealth struct {
	Pending           int        `json:"pending" doc:"Events waiting to be delivered (due now or retrying later)"`
	OldestPendingAt   *time.Time `json:"oldestPendingAt,omitempty"`
	DisabledEndpoints int        `json:"disabledEndpoints" doc:"Endpoints disabled because they answered 410 Gone"`
}

type healthOutput struct {
	Status int
	Body   Health
}

func (s *Server) registerHealth() {
	huma.Register(s.API, huma.Operation{OperationID: "health", Method: http.MethodGet, Path: "/health",
		Summary: "Health check", Tags: []string{"Health"}, Security: []map[string][]string{},
		Description: "200 healthy; 200 degraded with reasons when a chain cannot be followed (its node unreachable or failing, " +
			"or the scanner too far behind the head: payments there are not seen now); 503 unhealthy when the database does not answer.",
		Responses: map[string]*huma.Response{"503": {Description: "Unhealthy: the database does not answer (the same body, status unhealthy)",
			Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{Ref: "#/components/schemas/Health"}}}}}}, s.health)
	delete(s.API.OpenAPI().Paths["/health"].Get.Responses, "default")
}

func (s *Server) health(ctx context.Context, _ *struct{}) (*healthOutput, error) {
	h := Health{Status: "healthy", Timestamp: s.now().UTC().Truncate(time.Second), Version: s.cfg.Version}
	if s.cfg.Chains != nil {
		h.Chains = s.cfg.Chains()
	}
	// A chain that is not followed degrades the gateway but leaves the API up (load balancers
	// keep it): orders on other chains, reads and webhooks still work.
	for _, c := range h.Chains {
		if d, ok := c.(interface{ DegradedReason() (string, string) }); ok {
			if slug, why := d.DegradedReason(); why != "" {
				h.Status = "degraded"
				h.Reasons = append(h.Reasons, "chain "+slug+": "+why)
			}
		}
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.svc.Ping(pctx); err != nil {
		s.log.Warn("health: database unreachable", "err", err)
		h.Status, h.Reasons = "unhealthy", append([]string{"database unreachable"}, h.Reasons...)
		return &healthOutput{Status: http.StatusServiceUnavailable, Body: h}, nil
	}
	if st, err := s.svc.WebhookStats(pctx); err == nil {
		h.Webhooks = &WebhookHealth{Pending: st.Pending, OldestPendingAt: st.OldestPendingAt, DisabledEndpoints: st.DisabledEndpoints}
	} else {
		s.log.Warn("health: webhook stats", "err", err)
	}
	return &healthOutput{Status: http.StatusOK, Body: h}, nil
}
