// Package registry is the record of the province's organisation and its hotline
// merger: the units of the org tree (province → city → district → street →
// community, plus departments, public-service enterprises and expert-seat groups)
// that work orders are dispatched to. The Registry interface is what the gateway
// reads; Province is the file format an administrator writes.
package registry

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/switchboard12345/switchboard/internal/errs"
)

// UnitKind says what a unit is.
type UnitKind string

// The unit kinds.
const (
	Province    UnitKind = "province"
	City        UnitKind = "city"
	District    UnitKind = "district"
	Street      UnitKind = "street" // street or town (街道/乡镇)
	Community   UnitKind = "community"
	Centre      UnitKind = "centre"      // a 12345 hotline centre
	Department  UnitKind = "department"  // a government department (职能部门)
	Enterprise  UnitKind = "enterprise"  // a public-service enterprise (水、电、气、热、通信)
	ExpertGroup UnitKind = "expertGroup" // an expert-seat group of a sub-centre
)

var unitKinds = []UnitKind{Province, City, District, Street, Community, Centre, Department, Enterprise, ExpertGroup}

// Unit is one node of the org tree.
type Unit struct {
	// ID is stable and unique, e.g. "gz-tianhe" or "gd-samr".
	ID   string   `yaml:"id"`
	Name string   `yaml:"name"`
	Kind UnitKind `yaml:"kind"`
	// Parent is the id of the unit above; empty only for the root.
	Parent string `yaml:"parent,omitempty"`
	// RegionCode is the administrative division code (GB/T 2260) the unit
	// covers, for territorial units and local departments.
	RegionCode string `yaml:"region,omitempty"`
}

// Registry answers questions about units.
type Registry interface {
	// Unit returns the unit id, or an error of kind NotFound.
	Unit(ctx context.Context, id string) (Unit, error)
	// Units returns every unit, parents before children.
	Units(ctx context.Context) ([]Unit, error)
}

// ProvinceFile is the YAML an administrator writes to describe a province.
type ProvinceFile struct {
	// Name of the province, e.g. 广东省.
	Name  string `yaml:"name"`
	Units []Unit `yaml:"units"`
}

// LoadProvince decodes and validates a province file. Unknown keys are errors.
func LoadProvince(r io.Reader) (*ProvinceFile, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var p ProvinceFile
	if err := dec.Decode(&p); err != nil {
		return nil, errs.E(errs.Invalid, "decoding province: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks ids, kinds and the tree shape, naming the bad key.
func (p *ProvinceFile) Validate() error {
	var v errs.Violations
	if strings.TrimSpace(p.Name) == "" {
		v.Add("name", "required")
	}
	index := map[string]int{}
	roots := 0
	for i, u := range p.Units {
		at := fmt.Sprintf("units[%d]", i)
		switch {
		case u.ID == "":
			v.Add(at+".id", "required")
		case strings.ContainsAny(u.ID, " \t\n/,"):
			v.Add(at+".id", "must not contain spaces, slashes or commas: %q", u.ID)
		}
		if j, dup := index[u.ID]; dup && u.ID != "" {
			v.Add(at+".id", "duplicate of units[%d]: %q", j, u.ID)
		}
		index[u.ID] = i
		if u.Name == "" {
			v.Add(at+".name", "required")
		}
		if !slices.Contains(unitKinds, u.Kind) {
			v.Add(at+".kind", "unknown kind %q", u.Kind)
		}
		if u.Parent == "" {
			roots++
		}
	}
	if len(p.Units) > 0 && roots != 1 {
		v.Add("units", "must have exactly one root (a unit without parent), found %d", roots)
	}
	for i, u := range p.Units {
		if u.Parent == "" {
			continue
		}
		j, ok := index[u.Parent]
		if !ok {
			v.Add(fmt.Sprintf("units[%d].parent", i), "unknown unit %q", u.Parent)
			continue
		}
		if j > i {
			v.Add(fmt.Sprintf("units[%d].parent", i), "unit %q must be listed before its children", u.Parent)
		}
	}
	return v.Err()
}
