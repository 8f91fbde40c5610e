package related

import (
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The evaluation on the Teddy Cup messages: every record is a prior ticket,
// each record of a labelled pair asks Find with its title and text, and the
// suggestions are judged by the pairs in testdata/pairs.csv (see
// testdata/README.md for how they were made). It logs the figures; its
// assertions are floors well below them.
//
//	go test ./related -run TestTeddy -v
//
// RELATED_EVAL_DUMP=FILE writes every suggestion at the threshold that no pair
// judges, with the texts' starts, for reading (the "found" rows come from it).
// RELATED_WRITE_PAIRS=1 rewrites testdata/pairs.csv: the exact and prefix60
// rows again from the data, the other rows kept, every excerpt refreshed.

// evalSet is the loaded data and labels.
type evalSet struct {
	recs  []record
	byID  map[string]*record
	pairs []pair
	// cluster maps a record to its duplicate cluster: the connected
	// components of the dup pairs.
	cluster map[string]string
	// neg holds the pairs labelled place or topic.
	neg map[[2]string]string
}

var (
	evalOnce  sync.Once
	evalCache *evalSet
	evalIndex *Index
)

// sharedEval returns the evaluation set and its index with the default
// scoring, built once for the tests that only read them.
func sharedEval(t testing.TB) (*evalSet, *Index) {
	teddyAvailable(t)
	evalOnce.Do(func() {
		evalCache = loadEval(t)
		evalIndex = evalCache.index(defaultScoring)
	})
	if evalCache == nil {
		t.Fatal("loading the evaluation set failed")
	}
	return evalCache, evalIndex
}

func loadEval(t testing.TB) *evalSet {
	teddyAvailable(t)
	s := &evalSet{recs: loadTeddy(t), byID: make(map[string]*record), neg: make(map[[2]string]string)}
	for i := range s.recs {
		s.byID[s.recs[i].id] = &s.recs[i]
	}
	s.pairs = readPairs(t, os.DirFS("testdata"), "pairs.csv")
	parent := make(map[string]string)
	var find func(string) string
	find = func(x string) string {
		p, ok := parent[x]
		if !ok || p == x {
			return x
		}
		r := find(p)
		parent[x] = r
		return r
	}
	for _, p := range s.pairs {
		if s.byID[p.a] == nil || s.byID[p.b] == nil {
			t.Fatalf("pairs.csv: unknown record in %s,%s", p.a, p.b)
		}
		if p.label == labelDup {
			for _, id := range []string{p.a, p.b} {
				if _, ok := parent[id]; !ok {
					parent[id] = id
				}
			}
			parent[find(p.a)] = find(p.b)
		} else {
			s.neg[key2(p.a, p.b)] = p.label
		}
	}
	s.cluster = make(map[string]string)
	for id := range parent {
		s.cluster[id] = find(id)
	}
	return s
}

func key2(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// sameMatter reports whether a and b are in one duplicate cluster.
func (s *evalSet) sameMatter(a, b string) bool {
	ca, ok := s.cluster[a]
	return ok && ca == s.cluster[b]
}

// evalNow is after every record; the window covers them all, so the
// evaluation measures the texts, not the dates (TestTeddyStream does).
var evalNow = time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC)

func (s *evalSet) index(sc scoring) *Index {
	x := New(Options{Window: 20 * 365 * 24 * time.Hour, Threshold: 0.01, Now: func() time.Time { return evalNow }, MaxOpen: 1 << 20})
	x.score = sc
	for i := range s.recs {
		r := &s.recs[i]
		created := r.time
		if created.IsZero() {
			created = evalNow.Add(-24 * time.Hour)
		}
		if err := x.Add(Doc{TicketID: r.id, Title: r.title, Text: r.text, RegionCode: r.region, Created: created}); err != nil {
			panic(err)
		}
	}
	return x
}

func (s *evalSet) query(x *Index, id string) []Match {
	r := s.byID[id]
	return x.Find(Query{Title: r.title, Text: r.text, RegionCode: r.region, Exclude: id}, 10)
}

// figures are the evaluation's results at one threshold.
type figures struct {
	threshold float64
	// suggestions made for the queries of labelled pairs, those in the
	// query's duplicate cluster, and those no pair judges.
	suggested, correct, unjudged int
	// the same for suggestions whose text differs from the query's.
	rephrased, rephrasedCorrect int
	// directed dup pairs (a queried, b expected) and how many were found,
	// by kind.
	dupPairs, dupFound map[string]int
	// negative pairs and how many were suggested, by label.
	negPairs, negFound map[string]int
	// random queries, how many got a suggestion, how many a suggestion
	// outside their duplicate cluster (a false one); and of those without a
	// known duplicate, how many got a suggestion.
	randomQueries, randomSuggested, randomFalse int
	randomSingles, randomSinglesSuggested       int
}

func (f *figures) precision() float64 { return ratio(f.correct, f.suggested) }

func (f *figures) recall(kinds ...string) float64 {
	n, found := 0, 0
	for k, v := range f.dupPairs {
		if len(kinds) == 0 || slices.Contains(kinds, k) {
			n += v
			found += f.dupFound[k]
		}
	}
	return ratio(found, n)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// run queries the labelled records and a random sample and returns the
// figures at each threshold.
func (s *evalSet) run(x *Index, thresholds []float64, dump func(q string, m Match)) []figures {
	queries := make(map[string][]Match)
	ask := func(id string) []Match {
		if ms, ok := queries[id]; ok {
			return ms
		}
		ms := s.query(x, id)
		queries[id] = ms
		return ms
	}
	for _, p := range s.pairs {
		ask(p.a)
		ask(p.b)
	}
	// Random queries: 500 records drawn once, whatever their labels.
	rng := rand.New(rand.NewPCG(1, 2))
	var random []string
	for _, i := range rng.Perm(len(s.recs))[:500] {
		random = append(random, s.recs[i].id)
	}
	randomMatches := make(map[string][]Match)
	for _, id := range random {
		randomMatches[id] = s.query(x, id)
	}

	var out []figures
	for _, th := range thresholds {
		f := figures{threshold: th, dupPairs: map[string]int{}, dupFound: map[string]int{},
			negPairs: map[string]int{}, negFound: map[string]int{}}
		above := func(ms []Match, id string) bool {
			for _, m := range ms {
				if m.TicketID == id && m.Score >= th {
					return true
				}
			}
			return false
		}
		ids := make([]string, 0, len(queries))
		for q := range queries {
			ids = append(ids, q)
		}
		sort.Strings(ids)
		for _, q := range ids {
			for _, m := range queries[q] {
				if m.Score < th {
					continue
				}
				f.suggested++
				differs := s.byID[q].body() != s.byID[m.TicketID].body()
				if differs {
					f.rephrased++
					if s.sameMatter(q, m.TicketID) {
						f.rephrasedCorrect++
					}
				}
				switch {
				case s.sameMatter(q, m.TicketID):
					f.correct++
				case s.neg[key2(q, m.TicketID)] == "":
					f.unjudged++
					if dump != nil && th == DefaultThreshold {
						dump(q, m)
					}
				}
			}
		}
		for _, p := range s.pairs {
			if p.label == labelDup {
				for _, d := range [][2]string{{p.a, p.b}, {p.b, p.a}} {
					f.dupPairs[p.kind]++
					if above(queries[d[0]], d[1]) {
						f.dupFound[p.kind]++
					}
				}
				continue
			}
			f.negPairs[p.label]++
			if above(queries[p.a], p.b) || above(queries[p.b], p.a) {
				f.negFound[p.label]++
			}
		}
		for _, id := range random {
			_, dup := s.cluster[id]
			f.randomQueries++
			if !dup {
				f.randomSingles++
			}
			suggested, false_ := false, false
			for _, m := range randomMatches[id] {
				if m.Score < th {
					continue
				}
				suggested = true
				if !s.sameMatter(id, m.TicketID) {
					false_ = true
					if dump != nil && th == DefaultThreshold && s.neg[key2(id, m.TicketID)] == "" {
						dump(id, m)
					}
				}
			}
			if suggested {
				f.randomSuggested++
				if !dup {
					f.randomSinglesSuggested++
				}
			}
			if false_ {
				f.randomFalse++
			}
		}
		out = append(out, f)
	}
	return out
}

func (f *figures) String() string {
	return fmt.Sprintf("threshold %.2f: precision %.3f (%d/%d, %d unjudged; %.3f of the %d whose text differs); recall exact %d/%d, prefix60 %d/%d, read %d/%d (%.3f), found %d/%d; negatives suggested: place %d/%d, topic %d/%d; random queries: %d/%d with a suggestion, %d (%.1f%%) with a false one; %d/%d without a known duplicate got one",
		f.threshold, f.precision(), f.correct, f.suggested, f.unjudged, ratio(f.rephrasedCorrect, f.rephrased), f.rephrased,
		f.dupFound[kindExact], f.dupPairs[kindExact], f.dupFound[kindPrefix], f.dupPairs[kindPrefix],
		f.dupFound[kindRead], f.dupPairs[kindRead], f.recall(kindRead), f.dupFound[kindFound], f.dupPairs[kindFound],
		f.negFound[labelPlace], f.negPairs[labelPlace], f.negFound[labelTopic], f.negPairs[labelTopic],
		f.randomSuggested, f.randomQueries, f.randomFalse, 100*ratio(f.randomFalse, f.randomQueries),
		f.randomSinglesSuggested, f.randomSingles)
}

func TestTeddyEvaluation(t *testing.T) {
	s, x := sharedEval(t)

	dump := s.dumper(t)
	thresholds := []float64{0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9}
	var atDefault figures
	for _, f := range s.run(x, thresholds, dump) {
		t.Log(f.String())
		if f.threshold == DefaultThreshold {
			atDefault = f
		}
	}
	// Floors well below the measured figures (testdata/README.md).
	if p := atDefault.precision(); p < 0.85 {
		t.Errorf("precision %.3f at the default threshold, want ≥ 0.85", p)
	}
	if r := atDefault.recall(kindExact, kindPrefix); r < 0.9 {
		t.Errorf("recall %.3f of the README's near-duplicates, want ≥ 0.9", r)
	}
	if r := atDefault.recall(kindRead); r < 0.3 {
		t.Errorf("recall %.3f of the duplicates labelled by reading, want ≥ 0.3", r)
	}
	if fr := ratio(atDefault.randomFalse, atDefault.randomQueries); fr > 0.05 {
		t.Errorf("%.1f%% of random queries got a false suggestion, want ≤ 5%%", 100*fr)
	}
}

func clip(s string) string {
	rs := []rune(s)
	return string(rs[:min(160, len(rs))])
}

// TestTeddyPairsFile checks that pairs.csv holds exactly the pairs the
// README's rule gives (same first 60 characters) and that its labels agree:
// no pair labelled place or topic inside one duplicate cluster.
func TestTeddyPairsFile(t *testing.T) {
	s := loadEval(t)
	if os.Getenv("RELATED_WRITE_PAIRS") == "1" {
		writePairs(t, s)
		s = loadEval(t)
	}
	want := make(map[[2]string]string)
	for _, p := range rulePairs(s.recs) {
		want[key2(p.a, p.b)] = p.kind
	}
	got := make(map[[2]string]string)
	for _, p := range s.pairs {
		k := key2(p.a, p.b)
		if prev, ok := got[k]; ok && (p.kind == kindExact || p.kind == kindPrefix) == (prev == kindExact || prev == kindPrefix) {
			t.Errorf("pair %v listed twice", k)
		}
		if p.kind == kindExact || p.kind == kindPrefix {
			got[k] = p.kind
			if want[k] != p.kind {
				t.Errorf("pairs.csv has %v as %s, the rule gives %q", k, p.kind, want[k])
			}
		}
	}
	for k, kind := range want {
		if got[k] == "" {
			t.Errorf("pairs.csv lacks the %s pair %v", kind, k)
		}
	}
	for k, label := range s.neg {
		if s.sameMatter(k[0], k[1]) {
			t.Errorf("%v is labelled %s but the dup pairs put them in one cluster", k, label)
		}
	}
	counts := make(map[string]int)
	for _, p := range s.pairs {
		counts[p.kind+"/"+p.label]++
	}
	t.Logf("pairs.csv: %v", counts)
}

// writePairs rewrites testdata/pairs.csv: rule rows from the data, the other
// rows kept (deduplicated), excerpts refreshed.
func writePairs(t *testing.T, s *evalSet) {
	rows := rulePairs(s.recs)
	seen := make(map[[2]string]bool)
	for _, p := range rows {
		seen[key2(p.a, p.b)] = true
	}
	for _, p := range s.pairs {
		if p.kind == kindExact || p.kind == kindPrefix {
			continue
		}
		if k := key2(p.a, p.b); !seen[k] {
			seen[k] = true
			rows = append(rows, p)
		}
	}
	f, err := os.Create("testdata/pairs.csv")
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"kind", "label", "a", "b", "excerpt_a", "excerpt_b"})
	for _, p := range rows {
		w.Write([]string{p.kind, p.label, p.a, p.b, excerpt(s.byID[p.a]), excerpt(s.byID[p.b])})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestTeddyStream replays the dated messages (test set, 附件3, 附件4) in time
// order through an index with the default window: each message asks Find at
// its own time, against the messages of the 7 days before it, and is then
// added. It logs the precision of the suggestions and the recall of the
// duplicate pairs whose messages are at most a window apart.
func TestTeddyStream(t *testing.T) {
	s, _ := sharedEval(t)
	var recs []*record
	for i := range s.recs {
		if !s.recs[i].time.IsZero() {
			recs = append(recs, &s.recs[i])
		}
	}
	slices.SortStableFunc(recs, func(a, b *record) int { return a.time.Compare(b.time) })
	dump := s.dumper(t)
	var now time.Time
	x := New(Options{Now: func() time.Time { return now }})
	found := make(map[[2]string]bool)
	var suggested, correct, unjudged int
	maxHeld := 0
	start := time.Now()
	for _, r := range recs {
		now = r.time
		for _, m := range x.Find(Query{Title: r.title, Text: r.text, RegionCode: r.region}, 10) {
			suggested++
			switch {
			case s.sameMatter(r.id, m.TicketID):
				correct++
				found[key2(r.id, m.TicketID)] = true
			case s.neg[key2(r.id, m.TicketID)] == "":
				unjudged++
				if dump != nil {
					dump(r.id, m)
				}
			}
		}
		if err := x.Add(Doc{TicketID: r.id, Title: r.title, Text: r.text, RegionCode: r.region, Created: r.time}); err != nil {
			t.Fatal(err)
		}
		held, _ := x.Len()
		maxHeld = max(maxHeld, held)
	}
	pairs, hit := map[string]int{}, map[string]int{}
	for _, p := range s.pairs {
		a, b := s.byID[p.a], s.byID[p.b]
		if p.label != labelDup || a.time.IsZero() || b.time.IsZero() {
			continue
		}
		if d := a.time.Sub(b.time).Abs(); d > DefaultWindow {
			continue
		}
		pairs[p.kind]++
		if found[key2(p.a, p.b)] {
			hit[p.kind]++
		}
	}
	t.Logf("stream of %d dated messages in %v, at most %d held: %d suggestions, precision %.3f (%d unjudged); pairs within %v found: exact %d/%d, prefix60 %d/%d, read %d/%d, found %d/%d",
		len(recs), time.Since(start).Round(time.Millisecond), maxHeld, suggested, ratio(correct, suggested), unjudged, DefaultWindow,
		hit[kindExact], pairs[kindExact], hit[kindPrefix], pairs[kindPrefix], hit[kindRead], pairs[kindRead], hit[kindFound], pairs[kindFound])
	if p := ratio(correct, suggested); p < 0.85 {
		t.Errorf("stream precision %.3f, want ≥ 0.85", p)
	}
}

// dumper returns a function writing suggestions to RELATED_EVAL_DUMP, or nil.
func (s *evalSet) dumper(t *testing.T) func(q string, m Match) {
	path := os.Getenv("RELATED_EVAL_DUMP")
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	t.Cleanup(func() {
		w.Flush()
		f.Close()
	})
	seen := make(map[[2]string]bool)
	return func(q string, m Match) {
		k := key2(q, m.TicketID)
		if seen[k] {
			return
		}
		seen[k] = true
		a, b := s.byID[q], s.byID[m.TicketID]
		w.Write([]string{q, m.TicketID, fmt.Sprintf("%.2f", m.Score), strings.Join(m.Reasons, "; "), m.Place,
			clip(a.title + " :: " + a.text), clip(b.title + " :: " + b.text)})
	}
}

// TestTeddyCandidates compares Find with scoring every indexed record, for
// 150 labelled queries: what LSH banding and the place postings do not
// offer for scoring is lost. It logs how many of the records scoring at
// least the threshold Find returned.
func TestTeddyCandidates(t *testing.T) {
	s, x := sharedEval(t)
	var queries []string
	seen := make(map[string]bool)
	for _, p := range s.pairs {
		for _, id := range []string{p.a, p.b} {
			if !seen[id] {
				seen[id] = true
				queries = append(queries, id)
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	rng.Shuffle(len(queries), func(i, j int) { queries[i], queries[j] = queries[j], queries[i] })
	queries = queries[:min(150, len(queries))]
	specific := x.isSpecific(x.specificDF())
	total, found := 0, 0
	for _, id := range queries {
		r := s.byID[id]
		qt := queryText{prepared: prepare(r.title, r.text, ""), region: r.region}
		qt.tq = newTitleQuery(qt.tgrams, x.titles, x.titled, x.specificDF())
		got := make(map[string]bool)
		for _, m := range x.Find(Query{Title: r.title, Text: r.text, RegionCode: r.region, Exclude: id}, 1000) {
			if m.Score >= DefaultThreshold {
				got[m.TicketID] = true
			}
		}
		for slot := range x.entries {
			e := &x.entries[slot]
			if !e.live || e.id == id || !e.indexed {
				continue
			}
			if x.score.score(&qt, e, specific).total >= DefaultThreshold {
				total++
				if got[e.id] {
					found++
				}
			}
		}
	}
	t.Logf("%d queries: Find returned %d of the %d records that score ≥ %.2f when every record is scored (%.3f)",
		len(queries), found, total, DefaultThreshold, ratio(found, total))
	if r := ratio(found, total); r < 0.9 {
		t.Errorf("candidate recall %.3f, want ≥ 0.9", r)
	}
}
