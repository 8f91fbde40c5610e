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
}

// placeDepth is the precision of each territorial kind.
var placeDepth = map[UnitKind]int{Province: 0, City: 1, District: 2, Street: 3, Community: 4}

// officeSuffixes are the endings of territorial units' names that citizens
// leave out.
var officeSuffixes = []string{"人民政府", "街道办事处", "办事处", "居民委员会", "村民委员会"}

// placeIndex finds place names in a text, longest name first.
type placeIndex struct {
	places  []Place
	byFirst map[rune][]int
}

// newPlaceIndex collects the names of the territorial units. A name shared
// by two units (two districts' streets of one name) names neither.
func newPlaceIndex(units []Unit, byID map[string]int) placeIndex {
	region := func(id string) string {
		for id != "" {
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
	names := make(map[string][]string, len(units)) // unit → its names
	owners := make(map[string]map[string]bool)     // name → units
	add := func(unit, name string) {
		if utf8.RuneCountInString(name) < 2 || slices.Contains(names[unit], name) {
			return
		}
		names[unit] = append(names[unit], name)
		if owners[name] == nil {
			owners[name] = map[string]bool{}
		}
		owners[name][unit] = true
	}
	// Units come parents first (Units' order), so a parent's names are
	// known when its children are named.
	for _, u := range units {
		if _, ok := placeDepth[u.Kind]; !ok {
			continue
		}
		name := u.Name
		for _, s := range officeSuffixes {
			if n, ok := strings.CutSuffix(name, s); ok {
				if s == "街道办事处" {
					n += "街道"
				}
				name = n
				break
			}
		}
		add(u.ID, name)
		if short, ok := strings.CutSuffix(name, "街道"); ok {
			add(u.ID, short+"街") // 天河南街道 → 天河南街
		}
		if u.Kind == Province || u.Kind == City {
			for _, level := range []string{"省", "市"} {
				if short, ok := strings.CutSuffix(name, level); ok {
					add(u.ID, short)
				}
			}
		}
		for _, n := range slices.Clone(names[u.ID]) {
			for _, pn := range names[u.Parent] {
				if rest, ok := strings.CutPrefix(n, pn); ok && utf8.RuneCountInString(rest) >= 3 {
					add(u.ID, rest)
				}
			}
		}
	}
	var x placeIndex
	for _, u := range units {
		for _, n := range names[u.ID] {
			if len(owners[n]) == 1 {
				x.places = append(x.places, Place{Name: n, Unit: u.ID, Region: region(u.ID), Depth: placeDepth[u.Kind]})
			}
		}
	}
	slices.SortStableFunc(x.places, func(a, b Place) int { return cmp.Compare(len(b.Name), len(a.Name)) })
	x.byFirst = make(map[rune][]int)
	for i, p := range x.places {
		r, _ := utf8.DecodeRuneInString(p.Name)
		x.byFirst[r] = append(x.byFirst[r], i)
	}
	return x
}

// find returns the places named in text, in order, without overlaps.
func (x placeIndex) find(text string) []Place {
	var out []Place
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		matched := false
		for _, pi := range x.byFirst[r] {
			if p := x.places[pi]; strings.HasPrefix(text[i:], p.Name) {
				out = append(out, p)
				i += len(p.Name)
				matched = true
				break
			}
		}
		if !matched {
			i += size
		}
	}
	return out
}

// Places returns every name of the territorial units, longest first.
func (s *Snapshot) Places() []Place { return slices.Clone(s.places.places) }

// Locate returns the most precise territorial unit a text names (a
// community before its street, a street before its district…; the first
// named on a tie), the jurisdiction a dispatcher would read from the
// caller's words; ok is false if the text names none.
func (s *Snapshot) Locate(text string) (p Place, ok bool) {
	for _, m := range s.places.find(text) {
		if !ok || m.Depth > p.Depth {
			p, ok = m, true
		}
	}
	return p, ok
}
