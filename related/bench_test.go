package related

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The benchmark index: benchDocs synthetic tickets built by mixing the
// clauses of real texts (the Teddy Cup messages when ../shared is there, the
// fixture otherwise), each with a made-up place name in its title and
// address, a phone number, a region and a time within the window. Queries are
// real texts, so the near duplicates among the synthetic tickets are found
// through LSH and scored like real ones.
//
//	go test ./related -run '^$' -bench . -benchtime 20000x
const benchDocs = 100_000

type benchSet struct {
	x       *Index
	queries []Query
	bytes   float64 // heap bytes per indexed document
	build   time.Duration
}

var (
	benchOnce sync.Once
	bench     benchSet
)

// benchSources returns titles and texts to mix.
func benchSources(b *testing.B) (titles, texts []string) {
	if _, err := os.Stat(filepath.Join(teddyDir, "README.md")); err == nil {
		for _, r := range loadTeddy(b) {
			if r.title != "" {
				titles = append(titles, r.title)
			}
			texts = append(texts, r.text)
		}
		return titles, texts
	}
	b.Logf("the Teddy Cup dataset is not at %s: mixing the fixture's texts", teddyDir)
	for _, d := range loadFixture(b) {
		titles = append(titles, d.Title)
		texts = append(texts, d.Text)
	}
	return titles, texts
}

func clauses(texts []string) []string {
	var out []string
	for _, t := range texts {
		for _, c := range strings.FieldsFunc(t, func(r rune) bool { return strings.ContainsRune("，。！？；,.!?;", r) }) {
			if c = strings.TrimSpace(c); len([]rune(c)) >= 4 {
				out = append(out, c)
			}
		}
	}
	return out
}

func buildBench(b *testing.B) {
	titles, texts := benchSources(b)
	cl := clauses(texts)
	rng := rand.New(rand.NewPCG(7, 7))
	nameChars := []rune("丽发新城金科时代中心伊景园滨河苑万国翡翠华庭星湖湾凯乐国际龙塘嘉顺东业苹果恒大绿地海外滩保利西海岸润和紫郡天麓尚层怡海红树")
	words := []string{"小区", "花园", "社区", "路", "大厦", "广场", "学校", "市场", "村"}
	place := func() string {
		var s strings.Builder
		for range 2 + rng.IntN(3) {
			s.WriteRune(nameChars[rng.IntN(len(nameChars))])
		}
		return s.String() + words[rng.IntN(len(words))]
	}
	now := t0
	x := New(Options{Now: func() time.Time { return now }, MaxOpen: 2 * benchDocs})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for i := range benchDocs {
		p := place()
		var text strings.Builder
		for range 3 + rng.IntN(6) {
			text.WriteString(cl[rng.IntN(len(cl))])
			text.WriteString("，")
		}
		text.WriteString(p)
		d := Doc{
			TicketID:       fmt.Sprintf("b%06d", i),
			TrackingNumber: fmt.Sprintf("20261207-%06d", i),
			Phone:          fmt.Sprintf("13%09d", rng.IntN(1_000_000_000)),
			Title:          p + titles[rng.IntN(len(titles))],
			Text:           text.String(),
			RegionCode:     fmt.Sprintf("4401%02d", rng.IntN(12)),
			Address:        "广州市" + p,
			Open:           rng.IntN(3) > 0,
			Created:        t0.Add(-time.Duration(rng.Int64N(int64(6 * 24 * time.Hour)))),
		}
		if err := x.Add(d); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	var qs []Query
	for i := range 500 {
		j := rng.IntN(len(texts))
		q := Query{Text: texts[j], RegionCode: fmt.Sprintf("4401%02d", rng.IntN(12))}
		if i%2 == 0 {
			q.Phone = fmt.Sprintf("13%09d", rng.IntN(1_000_000_000))
			q.Title = titles[rng.IntN(len(titles))]
			q.Address = "广州市" + place()
		}
		qs = append(qs, q)
	}
	bench = benchSet{x: x, queries: qs, build: elapsed,
		bytes: float64(after.HeapAlloc-before.HeapAlloc) / benchDocs}
}

// BenchmarkFind measures Find at 100,000 indexed tickets.
func BenchmarkFind(b *testing.B) {
	benchOnce.Do(func() { buildBench(b) })
	held, texts := bench.x.Len()
	b.Logf("%d held, %d text candidates, built in %v (%.0f µs/Add), %.0f heap bytes per ticket",
		held, texts, bench.build.Round(time.Millisecond), float64(bench.build.Microseconds())/benchDocs, bench.bytes)
	matches := 0
	i := 0
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		matches += len(bench.x.Find(bench.queries[i%len(bench.queries)], 10))
		took = append(took, time.Since(start))
		i++
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(matches)/float64(i), "matches/op")
	b.ReportMetric(bench.bytes, "B/ticket")
}

// BenchmarkFindParallel measures Find from many goroutines at once.
func BenchmarkFindParallel(b *testing.B) {
	benchOnce.Do(func() { buildBench(b) })
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			bench.x.Find(bench.queries[i%len(bench.queries)], 10)
			i++
		}
	})
}
