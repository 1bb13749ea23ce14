package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// auditJSON is a line of `stablegate audit --json`: the API's shape, with the project.
type auditJSON struct {
	ID        string         `json:"id"`
	ProjectID string         `json:"projectId"`
	Mode      string         `json:"mode,omitempty"`
	Action    string         `json:"action"`
	Subject   string         `json:"subject,omitempty"`
	Actor     auditActorJSON `json:"actor"`
	Details   map[string]any `json:"details"`
	CreatedAt string         `json:"createdAt"`
}

type auditActorJSON struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	Address   string `json:"address,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit", "audit [--project ID] [--action ACTION] [--page N] [--limit N] [--json]", stderr)
	cf := newConfigFlags(fs, false, nil)
	project := fs.String("project", "", "only this project's lines (default: every project's)")
	action := fs.String("action", "", "only this action (project.created, credential.revoked, withdrawal.approved, …)")
	page := fs.Int("page", 1, "page number, from 1")
	limit := fs.Int("limit", 50, "lines per page, at most 100")
	asJSON := fs.Bool("json", false, "print the lines as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	st, err := cf.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if *project != "" {
		if _, err := st.FindProject(ctx, *project); err != nil {
			return fmt.Errorf("project %s: %w", *project, err)
		}
	}
	es, total, err := (&gateway.Service{Store: st}).ListAudit(ctx, gateway.AuditFilter{ProjectID: *project, Action: gateway.AuditAction(*action),
		Page: *page, Limit: gateway.PageLimit(*limit)})
	if gateway.ErrorCode(err) == gateway.EInvalid {
		return usageError{err.Error()}
	}
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]auditJSON, len(es))
		for i, e := range es {
			out[i] = auditJSON{ID: e.ID, ProjectID: e.ProjectID, Mode: string(e.Mode), Action: string(e.Action), Subject: e.Subject, Details: e.Details,
				CreatedAt: e.CreatedAt.Format(time.RFC3339Nano), Actor: auditActorJSON{Type: string(e.Actor.Kind), ID: e.Actor.ID,
					Address: e.Actor.Address, RequestID: e.Actor.RequestID}}
			if out[i].Details == nil {
				out[i].Details = map[string]any{}
			}
		}
		return printJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tPROJECT\tMODE\tACTION\tSUBJECT\tACTOR\tFROM\tDETAILS")
	for _, e := range es {
		mode := string(e.Mode)
		if mode == "" {
			mode = "-"
		}
		from := e.Actor.Address
		if e.Actor.RequestID != "" {
			from += " " + e.Actor.RequestID
		}
		details, _ := json.Marshal(e.Details)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s %s\t%s\t%s\n", e.CreatedAt.Format(time.RFC3339), e.ProjectID, mode, e.Action, e.Subject,
			e.Actor.Kind, e.Actor.ID, from, details)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if shown := (*page-1)*gateway.PageLimit(*limit) + len(es); shown < total {
		fmt.Fprintf(stdout, "%d of %d lines; --page %d for more\n", shown, total, *page+1)
	}
	return nil
}
