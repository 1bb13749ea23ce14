package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
)

// AuditEntryView is one line of the audit log.
type AuditEntryView struct {
	ID      string         `json:"id" example:"aud_abcdefghijklmnopqrstuvwx"`
	Action  string         `json:"action" doc:"What was done (see the action filter)"`
	Subject string         `json:"subject,omitempty" doc:"The id or address of what changed"`
	Actor   AuditActorView `json:"actor"`
	Details AuditDetails   `json:"details" doc:"What changed; never a secret"`
	// Mode is empty for what both modes share (the project's settings).
	Mode      string    `json:"mode,omitempty" enum:"test,live" doc:"The mode of what changed; absent for the project's settings, which both modes share"`
	CreatedAt time.Time `json:"createdAt"`
}

// AuditDetails say what a change changed: an object whose members depend on the action, any of
// which may be null (a treasury's ceiling removed).
type AuditDetails map[string]any

// Schema lets a member be any JSON value, null included.
func (AuditDetails) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeObject, AdditionalProperties: true, Description: "What changed; never a secret"}
}

// AuditActorView is who made a change.
type AuditActorView struct {
	Type      string `json:"type" enum:"api_key,operator,user,system" doc:"api_key: a request with the key id; operator: the command line on the host; user: a dashboard user; system: stablegate itself"`
	ID        string `json:"id" doc:"The API key's id, the operator's user@host, the dashboard user"`
	Address   string `json:"address,omitempty" doc:"The client address of the request"`
	RequestID string `json:"requestId,omitempty" doc:"The request's id, as its answer said"`
}

// AuditLog is a page of the audit log.
type AuditLog struct {
	Entries    []AuditEntryView `json:"entries"`
	Pagination Pagination       `json:"pagination"`
}

type auditLogInput struct {
	Action string `query:"action" maxLength:"64" doc:"Only this action"`
	Page   int    `query:"page" default:"1" doc:"Page number, from 1"`
	Limit  int    `query:"limit" default:"20" doc:"Results per page (default 20); above 100 it is capped at 100"`
}

type auditLogOutput struct {
	Body Envelope[AuditLog]
}

func (s *Server) registerAudit() {
	actions := make([]string, len(gateway.AuditActions))
	for i, a := range gateway.AuditActions {
		actions[i] = string(a)
	}
	huma.Register(s.API, huma.Operation{OperationID: "getAuditLog", Method: http.MethodGet, Path: "/api/v1/audit-log", Tags: []string{"Project"},
		Summary: "Read the audit log", Description: "Who changed what, when and from where, newest first: the key's mode and the " +
			"project's settings. Append-only; each line is written in the transaction of its change. Actions: " + strings.Join(actions, ", ") + "."},
		s.auditLog)
}

func (s *Server) auditLog(ctx context.Context, in *auditLogInput) (*auditLogOutput, error) {
	in.Limit = gateway.PageLimit(in.Limit)
	es, total, err := s.svc.AuditLog(ctx, principalFrom(ctx), gateway.AuditFilter{Action: gateway.AuditAction(in.Action), Page: in.Page, Limit: in.Limit})
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out := AuditLog{Entries: make([]AuditEntryView, len(es)), Pagination: paginate(in.Page, in.Limit, total)}
	for i, e := range es {
		out.Entries[i] = AuditEntryView{ID: e.ID, Action: string(e.Action), Subject: e.Subject, Details: e.Details, Mode: string(e.Mode),
			CreatedAt: e.CreatedAt, Actor: AuditActorView{Type: string(e.Actor.Kind), ID: e.Actor.ID, Address: e.Actor.Address, RequestID: e.Actor.RequestID}}
		if out.Entries[i].Details == nil {
			out.Entries[i].Details = map[string]any{}
		}
	}
	return &auditLogOutput{Body: ok(out, "")}, nil
}
