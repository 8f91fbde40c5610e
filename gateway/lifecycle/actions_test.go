package lifecycle_test

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/ticket"
)

// TestActionEffects checks, for every action from every state that allows it,
// the whole resulting ticket (every field, not just the ones the action is
// about) and the event's details.
func TestActionEffects(t *testing.T) {
	t.Parallel()
	type expect func(in ticket.Ticket, c lifecycle.Command, now time.Time) (ticket.Ticket, map[string]string)
	with := func(edit func(c *lifecycle.Command)) func(ticket.Ticket, time.Time) lifecycle.Command {
		return func(in ticket.Ticket, now time.Time) lifecycle.Command {
			c := validCommand("", in, now)
			edit(&c)
			return c
		}
	}
	valid := func(a lifecycle.Action) func(ticket.Ticket, time.Time) lifecycle.Command {
		return func(in ticket.Ticket, now time.Time) lifecycle.Command { return validCommand(a, in, now) }
	}
	ptr := func(b bool) *bool { return &b }

	dispatched := func(in ticket.Ticket, c lifecycle.Command, now time.Time) (ticket.Ticket, map[string]string) {
		w := in
		if c.Category != "" {
			w.Category = c.Category
		}
		if c.Urgency != "" {
			w.Urgency = c.Urgency
		}
		w.State = ticket.Dispatched
		w.HandlingUnit = c.HandlingUnit
		w.CoHandlingUnits = c.CoHandlingUnits
		w.DispatchTime = now
		w.SignBy, w.ReplyBy = policy.Deadlines(now, string(w.Urgency), string(w.RequestType), w.Category)
		w.SignTime, w.ReplyTime = time.Time{}, time.Time{}
		d := map[string]string{
			"handlingUnit": c.HandlingUnit,
			"urgency":      string(w.Urgency),
			"signBy":       stamp(w.SignBy),
			"replyBy":      stamp(w.ReplyBy),
		}
		if len(c.CoHandlingUnits) > 0 {
			d["coHandlingUnits"] = strings.Join(c.CoHandlingUnits, ",")
		}
		if w.Category != "" {
			d["category"] = w.Category
		}
		return w, d
	}
	signed := func(in ticket.Ticket, _ lifecycle.Command, now time.Time) (ticket.Ticket, map[string]string) {
		w := in
		w.State = ticket.Signed
		w.SignTime = now
		return w, map[string]string{"handlingUnit": in.HandlingUnit}
	}
	returned := func(in ticket.Ticket, _ lifecycle.Command, _ time.Time) (ticket.Ticket, map[string]string) {
		w := in
		w.State = ticket.Returned
		w.HandlingUnit, w.CoHandlingUnits = "", nil
		w.SignBy, w.ReplyBy, w.SignTime = time.Time{}, time.Time{}, time.Time{}
		return w, map[string]string{"handlingUnit": in.HandlingUnit}
	}
	extensionRequested := func(in ticket.Ticket, c lifecycle.Command, _ time.Time) (ticket.Ticket, map[string]string) {
		w := in
		w.State = ticket.ExtensionRequested
		w.ExtensionDaysRequested = c.Days
		return w, map[string]string{"days": strconv.Itoa(c.Days)}
	}
	approved := func(in ticket.Ticket, c lifecycle.Command, _ time.Time) (ticket.Ticket, map[string]string) {
		days := c.Days
		if days == 0 {
			days = in.ExtensionDaysRequested
		}
		w := in
		w.State = ticket.InProgress
		w.ReplyBy = cal.AddWorkingDays(in.ReplyBy, days)
		w.ExtensionDaysRequested = 0
		w.ExtensionDaysGranted = in.ExtensionDaysGranted + days
		return w, map[string]string{"approved": "true", "days": strconv.Itoa(days), "replyBy": stamp(w.ReplyBy)}
	}
	denied := func(in ticket.Ticket, _ lifecycle.Command, _ time.Time) (ticket.Ticket, map[string]string) {
		w := in
		w.State = ticket.InProgress
		w.ExtensionDaysRequested = 0
		return w, map[string]string{"approved": "false"}
	}
	supervised := func(in ticket.Ticket, c lifecycle.Command, _ time.Time) (ticket.Ticket, map[string]string) {
		w := in
		w.Supervised = true
		if c.ReplyBy.IsZero() {
			return w, nil
		}
		w.ReplyBy = c.ReplyBy
		return w, map[string]string{"replyBy": stamp(c.ReplyBy)}
	}
	replied := func(in ticket.Ticket, c lifecycle.Command, now time.Time) (ticket.Ticket, map[string]string) {
		w := in
		w.State = ticket.Replied
		w.Reply = c.Text
		w.ReplyTime = now
		return w, nil
	}
	visited := func(in ticket.Ticket, c lifecycle.Command, _ time.Time) (ticket.Ticket, map[string]string) {
		w := in
		w.State = ticket.Visited
		w.Satisfaction = c.Satisfaction
		w.Resolved = ptr(c.Resolved)
		return w, map[string]string{"satisfaction": string(c.Satisfaction), "resolved": strconv.FormatBool(c.Resolved)}
	}
	reopened := func(in ticket.Ticket, _ lifecycle.Command, now time.Time) (ticket.Ticket, map[string]string) {
		w := in
		w.State = ticket.Reopened
		w.ReopenCount = in.ReopenCount + 1
		w.Reply, w.Satisfaction, w.Resolved = "", "", nil
		w.SignTime, w.ReplyTime = time.Time{}, time.Time{}
		w.SignBy, w.ReplyBy = policy.Deadlines(now, string(w.Urgency), string(w.RequestType), w.Category)
		return w, map[string]string{"handlingUnit": in.HandlingUnit, "signBy": stamp(w.SignBy), "replyBy": stamp(w.ReplyBy)}
	}
	closed := func(in ticket.Ticket, _ lifecycle.Command, now time.Time) (ticket.Ticket, map[string]string) {
		w := in
		w.State = ticket.Closed
		w.CloseTime = now
		return w, nil
	}
	answered := func(in ticket.Ticket, c lifecycle.Command, now time.Time) (ticket.Ticket, map[string]string) {
		w := in
		w.State = ticket.Answered
		w.Reply = c.Text
		w.ReplyTime, w.CloseTime = now, now
		return w, nil
	}

	for _, tc := range []struct {
		name string
		from ticket.State
		cmd  func(in ticket.Ticket, now time.Time) lifecycle.Command
		want expect
	}{
		{"dispatch with co-handling units", ticket.Received, valid(lifecycle.Dispatch), dispatched},
		{"dispatch reclassifies and raises urgency", ticket.Received, with(func(c *lifecycle.Command) {
			c.Action, c.HandlingUnit, c.Category, c.Urgency = lifecycle.Dispatch, "unit-water", "010502", ticket.Urgent
		}), dispatched},
		{"dispatch lowers urgency", ticket.Received, with(func(c *lifecycle.Command) {
			c.Action, c.HandlingUnit, c.Urgency = lifecycle.Dispatch, "unit-water", ticket.Normal
		}), dispatched},
		{"dispatch critical", ticket.Received, with(func(c *lifecycle.Command) {
			c.Action, c.HandlingUnit, c.Urgency = lifecycle.Dispatch, "unit-gas", ticket.Critical
		}), dispatched},
		{"re-dispatch after return, empty co-units", ticket.Returned, with(func(c *lifecycle.Command) {
			c.Action, c.HandlingUnit, c.CoHandlingUnits = lifecycle.Dispatch, "unit-other", []string{}
		}), dispatched},
		{"sign dispatched", ticket.Dispatched, valid(lifecycle.Sign), signed},
		{"sign reopened", ticket.Reopened, valid(lifecycle.Sign), signed},
		{"sign without note", ticket.Dispatched, with(func(c *lifecycle.Command) { c.Action = lifecycle.Sign }), signed},
		{"return dispatched", ticket.Dispatched, valid(lifecycle.Return), returned},
		{"return signed", ticket.Signed, valid(lifecycle.Return), returned},
		{"return reopened", ticket.Reopened, valid(lifecycle.Return), returned},
		{"request extension when signed", ticket.Signed, valid(lifecycle.RequestExtension), extensionRequested},
		{"request maximum extension when signed", ticket.Signed, with(func(c *lifecycle.Command) {
			c.Action, c.Days = lifecycle.RequestExtension, 10
		}), extensionRequested},
		{"request the days left in progress", ticket.InProgress, with(func(c *lifecycle.Command) {
			c.Action, c.Days = lifecycle.RequestExtension, 7 // 3 of 10 already granted
		}), extensionRequested},
		{"request one day", ticket.Signed, with(func(c *lifecycle.Command) { c.Action, c.Days = lifecycle.RequestExtension, 1 }), extensionRequested},
		{"approve as requested", ticket.ExtensionRequested, valid(lifecycle.DecideExtension), approved},
		{"approve fewer days", ticket.ExtensionRequested, with(func(c *lifecycle.Command) {
			c.Action, c.Approve, c.Days = lifecycle.DecideExtension, true, 2
		}), approved},
		{"approve exactly the days requested", ticket.ExtensionRequested, with(func(c *lifecycle.Command) {
			c.Action, c.Approve, c.Days = lifecycle.DecideExtension, true, 3
		}), approved},
		{"deny", ticket.ExtensionRequested, with(func(c *lifecycle.Command) {
			c.Action, c.Reason = lifecycle.DecideExtension, "理由不充分"
		}), denied},
		{"supervise dispatched without deadline", ticket.Dispatched, with(func(c *lifecycle.Command) { c.Action = lifecycle.Supervise }), supervised},
		{"supervise reopened with deadline", ticket.Reopened, valid(lifecycle.Supervise), supervised},
		{"supervise signed with deadline", ticket.Signed, valid(lifecycle.Supervise), supervised},
		{"supervise in progress", ticket.InProgress, valid(lifecycle.Supervise), supervised},
		{"supervise pending extension", ticket.ExtensionRequested, valid(lifecycle.Supervise), supervised},
		{"supervise one second ahead", ticket.Signed, func(in ticket.Ticket, now time.Time) lifecycle.Command {
			c := validCommand(lifecycle.Supervise, in, now)
			c.ReplyBy = now.Add(time.Second)
			return c
		}, supervised},
		{"reply signed", ticket.Signed, valid(lifecycle.Reply), replied},
		{"reply in progress", ticket.InProgress, valid(lifecycle.Reply), replied},
		{"visit satisfied", ticket.Replied, valid(lifecycle.Visit), visited},
		{"visit basically satisfied, unresolved", ticket.Replied, with(func(c *lifecycle.Command) {
			c.Action, c.Satisfaction, c.Resolved = lifecycle.Visit, ticket.BasicallySatisfied, false
		}), visited},
		{"visit dissatisfied", ticket.Replied, with(func(c *lifecycle.Command) {
			c.Action, c.Satisfaction = lifecycle.Visit, ticket.Dissatisfied
		}), visited},
		{"reopen replied", ticket.Replied, valid(lifecycle.Reopen), reopened},
		{"reopen visited", ticket.Visited, valid(lifecycle.Reopen), reopened},
		{"close visited without reason", ticket.Visited, with(func(c *lifecycle.Command) { c.Action = lifecycle.Close }), closed},
		{"close visited with reason", ticket.Visited, valid(lifecycle.Close), closed},
		{"close replied with reason", ticket.Replied, with(func(c *lifecycle.Command) {
			c.Action, c.Reason = lifecycle.Close, "市民拒绝回访"
		}), closed},
		{"answer received", ticket.Received, valid(lifecycle.Answer), answered},
		{"answer returned", ticket.Returned, valid(lifecycle.Answer), answered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, last := inState(t, tc.from)
			now := last.Add(37 * time.Minute)
			c := tc.cmd(in, now)
			c.Actor = "actor-for-" + tc.name
			cmdCopy := c
			cmdCopy.CoHandlingUnits = slices.Clone(c.CoHandlingUnits)
			before := clone(in)

			got, ev, err := machine.Apply(in, c, now)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			checkSuccess(t, before, in, c, now, got, ev)
			if !reflect.DeepEqual(c, cmdCopy) {
				t.Errorf("Apply modified the command: %+v, was %+v", c, cmdCopy)
			}

			want, details := tc.want(clone(before), c, now)
			want.Version = before.Version + 1
			want.UpdateTime = now
			for _, d := range ticketDiff(want, got) {
				t.Error(d)
			}
			if !reflect.DeepEqual(ev.Details, details) {
				t.Errorf("details = %v, want %v", ev.Details, details)
			}
		})
	}
}

// TestResultDoesNotAlias: changing the returned ticket's co-handling units
// (elements or appends) never reaches the input ticket or the command.
func TestResultDoesNotAlias(t *testing.T) {
	t.Parallel()
	t.Run("dispatch", func(t *testing.T) {
		t.Parallel()
		in := newTicket(friday)
		c := validCommand(lifecycle.Dispatch, in, friday)
		co := c.CoHandlingUnits
		got, _, err := machine.Apply(in, c, friday)
		if err != nil {
			t.Fatal(err)
		}
		got.CoHandlingUnits[0] = "changed"
		if co[0] == "changed" {
			t.Error("changing the result's co-handling units changed the command's")
		}
		co[1] = "changed-too"
		if got.CoHandlingUnits[1] == "changed-too" {
			t.Error("changing the command's co-handling units changed the result's")
		}
	})
	for _, s := range ticket.AllStates {
		for _, a := range lifecycle.Allowed(s) {
			t.Run(string(s)+"/"+string(a), func(t *testing.T) {
				t.Parallel()
				in, last := inState(t, s)
				// Give the input spare capacity so that an append to an aliased
				// result would write into the input's array.
				in.CoHandlingUnits = append(make([]string, 0, 8), "unit-a", "unit-b")
				before := clone(in)
				now := last.Add(time.Hour)
				got, _, err := machine.Apply(in, validCommand(a, in, now), now)
				if err != nil {
					t.Fatal(err)
				}
				for i := range got.CoHandlingUnits {
					got.CoHandlingUnits[i] = "changed"
				}
				got.CoHandlingUnits = append(got.CoHandlingUnits, "appended")
				if !reflect.DeepEqual(in, before) {
					t.Errorf("changing the result changed the input: %v", ticketDiff(before, in))
				}
				if spare := in.CoHandlingUnits[:3]; spare[2] == "appended" {
					t.Error("appending to the result wrote into the input's array")
				}
			})
		}
	}
}
