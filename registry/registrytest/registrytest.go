// Package registrytest is the conformance suite of registry.Source: Run(t, open)
// checks import and load (routing rules included), atomic refusal of bad imports, status changes with
// their guards and history, compare-and-set conflicts between concurrent
// editors, hotline reuse, and Watch. Every Source implementation runs it.
package registrytest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/registry"
)

// Open returns an empty Source for one subtest.
type Open func(t *testing.T) registry.Source

// Run runs the suite. open must return an empty registry each time it is
// called from a new subtest.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s registry.Source)
	}{
		{"ImportAndLoad", testImportAndLoad},
		{"BadImportChangesNothing", testBadImport},
		{"StatusChangesAndHistory", testStatus},
		{"GuardsRefuse", testGuards},
		{"StaleEditConflicts", testConflict},
		{"ConcurrentEditorsOneWins", testConcurrentEditors},
		{"ReusedNumber", testReuse},
		{"WatchSeesChanges", testWatch},
		{"ReimportKeepsHistory", testReimport},
		{"EveryChangeMovesTheRevision", testRevisionMoves},
		{"RoutingRules", testRules},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var at = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

func example(t *testing.T) *registry.ProvinceFile {
	t.Helper()
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func imported(t *testing.T, s registry.Source) (*registry.ProvinceFile, uint64) {
	t.Helper()
	p := example(t)
	rev, err := s.Import(context.Background(), p, "admin:chenjing")
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return p, rev
}

func hotline(t *testing.T, s registry.Source, number string) registry.Hotline {
	t.Helper()
	p, _, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h, ok := registry.NewSnapshot(p, 0).HotlineAt(number, at)
	if !ok {
		t.Fatalf("hotline %s not found", number)
	}
	return h
}

func change(to registry.Status) registry.StatusChange {
	return registry.StatusChange{To: to, Actor: "admin:陈静", Reason: "按割接计划", At: at}
}

func testImportAndLoad(t *testing.T, s registry.Source) {
	ctx := context.Background()
	if p, _, err := s.Load(ctx); err != nil || len(p.Units)+len(p.Hotlines)+len(p.Backends) != 0 {
		t.Fatalf("a new registry is not empty: %v", err)
	}
	want, rev := imported(t, s)
	got, rev2, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rev2 < rev || rev == 0 {
		t.Errorf("revision after import %d, load %d", rev, rev2)
	}
	if got.Name != want.Name || len(got.Units) != len(want.Units) || len(got.Hotlines) != len(want.Hotlines) || len(got.Backends) != len(want.Backends) {
		t.Fatalf("loaded %s %d/%d/%d, imported %s %d/%d/%d", got.Name, len(got.Units), len(got.Hotlines), len(got.Backends),
			want.Name, len(want.Units), len(want.Hotlines), len(want.Backends))
	}
	// Units keep their order (parents first) and Chinese names.
	for i := range want.Units {
		if got.Units[i] != want.Units[i] {
			t.Fatalf("unit %d: got %+v, want %+v", i, got.Units[i], want.Units[i])
		}
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("loaded registry does not validate: %v", err)
	}
	h := hotline(t, s, "12315")
	if h.Revision == 0 || h.Name == "" || h.Mode != registry.DualNumbers {
		t.Errorf("12315 = %+v", h)
	}
}

func testBadImport(t *testing.T, s registry.Source) {
	ctx := context.Background()
	_, rev := imported(t, s)
	bad := example(t)
	bad.Hotlines[0].HandlingUnit = "no-such-unit"
	bad.Name = "坏省"
	if _, err := s.Import(ctx, bad, "admin"); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("bad import: %v, want Invalid", err)
	}
	got, rev2, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name == "坏省" || rev2 != rev {
		t.Fatalf("a refused import changed the registry (name %s, revision %d → %d)", got.Name, rev, rev2)
	}
}

func testStatus(t *testing.T, s registry.Source) {
	ctx := context.Background()
	imported(t, s)
	before := hotline(t, s, "12315")
	c := change(registry.Merged)
	c.Cutover, _ = registry.ParseDate("2026-12-31")
	got, err := s.SetStatus(ctx, "12315", c, before.Revision, registry.RetireGuard{})
	if err != nil {
		t.Fatalf("SetStatus: %v", err)
	}
	if got.Status != registry.Merged || got.Revision == before.Revision || got.Cutover.String() != "2026-12-31" {
		t.Fatalf("after SetStatus: %+v", got)
	}
	if stored := hotline(t, s, "12315"); stored.Status != registry.Merged || stored.Revision != got.Revision {
		t.Fatalf("stored %+v, returned %+v", stored, got)
	}
	if _, err := s.SetStatus(ctx, "12315", change(registry.Retired), 0, registry.RetireGuard{Days: 30}); err != nil {
		t.Fatal(err)
	}
	hist, err := s.History(ctx, "12315")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].From != before.Status || hist[0].To != registry.Merged || hist[1].To != registry.Retired ||
		hist[0].Actor != "admin:陈静" || hist[0].Reason != "按割接计划" || !hist[0].At.Equal(at) {
		t.Fatalf("history = %+v", hist)
	}
	if _, err := s.SetStatus(ctx, "99999", change(registry.Merged), 0, registry.RetireGuard{}); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("unknown number: %v", err)
	}
	if h, err := s.History(ctx, "12333"); err != nil || len(h) != 0 {
		t.Fatalf("history of an unchanged number: %v %v", h, err)
	}
}

func testGuards(t *testing.T, s registry.Source) {
	ctx := context.Background()
	imported(t, s)
	if _, err := s.SetStatus(ctx, "110", change(registry.Retired), 0, registry.RetireGuard{}); errs.KindOf(err) != errs.Precondition {
		t.Fatalf("retiring 110: %v, want Precondition", err)
	}
	h := hotline(t, s, "12315")
	if _, err := s.SetStatus(ctx, "12315", change(registry.Merged), 0, registry.RetireGuard{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetStatus(ctx, "12315", change(registry.Retired), 0, registry.RetireGuard{Days: 30, Requests: 5}); errs.KindOf(err) != errs.Precondition {
		t.Fatalf("retiring with traffic: %v, want Precondition", err)
	}
	forced := change(registry.Retired)
	forced.Force = true
	if _, err := s.SetStatus(ctx, "12315", forced, 0, registry.RetireGuard{Days: 30, Requests: 5}); err != nil {
		t.Fatalf("forced retire: %v", err)
	}
	hist, _ := s.History(ctx, "12315")
	if len(hist) != 2 || !hist[1].Force {
		t.Fatalf("refused changes recorded or force lost: %+v (from %s)", hist, h.Status)
	}
}

func testConflict(t *testing.T, s registry.Source) {
	ctx := context.Background()
	imported(t, s)
	stale := hotline(t, s, "12333")
	if _, err := s.SetStatus(ctx, "12333", change(registry.Merged), stale.Revision, registry.RetireGuard{}); err != nil {
		t.Fatal(err)
	}
	_, err := s.SetStatus(ctx, "12333", change(registry.Planned), stale.Revision, registry.RetireGuard{})
	if errs.KindOf(err) != errs.Conflict {
		t.Fatalf("stale edit: %v, want Conflict", err)
	}
	if h := hotline(t, s, "12333"); h.Status != registry.Merged {
		t.Fatalf("stale edit overwrote: %s", h.Status)
	}
}

func testConcurrentEditors(t *testing.T, s registry.Source) {
	ctx := context.Background()
	imported(t, s)
	base := hotline(t, s, "12369")
	const editors = 8
	var wg sync.WaitGroup
	results := make([]error, editors)
	for i := range editors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = s.SetStatus(ctx, "12369", change(registry.Merged), base.Revision, registry.RetireGuard{})
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range results {
		switch {
		case err == nil:
			wins++
		case errs.KindOf(err) == errs.Conflict, errs.KindOf(err) == errs.Precondition:
		default:
			t.Errorf("editor failed oddly: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d editors won a compare-and-set on one revision, want exactly 1", wins)
	}
	if hist, _ := s.History(ctx, "12369"); len(hist) != 1 {
		t.Fatalf("%d history entries, want 1", len(hist))
	}
}

func testReuse(t *testing.T, s registry.Source) {
	ctx := context.Background()
	p, _ := imported(t, s)
	var uses int
	for _, h := range p.Hotlines {
		if h.Number == "12356" {
			uses++
		}
	}
	if uses < 2 {
		t.Skip("the example province has no reused number")
	}
	// A change at a date picks the use in force then.
	c := change(registry.Planned)
	c.At = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	got, err := s.SetStatus(ctx, "12356", c, 0, registry.RetireGuard{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name == "" || !got.ValidAt(c.At) {
		t.Fatalf("changed the wrong use of 12356: %+v", got)
	}
	loaded, _, _ := s.Load(ctx)
	snap := registry.NewSnapshot(loaded, 0)
	if old, ok := snap.HotlineAt("12356", time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)); !ok || old.Status != registry.Retired {
		t.Fatalf("the old use of 12356 changed: %+v", old)
	}
}

func testWatch(t *testing.T, s registry.Source) {
	ctx := context.Background()
	_, rev := imported(t, s)
	done := make(chan uint64, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		r, err := s.Watch(wctx, rev)
		if err != nil {
			t.Errorf("Watch: %v", err)
		}
		done <- r
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := s.SetStatus(ctx, "12348", change(registry.Merged), 0, registry.RetireGuard{}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r <= rev {
			t.Fatalf("Watch returned revision %d, not after %d", r, rev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not see the change")
	}
	// A watch with a cancelled context returns promptly.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Watch(cctx, rev+1_000_000); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Watch: %v", err)
	}
}

func testReimport(t *testing.T, s registry.Source) {
	ctx := context.Background()
	imported(t, s)
	if _, err := s.SetStatus(ctx, "12328", change(registry.Merged), 0, registry.RetireGuard{}); err != nil {
		t.Fatal(err)
	}
	p := example(t)
	for i := range p.Units {
		if p.Units[i].ID == "gz-samr" {
			p.Units[i].Name = "广州市市场监督管理局（知识产权局）"
		}
	}
	if _, err := s.Import(ctx, p, "admin"); err != nil {
		t.Fatal(err)
	}
	got, _, _ := s.Load(ctx)
	snap := registry.NewSnapshot(got, 0)
	if u, _ := snap.Unit(ctx, "gz-samr"); u.Name != "广州市市场监督管理局（知识产权局）" {
		t.Fatalf("re-import did not apply: %q", u.Name)
	}
	if hist, _ := s.History(ctx, "12328"); len(hist) != 1 {
		t.Fatalf("re-import lost the history: %v", hist)
	}
}

// testRevisionMoves: back-and-forth changes of one number by one actor write
// the same content twice; the revision must move every time all the same, or
// watchers would miss the second change.
func testRevisionMoves(t *testing.T, s registry.Source) {
	ctx := context.Background()
	_, rev := imported(t, s)
	for i, to := range []registry.Status{registry.Merged, registry.DualRunning, registry.Merged, registry.DualRunning} {
		if _, err := s.SetStatus(ctx, "12333", change(to), 0, registry.RetireGuard{}); err != nil {
			t.Fatal(err)
		}
		_, next, err := s.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if next == rev {
			t.Fatalf("change %d left the revision at %d", i, rev)
		}
		rev = next
	}
}

// testRules: the routing rules are stored in file order with their notes, a
// re-import replaces them, and a bad rule refuses the whole import.
func testRules(t *testing.T, s registry.Source) {
	ctx := context.Background()
	want, _ := imported(t, s)
	if len(want.Rules) == 0 {
		t.Fatal("the example province has no routing rules")
	}
	got, _, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Rules, want.Rules) {
		t.Fatalf("loaded %d rules, imported %d; first loaded %+v", len(got.Rules), len(want.Rules), got.Rules[:min(1, len(got.Rules))])
	}
	snap := registry.NewSnapshot(got, 0)
	if u, ok := snap.Route("110403", "440106"); !ok || u != "gz-samr" {
		t.Fatalf("商品质量 in 天河区 routes to %q %v, want gz-samr", u, ok)
	}

	// A re-import with other rules replaces them all.
	next := example(t)
	next.Rules = []registry.Rule{
		{Category: "1104", Unit: "gd-samr", Note: "市场监管一律省局受理"},
		{Category: "0110", Region: "440100", Unit: "gz-housing", Note: "广州住房"},
	}
	rev, err := s.Import(ctx, next, "admin:陈静")
	if err != nil {
		t.Fatal(err)
	}
	got, _, err = s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Rules, next.Rules) {
		t.Fatalf("after re-import: %+v, want %+v", got.Rules, next.Rules)
	}
	if u, _ := registry.NewSnapshot(got, 0).Route("110403", "440106"); u != "gd-samr" {
		t.Fatalf("after re-import 商品质量 in 天河区 routes to %q", u)
	}

	// A rule naming an unknown unit refuses the import and changes nothing.
	bad := example(t)
	bad.Rules = append(bad.Rules, registry.Rule{Category: "1104", Region: "440305", Unit: "sz-nanshan-samr"})
	_, err = s.Import(ctx, bad, "admin")
	if errs.KindOf(err) != errs.Invalid || !strings.Contains(err.Error(), "sz-nanshan-samr") {
		t.Fatalf("import with an unknown rule unit: %v, want Invalid naming it", err)
	}
	got, rev2, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rev2 != rev || !slices.Equal(got.Rules, next.Rules) {
		t.Fatalf("a refused import changed the rules (revision %d → %d, %d rules)", rev, rev2, len(got.Rules))
	}

	// A registry without rules loads without them.
	none := example(t)
	none.Rules = nil
	if _, err := s.Import(ctx, none, "admin"); err != nil {
		t.Fatal(err)
	}
	if got, _, err = s.Load(ctx); err != nil || len(got.Rules) != 0 {
		t.Fatalf("after importing no rules: %d rules, %v", len(got.Rules), err)
	}
}
