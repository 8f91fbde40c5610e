package service_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/gateway/service"
	"github.com/switchboard12345/switchboard/kb"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

type kbFixture struct {
	st  *sqlstore.Store
	svc *service.Knowledge
}

// seqIDs returns an id source giving 0001, 0002, …
func seqIDs() func(time.Time) string {
	var mu sync.Mutex
	n := 0
	return func(time.Time) string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("%04d", n)
	}
}

// newKBFixture opens a store with the example taxonomy imported and the
// knowledge service on it.
func newKBFixture(t *testing.T) *kbFixture {
	t.Helper()
	st := refStore(t)
	tax := newTaxonomy(st)
	importExample(t, tax)
	return &kbFixture{st: st, svc: newKnowledge(st, tax, time.Hour)}
}

func newKnowledge(st *sqlstore.Store, tax *service.Taxonomy, refresh time.Duration) *service.Knowledge {
	return service.NewKnowledge(service.KnowledgeConfig{Store: st, Taxonomy: tax, Audit: st, Now: func() time.Time { return refNow },
		NewID: seqIDs(), RefreshEvery: refresh})
}

func gasEntry() *pb.KnowledgeEntry {
	return &pb.KnowledgeEntry{Title: "燃气泄漏报修", Category: "010213", Unit: "A市燃气公司", Keywords: []string{"燃气", "抢修"},
		Answer:    "闻到燃气味道时，请立即关闭阀门、打开门窗，不要开关电器，到室外拨打燃气公司24小时抢修电话。",
		ValidFrom: timestamppb.New(time.Date(2024, 1, 1, 0, 0, 0, 0, kb.China))}
}

func search(t *testing.T, svc *service.Knowledge, text string) []string {
	t.Helper()
	resp, err := svc.SearchEntries(context.Background(), &pb.SearchEntriesRequest{Text: text, K: 5})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range resp.GetHits() {
		ids = append(ids, h.GetEntry().GetId())
	}
	return ids
}

func TestKnowledgeEntryLifecycle(t *testing.T) {
	t.Parallel()
	f := newKBFixture(t)
	ctx := context.Background()
	// Searching loads the (empty) index; changes then apply to it at once.
	if got := search(t, f.svc, "燃气泄漏"); len(got) != 0 {
		t.Fatalf("empty knowledge base found %v", got)
	}
	e, err := f.svc.CreateEntry(asAdmin(), &pb.CreateEntryRequest{Entry: gasEntry()})
	if err != nil {
		t.Fatal(err)
	}
	if e.GetId() != "kb-0001" || e.GetRevision() != 1 || e.GetCategoryPath() != "城乡建设/城市建设和市政管理/燃气供应" || e.GetCreatedBy() != "u-admin" ||
		!e.GetCreateTime().AsTime().Equal(refNow) || !slices.Equal(e.GetKeywords(), []string{"燃气", "抢修"}) {
		t.Errorf("CreateEntry = %v", e)
	}
	resp, err := f.svc.SearchEntries(ctx, &pb.SearchEntriesRequest{Text: "家里燃气泄漏了怎么办"})
	if err != nil || len(resp.GetHits()) != 1 || resp.GetRevision() != 1 {
		t.Fatalf("search = %v, %v", resp, err)
	}
	h := resp.GetHits()[0]
	if h.GetScore() <= 0 || h.GetSnippet() == "" || len(h.GetHighlights()) == 0 || h.GetEntry().GetCategoryPath() == "" {
		t.Errorf("hit = %v", h)
	}
	for _, sp := range h.GetHighlights() {
		if got := string([]rune(h.GetSnippet())[sp.GetStart():sp.GetEnd()]); !strings.Contains(got, "燃气") {
			t.Errorf("highlight %q", got)
		}
	}
	// Not valid before its date.
	resp, err = f.svc.SearchEntries(ctx, &pb.SearchEntriesRequest{Text: "燃气泄漏", At: timestamppb.New(time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil || len(resp.GetHits()) != 0 {
		t.Errorf("search in 2023 = %v, %v", resp, err)
	}

	// A stale revision is refused; the right one updates.
	up := gasEntry()
	up.Title, up.Answer, up.Keywords = "天然气开户", "携带房产证和身份证到营业厅办理开户。", []string{"开户"}
	_, err = f.svc.UpdateEntry(asAdmin(), &pb.UpdateEntryRequest{Id: "kb-0001", Entry: up, ExpectedRevision: 7})
	violation(t, err, codes.Aborted, "")
	u, err := f.svc.UpdateEntry(asAdmin(), &pb.UpdateEntryRequest{Id: "kb-0001", Entry: up, ExpectedRevision: 1})
	if err != nil || u.GetRevision() != 2 || u.GetTitle() != "天然气开户" || !u.GetCreateTime().AsTime().Equal(refNow) {
		t.Fatalf("UpdateEntry = %v, %v", u, err)
	}
	if got := search(t, f.svc, "泄漏抢修"); len(got) != 0 {
		t.Errorf("old text still found: %v", got)
	}
	if got := search(t, f.svc, "开户"); !slices.Equal(got, []string{"kb-0001"}) {
		t.Errorf("new text not found: %v", got)
	}
	g, err := f.svc.GetEntry(ctx, &pb.GetEntryRequest{Id: "kb-0001"})
	if err != nil || g.GetAnswer() != up.GetAnswer() {
		t.Errorf("GetEntry = %v, %v", g, err)
	}
	d, err := f.svc.DeleteEntry(asAdmin(), &pb.DeleteEntryRequest{Id: "kb-0001", ExpectedRevision: 2})
	if err != nil || d.GetRevision() != 3 {
		t.Fatalf("DeleteEntry = %v, %v", d, err)
	}
	if got := search(t, f.svc, "开户"); len(got) != 0 {
		t.Errorf("deleted entry found: %v", got)
	}
	_, err = f.svc.GetEntry(ctx, &pb.GetEntryRequest{Id: "kb-0001"})
	violation(t, err, codes.NotFound, "")
	_, err = f.svc.DeleteEntry(asAdmin(), &pb.DeleteEntryRequest{Id: "kb-0001"})
	violation(t, err, codes.NotFound, "")

	audit, _, err := f.st.ListAudit(ctx, store.AuditQuery{Actor: "u-admin", PageSize: 10})
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action)
	}
	if err != nil || !slices.Equal(actions, []string{"kb.delete", "kb.update", "kb.create", "taxonomy.import"}) {
		t.Errorf("audited %v, %v", actions, err)
	}
}

func TestKnowledgeRefusals(t *testing.T) {
	t.Parallel()
	f := newKBFixture(t)
	ctx := context.Background()
	_, err := f.svc.CreateEntry(ctx, &pb.CreateEntryRequest{Entry: gasEntry()})
	violation(t, err, codes.Unauthenticated, "")
	_, err = f.svc.CreateEntry(asAdmin(), &pb.CreateEntryRequest{})
	violation(t, err, codes.InvalidArgument, "entry")
	bad := gasEntry()
	bad.Title, bad.Category = "", "999999"
	_, err = f.svc.CreateEntry(asAdmin(), &pb.CreateEntryRequest{Entry: bad})
	violation(t, err, codes.InvalidArgument, "entry.title")
	if d := violation(t, err, codes.InvalidArgument, "entry.category"); !strings.Contains(d, "not in the current taxonomy (version 1)") {
		t.Errorf("category violation %q", d)
	}
	bad = gasEntry()
	bad.ValidUntil = timestamppb.New(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	_, err = f.svc.CreateEntry(asAdmin(), &pb.CreateEntryRequest{Entry: bad})
	violation(t, err, codes.InvalidArgument, "entry.validUntil")
	bad = gasEntry()
	bad.Id = "中文编号"
	_, err = f.svc.CreateEntry(asAdmin(), &pb.CreateEntryRequest{Entry: bad})
	violation(t, err, codes.InvalidArgument, "entry.id")
	ok := gasEntry()
	ok.Id = "kb-gas"
	if _, err := f.svc.CreateEntry(asAdmin(), &pb.CreateEntryRequest{Entry: ok}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.CreateEntry(asAdmin(), &pb.CreateEntryRequest{Entry: ok})
	violation(t, err, codes.AlreadyExists, "")
	_, err = f.svc.SearchEntries(ctx, &pb.SearchEntriesRequest{})
	violation(t, err, codes.InvalidArgument, "text")
	_, err = f.svc.SearchEntries(ctx, &pb.SearchEntriesRequest{Text: "燃气", K: 1000})
	violation(t, err, codes.InvalidArgument, "k")
	_, err = f.svc.ListEntries(ctx, &pb.ListEntriesRequest{PageToken: "garbage"})
	violation(t, err, codes.InvalidArgument, "pageToken")
	_, err = f.svc.GetEntry(ctx, &pb.GetEntryRequest{Id: "a b"})
	violation(t, err, codes.InvalidArgument, "id")
	_, err = f.svc.ImportEntries(asAdmin(), &pb.ImportEntriesRequest{Content: "entries:\n  - title: 标题\n    answer: 答复\n  - title: 无答复\n"})
	if d := violation(t, err, codes.InvalidArgument, "content"); d != "line 4: answer: required" {
		t.Errorf("import violation %q", d)
	}
	_, err = f.svc.ImportEntries(asAdmin(), &pb.ImportEntriesRequest{Content: "- {title: 标题, answer: 答复, category: '9999'}\n"})
	violation(t, err, codes.InvalidArgument, "content")
}

func TestKnowledgeImportAndList(t *testing.T) {
	t.Parallel()
	f := newKBFixture(t)
	ctx := context.Background()
	demo, err := kb.ParseEntries(examples.Knowledge, "")
	if err != nil {
		t.Fatal(err)
	}
	dry, err := f.svc.ImportEntries(asAdmin(), &pb.ImportEntriesRequest{Content: string(examples.Knowledge), ValidateOnly: true})
	if err != nil || int(dry.GetCreated()) != len(demo) || dry.GetRevision() != 0 {
		t.Fatalf("dry run = %v, %v", dry, err)
	}
	res, err := f.svc.ImportEntries(asAdmin(), &pb.ImportEntriesRequest{Content: string(examples.Knowledge)})
	if err != nil || int(res.GetCreated()) != len(demo) || res.GetRevision() != 1 {
		t.Fatalf("import = %v, %v", res, err)
	}
	again, err := f.svc.ImportEntries(asAdmin(), &pb.ImportEntriesRequest{Content: string(examples.Knowledge)})
	if err != nil || int(again.GetUnchanged()) != len(demo) || again.GetRevision() != 1 {
		t.Fatalf("repeated import = %v, %v", again, err)
	}
	// Every entry, page by page.
	var all []string
	req := &pb.ListEntriesRequest{PageSize: 100}
	for {
		page, err := f.svc.ListEntries(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.GetEntries() {
			all = append(all, e.GetId())
		}
		if page.GetNextPageToken() == "" {
			break
		}
		req.PageToken = page.GetNextPageToken()
	}
	if len(all) != len(demo) || !slices.IsSorted(all) {
		t.Errorf("listed %d entries, want %d in id order", len(all), len(demo))
	}
	// Filters: a category, a unit, a moment (the reused number 12356).
	page, err := f.svc.ListEntries(ctx, &pb.ListEntriesRequest{Category: "0110", PageSize: 500})
	if err != nil || len(page.GetEntries()) == 0 {
		t.Fatalf("category 0110: %v", err)
	}
	for _, e := range page.GetEntries() {
		if !strings.HasPrefix(e.GetCategory(), "0110") || !strings.HasPrefix(e.GetCategoryPath(), "城乡建设/住房保障与房地产/") {
			t.Errorf("category 0110 lists %s %s", e.GetCategory(), e.GetCategoryPath())
		}
	}
	titles := func(at time.Time) []string {
		page, err := f.svc.ListEntries(ctx, &pb.ListEntriesRequest{Unit: "gd-health", ValidAt: timestamppb.New(at), PageSize: 500})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range page.GetEntries() {
			if strings.Contains(e.GetTitle(), "12356") {
				out = append(out, e.GetTitle())
			}
		}
		return out
	}
	if got := titles(time.Date(2023, 1, 1, 0, 0, 0, 0, kb.China)); len(got) != 1 || !strings.Contains(got[0], "计划生育") {
		t.Errorf("12356 in 2023: %v", got)
	}
	if got := titles(time.Date(2025, 3, 1, 0, 0, 0, 0, kb.China)); len(got) != 1 || !strings.Contains(got[0], "心理援助") {
		t.Errorf("12356 in 2025: %v", got)
	}
	// Search over the demo: a caller's words find a reply.
	resp, err := f.svc.SearchEntries(ctx, &pb.SearchEntriesRequest{Text: "我想咨询一下公积金贷款的条件", K: 3})
	if err != nil || len(resp.GetHits()) == 0 || !strings.Contains(resp.GetHits()[0].GetEntry().GetTitle()+resp.GetHits()[0].GetEntry().GetAnswer(), "公积金") {
		t.Errorf("search = %v, %v", resp, err)
	}
	// Replacing with one entry deletes the others.
	one := "entries:\n  - {id: kb-hotline-12315, title: 拨打12315, answer: 12315与12345双号并行。}\n"
	res, err = f.svc.ImportEntries(asAdmin(), &pb.ImportEntriesRequest{Content: one, Replace: true})
	if err != nil || res.GetUpdated() != 1 || int(res.GetDeleted()) != len(demo)-1 {
		t.Fatalf("replace = %v, %v", res, err)
	}
	if got := search(t, f.svc, "12315"); !slices.Equal(got, []string{"kb-hotline-12315"}) {
		t.Errorf("after replace: %v", got)
	}
}

// TestKnowledgeFollowsOtherInstances: a change made through one instance
// reaches another instance's search within its refresh interval.
func TestKnowledgeFollowsOtherInstances(t *testing.T) {
	t.Parallel()
	st := refStore(t)
	tax := newTaxonomy(st)
	importExample(t, tax)
	a := newKnowledge(st, tax, time.Hour)
	b := newKnowledge(st, tax, 20*time.Millisecond)
	if got := search(t, b, "燃气"); len(got) != 0 {
		t.Fatalf("b found %v", got)
	}
	if _, err := a.CreateEntry(asAdmin(), &pb.CreateEntryRequest{Entry: gasEntry()}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(search(t, b, "燃气泄漏"), []string{"kb-0001"}) {
		if time.Now().After(deadline) {
			t.Fatal("the other instance never saw the new entry")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestKnowledgeConcurrentChangesKeepIndexCurrent: concurrent creations
// through one instance leave its index at the store's revision with every
// entry (run with -race).
func TestKnowledgeConcurrentChangesKeepIndexCurrent(t *testing.T) {
	t.Parallel()
	f := newKBFixture(t)
	search(t, f.svc, "预热") // load the index
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := gasEntry()
			e.Id = fmt.Sprintf("kb-c%02d", i)
			e.Title = fmt.Sprintf("第%d号答复口径", i)
			if _, err := f.svc.CreateEntry(asAdmin(), &pb.CreateEntryRequest{Entry: e}); err != nil {
				t.Error(err)
			}
			search(t, f.svc, "燃气")
		}()
	}
	wg.Wait()
	ix, err := f.svc.Index(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rev, _ := f.st.KnowledgeRevision(context.Background()); ix.Revision() != rev || ix.Len() != 16 {
		t.Errorf("index at revision %d with %d entries; store at %d", ix.Revision(), ix.Len(), rev)
	}
	hits, _, err := f.svc.Search(context.Background(), kb.Query{Text: "第7号答复口径", K: 1})
	if err != nil || len(hits) != 1 || hits[0].Entry.ID != "kb-c07" {
		t.Errorf("Search = %v, %v", hits, err)
	}
}
