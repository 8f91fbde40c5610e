package authz

import (
	"fmt"
	"slices"
	"strings"
)

// Actions a policy may allow. Deny is the default: an action is allowed only
// when a policy line allows it.
const (
	View          = "view"           // see a ticket (personal data masked)
	ViewPII       = "view_pii"       // see a ticket's caller phone and ID number
	Create        = "create"         // file a request at intake
	Dispatch      = "dispatch"       // route a received ticket: dispatch, answer at the desk, reclassify
	Sign          = "sign"           // sign a dispatched ticket; claim and ack a unit's inbox
	Return        = "return"         // return a ticket to the centre
	Reply         = "reply"          // reply to a ticket being handled
	Extend        = "extend"         // ask for more time
	Supervise     = "supervise"      // supervise (督办) and decide extension requests
	Close         = "close"          // the centre's close-out: visit, reopen, close
	ReadStats     = "read_stats"     // read aggregates (counts, dispatch health)
	AdminRegistry = "admin_registry" // manage the registry of hotlines, units and backends
	AdminPolicy   = "admin_policy"   // manage principals, tokens and policies; read the audit log
)

// Actions lists every action, in a stable order.
var Actions = []string{View, ViewPII, Create, Dispatch, Sign, Return, Reply, Extend, Supervise, Close, ReadStats, AdminRegistry, AdminPolicy}

// Province is the domain of a grant over the whole province ("g, u-zhang,
// operator, *"): every unit is in its subtree. It is how the first
// administrator is granted while the registry is still empty.
const Province = "*"

// Scopes say which objects a policy line covers, relative to the unit (the
// Casbin domain) in which the principal holds the role.
const (
	// ScopeAll covers every object: the whole province.
	ScopeAll = "*"
	// ScopeSubtree covers tickets whose handling or a co-handling unit is the
	// domain or below it (a district sees its streets'), and unit objects
	// (inboxes, a unit's aggregates) of the domain or below it.
	ScopeSubtree = "subtree"
	// ScopeUnit covers tickets the domain handles or co-handles itself (an
	// expert group sees tickets transferred to it) and the domain's own unit
	// object.
	ScopeUnit = "unit"
	// ScopeHandler covers tickets the domain is the handling unit of, and the
	// domain's own unit object: signing and replying belong to the handler.
	ScopeHandler = "handler"
	// ScopeCategory ("category:0203") covers tickets whose category code
	// starts with the prefix, whatever their region: a department granted its
	// categories across the province.
	ScopeCategory = "category:"
	// ScopeGranted covers tickets whose category code starts with one of the
	// prefixes granted to the domain by g2 lines ("g2, gd-samr, 1104"), whatever
	// their region: one line serves every department's grants.
	ScopeGranted = "granted"
)

// ValidAction reports whether a is a known action.
func ValidAction(a string) bool { return slices.Contains(Actions, a) }

// ValidScope checks a policy line's object field.
func ValidScope(s string) error {
	switch s {
	case ScopeAll, ScopeSubtree, ScopeUnit, ScopeHandler, ScopeGranted:
		return nil
	}
	if p, ok := strings.CutPrefix(s, ScopeCategory); ok {
		if p == "" || strings.ContainsAny(p, " ,*") {
			return fmt.Errorf("category scope %q needs a category code prefix, e.g. category:0203", s)
		}
		return nil
	}
	return fmt.Errorf("unknown scope %q (want *, subtree, unit, handler, granted or category:<code prefix>)", s)
}

// Object kinds.
const (
	// KindTicket is a work order.
	KindTicket = "ticket"
	// KindUnit is something that belongs to one unit: its inbox, its
	// aggregates.
	KindUnit = "unit"
	// KindSystem is the province as a whole: intake, the registry, policies,
	// dispatch health. Only ScopeAll covers it.
	KindSystem = "system"
)

// Object is what a request acts on, as the model's matcher sees it (r.obj).
type Object struct {
	Kind string
	// Units are a ticket's handling unit (first) and co-handling units, or
	// the one unit of a unit object.
	Units []string
	// Category is a ticket's category code.
	Category string
}

// TicketObject describes a ticket for a check.
func TicketObject(handlingUnit string, coHandling []string, category string) Object {
	units := make([]string, 0, 1+len(coHandling))
	units = append(units, handlingUnit)
	units = append(units, coHandling...)
	return Object{Kind: KindTicket, Units: units, Category: category}
}

// UnitObject describes something of unit u.
func UnitObject(u string) Object { return Object{Kind: KindUnit, Units: []string{u}} }

// SystemObject is the province as a whole.
func SystemObject() Object { return Object{Kind: KindSystem} }

// inScope is the model's scope(r.obj, r.dom, p.obj): whether the policy's
// scope, held in domain dom, covers o.
func inScope(t *tree, cats map[string][]string, o *Object, dom, scope string) bool {
	switch scope {
	case ScopeAll:
		return true
	case ScopeGranted:
		if o.Kind != KindTicket {
			return false
		}
		for _, p := range cats[dom] {
			if strings.HasPrefix(o.Category, p) {
				return true
			}
		}
		return false
	case ScopeSubtree:
		if o.Kind == KindSystem {
			return false
		}
		if dom == Province {
			return true // every ticket and unit of the province, routed or not
		}
		for _, u := range o.Units {
			if u != "" && t.under(u, dom) {
				return true
			}
		}
		return false
	case ScopeUnit:
		if o.Kind == KindSystem {
			return false
		}
		return dom != "" && slices.Contains(o.Units, dom)
	case ScopeHandler:
		return o.Kind != KindSystem && len(o.Units) > 0 && dom != "" && o.Units[0] == dom
	}
	if p, ok := strings.CutPrefix(scope, ScopeCategory); ok {
		return o.Kind == KindTicket && p != "" && strings.HasPrefix(o.Category, p)
	}
	return false
}
