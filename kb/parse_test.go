package kb_test

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/kb"
)

func date(s string) time.Time {
	t, err := kb.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseYAML(t *testing.T) {
	t.Parallel()
	in := `# 示例
entries:
  - id: kb-gjj-1
    title: 住房公积金提取条件
    category: "011001"
    unit: A市住房公积金管理中心
    validFrom: 2024-01-01
    validUntil: 2027-01-01T00:00:00+08:00
    keywords: [公积金, 提取]
    source: 长公积金〔2023〕5号
    answer: |
      职工购买、建造、翻建、大修自住住房的，可以提取住房公积金。
      离休、退休的，可以提取。
  - title: "  燃气报修  "
    answer: 请拨打燃气公司抢修电话。
    keywords: 燃气，报修、抢修
`
	got, err := kb.ParseEntries([]byte(in), kb.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	want := []kb.Entry{{
		ID: "kb-gjj-1", Title: "住房公积金提取条件", Category: "011001", Unit: "A市住房公积金管理中心",
		ValidFrom: date("2024-01-01"), ValidUntil: date("2027-01-01"), Keywords: []string{"公积金", "提取"},
		Source: "长公积金〔2023〕5号", Answer: "职工购买、建造、翻建、大修自住住房的，可以提取住房公积金。\n离休、退休的，可以提取。",
	}, {
		Title: "燃气报修", Answer: "请拨打燃气公司抢修电话。", Keywords: []string{"燃气", "报修", "抢修"},
	}}
	if len(got) != 2 {
		t.Fatalf("got %d entries", len(got))
	}
	for i := range want {
		if !got[i].ValidFrom.Equal(want[i].ValidFrom) || !got[i].ValidUntil.Equal(want[i].ValidUntil) {
			t.Errorf("entry %d validity %v–%v, want %v–%v", i, got[i].ValidFrom, got[i].ValidUntil, want[i].ValidFrom, want[i].ValidUntil)
		}
		got[i].ValidFrom, got[i].ValidUntil, want[i].ValidFrom, want[i].ValidUntil = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("entry %d\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestParseCSV(t *testing.T) {
	t.Parallel()
	in := "编号,标题,答复口径,分类,发布单位,生效日期,失效日期,关键词\n" +
		"kb-1,医保异地就医备案,\"参保人员异地就医前，可通过国家医保服务平台办理备案。\",150204,A市医疗保障局,2024-01-01,,医保；异地就医\n" +
		"# a comment\n\n" +
		"kb-2,社保卡补办,携带身份证到社保卡服务网点补办。,,,,,\n"
	got, err := kb.ParseEntries([]byte(in), kb.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "kb-1" || got[0].Unit != "A市医疗保障局" || !reflect.DeepEqual(got[0].Keywords, []string{"医保", "异地就医"}) ||
		got[1].Answer != "携带身份证到社保卡服务网点补办。" || !got[1].ValidFrom.IsZero() {
		t.Errorf("got %+v", got)
	}
}

func TestParseBad(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"no title", "entries:\n  - answer: 有答复\n", "line 2: title: required"},
		{"no answer", "- title: 标题\n", "line 1: answer: required"},
		{"unknown field", "- title: 标题\n  answer: 答复\n  ttle: x\n", `line 3: unknown field "ttle"`},
		{"bad date", "- title: 标题\n  answer: 答复\n  validFrom: 2024/01/01\n", `line 3: validFrom: "2024/01/01" is neither`},
		{"until before from", "- {title: 标题, answer: 答复, validFrom: 2025-01-01, validUntil: 2024-01-01}\n", "line 1: validUntil: must be after validFrom"},
		{"duplicate id", "- {id: a, title: 标题, answer: 答复}\n- {id: a, title: 标题二, answer: 答复}\n", "line 2: id a is used on line 1 too"},
		{"bad id", "- {id: '中文', title: 标题, answer: 答复}\n", "line 1: id: must be"},
		{"bad category", "- {title: 标题, answer: 答复, category: 城乡建设}\n", "line 1: category: must be a category code"},
		{"too many keywords", "- {title: 标题, answer: 答复, keywords: [" + strings.Repeat("a,", 31) + "b]}\n", "line 1: at most 30 keywords"},
		{"long title", "- {title: " + strings.Repeat("长", kb.MaxTitle+1) + ", answer: 答复}\n", "line 1: title: at most 200 characters"},
		{"control", "- {title: \"标\\x01题\", answer: 答复}\n", "line 1: title: holds a control character"},
		{"not a list", "entries: 标题\n", "line 1: want a list of entries"},
		{"alias", "- &a {title: 标题, answer: 答复}\n- {title: *a, answer: x}\n", "line 2: aliases are not allowed"},
		{"unknown top", "items: []\n", `line 1: unknown field "items"`},
		{"csv header", "title,reply\n标题,答复\n", `line 1: unknown column "reply"`},
		{"csv no answer column", "id,title\nx,标题\n", "line 1: the header needs a answer column"},
		{"csv quote", "title,answer\n\"标题,答复\n", "line 2:"},
		{"csv date", "title,answer,valid_from\n标题,答复,明天\n", `line 2: "明天" is neither`},
		{"invalid utf-8", "- title: \xff\n", "line 1: not valid UTF-8"},
		{"yaml syntax", "- title: [\n", "line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := kb.ParseEntries([]byte(tc.in), kb.FormatAuto)
			var es kb.Errors
			if err == nil || !errors.As(err, &es) {
				t.Fatalf("got %v (%T), want kb.Errors", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// TestMarshalRoundTrip: what MarshalYAML writes, ParseEntries reads back.
func TestMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	entries, err := kb.ParseEntries(examples.Knowledge, kb.FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	b, err := kb.MarshalYAML(entries, "测试")
	if err != nil {
		t.Fatal(err)
	}
	back, err := kb.ParseEntries(b, kb.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(entries) {
		t.Fatalf("%d entries back, want %d", len(back), len(entries))
	}
	for i := range entries {
		a, b := entries[i], back[i]
		if !a.ValidFrom.Equal(b.ValidFrom) || !a.ValidUntil.Equal(b.ValidUntil) {
			t.Fatalf("entry %s: validity changed", a.ID)
		}
		a.ValidFrom, a.ValidUntil, b.ValidFrom, b.ValidUntil = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("entry changed:\n%+v\n%+v", a, b)
		}
	}
}

// TestDemoKnowledgeBase checks the shipped demo: it parses, every entry has
// an id, a few hundred entries, under 1 MiB (one import request), and no
// phone, mobile or ID number left in the answers.
func TestDemoKnowledgeBase(t *testing.T) {
	t.Parallel()
	entries, err := kb.ParseEntries(examples.Knowledge, kb.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(entries); n < 300 || n > 1000 {
		t.Errorf("%d entries, want a few hundred", n)
	}
	if len(examples.Knowledge) > 1<<20 {
		t.Errorf("knowledge.yaml is %d bytes; keep it under 1 MiB", len(examples.Knowledge))
	}
	pii := regexp.MustCompile(`1[3-9]\d{9}|\d{17}[\dXx]|0\d{2,3}-\d{7,8}|UU\d{5,}`)
	categorized := 0
	for _, e := range entries {
		if e.ID == "" {
			t.Errorf("entry %q has no id", e.Title)
		}
		if m := pii.FindString(e.Answer + e.Title); m != "" {
			t.Errorf("entry %s holds personal data: %s", e.ID, m)
		}
		if e.Category != "" {
			categorized++
		}
	}
	if categorized < len(entries)/2 {
		t.Errorf("only %d of %d entries have a category", categorized, len(entries))
	}
}

func TestSplitKeywords(t *testing.T) {
	t.Parallel()
	got := kb.SplitKeywords(" 公积金, 提取；贷款、|  ,医保 ")
	if !reflect.DeepEqual(got, []string{"公积金", "提取", "贷款", "医保"}) {
		t.Errorf("got %q", got)
	}
}
