package related

import (
	"cmp"
	"math"
	"slices"
)

// Titles compared by what they name. A title's character bigrams (the whole
// normalised title: place names, numbers and stock words included) are
// weighted by how rare they are among the indexed titles (inverse document
// frequency), and two titles compared by the cosine of their weighted
// bigram sets. Stock words (反映, 问题, 投诉), region names (A市) and the
// words of a common kind of matter (路灯, 噪音) are in many titles and weigh
// little; the names of an estate, a company or a school weigh most, so that
// two titles that name the same rare thing in other words ("A市政府机关食堂为
// 什么不对外开放了" and "A市政府食堂为什么不对外开放了") are alike wherever
// the request is, while two titles of one kind of matter at two places are
// not. The cosine counts only when the titles share a rare bigram, one that
// at most 1% of the indexed titles have (Index.specificDF), and only where no
// place is shared (score.go). The index keeps, for each title bigram, how
// many titles have it and, while they are few, which (Index.titles): the
// documents of the query's rare bigrams are a candidate path of their own.
const (
	// titleBudget bounds how many documents found through the query's rare
	// title bigrams are scored (each costs about 1 µs).
	titleBudget = 32
	// maxTitleRunes bounds the title read: a title is a line.
	maxTitleRunes = 64
)

// gramPosting is a title gram's entry in the index: how many documents have
// it, and which while they are at most maxGramPosting (beyond, the gram is
// too common to find candidates by, and keeping its documents would make
// every removal scan thousands). A gram that had more keeps its count only,
// until no document has it.
type gramPosting struct {
	n     int32
	slots []int32
	full  bool // more than maxGramPosting had it: slots is nil
}

// maxGramPosting bounds the documents kept for a title gram.
const maxGramPosting = 256

func (g gramPosting) add(slot int32) gramPosting {
	g.n++
	switch {
	case g.full:
	case g.n > maxGramPosting:
		g.slots, g.full = nil, true
	default:
		g.slots = append(g.slots, slot)
	}
	return g
}

func (g gramPosting) remove(slot int32) gramPosting {
	g.n--
	if !g.full {
		g.slots = removeSlot(g.slots, slot)
	}
	return g
}

// titleGrams returns the sorted distinct hashes of the character bigrams of
// a normalised title, at most its first maxTitleRunes runes. A one-rune title
// has its rune as its only gram.
func titleGrams(t []rune) []uint32 {
	t = t[:min(len(t), maxTitleRunes)]
	switch len(t) {
	case 0:
		return nil
	case 1:
		return []uint32{hashRunes(t)}
	}
	hs := make([]uint32, 0, len(t)-1)
	for i := 0; i+2 <= len(t); i++ {
		hs = append(hs, hashRunes(t[i:i+2]))
	}
	slices.Sort(hs)
	return slices.Compact(hs)
}

// titleQuery is a query title's weighted bigrams, computed against the index
// under its read lock.
type titleQuery struct {
	grams []uint32  // sorted distinct
	idf   []float64 // the weight of each gram
	// rare tells the grams found in few enough titles to name something
	// (Index.specificDF).
	rare []bool
	// postings are the grams' entries in the index.
	postings []gramPosting
	anyRare  bool // some gram is rare and in the index
	norm     float64
	// df returns how many indexed titles have a gram, and n how many
	// indexed documents have a title.
	df func(uint32) int
	n  int
}

// idf is the inverse document frequency of a gram found in df of n titles,
// as in BM25: ln(1 + (n−df+½)/(df+½)).
func idf(df, n int) float64 {
	return math.Log1p((float64(n-df) + 0.5) / (float64(df) + 0.5))
}

// newTitleQuery weighs the query title's grams by the index's titles
// (Index.titles, holding n titles); a gram is rare in at most rare of them.
func newTitleQuery(grams []uint32, titles map[uint32]gramPosting, n, rare int) titleQuery {
	q := titleQuery{grams: grams, idf: make([]float64, len(grams)), rare: make([]bool, len(grams)),
		postings: make([]gramPosting, len(grams)), n: n,
		df: func(h uint32) int { return int(titles[h].n) }}
	for i, h := range grams {
		g := titles[h]
		d := min(int(g.n), n)
		w := idf(d, n)
		q.idf[i], q.rare[i], q.postings[i] = w, d <= rare, g
		q.anyRare = q.anyRare || d > 0 && d <= rare
		q.norm += w * w
	}
	q.norm = math.Sqrt(q.norm)
	return q
}

// cosine returns the cosine of the query title and the title grams e, each
// gram weighted by its idf, and whether the two share a rare gram (one that
// names something); the cosine is 0 when they share none or when it is
// certainly below floor.
func (q *titleQuery) cosine(e []uint32, floor float64) (cos float64, rare bool) {
	if !q.anyRare || len(e) == 0 || floor > 1 {
		return 0, false
	}
	dot := 0.0
	for i, j := 0, 0; i < len(q.grams) && j < len(e); {
		switch {
		case q.grams[i] == e[j]:
			w := q.idf[i]
			dot += w * w
			rare = rare || q.rare[i]
			i++
			j++
		case q.grams[i] < e[j]:
			i++
		default:
			j++
		}
	}
	// Without a rare gram shared the cosine does not count. e's norm is
	// at least that of the shared grams, so the cosine is at most √dot/|q|:
	// most candidates stop here, before e's norm costs a look-up per gram.
	if !rare || math.Sqrt(dot)/q.norm < floor {
		return 0, rare
	}
	ne := 0.0
	for _, h := range e {
		w := idf(min(q.df(h), q.n), q.n)
		ne += w * w
	}
	return min(1, dot/(q.norm*math.Sqrt(ne))), rare
}

// candidates appends to dst the documents whose titles have the query's rare
// grams, the rarest first, at most titleBudget in all.
func (q *titleQuery) candidates(dst []int32) []int32 {
	var rare [maxTitleRunes]gramPosting
	n := 0
	for i, g := range q.postings {
		if q.rare[i] && !g.full && g.n > 0 {
			rare[n] = g
			n++
		}
	}
	slices.SortFunc(rare[:n], func(a, b gramPosting) int { return cmp.Compare(a.n, b.n) })
	budget := titleBudget
	for _, g := range rare[:n] {
		if budget <= 0 {
			break
		}
		take := g.slots[max(0, len(g.slots)-budget):]
		dst = append(dst, take...)
		budget -= len(take)
	}
	return dst
}
