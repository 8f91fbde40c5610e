package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/switchboard12345/switchboard/internal/testpg"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
	"github.com/switchboard12345/switchboard/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "switchboard.db"), sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlstore.OpenPostgres(context.Background(), testpg.DSN(t), sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestReopenKeepsTicketsAndNumbers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	ctx := context.Background()
	open := func() *sqlstore.Store {
		s, err := sqlstore.OpenSQLite(ctx, path, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	c := storetest.Sample()
	first, _, err := s.CreateTicket(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open() // migrations run again and must be a no-op
	defer s.Close()
	if _, err := s.GetTicket(ctx, first.TrackingNumber); err != nil {
		t.Fatalf("ticket lost across reopen: %v", err)
	}
	second, _, err := s.CreateTicket(ctx, storetest.Sample())
	if err != nil {
		t.Fatal(err)
	}
	if second.TrackingNumber <= first.TrackingNumber {
		t.Fatalf("tracking number %s after %s: numbers must not be reused", second.TrackingNumber, first.TrackingNumber)
	}
}
