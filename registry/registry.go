// Package registry is the record of the province's organisation and its hotline
// merger: the units of the org tree (province → city → district → street →
// community, plus departments, public-service enterprises and expert-seat groups)
// that work orders are dispatched to. The Registry interface is what the gateway
// reads; Province is the file format an administrator writes.
package registry

import (
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

// ProvinceFile is the YAML an administrator writes to describe a province:
// its units, its legacy hotlines, the backends of its departments and the
// routing rules that send work orders to units by category and region.
type ProvinceFile struct {
	// Name of the province, e.g. 广东省.
	Name     string    `yaml:"name"`
	Units    []Unit    `yaml:"units"`
	Hotlines []Hotline `yaml:"hotlines,omitempty"`
	Backends []Backend `yaml:"backends,omitempty"`
	// Rules route work orders by category and region to units; see Rule.
	Rules []Rule `yaml:"rules,omitempty"`
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
		if strings.TrimSpace(u.Name) != u.Name || u.Name == "" {
			v.Add(at+".name", "required, without leading or trailing spaces: %q", u.Name)
		}
		if u.RegionCode != "" && !IsRegionCode(u.RegionCode) {
			v.Add(at+".region", "must be 6, 9 or 12 digits (GB/T 2260, with the township and village levels): %q", u.RegionCode)
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
	p.validateHotlines(&v, index)
	p.validateBackends(&v, index)
	p.validateRules(&v, index)
	for i, u := range p.Units {
		if u.Parent == "" {
			continue
		}
		j, ok := index[u.Parent]
		if !ok {
			v.Add(fmt.Sprintf("units[%d].parent", i), "unknown unit %q", u.Parent)
			continue
		}
		if j >= i {
			v.Add(fmt.Sprintf("units[%d].parent", i), "unit %q must be listed before its children (and a unit is not its own parent)", u.Parent)
		}
	}
	return v.Err()
}

func (p *ProvinceFile) validateHotlines(v *errs.Violations, units map[string]int) {
	unitRef := func(at, id string, kinds ...UnitKind) {
		i, ok := units[id]
		switch {
		case !ok:
			v.Add(at, "unknown unit %q", id)
		case len(kinds) > 0 && !slices.Contains(kinds, p.Units[i].Kind):
			v.Add(at, "unit %q is a %s, want %v", id, p.Units[i].Kind, kinds)
		}
	}
	for i, h := range p.Hotlines {
		at := fmt.Sprintf("hotlines[%d]", i)
		if !validNumber(h.Number) {
			v.Add(at+".number", "must be 3 to 8 digits, got %q", h.Number)
		}
		if strings.TrimSpace(h.Name) == "" {
			v.Add(at+".name", "required")
		}
		if h.Department == "" {
			v.Add(at+".department", "required")
		} else {
			unitRef(at+".department", h.Department)
		}
		if !slices.Contains(modes, h.Mode) {
			v.Add(at+".mode", "unknown mode %q", h.Mode)
		}
		if !slices.Contains(statuses, h.Status) {
			v.Add(at+".status", "unknown status %q", h.Status)
		} else if err := statusFitsMode(h.Mode, h.Status); err != nil {
			v.Add(at+".status", "%v", err)
		}
		if h.HandlingUnit != "" {
			unitRef(at+".handlingUnit", h.HandlingUnit)
		} else if h.Mode != EmergencyLinkage && h.Mode != Independent {
			v.Add(at+".handlingUnit", "required for a line that 12345 answers")
		}
		if h.ExpertGroup != "" {
			unitRef(at+".expertGroup", h.ExpertGroup, ExpertGroup)
		} else if h.Mode == SubCentre {
			v.Add(at+".expertGroup", "required for a sub-centre")
		}
		if !h.ValidTo.IsZero() && !h.ValidFrom.Before(h.ValidTo) {
			v.Add(at+".validTo", "must be after validFrom")
		}
		switch h.Confidence {
		case "", "high", "medium", "low", "unknown":
		default:
			v.Add(at+".confidence", "one of high, medium, low, unknown; got %q", h.Confidence)
		}
		for j, o := range p.Hotlines[:i] {
			if o.Number == h.Number && overlaps(o, h) {
				v.Add(at+".validFrom", "number %s is already in use in hotlines[%d] over the same dates", h.Number, j)
			}
		}
	}
}

func (p *ProvinceFile) validateBackends(v *errs.Violations, units map[string]int) {
	seen := map[string]int{}
	for i, b := range p.Backends {
		at := fmt.Sprintf("backends[%d]", i)
		if b.ID == "" {
			v.Add(at+".id", "required")
		} else if j, dup := seen[b.ID]; dup {
			v.Add(at+".id", "duplicate of backends[%d]: %q", j, b.ID)
		}
		seen[b.ID] = i
		if _, ok := units[b.Unit]; !ok {
			v.Add(at+".unit", "unknown unit %q", b.Unit)
		}
		if !slices.Contains(BackendKinds, b.Kind) {
			v.Add(at+".kind", "unknown kind %q; one of %s", b.Kind, strings.Join(BackendKinds, ", "))
		}
		if b.Kind != "manual" && len(b.Endpoints) == 0 && b.Service == "" {
			v.Add(at+".endpoints", "a %s backend needs endpoints or a Consul service", b.Kind)
		}
		if len(b.Endpoints) > 0 && b.Service != "" {
			v.Add(at+".service", "give endpoints or a service, not both")
		}
		if b.MaxInFlight < 0 {
			v.Add(at+".maxInFlight", "must not be negative")
		}
		if b.Timeout < 0 {
			v.Add(at+".timeout", "must not be negative")
		}
	}
}

// validNumber reports whether n looks like a hotline number: 3 to 8 digits.
func validNumber(n string) bool {
	if len(n) < 3 || len(n) > 8 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return false
		}
	}
	return true
}

// overlaps reports whether two uses of a number share a day.
func overlaps(a, b Hotline) bool {
	aEndsBeforeB := !a.ValidTo.IsZero() && !b.ValidFrom.IsZero() && !b.ValidFrom.Before(a.ValidTo)
	bEndsBeforeA := !b.ValidTo.IsZero() && !a.ValidFrom.IsZero() && !a.ValidFrom.Before(b.ValidTo)
	return !aEndsBeforeB && !bEndsBeforeA
}

// IsRegionCode reports whether s is an administrative division code
// (GB/T 2260 and its township and village extensions): 6 digits (county
// level), 9 (township) or 12 (village).
func IsRegionCode(s string) bool {
	if len(s) != 6 && len(s) != 9 && len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
