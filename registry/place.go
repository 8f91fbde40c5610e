package registry

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Place is a name by which citizens refer to a territorial unit: its name
// without the office suffix (天河区人民政府 → 天河区), the short form of a
// city or province (广州市 → 广州) or a street (天河南街道 → 天河南街), and
// the name without its parent's (禅城区祖庙街道办事处 → 祖庙街道,
// 天河南街体育东社区居民委员会 → 体育东社区).
type Place struct {
	Name string
	// Unit is the territorial unit named; Region its region code, or the
	// nearest ancestor's when it has none (a street office inherits its
	// district's).
	Unit, Region string
	// Depth orders the kinds from the province (0) to the community (4):
	// the deeper, the more precise.
	Depth int
	// Short marks a city's or province's name without 市/省 (中山): it
	// names the place only when no road, school or park name goes on
	// (中山路, 中山大学 are not the city).
	Short bool
}

// placeDepth is the precision of each territorial kind.
var placeDepth = map[UnitKind]int{Province: 0, City: 1, District: 2, Street: 3, Community: 4}

// officeSuffixes are the endings of territorial units' names that citizens
// leave out, with what they leave in their place.
var officeSuffixes = []struct{ suffix, keep string }{
	{"人民政府", ""}, {"街道办事处", "街道"}, {"办事处", ""},
	{"社区居民委员会", "社区"}, {"居民委员会", "社区"}, {"村民委员会", "村"},
}

// notAfterShort are the words that, right after a short city name, make it
// part of another name (中山路, 中山大学).
var notAfterShort = []string{"路", "街", "道", "桥", "巷", "里", "大学", "学院", "公园", "广场", "医院", "小学", "中学", "纪念", "大厦", "花园"}

// placeIndex finds place names in a text, longest name first.
type placeIndex struct {
	places  []Place
	byFirst map[rune][]int
	// names are every name, also those shared by two units (a name of
	// two places is still a place to the entity extractor).
	names []string
	// parent maps a territorial unit to the one above it.
	parent map[string]string
}

// newPlaceIndex collects the names of the territorial units. A name shared
// by two units (two districts' streets of one name) names neither.
func newPlaceIndex(units []Unit, byID map[string]int) placeIndex {
	x := placeIndex{parent: make(map[string]string), byFirst: make(map[rune][]int)}
	region := func(id string) string {
		// Parents are listed before their children (validated), so the
		// walk ends; the bound guards an unvalidated snapshot.
		for range len(units) + 1 {
			i, ok := byID[id]
			if !ok {
				return ""
			}
			if units[i].RegionCode != "" {
				return units[i].RegionCode
			}
			id = units[i].Parent
		}
		return ""
	}
	type name struct {
		text  string
		short bool
	}
	names := make(map[string][]name, len(units)) // unit → its names
	owners := make(map[string]map[string]bool)   // name → units
	add := func(unit, text string, short bool, minRunes int) {
		if utf8.RuneCountInString(text) < minRunes || slices.ContainsFunc(names[unit], func(n name) bool { return n.text == text }) {
			return
		}
		names[unit] = append(names[unit], name{text, short})
		if owners[text] == nil {
			owners[text] = map[string]bool{}
		}
		owners[text][unit] = true
	}
	// Units come parents first, so a parent's names are known when its
	// children are named.
	for _, u := range units {
		depth, ok := placeDepth[u.Kind]
		if !ok {
			continue
		}
		if _, ok := placeDepth[unitKind(units, byID, u.Parent)]; ok {
			x.parent[u.ID] = u.Parent
		}
		// Below the district a bare two-character name (东风) is too
		// common a word to stand for the place.
		minRunes := 2
		if depth >= placeDepth[Street] {
			minRunes = 3
		}
		full := u.Name
		for _, s := range officeSuffixes {
			if n, ok := strings.CutSuffix(full, s.suffix); ok {
				full = n + s.keep
				break
			}
		}
		add(u.ID, full, false, minRunes)
		if short, ok := strings.CutSuffix(full, "街道"); ok {
			add(u.ID, short+"街", false, minRunes) // 天河南街道 → 天河南街
		}
		if u.Kind == Province || u.Kind == City {
			for _, level := range []string{"省", "市"} {
				if short, ok := strings.CutSuffix(full, level); ok {
					add(u.ID, short, true, 2)
				}
			}
		}
		for _, n := range slices.Clone(names[u.ID]) {
			for _, pn := range names[u.Parent] {
				if rest, ok := strings.CutPrefix(n.text, pn.text); ok {
					add(u.ID, rest, false, 3)
				}
			}
		}
	}
	for _, u := range units {
		for _, n := range names[u.ID] {
			x.names = append(x.names, n.text)
			if len(owners[n.text]) == 1 {
				x.places = append(x.places, Place{Name: n.text, Unit: u.ID, Region: region(u.ID), Depth: placeDepth[u.Kind], Short: n.short})
			}
		}
	}
	slices.Sort(x.names)
	x.names = slices.Compact(x.names)
	slices.SortStableFunc(x.places, func(a, b Place) int { return cmp.Compare(len(b.Name), len(a.Name)) })
	for i, p := range x.places {
		r, _ := utf8.DecodeRuneInString(p.Name)
		x.byFirst[r] = append(x.byFirst[r], i)
	}
	return x
}

func unitKind(units []Unit, byID map[string]int, id string) UnitKind {
	if i, ok := byID[id]; ok {
		return units[i].Kind
	}
	return ""
}

// find returns the places named in text, in order, without overlaps.
func (x placeIndex) find(text string) []Place {
	var out []Place
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		matched := false
		for _, pi := range x.byFirst[r] {
			p := x.places[pi]
			if !strings.HasPrefix(text[i:], p.Name) {
				continue
			}
			rest := text[i+len(p.Name):]
			if p.Short && slices.ContainsFunc(notAfterShort, func(w string) bool { return strings.HasPrefix(rest, w) }) {
				continue
			}
			out = append(out, p)
			i += len(p.Name)
			matched = true
			break
		}
		if !matched {
			i += size
		}
	}
	return out
}

// chain returns unit and its territorial ancestors, unit first.
func (x placeIndex) chain(unit string) []string {
	out := []string{unit}
	for p, ok := x.parent[unit]; ok && !slices.Contains(out, p); p, ok = x.parent[p] {
		out = append(out, p)
	}
	return out
}

// Places returns the names of the territorial units that name one unit
// each, longest first.
func (s *Snapshot) Places() []Place { return slices.Clone(s.places.places) }

// PlaceNames returns every name of a territorial unit, also those that two
// units share (a street name found in two districts): each is a place,
// though it does not say which.
func (s *Snapshot) PlaceNames() []string { return slices.Clone(s.places.names) }

// Locate returns the territorial unit a text is about, the jurisdiction a
// dispatcher would read from the caller's words: the most precise unit
// named (a community before its street, a street before its district…;
// the first named on a tie) when every other place named lies on its way
// up (广州市天河区石牌街道 → 石牌街道); when the places named do not nest
// (广州市禅城区, or two districts), the most precise unit that holds them
// all; ok is false if the text names no place, or places that only the
// root of the province holds together.
func (s *Snapshot) Locate(text string) (p Place, ok bool) {
	x := s.places
	found := x.find(text)
	if len(found) == 0 {
		return Place{}, false
	}
	best := found[0]
	for _, m := range found[1:] {
		if m.Depth > best.Depth {
			best = m
		}
	}
	up := x.chain(best.Unit)
	if !slices.ContainsFunc(found, func(m Place) bool { return !slices.Contains(up, m.Unit) }) {
		return best, true // every place named lies on the way up
	}
	common := up
	for _, m := range found {
		mine := x.chain(m.Unit)
		common = slices.DeleteFunc(common, func(u string) bool { return !slices.Contains(mine, u) })
	}
	if len(common) == 0 || len(x.chain(common[0])) == 1 {
		return Place{}, false // only the province holds them all
	}
	for _, pl := range x.places {
		if pl.Unit == common[0] && !pl.Short {
			return pl, true
		}
	}
	return Place{}, false
}
