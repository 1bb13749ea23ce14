package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// users create makes a dashboard account with a one-time password; bad input changes nothing.
func TestUsersCreate(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STABLEGATE_MASTER_KEY", testMasterKey)
	out, _, err := runCLI(t, "projects", "create", "--data", dir, "--name", "Shop", "--website", "https://shop.example.com", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var created createdJSON
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, "users", "create", "--data", dir, "--email", "Ana@Shop.example.com", "--project", created.ProjectID)
	if err != nil || !strings.Contains(out, "Created ana@shop.example.com") || !strings.Contains(out, "owner of "+created.ProjectID) ||
		!strings.Contains(out, "One-time password (shown once") {
		t.Fatalf("users create: %v\n%s", err, out)
	}
	for _, bad := range [][]string{
		{"users", "create", "--email", "ana@shop.example.com", "--project", created.ProjectID},                 // the email is taken
		{"users", "create", "--email", "bo@shop.example.com", "--project", "prj_missing"},                      // no such project
		{"users", "create", "--email", "bo@shop.example.com", "--project", created.ProjectID, "--role", "god"}, // no such role
		{"users", "create", "--email", "not an email", "--project", created.ProjectID},
		{"users", "create", "--email", "bo@shop.example.com"},
		{"users", "remove"},
		{"users", "reset-two-factor", "--email", "nobody@shop.example.com"},
		{"users", "reset-two-factor"},
	} {
		if out, _, err := runCLI(t, append(bad, "--data", dir)...); err == nil {
			t.Errorf("%v succeeded: %s", bad, out)
		}
	}
	out, _, err = runCLI(t, "users", "reset-two-factor", "--data", dir, "--email", "ana@shop.example.com")
	if err != nil || !strings.Contains(out, "Two-factor authentication of ana@shop.example.com") {
		t.Fatalf("users reset-two-factor: %v\n%s", err, out)
	}
}
