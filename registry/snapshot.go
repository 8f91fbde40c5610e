package registry

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/internal/errs"
)

// Snapshot is the registry at one revision, indexed for routing. It is
// immutable: a change builds a new snapshot, which readers pick up by swapping
// one pointer, so a lookup never takes a lock.
type Snapshot struct {
	// Revision increases with every change to the registry.
	Revision uint64
	Province string

	units    []Unit
	unitByID map[string]int
	children map[string][]string
	hotlines map[string][]Hotline // number → its uses, ValidFrom ascending
	backends []Backend
	byUnit   map[string][]int // unit → indexes into backends
	rules    ruleIndex
	ruleList []Rule
	places   placeIndex
}

// NewSnapshot indexes a valid province file at revision rev.
func NewSnapshot(p *ProvinceFile, rev uint64) *Snapshot {
	s := &Snapshot{
		Revision: rev,
		Province: p.Name,
		units:    slices.Clone(p.Units),
		unitByID: make(map[string]int, len(p.Units)),
		children: map[string][]string{},
		hotlines: map[string][]Hotline{},
		backends: slices.Clone(p.Backends),
		byUnit:   map[string][]int{},
		rules:    newRuleIndex(p.Rules),
		ruleList: slices.Clone(p.Rules),
	}
	for i, u := range s.units {
		s.unitByID[u.ID] = i
		if u.Parent != "" {
			s.children[u.Parent] = append(s.children[u.Parent], u.ID)
		}
	}
	s.places = newPlaceIndex(s.units, s.unitByID)
	for _, h := range p.Hotlines {
		s.hotlines[h.Number] = append(s.hotlines[h.Number], h)
	}
	for _, uses := range s.hotlines {
		slices.SortFunc(uses, func(a, b Hotline) int { return a.ValidFrom.t.Compare(b.ValidFrom.t) })
	}
	for i, b := range s.backends {
		s.byUnit[b.Unit] = append(s.byUnit[b.Unit], i)
	}
	return s
}

// Unit returns the unit id, or an error of kind NotFound.
func (s *Snapshot) Unit(_ context.Context, id string) (Unit, error) {
	i, ok := s.unitByID[id]
	if !ok {
		return Unit{}, errs.E(errs.NotFound, "unit %q not found", id)
	}
	return s.units[i], nil
}

// Units returns every unit, parents before children.
func (s *Snapshot) Units(context.Context) ([]Unit, error) { return slices.Clone(s.units), nil }

// Descendants returns the ids of the units below id, depth first.
func (s *Snapshot) Descendants(id string) []string {
	var out []string
	var walk func(string)
	walk = func(p string) {
		for _, c := range s.children[p] {
			out = append(out, c)
			walk(c)
		}
	}
	walk(id)
	return out
}

// HotlineAt returns the use of number in force at t: numbers are reused, so the
// same digits may mean another line on another date.
func (s *Snapshot) HotlineAt(number string, t time.Time) (Hotline, bool) {
	uses := s.hotlines[number]
	for i := len(uses) - 1; i >= 0; i-- {
		if uses[i].ValidAt(t) {
			return uses[i], true
		}
	}
	return Hotline{}, false
}

// Hotlines returns every use of every number, by number.
func (s *Snapshot) Hotlines() []Hotline {
	var out []Hotline
	for _, uses := range s.hotlines {
		out = append(out, uses...)
	}
	slices.SortFunc(out, func(a, b Hotline) int {
		if c := strings.Compare(a.Number, b.Number); c != 0 {
			return c
		}
		return a.ValidFrom.t.Compare(b.ValidFrom.t)
	})
	return out
}

// Backends returns every backend.
func (s *Snapshot) Backends() []Backend { return slices.Clone(s.backends) }

// BackendFor returns the backend that delivers unit's work orders of category:
// the one whose category prefix matches longest, else the unit's backend
// without categories.
func (s *Snapshot) BackendFor(unit, category string) (Backend, bool) {
	best, bestLen := -1, -1
	for _, i := range s.byUnit[unit] {
		b := &s.backends[i]
		if len(b.Categories) == 0 {
			if bestLen < 0 {
				best, bestLen = i, 0
			}
			continue
		}
		for _, p := range b.Categories {
			if strings.HasPrefix(category, p) && len(p) > bestLen {
				best, bestLen = i, len(p)
			}
		}
	}
	if best < 0 {
		return Backend{}, false
	}
	return s.backends[best], true
}
