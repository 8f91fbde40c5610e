// Package kbtest is what the knowledge base's tests, its benchmark command
// and the demo generator share: a reader of the Teddy Cup 2020 C messages
// with their official replies (shared/datasets/teddy2020c), a way to grow a
// large, realistic knowledge base from a small real one, and the relevance
// check (is the entry built from a message's reply among the top hits for
// the message?).
package kbtest

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/kb"
)

// Message is a citizen's message with the official reply (附件4).
type Message struct {
	ID        string // 留言编号
	Subject   string // 留言主题
	Detail    string // 留言详情
	Time      time.Time
	Reply     string // 答复意见
	ReplyTime time.Time
}

// TeddyReplies is the path of the messages with replies under the shared
// folder.
const TeddyReplies = "datasets/teddy2020c/attachment4_messages_with_replies.csv"

// SourcePrefix starts the Source of a demo entry built from a message's
// reply; the message id follows.
const SourcePrefix = "teddy2020c-att4#"

// FindShared returns the path of rel inside the shared folder: the folder
// $SWITCHBOARD_SHARED names, or a folder "shared" beside the working
// directory or one of its parents.
func FindShared(rel string) (string, bool) {
	if d := os.Getenv("SWITCHBOARD_SHARED"); d != "" {
		p := filepath.Join(d, rel)
		_, err := os.Stat(p)
		return p, err == nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for range 6 {
		p := filepath.Join(dir, "..", "shared", rel)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", false
}

// ReadMessages reads the CSV of messages with replies (columns 留言编号,
// 留言主题, 留言时间, 留言详情, 答复意见, 答复时间, found by name).
func ReadMessages(r io.Reader) ([]Message, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimPrefix(strings.TrimSpace(h), "\ufeff")] = i
	}
	for _, c := range []string{"留言编号", "留言主题", "留言详情", "答复意见"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("no column %s", c)
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []Message
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		m := Message{ID: get(rec, "留言编号"), Subject: get(rec, "留言主题"), Detail: get(rec, "留言详情"), Reply: get(rec, "答复意见")}
		m.Time, _ = time.ParseInLocation(time.DateTime, get(rec, "留言时间"), kb.China)
		m.ReplyTime, _ = time.ParseInLocation(time.DateTime, get(rec, "答复时间"), kb.China)
		out = append(out, m)
	}
}

// LoadTeddy reads the shared messages with replies, or reports why it
// cannot.
func LoadTeddy() ([]Message, error) {
	path, ok := FindShared(TeddyReplies)
	if !ok {
		return nil, fmt.Errorf("shared/%s not found (set SWITCHBOARD_SHARED to the shared folder)", TeddyReplies)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadMessages(f)
}

// Case is one relevance check: searching Query should find entry Want.
type Case struct {
	Query string
	Want  string
}

// Cases pairs each entry built from a message's reply with the message's
// text (its detail, which the knowledge base does not hold): held-out
// queries whose right answer is known.
func Cases(msgs []Message, entries []kb.Entry) []Case {
	byID := map[string]Message{}
	for _, m := range msgs {
		byID[m.ID] = m
	}
	var out []Case
	for _, e := range entries {
		id, ok := strings.CutPrefix(e.Source, SourcePrefix)
		if !ok {
			continue
		}
		if m, ok := byID[id]; ok && m.Detail != "" {
			out = append(out, Case{Query: m.Detail, Want: e.ID})
		}
	}
	return out
}

// Result is the outcome of a relevance check.
type Result struct {
	Cases int
	// Hits[i] is how many cases found their entry among the top i+1.
	Hits []int
	// MRR is the mean reciprocal rank within the top k (0 when not found).
	MRR float64
}

// Rate returns the share of cases whose entry was among the top k.
func (r Result) Rate(k int) float64 {
	if r.Cases == 0 || k < 1 || k > len(r.Hits) {
		return 0
	}
	return float64(r.Hits[k-1]) / float64(r.Cases)
}

// Check runs every case against ix with k hits, at at.
func Check(ix *kb.Index, cases []Case, k int, at time.Time) Result {
	r := Result{Cases: len(cases), Hits: make([]int, k)}
	for _, c := range cases {
		hits := ix.Search(c.Query, k, at)
		for i, h := range hits {
			if h.Entry.ID == c.Want {
				for j := i; j < k; j++ {
					r.Hits[j]++
				}
				r.MRR += 1 / float64(i+1)
				break
			}
		}
	}
	if r.Cases > 0 {
		r.MRR /= float64(r.Cases)
	}
	return r
}

// Queries returns up to n real queries from msgs: their subjects (short,
// like what an operator types) and their details (long, like a whole
// message), alternately, in a fixed shuffled order.
func Queries(msgs []Message, n int, seed uint64) []string {
	var out []string
	for _, m := range msgs {
		if m.Subject != "" {
			out = append(out, m.Subject)
		}
		if m.Detail != "" {
			out = append(out, m.Detail)
		}
	}
	rnd := rand.New(rand.NewPCG(seed, 2020))
	rnd.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// sentences splits text after each 。！？； keeping the marks.
func sentences(text string) []string {
	var out []string
	start := 0
	rs := []rune(text)
	for i, r := range rs {
		if r == '。' || r == '！' || r == '？' || r == '；' || r == '\n' {
			if s := strings.TrimSpace(string(rs[start : i+1])); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(string(rs[start:])); s != "" {
		out = append(out, s)
	}
	return out
}

// Grow returns n entries: base as it is (IDs kept), then synthetic entries
// made by combining base entries' texts (syn-00001, …): the title of one
// with a topic of another, the first half of one answer with the second
// half of another, the keywords of both, and the category and unit of the
// first. About one in ten ended before at and one in twenty starts after
// it, so that validity filters matter. The same seed gives the same
// entries.
func Grow(base []kb.Entry, n int, at time.Time, seed uint64) []kb.Entry {
	out := slices.Clone(base)
	if len(base) == 0 {
		return out
	}
	rnd := rand.New(rand.NewPCG(seed, 12345))
	split := make([][]string, len(base))
	for i, e := range base {
		split[i] = sentences(e.Answer)
	}
	for i := 1; len(out) < n; i++ {
		a, b := rnd.IntN(len(base)), rnd.IntN(len(base))
		ea, eb := base[a], base[b]
		sa, sb := split[a], split[b]
		half := func(s []string, first bool) []string {
			m := (len(s) + 1) / 2
			if first {
				return s[:m]
			}
			return s[m:]
		}
		answer := strings.Join(append(slices.Clone(half(sa, true)), half(sb, false)...), "")
		if answer == "" {
			answer = ea.Answer
		}
		topic := eb.Title
		if kw := eb.Keywords; len(kw) > 0 {
			topic = kw[rnd.IntN(len(kw))]
		}
		e := kb.Entry{
			ID:       fmt.Sprintf("syn-%05d", i),
			Title:    truncate(ea.Title+"（"+truncate(topic, 20)+"）", kb.MaxTitle),
			Answer:   truncate(answer, kb.MaxAnswer),
			Category: ea.Category,
			Unit:     ea.Unit,
			Keywords: uniq(append(slices.Clone(ea.Keywords), eb.Keywords...), kb.MaxKeywords),
			Source:   "synthetic",
		}
		switch x := rnd.IntN(20); {
		case x < 2:
			e.ValidFrom = at.AddDate(-3, 0, 0)
			e.ValidUntil = at.AddDate(0, -1-rnd.IntN(24), 0)
		case x == 2:
			e.ValidFrom = at.AddDate(0, 1+rnd.IntN(6), 0)
		default:
			e.ValidFrom = at.AddDate(0, -rnd.IntN(60), 0)
		}
		out = append(out, e)
	}
	return out
}

func truncate(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return string(rs[:n])
}

func uniq(ss []string, n int) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] && len(out) < n {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
