package entity

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// Sample is one annotated message (a line of testdata/annotated.jsonl).
type Sample struct {
	// Source is the dataset file the message comes from and ID its row id
	// there.
	Source string `json:"source"`
	ID     string `json:"id"`
	// Time is when the message was posted (YYYY-MM-DD[ HH:MM[:SS]]), the
	// reference time of its relative dates; empty if unknown.
	Time string `json:"time"`
	// Split is "dev" (looked at while writing the rules) or "test" (only
	// scored).
	Split    string   `json:"split"`
	Text     string   `json:"text"`
	Entities []Entity `json:"entities"`
}

// Now parses the sample's Time in China time; zero if it has none.
func (s Sample) Now() time.Time {
	cst := time.FixedZone("CST", 8*3600)
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s.Time, cst); err == nil {
			return t
		}
	}
	return time.Time{}
}

// ReadSamples reads annotated samples, one JSON object a line.
func ReadSamples(r io.Reader) ([]Sample, error) {
	var out []Sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var s Sample
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// CheckSample reports the first inconsistency of an annotation: an
// offset outside the text, a Text that is not the runes at its offsets,
// an unknown type, or overlapping or unordered entities.
func CheckSample(s Sample) error {
	r := []rune(s.Text)
	known := map[Type]bool{}
	for _, t := range Types {
		known[t] = true
	}
	prevEnd := 0
	for i, e := range s.Entities {
		switch {
		case !known[e.Type]:
			return fmt.Errorf("entity %d: unknown type %q", i, e.Type)
		case e.Start < 0 || e.End > len(r) || e.Start >= e.End:
			return fmt.Errorf("entity %d (%s %q): offsets [%d,%d) outside a text of %d runes", i, e.Type, e.Text, e.Start, e.End, len(r))
		case string(r[e.Start:e.End]) != e.Text:
			return fmt.Errorf("entity %d: text %q but runes [%d,%d) are %q", i, e.Text, e.Start, e.End, string(r[e.Start:e.End]))
		case e.Start < prevEnd:
			return fmt.Errorf("entity %d (%q) overlaps or precedes the one before", i, e.Text)
		}
		prevEnd = e.End
	}
	return nil
}

// Counts are the matches of one entity type.
type Counts struct {
	Gold, Predicted int
	// Exact counts predictions with the gold type and exactly the gold
	// span; Overlap those with the gold type whose span overlaps a gold
	// span (each gold and each prediction used once).
	Exact, Overlap int
	// ValueRight counts exact matches whose gold entity has a value and
	// whose predicted Value equals it; ValueGold those with a gold value.
	ValueRight, ValueGold int
}

// PRF returns precision, recall and F1 for matched predictions.
func (c Counts) PRF(matched int) (p, r, f float64) {
	if c.Predicted > 0 {
		p = float64(matched) / float64(c.Predicted)
	}
	if c.Gold > 0 {
		r = float64(matched) / float64(c.Gold)
	}
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return p, r, f
}

// Report is the result of an evaluation.
type Report struct {
	Messages int
	ByType   map[Type]*Counts
	// Errors lists, per sample, the missed gold and the wrong predictions
	// (exact matching), for reading.
	Errors []SampleErrors
}

// SampleErrors are one sample's differences from its annotation.
type SampleErrors struct {
	Sample         *Sample
	Missed, Wrong  []Entity
	WrongValue     []Entity // exact matches with another value (gold shown)
	PredictedValue []string
}

// Evaluate runs Extract over the samples, each with its own time as
// Options.Now and with places as the gazetteer, and compares.
func Evaluate(samples []Sample, places []string) Report {
	rep := Report{ByType: map[Type]*Counts{}}
	for _, t := range Types {
		rep.ByType[t] = &Counts{}
	}
	for i := range samples {
		s := &samples[i]
		rep.Messages++
		pred := Extract(s.Text, Options{Now: s.Now(), Places: places})
		se := SampleErrors{Sample: s}
		usedG := make([]bool, len(s.Entities))
		usedP := make([]bool, len(pred))
		for _, g := range s.Entities {
			c := rep.ByType[g.Type]
			c.Gold++
		}
		for _, p := range pred {
			rep.ByType[p.Type].Predicted++
		}
		// Exact matches first.
		for gi, g := range s.Entities {
			for pi, p := range pred {
				if usedP[pi] || p.Type != g.Type || p.Start != g.Start || p.End != g.End {
					continue
				}
				usedG[gi], usedP[pi] = true, true
				c := rep.ByType[g.Type]
				c.Exact++
				c.Overlap++
				if g.Value != "" {
					c.ValueGold++
					if p.Value == g.Value {
						c.ValueRight++
					} else {
						se.WrongValue = append(se.WrongValue, g)
						se.PredictedValue = append(se.PredictedValue, p.Value)
					}
				}
				break
			}
		}
		exactG, exactP := append([]bool(nil), usedG...), append([]bool(nil), usedP...)
		for gi, g := range s.Entities {
			if usedG[gi] {
				continue
			}
			for pi, p := range pred {
				if usedP[pi] || p.Type != g.Type || p.End <= g.Start || g.End <= p.Start {
					continue
				}
				usedG[gi], usedP[pi] = true, true
				rep.ByType[g.Type].Overlap++
				break
			}
		}
		for gi, g := range s.Entities {
			if !exactG[gi] {
				se.Missed = append(se.Missed, g)
			}
		}
		for pi, p := range pred {
			if !exactP[pi] {
				se.Wrong = append(se.Wrong, p)
			}
		}
		if len(se.Missed)+len(se.Wrong)+len(se.WrongValue) > 0 {
			rep.Errors = append(rep.Errors, se)
		}
	}
	return rep
}

// WriteTable prints precision, recall and F1 per type, exact and overlap,
// and the share of right values among exact matches.
func (rep Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "type\tgold\tpred\tP exact\tR exact\tF1 exact\tP overlap\tR overlap\tF1 overlap\tvalue ok\t\n")
	var all Counts
	for _, t := range Types {
		c := rep.ByType[t]
		all.Gold += c.Gold
		all.Predicted += c.Predicted
		all.Exact += c.Exact
		all.Overlap += c.Overlap
		all.ValueGold += c.ValueGold
		all.ValueRight += c.ValueRight
		writeRow(tw, string(t), *c)
	}
	writeRow(tw, "all", all)
	return tw.Flush()
}

func writeRow(w io.Writer, name string, c Counts) {
	pe, re, fe := c.PRF(c.Exact)
	po, ro, fo := c.PRF(c.Overlap)
	val := "-"
	if c.ValueGold > 0 {
		val = fmt.Sprintf("%d/%d", c.ValueRight, c.ValueGold)
	}
	fmt.Fprintf(w, "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%s\t\n", name, c.Gold, c.Predicted, pe, re, fe, po, ro, fo, val)
}

// WriteErrors prints each sample's differences, for reading. ID numbers
// are shown masked.
func (rep Report) WriteErrors(w io.Writer) {
	show := func(e Entity) string {
		t := e.Text
		if e.Type == IDNumber {
			t = maskMiddle(t, 6, 4)
		}
		return fmt.Sprintf("%s %q [%d,%d) %s", e.Type, t, e.Start, e.End, e.Value)
	}
	for _, se := range rep.Errors {
		text := se.Sample.Text
		if utf8.RuneCountInString(text) > 120 {
			text = string([]rune(text)[:120]) + "…"
		}
		fmt.Fprintf(w, "== %s %s (%s) %s\n", se.Sample.Source, se.Sample.ID, se.Sample.Split, text)
		for _, e := range se.Missed {
			fmt.Fprintf(w, "  missed  %s\n", show(e))
		}
		for _, e := range se.Wrong {
			fmt.Fprintf(w, "  wrong   %s\n", show(e))
		}
		for i, e := range se.WrongValue {
			fmt.Fprintf(w, "  value   %s → got %q\n", show(e), se.PredictedValue[i])
		}
	}
}
