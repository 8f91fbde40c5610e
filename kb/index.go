package kb

import (
	"cmp"
	"container/heap"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// The fields an entry is indexed by, and how the ranking weighs them
// (BM25F): a term in the title counts four times one in the answer, a
// keyword three times. b is the length normalization of each field; k1 the
// term-frequency saturation.
const (
	fieldTitle = iota
	fieldKeywords
	fieldAnswer
	nFields
)

var (
	fieldWeight = [nFields]float64{4, 3, 1}
	fieldB      = [nFields]float64{0.3, 0, 0.75}
)

const k1 = 1.2

// MaxQueryRunes bounds how much of a query is read (a long message's start
// says what it is about).
const MaxQueryRunes = 2000

// Limits of k.
const (
	DefaultK = 5
	MaxK     = 100
)

// posting says how often a term occurs in each field of a document.
type posting struct {
	doc uint32
	tf  [nFields]uint8
}

// doc is an indexed entry.
type doc struct {
	entry Entry
	terms []uint32 // its distinct term ids, to remove it
}

// Index is an in-memory full-text index of entries. It is safe for
// concurrent use: searches run in parallel; changes wait for them.
type Index struct {
	mu       sync.RWMutex
	dict     map[uint64]uint32 // term → term id
	postings [][]posting       // by term id, ordered by doc
	docs     []*doc            // by doc number; nil once removed
	lens     [][nFields]uint32 // field lengths, by doc number
	byID     map[string]uint32
	sumLen   [nFields]float64
	live     int
	revision int64
	scratch  sync.Pool // *scratch
}

// Hit is one result of a search.
type Hit struct {
	Entry Entry
	// Score is the entry's BM25F score for the query: higher is more
	// relevant; comparable only within one search.
	Score float64
	// Snippet is the part of the answer that best matches the query, at
	// most SnippetRunes characters, with … where it was cut; Highlights are
	// the matching stretches of it.
	Snippet    string
	Highlights []Span
}

// Span is a stretch of a snippet, in characters (runes): [Start, End).
type Span struct{ Start, End int }

// NewIndex indexes entries (later ones replace earlier ones of the same ID)
// at revision.
func NewIndex(entries []Entry, revision int64) *Index {
	ix := &Index{}
	ix.reset(entries, revision)
	return ix
}

func (ix *Index) reset(entries []Entry, revision int64) {
	ix.dict = make(map[uint64]uint32, 1<<14)
	ix.postings = nil
	ix.docs = make([]*doc, 0, len(entries))
	ix.lens = make([][nFields]uint32, 0, len(entries))
	ix.byID = make(map[string]uint32, len(entries))
	ix.sumLen = [nFields]float64{}
	ix.live = 0
	ix.revision = revision
	counts := map[uint64]*[nFields]uint32{}
	for _, e := range entries {
		ix.put(e, counts)
	}
}

// Reset replaces everything the index holds with entries, at revision.
// Searches go on while the entries are indexed; they see the new entries
// at once when it is done.
func (ix *Index) Reset(entries []Entry, revision int64) { ix.Replace(NewIndex(entries, revision)) }

// Replace makes ix hold what fresh holds, at fresh's revision; fresh must
// not be used afterwards.
func (ix *Index) Replace(fresh *Index) {
	fresh.mu.Lock()
	defer fresh.mu.Unlock()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.dict, ix.postings, ix.docs, ix.lens, ix.byID = fresh.dict, fresh.postings, fresh.docs, fresh.lens, fresh.byID
	ix.sumLen, ix.live, ix.revision = fresh.sumLen, fresh.live, fresh.revision
}

// Revision returns the revision of the knowledge base the index holds.
func (ix *Index) Revision() int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.revision
}

// Len returns how many entries the index holds.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.live
}

// Get returns the indexed entry id.
func (ix *Index) Get(id string) (Entry, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n, ok := ix.byID[id]
	if !ok {
		return Entry{}, false
	}
	return ix.docs[n].entry, true
}

// Apply adds or replaces the entries put and removes the entries removed
// (by ID), and sets the revision, atomically for searches.
func (ix *Index) Apply(put []Entry, removed []string, revision int64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, id := range removed {
		ix.remove(id)
	}
	counts := map[uint64]*[nFields]uint32{}
	for _, e := range put {
		ix.put(e, counts)
	}
	ix.revision = revision
	// Removed documents leave holes; when they are most of the index,
	// index the live entries afresh.
	if len(ix.docs) > 2*ix.live+1024 {
		live := make([]Entry, 0, ix.live)
		for _, d := range ix.docs {
			if d != nil {
				live = append(live, d.entry)
			}
		}
		ix.reset(live, revision)
	}
}

// Put adds or replaces entry e.
func (ix *Index) Put(e Entry) { ix.Apply([]Entry{e}, nil, ix.Revision()) }

// Delete removes entry id, if the index holds it.
func (ix *Index) Delete(id string) { ix.Apply(nil, []string{id}, ix.Revision()) }

// put indexes e, replacing an entry of the same ID; counts is scratch space.
func (ix *Index) put(e Entry, counts map[uint64]*[nFields]uint32) {
	ix.remove(e.ID)
	clear(counts)
	var lens [nFields]uint32
	add := func(f int) func(uint64) {
		return func(t uint64) {
			c := counts[t]
			if c == nil {
				c = new([nFields]uint32)
				counts[t] = c
			}
			c[f]++
		}
	}
	lens[fieldTitle] = uint32(indexTerms(e.Title, add(fieldTitle)))
	lens[fieldKeywords] = uint32(indexTerms(strings.Join(e.Keywords, " "), add(fieldKeywords)))
	lens[fieldAnswer] = uint32(indexTerms(e.Answer, add(fieldAnswer)))
	n := uint32(len(ix.docs))
	d := &doc{entry: e, terms: make([]uint32, 0, len(counts))}
	for t, c := range counts {
		id, ok := ix.dict[t]
		if !ok {
			id = uint32(len(ix.postings))
			ix.dict[t] = id
			ix.postings = append(ix.postings, nil)
		}
		var p posting
		p.doc = n
		for f := range nFields {
			p.tf[f] = uint8(min(c[f], math.MaxUint8))
		}
		ix.postings[id] = append(ix.postings[id], p)
		d.terms = append(d.terms, id)
	}
	ix.docs = append(ix.docs, d)
	ix.lens = append(ix.lens, lens)
	ix.byID[e.ID] = n
	for f := range nFields {
		ix.sumLen[f] += float64(lens[f])
	}
	ix.live++
}

// remove unindexes entry id, if present.
func (ix *Index) remove(id string) {
	n, ok := ix.byID[id]
	if !ok {
		return
	}
	d := ix.docs[n]
	for _, t := range d.terms {
		ps := ix.postings[t]
		i := sort.Search(len(ps), func(i int) bool { return ps[i].doc >= n })
		if i < len(ps) && ps[i].doc == n {
			ix.postings[t] = slices.Delete(ps, i, i+1)
		}
	}
	for f := range nFields {
		ix.sumLen[f] -= float64(ix.lens[n][f])
	}
	ix.docs[n] = nil
	delete(ix.byID, id)
	ix.live--
}

// Query is a search with its filters.
type Query struct {
	Text string
	// K is how many hits to return at most (DefaultK when ≤ 0, at most MaxK).
	K int
	// At keeps only the entries valid at that moment; zero keeps all.
	At time.Time
	// Category, when set, keeps only entries whose category starts with it.
	Category string
	// Unit, when set, keeps only entries of that issuing unit.
	Unit string
}

// Search returns the k entries valid at at (zero: any) most relevant to
// text, best first. See SearchQuery.
func (ix *Index) Search(text string, k int, at time.Time) []Hit {
	return ix.SearchQuery(Query{Text: text, K: k, At: at})
}

// scratch is one search's score accumulator.
type scratch struct {
	acc     []float64
	touched []uint32
}

type scored struct {
	doc   uint32
	score float64
	id    string
}

// topK is a min-heap of the best hits so far.
type topK []scored

func (h topK) Len() int           { return len(h) }
func (h topK) Less(i, j int) bool { return worse(h[i], h[j]) }
func (h topK) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *topK) Push(x any)        { *h = append(*h, x.(scored)) }
func (h *topK) Pop() any          { old := *h; x := old[len(old)-1]; *h = old[:len(old)-1]; return x }

// worse orders hits: a lower score, then a later ID, is worse.
func worse(a, b scored) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.id > b.id
}

// SearchQuery ranks the entries matching q by BM25F over their title,
// keywords and answer, and returns the best q.K with snippets. The query's
// terms are the pairs of adjacent Han characters of its text (a lone
// character stands for itself) and its words, up to MaxQueryRunes
// characters; an entry matching none is not a hit. Equal scores are
// ordered by ID, so the answer is deterministic.
func (ix *Index) SearchQuery(q Query) []Hit {
	k := q.K
	if k <= 0 {
		k = DefaultK
	}
	k = min(k, MaxK)
	text := q.Text
	if rs := []rune(text); len(rs) > MaxQueryRunes {
		text = string(rs[:MaxQueryRunes])
	}
	qt := queryTerms(text)
	if len(qt) == 0 {
		return nil
	}
	// A fixed order of terms: sums of floats depend on it.
	keys := make([]uint64, 0, len(qt))
	for t := range qt {
		keys = append(keys, t)
	}
	slices.Sort(keys)

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.live == 0 {
		return nil
	}
	n := float64(ix.live)
	var avg [nFields]float64
	for f := range nFields {
		avg[f] = max(ix.sumLen[f]/n, 1)
	}
	sc, _ := ix.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if len(sc.acc) < len(ix.docs) {
		sc.acc = make([]float64, len(ix.docs)+len(ix.docs)/4)
	}
	acc, touched := sc.acc, sc.touched[:0]
	for _, t := range keys {
		id, ok := ix.dict[t]
		if !ok {
			continue
		}
		ps := ix.postings[id]
		df := float64(len(ps))
		if df == 0 {
			continue
		}
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		qw := idf * (1 + math.Log(float64(qt[t])))
		for _, p := range ps {
			l := &ix.lens[p.doc]
			var tf float64
			for f := range nFields {
				if p.tf[f] != 0 {
					tf += fieldWeight[f] * float64(p.tf[f]) / (1 - fieldB[f] + fieldB[f]*float64(l[f])/avg[f])
				}
			}
			if acc[p.doc] == 0 {
				touched = append(touched, p.doc)
			}
			acc[p.doc] += qw * tf / (k1 + tf)
		}
	}
	h := make(topK, 0, k+1)
	for _, d := range touched {
		s := acc[d]
		acc[d] = 0
		e := &ix.docs[d].entry
		cand := scored{doc: d, score: s, id: e.ID}
		if len(h) == k && !worse(h[0], cand) {
			continue
		}
		if !e.ValidAt(q.At) || q.Category != "" && !strings.HasPrefix(e.Category, q.Category) || q.Unit != "" && e.Unit != q.Unit {
			continue
		}
		heap.Push(&h, cand)
		if len(h) > k {
			heap.Pop(&h)
		}
	}
	sc.touched = touched[:0]
	ix.scratch.Put(sc)
	slices.SortFunc(h, func(a, b scored) int {
		if worse(a, b) {
			return 1
		}
		if worse(b, a) {
			return -1
		}
		return 0
	})
	hits := make([]Hit, len(h))
	for i, c := range h {
		e := ix.docs[c.doc].entry
		e.Keywords = slices.Clone(e.Keywords)
		snip, spans := snippet(e.Answer, qt, SnippetRunes)
		hits[i] = Hit{Entry: e, Score: c.score, Snippet: snip, Highlights: spans}
	}
	return hits
}

// Entries returns every indexed entry ordered by ID.
func (ix *Index) Entries() []Entry {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := make([]Entry, 0, ix.live)
	for _, d := range ix.docs {
		if d != nil {
			out = append(out, d.entry)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
