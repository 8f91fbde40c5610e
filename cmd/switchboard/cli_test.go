package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/switchboard12345/switchboard/gateway/config"
	"github.com/switchboard12345/switchboard/internal/testpg"
)

// TestOperatorCLIWalksTheLifecycle serves the demo province in process and
// drives one ticket through its whole life with the ticket subcommands, as an
// operator at a desk would.
func TestOperatorCLIWalksTheLifecycle(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { walkWithCLI(t, config.Default()) })
	t.Run("postgres", func(t *testing.T) {
		cfg := config.Default()
		cfg.Store.Driver, cfg.Store.PostgresDSN = "postgres", testpg.DSN(t)
		walkWithCLI(t, cfg)
	})
}

func walkWithCLI(t *testing.T, cfg config.Config) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr, cfg.GRPC.Addr = "127.0.0.1:0", "127.0.0.1:0"
	a, err := build(ctx, cfg, true, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.store.Close()
	if n, err := seedDemo(ctx, a.tickets); err != nil || n == 0 {
		t.Fatalf("seedDemo: %d %v", n, err)
	}
	// The operator files, dispatches, supervises and closes; the staff of
	// the street office handling the ticket sign, ask for time and reply.
	operator := demoTokens(t, a, cfg.DataDir)["operator"]
	const staffID = "staff-tiyuxi"
	staff := grantToken(t, a, staffID, "unit_staff", "gz-tianhe-tiyuxi")
	done := make(chan error, 1)
	go func() { done <- a.server.Run(ctx) }()
	defer func() { cancel(); <-done }()
	_, grpcAddr, err := a.server.Addrs(ctx)
	if err != nil {
		t.Fatal(err)
	}

	sbAs := func(token string, args ...string) map[string]any {
		t.Helper()
		var out, errb bytes.Buffer
		args = append(args, "--server", grpcAddr, "--token", token)
		if err := run(ctx, args, &out, &errb); err != nil {
			t.Fatalf("switchboard %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatalf("switchboard %s printed %q", strings.Join(args, " "), out.String())
		}
		return m
	}
	sb := func(args ...string) map[string]any {
		t.Helper()
		return sbAs(operator, args...)
	}
	tk := sb("ticket", "create", "--title", "路灯不亮", "--content", "天河区体育西路路灯连续三晚不亮，行人夜间出行不便。",
		"--phone", "13800138000", "--type", "HELP", "--address", "广州市天河区体育西路", "--idempotency-key", "cli-1")
	id := tk["trackingNumber"].(string)
	if again := sb("ticket", "create", "--title", "路灯不亮", "--content", "天河区体育西路路灯连续三晚不亮，行人夜间出行不便。",
		"--phone", "13800138000", "--type", "HELP", "--address", "广州市天河区体育西路", "--idempotency-key", "cli-1"); again["id"] != tk["id"] {
		t.Fatalf("replayed create gave another ticket")
	}
	for _, step := range []struct {
		token string
		args  []string
	}{
		{operator, []string{"reclassify", id, "--category", "010204", "--reason", "路灯属城市公共设施"}},
		{operator, []string{"dispatch", id, "--unit", "gz-tianhe-tiyuxi"}},
		{staff, []string{"sign", id}},
		{staff, []string{"request-extension", id, "--days", "2", "--reason", "需更换灯杆"}},
		{operator, []string{"decide-extension", id, "--approve"}},
		{operator, []string{"supervise", id, "--reason", "群众反映强烈"}},
		{staff, []string{"reply", id, "--text", "已更换灯杆并恢复照明"}},
		{operator, []string{"visit", id, "--satisfaction", "SATISFIED"}},
		{operator, []string{"close", id}},
	} {
		sbAs(step.token, append([]string{"ticket"}, step.args...)...)
	}
	got := sb("ticket", "get", id)
	if got["state"] != "CLOSED" || got["satisfaction"] != "SATISFIED" || got["supervised"] != true || got["category"] != "010204" {
		t.Fatalf("after the walk: %v", got)
	}
	evs := sb("ticket", "events", id)["events"].([]any)
	if len(evs) != 10 || evs[9].(map[string]any)["actor"] != "demo-operator" || evs[1].(map[string]any)["action"] != "reclassify" {
		t.Fatalf("events: %v", evs)
	}
	// Each event names the principal whose token acted.
	for i, want := range map[int]string{0: "demo-operator", 3: staffID, 4: staffID, 5: "demo-operator", 7: staffID} {
		if got := evs[i].(map[string]any)["actor"]; got != want {
			t.Fatalf("event %d (%v) by %v, want %s", i, evs[i].(map[string]any)["action"], got, want)
		}
	}
	list := sb("ticket", "list", "--state", "CLOSED", "--all")
	if n := len(list["tickets"].([]any)); n != 1 {
		t.Fatalf("closed tickets: %d", n)
	}
	// A refused action is an error naming the state.
	var out, errb bytes.Buffer
	err = run(ctx, []string{"ticket", "sign", id, "--server", grpcAddr, "--token", staff}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "CLOSED") {
		t.Fatalf("signing a closed ticket: %v", err)
	}
	// The demo seeded tickets in several states, and seeding again adds none.
	if n, _ := seedDemo(ctx, a.tickets); n == 0 {
		t.Fatal("second seed failed")
	}
	all := sb("ticket", "list", "--page-size", "500")
	if n := len(all["tickets"].([]any)); n != 7 {
		t.Fatalf("%d tickets after seeding twice and filing one, want 7", n)
	}
}
