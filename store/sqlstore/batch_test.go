package sqlstore_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
	"github.com/switchboard12345/switchboard/store/storetest"
)

// A creation that fails in the database (here: a duplicate id) fails alone,
// whether or not it shares a multi-row insert with others.
func TestFailedCreateFailsAlone(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "switchboard.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 40
	creates := make([]store.Create, n)
	for i := range creates {
		creates[i] = storetest.Sample()
	}
	creates[n-1].Ticket.ID = creates[0].Ticket.ID
	creates[n-1].Event.TicketID = creates[0].Ticket.ID
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range creates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = s.CreateTicket(ctx, creates[i])
		}()
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d creations failed, want 1 (the duplicate): %v", failed, errs)
	}
	counts, err := s.CountByState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var stored int64
	for _, c := range counts {
		stored += c
	}
	if stored != n-1 {
		t.Fatalf("store holds %d tickets, want %d", stored, n-1)
	}
}
