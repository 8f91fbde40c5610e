// Package storetest is the conformance suite every store.Store implementation
// runs, like testing/fstest for file systems: Run(t, open) checks creation,
// idempotency, tracking numbers, updates with their events, lists with filters and
// keyset pagination, and Chinese text round trips.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/store"
)

// Open returns an empty store for one subtest; the suite closes it.
type Open func(t *testing.T) store.Store

// Run runs the conformance suite against the stores open returns.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateAndGet", testCreateAndGet},
		{"Idempotency", testIdempotency},
		{"ConcurrentCreatesGetUniqueTrackingNumbers", testConcurrentCreates},
		{"UpdateAppendsEvent", testUpdate},
		{"FailedUpdateChangesNothing", testFailedUpdate},
		{"ConcurrentUpdatesSerialise", testConcurrentUpdates},
		{"NotFound", testNotFound},
		{"ListFiltersAndPages", testList},
		{"ListOverdue", testListOverdue},
		{"CountByState", testCountByState},
		{"CountByDialedNumber", testCountByDialedNumber},
	}
	tests = append(tests, outboxTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// base is the moment the suite's tickets are created around.
var base = time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)

var ids struct {
	sync.Mutex
	n int
}

// newID returns ids that sort by creation order, as the service's ids do.
func newID() string {
	ids.Lock()
	defer ids.Unlock()
	ids.n++
	return fmt.Sprintf("T%010d", ids.n)
}

// sample returns a new ticket with real Chinese text, created at at.
func sample(at time.Time) store.Create {
	id := newID()
	t := ticket.Ticket{
		ID:           id,
		State:        ticket.Received,
		Channel:      "PHONE",
		DialedNumber: "12345",
		Caller:       ticket.Caller{Name: "张三", Phone: "13800138000"},
		Title:        "预付卡退款",
		Content:      "西饼店倒闭，预付卡无法退款。店名：“好利来”分店；金额：￥1,280.00 🙏",
		Location:     ticket.Location{Address: "广州市天河区体育西路1号", RegionCode: "440106"},
		Category:     "030101",
		RequestType:  "COMPLAINT",
		Urgency:      ticket.Normal,
		CreateTime:   at,
		UpdateTime:   at,
		Version:      1,
	}
	return store.Create{
		Ticket: t,
		Event:  ticket.Event{TicketID: id, Seq: 1, Action: "create", To: ticket.Received, Actor: "operator:王芳", Time: at},
	}
}

func create(t *testing.T, s store.Store, c store.Create) ticket.Ticket {
	t.Helper()
	got, replayed, err := s.CreateTicket(context.Background(), c)
	if err != nil {
		t.Fatalf("CreateTicket: %v", err)
	}
	if replayed {
		t.Fatalf("CreateTicket of a new ticket reported a replay")
	}
	return got
}

// advance returns an update that moves a ticket to state st.
func advance(st ticket.State, at time.Time, edit func(*ticket.Ticket)) store.UpdateFunc {
	return func(cur ticket.Ticket) (store.Change, error) {
		n := cur
		n.State = st
		n.Version++
		n.UpdateTime = at
		if edit != nil {
			edit(&n)
		}
		return store.Change{Ticket: n, Event: ticket.Event{Seq: n.Version, Action: "test", From: cur.State, To: st, Actor: "单位:天河区", Reason: "测试原因", Details: map[string]string{"单位": "天河区"}, Time: at},
			Outbox: []store.Message{{Topic: "ticket.test", Unit: n.HandlingUnit, Key: fmt.Sprintf("%s/%d", n.ID, n.Version), Payload: []byte(`{"标题":"预付卡退款"}`)}}}, nil
	}
}

func testCreateAndGet(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := sample(base)
	got := create(t, s, c)
	want := trackingDay(base) + "-"
	if !strings.HasPrefix(got.TrackingNumber, want) || len(got.TrackingNumber) < len(want)+6 {
		t.Fatalf("tracking number %q, want %s plus a 6-digit sequence", got.TrackingNumber, want)
	}
	for _, ref := range []string{got.ID, got.TrackingNumber} {
		back, err := s.GetTicket(ctx, ref)
		if err != nil {
			t.Fatalf("GetTicket(%q): %v", ref, err)
		}
		c.Ticket.TrackingNumber = got.TrackingNumber
		if d := diff(back, c.Ticket); d != "" {
			t.Errorf("GetTicket(%q) differs from what was stored: %s", ref, d)
		}
	}
	evs, err := s.Events(ctx, got.ID)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	if len(evs) != 1 || evs[0].Action != "create" || evs[0].Actor != "operator:王芳" || !evs[0].Time.Equal(base) {
		t.Fatalf("events after create = %+v, want the one create event", evs)
	}
}

func testIdempotency(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := sample(base)
	c.IdempotencyKey, c.Fingerprint = "客户端-key-1", "fp-a"
	first := create(t, s, c)

	again := sample(base.Add(time.Second)) // a retry gets a fresh id from the service
	again.IdempotencyKey, again.Fingerprint = c.IdempotencyKey, "fp-a"
	got, replayed, err := s.CreateTicket(ctx, again)
	if err != nil || !replayed {
		t.Fatalf("replay: replayed=%v err=%v, want the stored ticket", replayed, err)
	}
	if got.ID != first.ID || got.TrackingNumber != first.TrackingNumber {
		t.Fatalf("replay returned %s/%s, want %s/%s", got.ID, got.TrackingNumber, first.ID, first.TrackingNumber)
	}
	if _, err := s.GetTicket(ctx, again.Ticket.ID); !store.IsNotFound(err) {
		t.Fatalf("a replay stored a second ticket (GetTicket err=%v)", err)
	}

	other := sample(base)
	other.IdempotencyKey, other.Fingerprint = c.IdempotencyKey, "fp-b"
	_, _, err = s.CreateTicket(ctx, other)
	if !errors.Is(err, store.ErrIdempotencyConflict) || errs.KindOf(err) != errs.Conflict {
		t.Fatalf("same key, other body: err = %v, want ErrIdempotencyConflict", err)
	}

	// Concurrent first uses of one key create exactly one ticket.
	const n = 16
	var wg sync.WaitGroup
	got2 := make([]ticket.Ticket, n)
	errs2 := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := sample(base)
			c.IdempotencyKey, c.Fingerprint = "concurrent", "fp"
			got2[i], _, errs2[i] = s.CreateTicket(ctx, c)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs2[i] != nil {
			t.Fatalf("concurrent create %d: %v", i, errs2[i])
		}
		if got2[i].ID != got2[0].ID {
			t.Fatalf("concurrent creates with one key made tickets %s and %s", got2[0].ID, got2[i].ID)
		}
	}
}

func testConcurrentCreates(t *testing.T, s store.Store) {
	const workers, each = 8, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]string{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Straddle midnight in Asia/Shanghai (16:00 UTC) to cover the day change.
				at := time.Date(2026, 11, 28, 15, 59, 59, 0, time.UTC).Add(time.Duration(w*each+i) * 10 * time.Millisecond)
				got, _, err := s.CreateTicket(context.Background(), sample(at))
				if err != nil {
					t.Errorf("CreateTicket: %v", err)
					return
				}
				mu.Lock()
				if prev, dup := seen[got.TrackingNumber]; dup {
					t.Errorf("tracking number %s given to %s and %s", got.TrackingNumber, prev, got.ID)
				}
				seen[got.TrackingNumber] = got.ID
				if day := trackingDay(at); !strings.HasPrefix(got.TrackingNumber, day) {
					t.Errorf("ticket created %v got %s, want day %s", at, got.TrackingNumber, day)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Fatalf("%d tracking numbers for %d tickets", len(seen), workers*each)
	}
}

func testUpdate(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := create(t, s, sample(base))
	at := base.Add(time.Hour)
	got, err := s.UpdateTicket(ctx, c.TrackingNumber, advance(ticket.Dispatched, at, func(n *ticket.Ticket) {
		n.HandlingUnit = "440106-市场监管"
		n.CoHandlingUnits = []string{"440106001", "440106002"}
		n.SignBy = at.Add(24 * time.Hour)
	}))
	if err != nil {
		t.Fatalf("UpdateTicket: %v", err)
	}
	if got.Version != 2 || got.State != ticket.Dispatched || got.HandlingUnit != "440106-市场监管" {
		t.Fatalf("after update: %+v", got)
	}
	back, err := s.GetTicket(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(back, got); d != "" {
		t.Fatalf("stored ticket differs from returned: %s", d)
	}
	if _, err := s.UpdateTicket(ctx, c.ID, advance(ticket.Signed, at.Add(time.Minute), func(n *ticket.Ticket) { n.CoHandlingUnits = nil })); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3", len(evs))
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Errorf("event %d has seq %d", i, e.Seq)
		}
	}
	if e := evs[1]; e.From != ticket.Received || e.To != ticket.Dispatched || e.Reason != "测试原因" || e.Details["单位"] != "天河区" || !e.Time.Equal(at) {
		t.Errorf("dispatch event = %+v", e)
	}
}

func testFailedUpdate(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := create(t, s, sample(base))
	refuse := errs.E(errs.Precondition, "not now")
	_, err := s.UpdateTicket(ctx, c.ID, func(ticket.Ticket) (store.Change, error) { return store.Change{}, refuse })
	if !errors.Is(err, refuse) {
		t.Fatalf("UpdateTicket err = %v, want the function's error", err)
	}
	// An update that fails while others share its batch leaves them intact.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				s.UpdateTicket(ctx, c.ID, func(ticket.Ticket) (store.Change, error) { return store.Change{}, refuse })
				return
			}
			if _, _, err := s.CreateTicket(ctx, sample(base)); err != nil {
				t.Errorf("create beside a failing update: %v", err)
			}
		}()
	}
	wg.Wait()
	back, err := s.GetTicket(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if back.Version != 1 || back.State != ticket.Received {
		t.Fatalf("failed updates changed the ticket: %+v", back)
	}
	if evs, _ := s.Events(ctx, c.ID); len(evs) != 1 {
		t.Fatalf("failed updates appended events: %d", len(evs))
	}
}

func testConcurrentUpdates(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := create(t, s, sample(base))
	const n = 25
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.UpdateTicket(ctx, c.ID, advance(ticket.InProgress, base.Add(time.Hour), nil)); err != nil {
				t.Errorf("UpdateTicket: %v", err)
			}
		}()
	}
	wg.Wait()
	back, _ := s.GetTicket(ctx, c.ID)
	if back.Version != n+1 {
		t.Fatalf("version %d after %d updates, want %d: an update was lost", back.Version, n, n+1)
	}
	evs, _ := s.Events(ctx, c.ID)
	if len(evs) != n+1 {
		t.Fatalf("%d events, want %d", len(evs), n+1)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, ref := range []string{"NOSUCHID", "20261128-999999"} {
		if _, err := s.GetTicket(ctx, ref); !store.IsNotFound(err) || errs.KindOf(err) != errs.NotFound {
			t.Errorf("GetTicket(%q) err = %v, want not found", ref, err)
		}
		if _, err := s.UpdateTicket(ctx, ref, advance(ticket.Closed, base, nil)); !store.IsNotFound(err) {
			t.Errorf("UpdateTicket(%q) err = %v, want not found", ref, err)
		}
		if _, err := s.Events(ctx, ref); !store.IsNotFound(err) {
			t.Errorf("Events(%q) err = %v, want not found", ref, err)
		}
	}
}

func testList(t *testing.T, s store.Store) {
	ctx := context.Background()
	var all []ticket.Ticket
	units := []string{"天河区", "越秀区", "海珠区"}
	for i := range 30 {
		c := sample(base.Add(time.Duration(i) * time.Minute))
		c.Ticket.Category = []string{"030101", "030102", "0401"}[i%3]
		c.Ticket.DialedNumber = []string{"12345", "12315"}[i%2]
		tk := create(t, s, c)
		if i%3 != 0 {
			var err error
			tk, err = s.UpdateTicket(ctx, tk.ID, advance(ticket.Dispatched, tk.CreateTime, func(n *ticket.Ticket) { n.HandlingUnit = units[i%3] }))
			if err != nil {
				t.Fatal(err)
			}
		}
		all = append(all, tk)
	}
	slices.Reverse(all) // newest first

	cases := []struct {
		name string
		q    store.Query
		keep func(ticket.Ticket) bool
	}{
		{"all", store.Query{}, func(ticket.Ticket) bool { return true }},
		{"state", store.Query{States: []ticket.State{ticket.Dispatched}}, func(x ticket.Ticket) bool { return x.State == ticket.Dispatched }},
		{"two states", store.Query{States: []ticket.State{ticket.Dispatched, ticket.Received}}, func(ticket.Ticket) bool { return true }},
		{"unit", store.Query{HandlingUnit: "越秀区"}, func(x ticket.Ticket) bool { return x.HandlingUnit == "越秀区" }},
		{"category prefix", store.Query{CategoryPrefix: "0301"}, func(x ticket.Ticket) bool { return strings.HasPrefix(x.Category, "0301") }},
		{"category exact", store.Query{CategoryPrefix: "030102"}, func(x ticket.Ticket) bool { return x.Category == "030102" }},
		{"dialed", store.Query{DialedNumber: "12315"}, func(x ticket.Ticket) bool { return x.DialedNumber == "12315" }},
		{"created range", store.Query{CreatedAfter: base.Add(5 * time.Minute), CreatedBefore: base.Add(12 * time.Minute)},
			func(x ticket.Ticket) bool {
				return !x.CreateTime.Before(base.Add(5*time.Minute)) && x.CreateTime.Before(base.Add(12*time.Minute))
			}},
		{"combined", store.Query{CategoryPrefix: "03", DialedNumber: "12345", States: []ticket.State{ticket.Dispatched}},
			func(x ticket.Ticket) bool {
				return strings.HasPrefix(x.Category, "03") && x.DialedNumber == "12345" && x.State == ticket.Dispatched
			}},
	}
	for _, tc := range cases {
		for _, size := range []int{1, 4, 7, 100} {
			t.Run(fmt.Sprintf("%s/page%d", tc.name, size), func(t *testing.T) {
				var want []string
				for _, x := range all {
					if tc.keep(x) {
						want = append(want, x.ID)
					}
				}
				var got []string
				q := tc.q
				q.PageSize = size
				for pages := 0; ; pages++ {
					if pages > 40 {
						t.Fatal("pagination does not end")
					}
					p, err := s.ListTickets(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					if len(p.Tickets) > size {
						t.Fatalf("page of %d for size %d", len(p.Tickets), size)
					}
					for _, x := range p.Tickets {
						got = append(got, x.ID)
					}
					if !p.More {
						break
					}
					q.After = p.Tickets[len(p.Tickets)-1].ID
				}
				if !slices.Equal(got, want) {
					t.Fatalf("listed %v\nwant     %v", got, want)
				}
			})
		}
	}
}

func testListOverdue(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := base.Add(48 * time.Hour)
	mk := func(st ticket.State, signBy, replyBy time.Time) ticket.Ticket {
		tk := create(t, s, sample(base))
		tk, err := s.UpdateTicket(ctx, tk.ID, advance(st, base, func(n *ticket.Ticket) { n.SignBy, n.ReplyBy = signBy, replyBy }))
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	past, future := now.Add(-time.Minute), now.Add(time.Minute)
	tickets := []ticket.Ticket{
		mk(ticket.Dispatched, past, future),         // overdue: not signed in time
		mk(ticket.Dispatched, future, past),         // not: reply-by does not count yet
		mk(ticket.InProgress, past, past),           // overdue: not replied in time
		mk(ticket.Signed, past, future),             // not: signed, reply not yet due
		mk(ticket.Replied, past, past),              // not: replied
		mk(ticket.Reopened, past, future),           // overdue
		mk(ticket.ExtensionRequested, future, past), // overdue
	}
	create(t, s, sample(base)) // received: no deadlines
	for _, want := range []bool{true, false} {
		p, err := s.ListTickets(ctx, store.Query{Overdue: &want, Now: now, PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range p.Tickets {
			got = append(got, x.ID)
		}
		var exp []string
		for i := len(tickets) - 1; i >= 0; i-- {
			if tickets[i].Overdue(now) == want {
				exp = append(exp, tickets[i].ID)
			}
		}
		if !want {
			exp = append([]string{p.Tickets[0].ID}, exp...) // the received one, newest
		}
		if !slices.Equal(got, exp) {
			t.Errorf("overdue=%v listed %v, want %v", want, got, exp)
		}
	}
}

func testCountByState(t *testing.T, s store.Store) {
	ctx := context.Background()
	for range 3 {
		create(t, s, sample(base))
	}
	tk := create(t, s, sample(base))
	if _, err := s.UpdateTicket(ctx, tk.ID, advance(ticket.Dispatched, base, nil)); err != nil {
		t.Fatal(err)
	}
	got, err := s.CountByState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got[ticket.Received] != 3 || got[ticket.Dispatched] != 1 {
		t.Fatalf("CountByState = %v", got)
	}
}

func trackingDay(t time.Time) string { return t.In(time.FixedZone("CST", 8*3600)).Format("20060102") }

// diff describes how a differs from b, or returns "".
func diff(a, b ticket.Ticket) string {
	as, bs := fmt.Sprintf("%+v", norm(a)), fmt.Sprintf("%+v", norm(b))
	if as == bs {
		return ""
	}
	return "\n got  " + as + "\n want " + bs
}

func norm(t ticket.Ticket) ticket.Ticket {
	for _, p := range []*time.Time{&t.SignBy, &t.ReplyBy, &t.CreateTime, &t.UpdateTime, &t.DispatchTime, &t.SignTime, &t.ReplyTime, &t.CloseTime} {
		if !p.IsZero() {
			*p = p.UTC()
		}
	}
	if len(t.CoHandlingUnits) == 0 {
		t.CoHandlingUnits = nil
	}
	return t
}

// Sample returns a new ticket with real Chinese text, for tests outside the suite.
func Sample() store.Create { return sample(base) }

func testCountByDialedNumber(t *testing.T, s store.Store) {
	for i, number := range []string{"12315", "12315", "12333", "12345", "12315"} {
		c := sample(base.Add(time.Duration(i) * 24 * time.Hour))
		c.Ticket.DialedNumber = number
		create(t, s, c)
	}
	got, err := s.CountByDialedNumber(context.Background(), base.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got["12315"] != 2 || got["12333"] != 1 || got["12345"] != 1 || len(got) != 3 {
		t.Fatalf("CountByDialedNumber = %v", got)
	}
}
