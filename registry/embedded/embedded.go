// Package embedded is the registry for a single node: the province held in
// memory, loaded from a province file.
package embedded

import (
	"context"
	"slices"

	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/registry"
)

// Registry is an in-memory registry. It is read-only and safe for concurrent use.
type Registry struct {
	units []registry.Unit
	byID  map[string]registry.Unit
}

// New returns a registry of the units of p, which must be valid.
func New(p *registry.ProvinceFile) *Registry {
	r := &Registry{units: slices.Clone(p.Units), byID: make(map[string]registry.Unit, len(p.Units))}
	for _, u := range p.Units {
		r.byID[u.ID] = u
	}
	return r
}

// Unit implements registry.Registry.
func (r *Registry) Unit(_ context.Context, id string) (registry.Unit, error) {
	u, ok := r.byID[id]
	if !ok {
		return registry.Unit{}, errs.E(errs.NotFound, "unit %q not found", id)
	}
	return u, nil
}

// Units implements registry.Registry.
func (r *Registry) Units(context.Context) ([]registry.Unit, error) { return slices.Clone(r.units), nil }
