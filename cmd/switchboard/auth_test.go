package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/config"
)

// TestAdminCLIManagesAccess serves the demo province in process and has its
// administrator create a principal, grant and revoke a role, explain it,
// round-trip the policy, ask who can see a ticket, make and revoke a token,
// and read the audit log, all with the auth subcommands.
func TestAdminCLIManagesAccess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr, cfg.GRPC.Addr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Auth.TokenCacheTTL = -1 // a revocation is seen at once
	a, err := build(ctx, cfg, true, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.store.Close()
	if _, err := seedDemo(ctx, a.tickets); err != nil {
		t.Fatal(err)
	}
	path, err := writeDemoTokens(ctx, a.auth, cfg.DataDir, time.Now(), a.newID)
	if err != nil {
		t.Fatal(err)
	}
	var tokens map[string]string
	if b, err := os.ReadFile(path); err != nil || json.Unmarshal(b, &tokens) != nil {
		t.Fatalf("demo tokens: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.server.Run(ctx) }()
	defer func() { cancel(); <-done }()
	_, grpcAddr, err := a.server.Addrs(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// sbAs runs switchboard with token and returns its standard output and
	// error.
	sbAs := func(token string, args ...string) (string, string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		args = append(args, "--server", grpcAddr, "--token", token)
		err := run(ctx, args, &out, &errb)
		return out.String(), errb.String(), err
	}
	sb := func(args ...string) string {
		t.Helper()
		out, errOut, err := sbAs(tokens["admin"], args...)
		if err != nil {
			t.Fatalf("switchboard %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return out
	}
	wantIn := func(out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Fatalf("output lacks %q:\n%s", w, out)
			}
		}
	}

	wantIn(sb("auth", "whoami"), "demo-admin", "admin", "gd", "policy revision")
	wantIn(sb("auth", "principal", "add", "u-lina", "--name", "李娜", "--unit", "gz-tianhe"), "u-lina", "李娜")
	wantIn(sb("auth", "principal", "list"), "u-lina", "李娜", "gz-tianhe", "demo-street")
	wantIn(sb("auth", "grant", "u-lina", "unit_staff", "gz-tianhe"), "granted", "policy revision")
	wantIn(sb("auth", "can", "u-lina", "gz-tianhe-tiyuxi"), "ACTION", "VIA", "unit_staff@gz-tianhe: p, unit_staff, *, subtree, view")
	wantIn(sb("auth", "revoke", "u-lina", "unit_staff", "gz-tianhe"), "revoked")
	wantIn(sb("auth", "can", "u-lina", "gz-tianhe"), "may do nothing")
	if _, errOut, err := sbAs(tokens["admin"], "auth", "revoke", "u-lina", "unit_staff", "gz-tianhe"); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Fatalf("revoking twice: %v %s", err, errOut)
	}
	if _, _, err := sbAs(tokens["admin"], "auth", "principal", "add", "bad id", "--name", "x", "--unit", "gz"); err == nil || !strings.Contains(err.Error(), "principal.id") {
		t.Fatalf("a bad id: %v", err)
	}

	// The policy: lines added and removed, exported and imported back.
	wantIn(sb("auth", "policy", "add", "p, auditor, *, *, read_stats", "g, u-lina, auditor, gd"), "added 2")
	wantIn(sb("auth", "policy", "show"), "g, u-lina, auditor, gd", "p, operator, *, *, view")
	wantIn(sb("auth", "policy", "remove", "g, u-lina, auditor, gd"), "removed 1")
	file := filepath.Join(t.TempDir(), "policy.csv")
	wantIn(sb("auth", "policy", "export", "--out", file), "exported policy revision")
	wantIn(sb("auth", "policy", "import", file, "--replace"), "replaced the policy")
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("p, a, *, *, view\n\np, a, *, *, fly\n"), 0o644)
	if _, _, err := sbAs(tokens["admin"], "auth", "policy", "import", bad); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("a bad policy file: %v", err)
	}

	// Who can see a demo ticket: the operators do.
	var list struct {
		Tickets []struct{ TrackingNumber string }
	}
	out, errOut, err := sbAs(tokens["operator"], "ticket", "list", "--page-size", "1")
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list.Tickets) == 0 {
		t.Fatalf("ticket list: %v %s %s", err, out, errOut)
	}
	wantIn(sb("auth", "who-can-see", list.Tickets[0].TrackingNumber), "demo-operator", "view_pii")

	// A token: its secret alone on standard output; it works until revoked.
	secret, details, err := sbAs(tokens["admin"], "auth", "token", "create", "u-lina", "--description", "天河区工单系统对接", "--ttl", "1h")
	if err != nil {
		t.Fatal(err)
	}
	secret = strings.TrimSuffix(secret, "\n")
	if !strings.HasPrefix(secret, "sbt_") || strings.ContainsAny(secret, " \n") || !strings.Contains(details, "u-lina") {
		t.Fatalf("token create printed %q, details %q", secret, details)
	}
	me, _, err := sbAs(secret, "auth", "whoami")
	if err != nil {
		t.Fatal(err)
	}
	wantIn(me, "u-lina", "李娜")
	// A disabled principal's tokens are refused; enabled again, they work.
	wantIn(sb("auth", "principal", "disable", "u-lina"), "disabled")
	if _, _, err := sbAs(secret, "auth", "whoami"); err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Fatalf("a disabled principal's token still works: %v", err)
	}
	wantIn(sb("auth", "principal", "enable", "u-lina"), "enabled")
	wantIn(sb("auth", "principal", "update", "u-lina", "--name", "李娜（天河）"), "李娜（天河）")
	wantIn(sb("auth", "audit", "--action", "principal.update"), "u-lina")
	if _, _, err := sbAs(secret, "auth", "whoami"); err != nil {
		t.Fatalf("enabled again: %v", err)
	}
	listed := sb("auth", "token", "list", "u-lina")
	wantIn(listed, "天河区工单系统对接", "active")
	if strings.Contains(listed, secret) {
		t.Fatal("token list shows the secret")
	}
	var toks struct{ Tokens []struct{ Id string } }
	if err := json.Unmarshal([]byte(sb("auth", "token", "list", "u-lina", "--json")), &toks); err != nil || len(toks.Tokens) != 1 {
		t.Fatalf("token list --json: %v %v", toks, err)
	}
	wantIn(sb("auth", "token", "revoke", toks.Tokens[0].Id), "revoked")
	if _, _, err := sbAs(secret, "auth", "whoami"); err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Fatalf("a revoked token still works: %v", err)
	}

	// Every change is in the audit log, the secret nowhere.
	audit := sb("auth", "audit", "--actor", "demo-admin", "--limit", "100")
	wantIn(audit, "principal.create", "policy.grant", "policy.revoke", "policy.change", "policy.import", "token.create", "token.revoke", "李娜")
	if strings.Contains(audit, secret) {
		t.Fatal("the audit log holds the secret")
	}
	wantIn(sb("auth", "audit", "--action", "token.revoke"), "1 entries")
}
