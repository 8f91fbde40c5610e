// Package authz decides who may do what to which ticket: a Casbin model
// (github.com/casbin/casbin/v2) of RBAC with domains over the registry's unit
// tree, with conditions on ticket attributes, and policies kept in the
// project's store. It answers single checks (Allowed), compiles a principal's
// view of the tickets into a store filter for lists (Filter), explains the
// policy (WhoCan, Explain), and keeps every instance's policy current: a
// change committed by any instance is loaded here from the store's
// notification (or, failing that, its poll) and swapped in only if it is newer
// than the one in force, so a slow stale load never overwrites a newer one.
package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
)

// Options configure an Authorizer.
type Options struct {
	Store store.Auth
	// Units returns the registry's current snapshot: the unit tree.
	Units func() *registry.Snapshot
	// Model is the Casbin model text; empty means deploy/examples/model.conf.
	Model  string
	Logger *slog.Logger
	// PollEvery is how often the watcher checks the store's policy revision
	// when no notification arrives (default 500ms).
	PollEvery time.Duration
}

// Authorizer enforces the policy. It is safe for concurrent use.
type Authorizer struct {
	o     Options
	model string

	mu    sync.Mutex // serialises swaps
	cur   atomic.Pointer[state]
	trees atomic.Pointer[tree]
	// loaded, if set, is called after each swap with the new revision (tests).
	loaded func(rev int64)
}

// state is one loaded policy: immutable once built.
type state struct {
	rev    int64
	e      *casbin.Enforcer
	rules  []store.Rule
	grants map[string][]Grant // principal → its role grants
	lines  map[string][]Line  // role → its policy lines
	// cats are the category code prefixes granted to each unit (g2 lines).
	cats   map[string][]string
	shards map[shardKey]*casbin.Enforcer
	held   map[string][]held // principal → roles by unit
}

// Grant is a role held in a unit: a "g" line.
type Grant struct {
	Principal, Role, Unit string
}

// Line is a policy line: a "p" line.
type Line struct {
	Role, Unit, Scope, Action string
}

// New loads the policy from the store.
func New(ctx context.Context, o Options) (*Authorizer, error) {
	if o.Store == nil || o.Units == nil {
		return nil, errors.New("authz: Store and Units are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PollEvery <= 0 {
		o.PollEvery = 500 * time.Millisecond
	}
	a := &Authorizer{o: o, model: o.Model}
	if a.model == "" {
		a.model = examples.Model
	}
	if _, err := model.NewModelFromString(a.model); err != nil {
		return nil, fmt.Errorf("authz: the model: %w", err)
	}
	if _, err := a.Reload(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// tree returns the unit tree of the registry's current snapshot.
func (a *Authorizer) tree() *tree {
	s := a.o.Units()
	t := a.trees.Load()
	if t != nil && t.snap == s {
		return t
	}
	t = newTree(s)
	a.trees.Store(t)
	return t
}

// Revision is the policy revision in force here.
func (a *Authorizer) Revision() int64 { return a.cur.Load().rev }

// Reload loads the policy from the store and puts it in force unless a newer
// or equal revision already is. It returns the revision in force.
func (a *Authorizer) Reload(ctx context.Context) (int64, error) {
	ad := &Adapter{Store: a.o.Store, ctx: ctx}
	st, err := a.build(ad)
	if err != nil {
		return 0, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if cur := a.cur.Load(); cur != nil && cur.rev >= st.rev {
		return cur.rev, nil // a newer (or the same) policy won the race
	}
	a.cur.Store(st)
	if a.loaded != nil {
		a.loaded(st.rev)
	}
	return st.rev, nil
}

// build makes the enforcers from what the adapter loads: one with every
// line (for explanations), and one per action and role holding only that
// role's lines for that action, all sharing one role manager. A check asks
// only the enforcers of the roles the principal holds, so it evaluates a
// line or two instead of the whole policy (TestShardedEqualsFull checks that
// the decisions are the same as the full enforcer's).
func (a *Authorizer) build(ad *Adapter) (*state, error) {
	m, err := model.NewModelFromString(a.model)
	if err != nil {
		return nil, err
	}
	full, err := casbin.NewEnforcer(m, ad)
	if err != nil {
		return nil, fmt.Errorf("authz: loading the policy: %w", err)
	}
	st := &state{rev: ad.revision, rules: ad.rules, grants: map[string][]Grant{}, lines: map[string][]Line{},
		cats: map[string][]string{}, shards: map[shardKey]*casbin.Enforcer{}, held: map[string][]held{}}
	a.prepare(full, st)
	st.e = full
	perShard := map[shardKey][][]string{}
	for _, r := range ad.rules {
		v := r.Values
		switch {
		case r.PType == "g" && len(v) >= 3:
			st.grants[v[0]] = append(st.grants[v[0]], Grant{Principal: v[0], Role: v[1], Unit: v[2]})
		case r.PType == "g2" && len(v) >= 2:
			st.cats[v[0]] = append(st.cats[v[0]], v[1])
		case r.PType == "p" && len(v) >= 4:
			st.lines[v[0]] = append(st.lines[v[0]], Line{Role: v[0], Unit: v[1], Scope: v[2], Action: v[3]})
			k := shardKey{action: v[3], role: v[0]}
			perShard[k] = append(perShard[k], v)
		}
	}
	// The roles each principal holds in each of its units, inherited ones
	// included, and the principal itself (a line may name it directly).
	for p, gs := range st.grants {
		var hs []held
		for _, g := range gs {
			if slices.ContainsFunc(hs, func(h held) bool { return h.unit == g.Unit }) {
				continue
			}
			rs, _ := full.GetImplicitRolesForUser(p, g.Unit)
			hs = append(hs, held{unit: g.Unit, roles: append(rs, p)})
		}
		st.held[p] = hs
	}
	rm := full.GetModel()["g"]["g"].RM
	for k, lines := range perShard {
		ma, err := model.NewModelFromString(a.model)
		if err != nil {
			return nil, err
		}
		if err := ma.AddPolicies("p", "p", lines); err != nil {
			return nil, fmt.Errorf("authz: the %s lines of %s: %w", k.action, k.role, err)
		}
		e, err := casbin.NewEnforcer(ma)
		if err != nil {
			return nil, err
		}
		a.prepare(e, st)
		e.SetRoleManager(rm)
		e.GetModel()["g"]["g"].RM = rm
		st.shards[k] = e
	}
	return st, nil
}

// shardKey names the enforcer of one role's lines for one action.
type shardKey struct{ action, role string }

// held is the roles a principal holds in one unit.
type held struct {
	unit  string
	roles []string
}

// prepare registers the model's scope function on e.
func (a *Authorizer) prepare(e *casbin.Enforcer, st *state) {
	e.EnableAutoSave(false) // changes go through Change, never the enforcer
	e.AddFunction("scope", func(args ...any) (any, error) {
		if len(args) != 3 {
			return false, fmt.Errorf("scope needs 3 arguments, got %d", len(args))
		}
		o, ok := args[0].(*Object)
		dom, _ := args[1].(string)
		scope, _ := args[2].(string)
		return ok && inScope(a.tree(), st.cats, o, dom, scope), nil
	})
}

// domains returns the units in which principal holds a role.
func (st *state) domains(principal string) []string {
	hs := st.held[principal]
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.unit
	}
	return out
}

// Allowed reports whether principal may do action to o: whether, in some
// unit where the principal holds a role, the Casbin model allows it (asked
// of the enforcers of the roles it holds there).
func (a *Authorizer) Allowed(principal, action string, o Object) bool {
	st := a.cur.Load()
	for _, h := range st.held[principal] {
		for _, role := range h.roles {
			e := st.shards[shardKey{action: action, role: role}]
			if e == nil {
				continue
			}
			ok, err := e.Enforce(principal, h.unit, &o, action)
			if err != nil {
				a.o.Logger.Error("policy check failed; denying", "principal", principal, "action", action, "err", err)
				return false
			}
			if ok {
				return true
			}
		}
	}
	return false
}

// allowedFull is Allowed asked of the enforcer holding the whole policy (for
// tests: the shards must decide the same).
func (a *Authorizer) allowedFull(principal, action string, o Object) bool {
	st := a.cur.Load()
	for _, dom := range st.domains(principal) {
		if ok, err := st.e.Enforce(principal, dom, &o, action); err == nil && ok {
			return true
		}
	}
	return false
}

// roles returns the roles principal holds in dom, inherited ones included,
// and the principal itself.
func (st *state) roles(principal, dom string) []string {
	for _, h := range st.held[principal] {
		if h.unit == dom {
			return h.roles
		}
	}
	return nil
}

// Filter compiles what principal may do action to into a store filter for
// lists: the same decision as Allowed for every ticket, evaluated by the
// database. A principal without any allowing line gets the empty filter.
func (a *Authorizer) Filter(principal, action string) *store.Access {
	st := a.cur.Load()
	t := a.tree()
	acc := &store.Access{}
	units := map[string]bool{}
	handlers := map[string]bool{}
	cats := map[string]bool{}
	for _, dom := range st.domains(principal) {
		for _, role := range st.roles(principal, dom) {
			for _, l := range st.lines[role] {
				if l.Action != action || (l.Unit != "*" && l.Unit != dom) {
					continue
				}
				switch {
				case l.Scope == ScopeAll:
					acc.All = true
				case l.Scope == ScopeSubtree && dom == Province:
					acc.All = true
				case l.Scope == ScopeSubtree:
					for _, u := range t.subtree(dom) {
						units[u] = true
					}
				case l.Scope == ScopeUnit:
					units[dom] = true
				case l.Scope == ScopeHandler:
					handlers[dom] = true
				case strings.HasPrefix(l.Scope, ScopeCategory) && len(l.Scope) > len(ScopeCategory):
					cats[strings.TrimPrefix(l.Scope, ScopeCategory)] = true
				case l.Scope == ScopeGranted:
					for _, c := range st.cats[dom] {
						cats[c] = true
					}
				}
			}
		}
	}
	if acc.All {
		return &store.Access{All: true}
	}
	for u := range units {
		acc.Units = append(acc.Units, u)
	}
	for u := range handlers {
		if !units[u] {
			acc.HandlerUnits = append(acc.HandlerUnits, u)
		}
	}
	for c := range cats {
		acc.CategoryPrefixes = append(acc.CategoryPrefixes, c)
	}
	slices.Sort(acc.Units)
	slices.Sort(acc.HandlerUnits)
	slices.Sort(acc.CategoryPrefixes)
	return acc
}

// Rules returns the policy in force, as stored.
func (a *Authorizer) Rules() []store.Rule { return slices.Clone(a.cur.Load().rules) }

// Grants returns the roles principal holds.
func (a *Authorizer) Grants(principal string) []Grant {
	return slices.Clone(a.cur.Load().grants[principal])
}

// Principals returns every principal that holds a role, sorted.
func (a *Authorizer) Principals() []string {
	st := a.cur.Load()
	out := make([]string, 0, len(st.grants))
	for p := range st.grants {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Permission is one thing a principal may do, and the line that allows it.
type Permission struct {
	Action string
	// On says what the permission covers: "tickets", "unit" or "province".
	On string
	// Via is the grant and policy line that allow it, e.g.
	// "unit_staff@gz-tianhe: p, unit_staff, *, subtree, view".
	Via string
}

// Explain answers "what may principal do in unit": the actions it may take
// on tickets handled by unit, on the unit's own objects (inbox, aggregates)
// and on the province as a whole, each with the line that allows it (a dry
// run: nothing is changed or logged). Category grants are listed as tickets
// permissions with their scope.
func (a *Authorizer) Explain(principal, unit string) []Permission {
	st := a.cur.Load()
	t := a.tree()
	var out []Permission
	seen := map[string]bool{}
	add := func(p Permission) {
		k := p.Action + "\x00" + p.On + "\x00" + p.Via
		if !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	objs := []struct {
		on string
		o  Object
	}{{"tickets", TicketObject(unit, nil, "")}, {"unit", UnitObject(unit)}, {"province", SystemObject()}}
	for _, dom := range st.domains(principal) {
		for _, role := range st.roles(principal, dom) {
			for _, l := range st.lines[role] {
				if l.Unit != "*" && l.Unit != dom {
					continue
				}
				via := fmt.Sprintf("%s@%s: p, %s, %s, %s, %s", role, dom, l.Role, l.Unit, l.Scope, l.Action)
				for _, ob := range objs {
					if inScope(t, st.cats, &ob.o, dom, l.Scope) && a.Allowed(principal, l.Action, ob.o) {
						add(Permission{Action: l.Action, On: ob.on, Via: via})
					}
				}
				if strings.HasPrefix(l.Scope, ScopeCategory) {
					add(Permission{Action: l.Action, On: "tickets of " + l.Scope, Via: via})
				}
				if l.Scope == ScopeGranted {
					for _, c := range st.cats[dom] {
						add(Permission{Action: l.Action, On: "tickets of category:" + c + " (granted to " + dom + ")", Via: via})
					}
				}
			}
		}
	}
	slices.SortFunc(out, func(x, y Permission) int {
		return strings.Compare(x.Action+x.On+x.Via, y.Action+y.On+y.Via)
	})
	return out
}

// Who is a principal's access to one object.
type Who struct {
	Principal string
	Actions   []string
}

// WhoCan answers "who can see X": every principal holding a role that may
// take some action on o, with those actions (a dry run).
func (a *Authorizer) WhoCan(o Object) []Who {
	var out []Who
	for _, p := range a.Principals() {
		var acts []string
		for _, act := range Actions {
			if a.Allowed(p, act, o) {
				acts = append(acts, act)
			}
		}
		if len(acts) > 0 {
			out = append(out, Who{Principal: p, Actions: acts})
		}
	}
	return out
}

// Change validates and applies a policy change through the store (one
// transaction, audited, announced to every instance) and puts it in force
// here at once. It returns the new revision.
func (a *Authorizer) Change(ctx context.Context, c store.PolicyChange) (int64, error) {
	snap := a.o.Units()
	for i, r := range c.Add {
		if err := ValidateRule(r, snap); err != nil {
			return 0, errs.Invalidf(fmt.Sprintf("rules[%d]", i), "%s", err.Error())
		}
	}
	rev, err := a.o.Store.ChangePolicy(ctx, c)
	if err != nil {
		return 0, err
	}
	if _, err := a.Reload(ctx); err != nil {
		a.o.Logger.Error("reloading the policy after a change failed; the watcher retries", "revision", rev, "err", err)
	}
	return rev, nil
}

// ValidateRule checks one policy line: its type, its number of values, its
// action and scope, and for a grant that the unit exists.
func ValidateRule(r store.Rule, snap *registry.Snapshot) error {
	v := r.Values
	for _, s := range v {
		if strings.TrimSpace(s) != s || s == "" {
			return fmt.Errorf("values must be non-empty and without surrounding spaces: %q", v)
		}
	}
	switch r.PType {
	case "p":
		if len(v) != 4 {
			return fmt.Errorf("a p line has 4 values (role, unit or *, scope, action), got %d", len(v))
		}
		if v[1] != "*" && snap != nil {
			if _, err := snap.Unit(context.Background(), v[1]); err != nil {
				return fmt.Errorf("unit %q is not in the registry", v[1])
			}
		}
		if err := ValidScope(v[2]); err != nil {
			return err
		}
		if !ValidAction(v[3]) {
			return fmt.Errorf("unknown action %q (want one of %s)", v[3], strings.Join(Actions, ", "))
		}
	case "g2":
		if len(v) != 2 {
			return fmt.Errorf("a g2 line has 2 values (unit, category code prefix), got %d", len(v))
		}
		if snap != nil {
			if _, err := snap.Unit(context.Background(), v[0]); err != nil {
				return fmt.Errorf("unit %q is not in the registry", v[0])
			}
		}
		if strings.ContainsAny(v[1], " ,*") {
			return fmt.Errorf("category code prefix %q", v[1])
		}
	case "g":
		if len(v) != 3 {
			return fmt.Errorf("a g line has 3 values (principal or role, role, unit), got %d", len(v))
		}
		if snap != nil && v[2] != Province {
			if _, err := snap.Unit(context.Background(), v[2]); err != nil {
				return fmt.Errorf("unit %q is not in the registry", v[2])
			}
		}
	default:
		return fmt.Errorf("unknown rule type %q (want p, g or g2)", r.PType)
	}
	return nil
}

// Run keeps the policy current until ctx ends: it reloads on the store's
// change notifications and, as a fallback, whenever a poll of the store's
// revision finds a newer one.
func (a *Authorizer) Run(ctx context.Context) {
	notes, err := a.o.Store.PolicyNotify(ctx)
	if err != nil {
		a.o.Logger.Warn("policy change notifications unavailable; polling", "err", err)
	}
	tick := time.NewTicker(a.o.PollEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case rev, ok := <-notes:
			if !ok {
				notes = nil
				continue
			}
			if rev > a.Revision() {
				a.reload(ctx)
			}
		case <-tick.C:
			rev, err := a.o.Store.PolicyRevision(ctx)
			if err != nil {
				continue
			}
			if rev > a.Revision() {
				a.reload(ctx)
			}
		}
	}
}

func (a *Authorizer) reload(ctx context.Context) {
	if _, err := a.Reload(ctx); err != nil && ctx.Err() == nil {
		a.o.Logger.Error("reloading the policy failed; keeping the one in force", "revision", a.Revision(), "err", err)
	}
}
