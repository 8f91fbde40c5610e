package lifecycle_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/switchboard12345/switchboard/gateway/deadline"
	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
)

// cst is Beijing time; the tests use fixed instants in it, never time.Now.
var cst = time.FixedZone("CST", 8*3600)

// friday is Friday 27 November 2026, 10:00 in Beijing: an ordinary working
// week with no holiday near it.
var friday = time.Date(2026, time.November, 27, 10, 0, 0, 0, cst)

var (
	cal     = deadline.DefaultCalendar()
	policy  = mustPolicy(deadline.DefaultPolicyConfig())
	machine = lifecycle.New(policy)
)

func mustPolicy(cfg deadline.PolicyConfig) *deadline.Policy {
	p, err := deadline.NewPolicy(cfg, deadline.DefaultCalendar())
	if err != nil {
		panic(err)
	}
	return p
}

// The policy must satisfy the interface the machine needs.
var _ lifecycle.Deadlines = (*deadline.Policy)(nil)

// allActions lists every action the API can apply to a ticket.
var allActions = []lifecycle.Action{
	lifecycle.Dispatch, lifecycle.Sign, lifecycle.Return, lifecycle.RequestExtension,
	lifecycle.DecideExtension, lifecycle.Supervise, lifecycle.Reply, lifecycle.Visit,
	lifecycle.Reopen, lifecycle.Close, lifecycle.Answer, lifecycle.Reclassify,
}

// transitions is the specification the tests hold the machine to: for each
// state, the actions it allows and the state each leads to. Terminal states
// have no entry.
var transitions = map[ticket.State]map[lifecycle.Action]ticket.State{
	ticket.Received: {
		lifecycle.Dispatch:   ticket.Dispatched,
		lifecycle.Answer:     ticket.Answered,
		lifecycle.Reclassify: ticket.Received,
	},
	ticket.Returned: {
		lifecycle.Dispatch:   ticket.Dispatched,
		lifecycle.Answer:     ticket.Answered,
		lifecycle.Reclassify: ticket.Returned,
	},
	ticket.Dispatched: {
		lifecycle.Sign:       ticket.Signed,
		lifecycle.Return:     ticket.Returned,
		lifecycle.Supervise:  ticket.Dispatched,
		lifecycle.Reclassify: ticket.Dispatched,
	},
	ticket.Reopened: {
		lifecycle.Sign:       ticket.Signed,
		lifecycle.Return:     ticket.Returned,
		lifecycle.Supervise:  ticket.Reopened,
		lifecycle.Reclassify: ticket.Reopened,
	},
	ticket.Signed: {
		lifecycle.RequestExtension: ticket.ExtensionRequested,
		lifecycle.Supervise:        ticket.Signed,
		lifecycle.Reply:            ticket.Replied,
		lifecycle.Return:           ticket.Returned,
		lifecycle.Reclassify:       ticket.Signed,
	},
	ticket.InProgress: {
		lifecycle.RequestExtension: ticket.ExtensionRequested,
		lifecycle.Supervise:        ticket.InProgress,
		lifecycle.Reply:            ticket.Replied,
		lifecycle.Reclassify:       ticket.InProgress,
	},
	ticket.ExtensionRequested: {
		lifecycle.DecideExtension: ticket.InProgress,
		lifecycle.Supervise:       ticket.ExtensionRequested,
		lifecycle.Reclassify:      ticket.ExtensionRequested,
	},
	ticket.Replied: {
		lifecycle.Visit:      ticket.Visited,
		lifecycle.Reopen:     ticket.Reopened,
		lifecycle.Close:      ticket.Closed,
		lifecycle.Reclassify: ticket.Replied,
	},
	ticket.Visited: {
		lifecycle.Close:      ticket.Closed,
		lifecycle.Reopen:     ticket.Reopened,
		lifecycle.Reclassify: ticket.Visited,
	},
}

// pathTo is a shortest way from RECEIVED to each state using validCommand.
var pathTo = map[ticket.State][]lifecycle.Action{
	ticket.Received:           nil,
	ticket.Answered:           {lifecycle.Answer},
	ticket.Dispatched:         {lifecycle.Dispatch},
	ticket.Signed:             {lifecycle.Dispatch, lifecycle.Sign},
	ticket.Returned:           {lifecycle.Dispatch, lifecycle.Return},
	ticket.ExtensionRequested: {lifecycle.Dispatch, lifecycle.Sign, lifecycle.RequestExtension},
	ticket.InProgress:         {lifecycle.Dispatch, lifecycle.Sign, lifecycle.RequestExtension, lifecycle.DecideExtension},
	ticket.Replied:            {lifecycle.Dispatch, lifecycle.Sign, lifecycle.Reply},
	ticket.Visited:            {lifecycle.Dispatch, lifecycle.Sign, lifecycle.Reply, lifecycle.Visit},
	ticket.Reopened:           {lifecycle.Dispatch, lifecycle.Sign, lifecycle.Reply, lifecycle.Visit, lifecycle.Reopen},
	ticket.Closed:             {lifecycle.Dispatch, lifecycle.Sign, lifecycle.Reply, lifecycle.Visit, lifecycle.Close},
}

// intake returns a validated intake ticket as the intake package hands it over.
func intake() ticket.Ticket {
	return ticket.Ticket{
		TrackingNumber: "20261127-000123",
		Channel:        "PHONE",
		DialedNumber:   "12345",
		Caller:         ticket.Caller{Name: "张三", Phone: "13800000000"},
		Title:          "小区路灯不亮",
		Content:        "幸福小区3号楼前的路灯已经一周不亮，晚上出行不便。",
		Location:       ticket.Location{Address: "幸福小区3号楼", RegionCode: "370102"},
		Category:       "0101",
		RequestType:    "COMPLAINT",
	}
}

// newTicket returns a freshly created ticket at now.
func newTicket(now time.Time) ticket.Ticket {
	t, _ := machine.NewTicket(intake(), "tk-1", "operator-7", now)
	return t
}

// validCommand returns a command for a whose parameters are valid for tk at now.
func validCommand(a lifecycle.Action, tk ticket.Ticket, now time.Time) lifecycle.Command {
	c := lifecycle.Command{Action: a, Actor: "actor-" + string(a)}
	switch a {
	case lifecycle.Dispatch:
		c.Reason = "按派单目录派发"
		c.HandlingUnit = "unit-lighting"
		c.CoHandlingUnits = []string{"unit-street", "unit-property"}
	case lifecycle.Sign:
		c.Reason = "已签收"
	case lifecycle.Return:
		c.Reason = "不属于本单位职责"
	case lifecycle.RequestExtension:
		c.Reason = "需协调多个部门"
		c.Days = 3
	case lifecycle.DecideExtension:
		c.Reason = "同意延期"
		c.Approve = true
	case lifecycle.Supervise:
		c.Reason = "领导批示督办"
		c.ReplyBy = now.Add(72 * time.Hour)
	case lifecycle.Reply:
		c.Text = "已更换路灯灯泡，并电话告知市民。"
	case lifecycle.Visit:
		c.Reason = "电话回访"
		c.Satisfaction = ticket.Satisfied
		c.Resolved = true
	case lifecycle.Reopen:
		c.Reason = "市民反映问题未解决"
	case lifecycle.Close:
		c.Reason = "办结归档"
	case lifecycle.Answer:
		c.Text = "已根据知识库即时答复。"
	case lifecycle.Reclassify:
		c.Reason = "路灯属城市公共设施"
		c.Category = "010204"
	}
	return c
}

// inState returns a ticket created at friday and brought to state s by valid
// commands ten minutes apart, and the time of its last action.
func inState(t testing.TB, s ticket.State) (ticket.Ticket, time.Time) {
	t.Helper()
	path, ok := pathTo[s]
	if !ok {
		t.Fatalf("no path to state %q", s)
	}
	now := friday
	tk := newTicket(now)
	for _, a := range path {
		now = now.Add(10 * time.Minute)
		tk, _ = mustApply(t, tk, validCommand(a, tk, now), now)
	}
	if tk.State != s {
		t.Fatalf("path to %s ended in %s", s, tk.State)
	}
	return tk, now
}

// mustApply applies c to tk at now, fails the test if that fails, and checks
// what every successful action must do: version +1, UpdateTime = now, the
// spec's target state, an event describing the step, and tk unchanged.
func mustApply(t testing.TB, tk ticket.Ticket, c lifecycle.Command, now time.Time) (ticket.Ticket, ticket.Event) {
	t.Helper()
	before := clone(tk)
	got, ev, err := machine.Apply(tk, c, now)
	if err != nil {
		t.Fatalf("%s in %s: %v", c.Action, tk.State, err)
	}
	checkSuccess(t, before, tk, c, now, got, ev)
	return got, ev
}

// checkSuccess checks the invariants of a successful Apply(in, c, now) that
// returned got and ev; before is a deep copy of in taken before the call.
func checkSuccess(t testing.TB, before, in ticket.Ticket, c lifecycle.Command, now time.Time, got ticket.Ticket, ev ticket.Event) {
	t.Helper()
	if !reflect.DeepEqual(in, before) {
		t.Errorf("%s modified its input: %v", c.Action, ticketDiff(before, in))
	}
	if got.Version != before.Version+1 {
		t.Errorf("%s: version = %d, want %d", c.Action, got.Version, before.Version+1)
	}
	if !got.UpdateTime.Equal(now) {
		t.Errorf("%s: updateTime = %v, want %v", c.Action, got.UpdateTime, now)
	}
	if want, ok := transitions[before.State][c.Action]; !ok {
		t.Errorf("%s succeeded in %s, which the spec does not allow", c.Action, before.State)
	} else if got.State != want && !movedByReclassify(before, c, got) {
		t.Errorf("%s from %s: state = %s, want %s", c.Action, before.State, got.State, want)
	}
	if got.ID != before.ID {
		t.Errorf("%s: id changed from %q to %q", c.Action, before.ID, got.ID)
	}
	if !got.CreateTime.Equal(before.CreateTime) {
		t.Errorf("%s: createTime changed", c.Action)
	}
	want := ticket.Event{
		TicketID: before.ID,
		Seq:      got.Version,
		Action:   string(c.Action),
		From:     before.State,
		To:       got.State,
		Actor:    c.Actor,
		Reason:   c.Reason,
		Details:  ev.Details,
		Time:     ev.Time,
	}
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("%s: event = %+v, want %+v", c.Action, ev, want)
	}
	if !ev.Time.Equal(now) {
		t.Errorf("%s: event time = %v, want %v", c.Action, ev.Time, now)
	}
	if ev.Details != nil && len(ev.Details) == 0 {
		t.Errorf("%s: event details are empty but not nil", c.Action)
	}
	// The result must not share CoHandlingUnits with the input or the command.
	if aliases(got.CoHandlingUnits, in.CoHandlingUnits) || aliases(got.CoHandlingUnits, c.CoHandlingUnits) {
		t.Errorf("%s: result aliases a CoHandlingUnits slice it was given", c.Action)
	}
}

// aliases reports whether a and b share a backing array.
func aliases(a, b []string) bool {
	if cap(a) == 0 || cap(b) == 0 {
		return false
	}
	return &a[:cap(a)][cap(a)-1] == &b[:cap(b)][cap(b)-1] || &a[:1][0] == &b[:1][0]
}

// clone returns a deep copy of tk.
func clone(tk ticket.Ticket) ticket.Ticket {
	c := tk
	c.CoHandlingUnits = slices.Clone(tk.CoHandlingUnits)
	if tk.Resolved != nil {
		r := *tk.Resolved
		c.Resolved = &r
	}
	return c
}

// ticketDiff lists the fields in which got differs from want. Times compare
// as instants and a nil slice equals an empty one.
func ticketDiff(want, got ticket.Ticket) []string {
	var diffs []string
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	for i := range wv.NumField() {
		w, g := wv.Field(i).Interface(), gv.Field(i).Interface()
		var same bool
		switch w := w.(type) {
		case time.Time:
			same = w.Equal(g.(time.Time))
		case []string:
			same = slices.Equal(w, g.([]string))
		default:
			same = reflect.DeepEqual(w, g)
		}
		if !same {
			diffs = append(diffs, fmt.Sprintf("%s: got %s, want %s", wv.Type().Field(i).Name, show(g), show(w)))
		}
	}
	return diffs
}

func show(v any) string {
	switch v := v.(type) {
	case time.Time:
		if v.IsZero() {
			return "zero time"
		}
		return v.In(cst).Format("Mon 2006-01-02 15:04:05 -07:00")
	case *bool:
		if v == nil {
			return "nil"
		}
		return fmt.Sprintf("&%v", *v)
	}
	return fmt.Sprintf("%#v", v)
}

// stamp is how event details spell a time.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// fieldsOf returns the sorted field names of an Invalid error's violations.
func fieldsOf(t testing.TB, err error) []string {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *errs.Error", err, err)
	}
	var fields []string
	for _, f := range e.Fields {
		if f.Description == "" {
			t.Errorf("violation of %s has no description", f.Field)
		}
		fields = append(fields, f.Field)
	}
	sort.Strings(fields)
	return fields
}

// checkUnchanged checks that a failed Apply returned its input and no event.
func checkUnchanged(t testing.TB, before, in, got ticket.Ticket, ev ticket.Event) {
	t.Helper()
	if !reflect.DeepEqual(got, in) {
		t.Errorf("failed action returned a changed ticket: %v", ticketDiff(in, got))
	}
	if !reflect.DeepEqual(in, before) {
		t.Errorf("failed action modified its input: %v", ticketDiff(before, in))
	}
	if !reflect.DeepEqual(ev, ticket.Event{}) {
		t.Errorf("failed action returned an event: %+v", ev)
	}
}

// checkNotAllowed checks that err is a Precondition error whose message names
// state s and every action s allows (or says none), and no other action than
// the attempted one.
func checkNotAllowed(t testing.TB, err error, s ticket.State, attempted lifecycle.Action) {
	t.Helper()
	if !errs.Is(err, errs.Precondition) {
		t.Fatalf("error %v has kind %v, want %v", err, errs.KindOf(err), errs.Precondition)
	}
	msg := err.Error()
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(msg, func(r rune) bool { return !unicode.IsLetter(r) && r != '_' }) {
		words[w] = true
	}
	if !words[string(s)] {
		t.Errorf("message %q does not name the state %s", msg, s)
	}
	allowed := lifecycle.Allowed(s)
	if len(allowed) == 0 {
		if !words["none"] {
			t.Errorf("message %q for terminal state %s does not say none is allowed", msg, s)
		}
	} else if words["none"] {
		t.Errorf("message %q says none although %s allows %v", msg, s, allowed)
	}
	for _, a := range allowed {
		if !words[string(a)] {
			t.Errorf("message %q does not name allowed action %s", msg, a)
		}
	}
	for _, a := range allActions {
		if words[string(a)] && a != attempted && !slices.Contains(allowed, a) {
			t.Errorf("message %q names %s, which %s does not allow", msg, a, s)
		}
	}
}

// movedByReclassify reports whether c is a reclassification that moved the
// ticket to another unit: back to DISPATCHED, with that unit handling it.
func movedByReclassify(before ticket.Ticket, c lifecycle.Command, got ticket.Ticket) bool {
	return c.Action == lifecycle.Reclassify && lifecycle.Movable(before.State) &&
		c.HandlingUnit != "" && c.HandlingUnit != before.HandlingUnit &&
		got.State == ticket.Dispatched && got.HandlingUnit == c.HandlingUnit
}
