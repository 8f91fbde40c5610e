package classify

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Place is one name in a gazetteer: a place, or an alias of one, that lies
// in a region (the jurisdiction a dispatcher would route it to).
type Place struct {
	Name   string `json:"name"`
	Region string `json:"region"`
	// Level says what the name denotes: "region" (the jurisdiction
	// itself, e.g. a county), "town" (a town, street office or village
	// inside it) or "city" (the level above the regions, e.g. the city
	// proper); Region is empty for "city".
	Level string `json:"level"`
}

// Gazetteer finds place names in texts and turns them into features
// describing the jurisdiction a message is about: which regions it names,
// whether it names a town inside one, or only the city, or no place at all.
// A deployment builds it from its registry's unit regions; the package's
// tests ship one for Shangluo (testdata/shangluo_gazetteer.tsv).
type Gazetteer struct {
	Places []Place `json:"places"`
	// byFirst indexes names by their first character, longest first.
	byFirst map[rune][]int
	// ambiguous names lie in more than one region: they count as a town
	// but name no region.
	ambiguous map[string]bool
}

// Gazetteer levels.
const (
	LevelRegion = "region"
	LevelTown   = "town"
	LevelCity   = "city"
)

// NewGazetteer indexes places. A name listed in several regions is kept as
// ambiguous.
func NewGazetteer(places []Place) (*Gazetteer, error) {
	g := &Gazetteer{}
	regions := make(map[string]map[string]bool)
	for i, p := range places {
		p.Name = strings.TrimSpace(p.Name)
		if p.Name == "" {
			return nil, fmt.Errorf("gazetteer: place %d has no name", i+1)
		}
		switch p.Level {
		case LevelRegion, LevelTown:
			if p.Region == "" {
				return nil, fmt.Errorf("gazetteer: place %q (level %s) has no region", p.Name, p.Level)
			}
		case LevelCity:
		default:
			return nil, fmt.Errorf("gazetteer: place %q: level %q is not region, town or city", p.Name, p.Level)
		}
		if regions[p.Name] == nil {
			regions[p.Name] = make(map[string]bool)
		}
		if !regions[p.Name][p.Region] {
			regions[p.Name][p.Region] = true
			g.Places = append(g.Places, p)
		}
	}
	g.index(regions)
	return g, nil
}

func (g *Gazetteer) index(regions map[string]map[string]bool) {
	g.byFirst = make(map[rune][]int)
	g.ambiguous = make(map[string]bool)
	if regions == nil {
		regions = make(map[string]map[string]bool)
		for _, p := range g.Places {
			if regions[p.Name] == nil {
				regions[p.Name] = make(map[string]bool)
			}
			regions[p.Name][p.Region] = true
		}
	}
	for name, rs := range regions {
		if len(rs) > 1 {
			g.ambiguous[name] = true
		}
	}
	for i, p := range g.Places {
		r, _ := utf8.DecodeRuneInString(p.Name)
		g.byFirst[r] = append(g.byFirst[r], i)
	}
	for r, idx := range g.byFirst {
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(len(g.Places[b].Name), len(g.Places[a].Name)) })
		g.byFirst[r] = idx
	}
}

// ReadGazetteer reads a gazetteer in its text form: one line per place,
// tab-separated level, region and names (a comma-separated list: the name
// and its aliases); "city" lines leave the region empty. Blank lines and
// lines starting with # are skipped.
func ReadGazetteer(r io.Reader) (*Gazetteer, error) {
	var places []Place
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Split(s, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("gazetteer line %d: want 3 tab-separated fields (level, region, names), have %d", line, len(f))
		}
		for _, n := range strings.Split(f[2], ",") {
			if n = strings.TrimSpace(n); n != "" {
				places = append(places, Place{Name: n, Region: strings.TrimSpace(f[1]), Level: strings.TrimSpace(f[0])})
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading gazetteer: %w", err)
	}
	if len(places) == 0 {
		return nil, fmt.Errorf("gazetteer: no places")
	}
	return NewGazetteer(places)
}

// Mention is a place found in a text.
type Mention struct {
	Place
	Ambiguous bool
}

// Find returns the places named in text, in order, longest name first at
// each position and without overlaps.
func (g *Gazetteer) Find(text string) []Mention {
	var out []Mention
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		matched := false
		for _, pi := range g.byFirst[r] {
			p := g.Places[pi]
			if strings.HasPrefix(text[i:], p.Name) {
				out = append(out, Mention{Place: p, Ambiguous: g.ambiguous[p.Name]})
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

// Region returns the region a text is most about: the one named most often
// (counting towns inside it), the earliest named on a tie; "" if none.
func (g *Gazetteer) Region(text string) string {
	count := make(map[string]int)
	first := make(map[string]int)
	for i, m := range g.Find(text) {
		if m.Region == "" || m.Ambiguous {
			continue
		}
		if _, ok := first[m.Region]; !ok {
			first[m.Region] = i
		}
		count[m.Region]++
	}
	best := ""
	for r, n := range count {
		if best == "" || n > count[best] || n == count[best] && first[r] < first[best] {
			best = r
		}
	}
	return best
}

// Tokens are the gazetteer's features of a text: "gz:region:R" for each
// region named (directly or through a town), "gz:main:R" for Region,
// "gz:town" if a town is named, "gz:city" if the city level is,
// "gz:regions:N" (0, 1 or 2+ regions) and "gz:none" when no place is named.
func (g *Gazetteer) Tokens(text string) []string {
	if g == nil {
		return nil
	}
	ms := g.Find(text)
	if len(ms) == 0 {
		return []string{"gz:none", "gz:regions:0"}
	}
	var out []string
	seen := make(map[string]bool)
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	regions := 0
	for _, m := range ms {
		switch {
		case m.Level == LevelCity:
			add("gz:city")
		case m.Level == LevelTown:
			add("gz:town")
		}
		if m.Region != "" && !m.Ambiguous && !seen["gz:region:"+m.Region] {
			regions++
			add("gz:region:" + m.Region)
		}
	}
	if r := g.Region(text); r != "" {
		add("gz:main:" + r)
	}
	switch {
	case regions == 0:
		add("gz:regions:0")
	case regions == 1:
		add("gz:regions:1")
	default:
		add("gz:regions:2+")
	}
	return out
}
