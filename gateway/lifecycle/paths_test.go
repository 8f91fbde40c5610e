package lifecycle_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
)

// walker drives one ticket through a sequence of actions, keeping its history.
type walker struct {
	t   *testing.T
	tk  ticket.Ticket
	now time.Time
	evs []ticket.Event
}

func newWalker(t *testing.T, at time.Time) *walker {
	tk, ev := machine.NewTicket(intake(), "tk-walk", "operator-7", at)
	return &walker{t: t, tk: tk, now: at, evs: []ticket.Event{ev}}
}

// do applies c after d has passed and fails the test if it fails.
func (w *walker) do(d time.Duration, c lifecycle.Command) ticket.Event {
	w.t.Helper()
	w.now = w.now.Add(d)
	var ev ticket.Event
	w.tk, ev = mustApply(w.t, w.tk, c, w.now)
	w.evs = append(w.evs, ev)
	return ev
}

// act applies the valid command for a after d.
func (w *walker) act(d time.Duration, a lifecycle.Action) ticket.Event {
	w.t.Helper()
	return w.do(d, validCommand(a, w.tk, w.now.Add(d)))
}

// fail applies c after d and checks that it fails as Invalid on exactly fields,
// changing nothing.
func (w *walker) fail(d time.Duration, c lifecycle.Command, fields ...string) {
	w.t.Helper()
	now := w.now.Add(d)
	before := clone(w.tk)
	got, ev, err := machine.Apply(w.tk, c, now)
	if !errs.Is(err, errs.Invalid) {
		w.t.Fatalf("%s in %s: error %v, want kind Invalid", c.Action, w.tk.State, err)
	}
	slices.Sort(fields)
	if got := fieldsOf(w.t, err); !slices.Equal(got, fields) {
		w.t.Errorf("%s in %s: violations on %v, want %v (%v)", c.Action, w.tk.State, got, fields, err)
	}
	checkUnchanged(w.t, before, w.tk, got, ev)
}

// checkHistory checks that the events form a contiguous chain from the creation.
func (w *walker) checkHistory(actions ...lifecycle.Action) {
	w.t.Helper()
	if len(w.evs) != len(actions)+1 {
		w.t.Fatalf("%d events, want %d", len(w.evs), len(actions)+1)
	}
	prev := ticket.State("")
	for i, ev := range w.evs {
		want := lifecycle.Create
		if i > 0 {
			want = actions[i-1]
		}
		if ev.Seq != int64(i+1) || ev.Action != string(want) || ev.From != prev || ev.TicketID != w.tk.ID {
			w.t.Errorf("event %d = seq %d %s %s→%s of %q, want seq %d %s from %s", i, ev.Seq, ev.Action, ev.From, ev.To, ev.TicketID, i+1, want, prev)
		}
		if i > 0 && ev.Time.Before(w.evs[i-1].Time) {
			w.t.Errorf("event %d is older than event %d", i, i-1)
		}
		prev = ev.To
	}
	if prev != w.tk.State {
		w.t.Errorf("history ends in %s, ticket is %s", prev, w.tk.State)
	}
	if last := w.evs[len(w.evs)-1]; last.Seq != w.tk.Version {
		w.t.Errorf("last event seq %d, ticket version %d", last.Seq, w.tk.Version)
	}
}

func TestHappyPathToClose(t *testing.T) {
	t.Parallel()
	w := newWalker(t, friday)
	w.act(5*time.Minute, lifecycle.Dispatch)
	w.act(2*time.Hour, lifecycle.Sign)
	w.act(48*time.Hour, lifecycle.Reply)
	w.do(3*time.Hour, lifecycle.Command{Action: lifecycle.Visit, Actor: "visitor-2", Satisfaction: ticket.Satisfied, Resolved: true})
	closeEv := w.act(time.Hour, lifecycle.Close)
	w.checkHistory(lifecycle.Dispatch, lifecycle.Sign, lifecycle.Reply, lifecycle.Visit, lifecycle.Close)

	tk := w.tk
	if tk.State != ticket.Closed || tk.Version != 6 {
		t.Errorf("state %s version %d, want CLOSED 6", tk.State, tk.Version)
	}
	if tk.Satisfaction != ticket.Satisfied || tk.Resolved == nil || !*tk.Resolved {
		t.Errorf("satisfaction %s resolved %s, want SATISFIED true", tk.Satisfaction, show(tk.Resolved))
	}
	if !tk.CloseTime.Equal(closeEv.Time) || !tk.CloseTime.Equal(w.now) {
		t.Errorf("closeTime %v, want %v", tk.CloseTime, w.now)
	}
	if tk.HandlingUnit != "unit-lighting" || tk.Reply == "" || tk.SignTime.IsZero() || tk.ReplyTime.IsZero() {
		t.Errorf("closed ticket lost its handling record: %+v", tk)
	}
	if !tk.SignTime.Before(tk.ReplyTime) || !tk.ReplyTime.Before(tk.CloseTime) || !tk.DispatchTime.Before(tk.SignTime) {
		t.Errorf("times out of order: dispatch %v sign %v reply %v close %v", tk.DispatchTime, tk.SignTime, tk.ReplyTime, tk.CloseTime)
	}
	if tk.Overdue(w.now.Add(365 * 24 * time.Hour)) {
		t.Error("a closed ticket is overdue")
	}
	for _, a := range allActions {
		if _, _, err := machine.Apply(tk, validCommand(a, tk, w.now), w.now.Add(time.Hour)); !errs.Is(err, errs.Precondition) {
			t.Errorf("%s on a closed ticket: %v, want Precondition", a, err)
		}
	}
}

func TestAnswerAtIntake(t *testing.T) {
	t.Parallel()
	w := newWalker(t, friday)
	w.fail(time.Minute, lifecycle.Command{Action: lifecycle.Answer}, "answer")
	w.do(3*time.Minute, lifecycle.Command{Action: lifecycle.Answer, Actor: "operator-7", Text: "办理居住证需携带身份证和租房合同。"})
	w.checkHistory(lifecycle.Answer)
	tk := w.tk
	if tk.State != ticket.Answered || !tk.State.Terminal() || tk.Version != 2 {
		t.Errorf("state %s version %d, want terminal ANSWERED 2", tk.State, tk.Version)
	}
	if tk.Reply != "办理居住证需携带身份证和租房合同。" || !tk.ReplyTime.Equal(w.now) || !tk.CloseTime.Equal(w.now) {
		t.Errorf("reply %q at %v closed %v", tk.Reply, tk.ReplyTime, tk.CloseTime)
	}
	if tk.HandlingUnit != "" || !tk.DispatchTime.IsZero() {
		t.Errorf("answered ticket has dispatch data: %q %v", tk.HandlingUnit, tk.DispatchTime)
	}
	for _, a := range allActions {
		got, ev, err := machine.Apply(tk, validCommand(a, tk, w.now), w.now.Add(time.Minute))
		checkNotAllowed(t, err, ticket.Answered, a)
		checkUnchanged(t, tk, tk, got, ev)
	}
}

func TestReturnAndRedispatch(t *testing.T) {
	t.Parallel()
	w := newWalker(t, friday)
	w.do(time.Minute, lifecycle.Command{Action: lifecycle.Dispatch, Actor: "dispatcher", HandlingUnit: "unit-district-a", CoHandlingUnits: []string{"unit-street"}})
	first := w.tk
	for _, reason := range []string{"", "   ", "\u3000\t\n"} {
		w.fail(time.Hour, lifecycle.Command{Action: lifecycle.Return, Actor: "unit-district-a", Reason: reason}, "reason")
	}
	ev := w.do(time.Hour, lifecycle.Command{Action: lifecycle.Return, Actor: "unit-district-a", Reason: "该地址属于B区管辖"})
	if ev.Details["handlingUnit"] != "unit-district-a" {
		t.Errorf("return event names unit %q, want the returning unit", ev.Details["handlingUnit"])
	}
	tk := w.tk
	if tk.State != ticket.Returned || tk.HandlingUnit != "" || tk.CoHandlingUnits != nil {
		t.Errorf("returned: state %s unit %q co %v", tk.State, tk.HandlingUnit, tk.CoHandlingUnits)
	}
	if !tk.SignBy.IsZero() || !tk.ReplyBy.IsZero() || !tk.SignTime.IsZero() {
		t.Errorf("returned ticket keeps deadlines: signBy %v replyBy %v signTime %v", tk.SignBy, tk.ReplyBy, tk.SignTime)
	}
	if tk.Overdue(w.now.Add(1000 * time.Hour)) {
		t.Error("a returned ticket is overdue")
	}

	// Re-dispatch (改派) to the right unit on Monday: new deadlines from then.
	monday := time.Date(2026, 11, 30, 9, 0, 0, 0, cst)
	w.now = monday.Add(-time.Minute)
	ev = w.do(time.Minute, lifecycle.Command{Action: lifecycle.Dispatch, Actor: "dispatcher", HandlingUnit: "unit-district-b"})
	tk = w.tk
	if tk.State != ticket.Dispatched || tk.HandlingUnit != "unit-district-b" || len(tk.CoHandlingUnits) != 0 {
		t.Errorf("re-dispatched: state %s unit %q co %v", tk.State, tk.HandlingUnit, tk.CoHandlingUnits)
	}
	if _, ok := ev.Details["coHandlingUnits"]; ok {
		t.Errorf("re-dispatch without co-units records %q", ev.Details["coHandlingUnits"])
	}
	wantSign, wantReply := time.Date(2026, 12, 1, 9, 0, 0, 0, cst), time.Date(2026, 12, 7, 9, 0, 0, 0, cst)
	if !tk.SignBy.Equal(wantSign) || !tk.ReplyBy.Equal(wantReply) || !tk.DispatchTime.Equal(monday) {
		t.Errorf("re-dispatch at %s: signBy %s replyBy %s dispatched %s; want %s, %s",
			show(monday), show(tk.SignBy), show(tk.ReplyBy), show(tk.DispatchTime), show(wantSign), show(wantReply))
	}
	if tk.SignBy.Equal(first.SignBy) || tk.ReplyBy.Equal(first.ReplyBy) {
		t.Error("re-dispatch kept the first dispatch's deadlines")
	}
	w.act(time.Hour, lifecycle.Sign)
	// A signed ticket may still be returned.
	w.do(time.Hour, lifecycle.Command{Action: lifecycle.Return, Reason: "经核实仍非本单位职责"})
	w.checkHistory(lifecycle.Dispatch, lifecycle.Return, lifecycle.Dispatch, lifecycle.Sign, lifecycle.Return)
	if !w.tk.SignTime.IsZero() {
		t.Error("return kept the sign time")
	}
}

func TestExtensions(t *testing.T) {
	t.Parallel()
	// Dispatched Friday 27 November 10:00: reply by Friday 4 December 10:00.
	dispatchedReplyBy := time.Date(2026, 12, 4, 10, 0, 0, 0, cst)
	start := func(t *testing.T) *walker {
		w := newWalker(t, friday.Add(-time.Minute))
		w.act(time.Minute, lifecycle.Dispatch)
		w.act(time.Hour, lifecycle.Sign)
		if !w.tk.ReplyBy.Equal(dispatchedReplyBy) {
			t.Fatalf("replyBy after dispatch = %s, want %s", show(w.tk.ReplyBy), show(dispatchedReplyBy))
		}
		return w
	}
	request := func(w *walker, days int) {
		w.t.Helper()
		w.do(time.Hour, lifecycle.Command{Action: lifecycle.RequestExtension, Actor: "unit", Days: days, Reason: "需现场勘查"})
		if w.tk.ExtensionDaysRequested != days || w.tk.State != ticket.ExtensionRequested {
			w.t.Fatalf("after requesting %d days: %s requested %d", days, w.tk.State, w.tk.ExtensionDaysRequested)
		}
	}
	for _, tc := range []struct {
		name             string
		request, grant   int
		approve          bool
		wantReplyBy      time.Time
		wantGranted      int
		wantDetailedDays string
	}{
		// Friday 4 December + 3 working days crosses the weekend: Wednesday 9 December.
		{"approve as requested across a weekend", 3, 0, true, time.Date(2026, 12, 9, 10, 0, 0, 0, cst), 3, "3"},
		{"approve exactly as requested", 3, 3, true, time.Date(2026, 12, 9, 10, 0, 0, 0, cst), 3, "3"},
		{"approve fewer days", 5, 2, true, time.Date(2026, 12, 8, 10, 0, 0, 0, cst), 2, "2"},
		{"approve the maximum", 10, 0, true, time.Date(2026, 12, 18, 10, 0, 0, 0, cst), 10, "10"},
		{"deny", 3, 0, false, dispatchedReplyBy, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := start(t)
			request(w, tc.request)
			days := tc.grant
			if days == 0 {
				days = tc.request
			}
			if want := cal.AddWorkingDays(dispatchedReplyBy, days); tc.approve && !want.Equal(tc.wantReplyBy) {
				t.Fatalf("test table disagrees with the calendar: +%dwd = %s", days, show(want))
			}
			signBy := w.tk.SignBy
			ev := w.do(time.Hour, lifecycle.Command{Action: lifecycle.DecideExtension, Actor: "centre", Approve: tc.approve, Days: tc.grant})
			tk := w.tk
			if tk.State != ticket.InProgress || tk.ExtensionDaysRequested != 0 {
				t.Errorf("after deciding: %s requested %d", tk.State, tk.ExtensionDaysRequested)
			}
			if !tk.ReplyBy.Equal(tc.wantReplyBy) || tk.ExtensionDaysGranted != tc.wantGranted {
				t.Errorf("replyBy %s granted %d, want %s %d", show(tk.ReplyBy), tk.ExtensionDaysGranted, show(tc.wantReplyBy), tc.wantGranted)
			}
			if ev.Details["approved"] != boolWord(tc.approve) || ev.Details["days"] != tc.wantDetailedDays {
				t.Errorf("details %v", ev.Details)
			}
			if !tk.SignBy.Equal(signBy) {
				t.Errorf("decision changed signBy to %s", show(tk.SignBy))
			}
			// The unit can go on: reply from IN_PROGRESS.
			w.act(time.Hour, lifecycle.Reply)
		})
	}

	t.Run("several extensions add up", func(t *testing.T) {
		t.Parallel()
		w := start(t)
		request(w, 3)
		w.do(time.Hour, lifecycle.Command{Action: lifecycle.DecideExtension, Approve: true})
		request(w, 5)
		w.do(time.Hour, lifecycle.Command{Action: lifecycle.DecideExtension, Approve: true, Days: 2})
		request(w, 4)
		w.do(time.Hour, lifecycle.Command{Action: lifecycle.DecideExtension, Approve: false})
		// 4 Dec + 3 = Wed 9 Dec; + 2 = Fri 11 Dec; the denial leaves it.
		want := time.Date(2026, 12, 11, 10, 0, 0, 0, cst)
		if !w.tk.ReplyBy.Equal(want) || w.tk.ExtensionDaysGranted != 5 {
			t.Errorf("replyBy %s granted %d, want %s 5", show(w.tk.ReplyBy), w.tk.ExtensionDaysGranted, show(want))
		}
		w.checkHistory(lifecycle.Dispatch, lifecycle.Sign,
			lifecycle.RequestExtension, lifecycle.DecideExtension,
			lifecycle.RequestExtension, lifecycle.DecideExtension,
			lifecycle.RequestExtension, lifecycle.DecideExtension)
	})

	t.Run("extension over the Spring Festival", func(t *testing.T) {
		t.Parallel()
		// Dispatched Monday 9 February 2026 10:00: reply by 5 working days =
		// Saturday 14 February (a make-up workday). Three more working days
		// skip 15–23 February: Thursday 26 February.
		w := newWalker(t, time.Date(2026, 2, 9, 9, 0, 0, 0, cst))
		w.act(time.Hour, lifecycle.Dispatch)
		if want := time.Date(2026, 2, 14, 10, 0, 0, 0, cst); !w.tk.ReplyBy.Equal(want) {
			t.Fatalf("replyBy %s, want %s", show(w.tk.ReplyBy), show(want))
		}
		w.act(time.Hour, lifecycle.Sign)
		request(w, 3)
		w.do(time.Hour, lifecycle.Command{Action: lifecycle.DecideExtension, Approve: true})
		want := time.Date(2026, 2, 26, 10, 0, 0, 0, cst)
		if !w.tk.ReplyBy.Equal(want) || !want.Equal(cal.AddWorkingDays(time.Date(2026, 2, 14, 10, 0, 0, 0, cst), 3)) {
			t.Errorf("replyBy %s, want %s", show(w.tk.ReplyBy), show(want))
		}
	})
}

func boolWord(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestReopenAndCloseAgain(t *testing.T) {
	t.Parallel()
	w := newWalker(t, friday)
	w.act(time.Minute, lifecycle.Dispatch)
	w.act(time.Hour, lifecycle.Sign)
	w.do(time.Hour, lifecycle.Command{Action: lifecycle.RequestExtension, Days: 2, Reason: "等待配件"})
	w.do(time.Hour, lifecycle.Command{Action: lifecycle.DecideExtension, Approve: true})
	w.act(24*time.Hour, lifecycle.Reply)
	w.do(24*time.Hour, lifecycle.Command{Action: lifecycle.Visit, Satisfaction: ticket.Dissatisfied, Resolved: false, Reason: "市民称路灯仍不亮"})
	first := w.tk

	for _, reason := range []string{"", " \t"} {
		w.fail(time.Hour, lifecycle.Command{Action: lifecycle.Reopen, Reason: reason}, "reason")
	}
	// Reopen on Tuesday 1 December 2026, 15:00.
	reopenAt := time.Date(2026, 12, 1, 15, 0, 0, 0, cst)
	w.now = reopenAt.Add(-time.Minute)
	ev := w.do(time.Minute, lifecycle.Command{Action: lifecycle.Reopen, Actor: "centre", Reason: "回访不满意，发回重办"})
	tk := w.tk
	if tk.State != ticket.Reopened || tk.ReopenCount != 1 {
		t.Errorf("state %s reopenCount %d, want REOPENED 1", tk.State, tk.ReopenCount)
	}
	if tk.Satisfaction != "" || tk.Resolved != nil || !tk.SignTime.IsZero() || !tk.ReplyTime.IsZero() {
		t.Errorf("reopen kept the last round: satisfaction %q resolved %s signTime %v replyTime %v",
			tk.Satisfaction, show(tk.Resolved), tk.SignTime, tk.ReplyTime)
	}
	wantSign, wantReply := time.Date(2026, 12, 2, 15, 0, 0, 0, cst), time.Date(2026, 12, 8, 15, 0, 0, 0, cst)
	if !tk.SignBy.Equal(wantSign) || !tk.ReplyBy.Equal(wantReply) {
		t.Errorf("after reopen signBy %s replyBy %s, want %s %s", show(tk.SignBy), show(tk.ReplyBy), show(wantSign), show(wantReply))
	}
	if tk.HandlingUnit != first.HandlingUnit || !slices.Equal(tk.CoHandlingUnits, first.CoHandlingUnits) {
		t.Errorf("reopen changed the units to %q %v", tk.HandlingUnit, tk.CoHandlingUnits)
	}
	if ev.Details["handlingUnit"] != first.HandlingUnit || ev.Details["signBy"] != stamp(wantSign) || ev.Details["replyBy"] != stamp(wantReply) {
		t.Errorf("reopen details %v", ev.Details)
	}
	if !tk.State.AwaitingSign() || tk.Overdue(wantSign) || !tk.Overdue(wantSign.Add(time.Second)) {
		t.Error("a reopened ticket should be overdue exactly after its new sign-by")
	}

	w.act(time.Hour, lifecycle.Sign)
	w.act(time.Hour, lifecycle.Reply)
	w.do(time.Hour, lifecycle.Command{Action: lifecycle.Visit, Satisfaction: ticket.BasicallySatisfied, Resolved: true})
	w.act(time.Hour, lifecycle.Close)
	w.checkHistory(lifecycle.Dispatch, lifecycle.Sign, lifecycle.RequestExtension, lifecycle.DecideExtension,
		lifecycle.Reply, lifecycle.Visit, lifecycle.Reopen, lifecycle.Sign, lifecycle.Reply, lifecycle.Visit, lifecycle.Close)
	tk = w.tk
	if tk.State != ticket.Closed || tk.Version != 12 || tk.ReopenCount != 1 || tk.Satisfaction != ticket.BasicallySatisfied {
		t.Errorf("final: %s v%d reopened %d satisfaction %s", tk.State, tk.Version, tk.ReopenCount, tk.Satisfaction)
	}
}

func TestReopenTwiceFromReplied(t *testing.T) {
	t.Parallel()
	w := newWalker(t, friday)
	w.act(time.Minute, lifecycle.Dispatch)
	for round := 1; round <= 2; round++ {
		w.act(time.Hour, lifecycle.Sign)
		w.act(time.Hour, lifecycle.Reply)
		w.act(time.Hour, lifecycle.Reopen) // straight from REPLIED, no visit
		if w.tk.ReopenCount != round {
			t.Fatalf("reopenCount %d after round %d", w.tk.ReopenCount, round)
		}
	}
}

func TestSupervise(t *testing.T) {
	t.Parallel()
	for _, s := range []ticket.State{ticket.Dispatched, ticket.Reopened, ticket.Signed, ticket.InProgress, ticket.ExtensionRequested} {
		t.Run(string(s), func(t *testing.T) {
			t.Parallel()
			in, last := inState(t, s)
			now := last.Add(time.Hour)

			// Without a new deadline only the flag changes.
			got, ev := mustApply(t, in, lifecycle.Command{Action: lifecycle.Supervise, Actor: "leader", Reason: "领导批示"}, now)
			if !got.Supervised || got.State != s || !got.ReplyBy.Equal(in.ReplyBy) || !got.SignBy.Equal(in.SignBy) || ev.Details != nil {
				t.Errorf("plain supervise: supervised %v state %s replyBy %s details %v", got.Supervised, got.State, show(got.ReplyBy), ev.Details)
			}
			// Supervising again is allowed and recorded.
			again, _ := mustApply(t, got, lifecycle.Command{Action: lifecycle.Supervise, Reason: "再次督办"}, now.Add(time.Hour))
			if !again.Supervised || again.Version != in.Version+2 {
				t.Errorf("second supervise: supervised %v version %d", again.Supervised, again.Version)
			}

			// A new deadline, given in Beijing time, replaces replyBy.
			newReplyBy := time.Date(2026, 12, 2, 18, 0, 0, 0, cst)
			got, ev = mustApply(t, in, lifecycle.Command{Action: lifecycle.Supervise, Reason: "限期办结", ReplyBy: newReplyBy}, now)
			if !got.ReplyBy.Equal(newReplyBy) || ev.Details["replyBy"] != "2026-12-02T10:00:00Z" {
				t.Errorf("supervise with deadline: replyBy %s details %v", show(got.ReplyBy), ev.Details)
			}

			// The deadline must be in the future.
			w := &walker{t: t, tk: in, now: now}
			for name, at := range map[string]time.Time{
				"now":                 now,
				"a nanosecond ago":    now.Add(-time.Nanosecond),
				"yesterday":           now.Add(-24 * time.Hour),
				"long ago":            time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
				"now in another zone": now.UTC(),
				"the creation time":   in.CreateTime,
			} {
				t.Run(name, func(t *testing.T) {
					w.t = t
					w.fail(0, lifecycle.Command{Action: lifecycle.Supervise, ReplyBy: at}, "replyBy")
				})
			}
		})
	}
}

func TestCloseWithoutVisit(t *testing.T) {
	t.Parallel()
	w := newWalker(t, friday)
	w.act(time.Minute, lifecycle.Dispatch)
	w.act(time.Hour, lifecycle.Sign)
	w.act(time.Hour, lifecycle.Reply)
	for _, reason := range []string{"", "  ", "\n\t\u3000"} {
		w.fail(time.Hour, lifecycle.Command{Action: lifecycle.Close, Reason: reason}, "reason")
	}
	w.fail(time.Hour, lifecycle.Command{Action: lifecycle.Close, Reason: "\xffbad"}, "reason")
	w.do(time.Hour, lifecycle.Command{Action: lifecycle.Close, Actor: "centre", Reason: "市民电话无法接通，三次回访未果"})
	if w.tk.State != ticket.Closed || w.tk.Satisfaction != "" || w.tk.Resolved != nil {
		t.Errorf("closed without visit: %s %q %s", w.tk.State, w.tk.Satisfaction, show(w.tk.Resolved))
	}
	if reason := w.evs[len(w.evs)-1].Reason; reason != "市民电话无法接通，三次回访未果" {
		t.Errorf("close event reason %q", reason)
	}
}

// TestDecideUsesPendingRequest: the decision is bounded by the ticket's own
// pending request, so the centre cannot grant more than was asked.
func TestDecideUsesPendingRequest(t *testing.T) {
	t.Parallel()
	in, last := inState(t, ticket.ExtensionRequested)
	if in.ExtensionDaysRequested != 3 {
		t.Fatalf("requested %d", in.ExtensionDaysRequested)
	}
	w := &walker{t: t, tk: in, now: last}
	w.fail(time.Hour, lifecycle.Command{Action: lifecycle.DecideExtension, Approve: true, Days: 4}, "days")
	w.fail(time.Hour, lifecycle.Command{Action: lifecycle.DecideExtension, Approve: true, Days: -1}, "days")
	got, _ := mustApply(t, in, lifecycle.Command{Action: lifecycle.DecideExtension, Approve: true, Days: 1}, last.Add(time.Hour))
	if got.ExtensionDaysGranted != 1 || !got.ReplyBy.Equal(cal.AddWorkingDays(in.ReplyBy, 1)) {
		t.Errorf("granted %d replyBy %s", got.ExtensionDaysGranted, show(got.ReplyBy))
	}
	if reflect.DeepEqual(got.ReplyBy, in.ReplyBy) {
		t.Error("approval did not move replyBy")
	}
}
