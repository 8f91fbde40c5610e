package entity

import (
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzExtract checks that Extract never panics and that every entity it
// returns lies within the text, on rune boundaries, ordered and disjoint,
// with Text equal to the runes it spans.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"", "电话13800138000", "A市A3区联丰路米兰春天G2栋320", "2019年5月1日收了1,200元",
		"身份证号11010519491231002X", "￥", "一千二百元", "2015-2019年", "0000-00000000",
		"（山东）有限公司", "三万多元", "正月初六", "9月24到10月28日", "\xff\xfe", "路路路路",
	} {
		f.Add(s)
	}
	now := time.Date(2020, 5, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, text string) {
		ents := Extract(text, Options{Now: now, Places: []string{"东郊御景", "路"}})
		r := []rune(text)
		prevEnd := 0
		for _, e := range ents {
			if e.Start < prevEnd || e.Start >= e.End || e.End > len(r) {
				t.Fatalf("entity %+v out of order or outside a text of %d runes", e, len(r))
			}
			if got := string(r[e.Start:e.End]); got != e.Text {
				t.Fatalf("entity %+v: runes [%d,%d) are %q", e, e.Start, e.End, got)
			}
			if utf8.ValidString(text) && !utf8.ValidString(e.Text) {
				t.Fatalf("entity %+v: text not valid UTF-8", e)
			}
			prevEnd = e.End
		}
		_ = Fill(ents)
	})
}
