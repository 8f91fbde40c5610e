package taxonomy

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/switchboard12345/switchboard/internal/textfile"
)

// Formats of Parse.
const (
	FormatAuto = ""
	FormatCSV  = "csv"
	FormatYAML = "yaml" // JSON too: it is YAML
)

// MaxInput bounds the bytes Parse reads.
const MaxInput = 16 << 20

// Parse reads a tree in format (FormatAuto detects it): see ParseCSV and
// ParseYAML. An error is an Errors naming the lines.
func Parse(data []byte, format string) (*Tree, error) {
	if len(data) > MaxInput {
		return nil, Errors{{Msg: fmt.Sprintf("input of %d bytes is larger than %d", len(data), MaxInput)}}
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if !utf8.Valid(data) {
		return nil, Errors{{Line: textfile.InvalidLine(data), Msg: "not valid UTF-8"}}
	}
	switch strings.ToLower(format) {
	case FormatAuto:
		format = DetectFormat(data)
	case "yml", "json":
		format = FormatYAML
	}
	switch format {
	case FormatCSV:
		return parseCSV(data)
	case FormatYAML:
		return parseYAML(data)
	}
	return nil, Errors{{Msg: fmt.Sprintf("unknown format %q; csv or yaml", format)}}
}

// ParseCSV reads a tree from CSV with a header row, in one of two shapes:
//
//   - code,level,name,parent[,…]: a line per category, columns found by
//     their header names (level is optional and checked when given; other
//     columns such as parent_name or source are ignored; parent is empty on
//     the first level);
//   - 一级分类,二级分类,三级分类 (up to 五级分类; also level1,level2,…): a
//     line per path of names, codes assigned in the order the names first
//     appear: LL for the first level, LLMM under it, LLMMNN, … (at most 99
//     children per category). A line may end early (empty trailing
//     columns) to name a category with no children.
//
// Lines starting with # are comments. An error is an Errors naming the lines.
func ParseCSV(r io.Reader) (*Tree, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInput+1))
	if err != nil {
		return nil, err
	}
	return Parse(data, FormatCSV)
}

// ParseYAML reads a tree from YAML (or JSON): a list of categories, or a
// mapping with the list under tree (or categories) and optional source and
// note. A category has code, name, optional level and children (a list of
// categories). A category without a code gets one as in the 一级分类 CSV
// shape: its parent's code and its two-digit position. An error is an
// Errors naming the lines.
func ParseYAML(data []byte) (*Tree, error) { return Parse(data, FormatYAML) }

// levelHeaders are the header names of the names-only CSV shape, by level.
var levelHeaders = [][]string{
	{"一级分类", "一级", "level1", "l1"},
	{"二级分类", "二级", "level2", "l2"},
	{"三级分类", "三级", "level3", "l3"},
	{"四级分类", "四级", "level4", "l4"},
	{"五级分类", "五级", "level5", "l5"},
}

func parseCSV(data []byte) (*Tree, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.ReuseRecord = false
	var header []string
	var headerLine int
	var es Errors
	var rows [][]string
	var lines []int
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, Errors{{Line: pe.StartLine, Msg: pe.Err.Error()}}
			}
			return nil, Errors{{Msg: err.Error()}}
		}
		line, _ := r.FieldPos(0)
		if blank(rec) {
			continue
		}
		if header == nil {
			header, headerLine = rec, line
			continue
		}
		if len(rows) >= MaxCategories {
			return nil, Errors{{Line: line, Msg: fmt.Sprintf("more than %d lines", MaxCategories)}}
		}
		rows = append(rows, rec)
		lines = append(lines, line)
	}
	if header == nil {
		return nil, Errors{{Msg: "empty input: want a header line (code,level,name,parent or 一级分类,二级分类,三级分类)"}}
	}
	cols := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := cols[h]; dup && h != "" {
			return nil, Errors{{Line: headerLine, Msg: fmt.Sprintf("column %q appears twice in the header", h)}}
		}
		cols[h] = i
	}
	if _, ok := cols["code"]; ok {
		return codedCSV(cols, headerLine, rows, lines)
	}
	var levelCols []int
	for _, names := range levelHeaders {
		found := -1
		for _, n := range names {
			if i, ok := cols[n]; ok {
				found = i
				break
			}
		}
		if found < 0 {
			break
		}
		levelCols = append(levelCols, found)
	}
	if len(levelCols) == 0 {
		es = append(es, Error{Line: headerLine, Msg: fmt.Sprintf("unknown header %q: want code,level,name,parent[,…] or 一级分类,二级分类,三级分类", strings.Join(header, ","))})
		return nil, es
	}
	return namedCSV(levelCols, rows, lines)
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// field returns column i of rec, or "" when the line is shorter.
func field(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

func codedCSV(cols map[string]int, headerLine int, rows [][]string, lines []int) (*Tree, error) {
	col := func(name string) int {
		if i, ok := cols[name]; ok {
			return i
		}
		return -1
	}
	code, name, parent, level := col("code"), col("name"), col("parent"), col("level")
	if name < 0 || parent < 0 {
		return nil, Errors{{Line: headerLine, Msg: "the header names code but not both name and parent: want code,level,name,parent"}}
	}
	need := max(code, name, parent, level) + 1
	var es Errors
	items := make([]item, 0, len(rows))
	for i, rec := range rows {
		it := item{Category: Category{Code: field(rec, code), Name: field(rec, name), Parent: field(rec, parent)}, line: lines[i]}
		if len(rec) < need {
			// Trailing empty columns are often cut by spreadsheet tools;
			// a missing code or name is reported below.
			if field(rec, code) == "" || field(rec, name) == "" {
				es = append(es, Error{Line: lines[i], Msg: fmt.Sprintf("%d columns, want %d", len(rec), need)})
				if len(es) >= MaxErrors {
					return nil, es
				}
				continue
			}
		}
		if level >= 0 {
			if l := field(rec, level); l != "" {
				n, err := strconv.Atoi(l)
				if err != nil || n < 1 || n > MaxLevels {
					es = append(es, Error{Line: lines[i], Msg: fmt.Sprintf("level %q is not a number from 1 to %d", l, MaxLevels)})
					if len(es) >= MaxErrors {
						return nil, es
					}
					continue
				}
				it.Level, it.levelGiven = n, true
			}
		}
		items = append(items, it)
	}
	if len(es) > 0 {
		return nil, es
	}
	return build(items)
}

// assigner gives codes to categories named by their paths, in the order
// they first appear: the parent's code and a two-digit position.
type assigner struct {
	codes map[string]string // path key → code
	count map[string]int    // parent code → children so far
	taken map[string]bool   // codes the input gives explicitly: skipped
}

func newAssigner() *assigner {
	return &assigner{codes: map[string]string{}, count: map[string]int{}, taken: map[string]bool{}}
}

// add returns the path key and code of name under parent (whose path key is
// parentKey), assigning a code if the category is new (created).
func (a *assigner) add(parentKey, parent, name string) (key, code string, created bool, err error) {
	key = parentKey + "\x00" + name
	if c, ok := a.codes[key]; ok {
		return key, c, false, nil
	}
	n := a.count[parent]
	for {
		n++
		if n > 99 {
			return "", "", false, fmt.Errorf("%s has more than 99 children: codes have two digits per level", nameOrRoot(parent))
		}
		if code = parent + fmt.Sprintf("%02d", n); !a.taken[code] {
			break
		}
	}
	a.count[parent] = n
	a.codes[key] = code
	return key, code, true, nil
}

func nameOrRoot(code string) string {
	if code == "" {
		return "the first level"
	}
	return "category " + code
}

func namedCSV(levelCols []int, rows [][]string, lines []int) (*Tree, error) {
	a := newAssigner()
	var items []item
	named := map[string]int{} // path key → the line whose last name it is
	var es Errors
	fail := func(line int, format string, args ...any) bool {
		es = append(es, Error{Line: line, Msg: fmt.Sprintf(format, args...)})
		return len(es) < MaxErrors
	}
	for i, rec := range rows {
		line := lines[i]
		names := make([]string, len(levelCols))
		depth, gap, after := 0, -1, -1
		for l, c := range levelCols {
			names[l] = field(rec, c)
			switch {
			case names[l] == "":
				if gap < 0 {
					gap = l
				}
			case gap >= 0:
				after = l
			default:
				depth = l + 1
			}
			if after >= 0 {
				break
			}
		}
		switch {
		case after >= 0:
			if !fail(line, "%s is given but %s is empty", levelHeaders[after][0], levelHeaders[gap][0]) {
				return nil, es
			}
			continue
		case depth == 0:
			if !fail(line, "no category name in the %s column", levelHeaders[0][0]) {
				return nil, es
			}
			continue
		}
		key, code := "", ""
		created, ok := false, true
		for l := range depth {
			if msg := checkName(names[l]); msg != "" {
				ok = fail(line, "%s: %s", levelHeaders[l][0], msg)
				break
			}
			parent := code
			var err error
			key, code, created, err = a.add(key, parent, names[l])
			if err != nil {
				ok = fail(line, "%v", err)
				break
			}
			if created {
				items = append(items, item{Category: Category{Code: code, Name: names[l], Parent: parent, Level: l + 1}, line: line, levelGiven: true})
			}
			ok = true
		}
		if !ok {
			if len(es) >= MaxErrors {
				return nil, es
			}
			continue
		}
		if prev, dup := named[key]; dup && !created {
			if !fail(line, "repeats line %d (%s)", prev, strings.Join(names[:depth], " / ")) {
				return nil, es
			}
			continue
		}
		named[key] = line
	}
	if len(es) > 0 {
		return nil, es
	}
	return build(items)
}

// ---- YAML ----

func parseYAML(data []byte) (*Tree, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, Errors{{Msg: "empty input: want a list of categories (code, name, children)"}}
		}
		return nil, Errors{{Line: yamlErrLine(err), Msg: yamlErrMsg(err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, Errors{{Line: extra.Line, Msg: "more than one YAML document"}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	p := &yamlParser{a: newAssigner()}
	list := root
	if root.Kind == yaml.MappingNode {
		list = nil
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], root.Content[i+1]
			switch k.Value {
			case "tree", "categories":
				if list != nil {
					return nil, Errors{{Line: k.Line, Msg: "both tree and categories are given"}}
				}
				list = v
			case "source", "note", "version", "name", "description":
				if v.Kind != yaml.ScalarNode {
					return nil, Errors{{Line: v.Line, Msg: k.Value + " must be a string"}}
				}
			default:
				return nil, Errors{{Line: k.Line, Msg: fmt.Sprintf("unknown field %q; want tree (a list of categories), source, note", k.Value)}}
			}
		}
		if list == nil {
			return nil, Errors{{Line: root.Line, Msg: "no tree: want tree: followed by a list of categories"}}
		}
	}
	reserveCodes(list, p.a.taken, 0)
	p.list(list, "", "", 1)
	if len(p.es) > 0 {
		return nil, p.es
	}
	return build(p.items)
}

// reserveCodes records the codes given explicitly in the YAML list n, so
// that codes assigned to categories without one skip them.
func reserveCodes(n *yaml.Node, taken map[string]bool, depth int) {
	if n.Kind != yaml.SequenceNode || depth > MaxLevels {
		return
	}
	for _, c := range n.Content {
		if c.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(c.Content); i += 2 {
			switch k, v := c.Content[i], c.Content[i+1]; k.Value {
			case "code":
				if v.Kind == yaml.ScalarNode {
					taken[strings.TrimSpace(v.Value)] = true
				}
			case "children":
				reserveCodes(v, taken, depth+1)
			}
		}
	}
}

type yamlParser struct {
	a     *assigner
	items []item
	es    Errors
}

func (p *yamlParser) fail(line int, format string, args ...any) {
	if len(p.es) < MaxErrors {
		p.es = append(p.es, Error{Line: line, Msg: fmt.Sprintf(format, args...)})
	}
}

func (p *yamlParser) list(n *yaml.Node, parentKey, parent string, level int) {
	if len(p.es) >= MaxErrors {
		return
	}
	if n.Kind == yaml.AliasNode {
		p.fail(n.Line, "aliases are not allowed")
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(n.Line, "want a list of categories")
		return
	}
	if level > MaxLevels {
		p.fail(n.Line, "more than %d levels", MaxLevels)
		return
	}
	for _, c := range n.Content {
		p.category(c, parentKey, parent, level)
		if len(p.items) > MaxCategories {
			p.fail(c.Line, "more than %d categories", MaxCategories)
			return
		}
	}
}

func (p *yamlParser) category(n *yaml.Node, parentKey, parent string, level int) {
	if n.Kind == yaml.AliasNode {
		p.fail(n.Line, "aliases are not allowed")
		return
	}
	if n.Kind != yaml.MappingNode {
		p.fail(n.Line, "want a category: a mapping with code, name and children")
		return
	}
	it := item{line: n.Line, Category: Category{Parent: parent}}
	var children *yaml.Node
	hasCode := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		scalar := func() (string, bool) {
			if v.Kind != yaml.ScalarNode {
				p.fail(v.Line, "%s must be a single value", k.Value)
				return "", false
			}
			return v.Value, true
		}
		switch k.Value {
		case "code":
			if s, ok := scalar(); ok {
				it.Code, hasCode = strings.TrimSpace(s), true
			}
		case "name":
			if s, ok := scalar(); ok {
				it.Name = strings.TrimSpace(s)
			}
		case "level":
			if s, ok := scalar(); ok {
				l, err := strconv.Atoi(s)
				if err != nil || l < 1 || l > MaxLevels {
					p.fail(v.Line, "level %q is not a number from 1 to %d", s, MaxLevels)
				} else {
					it.Level, it.levelGiven = l, true
				}
			}
		case "children":
			if v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || v.Value == "") {
				continue // children: (none)
			}
			children = v
		default:
			p.fail(k.Line, "unknown field %q of a category; want code, name, level, children", k.Value)
		}
	}
	key := parentKey + "\x00" + it.Name
	if !hasCode || it.Code == "" {
		if it.Name == "" {
			p.fail(n.Line, "a category needs a name")
			return
		}
		var err error
		var code string
		var created bool
		key, code, created, err = p.a.add(parentKey, parent, it.Name)
		if err != nil {
			p.fail(n.Line, "%v", err)
			return
		}
		if !created {
			p.fail(n.Line, "name %s is used by a sibling too", it.Name)
			return
		}
		it.Code = code
	} else if it.levelGiven && it.Level != level {
		p.fail(n.Line, "%s is nested at level %d but says level %d", it.Code, level, it.Level)
	}
	it.Level, it.levelGiven = level, true
	p.items = append(p.items, it)
	if children != nil {
		p.list(children, key, it.Code, level+1)
	}
}

// yamlErrLine extracts the line of a yaml.v3 error ("yaml: line 3: …").
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

// yamlErrMsg strips yaml.v3's prefixes from its message.
func yamlErrMsg(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
		return rest
	}
	return msg
}

// DetectFormat guesses the format of data: YAML when its first line that is
// neither blank nor a comment starts a YAML list, mapping or JSON document,
// CSV otherwise.
func DetectFormat(data []byte) string {
	if yaml, _ := textfile.LooksLikeYAML(data); yaml {
		return FormatYAML
	}
	return FormatCSV
}
