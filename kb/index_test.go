package kb_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/kb"
)

var now = time.Date(2026, 11, 28, 10, 0, 0, 0, kb.China)

// small is a knowledge base whose ranking can be reasoned about.
func small() []kb.Entry {
	return []kb.Entry{
		{ID: "gjj-withdraw", Title: "住房公积金提取条件", Category: "011001", Unit: "A市住房公积金管理中心",
			Keywords: []string{"公积金", "提取"},
			Answer:   "职工购买、建造、翻建、大修自住住房的，可以申请提取住房公积金。离休、退休或者完全丧失劳动能力的，也可以提取。"},
		{ID: "gjj-loan", Title: "住房公积金贷款额度", Category: "011001", Unit: "A市住房公积金管理中心",
			Keywords: []string{"公积金", "贷款"},
			Answer:   "公积金贷款最高额度为70万元，具体额度按缴存余额和还款能力计算。贷款期限最长30年。"},
		{ID: "gas-repair", Title: "燃气泄漏报修", Category: "010213", Unit: "A市燃气公司",
			Keywords: []string{"燃气", "抢修"},
			Answer:   "闻到燃气味道时，请立即关闭阀门、打开门窗，不要开关电器，到室外拨打燃气公司24小时抢修电话。"},
		{ID: "noise", Title: "夜间施工噪音扰民", Category: "040203", Unit: "A市生态环境局",
			Keywords: []string{"噪音", "夜间施工"},
			Answer:   "夜间22时至次日6时禁止产生噪声的建筑施工作业，因特殊需要必须连续作业的，须取得证明并公告附近居民。可向生态环境部门投诉。"},
		{ID: "hotline-12315", Title: "拨打12315（市场监管投诉举报热线）", Unit: "gd-samr",
			Keywords: []string{"12315", "消费投诉"},
			Answer:   "12315与12345双号并行，消费投诉可拨打12315或12345。"},
		{ID: "old-policy", Title: "住房公积金提取条件（旧）", Category: "011001",
			ValidFrom: date("2015-01-01"), ValidUntil: date("2020-01-01"),
			Answer: "2020年以前的提取规定：购房、退休可以提取住房公积金。"},
		{ID: "new-policy", Title: "2027年起的公积金新政", Category: "011001",
			ValidFrom: date("2027-01-01"),
			Answer:    "2027年1月1日起，租房提取住房公积金不再需要提供租赁合同。"},
		// The words of the title, in the answer only: ranks below an entry
		// with them in its title.
		{ID: "mention", Title: "购房政策问答", Answer: "关于住房公积金提取条件，请咨询公积金管理中心。关于购房资格，请咨询住建部门。"},
	}
}

func ids(hits []kb.Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.Entry.ID
	}
	return out
}

func TestSearchRanking(t *testing.T) {
	t.Parallel()
	ix := kb.NewIndex(small(), 1)
	tests := []struct {
		name, query string
		at          time.Time
		want        []string // the first hits, in order
		absent      []string
	}{
		{"title first", "公积金提取条件", now, []string{"gjj-withdraw", "mention"}, []string{"old-policy", "new-policy"}},
		{"a caller's words", "我想问一下退休了能不能把公积金取出来", now, []string{"gjj-withdraw"}, nil},
		{"loan", "公积金贷款最多能贷多少", now, []string{"gjj-loan"}, nil},
		{"gas", "家里燃气泄漏了怎么办", now, []string{"gas-repair"}, nil},
		{"noise", "工地晚上施工太吵", now, []string{"noise"}, nil},
		{"a number", "12315", now, []string{"hotline-12315"}, nil},
		{"full width number", "１２３１５投诉", now, []string{"hotline-12315"}, nil},
		{"one character", "噪", now, []string{"noise"}, nil},
		{"expired entry at its time", "公积金提取条件", date("2018-06-01"), []string{"gjj-withdraw", "old-policy"}, []string{"new-policy"}},
		{"future entry at its time", "公积金新政", date("2027-06-01"), []string{"new-policy"}, []string{"old-policy"}},
		{"any time", "公积金新政", time.Time{}, []string{"new-policy"}, nil},
		{"nothing", "火星移民", now, nil, []string{"gjj-withdraw"}},
		{"punctuation only", "？？！", now, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hits := ix.Search(tc.query, 10, tc.at)
			got := ids(hits)
			if len(got) < len(tc.want) || !slices.Equal(got[:len(tc.want)], tc.want) {
				t.Errorf("Search(%q) = %v, want %v first", tc.query, got, tc.want)
			}
			if tc.want == nil && tc.absent == nil && len(got) != 0 {
				t.Errorf("Search(%q) = %v, want nothing", tc.query, got)
			}
			for _, a := range tc.absent {
				if slices.Contains(got, a) {
					t.Errorf("Search(%q) = %v holds %s", tc.query, got, a)
				}
			}
			for i := 1; i < len(hits); i++ {
				if hits[i].Score > hits[i-1].Score {
					t.Errorf("hits not ordered by score: %v", hits)
				}
			}
		})
	}
}

func TestSearchFiltersAndK(t *testing.T) {
	t.Parallel()
	ix := kb.NewIndex(small(), 1)
	if got := ids(ix.SearchQuery(kb.Query{Text: "住房公积金", K: 2, At: now})); len(got) != 2 {
		t.Errorf("K 2: %v", got)
	}
	if got := ids(ix.SearchQuery(kb.Query{Text: "住房公积金", At: now, Category: "0102"})); len(got) != 0 {
		t.Errorf("category 0102: %v", got)
	}
	got := ids(ix.SearchQuery(kb.Query{Text: "燃气 公积金", At: now, Category: "0102"}))
	if !slices.Equal(got, []string{"gas-repair"}) {
		t.Errorf("category 0102: %v", got)
	}
	got = ids(ix.SearchQuery(kb.Query{Text: "公积金", At: now, Unit: "A市住房公积金管理中心", K: 10}))
	slices.Sort(got)
	if !slices.Equal(got, []string{"gjj-loan", "gjj-withdraw"}) {
		t.Errorf("unit: %v", got)
	}
	if n := len(ix.Search("住房公积金", 0, now)); n != kb.DefaultK && n > kb.DefaultK {
		t.Errorf("k 0 gave %d hits", n)
	}
}

// TestSearchDeterministic: equal texts score equally and come by ID; the
// same query answers the same every time.
func TestSearchDeterministic(t *testing.T) {
	t.Parallel()
	var entries []kb.Entry
	for i := range 20 {
		entries = append(entries, kb.Entry{ID: fmt.Sprintf("e%02d", 19-i), Title: "社保卡补办", Answer: "携带身份证到服务网点补办社保卡。"})
	}
	ix := kb.NewIndex(entries, 1)
	first := ix.Search("社保卡怎么补办", 5, now)
	if got := ids(first); !slices.Equal(got, []string{"e00", "e01", "e02", "e03", "e04"}) {
		t.Errorf("ties: %v", got)
	}
	for range 50 {
		again := ix.Search("社保卡怎么补办", 5, now)
		for i := range again {
			if again[i].Score != first[i].Score || again[i].Entry.ID != first[i].Entry.ID {
				t.Fatal("the same search answered differently")
			}
		}
	}
}

func TestUpdates(t *testing.T) {
	t.Parallel()
	ix := kb.NewIndex(small(), 1)
	// A changed title changes what finds the entry.
	e, _ := ix.Get("gas-repair")
	e.Title, e.Answer, e.Keywords = "天然气开户办理", "携带房产证和身份证到燃气营业厅办理开户。", nil
	ix.Apply([]kb.Entry{e}, nil, 2)
	if got := ids(ix.Search("泄漏抢修", 5, now)); slices.Contains(got, "gas-repair") {
		t.Errorf("old text still found: %v", got)
	}
	if got := ids(ix.Search("天然气开户", 5, now)); len(got) == 0 || got[0] != "gas-repair" {
		t.Errorf("new text not found: %v", got)
	}
	ix.Delete("noise")
	if got := ids(ix.Search("噪音扰民", 5, now)); slices.Contains(got, "noise") {
		t.Errorf("deleted entry found: %v", got)
	}
	ix.Put(kb.Entry{ID: "noise2", Title: "广场舞噪音", Answer: "广场舞音量过大可向公安机关反映。"})
	if got := ids(ix.Search("噪音扰民", 5, now)); len(got) == 0 || got[0] != "noise2" {
		t.Errorf("added entry not found: %v", got)
	}
	if ix.Len() != len(small()) || ix.Revision() != 2 {
		t.Errorf("Len %d, Revision %d", ix.Len(), ix.Revision())
	}
	// Churn: many updates compact the index without changing answers.
	for i := range 3000 {
		e, _ := ix.Get("gjj-loan")
		e.Answer = fmt.Sprintf("公积金贷款最高额度为%d万元。", 60+i%20)
		ix.Put(e)
	}
	if got := ids(ix.Search("公积金贷款额度", 1, now)); !slices.Equal(got, []string{"gjj-loan"}) {
		t.Errorf("after churn: %v", got)
	}
	ix.Reset(nil, 9)
	if ix.Len() != 0 || ix.Revision() != 9 || ix.Search("公积金", 5, now) != nil {
		t.Error("Reset did not empty the index")
	}
}

// TestConcurrentSearchAndUpdate runs searches while entries change (run
// with -race).
func TestConcurrentSearchAndUpdate(t *testing.T) {
	t.Parallel()
	ix := kb.NewIndex(small(), 1)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				if hits := ix.Search("住房公积金提取", 3, now); len(hits) == 0 {
					t.Errorf("goroutine %d search %d found nothing", g, i)
					return
				}
			}
		}()
	}
	for i := range 300 {
		ix.Put(kb.Entry{ID: fmt.Sprintf("x%d", i%10), Title: "临时条目", Answer: "公积金临时答复。"})
		if i%7 == 0 {
			ix.Delete(fmt.Sprintf("x%d", i%10))
		}
	}
	wg.Wait()
}

func TestSnippet(t *testing.T) {
	t.Parallel()
	text := strings.Repeat("这是一段与问题无关的说明文字。", 10) + "闻到燃气味道时，请立即关闭阀门、打开门窗。" + strings.Repeat("其他无关内容。", 10)
	snip, spans := kb.Snippet(text, "燃气味道怎么办", 40)
	rs := []rune(snip)
	if !strings.HasPrefix(snip, "…闻到燃气味道时") || !strings.HasSuffix(snip, "…") || len(rs) > 42 {
		t.Errorf("snippet %q", snip)
	}
	var marked []string
	for _, s := range spans {
		marked = append(marked, string(rs[s.Start:s.End]))
	}
	if !slices.Equal(marked, []string{"燃气味道"}) {
		t.Errorf("highlights %q", marked)
	}
	// No match: the start of the text.
	snip, spans = kb.Snippet("短答复。\n第二行", "火星", 40)
	if snip != "短答复。 第二行" || spans != nil {
		t.Errorf("snippet %q %v", snip, spans)
	}
	// Hits carry snippets.
	ix := kb.NewIndex(small(), 1)
	h := ix.Search("燃气泄漏", 1, now)[0]
	if h.Snippet == "" || len(h.Highlights) == 0 {
		t.Errorf("hit without snippet: %+v", h)
	}
	for _, s := range h.Highlights {
		if got := string([]rune(h.Snippet)[s.Start:s.End]); !strings.Contains(got, "燃气") {
			t.Errorf("highlight %q", got)
		}
	}
}

// TestDemoSearch: the demo knowledge base answers typical operator
// searches, and the reused number 12356 answers by date.
func TestDemoSearch(t *testing.T) {
	t.Parallel()
	entries, err := kb.ParseEntries(examples.Knowledge, kb.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	ix := kb.NewIndex(entries, 1)
	if hits := ix.Search("12356", 3, date("2023-05-01")); len(hits) == 0 || !strings.Contains(hits[0].Entry.Title, "计划生育") {
		t.Errorf("12356 in 2023: %v", ids(hits))
	}
	if hits := ix.Search("12356", 3, date("2025-06-01")); len(hits) == 0 || !strings.Contains(hits[0].Entry.Title, "心理援助") {
		t.Errorf("12356 in 2025: %v", ids(hits))
	}
	for _, q := range []string{"公积金贷款", "小区物业管理", "拖欠工资", "违章建筑"} {
		hits := ix.Search(q, 5, now)
		if len(hits) == 0 {
			t.Errorf("%s: no hits", q)
			continue
		}
		t.Logf("%s → %s (%.2f) %s", q, hits[0].Entry.ID, hits[0].Score, hits[0].Entry.Title)
	}
}
