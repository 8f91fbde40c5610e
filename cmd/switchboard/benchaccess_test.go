package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

// TestBenchAccess runs `bench access` at CI size and checks the structure of
// what it prints, never its timings: both summary lines, every role class
// measured, no page over the page size, no row the principal may not see. It
// then checks the data set BulkLoadTickets wrote, and that a second run with
// --keep reuses it.
func TestBenchAccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	args := []string{"access", "--units", "300", "--users", "2000", "--tickets", "20000", "--checks", "20000", "--pages", "50",
		"--data", dir, "--keep"}
	var out, errb bytes.Buffer
	if err := benchCmd(ctx, args, &out, &errb); err != nil {
		t.Fatalf("bench access: %v\n%s\n%s", err, out.String(), errb.String())
	}
	text := out.String()
	t.Log("\n" + text)

	t.Run("summary", func(t *testing.T) {
		for _, re := range []string{
			`(?m)^enforce p99: [0-9.]+µs \(target ≤ 50µs\) (ok|missed)$`,
			`(?m)^page p95: [0-9.]+ms \(target ≤ 50ms\) (ok|missed)$`,
		} {
			if !regexp.MustCompile(re).MatchString(text) {
				t.Errorf("no line matching %s", re)
			}
		}
	})
	t.Run("every class measured", func(t *testing.T) {
		for _, lc := range listClasses {
			m := regexp.MustCompile(`(?m)^` + lc.class + ` +(\d+) `).FindStringSubmatch(text)
			if m == nil || m[1] == "0" {
				t.Errorf("class %s: no pages measured", lc.class)
			}
		}
	})
	t.Run("pages within the page size", func(t *testing.T) {
		m := regexp.MustCompile(`(\d+) pages read, rows per page at most (\d+) \(page size 50\), \d+ empty, (\d+) rows not allowed`).FindStringSubmatch(text)
		if m == nil {
			t.Fatal("no line about the rows per page")
		}
		if pages, _ := strconv.Atoi(m[1]); pages < len(listClasses)*(50/len(listClasses)) { // a first page per principal
			t.Errorf("only %d pages read", pages)
		}
		if rows, _ := strconv.Atoi(m[2]); rows > 50 || rows == 0 {
			t.Errorf("at most %d rows per page, want 1–50", rows)
		}
		if m[3] != "0" {
			t.Errorf("%s rows not allowed by Allowed", m[3])
		}
		// Each class's rows columns (min/mean/max per page) too.
		cols := regexp.MustCompile(`(?m) \d+/\d+/(\d+)(?: |$)`).FindAllStringSubmatch(text, -1)
		if len(cols) < len(listClasses) {
			t.Errorf("%d rows columns, want one per class at least", len(cols))
		}
		for _, c := range cols {
			if n, _ := strconv.Atoi(c[1]); n > 50 {
				t.Errorf("a class returned pages of %d rows", n)
			}
		}
	})

	t.Run("bulk loaded tickets", func(t *testing.T) {
		st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "switchboard.db"), sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if n, err := countTickets(ctx, st); err != nil || n != 20000 {
			t.Fatalf("the store holds %d tickets (%v), want 20000", n, err)
		}
		p, err := st.ListTickets(ctx, store.Query{PageSize: 20})
		if err != nil || len(p.Tickets) != 20 {
			t.Fatalf("listing: %d tickets, %v", len(p.Tickets), err)
		}
		seen := map[string]bool{}
		for i, tk := range p.Tickets {
			if i > 0 && tk.ID >= p.Tickets[i-1].ID {
				t.Errorf("ids not newest first: %s after %s", tk.ID, p.Tickets[i-1].ID)
			}
			if i > 0 && tk.CreateTime.After(p.Tickets[i-1].CreateTime) {
				t.Errorf("ids do not sort by creation time: %s (%s) after %s (%s)", tk.ID, tk.CreateTime, p.Tickets[i-1].ID, p.Tickets[i-1].CreateTime)
			}
			if !isTrackingNumberLike(tk.TrackingNumber) || seen[tk.TrackingNumber] {
				t.Errorf("tracking number %q", tk.TrackingNumber)
			}
			seen[tk.TrackingNumber] = true
			got, err := st.GetTicket(ctx, tk.TrackingNumber)
			if err != nil || got.ID != tk.ID || got.Title == "" || got.Caller.Phone == "" || got.Version < 1 {
				t.Errorf("GetTicket(%s) = %+v, %v", tk.TrackingNumber, got, err)
			}
			// No history: the store reports a ticket without events as not found.
			if evs, err := st.Events(ctx, tk.ID); len(evs) != 0 || (err != nil && !store.IsNotFound(err)) {
				t.Errorf("a bulk-loaded ticket has events %v, %v", evs, err)
			}
		}
	})

	t.Run("reuse with keep", func(t *testing.T) {
		var out2, errb2 bytes.Buffer
		args := append(slicesWithout(args, "--checks", "20000"), "--checks", "100")
		if err := benchCmd(ctx, args, &out2, &errb2); err != nil {
			t.Fatalf("second run: %v\n%s", err, errb2.String())
		}
		if !strings.Contains(out2.String(), "tickets: reused ") {
			t.Errorf("the second run did not reuse the data set:\n%s", out2.String())
		}
	})
}

// isTrackingNumberLike reports whether s looks like 20261128-000123.
func isTrackingNumberLike(s string) bool {
	return regexp.MustCompile(`^\d{8}-\d{6,}$`).MatchString(s)
}

// slicesWithout returns args without the flag name and its value.
func slicesWithout(args []string, name, value string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == name && i+1 < len(args) && args[i+1] == value {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}
