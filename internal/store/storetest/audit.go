package storetest

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/stablegate/stablegate/internal/gateway"
)

// The audit log: each change writes its line in its own transaction, naming the actor; a change
// that fails or changes nothing writes none; the database refuses to alter or delete a line.
func testAuditLog(t *testing.T, s gateway.Store) {
	svc, cp := project(t, s, "https://audit.example")
	_, other := project(t, s, "https://other.example")
	key := gateway.Actor{Kind: gateway.ActorKey, ID: "key_test", Address: "203.0.113.7", RequestID: "req_1"}
	ctx := gateway.WithActor(context.Background(), key)
	pr := principal(t, svc, cp, gateway.Test)
	pr.SecretProven = true

	name := "Renamed"
	if _, err := svc.UpdateProject(ctx, cp.Project.ID, gateway.ProjectUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	// Another project's website: the store refuses it, and the refused change leaves no line.
	taken := "https://other.example/shop"
	if _, err := svc.UpdateProject(ctx, cp.Project.ID, gateway.ProjectUpdate{Website: &taken}); gateway.ErrorCode(err) != gateway.EConflict {
		t.Fatalf("update to a taken website = %v, want a conflict", err)
	}
	const dest = "0x00000000000000000000000000000000000000aa"
	if _, added, err := svc.AddDestination(ctx, pr, "evm", dest, "cold"); err != nil || !added {
		t.Fatalf("AddDestination = %v, %v", added, err)
	}
	// The same address again changes nothing, so it is not logged either.
	if _, added, err := svc.AddDestination(ctx, pr, "evm", dest, "cold"); err != nil || added {
		t.Fatalf("AddDestination again = %v, %v", added, err)
	}
	pair, _, err := svc.NewCredential(gateway.WithActor(context.Background(), gateway.Actor{Kind: gateway.ActorOperator, ID: "ops@host"}),
		cp.Project.ID, gateway.Live)
	if err != nil {
		t.Fatal(err)
	}

	all, total, err := svc.ListAudit(context.Background(), gateway.AuditFilter{ProjectID: cp.Project.ID, Page: 1, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []gateway.AuditAction
	for _, e := range all {
		got = append(got, e.Action)
	}
	want := []gateway.AuditAction{gateway.AuditCredentialCreated, gateway.AuditDestinationAdded, gateway.AuditProjectUpdated, gateway.AuditProjectCreated}
	if total != len(want) || len(got) != len(want) {
		t.Fatalf("audit log = %v (total %d), want %v, newest first", got, total, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("audit log = %v, want %v, newest first", got, want)
		}
	}
	created, updated, added, made := all[3], all[2], all[1], all[0]
	if created.Actor.Kind != gateway.ActorSystem || created.Mode != "" || created.Subject != cp.Project.ID {
		t.Errorf("project.created = %+v, want stablegate's, project-wide, about the project", created)
	}
	if updated.Actor != key || updated.Mode != "" {
		t.Errorf("project.updated by %+v in mode %q, want %+v, project-wide", updated.Actor, updated.Mode, key)
	}
	if ch, _ := updated.Details["name"].(map[string]any); ch["from"] != "Shop" || ch["to"] != "Renamed" || len(updated.Details) != 1 {
		t.Errorf("project.updated details = %v, want the name from Shop to Renamed only", updated.Details)
	}
	if added.Mode != gateway.Test || !strings.EqualFold(added.Subject, dest) {
		t.Errorf("destination.added = mode %q subject %q", added.Mode, added.Subject)
	}
	if added.Details["label"] != "cold" || added.Details["protocol"] != "evm" {
		t.Errorf("destination.added details = %v", added.Details)
	}
	if made.Actor.Kind != gateway.ActorOperator || made.Actor.ID != "ops@host" || made.Mode != gateway.Live {
		t.Errorf("credential.created = %+v", made)
	}
	for _, e := range all {
		for k, v := range e.Details {
			if s, ok := v.(string); ok && (s == pair.Secret || s == pair.Key) {
				t.Errorf("%s details %s hold the new key pair", e.Action, k)
			}
		}
	}

	// A mode sees its own lines and the project-wide ones; an action filter narrows; another
	// project's lines stay apart.
	live, _, err := svc.ListAudit(context.Background(), gateway.AuditFilter{ProjectID: cp.Project.ID, Mode: gateway.Live, Page: 1, Limit: 100})
	if err != nil || len(live) != 3 {
		t.Fatalf("live lines = %d, %v; want credential.created and the two project-wide", len(live), err)
	}
	for _, e := range live {
		if e.Action == gateway.AuditDestinationAdded {
			t.Error("the live view shows a test-mode destination")
		}
	}
	only, total, err := svc.ListAudit(context.Background(), gateway.AuditFilter{ProjectID: cp.Project.ID, Action: gateway.AuditProjectUpdated, Page: 1, Limit: 1})
	if err != nil || total != 1 || len(only) != 1 || only[0].ID != updated.ID {
		t.Fatalf("project.updated lines = %d of %d, %v", len(only), total, err)
	}
	if _, total, _ := svc.ListAudit(context.Background(), gateway.AuditFilter{ProjectID: other.Project.ID, Page: 1, Limit: 100}); total != 1 {
		t.Errorf("the other project has %d lines, want its project.created alone", total)
	}
	if _, _, err := svc.ListAudit(context.Background(), gateway.AuditFilter{Action: "orders.deleted", Page: 1, Limit: 10}); gateway.ErrorCode(err) != gateway.EInvalid {
		t.Errorf("an unknown action = %v, want a validation error", err)
	}

	// Append-only: the database itself refuses to rewrite or drop a line.
	db, ok := s.(interface{ DB() *sql.DB })
	if !ok {
		t.Fatal("the store does not expose its database")
	}
	for _, q := range []string{`UPDATE audit_log SET actor_id = 'someone else'`, `DELETE FROM audit_log`} {
		if _, err := db.DB().Exec(q); err == nil {
			t.Errorf("%s: the database allowed it", q)
		}
	}
	if _, total, _ := svc.ListAudit(context.Background(), gateway.AuditFilter{Page: 1, Limit: 1}); total != 5 {
		t.Errorf("%d lines after the refused rewrites, want all 5", total)
	}
}
