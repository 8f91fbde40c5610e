package lifecycle_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/ticket"
)

func TestNewTicket(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                string
		at                  time.Time
		urgency, want       ticket.Urgency
		wantSign, wantReply time.Time
	}{
		{"default urgency is normal", friday, "", ticket.Normal, date(2026, 11, 30, 10, 0), date(2026, 12, 4, 10, 0)},
		{"normal kept", friday, ticket.Normal, ticket.Normal, date(2026, 11, 30, 10, 0), date(2026, 12, 4, 10, 0)},
		{"urgent kept", friday, ticket.Urgent, ticket.Urgent, date(2026, 11, 27, 10, 30), date(2026, 12, 4, 10, 0)},
		{"critical kept", friday, ticket.Critical, ticket.Critical, date(2026, 11, 27, 10, 15), date(2026, 12, 4, 10, 0)},
		{"before the Spring Festival", date(2026, 2, 13, 10, 0), "", ticket.Normal, date(2026, 2, 14, 10, 0), date(2026, 2, 27, 10, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := intake()
			in.Urgency = tc.urgency
			// Whatever the caller left in these fields is overwritten.
			in.ID, in.State, in.Version = "stale", ticket.Closed, 42
			inCopy := clone(in)

			got, ev := machine.NewTicket(in, "tk-0001", "operator-7", tc.at)

			if !reflect.DeepEqual(in, inCopy) {
				t.Errorf("NewTicket modified its argument: %v", ticketDiff(inCopy, in))
			}
			want := intake()
			want.ID = "tk-0001"
			want.State = ticket.Received
			want.Version = 1
			want.Urgency = tc.want
			want.CreateTime, want.UpdateTime = tc.at, tc.at
			want.SignBy, want.ReplyBy = tc.wantSign, tc.wantReply
			for _, d := range ticketDiff(want, got) {
				t.Error(d)
			}
			// The provisional deadlines are what dispatching now would give.
			sign, reply := policy.Deadlines(tc.at, string(tc.want), "COMPLAINT", "0101")
			if !got.SignBy.Equal(sign) || !got.ReplyBy.Equal(reply) {
				t.Errorf("provisional signBy %s replyBy %s, policy says %s %s", show(got.SignBy), show(got.ReplyBy), show(sign), show(reply))
			}
			wantEv := ticket.Event{TicketID: "tk-0001", Seq: 1, Action: "create", To: ticket.Received, Actor: "operator-7", Time: ev.Time}
			if !reflect.DeepEqual(ev, wantEv) || !ev.Time.Equal(tc.at) {
				t.Errorf("event %+v, want %+v at %v", ev, wantEv, tc.at)
			}
			if ev.Action != string(lifecycle.Create) {
				t.Errorf("event action %q, want %q", ev.Action, lifecycle.Create)
			}
			// A received ticket is never overdue, however late.
			if got.Overdue(tc.at.Add(10 * 365 * 24 * time.Hour)) {
				t.Error("a received ticket is overdue")
			}
			if got.DispatchTime != (time.Time{}) || got.HandlingUnit != "" {
				t.Errorf("new ticket looks dispatched: %v %q", got.DispatchTime, got.HandlingUnit)
			}
		})
	}
}

// TestNewTicketThenDispatch: dispatch replaces the provisional deadlines with
// ones counted from the dispatch.
func TestNewTicketThenDispatch(t *testing.T) {
	t.Parallel()
	created := newTicket(friday) // provisional: Mon 30 Nov 10:00, Fri 4 Dec 10:00
	at := date(2026, 11, 30, 14, 0)
	got, _ := mustApply(t, created, lifecycle.Command{Action: lifecycle.Dispatch, HandlingUnit: "unit-a"}, at)
	if want := date(2026, 12, 1, 14, 0); !got.SignBy.Equal(want) {
		t.Errorf("signBy %s, want %s", show(got.SignBy), show(want))
	}
	if want := date(2026, 12, 7, 14, 0); !got.ReplyBy.Equal(want) {
		t.Errorf("replyBy %s, want %s", show(got.ReplyBy), show(want))
	}
	if got.Version != 2 || !got.CreateTime.Equal(friday) {
		t.Errorf("version %d createTime %v", got.Version, got.CreateTime)
	}
}
