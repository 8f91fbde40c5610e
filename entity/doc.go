package entity

import (
	"slices"
	"unicode"
)

// doc is a text being read: its runes, a normalised copy of the same length
// (full-width digits, letters and common punctuation folded to ASCII) and
// the spans already taken by entities of higher priority.
type doc struct {
	raw   []rune
	r     []rune // normalised, len(r) == len(raw)
	opts  Options
	taken []bool // runes inside an accepted number, date or amount
	// places indexes opts.Places, built when first needed.
	places *wordIndex
}

func newDoc(text string, opts Options) *doc {
	raw := []rune(text)
	r := make([]rune, len(raw))
	for i, c := range raw {
		r[i] = fold(c)
	}
	return &doc{raw: raw, r: r, opts: opts, taken: make([]bool, len(raw))}
}

// fold maps full-width ASCII variants to ASCII and unifies dashes.
func fold(c rune) rune {
	switch {
	case c >= '０' && c <= '９', c >= 'Ａ' && c <= 'Ｚ', c >= 'ａ' && c <= 'ｚ':
		return c - '０' + '0'
	case c == '\u3000':
		return ' '
	}
	switch c {
	case '－', '‐', '‑', '‒', '–', '—', '―', '−', '～', '~':
		return '-'
	case '，':
		return ','
	case '．':
		return '.'
	case '（':
		return '('
	case '）':
		return ')'
	case '：':
		return ':'
	case '＋':
		return '+'
	case '／':
		return '/'
	}
	return c
}

// entity builds a candidate over runes [s, e).
func (d *doc) entity(t Type, s, e int, value string, prio int) candidate {
	return candidate{Entity: Entity{Type: t, Text: string(d.raw[s:e]), Start: s, End: e, Value: value}, prio: prio}
}

// block marks the runes of accepted candidates as taken.
func (d *doc) block(cands []candidate) {
	for _, c := range cands {
		for i := c.Start; i < c.End; i++ {
			d.taken[i] = true
		}
	}
}

// at returns the normalised rune at i, or 0 outside the text.
func (d *doc) at(i int) rune {
	if i < 0 || i >= len(d.r) {
		return 0
	}
	return d.r[i]
}

// hasAt reports whether the normalised text has s at rune offset i.
func (d *doc) hasAt(i int, s string) bool {
	for _, c := range s {
		if i < 0 || i >= len(d.r) || d.r[i] != c {
			return false
		}
		i++
	}
	return true
}

// endsWith reports whether the normalised text before rune offset i ends
// with s.
func (d *doc) endsWith(i int, s string) bool {
	n := len([]rune(s))
	return i-n >= 0 && d.hasAt(i-n, s)
}

// endsWithAny returns the first of words that the text before i ends with.
func (d *doc) endsWithAny(i int, words []string) (string, bool) {
	for _, w := range words {
		if d.endsWith(i, w) {
			return w, true
		}
	}
	return "", false
}

func isDigit(c rune) bool { return c >= '0' && c <= '9' }

func isASCIILetter(c rune) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isHan(c rune) bool { return unicode.Is(unicode.Han, c) }

// wordIndex finds words by their last rune (endsWith) or first rune
// (startsAt), longest first.
type wordIndex struct {
	byLast, byFirst map[rune][][]rune
}

func newWordIndex(words []string) *wordIndex {
	ix := &wordIndex{byLast: map[rune][][]rune{}, byFirst: map[rune][][]rune{}}
	for _, w := range words {
		r := []rune(w)
		if len(r) == 0 {
			continue
		}
		ix.byLast[r[len(r)-1]] = append(ix.byLast[r[len(r)-1]], r)
		ix.byFirst[r[0]] = append(ix.byFirst[r[0]], r)
	}
	for _, m := range []map[rune][][]rune{ix.byLast, ix.byFirst} {
		for _, ws := range m {
			slices.SortStableFunc(ws, func(a, b []rune) int { return len(b) - len(a) })
		}
	}
	return ix
}

// endsWith returns the length of the longest word that the text before i
// ends with, or 0.
func (d *doc) endsWithWord(i int, ix *wordIndex) int {
	if i <= 0 || i > len(d.r) {
		return 0
	}
	for _, w := range ix.byLast[d.r[i-1]] {
		if n := len(w); n <= i && slices.Equal(d.r[i-n:i], w) {
			return n
		}
	}
	return 0
}

// startsWith returns the length of the longest word at i, or 0.
func (d *doc) startsWithWord(i int, ix *wordIndex) int {
	if i < 0 || i >= len(d.r) {
		return 0
	}
	for _, w := range ix.byFirst[d.r[i]] {
		if n := len(w); i+n <= len(d.r) && slices.Equal(d.r[i:i+n], w) {
			return n
		}
	}
	return 0
}
