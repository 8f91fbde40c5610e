package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/authz"
	"github.com/switchboard12345/switchboard/store"
)

// demoTokens gives the demo principals of a demo app (build with demo) fresh
// tokens, as `serve --demo` does, and returns demo-tokens.json: role name
// (operator, street, district, department, expert, leader, admin) → token.
func demoTokens(t *testing.T, a *app, dataDir string) map[string]string {
	t.Helper()
	path, err := writeDemoTokens(context.Background(), a.auth, dataDir, time.Now(), a.newID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tokens map[string]string
	if err := json.Unmarshal(b, &tokens); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, d := range demoPrincipals {
		if tokens[d.role] == "" {
			t.Fatalf("%s lacks a token for %s", path, d.role)
		}
	}
	return tokens
}

// grantToken creates principal (in unit) unless it exists, grants it role in
// unit through the app's authorizer (in force at once on this instance) and
// returns a new token for it: for the principals the demo lacks.
func grantToken(t *testing.T, a *app, principal, role, unit string) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	switch _, err := a.auth.GetPrincipal(ctx, principal); {
	case errors.Is(err, store.ErrPrincipalNotFound):
		if err := a.auth.PutPrincipal(ctx, store.Principal{ID: principal, Name: principal, Kind: store.PrincipalUser, Unit: unit, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	case err != nil:
		t.Fatal(err)
	}
	grant := store.Rule{PType: "g", Values: []string{principal, role, unit}}
	if _, err := a.authz.Change(ctx, store.PolicyChange{Add: []store.Rule{grant},
		Audit: store.AuditEntry{Actor: "test", Action: "policy.grant", Detail: authz.FormatRule(grant)}}); err != nil {
		t.Fatalf("granting %s: %v", authz.FormatRule(grant), err)
	}
	secret, err := newToken(ctx, a.auth, principal, "test", "test", now, a.newID)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}
