package authz

import (
	"context"
	"errors"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"

	"github.com/switchboard12345/switchboard/store"
)

// Adapter is a Casbin adapter (persist.Adapter) on the project's store: the
// policy lives in the store's policy_rules table, and every save goes through
// store.Auth.ChangePolicy, so it is one audited transaction that bumps the
// policy revision and wakes every instance's watcher. LoadPolicy records the
// revision of what it loaded.
type Adapter struct {
	Store store.Auth
	// Actor is recorded in the audit log for changes made through the adapter.
	Actor string

	ctx      context.Context
	revision int64
	rules    []store.Rule
}

var _ persist.Adapter = (*Adapter)(nil)

func (a *Adapter) context() context.Context {
	if a.ctx != nil {
		return a.ctx
	}
	return context.Background()
}

// Revision is the policy revision the last LoadPolicy read.
func (a *Adapter) Revision() int64 { return a.revision }

// LoadPolicy implements persist.Adapter.
func (a *Adapter) LoadPolicy(m model.Model) error {
	rules, rev, err := a.Store.LoadPolicy(a.context())
	if err != nil {
		return err
	}
	for _, r := range rules {
		if err := persist.LoadPolicyArray(append([]string{r.PType}, r.Values...), m); err != nil {
			return err
		}
	}
	a.rules, a.revision = rules, rev
	return nil
}

// SavePolicy implements persist.Adapter: it replaces the stored policy with
// the model's.
func (a *Adapter) SavePolicy(m model.Model) error {
	var add []store.Rule
	for _, sec := range []string{"p", "g"} {
		for ptype, ast := range m[sec] {
			for _, v := range ast.Policy {
				add = append(add, store.Rule{PType: ptype, Values: append([]string(nil), v...)})
			}
		}
	}
	_, err := a.Store.ChangePolicy(a.context(), store.PolicyChange{Add: add, Replace: true,
		Audit: store.AuditEntry{Actor: a.Actor, Action: "policy.replace", Detail: "saved through the Casbin adapter"}})
	return err
}

// AddPolicy implements persist.Adapter.
func (a *Adapter) AddPolicy(sec, ptype string, rule []string) error {
	_, err := a.Store.ChangePolicy(a.context(), store.PolicyChange{Add: []store.Rule{{PType: ptype, Values: rule}},
		Audit: store.AuditEntry{Actor: a.Actor, Action: "policy.add", Detail: FormatRule(store.Rule{PType: ptype, Values: rule})}})
	return err
}

// RemovePolicy implements persist.Adapter.
func (a *Adapter) RemovePolicy(sec, ptype string, rule []string) error {
	_, err := a.Store.ChangePolicy(a.context(), store.PolicyChange{Remove: []store.Rule{{PType: ptype, Values: rule}},
		Audit: store.AuditEntry{Actor: a.Actor, Action: "policy.remove", Detail: FormatRule(store.Rule{PType: ptype, Values: rule})}})
	return err
}

// RemoveFilteredPolicy implements persist.Adapter; Switchboard removes whole
// lines instead.
func (a *Adapter) RemoveFilteredPolicy(sec, ptype string, fieldIndex int, fieldValues ...string) error {
	return errors.New("authz adapter: filtered removal is not supported; remove whole lines")
}
