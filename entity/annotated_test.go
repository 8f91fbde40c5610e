package entity

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var showErrors = flag.Bool("entity.errors", false, "print every difference from the annotated sample")

const annotatedPath = "testdata/annotated.jsonl"

func readAnnotated(t testing.TB) []Sample {
	t.Helper()
	f, err := os.Open(annotatedPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ReadSamples(f)
	if err != nil {
		t.Fatalf("%s: %v", annotatedPath, err)
	}
	return s
}

// TestAnnotatedSample checks the annotation itself: every entity's offsets
// select exactly its text, entities are ordered and disjoint, the sample
// is large and mixed enough, and the personal numbers in it have the
// shapes the README promises (masked, but still valid).
func TestAnnotatedSample(t *testing.T) {
	t.Parallel()
	samples := readAnnotated(t)
	if len(samples) < 200 {
		t.Errorf("%d annotated messages, want at least 200", len(samples))
	}
	sources := map[string]int{}
	seen := map[string]bool{}
	empty := 0
	for i, s := range samples {
		if err := CheckSample(s); err != nil {
			t.Errorf("line %d (%s %s): %v", i+1, s.Source, s.ID, err)
		}
		key := s.Source + "#" + s.ID
		if seen[key] {
			t.Errorf("line %d: %s annotated twice", i+1, key)
		}
		seen[key] = true
		sources[strings.SplitN(s.Source, "/", 2)[0]]++
		if len(s.Entities) == 0 {
			empty++
		}
		if s.Split != "dev" && s.Split != "test" {
			t.Errorf("line %d: split %q, want dev or test", i+1, s.Split)
		}
		for _, e := range s.Entities {
			if e.Type == IDNumber && !validResidentID(e.Text, Options{Now: s.Now()}) {
				t.Errorf("line %d: ID number %s does not pass its checksum", i+1, maskMiddle(e.Text, 6, 4))
			}
		}
	}
	for _, src := range []string{"teddy2020c", "shangluo_mayor_mailbox", "peoples_daily_gas_heating"} {
		if sources[src] < 40 {
			t.Errorf("%d messages from %s, want at least 40", sources[src], src)
		}
	}
	if empty < 5 {
		t.Errorf("%d messages without entities, want some", empty)
	}
}

// floors are below the measured figures (see the README): they catch
// regressions, not noise. Measured on the whole sample (exact / overlap
// F1): address 0.845 / 0.909, place 0.768 / 0.824, organisation
// 0.765 / 0.825.
var floors = map[Type]struct{ exactF1, overlapF1 float64 }{
	Phone:        {0.85, 0.85},
	Address:      {0.80, 0.85},
	Place:        {0.72, 0.78},
	Organisation: {0.71, 0.77},
	Date:         {0.85, 0.88},
	Amount:       {0.80, 0.80},
}

// TestAnnotatedEvaluation scores Extract against the annotated sample and
// logs the precision/recall table per type (run with -v to see it, and
// -entity.errors to list every difference).
func TestAnnotatedEvaluation(t *testing.T) {
	t.Parallel()
	samples := readAnnotated(t)
	for _, split := range []string{"dev", "test", "all"} {
		var s []Sample
		for _, x := range samples {
			if split == "all" || x.Split == split {
				s = append(s, x)
			}
		}
		rep := Evaluate(s, nil)
		var buf bytes.Buffer
		if err := rep.WriteTable(&buf); err != nil {
			t.Fatal(err)
		}
		t.Logf("split %s, %d messages:\n%s", split, rep.Messages, buf.String())
		if split != "all" {
			continue
		}
		if *showErrors {
			var eb bytes.Buffer
			rep.WriteErrors(&eb)
			t.Log("\n" + eb.String())
		}
		for typ, fl := range floors {
			c := rep.ByType[typ]
			_, _, fe := c.PRF(c.Exact)
			_, _, fo := c.PRF(c.Overlap)
			if fe < fl.exactF1 || fo < fl.overlapF1 {
				t.Errorf("%s: F1 exact %.3f overlap %.3f, below the floor %.2f / %.2f", typ, fe, fo, fl.exactF1, fl.overlapF1)
			}
		}
		for _, typ := range []Type{Date, Amount} {
			c := rep.ByType[typ]
			if c.ValueGold > 0 && float64(c.ValueRight) < 0.85*float64(c.ValueGold) {
				t.Errorf("%s: %d of %d values right", typ, c.ValueRight, c.ValueGold)
			}
		}
	}
}

// BenchmarkExtract measures one message of the annotated sample at a time.
func BenchmarkExtract(b *testing.B) {
	samples := readAnnotated(b)
	runes := 0
	for _, s := range samples {
		runes += len([]rune(s.Text))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s := samples[i%len(samples)]
		Extract(s.Text, Options{Now: s.Now()})
	}
	b.ReportMetric(float64(runes)/float64(len(samples)), "runes/msg")
}
