package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/config"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/storetest"
)

// TestDispatchAndInboxCLI serves the example province with its dispatcher
// and walks the dispatch and inbox subcommands: dead letters are listed and
// redriven, and a work order dispatched to a street office without a system
// of its own reaches its inbox, where two staff meet it.
func TestDispatchAndInboxCLI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr, cfg.GRPC.Addr = "127.0.0.1:0", "127.0.0.1:0"
	a, err := build(ctx, cfg, true, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.store.Close()
	// The demo's administrator handles dead letters; its operator files and
	// dispatches and reads the dispatch status; two staff of the street
	// office (天河南街, no system of its own) meet the work order in its inbox.
	demo := demoTokens(t, a, cfg.DataDir)
	admin, operator := demo["admin"], demo["operator"]
	lina := grantToken(t, a, "lina@gz-tianhe-tiyuxi", "unit_staff", "gz-tianhe-tiyuxi")
	wangfang := grantToken(t, a, "wangfang@gz-tianhe-tiyuxi", "unit_staff", "gz-tianhe-tiyuxi")
	done := make(chan error, 1)
	go func() { done <- a.server.Run(ctx) }()
	defer func() { cancel(); <-done }()
	_, grpcAddr, err := a.server.Addrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sbErr := func(token string, args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		args = append(args, "--server", grpcAddr, "--token", token)
		err := run(ctx, args, &out, &errb)
		return out.String(), err
	}
	sb := func(token string, args ...string) string {
		t.Helper()
		out, err := sbErr(token, args...)
		if err != nil {
			t.Fatalf("switchboard %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	sbJSON := func(token string, args ...string) map[string]any {
		t.Helper()
		out := sb(token, args...)
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("switchboard %s printed %q", strings.Join(args, " "), out)
		}
		return m
	}

	// Dead letters, parked before the dispatcher runs (it would claim them).
	outbox := a.store.(store.Outbox)
	now := time.Now()
	for i, b := range []string{"gd-samr-rest", "gd-samr-rest", "gd-tax-soap"} {
		c := storetest.Sample()
		c.Outbox = []store.Message{{Topic: "ticket.dispatch", Unit: "gd-samr", Backend: b, Key: fmt.Sprintf("cli-dead-%d", i), Payload: []byte(`{}`)}}
		if _, _, err := a.store.CreateTicket(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	claimed, err := outbox.Claim(ctx, store.Claim{Owner: "cli-test", Now: now, Until: now.Add(time.Minute), Limit: 10})
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claimed %d: %v", len(claimed), err)
	}
	for _, p := range claimed {
		if err := outbox.DeadLetter(ctx, p.ID, "cli-test", "rejected by backend: 缺少必填字段", now); err != nil {
			t.Fatal(err)
		}
	}
	table := sb(admin, "dispatch", "dead-letters")
	if !strings.Contains(table, "缺少必填字段") || !strings.Contains(table, "gd-tax-soap") || !strings.Contains(table, "3 dead letters") {
		t.Fatalf("dead-letters table:\n%s", table)
	}
	dl := sbJSON(admin, "dispatch", "dead-letters", "--backend", "gd-samr-rest", "--json")["deadLetters"].([]any)
	if len(dl) != 2 {
		t.Fatalf("gd-samr-rest dead letters: %v", dl)
	}
	if out := sb(admin, "dispatch", "redrive", "--id", dl[0].(map[string]any)["id"].(string)); !strings.Contains(out, "redriven: 1 ") {
		t.Fatalf("redrive --id: %q", out)
	}
	if out := sb(admin, "dispatch", "redrive", "--backend", "gd-samr-rest"); !strings.Contains(out, "redriven: 1 ") {
		t.Fatalf("redrive --backend: %q", out)
	}
	if _, err := sbErr(admin, "dispatch", "redrive", "--backend", "no-such-backend"); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Fatalf("redrive of an unknown backend: %v", err)
	}
	if _, err := sbErr(admin, "dispatch", "redrive"); err == nil || exitCode(err) != 2 {
		t.Fatalf("redrive without a selection: %v", err)
	}
	if out := sb(admin, "dispatch", "redrive", "--all"); !strings.Contains(out, "redriven: 1 ") {
		t.Fatalf("redrive --all: %q", out)
	}
	if out := sb(admin, "dispatch", "dead-letters"); !strings.Contains(out, "no dead letters") {
		t.Fatalf("after redriving all: %q", out)
	}

	// The dispatcher delivers a work order for 天河南街 into its inbox.
	dctx, stopDispatch := context.WithCancel(context.Background())
	dispatched := make(chan error, 1)
	go func() { dispatched <- a.dispatcher.Run(dctx) }()
	defer func() { stopDispatch(); <-dispatched }()
	tk := sbJSON(operator, "ticket", "create", "--title", "占道经营", "--content", "体育西路人行道被流动摊贩长期占用，行人只能走机动车道。",
		"--phone", "13800138000", "--type", "COMPLAINT", "--address", "广州市天河区体育西路")
	id := tk["trackingNumber"].(string)
	sb(operator, "ticket", "dispatch", id, "--unit", "gz-tianhe-tiyuxi", "--reason", "属地街道处理")
	var items []any
	for deadline := time.Now().Add(20 * time.Second); len(items) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the work order never reached the inbox")
		}
		items, _ = sbJSON(lina, "inbox", "list", "--unit", "gz-tianhe-tiyuxi")["items"].([]any)
	}

	got := sbJSON(lina, "inbox", "claim", "--unit", "gz-tianhe-tiyuxi", "--limit", "5", "--lease", "10m")["items"].([]any)
	if len(got) != 1 {
		t.Fatalf("claimed %v", got)
	}
	item := got[0].(map[string]any)
	key := item["key"].(string)
	title := item["payload"].(map[string]any)["ticket"].(map[string]any)["title"]
	if item["claimedBy"] != "lina@gz-tianhe-tiyuxi" || item["trackingNumber"] != id || title != "占道经营" || !strings.Contains(key, "/gz-tianhe-tiyuxi") {
		t.Fatalf("claimed item: %v", item)
	}
	if again := sbJSON(wangfang, "inbox", "claim", "--unit", "gz-tianhe-tiyuxi"); again["items"] != nil {
		t.Fatalf("a second claim got %v", again)
	}
	// 王芳 may not acknowledge what 李娜 holds; 李娜 signs the ticket and does.
	if _, err := sbErr(wangfang, "inbox", "ack", key, "--unit", "gz-tianhe-tiyuxi"); err == nil || !strings.Contains(err.Error(), "Aborted") {
		t.Fatalf("ack of another's claim: %v", err)
	}
	sb(lina, "ticket", "sign", id)
	acked := sbJSON(lina, "inbox", "ack", key, "--unit", "gz-tianhe-tiyuxi")
	if acked["ackedBy"] != "lina@gz-tianhe-tiyuxi" || acked["ackTime"] == nil {
		t.Fatalf("ack: %v", acked)
	}
	if all := sbJSON(lina, "inbox", "list", "--unit", "gz-tianhe-tiyuxi", "--all")["items"].([]any); len(all) != 1 {
		t.Fatalf("inbox list --all: %v", all)
	}
	if _, err := sbErr(lina, "inbox", "list"); err == nil || exitCode(err) != 2 {
		t.Fatalf("inbox list without --unit: %v", err)
	}

	// Status names the manual backend and its delivery.
	st := sb(operator, "dispatch", "status")
	if !strings.Contains(st, "BREAKER") || !strings.Contains(st, "gz-tianhe-tiyuxi-manual") {
		t.Fatalf("status table:\n%s", st)
	}
	for _, b := range sbJSON(operator, "dispatch", "status", "--json")["backends"].([]any) {
		b := b.(map[string]any)
		if b["backend"] == "gz-tianhe-tiyuxi-manual" {
			if b["kind"] != "manual" || b["delivered"] != "1" || b["breaker"] != "closed" {
				t.Fatalf("manual backend status: %v", b)
			}
			return
		}
	}
	t.Fatal("status lacks the manual backend")
}
