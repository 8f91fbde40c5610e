package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/internal/testpg"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
	"github.com/switchboard12345/switchboard/store/storetest"
)

func openSQLiteAuth(t *testing.T) store.Auth {
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "switchboard.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openPostgresAuth returns an opener of stores on one fresh schema.
func openPostgresAuth(dsn string) storetest.OpenAuth {
	return func(t *testing.T) store.Auth {
		s, err := sqlstore.OpenPostgres(context.Background(), dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func TestAuthSQLite(t *testing.T) { storetest.RunAuth(t, openSQLiteAuth) }

func TestAuthPostgres(t *testing.T) {
	storetest.RunAuth(t, func(t *testing.T) store.Auth { return openPostgresAuth(testpg.DSN(t))(t) })
}

func TestAuthNotifyAcrossPostgres(t *testing.T) {
	open := openPostgresAuth(testpg.DSN(t))
	storetest.AuthNotifyAcross(t, open, open)
}

// TestPolicyNotifyStopsWithContext checks that subscriptions leave no
// goroutine behind (on PostgreSQL: no listener) once their context ends.
func TestPolicyNotifyStopsWithContext(t *testing.T) {
	for name, open := range map[string]storetest.OpenAuth{
		"sqlite":   openSQLiteAuth,
		"postgres": func(t *testing.T) store.Auth { return openPostgresAuth(testpg.DSN(t))(t) },
	} {
		t.Run(name, func(t *testing.T) {
			s := open(t).(*sqlstore.Store)
			defer s.Close()
			ctx := context.Background()
			if _, err := s.PolicyRevision(ctx); err != nil { // warm the pools
				t.Fatal(err)
			}
			before := runtime.NumGoroutine()
			var chans []<-chan int64
			sub, cancel := context.WithCancel(ctx)
			for range 4 {
				ch, err := s.PolicyNotify(sub)
				if err != nil {
					t.Fatal(err)
				}
				chans = append(chans, ch)
			}
			if _, err := s.ChangePolicy(ctx, store.PolicyChange{Add: []store.Rule{{PType: "p", Values: []string{"a"}}}}); err != nil {
				t.Fatal(err)
			}
			cancel()
			for _, ch := range chans {
				for range ch { // until closed
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > before {
				if time.Now().After(deadline) {
					buf := make([]byte, 1<<20)
					t.Fatalf("%d goroutines after the subscriptions ended, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestPolicyListenerReconnects kills the LISTEN connection of a subscription
// and checks that changes made by another instance still arrive.
func TestPolicyListenerReconnects(t *testing.T) {
	b := make([]byte, 4)
	rand.Read(b)
	app := "sbtest_listen_" + hex.EncodeToString(b)
	dsn := testpg.DSN(t) + "&application_name=" + app
	open := openPostgresAuth(dsn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	listener, writer := open(t).(*sqlstore.Store), open(t).(*sqlstore.Store)
	defer listener.Close()
	defer writer.Close()
	ch, err := listener.PolicyNotify(ctx)
	if err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var killed int
	if err := db.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND query LIKE 'LISTEN%'`, app).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d listening connections, want 1", killed)
	}
	for i := range 3 {
		rev, err := writer.ChangePolicy(ctx, store.PolicyChange{Add: []store.Rule{{PType: "p", Values: []string{"u", string(rune('a' + i))}}}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		deadline := time.After(5 * time.Second)
	wait:
		for {
			select {
			case got := <-ch:
				if got == rev {
					t.Logf("revision %d arrived %v after its commit", rev, time.Since(start))
					break wait
				}
			case <-deadline:
				t.Fatalf("revision %d not notified after the listener's connection was killed", rev)
			}
		}
	}
}
