package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/store"
)

// outboxTests are the cases for stores that also implement store.Outbox,
// store.Inbox and store.Cursors (every store Switchboard ships does).
var outboxTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"OutboxClaimDeliverRetryDead", testOutboxLifecycle},
	{"OutboxOrderPerTicketAndUnit", testOutboxOrder},
	{"OutboxExcludesBackendsAndRespectsLeases", testOutboxExclude},
	{"OutboxConcurrentClaimersNeverShare", testOutboxConcurrentClaims},
	{"OutboxNotifiesOnCommit", testOutboxNotify},
	{"OutboxStatsAndExternalIDs", testOutboxStats},
	{"UpdateKeyAppliesOnce", testUpdateKey},
	{"CreateWithMoreEvents", testCreateMore},
	{"InboxClaimAck", testInbox},
	{"Cursors", testCursors},
}

func outboxOf(t *testing.T, s store.Store) store.Outbox {
	t.Helper()
	o, ok := s.(store.Outbox)
	if !ok {
		t.Fatalf("%T does not implement store.Outbox", s)
	}
	return o
}

// withOutbox creates a ticket with messages for the given units and backends.
func withOutbox(t *testing.T, s store.Store, at time.Time, msgs ...store.Message) ticket.Ticket {
	t.Helper()
	c := sample(at)
	for i := range msgs {
		if msgs[i].Key == "" {
			msgs[i].Key = fmt.Sprintf("%s/1/%s", c.Ticket.ID, msgs[i].Unit)
		}
		if msgs[i].Topic == "" {
			msgs[i].Topic = "ticket.dispatch"
		}
		msgs[i].Payload = []byte(`{"标题":"` + c.Ticket.Title + `"}`)
	}
	c.Outbox = msgs
	return create(t, s, c)
}

func claim(t *testing.T, o store.Outbox, owner string, now time.Time, limit int, exclude ...string) []store.Pending {
	t.Helper()
	got, err := o.Claim(context.Background(), store.Claim{Owner: owner, Now: now, Until: now.Add(30 * time.Second), Limit: limit, Exclude: exclude})
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return got
}

func testOutboxLifecycle(t *testing.T, s store.Store) {
	ctx := context.Background()
	o := outboxOf(t, s)
	tk := withOutbox(t, s, base, store.Message{Unit: "gz-samr", Backend: "gz-samr-rest"})
	// A read without a lease sees the message and leaves it claimable.
	for range 2 {
		read, err := o.Claim(ctx, store.Claim{Now: base, Limit: 10, NoLease: true})
		if err != nil || len(read) != 1 || read[0].TicketID != tk.ID {
			t.Fatalf("Claim without lease = %+v, %v", read, err)
		}
	}
	got := claim(t, o, "a", base, 10)
	if len(got) != 1 {
		t.Fatalf("claimed %d messages, want 1", len(got))
	}
	m := got[0]
	if read, _ := o.Claim(ctx, store.Claim{Now: base, Limit: 10, NoLease: true}); len(read) != 0 {
		t.Fatalf("a read without lease returned a leased message: %+v", read)
	}
	if m.TrackingNumber != tk.TrackingNumber || m.TrackingNumber == "" {
		t.Fatalf("claimed tracking number %q, ticket has %q", m.TrackingNumber, tk.TrackingNumber)
	}
	if m.TicketID != tk.ID || m.Backend != "gz-samr-rest" || m.Unit != "gz-samr" || m.Key != tk.ID+"/1/gz-samr" || m.Attempts != 0 {
		t.Fatalf("claimed %+v", m)
	}
	if string(m.Payload) != `{"标题":"预付卡退款"}` {
		t.Fatalf("payload %q: Chinese text changed", m.Payload)
	}
	if again := claim(t, o, "b", base, 10); len(again) != 0 {
		t.Fatalf("a leased message was claimed again: %+v", again)
	}
	// A failed attempt: due again later, not before.
	if err := o.Retry(ctx, m.ID, "a", base.Add(time.Second), "连接被拒绝", true); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	if got := claim(t, o, "a", base.Add(500*time.Millisecond), 10); len(got) != 0 {
		t.Fatalf("claimed before its retry time: %+v", got)
	}
	got = claim(t, o, "a", base.Add(time.Second), 10)
	if len(got) != 1 || got[0].Attempts != 1 || got[0].LastErr != "连接被拒绝" {
		t.Fatalf("after a retry: %+v", got)
	}
	// The breaker refused the call: no attempt counted.
	if err := o.Retry(ctx, m.ID, "a", base.Add(time.Second), "breaker open", false); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	got = claim(t, o, "a", base.Add(time.Second), 10)
	if len(got) != 1 || got[0].Attempts != 1 {
		t.Fatalf("a refused call counted as an attempt: %+v", got)
	}
	// Another owner cannot settle a lease it does not hold.
	if err := o.Delivered(ctx, m.ID, "b", store.Delivered{At: base}); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("Delivered by a non-owner: %v, want ErrLeaseLost", err)
	}
	if err := o.DeadLetter(ctx, m.ID, "a", "超过最大重试次数", base.Add(2*time.Second)); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	if got := claim(t, o, "a", base.Add(time.Hour), 10); len(got) != 0 {
		t.Fatalf("a dead letter was claimed: %+v", got)
	}
	dead, err := o.DeadLetters(ctx, store.DeadQuery{})
	if err != nil || len(dead) != 1 || dead[0].DeadReason != "超过最大重试次数" || dead[0].Attempts != 2 || !dead[0].DeadAt.Equal(base.Add(2*time.Second)) {
		t.Fatalf("DeadLetters = %+v, %v", dead, err)
	}
	if n, err := o.Redrive(ctx, store.Redrive{Backend: "other", Now: base}); err != nil || n != 0 {
		t.Fatalf("Redrive of another backend = %d, %v", n, err)
	}
	if n, err := o.Redrive(ctx, store.Redrive{IDs: []int64{m.ID}, Now: base.Add(time.Hour)}); err != nil || n != 1 {
		t.Fatalf("Redrive = %d, %v", n, err)
	}
	got = claim(t, o, "c", base.Add(time.Hour), 10)
	if len(got) != 1 || got[0].Attempts != 0 {
		t.Fatalf("after redrive: %+v", got)
	}
	if err := o.Delivered(ctx, m.ID, "c", store.Delivered{At: base.Add(time.Hour), ExternalID: "GZ-2026-001"}); err != nil {
		t.Fatalf("Delivered: %v", err)
	}
	if err := o.Delivered(ctx, m.ID, "c", store.Delivered{At: base.Add(time.Hour)}); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("second Delivered: %v, want ErrLeaseLost", err)
	}
	if got := claim(t, o, "c", base.Add(2*time.Hour), 10); len(got) != 0 {
		t.Fatalf("a delivered message was claimed: %+v", got)
	}
	if dead, _ := o.DeadLetters(ctx, store.DeadQuery{}); len(dead) != 0 {
		t.Fatalf("dead letters after redrive and delivery: %+v", dead)
	}
}

func testOutboxOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	o := outboxOf(t, s)
	tk := withOutbox(t, s, base, store.Message{Unit: "gz-samr", Backend: "b1"}, store.Message{Unit: "th-district", Backend: "b2"})
	// A second event of the same ticket for both units.
	if _, err := s.UpdateTicket(ctx, tk.ID, advance(ticket.Dispatched, base.Add(time.Second), func(n *ticket.Ticket) { n.HandlingUnit = "gz-samr" })); err != nil {
		t.Fatalf("UpdateTicket: %v", err)
	}
	if _, err := s.UpdateTicket(ctx, tk.ID, func(cur ticket.Ticket) (store.Change, error) {
		n := cur
		n.Version++
		return store.Change{Ticket: n, Event: ticket.Event{Seq: n.Version, Action: "test", From: cur.State, To: cur.State, Time: base.Add(2 * time.Second)},
			Outbox: []store.Message{{Topic: "ticket.supervise", Unit: "th-district", Backend: "b2", Key: tk.ID + "/3/th-district"}}}, nil
	}); err != nil {
		t.Fatalf("UpdateTicket: %v", err)
	}
	now := base.Add(time.Minute)
	got := claim(t, o, "a", now, 10)
	if len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 1 {
		t.Fatalf("first claim = %+v, want the two seq-1 messages only", got)
	}
	// The next message of unit gz-samr waits for the first one even after
	// its lease expires and its retry is due.
	if err := o.Retry(ctx, got[0].ID, "a", now, "超时", true); err != nil {
		t.Fatal(err)
	}
	again := claim(t, o, "b", now, 10)
	if len(again) != 1 || again[0].ID != got[0].ID {
		t.Fatalf("after a retry the claim = %+v, want the same first message %d", again, got[0].ID)
	}
	if err := o.Delivered(ctx, got[1].ID, "a", store.Delivered{At: now}); err != nil {
		t.Fatal(err)
	}
	next := claim(t, o, "b", now, 10)
	if len(next) != 1 || next[0].Unit != "th-district" || next[0].Seq != 3 {
		t.Fatalf("after th-district's first delivery the claim = %+v, want its seq-3 message", next)
	}
	if err := o.Delivered(ctx, again[0].ID, "b", store.Delivered{At: now}); err != nil {
		t.Fatal(err)
	}
	last := claim(t, o, "b", now, 10)
	if len(last) != 1 || last[0].Unit != "gz-samr" || last[0].Seq != 2 {
		t.Fatalf("after gz-samr's first delivery the claim = %+v, want its seq-2 message", last)
	}
	// A dead first message no longer holds back the later ones.
	if err := o.DeadLetter(ctx, next[0].ID, "b", "拒收", now); err != nil {
		t.Fatal(err)
	}
}

func testOutboxExclude(t *testing.T, s store.Store) {
	ctx := context.Background()
	o := outboxOf(t, s)
	for i := range 6 {
		b := "good"
		if i%2 == 0 {
			b = "hung"
		}
		withOutbox(t, s, base.Add(time.Duration(i)*time.Millisecond), store.Message{Unit: "u" + b, Backend: b})
	}
	got := claim(t, o, "a", base.Add(time.Second), 2, "hung")
	if len(got) != 2 || got[0].Backend != "good" || got[1].Backend != "good" || got[0].ID > got[1].ID {
		t.Fatalf("claim excluding hung = %+v", got)
	}
	// An open breaker parks its backend's messages until its probe.
	if n, err := o.Park(ctx, "hung", base.Add(time.Second), base.Add(5*time.Second)); err != nil || n != 3 {
		t.Fatalf("Park = %d, %v; want 3", n, err)
	}
	if got := claim(t, o, "a", base.Add(4*time.Second), 10); len(got) != 1 || got[0].Backend != "good" {
		t.Fatalf("claim while hung is parked = %+v, want the last good message", got)
	}
	// Its breaker closes early: unparked, its messages are due at once;
	// parked again, they wait again.
	if n, err := o.Unpark(ctx, "hung", base.Add(2*time.Second)); err != nil || n != 3 {
		t.Fatalf("Unpark = %d, %v; want 3", n, err)
	}
	if got, err := o.Claim(ctx, store.Claim{Now: base.Add(2 * time.Second), Limit: 10, NoLease: true}); err != nil || len(got) != 3 {
		t.Fatalf("due after Unpark: %d, %v; want 3", len(got), err)
	}
	if n, err := o.Park(ctx, "hung", base.Add(2*time.Second), base.Add(5*time.Second)); err != nil || n != 3 {
		t.Fatalf("Park again = %d, %v; want 3", n, err)
	}
	if got := claim(t, o, "a", base.Add(5*time.Second), 10); len(got) != 3 || got[0].Backend != "hung" {
		t.Fatalf("claim when the parked messages are due = %+v, want the 3 hung ones", got)
	}
	// Leases end: an instance that died leaves its messages to the others.
	late := base.Add(5*time.Second + 31*time.Second)
	if got := claim(t, o, "b", late, 10); len(got) != 6 {
		t.Fatalf("after the leases ended another owner claimed %d, want 6", len(got))
	}
	n, err := o.ReleaseLeases(ctx, "b")
	if err != nil || n != 6 {
		t.Fatalf("ReleaseLeases = %d, %v", n, err)
	}
	if got := claim(t, o, "c", late, 10); len(got) != 6 {
		t.Fatalf("after release claimed %d, want 6", len(got))
	}
}

func testOutboxConcurrentClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	o := outboxOf(t, s)
	const tickets = 200
	for i := range tickets {
		withOutbox(t, s, base, store.Message{Unit: fmt.Sprintf("u%d", i%7), Backend: fmt.Sprintf("b%d", i%7)})
	}
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("w%d", w)
			for {
				got, err := o.Claim(ctx, store.Claim{Owner: owner, Now: base, Until: base.Add(time.Minute), Limit: 7})
				if err != nil {
					t.Errorf("Claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				for _, m := range got {
					mu.Lock()
					if prev, dup := seen[m.ID]; dup {
						t.Errorf("message %d claimed by %s and %s", m.ID, prev, owner)
					}
					seen[m.ID] = owner
					mu.Unlock()
					if err := o.Delivered(ctx, m.ID, owner, store.Delivered{At: base}); err != nil {
						t.Errorf("Delivered: %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != tickets {
		t.Fatalf("delivered %d messages, want %d", len(seen), tickets)
	}
}

func testOutboxNotify(t *testing.T, s store.Store) {
	o := outboxOf(t, s)
	ch := o.OutboxNotify()
	// Drain a notification left by nothing in particular.
	select {
	case <-ch:
	default:
	}
	create(t, s, sample(base)) // no outbox messages: no wake-up needed
	withOutbox(t, s, base, store.Message{Unit: "gz-samr", Backend: "b"})
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no notification after a commit with outbox messages")
	}
}

func testOutboxStats(t *testing.T, s store.Store) {
	ctx := context.Background()
	o := outboxOf(t, s)
	t1 := withOutbox(t, s, base, store.Message{Unit: "u1", Backend: "rest-1"})
	withOutbox(t, s, base.Add(time.Second), store.Message{Unit: "u1", Backend: "rest-1"})
	withOutbox(t, s, base.Add(2*time.Second), store.Message{Unit: "u2", Backend: "soap-2"})
	now := base.Add(time.Minute)
	got := claim(t, o, "a", now, 1)
	if err := o.Delivered(ctx, got[0].ID, "a", store.Delivered{At: now, ExternalID: "粤2026-00001"}); err != nil {
		t.Fatal(err)
	}
	got = claim(t, o, "a", now, 1)
	stats, err := o.OutboxStats(ctx, now)
	if err != nil {
		t.Fatalf("OutboxStats: %v", err)
	}
	byBackend := map[string]store.QueueStats{}
	for _, q := range stats {
		byBackend[q.Backend] = q
	}
	r := byBackend["rest-1"]
	if r.Pending != 1 || r.Delivered != 1 || r.Attempts != 1 || r.InFlight != 1 || !r.OldestPending.Equal(base.Add(time.Second)) {
		t.Fatalf("rest-1 stats %+v", r)
	}
	if q := byBackend["soap-2"]; q.Pending != 1 || q.InFlight != 0 || !q.OldestPending.Equal(base.Add(2*time.Second)) {
		t.Fatalf("soap-2 stats %+v", q)
	}
	id, err := o.TicketByExternalID(ctx, "rest-1", "粤2026-00001")
	if err != nil || id != t1.ID {
		t.Fatalf("TicketByExternalID = %q, %v; want %q", id, err, t1.ID)
	}
	if _, err := o.TicketByExternalID(ctx, "soap-2", "粤2026-00001"); !store.IsNotFound(err) {
		t.Fatalf("TicketByExternalID of another backend: %v, want not found", err)
	}
	_ = got
}

func testUpdateKey(t *testing.T, s store.Store) {
	ctx := context.Background()
	tk := create(t, s, sample(base))
	key := "gz-samr-rest/upd-签收-1"
	sign := func(cur ticket.Ticket) (store.Change, error) {
		n := cur
		n.Version++
		n.State = ticket.Signed
		return store.Change{Ticket: n, UpdateKey: key,
			Event: ticket.Event{Seq: n.Version, Action: "sign", From: cur.State, To: n.State, Actor: "backend:gz-samr-rest", Time: base}}, nil
	}
	if _, err := s.UpdateTicket(ctx, tk.ID, sign); err != nil {
		t.Fatalf("first update: %v", err)
	}
	if _, err := s.UpdateTicket(ctx, tk.ID, sign); !errors.Is(err, store.ErrDuplicateUpdate) {
		t.Fatalf("repeated update: %v, want ErrDuplicateUpdate", err)
	}
	evs, err := s.Events(ctx, tk.ID)
	if err != nil || len(evs) != 2 {
		t.Fatalf("events after a repeated update: %d, %v; want 2", len(evs), err)
	}
	// Concurrent repeats: exactly one applies.
	tk2 := create(t, s, sample(base))
	key = "gz-samr-rest/upd-签收-2"
	var wg sync.WaitGroup
	var mu sync.Mutex
	applied := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateTicket(ctx, tk2.ID, sign)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				applied++
			case errors.Is(err, store.ErrDuplicateUpdate), errors.Is(err, store.ErrVersionConflict):
			default:
				t.Errorf("concurrent repeat: %v", err)
			}
		}()
	}
	wg.Wait()
	if applied != 1 {
		t.Fatalf("%d concurrent repeats applied, want 1", applied)
	}
}

func testCreateMore(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := sample(base)
	c.Ticket.State, c.Ticket.HandlingUnit, c.Ticket.Version = ticket.Dispatched, "gz-samr", 2
	c.More = []ticket.Event{{Seq: 2, Action: "dispatch", From: ticket.Received, To: ticket.Dispatched, Actor: "routing:规则", Time: base}}
	c.Outbox = []store.Message{{Topic: "ticket.dispatch", Unit: "gz-samr", Backend: "gz-samr-rest", Key: c.Ticket.ID + "/2/gz-samr"}}
	tk := create(t, s, c)
	evs, err := s.Events(ctx, tk.ID)
	if err != nil || len(evs) != 2 || evs[1].Action != "dispatch" || evs[1].Actor != "routing:规则" {
		t.Fatalf("events = %+v, %v", evs, err)
	}
	got := claim(t, outboxOf(t, s), "a", base, 10)
	if len(got) != 1 || got[0].Seq != 2 || got[0].Backend != "gz-samr-rest" {
		t.Fatalf("claimed %+v", got)
	}
}

func testInbox(t *testing.T, s store.Store) {
	ctx := context.Background()
	in, ok := s.(store.Inbox)
	if !ok {
		t.Fatalf("%T does not implement store.Inbox", s)
	}
	for i := range 3 {
		fresh, err := in.PutInbox(ctx, store.InboxItem{Key: fmt.Sprintf("T%d/2/th-jiedao", i), Unit: "th-jiedao", TicketID: fmt.Sprintf("T%d", i),
			Topic: "ticket.dispatch", Payload: []byte(`{"地址":"天河区体育西路"}`), Created: base.Add(time.Duration(i) * time.Second)})
		if err != nil || !fresh {
			t.Fatalf("PutInbox = %v, %v", fresh, err)
		}
	}
	if fresh, err := in.PutInbox(ctx, store.InboxItem{Key: "T0/2/th-jiedao", Unit: "th-jiedao", TicketID: "T0", Topic: "ticket.dispatch", Created: base}); err != nil || fresh {
		t.Fatalf("repeated PutInbox = %v, %v; want not fresh", fresh, err)
	}
	list, err := in.ListInbox(ctx, store.InboxQuery{Unit: "th-jiedao", Now: base})
	if err != nil || len(list) != 3 || string(list[0].Payload) != `{"地址":"天河区体育西路"}` {
		t.Fatalf("ListInbox = %+v, %v", list, err)
	}
	got, err := in.ClaimInbox(ctx, "th-jiedao", "staff:李娜", base, base.Add(10*time.Minute), 2)
	if err != nil || len(got) != 2 || got[0].Key != "T0/2/th-jiedao" || got[0].ClaimedBy != "staff:李娜" {
		t.Fatalf("ClaimInbox = %+v, %v", got, err)
	}
	if open, _ := in.ListInbox(ctx, store.InboxQuery{Unit: "th-jiedao", Now: base}); len(open) != 1 {
		t.Fatalf("open items after a claim: %d, want 1", len(open))
	}
	if _, err := in.AckInbox(ctx, "th-jiedao", got[0].Key, "staff:赵强", base); err == nil {
		t.Fatal("acknowledging another's live claim succeeded")
	}
	ack, err := in.AckInbox(ctx, "th-jiedao", got[0].Key, "staff:李娜", base.Add(time.Minute))
	if err != nil || ack.AckedBy != "staff:李娜" {
		t.Fatalf("AckInbox = %+v, %v", ack, err)
	}
	if _, err := in.AckInbox(ctx, "th-jiedao", got[0].Key, "staff:李娜", base.Add(time.Minute)); err != nil {
		t.Fatalf("second AckInbox: %v", err)
	}
	if _, err := in.AckInbox(ctx, "other-unit", got[1].Key, "staff:李娜", base); !store.IsNotFound(err) {
		t.Fatalf("AckInbox in another unit: %v, want not found", err)
	}
	// An expired claim returns the item to the queue.
	later := base.Add(11 * time.Minute)
	if open, _ := in.ListInbox(ctx, store.InboxQuery{Unit: "th-jiedao", Now: later}); len(open) != 2 {
		t.Fatalf("open items after the claim expired: %d, want 2", len(open))
	}
	all, _ := in.ListInbox(ctx, store.InboxQuery{Unit: "th-jiedao", All: true, Now: later})
	if len(all) != 3 {
		t.Fatalf("all items: %d, want 3", len(all))
	}
}

func testCursors(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, ok := s.(store.Cursors)
	if !ok {
		t.Fatalf("%T does not implement store.Cursors", s)
	}
	if got, err := c.Cursor(ctx, "gz-urban-open311"); err != nil || got != "" {
		t.Fatalf("Cursor of a new backend = %q, %v", got, err)
	}
	for _, v := range []string{"2026-11-28T09:30:00+08:00", "游标-2"} {
		if err := c.SetCursor(ctx, "gz-urban-open311", v); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Cursor(ctx, "gz-urban-open311"); err != nil || got != v {
			t.Fatalf("Cursor = %q, %v; want %q", got, err, v)
		}
	}
}
