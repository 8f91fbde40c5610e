package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/kb"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/taxonomy"
)

// Reference is a store of reference data: the taxonomy and the knowledge
// base.
type Reference interface {
	store.Taxonomies
	store.Knowledge
}

// OpenReference returns an empty Reference store for one subtest. If it
// implements io.Closer the suite closes it when the subtest ends.
type OpenReference func(t *testing.T) Reference

// RunReference runs the conformance suite of store.Taxonomies and
// store.Knowledge against the stores open returns: taxonomy versions that
// never change once imported, the knowledge base's entries with their
// revisions under concurrent changes, lists with filters and keyset pages,
// imports that replace, refusals that change nothing, and Chinese text.
func RunReference(t *testing.T, open OpenReference) {
	tests := []struct {
		name string
		fn   func(t *testing.T, r Reference)
	}{
		{"TaxonomyEmpty", testTaxonomyEmpty},
		{"TaxonomyVersions", testTaxonomyVersions},
		{"TaxonomyRefusals", testTaxonomyRefusals},
		{"TaxonomyConcurrentImports", testTaxonomyConcurrent},
		{"EntryLifecycle", testEntryLifecycle},
		{"EntryRefusalsChangeNothing", testEntryRefusals},
		{"EntryConcurrentUpdatesConflict", testEntryConcurrent},
		{"EntryListFiltersPages", testEntryList},
		{"EntryImport", testEntryImport},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := open(t)
			if c, ok := r.(io.Closer); ok {
				t.Cleanup(func() {
					if err := c.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				})
			}
			tc.fn(t, r)
		})
	}
}

func exampleTree(t *testing.T) *taxonomy.Tree {
	t.Helper()
	tree, err := taxonomy.Parse(examples.Categories, "")
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// wantKind checks that err is of kind k and, when field is set, that a
// violation names it.
func wantKind(t *testing.T, err error, k errs.Kind, field string) {
	t.Helper()
	if !errs.Is(err, k) {
		t.Fatalf("got %v (kind %v), want kind %v", err, errs.KindOf(err), k)
	}
	if field == "" {
		return
	}
	var e *errs.Error
	errors.As(err, &e)
	for _, f := range e.Fields {
		if f.Field == field {
			return
		}
	}
	t.Errorf("error %v names no field %s", err, field)
}

func testTaxonomyEmpty(t *testing.T, r Reference) {
	ctx := context.Background()
	if v, err := r.CurrentTaxonomyVersion(ctx); err != nil || v != 0 {
		t.Errorf("CurrentTaxonomyVersion = %d, %v; want 0", v, err)
	}
	_, err := r.Taxonomy(ctx, 0)
	if !errors.Is(err, store.ErrTaxonomyNotFound) || !store.IsNotFound(err) {
		t.Errorf("Taxonomy(0) on an empty store: %v, want ErrTaxonomyNotFound", err)
	}
	if vs, err := r.TaxonomyVersions(ctx); err != nil || len(vs) != 0 {
		t.Errorf("TaxonomyVersions = %v, %v", vs, err)
	}
}

func testTaxonomyVersions(t *testing.T, r Reference) {
	ctx := context.Background()
	tree := exampleTree(t)
	v1, err := r.ImportTaxonomy(ctx, store.TaxonomyVersion{CreatedAt: base, CreatedBy: "u-admin", Source: "categories.csv", Note: "示例分类（编码非官方）", Categories: tree.All()})
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != 1 || v1.Count != 650 || v1.Categories != nil || !v1.CreatedAt.Equal(base) {
		t.Errorf("first import = %+v", v1)
	}
	small := []taxonomy.Category{{Code: "01", Name: "城乡建设", Level: 1}, {Code: "0101", Name: "燃气供应", Level: 2, Parent: "01"}}
	v2, err := r.ImportTaxonomy(ctx, store.TaxonomyVersion{CreatedAt: base.Add(time.Hour), CreatedBy: "u-李娜", Source: "小.yaml", Categories: small})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || v2.Count != 2 {
		t.Errorf("second import = %+v", v2)
	}
	if cur, err := r.CurrentTaxonomyVersion(ctx); err != nil || cur != 2 {
		t.Errorf("CurrentTaxonomyVersion = %d, %v", cur, err)
	}
	cur, err := r.Taxonomy(ctx, 0)
	if err != nil || cur.Version != 2 || !slices.Equal(cur.Categories, small) || cur.CreatedBy != "u-李娜" || cur.Source != "小.yaml" {
		t.Errorf("current = %+v, %v", cur, err)
	}
	old, err := r.Taxonomy(ctx, 1)
	if err != nil || !slices.Equal(old.Categories, tree.All()) || old.Note != "示例分类（编码非官方）" || old.Count != 650 {
		t.Errorf("version 1 changed: %d categories, version %d by %s from %s (%q), %v", len(old.Categories), old.Version, old.CreatedBy, old.Source, old.Note, err)
	}
	if _, err := r.Taxonomy(ctx, 3); !errors.Is(err, store.ErrTaxonomyNotFound) {
		t.Errorf("Taxonomy(3): %v", err)
	}
	vs, err := r.TaxonomyVersions(ctx)
	if err != nil || len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 1 || vs[0].Categories != nil || vs[1].Count != 650 {
		t.Errorf("TaxonomyVersions = %+v, %v", vs, err)
	}
}

func testTaxonomyRefusals(t *testing.T, r Reference) {
	ctx := context.Background()
	_, err := r.ImportTaxonomy(ctx, store.TaxonomyVersion{})
	wantKind(t, err, errs.Invalid, "categories")
	_, err = r.ImportTaxonomy(ctx, store.TaxonomyVersion{Categories: []taxonomy.Category{{Code: "01", Name: "城乡建设", Level: 1}, {Code: "01", Name: "环境保护", Level: 1}}})
	wantKind(t, err, errs.Invalid, "categories[1].code")
	_, err = r.ImportTaxonomy(ctx, store.TaxonomyVersion{Categories: []taxonomy.Category{{Code: "01", Level: 1}}})
	wantKind(t, err, errs.Invalid, "categories[0].name")
	if v, _ := r.CurrentTaxonomyVersion(ctx); v != 0 {
		t.Errorf("refused imports took version %d", v)
	}
}

func testTaxonomyConcurrent(t *testing.T, r Reference) {
	ctx := context.Background()
	var wg sync.WaitGroup
	got := make([]int64, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := r.ImportTaxonomy(ctx, store.TaxonomyVersion{Source: fmt.Sprint(i), Categories: []taxonomy.Category{{Code: "01", Name: fmt.Sprintf("第%d版", i), Level: 1}}})
			if err != nil {
				t.Error(err)
			}
			got[i] = v.Version
		}()
	}
	wg.Wait()
	slices.Sort(got)
	if !slices.Equal(got, []int64{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Errorf("concurrent imports got versions %v", got)
	}
	for _, v := range got {
		tv, err := r.Taxonomy(ctx, v)
		if err != nil || len(tv.Categories) != 1 || tv.Categories[0].Name != "第"+tv.Source+"版" {
			t.Errorf("version %d = %+v, %v", v, tv, err)
		}
	}
}

// entry returns a knowledge-base entry with real Chinese text.
func entry(id string) kb.Entry {
	return kb.Entry{
		ID: id, Title: "住房公积金提取条件", Category: "011001", Unit: "A市住房公积金管理中心",
		Answer:    "职工购买、建造、翻建、大修自住住房的，可以提取住房公积金。\n离休、退休的，也可以提取。",
		ValidFrom: time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)),
		Keywords:  []string{"公积金", "提取"}, Source: "长公积金〔2023〕5号",
		CreatedAt: base, CreatedBy: "u-李娜",
	}
}

func showEntry(e kb.Entry) string {
	return fmt.Sprintf("{%s %q %q cat=%s unit=%q %s–%s kw=%q src=%q rev=%d created=%s by %s updated=%s by %s}",
		e.ID, e.Title, e.Answer, e.Category, e.Unit, showTime(e.ValidFrom), showTime(e.ValidUntil), e.Keywords, e.Source,
		e.Revision, showTime(e.CreatedAt), e.CreatedBy, showTime(e.UpdatedAt), e.UpdatedBy)
}

func wantRevision(t *testing.T, r Reference, want int64) {
	t.Helper()
	if got, err := r.KnowledgeRevision(context.Background()); err != nil || got != want {
		t.Fatalf("KnowledgeRevision = %d, %v; want %d", got, err, want)
	}
}

func testEntryLifecycle(t *testing.T, r Reference) {
	ctx := context.Background()
	wantRevision(t, r, 0)
	e := entry("kb-gjj-1")
	created, err := r.CreateEntry(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	want := e
	want.Revision, want.UpdatedAt, want.UpdatedBy = 1, base, "u-李娜"
	if showEntry(created) != showEntry(want) {
		t.Errorf("CreateEntry = %s\nwant %s", showEntry(created), showEntry(want))
	}
	got, err := r.GetEntry(ctx, "kb-gjj-1")
	if err != nil || showEntry(got) != showEntry(want) {
		t.Errorf("GetEntry = %s, %v\nwant %s", showEntry(got), err, showEntry(want))
	}
	wantRevision(t, r, 1)

	// An update keeps the creation and takes the next revision.
	up := got
	up.Title, up.Keywords, up.ValidUntil = "住房公积金提取条件（2025版）", nil, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	up.UpdatedAt, up.UpdatedBy, up.CreatedAt, up.CreatedBy = base.Add(time.Hour), "u-王芳", time.Time{}, "someone else"
	updated, err := r.UpdateEntry(ctx, up, 1)
	if err != nil {
		t.Fatal(err)
	}
	want = up
	want.Revision, want.CreatedAt, want.CreatedBy = 2, base, "u-李娜"
	if showEntry(updated) != showEntry(want) {
		t.Errorf("UpdateEntry = %s\nwant %s", showEntry(updated), showEntry(want))
	}
	if got, _ := r.GetEntry(ctx, "kb-gjj-1"); showEntry(got) != showEntry(want) {
		t.Errorf("after update GetEntry = %s", showEntry(got))
	}
	// Without an expected revision the update is unconditional.
	up.Answer = "可以提取。"
	if u, err := r.UpdateEntry(ctx, up, 0); err != nil || u.Revision != 3 {
		t.Errorf("unconditional update: %v, %v", u.Revision, err)
	}
	rev, err := r.DeleteEntry(ctx, "kb-gjj-1", 3)
	if err != nil || rev != 4 {
		t.Fatalf("DeleteEntry = %d, %v", rev, err)
	}
	if _, err := r.GetEntry(ctx, "kb-gjj-1"); !errors.Is(err, store.ErrEntryNotFound) || !store.IsNotFound(err) {
		t.Errorf("GetEntry after delete: %v", err)
	}
	wantRevision(t, r, 4)
	// The ID may be used again.
	if e2, err := r.CreateEntry(ctx, entry("kb-gjj-1")); err != nil || e2.Revision != 5 {
		t.Errorf("re-create: %v, %v", e2.Revision, err)
	}
}

func testEntryRefusals(t *testing.T, r Reference) {
	ctx := context.Background()
	if _, err := r.CreateEntry(ctx, entry("a")); err != nil {
		t.Fatal(err)
	}
	_, err := r.CreateEntry(ctx, entry("a"))
	if !errors.Is(err, store.ErrEntryExists) {
		t.Errorf("duplicate id: %v", err)
	}
	wantKind(t, err, errs.Conflict, "")
	bad := entry("b")
	bad.Title = ""
	_, err = r.CreateEntry(ctx, bad)
	wantKind(t, err, errs.Invalid, "title")
	bad = entry("")
	_, err = r.CreateEntry(ctx, bad)
	wantKind(t, err, errs.Invalid, "id")
	_, err = r.UpdateEntry(ctx, entry("a"), 7)
	wantKind(t, err, errs.Conflict, "")
	_, err = r.UpdateEntry(ctx, entry("nope"), 0)
	if !errors.Is(err, store.ErrEntryNotFound) {
		t.Errorf("update unknown: %v", err)
	}
	_, err = r.DeleteEntry(ctx, "a", 9)
	wantKind(t, err, errs.Conflict, "")
	_, err = r.DeleteEntry(ctx, "nope", 0)
	if !errors.Is(err, store.ErrEntryNotFound) {
		t.Errorf("delete unknown: %v", err)
	}
	wantRevision(t, r, 1)
	if got, _ := r.GetEntry(ctx, "a"); got.Revision != 1 || got.Title != "住房公积金提取条件" {
		t.Errorf("refusals changed the entry: %s", showEntry(got))
	}
}

// testEntryConcurrent: of concurrent updates naming the same revision,
// exactly one wins; the others conflict.
func testEntryConcurrent(t *testing.T, r Reference) {
	ctx := context.Background()
	if _, err := r.CreateEntry(ctx, entry("race")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := entry("race")
			e.Answer = fmt.Sprintf("第%d个答复。", i)
			_, err := r.UpdateEntry(ctx, e, 1)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errs.Is(err, errs.Conflict):
				conflicts++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != 7 {
		t.Errorf("%d updates won, %d conflicted; want 1 and 7", wins, conflicts)
	}
	wantRevision(t, r, 2)
}

func testEntryList(t *testing.T, r Reference) {
	ctx := context.Background()
	china := time.FixedZone("CST", 8*3600)
	d := func(y int) time.Time { return time.Date(y, 1, 1, 0, 0, 0, 0, china) }
	var all []string
	for i := range 25 {
		e := entry(fmt.Sprintf("kb-%02d", i))
		e.Category = []string{"011001", "010213", "150201"}[i%3]
		e.Unit = []string{"A市住房公积金管理中心", "A市燃气公司"}[i%2]
		e.ValidFrom, e.ValidUntil = time.Time{}, time.Time{}
		switch i % 5 {
		case 1:
			e.ValidFrom, e.ValidUntil = d(2015), d(2020) // expired
		case 2:
			e.ValidFrom = d(2030) // not yet
		}
		if _, err := r.CreateEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
		all = append(all, e.ID)
	}
	list := func(q store.EntryQuery) []string {
		t.Helper()
		var ids []string
		for {
			page, more, err := r.ListEntries(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > q.PageSize {
				t.Fatalf("page of %d > %d", len(page), q.PageSize)
			}
			for _, e := range page {
				ids = append(ids, e.ID)
			}
			if !more {
				return ids
			}
			q.After = page[len(page)-1].ID
		}
	}
	if got := list(store.EntryQuery{PageSize: 7}); !slices.Equal(got, all) {
		t.Errorf("all: %v", got)
	}
	check := func(name string, q store.EntryQuery, keep func(i int) bool) {
		t.Helper()
		var want []string
		for i, id := range all {
			if keep(i) {
				want = append(want, id)
			}
		}
		if got := list(q); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	check("category 01", store.EntryQuery{PageSize: 3, CategoryPrefix: "01"}, func(i int) bool { return i%3 != 2 })
	check("category 0102", store.EntryQuery{PageSize: 3, CategoryPrefix: "0102"}, func(i int) bool { return i%3 == 1 })
	check("unit", store.EntryQuery{PageSize: 4, Unit: "A市燃气公司"}, func(i int) bool { return i%2 == 1 })
	check("valid now", store.EntryQuery{PageSize: 5, ValidAt: base}, func(i int) bool { return i%5 != 1 && i%5 != 2 })
	check("valid 2016", store.EntryQuery{PageSize: 5, ValidAt: d(2016)}, func(i int) bool { return i%5 != 2 })
	check("valid at the end (exclusive)", store.EntryQuery{PageSize: 50, ValidAt: d(2020)}, func(i int) bool { return i%5 != 1 && i%5 != 2 })
	check("all filters", store.EntryQuery{PageSize: 2, CategoryPrefix: "011001", Unit: "A市住房公积金管理中心", ValidAt: base},
		func(i int) bool { return i%3 == 0 && i%2 == 0 && i%5 != 1 && i%5 != 2 })
	if _, _, err := r.ListEntries(ctx, store.EntryQuery{}); !errs.Is(err, errs.Invalid) {
		t.Errorf("page size 0: %v", err)
	}
	entries, rev, err := r.LoadKnowledge(ctx)
	if err != nil || rev != 25 || len(entries) != 25 || entries[0].ID != "kb-00" || entries[0].Answer != entry("x").Answer {
		t.Errorf("LoadKnowledge = %d entries, revision %d, %v", len(entries), rev, err)
	}
}

func testEntryImport(t *testing.T, r Reference) {
	ctx := context.Background()
	at := base.Add(24 * time.Hour)
	if _, err := r.CreateEntry(ctx, entry("keep")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateEntry(ctx, entry("change")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateEntry(ctx, entry("drop")); err != nil {
		t.Fatal(err)
	}
	keep, change := entry("keep"), entry("change")
	change.Answer = "新的答复口径。"
	var batch []kb.Entry
	batch = append(batch, keep, change)
	for i := range 250 { // more than one multi-row insert
		e := entry(fmt.Sprintf("new-%03d", i))
		e.Title = fmt.Sprintf("第%d条", i)
		batch = append(batch, e)
	}
	res, err := r.ImportEntries(ctx, store.EntryImport{Entries: batch, At: at, Actor: "u-admin"})
	if err != nil {
		t.Fatal(err)
	}
	if res != (store.ImportResult{Created: 250, Updated: 1, Unchanged: 1, Revision: 4}) {
		t.Errorf("import = %+v", res)
	}
	got, _ := r.GetEntry(ctx, "change")
	if got.Answer != "新的答复口径。" || got.Revision != 4 || !got.CreatedAt.Equal(base) || got.CreatedBy != "u-李娜" || !got.UpdatedAt.Equal(at) || got.UpdatedBy != "u-admin" {
		t.Errorf("updated entry %s", showEntry(got))
	}
	if got, _ := r.GetEntry(ctx, "keep"); got.Revision != 1 {
		t.Errorf("unchanged entry rewritten: %s", showEntry(got))
	}
	if got, _ := r.GetEntry(ctx, "new-007"); got.Title != "第7条" || got.CreatedBy != "u-admin" || got.Revision != 4 {
		t.Errorf("new entry %s", showEntry(got))
	}
	// The same again changes nothing, not even the revision.
	res, err = r.ImportEntries(ctx, store.EntryImport{Entries: batch, At: at.Add(time.Hour), Actor: "u-admin"})
	if err != nil || res != (store.ImportResult{Unchanged: 252, Revision: 4}) {
		t.Errorf("repeated import = %+v, %v", res, err)
	}
	// A bad entry refuses the whole import.
	bad := append(slices.Clone(batch[:3]), kb.Entry{ID: "bad", Answer: "没有标题"})
	_, err = r.ImportEntries(ctx, store.EntryImport{Entries: bad, Replace: true, At: at})
	wantKind(t, err, errs.Invalid, "entries[3].title")
	_, err = r.ImportEntries(ctx, store.EntryImport{Entries: []kb.Entry{keep, keep}, At: at})
	wantKind(t, err, errs.Invalid, "entries[1].id")
	wantRevision(t, r, 4)
	// Replace deletes what the import does not hold.
	res, err = r.ImportEntries(ctx, store.EntryImport{Entries: batch[:2], Replace: true, At: at})
	if err != nil || res != (store.ImportResult{Unchanged: 2, Deleted: 251, Revision: 5}) {
		t.Errorf("replace = %+v, %v", res, err)
	}
	entries, rev, err := r.LoadKnowledge(ctx)
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	if err != nil || rev != 5 || strings.Join(ids, ",") != "change,keep" {
		t.Errorf("after replace: %v, revision %d, %v", ids, rev, err)
	}
}
