package authz

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/casbin/casbin/v2"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
)

// memPolicy is the policy half of store.Auth in memory, for tests of the
// decisions alone (the real store runs the conformance suite and the property
// test).
type memPolicy struct {
	store.Auth
	mu    sync.Mutex
	rules []store.Rule
	rev   int64
	// loadHook, if set, runs inside LoadPolicy after the snapshot is taken.
	loadHook func()
}

func (m *memPolicy) LoadPolicy(context.Context) ([]store.Rule, int64, error) {
	m.mu.Lock()
	rules, rev := slices.Clone(m.rules), m.rev
	hook := m.loadHook
	m.mu.Unlock()
	if hook != nil {
		hook()
	}
	return rules, rev, nil
}

func (m *memPolicy) ChangePolicy(_ context.Context, c store.PolicyChange) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.Replace {
		m.rules = nil
	}
	for _, r := range c.Remove {
		m.rules = slices.DeleteFunc(m.rules, func(x store.Rule) bool { return x.PType == r.PType && slices.Equal(x.Values, r.Values) })
	}
	m.rules = append(m.rules, c.Add...)
	m.rev++
	return m.rev, nil
}

func (m *memPolicy) PolicyRevision(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rev, nil
}

func exampleSnapshot(t testing.TB) *registry.Snapshot {
	t.Helper()
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	return registry.NewSnapshot(p, 1)
}

func demoAuthorizer(t testing.TB) (*Authorizer, *memPolicy) {
	t.Helper()
	rules, err := ParseCSV(examples.Policy)
	if err != nil {
		t.Fatal(err)
	}
	snap := exampleSnapshot(t)
	for i, r := range rules {
		if err := ValidateRule(r, snap); err != nil {
			t.Fatalf("policy.csv rule %d %v: %v", i, r, err)
		}
	}
	m := &memPolicy{rules: rules, rev: 1}
	a, err := New(context.Background(), Options{Store: m, Units: func() *registry.Snapshot { return snap }})
	if err != nil {
		t.Fatal(err)
	}
	return a, m
}

func TestExamplePolicyDecisions(t *testing.T) {
	a, _ := demoAuthorizer(t)
	street := TicketObject("fs-chancheng-zumiao", nil, "0503")
	samrTicket := TicketObject("gz-samr", nil, "110408")
	expertTicket := TicketObject("gd-hrss", []string{"gd-12333-experts"}, "150203")
	cases := []struct {
		who, action string
		o           Object
		want        bool
	}{
		{"demo-operator", View, street, true},
		{"demo-operator", ViewPII, street, true},
		{"demo-operator", Create, SystemObject(), true},
		{"demo-operator", AdminPolicy, SystemObject(), false},
		{"demo-street", View, street, true},
		{"demo-street", ViewPII, street, true},
		{"demo-street", Sign, street, true},
		{"demo-street", View, samrTicket, false},
		{"demo-street", Dispatch, street, false},
		{"demo-district", View, street, true},     // a district sees its streets'
		{"demo-district", ViewPII, street, false}, // but not the personal data
		{"demo-district", Sign, street, false},    // nor signs for them
		{"demo-district", View, samrTicket, false},
		{"demo-department", View, samrTicket, true}, // its categories across regions
		{"demo-department", ViewPII, samrTicket, false},
		{"demo-department", View, street, false},
		{"demo-expert", View, expertTicket, true},
		{"demo-expert", Reply, expertTicket, true},
		{"demo-expert", View, street, false},
		{"demo-leader", View, street, false},
		{"demo-leader", ReadStats, UnitObject("gz-yuexiu"), true},
		{"demo-leader", ReadStats, UnitObject("sz"), false},
		{"demo-admin", View, street, false},
		{"demo-admin", AdminPolicy, SystemObject(), true},
		{"demo-admin", AdminRegistry, SystemObject(), true},
		{"nobody", View, street, false},
	}
	for _, c := range cases {
		if got := a.Allowed(c.who, c.action, c.o); got != c.want {
			t.Errorf("Allowed(%s, %s, %+v) = %v, want %v", c.who, c.action, c.o, got, c.want)
		}
	}
}

func TestFilterOfExamplePrincipals(t *testing.T) {
	a, _ := demoAuthorizer(t)
	if f := a.Filter("demo-operator", View); !f.All {
		t.Errorf("operator filter = %+v, want all", f)
	}
	f := a.Filter("demo-district", View)
	if f.All || !slices.Contains(f.Units, "fs-chancheng") || !slices.Contains(f.Units, "fs-chancheng-zumiao") || slices.Contains(f.Units, "gz-tianhe") {
		t.Errorf("district filter = %+v", f)
	}
	f = a.Filter("demo-department", View)
	if !slices.Contains(f.CategoryPrefixes, "1104") || !slices.Contains(f.Units, "gd-samr") {
		t.Errorf("department filter = %+v", f)
	}
	if f := a.Filter("demo-admin", View); !f.Empty() {
		t.Errorf("admin sees tickets: %+v", f)
	}
	if f := a.Filter("nobody", View); !f.Empty() {
		t.Errorf("unknown principal sees tickets: %+v", f)
	}
}

// A slow load of an older policy that finishes after a newer one was put in
// force must not overwrite it.
func TestStaleReloadDoesNotOverwriteNewer(t *testing.T) {
	a, m := demoAuthorizer(t)
	ctx := context.Background()
	release := make(chan struct{})
	loaded := make(chan struct{})
	m.loadHook = func() { close(loaded); <-release }
	done := make(chan struct{})
	go func() { a.Reload(ctx); close(done) }() // reads revision 1 and stalls
	<-loaded
	m.mu.Lock()
	m.loadHook = nil
	m.mu.Unlock()
	if _, err := a.Change(ctx, store.PolicyChange{Add: []store.Rule{{PType: "g", Values: []string{"u-new", "operator", "gd-12345"}}}}); err != nil {
		t.Fatal(err)
	}
	if a.Revision() != 2 || !a.Allowed("u-new", View, SystemObject()) {
		t.Fatalf("revision %d after the change", a.Revision())
	}
	close(release)
	<-done
	if a.Revision() != 2 || !a.Allowed("u-new", View, SystemObject()) {
		t.Fatalf("a stale load overwrote revision 2: now %d", a.Revision())
	}
}

func TestValidateRule(t *testing.T) {
	snap := exampleSnapshot(t)
	bad := []store.Rule{
		{PType: "p", Values: []string{"r", "*", "subtree"}},
		{PType: "p", Values: []string{"r", "*", "everything", "view"}},
		{PType: "p", Values: []string{"r", "*", "subtree", "delete"}},
		{PType: "p", Values: []string{"r", "no-such-unit", "subtree", "view"}},
		{PType: "g", Values: []string{"u", "r", "no-such-unit"}},
		{PType: "g", Values: []string{"u", " r", "gd"}},
		{PType: "x", Values: []string{"u", "r", "gd"}},
		{PType: "p", Values: []string{"r", "*", "category:", "view"}},
	}
	for _, r := range bad {
		if err := ValidateRule(r, snap); err == nil {
			t.Errorf("ValidateRule(%v) accepted", r)
		}
	}
}

func TestCSVRoundTrip(t *testing.T) {
	rules, err := ParseCSV(examples.Policy)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseCSV(FormatCSV(rules))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(rules, again, func(a, b store.Rule) bool { return a.PType == b.PType && slices.Equal(a.Values, b.Values) }) {
		t.Fatalf("round trip changed the rules")
	}
	if _, err := ParseCSV([]byte("p, \"unterminated\n")); err == nil {
		t.Fatal("bad CSV accepted")
	}
}

func BenchmarkAllowedExample(b *testing.B) {
	a, _ := demoAuthorizer(b)
	o := TicketObject("fs-chancheng-zumiao", nil, "0503")
	for b.Loop() {
		a.Allowed("demo-district", ViewPII, o)
	}
}

// The model and the example policy are standard Casbin files: Casbin's own
// file adapter loads them, and with the scope function registered the plain
// enforcer decides as the Authorizer does.
func TestExampleFilesLoadInPlainCasbin(t *testing.T) {
	e, err := casbin.NewEnforcer("../../deploy/examples/model.conf", "../../deploy/examples/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := demoAuthorizer(t)
	tr := a.tree()
	st := a.cur.Load()
	e.AddFunction("scope", func(args ...any) (any, error) {
		return inScope(tr, st.cats, args[0].(*Object), args[1].(string), args[2].(string)), nil
	})
	o := TicketObject("fs-chancheng-zumiao", nil, "0503")
	for _, c := range []struct {
		who, dom, act string
		want          bool
	}{
		{"demo-street", "fs-chancheng-zumiao", View, true},
		{"demo-district", "fs-chancheng", View, true},
		{"demo-district", "fs-chancheng", ViewPII, false},
		{"demo-expert", "gd-12333-experts", View, false},
	} {
		got, err := e.Enforce(c.who, c.dom, &o, c.act)
		if err != nil || got != c.want || got != a.Allowed(c.who, c.act, o) {
			t.Errorf("plain Casbin Enforce(%s, %s, %s) = %v %v, want %v", c.who, c.dom, c.act, got, err, c.want)
		}
	}
}
