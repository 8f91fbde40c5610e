package lifecycle_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
)

// pick returns one of xs at random.
func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// randomCommand returns a command that is usually one tk's state allows, with
// parameters that are usually but not always valid.
func randomCommand(r *rand.Rand, tk ticket.Ticket, now time.Time) lifecycle.Command {
	var a lifecycle.Action
	switch allowed := lifecycle.Allowed(tk.State); {
	case len(allowed) > 0 && r.IntN(10) < 7:
		a = pick(r, allowed...)
		if a == lifecycle.Answer && r.IntN(4) > 0 {
			a = lifecycle.Dispatch // answering ends the walk; go deeper more often
		}
	case r.IntN(50) == 0:
		a = pick[lifecycle.Action](r, lifecycle.Create, "", "bogus")
	default:
		a = pick(r, allActions...)
	}
	units := []string{"unit-a", "unit-b", "unit-c", "unit-d"}
	text := func() string {
		switch r.IntN(20) {
		case 0:
			return ""
		case 1:
			return " \t\u3000"
		case 2:
			return "bad \xff utf-8"
		case 3:
			return han(lifecycle.MaxTextChars + 1)
		case 4:
			return han(lifecycle.MaxTextChars)
		}
		return pick(r, "已处理", "不属于本单位职责", "需协调", "市民不满意")
	}
	c := lifecycle.Command{Action: a, Actor: pick(r, "operator", "unit-a", "centre", "")}
	if r.IntN(3) == 0 {
		c.Reason = text()
	} else if a == lifecycle.Return || a == lifecycle.Reopen || a == lifecycle.Close {
		c.Reason = pick(r, "理由", "原因说明")
	}
	switch a {
	case lifecycle.Dispatch:
		if r.IntN(15) > 0 {
			c.HandlingUnit = pick(r, units...)
		}
		for range r.IntN(3) {
			u := pick(r, units...)
			switch r.IntN(12) {
			case 0:
				u = ""
			case 1:
				u = c.HandlingUnit
			}
			c.CoHandlingUnits = append(c.CoHandlingUnits, u)
		}
		c.Category = pick(r, "", "", "0101", "010502", "0301")
		c.Urgency = pick[ticket.Urgency](r, "", "", ticket.Normal, ticket.Urgent, ticket.Critical, "urgent", "HIGH")
	case lifecycle.RequestExtension:
		c.Days = r.IntN(14) - 2 // -2 … 11
	case lifecycle.DecideExtension:
		c.Approve = r.IntN(3) > 0
		c.Days = r.IntN(tk.ExtensionDaysRequested+3) - 1 // -1 … requested+1
	case lifecycle.Supervise:
		switch r.IntN(5) {
		case 0:
			c.ReplyBy = now.Add(-time.Duration(r.IntN(48)) * time.Hour)
		case 1, 2:
			c.ReplyBy = now.Add(time.Duration(1+r.IntN(500)) * time.Hour)
		}
	case lifecycle.Reply, lifecycle.Answer:
		c.Text = text()
		if r.IntN(4) > 0 && c.Text == "" {
			c.Text = "已答复"
		}
	case lifecycle.Visit:
		c.Satisfaction = pick[ticket.Satisfaction](r, ticket.Satisfied, ticket.BasicallySatisfied, ticket.Dissatisfied, ticket.Dissatisfied, "", "MEH")
		c.Resolved = r.IntN(2) == 0
	case lifecycle.Reclassify:
		c.Category = pick(r, "", "0101", "010502", "0301", "110403", "110403")
		c.HandlingUnit = pick(r, "", "", tk.HandlingUnit, "unit-a", "unit-e")
	}
	return c
}

// TestRandomWalk drives tickets with 10,000 random commands per seed and
// checks the machine's invariants after every step. When a ticket reaches a
// terminal state it is kept for three more (failing) steps, then a new
// ticket is created.
func TestRandomWalk(t *testing.T) {
	t.Parallel()
	const steps = 10_000
	for _, seed := range []uint64{1, 2, 3, 12345, 20261127} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(seed, 12345))
			now := friday
			tickets := 0
			var tk ticket.Ticket
			var successes, terminalSteps int
			var lastEvent ticket.Event
			fresh := func() {
				tickets++
				var ev ticket.Event
				tk, ev = machine.NewTicket(intake(), fmt.Sprintf("tk-%d", tickets), "operator", now)
				successes, terminalSteps, lastEvent = 0, 0, ev
			}
			fresh()
			visited := map[ticket.State]int{}
			tried := map[ticket.State]map[lifecycle.Action]bool{}
			var overdueSeen, failures int

			for step := range steps {
				if t.Failed() {
					t.Fatalf("stopping at step %d (seed %d)", step, seed)
				}
				switch r.IntN(20) {
				case 0:
					now = now.Add(time.Duration(1+r.IntN(96)) * time.Hour) // let deadlines pass
				default:
					now = now.Add(time.Duration(1+r.IntN(120)) * time.Minute)
				}
				c := randomCommand(r, tk, now)
				before := clone(tk)
				wasTerminal := tk.State.Terminal()
				allowed := slices.Contains(lifecycle.Allowed(tk.State), c.Action)

				got, ev, err := machine.Apply(tk, c, now)

				if !reflect.DeepEqual(tk, before) {
					t.Errorf("step %d: %s modified its input: %v", step, c.Action, ticketDiff(before, tk))
				}
				if err != nil {
					failures++
					switch k := errs.KindOf(err); {
					case !allowed && k != errs.Precondition:
						t.Errorf("step %d: %s not allowed in %s but failed with %v: %v", step, c.Action, tk.State, k, err)
					case allowed && k != errs.Invalid:
						t.Errorf("step %d: %s allowed in %s but failed with %v: %v", step, c.Action, tk.State, k, err)
					}
					if !reflect.DeepEqual(got, before) || !reflect.DeepEqual(ev, ticket.Event{}) {
						t.Errorf("step %d: failed %s changed the ticket: %v", step, c.Action, ticketDiff(before, got))
					}
				} else {
					if !allowed {
						t.Errorf("step %d: %s succeeded in %s, which does not allow it", step, c.Action, tk.State)
					}
					if wasTerminal {
						t.Errorf("step %d: terminal %s changed to %s", step, before.State, got.State)
					}
					checkSuccess(t, before, tk, c, now, got, ev)
					if ev.Seq != lastEvent.Seq+1 || ev.From != lastEvent.To {
						t.Errorf("step %d: event %d %s→%s does not follow event %d →%s", step, ev.Seq, ev.From, ev.To, lastEvent.Seq, lastEvent.To)
					}
					if tried[before.State] == nil {
						tried[before.State] = map[lifecycle.Action]bool{}
					}
					tried[before.State][c.Action] = true
					successes++
					lastEvent = ev
					tk = got
				}
				checkInvariants(t, step, tk, now)
				if int(tk.Version) != 1+successes {
					t.Errorf("step %d: version %d after %d successful actions", step, tk.Version, successes)
				}
				visited[tk.State]++
				if (tk.State.AwaitingSign() || tk.State.Handling()) && tk.Overdue(now) {
					overdueSeen++
				}
				if tk.State.Terminal() {
					if terminalSteps++; terminalSteps > 3 {
						fresh()
					}
				}
			}

			t.Logf("seed %d: %d tickets, %d failures, %d overdue observations, states %v", seed, tickets, failures, overdueSeen, visited)
			for _, s := range ticket.AllStates {
				if visited[s] == 0 {
					t.Errorf("the walk never reached %s", s)
				}
				for a := range transitions[s] {
					if !tried[s][a] {
						t.Errorf("the walk never applied %s in %s", a, s)
					}
				}
			}
			if overdueSeen == 0 {
				t.Error("the walk never saw an overdue ticket")
			}
		})
	}
}

// checkInvariants checks what must hold of a ticket the machine produced,
// whatever the path.
func checkInvariants(t *testing.T, step int, tk ticket.Ticket, now time.Time) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("step %d, %s v%d: %s", step, tk.State, tk.Version, fmt.Sprintf(format, args...))
	}
	s := tk.State
	if !slices.Contains(ticket.AllStates, s) {
		fail("unknown state")
	}
	if !s.AwaitingSign() && !s.Handling() {
		for _, at := range []time.Time{now, now.Add(1000 * 24 * time.Hour), tk.SignBy.Add(time.Hour), tk.ReplyBy.Add(time.Hour)} {
			if tk.Overdue(at) {
				fail("overdue at %s although neither awaiting sign nor handling", show(at))
			}
		}
	}
	if tk.UpdateTime.After(now) || tk.UpdateTime.Before(tk.CreateTime) {
		fail("updateTime %s outside [createTime %s, now %s]", show(tk.UpdateTime), show(tk.CreateTime), show(now))
	}
	switch s {
	case ticket.Received, ticket.Returned, ticket.Answered:
		if tk.HandlingUnit != "" || len(tk.CoHandlingUnits) != 0 {
			fail("has units %q %v", tk.HandlingUnit, tk.CoHandlingUnits)
		}
	default:
		if tk.HandlingUnit == "" {
			fail("no handling unit")
		}
	}
	for i, u := range tk.CoHandlingUnits {
		if u == "" || u == tk.HandlingUnit {
			fail("bad co-handling unit [%d] %q", i, u)
		}
	}
	if (s == ticket.ExtensionRequested) != (tk.ExtensionDaysRequested > 0) {
		fail("extensionDaysRequested %d", tk.ExtensionDaysRequested)
	}
	if tk.ExtensionDaysRequested > policy.MaxExtensionDays() || tk.ExtensionDaysGranted < 0 {
		fail("extension days requested %d granted %d", tk.ExtensionDaysRequested, tk.ExtensionDaysGranted)
	}
	if s.AwaitingSign() || s.Handling() {
		if tk.SignBy.IsZero() || tk.ReplyBy.IsZero() {
			fail("missing deadlines")
		}
	}
	if s.AwaitingSign() && !tk.SignTime.IsZero() {
		fail("awaiting sign but signed at %s", show(tk.SignTime))
	}
	if s.Handling() && tk.SignTime.IsZero() {
		fail("handling but never signed")
	}
	if (s == ticket.Replied || s == ticket.Visited) && (tk.Reply == "" || tk.ReplyTime.IsZero()) {
		fail("no reply")
	}
	if (s == ticket.Visited) != (tk.Resolved != nil) && s != ticket.Closed {
		fail("resolved %s", show(tk.Resolved))
	}
	if s == ticket.Visited && tk.Satisfaction == "" {
		fail("visited without satisfaction")
	}
	if s != ticket.Visited && s != ticket.Closed && tk.Satisfaction != "" {
		fail("satisfaction %q outside a visit", tk.Satisfaction)
	}
	if s.Terminal() != !tk.CloseTime.IsZero() {
		fail("closeTime %s", show(tk.CloseTime))
	}
	if s == ticket.Reopened && tk.ReopenCount == 0 {
		fail("reopened with reopenCount 0")
	}
}
