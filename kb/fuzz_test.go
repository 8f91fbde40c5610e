package kb_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/kb"
)

// FuzzParseEntries feeds the import parser untrusted input (an
// administrator's upload): it must never panic, and what it accepts must
// be valid entries that survive a round trip through YAML.
func FuzzParseEntries(f *testing.F) {
	f.Add(examples.Knowledge[:3000], "")
	f.Add([]byte("entries:\n  - {id: a, title: 标题, answer: 答复, keywords: 甲，乙, validFrom: 2024-01-01}\n"), "yaml")
	f.Add([]byte("编号,标题,答复口径,分类,失效日期\nkb-1,标题,\"答复,含逗号\",0101,2030-01-01\n"), "")
	f.Add([]byte("title,answer\n\"a\"\"b\",c\n"), "csv")
	f.Add([]byte("- &x {title: a, answer: b}\n- *x\n"), "yaml")
	f.Add([]byte("[{\"title\": \"标题\", \"answer\": \"答复\"}]"), "json")
	f.Fuzz(func(t *testing.T, data []byte, format string) {
		entries, err := kb.ParseEntries(data, format)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		for i := range entries {
			if err := entries[i].Validate("", false); err != nil {
				t.Fatalf("accepted an invalid entry %+v: %v", entries[i], err)
			}
		}
		y, err := kb.MarshalYAML(entries)
		if err != nil {
			t.Fatal(err)
		}
		back, err := kb.ParseEntries(y, kb.FormatYAML)
		if err != nil {
			t.Fatalf("its own YAML does not parse: %v\n%s", err, y)
		}
		if len(back) != len(entries) {
			t.Fatalf("%d entries back, want %d", len(back), len(entries))
		}
		for i := range back {
			a, b := entries[i], back[i]
			if a.ID != b.ID || a.Title != b.Title || a.Answer != b.Answer || strings.Join(a.Keywords, "|") != strings.Join(b.Keywords, "|") ||
				!a.ValidFrom.Equal(b.ValidFrom) || !a.ValidUntil.Equal(b.ValidUntil) {
				t.Fatalf("round trip changed entry %d:\n%+v\n%+v", i, a, b)
			}
		}
	})
}

// FuzzSearch searches with any text: never a panic, highlights inside
// their snippets, hits valid at the time asked.
func FuzzSearch(f *testing.F) {
	entries, err := kb.ParseEntries(examples.Knowledge, kb.FormatYAML)
	if err != nil {
		f.Fatal(err)
	}
	ix := kb.NewIndex(entries[:200], 1)
	f.Add("公积金贷款", int64(0))
	f.Add("１２３１５ 投诉", int64(1700000000))
	f.Add("噪", int64(-1))
	f.Add("\xff\xfe中", int64(0))
	f.Fuzz(func(t *testing.T, text string, unix int64) {
		var at time.Time
		if unix != 0 {
			at = time.Unix(unix%(1<<40), 0)
		}
		for _, h := range ix.Search(text, 5, at) {
			if !h.Entry.ValidAt(at) {
				t.Fatalf("hit %s not valid at %v", h.Entry.ID, at)
			}
			n := utf8.RuneCountInString(h.Snippet)
			for _, s := range h.Highlights {
				if s.Start < 0 || s.End > n || s.Start >= s.End {
					t.Fatalf("highlight %v outside snippet of %d characters", s, n)
				}
			}
		}
		kb.Snippet(text, text, 10)
	})
}
