package related

import (
	"math"
	"slices"
	"testing"
	"time"
	"unicode"
)

// FuzzText checks the text model on untrusted input: nothing panics,
// normalising is idempotent and keeps only lower-case letters and digits,
// shingles are sorted and distinct, preparing a text twice gives the same
// model, a text and a title are identical to themselves, and Find's scores
// stay in [0, 1].
//
//	go test -run='^$' -fuzz=FuzzText -fuzztime=60s ./related/
func FuzzText(f *testing.F) {
	for _, s := range [][3]string{
		{"体育西路路灯不亮", "天河区体育西路与天河北路交界处的路灯连续三个晚上不亮，行人过马路很危险。", "广州市天河区体育西路1号"},
		{"ＡＢＣ　１２３", "全角ＡＳＣＩＩ与　全角空格", ""},
		{"", "", ""},
		{"路", "a", "\xff\xfe"},
		{"A市A2区丽发新城小区附近建搅拌站", "投诉伊景园·滨河苑捆绑销售车位😀", "+86 20 8765 4321"},
		{"村村村村村村村村路路路路", "小区小区小区小区小区小区", "0086008613800138000"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, title, text, address string) {
		n := Normalize(text)
		if again := Normalize(n); again != n {
			t.Fatalf("Normalize not idempotent: %q → %q → %q", text, n, again)
		}
		rs := []rune(n)
		for _, r := range rs {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) || 'A' <= r && r <= 'Z' || 0xFF01 <= r && r <= 0xFF5E {
				t.Fatalf("Normalize(%q) kept %q", text, r)
			}
		}
		set := shingleHashes(nil, rs)
		for i := 1; i < len(set); i++ {
			if set[i] <= set[i-1] {
				t.Fatalf("shingles of %q not sorted and distinct", n)
			}
		}
		if len(set) > max(1, len(rs)-shingleSize+1) {
			t.Fatalf("%d shingles from %d runes", len(set), len(rs))
		}
		p, q := prepare(title, text, address), prepare(title, text, address)
		if !slices.Equal(p.text.hashes, q.text.hashes) || p.text.n != q.text.n || p.keys != q.keys ||
			!slices.Equal(p.title, q.title) || !slices.Equal(p.addr, q.addr) || len(p.places) != len(q.places) ||
			!slices.Equal(p.tgrams, q.tgrams) {
			t.Fatal("preparing the same text twice differs")
		}
		if p.text.n > 0 {
			if j, c := compare(p.text, q.text); j != 1 || c != 1 {
				t.Fatalf("a text against itself: %v, %v", j, c)
			}
		}
		for _, d := range normalizePhone(text) {
			if d < '0' || d > '9' {
				t.Fatalf("normalizePhone(%q) kept %q", text, d)
			}
		}
		x := New(Options{Now: func() time.Time { return t0 }})
		must(t, x.Add(Doc{TicketID: "seed", Phone: "13800138000", Title: "体育西路路灯不亮", Text: "天河区体育西路的路灯不亮", Address: "体育西路", Open: true}))
		must(t, x.Add(Doc{TicketID: "input", Phone: address, Title: title, Text: text, Address: address, Open: true}))
		for _, m := range x.Find(Query{Phone: address, Title: title, Text: text, Address: address}, 5) {
			if m.Score < 0 || m.Score > 1 || math.IsNaN(m.Score) {
				t.Fatalf("score %v", m.Score)
			}
		}
		if tq := newTitleQuery(p.tgrams, x.titles, x.titled, x.specificDF()); len(p.tgrams) > 0 {
			if cos, _ := tq.cosine(p.tgrams, 0); cos != 0 && math.Abs(cos-1) > 1e-9 {
				t.Fatalf("a title against itself: %v", cos)
			}
		}
	})
}
