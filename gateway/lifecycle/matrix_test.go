package lifecycle_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/ticket"
)

// TestAllowedMatchesSpec checks Allowed against the transition table above,
// state by state.
func TestAllowedMatchesSpec(t *testing.T) {
	t.Parallel()
	for _, s := range ticket.AllStates {
		t.Run(string(s), func(t *testing.T) {
			t.Parallel()
			got := lifecycle.Allowed(s)
			var want []lifecycle.Action
			for _, a := range allActions {
				if _, ok := transitions[s][a]; ok {
					want = append(want, a)
				}
			}
			if !reflect.DeepEqual(sorted(got), sorted(want)) {
				t.Errorf("Allowed(%s) = %v, want %v", s, got, want)
			}
			if s.Terminal() != (len(got) == 0) {
				t.Errorf("Allowed(%s) = %v but Terminal() = %v", s, got, s.Terminal())
			}
			if len(slices.Compact(sorted(got))) != len(got) {
				t.Errorf("Allowed(%s) = %v repeats an action", s, got)
			}
		})
	}
}

func sorted(as []lifecycle.Action) []lifecycle.Action {
	as = slices.Clone(as)
	slices.Sort(as)
	return as
}

func TestAllowedReturnsACopy(t *testing.T) {
	t.Parallel()
	got := lifecycle.Allowed(ticket.Signed)
	want := slices.Clone(got)
	for i := range got {
		got[i] = lifecycle.Close
	}
	_ = append(got[:0], lifecycle.Answer)
	if again := lifecycle.Allowed(ticket.Signed); !reflect.DeepEqual(again, want) {
		t.Errorf("after changing the returned slice Allowed(SIGNED) = %v, want %v", again, want)
	}
}

func TestAllowedUnknownState(t *testing.T) {
	t.Parallel()
	for _, s := range []ticket.State{"", "received", "MERGED"} {
		if got := lifecycle.Allowed(s); len(got) != 0 {
			t.Errorf("Allowed(%q) = %v, want none", s, got)
		}
	}
}

// TestTransitionMatrix applies every action with valid parameters in every
// state: it succeeds exactly when Allowed says so, and otherwise fails with a
// Precondition error that names the state and what it allows, changing nothing.
func TestTransitionMatrix(t *testing.T) {
	t.Parallel()
	for _, s := range ticket.AllStates {
		for _, a := range allActions {
			t.Run(string(s)+"/"+string(a), func(t *testing.T) {
				t.Parallel()
				in, last := inState(t, s)
				now := last.Add(time.Hour)
				c := validCommand(a, in, now)
				before := clone(in)
				got, ev, err := machine.Apply(in, c, now)
				if slices.Contains(lifecycle.Allowed(s), a) {
					if err != nil {
						t.Fatalf("%s is allowed in %s but failed: %v", a, s, err)
					}
					checkSuccess(t, before, in, c, now, got, ev)
					return
				}
				if err == nil {
					t.Fatalf("%s is not allowed in %s but succeeded, moving to %s", a, s, got.State)
				}
				checkNotAllowed(t, err, s, a)
				checkUnchanged(t, before, in, got, ev)
			})
		}
	}
}

// TestPreconditionBeforeParameters: a disallowed action fails with
// Precondition even when its parameters are also bad, so the caller learns the
// real problem first.
func TestPreconditionBeforeParameters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		state ticket.State
		cmd   lifecycle.Command
	}{
		{"sign with a bad reason in RECEIVED", ticket.Received, lifecycle.Command{Action: lifecycle.Sign, Reason: "\xff"}},
		{"dispatch without unit in SIGNED", ticket.Signed, lifecycle.Command{Action: lifecycle.Dispatch}},
		{"return without reason in REPLIED", ticket.Replied, lifecycle.Command{Action: lifecycle.Return}},
		{"reply without text in CLOSED", ticket.Closed, lifecycle.Command{Action: lifecycle.Reply}},
		{"extension of 0 days in ANSWERED", ticket.Answered, lifecycle.Command{Action: lifecycle.RequestExtension}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, last := inState(t, tc.state)
			before := clone(in)
			got, ev, err := machine.Apply(in, tc.cmd, last.Add(time.Minute))
			checkNotAllowed(t, err, tc.state, tc.cmd.Action)
			checkUnchanged(t, before, in, got, ev)
		})
	}
}

// TestUnknownActions: actions that are not API verbs (including the create
// event's name) are refused in every state without changing the ticket.
func TestUnknownActions(t *testing.T) {
	t.Parallel()
	for _, a := range []lifecycle.Action{lifecycle.Create, "", "DISPATCH", "merge"} {
		for _, s := range ticket.AllStates {
			t.Run(string(s)+"/"+string(a), func(t *testing.T) {
				t.Parallel()
				in, last := inState(t, s)
				before := clone(in)
				got, ev, err := machine.Apply(in, lifecycle.Command{Action: a, Reason: "x", Text: "x", HandlingUnit: "u"}, last.Add(time.Minute))
				checkNotAllowed(t, err, s, a)
				checkUnchanged(t, before, in, got, ev)
			})
		}
	}
}
