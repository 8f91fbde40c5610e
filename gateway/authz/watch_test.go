package authz_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/authz"
	"github.com/switchboard12345/switchboard/internal/testpg"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

// Two gateway instances share a PostgreSQL database, each with its own store
// connections and authorizer. A grant made through one must be honoured by
// the other within a second: the store's NOTIFY wakes the other's watcher,
// which reloads (the 500ms revision poll is the fallback).
func TestPolicyChangeReachesOtherInstance(t *testing.T) {
	dsn := testpg.DSN(t)
	ctx := t.Context()
	open := func() *sqlstore.Store {
		st, err := sqlstore.OpenPostgres(ctx, dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	measureAcross(t, ctx, open(), open())
}

// On SQLite two processes may share a file only for reading the policy (one
// gateway writes tickets); the revision poll carries the change.
func TestPolicyChangeReachesOtherInstanceSQLite(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "switchboard.db")
	a, err := sqlstore.OpenSQLite(ctx, path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlstore.OpenSQLite(ctx, path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	measureAcross(t, ctx, a, b)
}

func measureAcross(t *testing.T, ctx context.Context, sa, sb store.Auth) {
	t.Helper()
	snap := registry.NewSnapshot(&registry.ProvinceFile{Name: "测试省", Units: []registry.Unit{
		{ID: "gd", Name: "广东省", Kind: "province"}, {ID: "gz", Name: "广州市", Kind: "city", Parent: "gd"}}}, 1)
	units := func() *registry.Snapshot { return snap }
	if _, err := sa.ChangePolicy(ctx, store.PolicyChange{Add: []store.Rule{{PType: "p", Values: []string{"operator", "*", "*", "view"}}}}); err != nil {
		t.Fatal(err)
	}
	A, err := authz.New(ctx, authz.Options{Store: sa, Units: units})
	if err != nil {
		t.Fatal(err)
	}
	B, err := authz.New(ctx, authz.Options{Store: sb, Units: units})
	if err != nil {
		t.Fatal(err)
	}
	go A.Run(ctx)
	go B.Run(ctx)
	time.Sleep(100 * time.Millisecond) // both watchers subscribed
	o := authz.TicketObject("gz", nil, "")
	var lat []time.Duration
	for i := range 10 {
		who := fmt.Sprintf("u-%d", i)
		start := time.Now()
		if _, err := A.Change(ctx, store.PolicyChange{Add: []store.Rule{{PType: "g", Values: []string{who, "operator", "gz"}}},
			Audit: store.AuditEntry{Actor: "admin", Action: "policy.grant"}}); err != nil {
			t.Fatal(err)
		}
		if !A.Allowed(who, "view", o) {
			t.Fatalf("the instance that made the change does not honour it")
		}
		for !B.Allowed(who, "view", o) {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("the other instance did not honour grant %d within 5s (revision %d, want %d)", i, B.Revision(), A.Revision())
			}
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("grant on one instance honoured by the other after: median %s, max %s (%v)", lat[len(lat)/2], lat[len(lat)-1], lat)
	if lat[len(lat)/2] > time.Second {
		t.Errorf("median %s: a change must reach every instance within 1s", lat[len(lat)/2])
	}
}
