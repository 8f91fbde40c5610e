package related

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/internal/errs"
)

// fixtureDoc is a row of testdata/fixture.csv: short hotline tickets written
// for these tests. Rows with the same matter (not "-") are one matter; a
// matter ending in "~" marks a rewording that shares too few words with the
// others to be found by text (see testdata/README.md), which may be
// suggested but need not be.
type fixtureDoc struct {
	Doc
	matter string
}

func loadFixture(t testing.TB) []fixtureDoc {
	t.Helper()
	f, err := os.Open("testdata/fixture.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var docs []fixtureDoc
	for _, r := range rows[1:] {
		docs = append(docs, fixtureDoc{matter: r[1], Doc: Doc{
			TicketID: r[0], TrackingNumber: "T-" + r[0], Title: r[2], Text: r[3], RegionCode: r[4], Address: r[5], Open: true,
		}})
	}
	return docs
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func newTestIndex(o Options) (*Index, *clock) {
	c := &clock{t: t0}
	o.Now = c.now
	return New(o), c
}

func ids(ms []Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.TicketID
	}
	return out
}

func find(ms []Match, id string) *Match {
	for i := range ms {
		if ms[i].TicketID == id {
			return &ms[i]
		}
	}
	return nil
}

// TestFixture indexes the fixture and asks with each ticket: the near
// duplicates are suggested; the other tickets at the same place, or of the
// same kind elsewhere, are not; reworded ones are logged.
func TestFixture(t *testing.T) {
	t.Parallel()
	docs := loadFixture(t)
	x, _ := newTestIndex(Options{})
	for _, d := range docs {
		if err := x.Add(d.Doc); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range docs {
		t.Run(q.TicketID, func(t *testing.T) {
			ms := x.Find(Query{Title: q.Title, Text: q.Text, RegionCode: q.RegionCode, Address: q.Address, Exclude: q.TicketID}, 10)
			base := strings.TrimSuffix(q.matter, "~")
			var want, may []string
			for _, d := range docs {
				switch {
				case d.TicketID == q.TicketID || q.matter == "-":
				case d.matter == q.matter && !strings.HasSuffix(q.matter, "~"):
					want = append(want, d.TicketID)
				case strings.TrimSuffix(d.matter, "~") == base:
					may = append(may, d.TicketID)
				}
			}
			got := ids(ms)
			for _, id := range want {
				if !slices.Contains(got, id) {
					t.Errorf("%s (%s): %s not suggested; got %v", q.TicketID, q.Title, id, got)
				}
			}
			for _, m := range ms {
				if !slices.Contains(want, m.TicketID) && !slices.Contains(may, m.TicketID) {
					t.Errorf("%s (%s): %s suggested (%.2f, %v)", q.TicketID, q.Title, m.TicketID, m.Score, m.Reasons)
				}
			}
			for _, id := range may {
				if !slices.Contains(got, id) {
					t.Logf("%s: reworded %s not suggested (a known limit)", q.TicketID, id)
				}
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"体育西路路灯不亮！", "体育西路路灯不亮"},
		{"ＡＢＣ１２３，ｘｙｚ", "abc123xyz"},
		{"预付卡 退款\t\n（800元）", "预付卡退款800元"},
		{"A市A3区", "a市a3区"},
		{"电话：138-0013-8000。", "电话13800138000"},
		{"\u3000\u00a0", ""},
		{"bad\xffutf8", "badutf8"},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := Normalize(tc.in); got != tc.want {
				t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if again := Normalize(tc.want); again != tc.want {
				t.Errorf("Normalize not idempotent: %q → %q", tc.want, again)
			}
		})
	}
}

func TestShingles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		text string
		n    int
	}{
		{"", 0},
		{"灯", 1},
		{"路灯", 1},
		{"路灯不亮", 2},
		{"哈哈哈哈哈", 1}, // one distinct 3-gram
		{"路灯不亮路灯不亮", 4},
	} {
		set := shingleHashes(nil, []rune(Normalize(tc.text)))
		if len(set) != tc.n {
			t.Errorf("%q: %d shingles, want %d", tc.text, len(set), tc.n)
		}
		if !slices.IsSorted(set) {
			t.Errorf("%q: shingles not sorted", tc.text)
		}
	}
}

// TestCompareSketch checks the bottom-k estimate against the exact figures on
// long texts (more shingles than a sketch keeps).
func TestCompareSketch(t *testing.T) {
	t.Parallel()
	docs := loadFixture(t)
	var long strings.Builder
	for _, d := range docs {
		long.WriteString(d.Text)
	}
	a := long.String()
	b := a[:len(a)*2/3] + "另外补充一句话说明情况"
	ra, rb := []rune(Normalize(a)), []rune(Normalize(b))
	sa, sb := shingleHashes(nil, ra), shingleHashes(nil, rb)
	if len(sa) <= sketchSize {
		t.Fatalf("text too short for the test: %d shingles", len(sa))
	}
	inter := intersect(sa, sb)
	wantJ := float64(inter) / float64(len(sa)+len(sb)-inter)
	wantC := float64(inter) / float64(min(len(sa), len(sb)))
	j, c := compare(newSketch(sa), newSketch(sb))
	if d := j - wantJ; d > 0.08 || d < -0.08 {
		t.Errorf("estimated Jaccard %.3f, exact %.3f", j, wantJ)
	}
	if d := c - wantC; d > 0.08 || d < -0.08 {
		t.Errorf("estimated containment %.3f, exact %.3f", c, wantC)
	}
	if j, c := compare(newSketch(sa), newSketch(sa)); j != 1 || c != 1 {
		t.Errorf("a text against itself: %.3f, %.3f", j, c)
	}
	short := shingleHashes(nil, []rune(Normalize(docs[0].Text)))
	j, _ = compare(newSketch(short), newSketch(short))
	if j != 1 {
		t.Errorf("exact sketch against itself: %.3f", j)
	}
}

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"13800138000", "13800138000"},
		{"+86 138 0013 8000", "13800138000"},
		{"008613800138000", "13800138000"},
		{"8613800138000", "13800138000"},
		{"013800138000", "13800138000"},
		{"１３８００１３８０００", "13800138000"},
		{"020-87654321", "02087654321"},
		{"+86 20 8765 4321", "02087654321"},
		{"(020) 8765-4321", "02087654321"},
		{"+86 400 800 1234", "4008001234"},
		{"12345", ""},
		{"", ""},
		{"1234567890123456789012345678", ""},
	} {
		if got := normalizePhone(tc.in); got != tc.want {
			t.Errorf("normalizePhone(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPlaceKeys(t *testing.T) {
	t.Parallel()
	names := func(s string) []string {
		var out []string
		for _, k := range appendPlaceKeys(nil, []rune(Normalize(s))) {
			out = append(out, k.name)
		}
		return out
	}
	for _, tc := range []struct {
		text        string
		want, never []string
	}{
		{text: "A市A2区丽发新城小区附近建搅拌站", want: []string{"丽发新城", "丽发新城小区", "新城小区"}, never: []string{"区丽发新城小区"}},
		{text: "投诉伊景园·滨河苑捆绑销售车位", want: []string{"伊景园", "伊景园滨河苑", "滨河苑"}},
		{text: "咨询金科时代中心小区配套幼儿园", never: []string{"配套幼儿园"}},
		{text: "村民反映城市管理问题", never: []string{"村民", "城市"}},
		{text: "严重影响居民生活", want: nil},
		{text: "广州市天河区体育西路1号", want: []string{"体育西路", "育西路"}},
	} {
		got := names(tc.text)
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q: keys %v lack %q", tc.text, got, w)
			}
		}
		for _, n := range tc.never {
			if slices.Contains(got, n) {
				t.Errorf("%q: keys %v hold %q", tc.text, got, n)
			}
		}
		if tc.want == nil && tc.never == nil && len(got) > 0 {
			t.Errorf("%q: keys %v, want none", tc.text, got)
		}
	}
}

func TestRegionRelation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"440106", "440106", 1},
		{"440100", "440106", 0},
		{"440106", "440100", 0},
		{"440106", "440105", -1},
		{"", "440106", 0},
		{"A3区", "A5区", -1},
	} {
		if got := regionRelation(tc.a, tc.b); got != tc.want {
			t.Errorf("regionRelation(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestAddInvalid(t *testing.T) {
	t.Parallel()
	x, _ := newTestIndex(Options{})
	if err := x.Add(Doc{Text: "没有编号"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("Add without a ticket id: %v, want an Invalid error", err)
	}
}

func TestSameCaller(t *testing.T) {
	t.Parallel()
	x, c := newTestIndex(Options{})
	must(t, x.Add(Doc{TicketID: "old-open", Phone: "13800138000", Title: "社保卡补办", Text: "社保卡丢失咨询补办", Open: true, Created: t0.Add(-90 * 24 * time.Hour)}))
	must(t, x.Add(Doc{TicketID: "recent-open", Phone: "+86 138 0013 8000", Title: "路灯不亮", Text: "体育西路路灯不亮", Open: true}))
	must(t, x.Add(Doc{TicketID: "recent-closed", Phone: "13800138000", Title: "噪音", Text: "工地夜间施工", Open: false}))
	must(t, x.Add(Doc{TicketID: "other", Phone: "13900139000", Title: "停水", Text: "小区停水", Open: true}))
	c.advance(time.Hour)

	ms := x.Find(Query{Phone: "138-0013-8000", Title: "幼儿园收费", Text: "幼儿园乱收费问题"}, 10)
	if got, want := ids(ms), []string{"old-open", "recent-open"}; !sameSet(got, want) {
		t.Fatalf("same caller: %v, want %v", got, want)
	}
	for _, m := range ms {
		if !slices.Contains(m.Reasons, "same caller") || m.Score < defaultScoring.callerBoost {
			t.Errorf("%s: reasons %v, score %.2f", m.TicketID, m.Reasons, m.Score)
		}
	}
	// The caller's ticket with similar text ranks first.
	ms = x.Find(Query{Phone: "13800138000", Title: "体育西路路灯不亮", Text: "体育西路的路灯不亮了"}, 10)
	if len(ms) == 0 || ms[0].TicketID != "recent-open" || len(ms[0].Reasons) < 2 {
		t.Errorf("caller and text: %+v", ms)
	}
	// Closing the ticket ends the caller match.
	if !x.Update(Doc{TicketID: "recent-open", Phone: "13800138000", Title: "路灯不亮", Text: "体育西路路灯不亮", Open: false}) {
		t.Fatal("Update of a held ticket reported false")
	}
	ms = x.Find(Query{Phone: "13800138000", Text: "别的事情"}, 10)
	if got := ids(ms); !sameSet(got, []string{"old-open"}) {
		t.Errorf("after closing: %v, want [old-open]", got)
	}
	if ms := x.Find(Query{Phone: "12345"}, 10); len(ms) != 0 {
		t.Errorf("a short number matched %v", ids(ms))
	}
}

// TestCloseKeepsText: a closed ticket stays a text candidate within the
// window.
func TestCloseKeepsText(t *testing.T) {
	t.Parallel()
	x, _ := newTestIndex(Options{})
	d := Doc{TicketID: "a", Phone: "13800138000", Title: "体育西路路灯不亮", Text: "天河区体育西路与天河北路交界处的路灯连续三个晚上不亮", Open: true}
	must(t, x.Add(d))
	d.Open = false
	x.Update(d)
	ms := x.Find(Query{Phone: "13800138000", Title: "体育西路路灯不亮", Text: "天河区体育西路与天河北路交界处的路灯连续三个晚上不亮了"}, 10)
	if len(ms) != 1 || slices.Contains(ms[0].Reasons, "same caller") || ms[0].Open {
		t.Errorf("closed ticket: %+v", ms)
	}
}

func TestWindow(t *testing.T) {
	t.Parallel()
	x, c := newTestIndex(Options{Window: 48 * time.Hour})
	text := "天河区体育西路与天河北路交界处的路灯连续三个晚上不亮，行人过马路很危险"
	must(t, x.Add(Doc{TicketID: "open", Phone: "13800138000", Title: "路灯不亮", Text: text, Open: true}))
	must(t, x.Add(Doc{TicketID: "closed", Title: "路灯不亮", Text: text, Open: false}))
	q := Query{Title: "路灯不亮", Text: text}
	if got := ids(x.Find(q, 10)); !sameSet(got, []string{"open", "closed"}) {
		t.Fatalf("within the window: %v", got)
	}
	c.advance(49 * time.Hour)
	if got := ids(x.Find(q, 10)); len(got) != 0 {
		t.Errorf("after the window, text matches %v", got)
	}
	q.Phone = "13800138000"
	if got := ids(x.Find(q, 10)); !sameSet(got, []string{"open"}) {
		t.Errorf("after the window, same caller: %v, want [open]", got)
	}
	if held, texts := x.Len(); held != 2 || texts != 2 {
		t.Errorf("before pruning: %d held, %d texts", held, texts)
	}
	x.Prune()
	if held, texts := x.Len(); held != 1 || texts != 0 {
		t.Errorf("after pruning: %d held, %d texts; want 1, 0", held, texts)
	}
	// A closed ticket older than the window is not taken at all.
	must(t, x.Add(Doc{TicketID: "ancient", Text: text, Created: t0}))
	if held, _ := x.Len(); held != 1 {
		t.Errorf("an old closed ticket was held")
	}
}

// TestEviction: beyond MaxOpen the oldest tickets go, and the index never
// holds much more than MaxOpen.
func TestEviction(t *testing.T) {
	t.Parallel()
	x, c := newTestIndex(Options{MaxOpen: 100})
	for i := range 1000 {
		must(t, x.Add(Doc{TicketID: fmt.Sprint(i), Phone: fmt.Sprintf("1380013%04d", i), Text: fmt.Sprintf("第%d号工单的内容", i), Open: true}))
		c.advance(time.Minute)
		if held, _ := x.Len(); held > 100 {
			t.Fatalf("holding %d after %d adds", held, i+1)
		}
	}
	if ms := x.Find(Query{Phone: "13800130000"}, 10); len(ms) != 0 {
		t.Errorf("the oldest ticket is still held")
	}
	if ms := x.Find(Query{Phone: "13800130999"}, 10); len(ms) != 1 {
		t.Errorf("the newest ticket is not held")
	}
	// Automatic sweeps apply the window too.
	y, c2 := newTestIndex(Options{Window: time.Hour})
	for i := range 3000 {
		must(t, y.Add(Doc{TicketID: fmt.Sprint(i), Text: fmt.Sprintf("工单内容%d", i)}))
		c2.advance(time.Minute)
	}
	if held, _ := y.Len(); held > 1200 {
		t.Errorf("holding %d closed tickets with a one-hour window", held)
	}
}

// TestPlace: a moderately similar text at the same place is suggested, the
// same text naming another place is not, and an unrelated text at the same
// place is not either.
func TestPlace(t *testing.T) {
	t.Parallel()
	x, _ := newTestIndex(Options{})
	must(t, x.Add(Doc{TicketID: "lamp", Title: "丽发新城小区东门路灯不亮", Text: "丽发新城小区东门外面那一排路灯已经坏了一个多星期，晚上出门很不方便", RegionCode: "430111"}))
	must(t, x.Add(Doc{TicketID: "fees", Title: "丽发新城小区物业乱收费", Text: "丽发新城小区物业这个月突然加收电梯费，业主都不同意", RegionCode: "430111"}))

	same := Query{Title: "丽发新城小区东门路灯一直不亮", Text: "东门的路灯坏掉好多天了，晚上黑漆漆的，请尽快修一下", RegionCode: "430111"}
	ms := x.Find(same, 10)
	m := find(ms, "lamp")
	if m == nil || !slices.Contains(m.Reasons, "same place") || m.Place == "" {
		t.Fatalf("same matter at the same place: %+v", ms)
	}
	if find(ms, "fees") != nil {
		t.Errorf("another matter at the same place suggested: %+v", ms)
	}
	// Without the place the texts are too far apart.
	y, _ := newTestIndex(Options{})
	must(t, y.Add(Doc{TicketID: "lamp", Title: "东门路灯不亮", Text: "东门外面那一排路灯已经坏了一个多星期，晚上出门很不方便"}))
	if ms := y.Find(Query{Title: "东门路灯一直不亮", Text: same.Text}, 10); len(ms) != 0 {
		t.Errorf("without a place: %+v", ms)
	}
	// The same letter about another estate is another matter.
	other := Query{Title: "魅力之城小区东门路灯不亮", Text: "魅力之城小区东门外面那一排路灯已经坏了一个多星期，晚上出门很不方便", RegionCode: "430102"}
	if ms := x.Find(other, 10); find(ms, "lamp") != nil {
		t.Errorf("another estate: %+v", ms)
	}
	// The same address counts as the same place.
	must(t, x.Add(Doc{TicketID: "addr", Title: "路灯不亮", Text: "门口路灯坏了一个多星期，晚上出门很不方便", Address: "长沙市雨花区万家丽南路二段18号"}))
	ms = x.Find(Query{Title: "路灯不亮", Text: "门口的路灯坏了一个多星期了，晚上出门很不方便，请修一下", Address: "万家丽南路二段18号"}, 10)
	if m := find(ms, "addr"); m == nil || !slices.Contains(m.Reasons, "same place") || m.Place != "address" {
		t.Errorf("same address: %+v", ms)
	}
}

func TestUpdateAndRemove(t *testing.T) {
	t.Parallel()
	x, _ := newTestIndex(Options{})
	if x.Update(Doc{TicketID: "nope", Text: "不在索引中"}) {
		t.Error("Update of an unknown ticket reported true")
	}
	if held, _ := x.Len(); held != 0 {
		t.Error("Update added a ticket")
	}
	must(t, x.Add(Doc{TicketID: "a", TrackingNumber: "20261207-000001", Title: "路灯不亮", Text: "体育西路路灯连续三晚不亮", Units: []string{"tianhe"}, Open: true}))
	// A change of text is indexed again.
	x.Update(Doc{TicketID: "a", TrackingNumber: "20261207-000001", Title: "小区停水", Text: "翠苑小区停水一整天了", Units: []string{"haizhu"}, Open: true})
	if ms := x.Find(Query{Title: "路灯不亮", Text: "体育西路路灯连续三晚不亮"}, 10); len(ms) != 0 {
		t.Errorf("old text still matches: %+v", ms)
	}
	ms := x.Find(Query{Title: "小区停水", Text: "翠苑小区停水一整天了"}, 10)
	if len(ms) != 1 || ms[0].TrackingNumber != "20261207-000001" || !slices.Equal(ms[0].Units, []string{"haizhu"}) {
		t.Errorf("new text: %+v", ms)
	}
	ms[0].Units[0] = "changed" // a match's slices are the caller's
	if ms := x.Find(Query{Title: "小区停水", Text: "翠苑小区停水一整天了"}, 10); ms[0].Units[0] != "haizhu" {
		t.Error("a match shares its units with the index")
	}
	if !x.Remove("a") || x.Remove("a") {
		t.Error("Remove reported wrongly")
	}
	if ms := x.Find(Query{Title: "小区停水", Text: "翠苑小区停水一整天了"}, 10); len(ms) != 0 {
		t.Errorf("removed ticket found: %+v", ms)
	}
	// Adding the same ticket twice replaces it.
	must(t, x.Add(Doc{TicketID: "b", Text: "第一次", Open: true}))
	must(t, x.Add(Doc{TicketID: "b", Text: "第一次", Open: true}))
	if held, texts := x.Len(); held != 1 || texts != 1 {
		t.Errorf("after adding twice: %d held, %d texts", held, texts)
	}
}

func TestFindOrderAndLimit(t *testing.T) {
	t.Parallel()
	x, c := newTestIndex(Options{})
	text := "天河区体育西路与天河北路交界处的路灯连续三个晚上不亮，行人过马路很危险"
	for i := range 15 {
		must(t, x.Add(Doc{TicketID: fmt.Sprintf("t%02d", i), Title: "路灯不亮", Text: text}))
		c.advance(time.Minute)
	}
	ms := x.Find(Query{Title: "路灯不亮", Text: text, Exclude: "t14"}, 0)
	if len(ms) != DefaultK {
		t.Fatalf("%d matches, want DefaultK", len(ms))
	}
	if ms[0].TicketID != "t13" {
		t.Errorf("equal scores: first %s, want the newest (t13)", ms[0].TicketID)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Score > ms[i-1].Score {
			t.Errorf("not ordered by score: %v", ms)
		}
	}
	if ms := x.Find(Query{}, 5); len(ms) != 0 {
		t.Errorf("empty query: %+v", ms)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	docs := loadFixture(t)
	pages := map[string][]Doc{}
	var order []string
	cursor := ""
	for i := 0; i < len(docs); i += 5 {
		var page []Doc
		for _, d := range docs[i:min(i+5, len(docs))] {
			page = append(page, d.Doc)
		}
		pages[cursor] = page
		order = append(order, cursor)
		cursor = page[len(page)-1].TicketID
	}
	list := func(_ context.Context, after string) ([]Doc, string, error) {
		page := pages[after]
		next := ""
		if i := slices.Index(order, after); i+1 < len(order) {
			next = order[i+1]
		}
		return page, next, nil
	}
	x, _ := newTestIndex(Options{})
	n, err := x.Load(context.Background(), list)
	if err != nil || n != len(docs) {
		t.Fatalf("Load: %d, %v; want %d", n, err, len(docs))
	}
	if held, _ := x.Len(); held != len(docs) {
		t.Errorf("holding %d", held)
	}

	boom := errors.New("store down")
	_, err = x.Load(context.Background(), func(context.Context, string) ([]Doc, string, error) { return nil, "", boom })
	if !errors.Is(err, boom) {
		t.Errorf("Load error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := x.Load(ctx, list); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a cancelled context: %v", err)
	}
}

// TestConcurrent runs Add, Update, Remove, Find and Prune together; run it
// with -race.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	docs := loadFixture(t)
	x, c := newTestIndex(Options{Window: time.Hour, MaxOpen: 200})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 300 {
				d := docs[(i+w)%len(docs)].Doc
				d.TicketID = fmt.Sprintf("w%d-%d", w, i%50)
				d.Phone = fmt.Sprintf("1380013%04d", i%7)
				d.Open = i%3 != 0
				switch i % 4 {
				case 0, 1:
					must(t, x.Add(d))
				case 2:
					x.Update(d)
				case 3:
					x.Remove(d.TicketID)
				}
			}
		})
		wg.Go(func() {
			for i := range 300 {
				d := docs[(i*7+w)%len(docs)]
				for _, m := range x.Find(Query{Phone: fmt.Sprintf("1380013%04d", i%7), Title: d.Title, Text: d.Text, Address: d.Address}, 5) {
					if m.Score < 0 || m.Score > 1 {
						t.Errorf("score %v out of range", m.Score)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			c.advance(time.Minute)
			x.Prune()
		}
	})
	wg.Wait()
	if held, _ := x.Len(); held > 200 {
		t.Errorf("holding %d > MaxOpen", held)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestTitleNames checks the comparison of titles by what they name
// (title.go): a request naming the same rare thing as a ticket in other words
// is suggested although their letters share little, the same kind of matter
// on another street is not, and the title postings follow Add and Remove.
func TestTitleNames(t *testing.T) {
	t.Parallel()
	x, _ := newTestIndex(Options{})
	// Background tickets, so that what many titles say weighs little.
	roads := []string{"体育西路", "天河北路", "中山五路", "解放南路", "东风东路", "黄埔大道", "环市东路", "江南大道", "广州大道", "工业大道"}
	kinds := []string{"路灯不亮", "噪音扰民", "井盖破损", "占道经营"}
	n := 0
	for _, r := range roads {
		for _, k := range kinds {
			n++
			must(t, x.Add(Doc{TicketID: fmt.Sprintf("bg%02d", n), Title: "反映" + r + k + "的问题", Text: r + "附近" + k + "，希望有关部门尽快处理"}))
		}
	}
	must(t, x.Add(Doc{TicketID: "canteen", Title: "A市政府机关食堂为什么不对外开放了",
		Text: "市政府机关食堂以前周末对市民开放，最近贴出告示说不再对外，想知道原因"}))
	ms := x.Find(Query{Title: "A市政府食堂为什么不对外开放了", Text: "上周带孩子去吃饭被保安拦在门外，说只接待工作人员，请问依据是什么"}, 10)
	m := find(ms, "canteen")
	if m == nil || !slices.ContainsFunc(m.Reasons, func(r string) bool { return strings.HasPrefix(r, "similar title") }) {
		t.Fatalf("the same canteen in other words: %+v", ms)
	}
	// The same kind of matter on another road shares only common words.
	ms = x.Find(Query{Title: "反映人民北路路灯不亮的问题", Text: "人民北路晚上一片漆黑，走路很危险"}, 10)
	if len(ms) != 0 {
		t.Errorf("street lights on another road: %+v", ms)
	}
	// The postings follow the documents, also past maxGramPosting.
	for i := range maxGramPosting + 5 {
		must(t, x.Add(Doc{TicketID: fmt.Sprintf("mass%03d", i), Title: "星河湾小区停电", Text: "小区停电"}))
	}
	if g := x.titles[hashRunes([]rune("星河"))]; !g.full || g.n != maxGramPosting+5 || g.slots != nil {
		t.Errorf("a gram of %d titles: %+v", maxGramPosting+5, g)
	}
	x.mu.RLock()
	ids := slices.Collect(maps.Keys(x.byID))
	x.mu.RUnlock()
	for _, id := range ids {
		x.Remove(id)
	}
	if len(x.titles) != 0 || x.titled != 0 {
		t.Errorf("after removing every ticket: %d title grams, %d titled", len(x.titles), x.titled)
	}
}
