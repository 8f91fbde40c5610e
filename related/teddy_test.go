package related

import (
	"encoding/csv"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Teddy Cup 2020 C messages (../shared/datasets/teddy2020c) as tickets.
// Records are named file:key: train:N for the N-th data row of train.csv, and
// test:ID, a3:ID, a4:ID for the 留言编号 of attachment2_test_unlabelled.csv,
// attachment3_hot_issue_messages.csv and attachment4_messages_with_replies.csv.
// attachment2_sample_labelled.csv is left out: each of its rows is in
// train.csv (origin "sample") with the same first 60 characters.

const teddyDir = "../../shared/datasets/teddy2020c"

type record struct {
	id     string
	title  string // empty for train.csv, whose text is title and detail joined
	text   string
	region string
	time   time.Time // zero for train.csv
}

// squeeze removes white space, as the 30% file's author did when joining the
// title and the detail.
func squeeze(s string) string { return strings.Join(strings.Fields(s), "") }

// body is the record's title and text joined without white space: what the
// dataset README's "same first 60 characters" compares.
func (r *record) body() string { return squeeze(r.title + r.text) }

var regionRE = regexp.MustCompile(`[A-Z][0-9]*[市区县]`)

// teddyRegion stands in for the region code an operator would fill in: the
// first district or county the text names (A3区, K8县), else its city (A市).
func teddyRegion(s string) string {
	city := ""
	for _, m := range regionRE.FindAllString(s, 8) {
		if len(m) > len("A市") {
			return m
		}
		if city == "" {
			city = m
		}
	}
	return city
}

// teddyAvailable skips t when the dataset is absent, except in CI where it must
// be there.
func teddyAvailable(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(teddyDir, "README.md")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the Teddy Cup dataset is missing at %s: %v", teddyDir, err)
		}
		t.Skipf("skipping: the Teddy Cup dataset is not at %s (../shared is absent); the core tests use testdata/ only", teddyDir)
	}
}

// loadTeddy reads the four files as records, in file order.
func loadTeddy(t testing.TB) []record {
	t.Helper()
	var recs []record
	read := func(name string, row func(head map[string]int, cells []string, n int)) {
		f, err := os.Open(filepath.Join(teddyDir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cr := csv.NewReader(f)
		header, err := cr.Read()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		head := make(map[string]int)
		for i, h := range header {
			head[h] = i
		}
		for n := 1; ; n++ {
			cells, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("%s row %d: %v", name, n, err)
			}
			row(head, cells, n)
		}
	}
	read("train.csv", func(h map[string]int, c []string, n int) {
		text := c[h["text"]]
		recs = append(recs, record{id: "train:" + strconv.Itoa(n), text: text, region: teddyRegion(text)})
	})
	for _, f := range []struct{ prefix, name string }{
		{"test", "attachment2_test_unlabelled.csv"},
		{"a3", "attachment3_hot_issue_messages.csv"},
		{"a4", "attachment4_messages_with_replies.csv"},
	} {
		read(f.name, func(h map[string]int, c []string, n int) {
			tm, err := time.ParseInLocation(time.DateTime, c[h["留言时间"]], shanghai)
			if err != nil {
				t.Fatalf("%s row %d: %v", f.name, n, err)
			}
			title, text := c[h["留言主题"]], c[h["留言详情"]]
			recs = append(recs, record{id: f.prefix + ":" + c[h["留言编号"]], title: title, text: text,
				region: teddyRegion(title + text), time: tm})
		})
	}
	return recs
}

var shanghai = time.FixedZone("CST", 8*3600)

// pair is one row of testdata/pairs.csv.
type pair struct {
	kind, label string
	a, b        string
}

// The kinds and labels of testdata/pairs.csv (see testdata/README.md).
const (
	kindExact  = "exact"    // identical text, different records
	kindPrefix = "prefix60" // same first 60 characters, texts differ
	kindRead   = "read"     // mined by title overlap, labelled by reading
	kindFound  = "found"    // suggested by the index in the evaluation, labelled by reading

	labelDup   = "dup"   // the same matter: an operator would link them
	labelPlace = "place" // same place, another matter
	labelTopic = "topic" // same kind of matter, another place
)

func readPairs(t testing.TB, fsys fs.FS, name string) []pair {
	t.Helper()
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "kind,label,a,b,excerpt_a,excerpt_b" {
		t.Fatalf("%s: unexpected header %q", name, rows[0])
	}
	var ps []pair
	for i, r := range rows[1:] {
		p := pair{kind: r[0], label: r[1], a: r[2], b: r[3]}
		switch {
		case p.kind != kindExact && p.kind != kindPrefix && p.kind != kindRead && p.kind != kindFound:
			t.Fatalf("%s line %d: unknown kind %q", name, i+2, p.kind)
		case p.label != labelDup && p.label != labelPlace && p.label != labelTopic:
			t.Fatalf("%s line %d: unknown label %q", name, i+2, p.label)
		case p.a == p.b:
			t.Fatalf("%s line %d: a pair of one record", name, i+2)
		}
		ps = append(ps, p)
	}
	return ps
}

// rulePairs returns the pairs of records whose bodies share their first 60
// characters, the dataset README's rule, with kind exact or prefix60.
func rulePairs(recs []record) []pair {
	groups := make(map[string][]int)
	var order []string
	for i := range recs {
		b := []rune(recs[i].body())
		key := string(b[:min(60, len(b))])
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	var ps []pair
	for _, key := range order {
		g := groups[key]
		for x := 0; x < len(g); x++ {
			for y := x + 1; y < len(g); y++ {
				a, b := &recs[g[x]], &recs[g[y]]
				kind := kindPrefix
				if a.body() == b.body() {
					kind = kindExact
				}
				ps = append(ps, pair{kind: kind, label: labelDup, a: a.id, b: b.id})
			}
		}
	}
	return ps
}

// excerpt is the start of a record's title (or text) for pairs.csv.
func excerpt(r *record) string {
	s := r.title
	if s == "" {
		s = r.text
	}
	rs := []rune(squeeze(s))
	return string(rs[:min(24, len(rs))])
}
