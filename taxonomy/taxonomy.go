// Package taxonomy is the category tree requests are filed under, kept as
// data: codes of one to five levels (the example tree has three: 15
// first-level, 118 second-level and 517 third-level categories), imported
// from CSV or YAML (parse.go), with lookups, paths and a ranked search over
// the Chinese names (search.go).
//
// A child's code extends its parent's (01 → 0101 → 010101), so that a code
// prefix selects a category and everything under it, as ticket lists and
// access policies do. A Tree is immutable and safe for concurrent use.
package taxonomy

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a tree.
const (
	MaxLevels     = 5      // levels below the root
	MaxCategories = 100000 // categories in one tree
	MaxCodeLen    = 32     // bytes of a code
	MaxNameLen    = 100    // characters of a name
)

// Category is one node of the tree.
type Category struct {
	Code   string
	Name   string
	Level  int    // 1 for the first level
	Parent string // the parent's code; "" for the first level
}

// Tree is a validated category tree.
type Tree struct {
	cats     []Category // parents before children, siblings in source order
	index    map[string]int
	children map[string][]int // by parent code; "" holds the first level
	search   []searchDoc      // by position in cats (search.go)
}

// Error is one problem of an input, at a line (0 when the input has no
// lines, e.g. categories given to New).
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

// Errors are the problems of an input, in the order found. Parsing stops
// after MaxErrors of them.
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

// item is a category with the line it came from.
type item struct {
	Category
	line       int
	levelGiven bool // whether the input stated the level
}

// New validates cats and builds their tree. Levels may be left 0 to be
// derived from the parents. An error is an Errors.
func New(cats []Category) (*Tree, error) {
	items := make([]item, len(cats))
	for i, c := range cats {
		items[i] = item{Category: c, levelGiven: c.Level != 0}
	}
	return build(items)
}

// validCode reports whether code may be a category code: 1 to MaxCodeLen
// letters, digits, '.', '_' or '-'.
func validCode(code string) bool {
	if code == "" || len(code) > MaxCodeLen {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkName returns what is wrong with a category name, or "".
func checkName(name string) string {
	switch {
	case name == "":
		return "name is empty"
	case !utf8.ValidString(name):
		return "name is not valid UTF-8"
	case utf8.RuneCountInString(name) > MaxNameLen:
		return fmt.Sprintf("name is longer than %d characters", MaxNameLen)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "name holds a control character"
	}
	return ""
}

// where names an item in an error message.
func (it item) where() string {
	if it.line > 0 {
		return ""
	}
	return fmt.Sprintf("category %q: ", it.Code)
}

// build validates items and makes the tree: codes well-formed and unique,
// names non-empty, parents present with codes that prefix their children's,
// levels consistent (a stated level is the parent's plus one), at most
// MaxLevels deep and sibling names unique.
func build(items []item) (*Tree, error) {
	var es Errors
	add := func(it item, format string, args ...any) bool {
		es = append(es, Error{Line: it.line, Msg: it.where() + fmt.Sprintf(format, args...)})
		return len(es) < MaxErrors
	}
	if len(items) == 0 {
		return nil, Errors{{Msg: "no categories"}}
	}
	if len(items) > MaxCategories {
		return nil, Errors{{Msg: fmt.Sprintf("%d categories, more than the %d allowed", len(items), MaxCategories)}}
	}
	byCode := make(map[string]int, len(items))
	for i := range items {
		it := &items[i]
		it.Code = strings.TrimSpace(it.Code)
		it.Parent = strings.TrimSpace(it.Parent)
		it.Name = strings.TrimSpace(it.Name)
		ok := true
		if !validCode(it.Code) {
			ok = add(*it, "code %q must be 1 to %d letters, digits, '.', '_' or '-'", it.Code, MaxCodeLen)
		} else if j, dup := byCode[it.Code]; dup {
			other := "another category"
			if items[j].line > 0 {
				other = "line " + strconv.Itoa(items[j].line)
			}
			ok = add(*it, "code %s is used by %s too", it.Code, other)
		} else {
			byCode[it.Code] = i
		}
		if msg := checkName(it.Name); msg != "" && ok {
			ok = add(*it, "%s", msg)
		}
		if !ok {
			return nil, es
		}
	}
	if len(es) > 0 {
		return nil, es
	}
	// Parents and levels. A level is derived by walking up: the prefix rule
	// (a parent's code is strictly shorter) rules out cycles.
	levels := make([]int, len(items))
	var level func(i int) int
	level = func(i int) int {
		if levels[i] != 0 {
			return levels[i]
		}
		p := items[i].Parent
		if p == "" {
			levels[i] = 1
			return 1
		}
		j, ok := byCode[p]
		if !ok || !strings.HasPrefix(items[i].Code, p) || len(p) >= len(items[i].Code) {
			return 0
		}
		if l := level(j); l > 0 {
			levels[i] = l + 1
		}
		return levels[i]
	}
	for i, it := range items {
		ok := true
		if it.Parent != "" {
			if _, exists := byCode[it.Parent]; !exists {
				ok = add(it, "parent %s of %s does not exist", it.Parent, it.Code)
			} else if !strings.HasPrefix(it.Code, it.Parent) || len(it.Parent) >= len(it.Code) {
				ok = add(it, "code %s does not extend its parent's code %s (a child's code starts with its parent's)", it.Code, it.Parent)
			}
		}
		if !ok {
			return nil, es
		}
		l := level(i)
		switch {
		case l == 0:
			// The parent's own problem is reported on its line.
		case l > MaxLevels:
			ok = add(it, "%s is at level %d; at most %d levels", it.Code, l, MaxLevels)
		case it.levelGiven && it.Level != l:
			if it.Parent == "" {
				ok = add(it, "%s has no parent, so its level is 1, not %d", it.Code, it.Level)
			} else {
				ok = add(it, "%s is under %s (level %d), so its level is %d, not %d", it.Code, it.Parent, l-1, l, it.Level)
			}
		}
		if !ok {
			return nil, es
		}
	}
	if len(es) > 0 {
		return nil, es
	}
	children := map[string][]int{}
	siblings := map[[2]string]int{}
	for i, it := range items {
		key := [2]string{it.Parent, it.Name}
		if j, dup := siblings[key]; dup {
			other := items[j].Code
			if items[j].line > 0 {
				other += " on line " + strconv.Itoa(items[j].line)
			}
			if !add(it, "name %s is used by its sibling %s too", it.Name, other) {
				return nil, es
			}
			continue
		}
		siblings[key] = i
		children[it.Parent] = append(children[it.Parent], i)
	}
	if len(es) > 0 {
		return nil, es
	}
	// Lay the tree out depth first: parents before children.
	t := &Tree{cats: make([]Category, 0, len(items)), index: make(map[string]int, len(items)), children: map[string][]int{}}
	var walk func(parent string)
	walk = func(parent string) {
		for _, i := range children[parent] {
			c := items[i].Category
			c.Level = levels[i]
			pos := len(t.cats)
			t.cats = append(t.cats, c)
			t.index[c.Code] = pos
			t.children[parent] = append(t.children[parent], pos)
			walk(c.Code)
		}
	}
	walk("")
	t.buildSearch()
	return t, nil
}

// Len returns how many categories the tree has.
func (t *Tree) Len() int { return len(t.cats) }

// All returns every category, parents before children, siblings in the order
// of the input.
func (t *Tree) All() []Category { return append([]Category(nil), t.cats...) }

// Get returns the category code.
func (t *Tree) Get(code string) (Category, bool) {
	i, ok := t.index[code]
	if !ok {
		return Category{}, false
	}
	return t.cats[i], true
}

// Children returns the children of code in order, or the first level for
// "". A leaf or an unknown code has none.
func (t *Tree) Children(code string) []Category {
	idx := t.children[code]
	out := make([]Category, len(idx))
	for i, j := range idx {
		out[i] = t.cats[j]
	}
	return out
}

// ChildCount returns how many children code has.
func (t *Tree) ChildCount(code string) int { return len(t.children[code]) }

// Path returns the categories from the first level down to code, code
// included; nil for an unknown code.
func (t *Tree) Path(code string) []Category {
	c, ok := t.Get(code)
	if !ok {
		return nil
	}
	path := make([]Category, c.Level)
	for i := c.Level - 1; i >= 0; i-- {
		path[i] = c
		c, _ = t.Get(c.Parent)
	}
	return path
}

// PathName returns the names from the first level down to code joined by
// sep, e.g. "城乡建设/城市建设和市政管理/燃气供应".
func (t *Tree) PathName(code, sep string) string {
	path := t.Path(code)
	names := make([]string, len(path))
	for i, c := range path {
		names[i] = c.Name
	}
	return strings.Join(names, sep)
}

// Depth returns the deepest level of the tree.
func (t *Tree) Depth() int {
	d := 0
	for _, c := range t.cats {
		d = max(d, c.Level)
	}
	return d
}

// CountByLevel returns how many categories each level has: [0] is the first.
func (t *Tree) CountByLevel() []int {
	out := make([]int, t.Depth())
	for _, c := range t.cats {
		out[c.Level-1]++
	}
	return out
}

// WriteCSV writes the tree in the CSV shape ParseCSV reads: a header
// code,level,name,parent and a line per category, parents first.
func (t *Tree) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"code", "level", "name", "parent"})
	for _, c := range t.cats {
		cw.Write([]string{c.Code, strconv.Itoa(c.Level), c.Name, c.Parent})
	}
	cw.Flush()
	return cw.Error()
}
