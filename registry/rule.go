package registry

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/switchboard12345/switchboard/internal/errs"
)

// Rule routes work orders of a category, optionally within a region, to a
// unit: "食品药品监管 (1204) in 广州 (4401) → gz-samr". Routing picks the most
// specific rule: the longest matching category prefix first, then the longest
// matching region prefix; a rule without region matches every region.
type Rule struct {
	// Category is a category code prefix of 2 to 12 digits, even length
	// (the taxonomy's levels are two digits each), e.g. "1204".
	Category string `yaml:"category" json:"category"`
	// Region is a GB/T 2260 code or code prefix, e.g. "4401" or "440106";
	// empty matches every region. A 6-digit code ending in 00 stands for the
	// division it names ("440100" is 广州 and matches "440106" too).
	Region string `yaml:"region,omitempty" json:"region,omitempty"`
	// Unit receives the work orders the rule matches.
	Unit string `yaml:"unit" json:"unit"`
	// Note says why, for administrators.
	Note string `yaml:"note,omitempty" json:"note,omitempty"`
}

// regionPrefix returns the prefix a rule's region matches: trailing "00"
// pairs of a code of at most 6 digits are dropped ("440100" → "4401",
// "440000" → "44"); longer (township, village) codes are used as given.
func regionPrefix(r string) string {
	if len(r) > 6 {
		return r
	}
	for len(r) > 2 && r[len(r)-2:] == "00" {
		r = r[:len(r)-2]
	}
	return r
}

// digits reports whether s is made of ASCII digits only.
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validRuleCategory(c string) bool {
	return len(c) >= 2 && len(c) <= 12 && len(c)%2 == 0 && digits(c)
}

func validRuleRegion(r string) bool {
	return r == "" || (len(r) >= 2 && len(r) <= 12 && digits(r))
}

func (p *ProvinceFile) validateRules(v *errs.Violations, units map[string]int) {
	type key struct{ category, region string }
	seen := map[key]int{}
	for i, r := range p.Rules {
		at := fmt.Sprintf("rules[%d]", i)
		ok := true
		if !validRuleCategory(r.Category) {
			v.Add(at+".category", "must be a category code prefix of 2 to 12 digits, even length; got %q", r.Category)
			ok = false
		}
		if !validRuleRegion(r.Region) {
			v.Add(at+".region", "must be a GB/T 2260 code or code prefix of 2 to 12 digits, or empty; got %q", r.Region)
			ok = false
		}
		switch {
		case r.Unit == "":
			v.Add(at+".unit", "required")
		default:
			if _, known := units[r.Unit]; !known {
				v.Add(at+".unit", "unknown unit %q", r.Unit)
			}
		}
		if !ok {
			continue
		}
		k := key{r.Category, regionPrefix(r.Region)}
		if j, dup := seen[k]; dup {
			v.Add(at+".region", "rules[%d] matches the same category %q and region %q: one of them must go", j, r.Category, cmp.Or(r.Region, "(any)"))
			continue
		}
		seen[k] = i
	}
}

// ruleIndex is the routing rules indexed for Route: category prefix → the
// rules with that prefix, longest region prefix first.
type ruleIndex map[string][]indexedRule

type indexedRule struct {
	region string // normalised by regionPrefix
	unit   string
}

func newRuleIndex(rules []Rule) ruleIndex {
	idx := ruleIndex{}
	for _, r := range rules {
		idx[r.Category] = append(idx[r.Category], indexedRule{region: regionPrefix(r.Region), unit: r.Unit})
	}
	for _, rs := range idx {
		slices.SortStableFunc(rs, func(a, b indexedRule) int { return len(b.region) - len(a.region) })
	}
	return idx
}

// Route returns the unit the most specific routing rule sends work orders of
// category in region to: the rule with the longest category prefix of
// category, and among those the longest region prefix of region (a rule
// without region matches any). ok is false when no rule matches. It does
// not allocate.
func (s *Snapshot) Route(category, region string) (unit string, ok bool) {
	if len(s.rules) == 0 {
		return "", false
	}
	for n := min(len(category), 12); n >= 2; n-- {
		for _, r := range s.rules[category[:n]] {
			if len(r.region) <= len(region) && region[:len(r.region)] == r.region {
				return r.unit, true
			}
		}
	}
	return "", false
}

// Rules returns the routing rules as the province file lists them.
func (s *Snapshot) Rules() []Rule { return slices.Clone(s.ruleList) }
