package authz

import (
	"context"

	"github.com/switchboard12345/switchboard/registry"
)

// tree is the registry's unit tree indexed for scope checks: each unit's
// parent, and each unit's subtree for compiling lists.
type tree struct {
	rev    uint64
	parent map[string]string
	snap   *registry.Snapshot
}

func newTree(s *registry.Snapshot) *tree {
	t := &tree{parent: map[string]string{}, snap: s}
	if s == nil {
		return t
	}
	t.rev = s.Revision
	units, _ := s.Units(context.Background())
	for _, u := range units {
		t.parent[u.ID] = u.Parent
	}
	return t
}

// under reports whether unit u is anc or below it. A unit the registry does
// not know is under itself only; every unit is under "*", the domain of a
// grant over the whole province.
func (t *tree) under(u, anc string) bool {
	if anc == Province {
		return true
	}
	for depth := 0; u != "" && depth < 64; depth++ {
		if u == anc {
			return true
		}
		u = t.parent[u]
	}
	return false
}

// subtree returns u and every unit below it.
func (t *tree) subtree(u string) []string {
	out := []string{u}
	if t.snap != nil {
		out = append(out, t.snap.Descendants(u)...)
	}
	return out
}
