package kb

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/internal/textfile"
)

// Formats of ParseEntries.
const (
	FormatAuto = ""
	FormatCSV  = "csv"
	FormatYAML = "yaml" // JSON too
)

// MaxInput bounds the bytes ParseEntries reads; MaxImport the entries.
const (
	MaxInput  = 64 << 20
	MaxImport = 100000
)

// Error is one problem of an import, at a line (0 when unknown).
type Error struct {
	Line int
	Msg  string
}

func (e Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// Errors are the problems of an import; parsing stops after MaxErrors.
type Errors []Error

// MaxErrors bounds how many problems one parse reports.
const MaxErrors = 20

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// China is the time zone of dates given without one (UTC+8, no DST).
var China = time.FixedZone("CST", 8*3600)

// ParseDate reads a validity date: YYYY-MM-DD (midnight in China) or an RFC
// 3339 time; "" is the zero time.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, China); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither YYYY-MM-DD nor an RFC 3339 time", s)
	}
	return t, nil
}

// FormatDate writes t as ParseDate reads it: a date when it is midnight in
// China, else RFC 3339; "" for the zero time.
func FormatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	c := t.In(China)
	if c.Hour() == 0 && c.Minute() == 0 && c.Second() == 0 && c.Nanosecond() == 0 {
		return c.Format("2006-01-02")
	}
	return t.Format(time.RFC3339)
}

// SplitKeywords splits a keyword list written in one string at commas
// (ASCII or Chinese), semicolons, 、 and |.
func SplitKeywords(s string) []string {
	var out []string
	for _, k := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '，' || r == ';' || r == '；' || r == '、' || r == '|'
	}) {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// ParseEntries reads entries in format (FormatAuto detects it):
//
//   - YAML (or JSON): a list of entries, or a mapping with the list under
//     entries; an entry has id, title, answer, category, unit, validFrom,
//     validUntil (YYYY-MM-DD or RFC 3339), keywords (a list, or one string
//     split at commas) and source; unknown fields are errors;
//   - CSV with a header naming the columns: id, title, answer, category,
//     unit, valid_from, valid_until, keywords, source, in any order, or
//     their Chinese names (编号, 标题, 答复口径, 分类, 发布单位, 生效日期,
//     失效日期, 关键词, 来源). Lines starting with # are comments.
//
// Every entry is normalized and validated; an ID may be empty (the caller
// assigns one) but not repeated. An error is an Errors naming the lines.
func ParseEntries(data []byte, format string) ([]Entry, error) {
	if len(data) > MaxInput {
		return nil, Errors{{Msg: fmt.Sprintf("input of %d bytes is larger than %d", len(data), MaxInput)}}
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if !utf8.Valid(data) {
		return nil, Errors{{Line: textfile.InvalidLine(data), Msg: "not valid UTF-8"}}
	}
	switch strings.ToLower(format) {
	case FormatAuto:
		format = detectFormat(data)
	case "yml", "json":
		format = FormatYAML
	}
	var entries []Entry
	var lines []int
	var err error
	switch format {
	case FormatCSV:
		entries, lines, err = parseCSV(data)
	case FormatYAML:
		entries, lines, err = parseYAML(data)
	default:
		return nil, Errors{{Msg: fmt.Sprintf("unknown format %q; csv or yaml", format)}}
	}
	if err != nil {
		return nil, err
	}
	var es Errors
	ids := map[string]int{}
	for i := range entries {
		e := &entries[i]
		e.Normalize()
		var v errs.Violations
		e.Check(&v, "", false)
		for _, f := range v {
			es = append(es, Error{Line: lines[i], Msg: f.Field + ": " + f.Description})
		}
		if e.ID != "" {
			if prev, dup := ids[e.ID]; dup {
				es = append(es, Error{Line: lines[i], Msg: fmt.Sprintf("id %s is used on line %d too", e.ID, prev)})
			}
			ids[e.ID] = lines[i]
		}
		if len(es) >= MaxErrors {
			return nil, es[:MaxErrors]
		}
	}
	if len(es) > 0 {
		return nil, es
	}
	return entries, nil
}

// columns maps CSV header names (lower case) to entry fields.
var columns = map[string]string{
	"id": "id", "编号": "id",
	"title": "title", "标题": "title", "主题": "title",
	"answer": "answer", "答复口径": "answer", "答复": "answer", "答复意见": "answer", "内容": "answer",
	"category": "category", "分类": "category", "类别": "category", "分类编码": "category",
	"unit": "unit", "单位": "unit", "发布单位": "unit", "答复单位": "unit",
	"valid_from": "validFrom", "validfrom": "validFrom", "生效日期": "validFrom",
	"valid_until": "validUntil", "validuntil": "validUntil", "失效日期": "validUntil",
	"keywords": "keywords", "关键词": "keywords",
	"source": "source", "来源": "source",
}

func parseCSV(data []byte) ([]Entry, []int, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	var header map[string]int
	var entries []Entry
	var lines []int
	var es Errors
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, nil, Errors{{Line: pe.StartLine, Msg: pe.Err.Error()}}
			}
			return nil, nil, Errors{{Msg: err.Error()}}
		}
		line, _ := r.FieldPos(0)
		empty := true
		for _, f := range rec {
			if strings.TrimSpace(f) != "" {
				empty = false
			}
		}
		if empty {
			continue
		}
		if header == nil {
			header = map[string]int{}
			for i, h := range rec {
				h = strings.ToLower(strings.TrimSpace(h))
				f, ok := columns[h]
				if !ok {
					return nil, nil, Errors{{Line: line, Msg: fmt.Sprintf("unknown column %q; want id, title, answer, category, unit, valid_from, valid_until, keywords, source", h)}}
				}
				if _, dup := header[f]; dup {
					return nil, nil, Errors{{Line: line, Msg: fmt.Sprintf("column %q appears twice", h)}}
				}
				header[f] = i
			}
			for _, f := range []string{"title", "answer"} {
				if _, ok := header[f]; !ok {
					return nil, nil, Errors{{Line: line, Msg: "the header needs a " + f + " column"}}
				}
			}
			continue
		}
		if len(entries) >= MaxImport {
			return nil, nil, Errors{{Line: line, Msg: fmt.Sprintf("more than %d entries", MaxImport)}}
		}
		get := func(f string) string {
			if i, ok := header[f]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		e := Entry{ID: get("id"), Title: get("title"), Answer: get("answer"), Category: get("category"),
			Unit: get("unit"), Keywords: SplitKeywords(get("keywords")), Source: get("source")}
		var err1, err2 error
		e.ValidFrom, err1 = ParseDate(get("validFrom"))
		e.ValidUntil, err2 = ParseDate(get("validUntil"))
		for _, err := range []error{err1, err2} {
			if err != nil {
				es = append(es, Error{Line: line, Msg: err.Error()})
			}
		}
		if len(es) >= MaxErrors {
			return nil, nil, es
		}
		entries = append(entries, e)
		lines = append(lines, line)
	}
	if len(es) > 0 {
		return nil, nil, es
	}
	if header == nil {
		return nil, nil, Errors{{Msg: "empty input: want a header line (id,title,answer,category,unit,valid_from,valid_until,keywords,source)"}}
	}
	return entries, lines, nil
}

func parseYAML(data []byte) ([]Entry, []int, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, nil, nil
		}
		return nil, nil, Errors{{Line: yamlErrLine(err), Msg: yamlErrMsg(err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, nil, Errors{{Line: extra.Line, Msg: "more than one YAML document"}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	list := root
	if root.Kind == yaml.MappingNode {
		list = nil
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], root.Content[i+1]
			switch k.Value {
			case "entries":
				list = v
			case "source", "note", "description":
			default:
				return nil, nil, Errors{{Line: k.Line, Msg: fmt.Sprintf("unknown field %q; want entries (a list)", k.Value)}}
			}
		}
		if list == nil {
			return nil, nil, Errors{{Line: root.Line, Msg: "no entries: want entries: followed by a list"}}
		}
	}
	if list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return nil, nil, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, nil, Errors{{Line: list.Line, Msg: "want a list of entries"}}
	}
	if len(list.Content) > MaxImport {
		return nil, nil, Errors{{Line: list.Line, Msg: fmt.Sprintf("more than %d entries", MaxImport)}}
	}
	var es Errors
	fail := func(line int, format string, args ...any) {
		es = append(es, Error{Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	entries := make([]Entry, 0, len(list.Content))
	lines := make([]int, 0, len(list.Content))
	for _, n := range list.Content {
		if len(es) >= MaxErrors {
			break
		}
		if n.Kind != yaml.MappingNode {
			fail(n.Line, "want an entry: a mapping with title, answer, …")
			continue
		}
		var e Entry
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.AliasNode {
				fail(v.Line, "aliases are not allowed")
				continue
			}
			str := func() string {
				if v.Kind != yaml.ScalarNode {
					fail(v.Line, "%s must be a single value", k.Value)
					return ""
				}
				if v.Tag == "!!null" {
					return ""
				}
				return v.Value
			}
			date := func() time.Time {
				t, err := ParseDate(str())
				if err != nil {
					fail(v.Line, "%s: %v", k.Value, err)
				}
				return t
			}
			switch k.Value {
			case "id":
				e.ID = str()
			case "title":
				e.Title = str()
			case "answer":
				e.Answer = str()
			case "category":
				e.Category = str()
			case "unit":
				e.Unit = str()
			case "validFrom", "valid_from":
				e.ValidFrom = date()
			case "validUntil", "valid_until":
				e.ValidUntil = date()
			case "source":
				e.Source = str()
			case "keywords":
				switch v.Kind {
				case yaml.SequenceNode:
					if len(v.Content) > MaxKeywords {
						fail(v.Line, "at most %d keywords, got %d", MaxKeywords, len(v.Content))
						continue
					}
					for _, kw := range v.Content {
						if kw.Kind != yaml.ScalarNode {
							fail(kw.Line, "a keyword must be a single value")
							continue
						}
						e.Keywords = append(e.Keywords, kw.Value)
					}
				default:
					e.Keywords = SplitKeywords(str())
				}
			default:
				fail(k.Line, "unknown field %q of an entry; want id, title, answer, category, unit, validFrom, validUntil, keywords, source", k.Value)
			}
		}
		entries = append(entries, e)
		lines = append(lines, n.Line)
	}
	if len(es) > 0 {
		return nil, nil, es
	}
	return entries, lines, nil
}

func yamlErrLine(err error) int {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if _, rest, ok := strings.Cut(msg, "line "); ok {
		end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if end > 0 {
			if n, err := strconv.Atoi(rest[:end]); err == nil {
				return n
			}
		}
	}
	return 0
}

func yamlErrMsg(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
		return rest
	}
	return msg
}

// yamlEntry is an entry as MarshalYAML writes it.
type yamlEntry struct {
	ID         string   `yaml:"id,omitempty"`
	Title      string   `yaml:"title"`
	Category   string   `yaml:"category,omitempty"`
	Unit       string   `yaml:"unit,omitempty"`
	ValidFrom  string   `yaml:"validFrom,omitempty"`
	ValidUntil string   `yaml:"validUntil,omitempty"`
	Keywords   []string `yaml:"keywords,omitempty,flow"`
	Source     string   `yaml:"source,omitempty"`
	Answer     string   `yaml:"answer"`
}

// MarshalYAML writes entries as ParseEntries reads them, under entries:,
// after the comment lines of header (without their "# ").
func MarshalYAML(entries []Entry, header ...string) ([]byte, error) {
	var b bytes.Buffer
	for _, h := range header {
		b.WriteString(strings.TrimRight("# "+h, " ") + "\n")
	}
	out := struct {
		Entries []yamlEntry `yaml:"entries"`
	}{Entries: make([]yamlEntry, len(entries))}
	for i, e := range entries {
		out.Entries[i] = yamlEntry{ID: e.ID, Title: e.Title, Category: e.Category, Unit: e.Unit,
			ValidFrom: FormatDate(e.ValidFrom), ValidUntil: FormatDate(e.ValidUntil), Keywords: e.Keywords,
			Source: e.Source, Answer: e.Answer}
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// detectFormat guesses YAML when the first line that is neither blank nor a
// comment starts a YAML list, mapping or JSON document, CSV otherwise (and
// YAML for an empty file).
func detectFormat(data []byte) string {
	if yaml, ok := textfile.LooksLikeYAML(data); yaml || !ok {
		return FormatYAML
	}
	return FormatCSV
}
