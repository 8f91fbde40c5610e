package taxonomy

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Match is one result of Search.
type Match struct {
	Category Category
	// Score orders the matches: 100 the exact code, 90 a code prefix, 80 the
	// exact name, 70 a name prefix, 60 a name containing the query, 50 a
	// name the query contains (a sentence naming it), 40 an ancestor's name
	// containing it, below 30 a similar name (shared characters and character pairs).
	Score float64
	// By says what matched: code, name, path or similar.
	By string
}

// Default and largest number of Search results.
const (
	DefaultSearchLimit = 20
	MaxSearchLimit     = 500
)

// searchDoc is a category prepared for search.
type searchDoc struct {
	code    string
	name    string // folded
	path    string // folded names from the first level down, "/"-separated
	nameLen int    // runes
	pathLen int
	bigrams map[string]struct{}
	chars   map[string]struct{}
	generic bool // 其他 and the like: never matched from inside a query
}

// genericNames are names that say nothing on their own.
var genericNames = map[string]bool{"其他": true, "其它": true, "其他类": true, "综合": true}

func (t *Tree) buildSearch() {
	t.search = make([]searchDoc, len(t.cats))
	for i, c := range t.cats {
		name := fold(c.Name)
		path := name
		if c.Parent != "" {
			path = t.search[t.index[c.Parent]].path + "/" + name
		}
		t.search[i] = searchDoc{
			code: strings.ToLower(c.Code), name: name, path: path,
			nameLen: utf8.RuneCountInString(name), pathLen: utf8.RuneCountInString(path),
			bigrams: bigramSet(name), chars: charSet(name), generic: genericNames[name],
		}
	}
}

// fold lowers the case and turns full-width ASCII and the ideographic space
// into their ASCII forms.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		}
		return unicode.ToLower(r)
	}, s)
}

// bigramSet returns the pairs of adjacent characters of s (s itself when it
// is one character).
func bigramSet(s string) map[string]struct{} {
	rs := []rune(s)
	set := make(map[string]struct{}, len(rs))
	if len(rs) == 1 {
		set[s] = struct{}{}
	}
	for i := 0; i+1 < len(rs); i++ {
		set[string(rs[i:i+2])] = struct{}{}
	}
	return set
}

// charSet returns the characters of s.
func charSet(s string) map[string]struct{} {
	set := map[string]struct{}{}
	for _, r := range s {
		set[string(r)] = struct{}{}
	}
	return set
}

// dice is the Dice coefficient of two bigram sets.
func dice(a, b map[string]struct{}) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	n := 0
	for k := range a {
		if _, ok := b[k]; ok {
			n++
		}
	}
	return 2 * float64(n) / float64(len(a)+len(b))
}

// words splits a folded query at spaces and punctuation.
func words(q string) []string {
	return strings.FieldsFunc(q, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) && r != '-' && r != '_' && r != '.' || unicode.IsSymbol(r)
	})
}

// Search finds the categories whose code or names match query, best first,
// at most limit (DefaultSearchLimit when limit ≤ 0). A query of several
// words (separated by spaces or punctuation) matches categories that match
// every word, scored by their mean. Ties go to the shallower category, then
// to the code.
func (t *Tree) Search(query string, limit int) []Match {
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	limit = min(limit, MaxSearchLimit)
	ws := words(fold(query))
	if len(ws) == 0 {
		return nil
	}
	qs := make([]wordQuery, len(ws))
	for i, w := range ws {
		qs[i] = wordQuery{w: w, n: utf8.RuneCountInString(w), bigrams: bigramSet(w), chars: charSet(w), code: validCode(w)}
	}
	var out []Match
	for i := range t.search {
		d := &t.search[i]
		total, by := 0.0, ""
		for j := range qs {
			s, b := qs[j].score(d)
			if s == 0 {
				total = 0
				break
			}
			total += s
			if by == "" || b == "code" || b == "name" && by != "code" {
				by = b
			}
		}
		if total > 0 {
			out = append(out, Match{Category: t.cats[i], Score: total / float64(len(qs)), By: by})
		}
	}
	slices.SortFunc(out, func(a, b Match) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Category.Level, b.Category.Level); c != 0 {
			return c
		}
		return strings.Compare(a.Category.Code, b.Category.Code)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

type wordQuery struct {
	w       string
	n       int // runes
	bigrams map[string]struct{}
	chars   map[string]struct{}
	code    bool // could be a code
}

// score rates how well one query word matches d, and by what; 0 is no match.
func (q *wordQuery) score(d *searchDoc) (float64, string) {
	if q.code {
		switch {
		case d.code == q.w:
			return 100, "code"
		case strings.HasPrefix(d.code, q.w) && isDigits(q.w):
			return 90 - float64(len(d.code)-len(q.w))/float64(len(d.code)), "code"
		}
	}
	switch {
	case d.name == q.w:
		return 80, "name"
	case strings.HasPrefix(d.name, q.w):
		return 70 + 5*float64(q.n)/float64(d.nameLen), "name"
	case strings.Contains(d.name, q.w):
		return 60 + 5*float64(q.n)/float64(d.nameLen), "name"
	case d.nameLen >= 2 && !d.generic && strings.Contains(q.w, d.name):
		return 50 + 5*float64(d.nameLen)/float64(q.n), "name"
	case strings.Contains(d.path, q.w):
		return 40 + 5*float64(q.n)/float64(d.pathLen), "path"
	}
	// Similar: the mean of the Dice coefficients of the characters and of
	// the character pairs (噪声污染 is closer to 噪音污染 than to 水污染).
	if s := (dice(q.chars, d.chars) + dice(q.bigrams, d.bigrams)) / 2; s >= 0.4 {
		return 30 * s, "similar"
	}
	return 0, ""
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
