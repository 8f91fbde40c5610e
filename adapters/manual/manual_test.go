package manual_test

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/adaptertest"
	"github.com/switchboard12345/switchboard/adapters/manual"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var clock = func() time.Time { return time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC) }

// openStore opens a fresh SQLite store, closed when the test ends.
func openStore(t *testing.T) (*sqlstore.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.db")
	st, err := sqlstore.OpenSQLite(context.Background(), path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

func newAdapter(t *testing.T, inbox store.Inbox) adapters.Adapter {
	t.Helper()
	a, err := manual.New(inbox, clock)(adapters.Config{Backend: "gz-samr-manual"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// arrivals reads every item of the sample's unit, acknowledged or not.
func arrivals(t *testing.T, inbox store.Inbox) []adaptertest.Arrival {
	t.Helper()
	var out []adaptertest.Arrival
	after := ""
	for {
		items, err := inbox.ListInbox(context.Background(), store.InboxQuery{Unit: "gz-samr", All: true, Now: clock(), Limit: 50, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			out = append(out, adaptertest.Arrival{Key: it.Key, Body: string(it.Payload)})
		}
		if len(items) < 50 {
			return out
		}
		after = items[len(items)-1].Key
	}
}

func TestConformance(t *testing.T) {
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) (adapters.Adapter, func() []adaptertest.Arrival) {
			st, _ := openStore(t)
			return newAdapter(t, st), func() []adaptertest.Arrival { return arrivals(t, st) }
		},
		// Rejecting does not apply: the inbox refuses nothing a dispatcher
		// sends (TestMalformedDeliveryIsPermanent covers what it does refuse).
		Down: func(t *testing.T) adapters.Adapter {
			// The store is in process: "unreachable" is a closed store.
			st, _ := openStore(t)
			st.Close()
			return newAdapter(t, st)
		},
		Hanging: func(t *testing.T) adapters.Adapter {
			// Another connection holds SQLite's write lock: the store's
			// write waits for it, as a hanging backend would.
			st, path := openStore(t)
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
			if err != nil {
				t.Fatal(err)
			}
			conn, err := db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { // runs before the store closes
				conn.ExecContext(context.Background(), "ROLLBACK")
				conn.Close()
				db.Close()
			})
			return newAdapter(t, st)
		},
	})
}

func TestRepeatIsADuplicateAndFilesOnce(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	a := newAdapter(t, st)
	d := adaptertest.Sample("T1/2/gz-samr")
	ctx := context.Background()
	first, err := a.Deliver(ctx, d)
	if err != nil || first.Duplicate {
		t.Fatalf("first delivery: %+v %v", first, err)
	}
	d.Attempt = 2
	again, err := a.Deliver(ctx, d)
	if err != nil || !again.Duplicate {
		t.Fatalf("repeat: %+v %v, want a duplicate", again, err)
	}
	items, err := st.ListInbox(ctx, store.InboxQuery{Unit: "gz-samr", Now: clock()})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 {
		t.Fatalf("%d items, want 1", len(items))
	}
	it := items[0]
	if it.Key != d.Key || it.TicketID != d.Ticket.ID || it.Topic != "ticket.dispatch" || !it.Created.Equal(clock()) {
		t.Fatalf("item: %+v", it)
	}
}

func TestPayloadGolden(t *testing.T) {
	t.Parallel()
	got, err := manual.Encode(adaptertest.Sample("T1/2/gz-samr"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "payload.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("payload:\n%s\nwant:\n%s", got, want)
	}
}

func TestMalformedDeliveryIsPermanent(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	a := newAdapter(t, st)
	for name, mutate := range map[string]func(*adapters.Delivery){
		"no key":       func(d *adapters.Delivery) { d.Key = "" },
		"no unit":      func(d *adapters.Delivery) { d.Unit = "" },
		"no ticket id": func(d *adapters.Delivery) { d.Ticket.ID = "" },
	} {
		t.Run(name, func(t *testing.T) {
			d := adaptertest.Sample("k-" + name)
			mutate(&d)
			if _, err := a.Deliver(context.Background(), d); !adapters.IsPermanent(err) {
				t.Fatalf("err = %v, want permanent", err)
			}
		})
	}
}

func TestClosedStoreIsTransient(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	st.Close()
	_, err := newAdapter(t, st).Deliver(context.Background(), adaptertest.Sample("closed"))
	if err == nil || adapters.IsPermanent(err) || !errs.Is(err, errs.Transient) {
		t.Fatalf("err = %v, want a transient error", err)
	}
}

func TestCanceledContextFilesNothing(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newAdapter(t, st).Deliver(ctx, adaptertest.Sample("canceled"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := len(arrivals(t, st)); n != 0 {
		t.Fatalf("%d items filed", n)
	}
}

func TestFactoryValidates(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	if _, err := manual.New(st, nil)(adapters.Config{Backend: "b", Settings: map[string]string{"url": "x"}}); err == nil {
		t.Fatal("an unknown setting was accepted")
	}
	if _, err := manual.New(nil, nil)(adapters.Config{Backend: "b"}); err == nil {
		t.Fatal("a factory without an inbox built an adapter")
	}
}
