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
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store/storetest"
)

// registryServer serves the example province (serve --demo's) on a SQLite
// store in process, with two requests dialed on 12315 yesterday, and returns
// its gRPC address, the live registry and the demo administrator's token.
func registryServer(t *testing.T) (string, *registry.Live, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr, cfg.GRPC.Addr = "127.0.0.1:0", "127.0.0.1:0"
	a, err := build(ctx, cfg, true, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	admin := demoTokens(t, a, cfg.DataDir)["admin"]
	for range 2 {
		c := storetest.Sample()
		at := time.Now().Add(-24 * time.Hour)
		c.Ticket.DialedNumber = "12315"
		c.Ticket.CreateTime, c.Ticket.UpdateTime, c.Event.Time = at, at, at
		if _, _, err := a.store.CreateTicket(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	watching := make(chan struct{})
	go func() { a.routes.Run(ctx); close(watching) }()
	serving := make(chan error, 1)
	go func() { serving <- a.server.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-serving
		<-watching
		a.store.Close()
	})
	_, grpcAddr, err := a.server.Addrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return grpcAddr, a.routes, admin
}

// TestAdministratorCLIManagesTheRegistry drives the registry subcommands as an
// administrator would: list and inspect the hotlines, move 12315 through the
// merger, export the registry and import it back, and read the report.
func TestAdministratorCLIManagesTheRegistry(t *testing.T) {
	addr, live, admin := registryServer(t)
	ctx := context.Background()
	sbErr := func(args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		args = append(args, "--server", addr, "--token", admin)
		err := run(ctx, args, &out, &errb)
		return out.String(), err
	}
	sb := func(args ...string) string {
		t.Helper()
		out, err := sbErr(args...)
		if err != nil {
			t.Fatalf("switchboard %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	sbJSON := func(args ...string) map[string]any {
		t.Helper()
		out := sb(args...)
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("switchboard %s printed %q", strings.Join(args, " "), out)
		}
		return m
	}

	// The table: one line per hotline, Chinese names aligned.
	table := sb("registry", "list")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) < 62 || !strings.HasPrefix(lines[0], "NUMBER") {
		t.Fatalf("list printed %d lines:\n%s", len(lines), table)
	}
	var row12315 string
	for _, l := range lines {
		if strings.HasPrefix(l, "12315 ") {
			row12315 = l
		}
	}
	if !strings.Contains(row12315, "市场监管投诉举报热线") || !strings.Contains(row12315, "dual_running") || !strings.Contains(row12315, "gd-samr") {
		t.Fatalf("12315's row: %q", row12315)
	}
	if col := displayWidth(lines[0][:strings.Index(lines[0], "MODE")]); col != displayWidth(row12315[:strings.Index(row12315, "dual_numbers")]) {
		t.Fatalf("MODE column not aligned:\n%s\n%s", lines[0], row12315)
	}
	if n := len(sbJSON("registry", "list", "--mode", "emergency_linkage", "--json")["hotlines"].([]any)); n != 4 {
		t.Fatalf("%d emergency lines", n)
	}
	if _, err := sbErr("registry", "list", "--status", "done"); err == nil || !strings.Contains(err.Error(), "status") {
		t.Fatalf("list --status done: %v", err)
	}

	h := sbJSON("registry", "show", "12315")
	if h["handlingUnit"] != "gd-samr" || h["status"] != "dual_running" {
		t.Fatalf("show 12315: %v", h)
	}
	if old := sbJSON("registry", "show", "12356", "--at", "2024-06-01"); old["name"] != "计划生育法律法规咨询及举报热线" {
		t.Fatalf("12356 in 2024: %v", old)
	}
	rev := h["revision"].(string) // uint64 is a string in protojson

	merged := sbJSON("registry", "set-status", "12315", "--status", "merged", "--revision", rev, "--reason", "坐席并入12345")
	if merged["status"] != "merged" {
		t.Fatalf("set-status: %v", merged)
	}
	if _, err := sbErr("registry", "set-status", "12315", "--status", "dual_running", "--revision", rev); err == nil ||
		!strings.Contains(err.Error(), "Aborted") {
		t.Fatalf("stale revision: %v", err)
	}
	// Yesterday's requests on 12315 make retiring it need force and a reason.
	if _, err := sbErr("registry", "set-status", "12315", "--status", "retired"); err == nil || !strings.Contains(err.Error(), "FailedPrecondition") {
		t.Fatalf("retire with traffic: %v", err)
	}
	sbJSON("registry", "set-status", "12315", "--status", "retired", "--force", "--reason", "改为语音提示转12345", "--cutover", "2099-01-01")
	hist := sb("registry", "history", "12315")
	if !strings.Contains(hist, "demo-admin") || !strings.Contains(hist, "retired (forced)") || !strings.Contains(hist, "坐席并入12345") {
		t.Fatalf("history:\n%s", hist)
	}
	if changes := sbJSON("registry", "history", "12315", "--json")["changes"].([]any); len(changes) != 2 {
		t.Fatalf("history --json: %v", changes)
	}

	// The report, once the live registry has the changes.
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, _ := live.Snapshot().HotlineAt("12315", time.Now())
		if h.Status == registry.Retired {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the live registry did not follow the changes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	report := sb("registry", "report")
	for _, want := range []string{"Hotlines by mode and status", "emergency_linkage", "Requests still arriving on legacy numbers",
		"Upcoming cutovers", "2099-01-01"} {
		if !strings.Contains(report, want) {
			t.Fatalf("report lacks %q:\n%s", want, report)
		}
	}
	var trafficRow string
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "12315 ") && strings.Contains(l, "retired") && !strings.Contains(l, "2099") {
			trafficRow = l
		}
	}
	if f := strings.Fields(trafficRow); len(f) < 5 || f[len(f)-2] != "2" || f[len(f)-1] != "2" {
		t.Fatalf("12315's traffic row %q in:\n%s", trafficRow, report)
	}

	// Export and import back: the same registry at a new revision.
	file := filepath.Join(t.TempDir(), "province.yaml")
	sb("registry", "export", "--out", file)
	exported, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(exported), "市场监管投诉举报热线") {
		t.Fatalf("exported file: %v", err)
	}
	if out := sb("registry", "import", file); !strings.Contains(out, "imported "+file) || !strings.Contains(out, "hotlines") {
		t.Fatalf("import printed %q", out)
	}
	if again := sb("registry", "export"); stripHeader(again) != stripHeader(string(exported)) {
		t.Fatalf("export after import differs")
	}

	// A bad file names the file and the line, and changes nothing.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(string(exported), `number: "12333"`, `number: "12-333"`, 1)), 0o644)
	_, err = sbErr("registry", "import", bad)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "line ") || !strings.Contains(err.Error(), "InvalidArgument") {
		t.Fatalf("bad import: %v", err)
	}
	if again := sb("registry", "export"); stripHeader(again) != stripHeader(string(exported)) {
		t.Fatalf("a refused import changed the registry")
	}

	// Mistakes on the command line.
	for _, args := range [][]string{
		{"registry"}, {"registry", "frobnicate"}, {"registry", "show"}, {"registry", "set-status", "12315"},
		{"registry", "import"}, {"registry", "show", "12315", "--at", "tomorrow"},
	} {
		if _, err := sbErr(args...); exitCode(err) != 2 {
			t.Fatalf("switchboard %s: %v (exit %d), want a usage error", strings.Join(args, " "), err, exitCode(err))
		}
	}
}

// stripHeader drops the export's comment header, which names the revision.
func stripHeader(yaml string) string {
	_, body, _ := strings.Cut(yaml, "\nname:")
	return body
}

func TestDisplayWidth(t *testing.T) {
	for s, want := range map[string]int{"12315": 5, "市场监管": 8, "12345热线": 9, "（已停用）": 10} {
		if got := displayWidth(s); got != want {
			t.Errorf("displayWidth(%q) = %d, want %d", s, got, want)
		}
	}
}
