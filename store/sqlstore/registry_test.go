package sqlstore_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/internal/testpg"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/registry/registrytest"
	"github.com/switchboard12345/switchboard/store/sqlstore"
	"github.com/switchboard12345/switchboard/store/storetest"
)

func openSQLite(t *testing.T, path string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openPostgres(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenPostgres(context.Background(), dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRegistrySQLite(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) registry.Source {
		s := openSQLite(t, filepath.Join(t.TempDir(), "switchboard.db"))
		t.Cleanup(func() { s.Close() })
		return s.Registry()
	})
}

func TestRegistryPostgres(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) registry.Source {
		s := openPostgres(t, testpg.DSN(t))
		t.Cleanup(func() { s.Close() })
		return s.Registry()
	})
}

func exampleProvince(t *testing.T) *registry.ProvinceFile {
	t.Helper()
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var changeAt = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

func toStatus(to registry.Status) registry.StatusChange {
	return registry.StatusChange{To: to, Actor: "admin:test", Reason: "test", At: changeAt}
}

// Two gateway instances on one PostgreSQL database: a change made through one
// reaches the other's Watch by polling, within a second.
func TestRegistryWatchAcrossPostgresStores(t *testing.T) {
	dsn := testpg.DSN(t)
	a := openPostgres(t, dsn)
	defer a.Close()
	b := openPostgres(t, dsn)
	defer b.Close()
	ctx := context.Background()
	rev, err := a.Registry().Import(ctx, exampleProvince(t), "admin")
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := b.Registry().Load(ctx); err != nil || len(got.Hotlines) == 0 {
		t.Fatalf("the other store does not see the import: %v", err)
	}

	type seen struct {
		rev uint64
		at  time.Time
		err error
	}
	watch := func(r *sqlstore.Registry, after uint64) <-chan seen {
		ch := make(chan seen, 1)
		go func() {
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			rev, err := r.Watch(wctx, after)
			ch <- seen{rev, time.Now(), err}
		}()
		return ch
	}
	remote, local := watch(b.Registry(), rev), watch(a.Registry(), rev)
	time.Sleep(300 * time.Millisecond) // both watchers are waiting
	start := time.Now()
	h, err := a.Registry().SetStatus(ctx, "12315", toStatus(registry.Merged), 0, registry.RetireGuard{})
	if err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]<-chan seen{"same store": local, "other store": remote} {
		select {
		case s := <-ch:
			if s.err != nil || s.rev != h.Revision {
				t.Fatalf("%s: Watch = %d, %v; want revision %d", name, s.rev, s.err, h.Revision)
			}
			lat := s.at.Sub(start)
			t.Logf("%s saw revision %d %v after the change", name, s.rev, lat.Round(time.Microsecond))
			if lat > time.Second {
				t.Errorf("%s saw the change after %v, want within 1s", name, lat)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: Watch did not see the change", name)
		}
	}
	// The other store's edit based on what it loaded conflicts with a stale one.
	if _, err := b.Registry().SetStatus(ctx, "12315", toStatus(registry.Retired), h.Revision-1, registry.RetireGuard{}); errs.KindOf(err) != errs.Conflict {
		t.Fatalf("stale edit through the other store: %v, want Conflict", err)
	}
}

func TestRegistrySurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	ctx := context.Background()
	s := openSQLite(t, path)
	p := exampleProvince(t)
	if _, err := s.Registry().Import(ctx, p, "admin"); err != nil {
		t.Fatal(err)
	}
	h, err := s.Registry().SetStatus(ctx, "12315", toStatus(registry.Merged), 0, registry.RetireGuard{})
	if err != nil {
		t.Fatal(err)
	}
	before, rev, err := s.Registry().Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openSQLite(t, path)
	defer s.Close()
	r := s.Registry()
	after, rev2, err := r.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rev2 != rev || after.Name != before.Name || len(after.Units) != len(before.Units) ||
		len(after.Hotlines) != len(before.Hotlines) || len(after.Backends) != len(before.Backends) {
		t.Fatalf("after reopen: %s rev %d %d/%d/%d; before: %s rev %d %d/%d/%d", after.Name, rev2,
			len(after.Units), len(after.Hotlines), len(after.Backends), before.Name, rev,
			len(before.Units), len(before.Hotlines), len(before.Backends))
	}
	for i := range before.Hotlines {
		if before.Hotlines[i] != after.Hotlines[i] {
			t.Fatalf("hotline %d: %+v, was %+v", i, after.Hotlines[i], before.Hotlines[i])
		}
	}
	if err := after.Validate(); err != nil {
		t.Fatal(err)
	}
	if hist, err := r.History(ctx, "12315"); err != nil || len(hist) != 1 || hist[0].To != registry.Merged {
		t.Fatalf("history after reopen: %+v %v", hist, err)
	}
	// Revisions go on from where they were.
	h2, err := r.SetStatus(ctx, "12315", toStatus(registry.Retired), h.Revision, registry.RetireGuard{})
	if err != nil {
		t.Fatal(err)
	}
	if h2.Revision <= rev {
		t.Fatalf("revision %d after reopen, was %d", h2.Revision, rev)
	}
}

// Registry writes share the group commit with ticket writes: mixed
// concurrently, neither fails nor blocks the other.
func TestRegistryWritesMixWithTickets(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *sqlstore.Store
	}{
		{"SQLite", func(t *testing.T) *sqlstore.Store { return openSQLite(t, filepath.Join(t.TempDir(), "switchboard.db")) }},
		{"Postgres", func(t *testing.T) *sqlstore.Store { return openPostgres(t, testpg.DSN(t)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.open(t)
			defer s.Close()
			ctx := context.Background()
			r := s.Registry()
			if _, err := r.Import(ctx, exampleProvince(t), "admin"); err != nil {
				t.Fatal(err)
			}
			const n = 40
			var wg sync.WaitGroup
			var mu sync.Mutex
			changed := 0
			for i := range n {
				wg.Add(2)
				go func() {
					defer wg.Done()
					if _, _, err := s.CreateTicket(ctx, storetest.Sample()); err != nil {
						t.Errorf("CreateTicket: %v", err)
					}
				}()
				go func() {
					defer wg.Done()
					to := registry.Merged
					if i%2 == 1 {
						to = registry.DualRunning
					}
					_, err := r.SetStatus(ctx, "12315", toStatus(to), 0, registry.RetireGuard{})
					switch {
					case err == nil:
						mu.Lock()
						changed++
						mu.Unlock()
					case errs.KindOf(err) == errs.Precondition: // already there
					default:
						t.Errorf("SetStatus: %v", err)
					}
				}()
			}
			wg.Wait()
			hist, err := r.History(ctx, "12315")
			if err != nil {
				t.Fatal(err)
			}
			if len(hist) != changed || changed == 0 {
				t.Fatalf("%d changes succeeded, %d recorded", changed, len(hist))
			}
			for i := 1; i < len(hist); i++ {
				if hist[i].From != hist[i-1].To {
					t.Fatalf("history is not a chain at %d: %+v", i, hist)
				}
			}
			t.Logf("%d status changes among %d ticket creations; batches: %+v", changed, n, s.BatchStats())
		})
	}
}

// Editors racing on one revision, mixed with ticket writes and spread over
// several committers on PostgreSQL: exactly one wins, every loser sees Conflict
// (never a generic error, nor a Precondition from applying the change twice).
func TestRegistryRacingEditorsSeeConflict(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T, o sqlstore.Options) (*sqlstore.Store, error)
	}{
		{"SQLite", func(t *testing.T, o sqlstore.Options) (*sqlstore.Store, error) {
			return sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "switchboard.db"), o)
		}},
		{"Postgres", func(t *testing.T, o sqlstore.Options) (*sqlstore.Store, error) {
			o.Committers = 8
			return sqlstore.OpenPostgres(context.Background(), testpg.DSN(t), o)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var warnings lockedBuffer
			s, err := tc.open(t, sqlstore.Options{Logger: slog.New(slog.NewTextHandler(&warnings, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			r := s.Registry()
			ctx := context.Background()
			if _, err := r.Import(ctx, exampleProvince(t), "admin"); err != nil {
				t.Fatal(err)
			}
			const editors = 16
			for round := range 20 {
				p, _, err := r.Load(ctx)
				if err != nil {
					t.Fatal(err)
				}
				h, _ := registry.NewSnapshot(p, 0).HotlineAt("12315", changeAt)
				to := registry.Merged
				if h.Status == registry.Merged {
					to = registry.DualRunning
				}
				var mu sync.Mutex
				wins, conflicts := 0, 0
				var wg sync.WaitGroup
				for range editors {
					wg.Add(2)
					go func() {
						defer wg.Done()
						if _, _, err := s.CreateTicket(ctx, storetest.Sample()); err != nil {
							t.Errorf("CreateTicket: %v", err)
						}
					}()
					go func() {
						defer wg.Done()
						_, err := r.SetStatus(ctx, "12315", toStatus(to), h.Revision, registry.RetireGuard{})
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil:
							wins++
						case errs.KindOf(err) == errs.Conflict:
							conflicts++
						default:
							t.Errorf("round %d: losing editor: %v, want Conflict", round, err)
						}
					}()
				}
				wg.Wait()
				if wins != 1 || conflicts != editors-1 {
					t.Fatalf("round %d: %d wins, %d conflicts; want 1 and %d", round, wins, conflicts, editors-1)
				}
			}
			if w := warnings.String(); w != "" {
				t.Logf("store warnings: %s", w)
			}
		})
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
