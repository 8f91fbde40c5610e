package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/classify/classifytest"
	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/gateway/config"
	"github.com/switchboard12345/switchboard/kb"
	"github.com/switchboard12345/switchboard/kb/kbtest"
)

// TestReferenceCLI serves the demo (which seeds the example taxonomy and
// the demo knowledge base) in process and drives the category and kb
// subcommands: an operator browses and searches, an administrator changes
// the knowledge base and imports a new taxonomy version.
func TestReferenceCLI(t *testing.T) {
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
	tokens := demoTokens(t, a, cfg.DataDir)
	done := make(chan error, 1)
	go func() { done <- a.server.Run(ctx) }()
	defer func() { cancel(); <-done }()
	_, grpcAddr, err := a.server.Addrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sb := func(who string, args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		args = append(args, "--server", grpcAddr, "--token", tokens[who])
		err := run(ctx, args, &out, &errb)
		return out.String() + errb.String(), err
	}
	want := func(who string, args ...string) string {
		t.Helper()
		out, err := sb(who, args...)
		if err != nil {
			t.Fatalf("switchboard %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	has := func(out string, subs ...string) {
		t.Helper()
		for _, s := range subs {
			if !strings.Contains(out, s) {
				t.Errorf("output lacks %q:\n%s", s, out)
			}
		}
	}

	// The operator browses the seeded taxonomy.
	has(want("operator", "category", "list"), "taxonomy version 1, 15 categories", "城乡建设", "劳动和社会保障")
	has(want("operator", "category", "list", "0102"), "010213", "燃气供应")
	has(want("operator", "category", "show", "010213"), "path: 01 城乡建设 / 0102 城市建设和市政管理 / 010213 燃气供应")
	has(want("operator", "category", "search", "燃气"), "010213", "燃气供应", "name")
	has(want("operator", "category", "versions"), "1 *", "deploy/examples/categories.csv", "[15 118 517]")
	// … and searches the seeded knowledge base.
	has(want("operator", "kb", "search", "我想问公积金贷款的条件", "--k", "3"), "1. kb-", "公积金", "【")
	has(want("operator", "kb", "search", "12356", "--at", "2025-06-01"), "心理援助")
	has(want("operator", "kb", "show", "kb-hotline-12315"), "kb-hotline-12315", "双号并行")
	has(want("operator", "kb", "list", "--category", "0110", "--limit", "5"), "ID", "0110", "(more: raise --limit)")
	if out, err := sb("operator", "kb", "add", "--title", "x", "--answer", "y"); err == nil || !strings.Contains(out+err.Error(), "PermissionDenied") {
		t.Errorf("the operator added an entry: %v %s", err, out)
	}

	// The administrator changes the knowledge base.
	has(want("admin", "kb", "add", "--id", "kb-cli", "--title", "燃气报修", "--answer", "请拨打燃气公司抢修电话。", "--category", "010213",
		"--keywords", "燃气,抢修", "--valid-from", "2024-01-01"), "added kb-cli 燃气报修")
	has(want("admin", "kb", "update", "kb-cli", "--title", "燃气泄漏报修", "--valid-until", "2030-01-01"), "updated kb-cli 燃气泄漏报修")
	has(want("admin", "kb", "show", "kb-cli"), "category: 010213 城乡建设/城市建设和市政管理/燃气供应", "valid:    2024-01-01–2030-01-01", "燃气、抢修")
	has(want("operator", "kb", "search", "燃气泄漏报修"), "1. kb-cli")
	if out, err := sb("admin", "kb", "delete", "kb-cli", "--revision", "1"); err == nil || !strings.Contains(err.Error(), "Aborted") {
		t.Errorf("a stale delete: %v %s", err, out)
	}
	has(want("admin", "kb", "delete", "kb-cli"), "deleted kb-cli")
	dir := t.TempDir()
	file := filepath.Join(dir, "kb.csv")
	os.WriteFile(file, []byte("id,title,answer,category,keywords\nkb-csv-1,社保卡补办,携带身份证到社保卡服务网点补办。,150201,社保卡;补办\n"), 0o644)
	has(want("admin", "kb", "import", file, "--dry-run"), "would import", "1 created")
	has(want("admin", "kb", "import", file), "imported", "1 created")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("entries:\n  - title: 没有答复\n"), 0o644)
	if out, err := sb("admin", "kb", "import", bad); err == nil || !strings.Contains(err.Error(), "line 2: answer: required") {
		t.Errorf("a bad import: %v %s", err, out)
	}

	// A file larger than one request goes in several.
	demo, err := kb.ParseEntries(examples.Knowledge, kb.FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	big, err := kb.MarshalYAML(kbtest.Grow(demo, 2000, time.Now(), 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(big) <= importChunk {
		t.Fatalf("the big file is only %d bytes", len(big))
	}
	bigFile := filepath.Join(dir, "big.yaml")
	os.WriteFile(bigFile, big, 0o644)
	// Several requests, each reindexing: slow under -race on a busy machine.
	has(want("admin", "kb", "import", bigFile, "--timeout", "3m"), "imported", fmt.Sprintf("%d created", 2000-len(demo)), fmt.Sprintf("%d unchanged", len(demo)))
	if out, err := sb("admin", "kb", "import", bigFile, "--replace", "--timeout", "3m"); err == nil || !strings.Contains(err.Error(), "--replace must be one") {
		t.Errorf("a big replace: %v %s", err, out)
	}

	// … and imports a new taxonomy version.
	tax := filepath.Join(dir, "新分类.csv")
	os.WriteFile(tax, []byte("一级分类,二级分类\n城乡建设,燃气供应\n环境保护,噪声污染\n"), 0o644)
	has(want("admin", "category", "import", tax, "--dry-run"), "valid tree: 4 categories")
	has(want("admin", "category", "import", tax, "--note", "测试"), "taxonomy version 2: 4 categories, per level [2 2]")
	has(want("operator", "category", "show", "0101", "--version", "1"), "0101 安全生产")
	has(want("operator", "category", "show", "0101"), "0101 燃气供应")
	if out, err := sb("operator", "category", "import", tax); err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Errorf("the operator imported a taxonomy: %v %s", err, out)
	}
}

// TestBenchKB runs the knowledge-base benchmark small.
func TestBenchKB(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"bench", "kb", "--entries", "2000", "--queries", "200"}, &out, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, s := range []string{"2000 entries", "p99", "searches/s"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
	t.Log(out.String())
}

// TestBenchClassify runs the classifier benchmark small.
func TestBenchClassify(t *testing.T) {
	classifytest.Dataset(t, "teddy2020c/train.csv") // skips (fails under CI) without the shared data
	var out bytes.Buffer
	if err := run(context.Background(), []string{"bench", "classify", "--messages", "2500", "--queries", "100"}, &out, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, s := range []string{"history: 2500 messages", "training on 1 CPU(s)", "prediction (top 3", "p99"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
	t.Log(out.String())
}
