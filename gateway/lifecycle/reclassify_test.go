package lifecycle_test

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
)

func reclassify(category, unit string) lifecycle.Command {
	return lifecycle.Command{Action: lifecycle.Reclassify, Actor: "operator:李娜", Reason: "市民补充说明属商品质量问题",
		Category: category, HandlingUnit: unit}
}

func TestReclassifyMovesAHandledTicket(t *testing.T) {
	t.Parallel()
	for _, from := range []ticket.State{ticket.Dispatched, ticket.Signed, ticket.InProgress, ticket.ExtensionRequested, ticket.Reopened} {
		t.Run(string(from), func(t *testing.T) {
			t.Parallel()
			tk, now := inState(t, from)
			now = now.Add(2 * time.Hour)
			got, ev := mustApply(t, tk, reclassify("110403", "gz-samr"), now)
			if got.State != ticket.Dispatched || got.HandlingUnit != "gz-samr" || got.Category != "110403" {
				t.Fatalf("after the move: state %s, unit %s, category %s", got.State, got.HandlingUnit, got.Category)
			}
			if !got.DispatchTime.Equal(now) || !got.SignTime.IsZero() || !got.SignBy.After(now) || !got.ReplyBy.After(got.SignBy) {
				t.Errorf("deadlines not restarted: dispatched %v, signed %v, signBy %v, replyBy %v", got.DispatchTime, got.SignTime, got.SignBy, got.ReplyBy)
			}
			if got.ExtensionDaysRequested != 0 {
				t.Errorf("a pending extension request survived the move: %d days", got.ExtensionDaysRequested)
			}
			want := map[string]string{"category": "110403", "previousCategory": "0101", "handlingUnit": "gz-samr",
				"previousHandlingUnit": tk.HandlingUnit}
			for k, v := range want {
				if ev.Details[k] != v {
					t.Errorf("event detail %s = %q, want %q (all: %v)", k, ev.Details[k], v, ev.Details)
				}
			}
			if ev.Details["signBy"] == "" {
				t.Error("the event does not record the new sign-by deadline")
			}
		})
	}
}

func TestReclassifyWithoutMove(t *testing.T) {
	t.Parallel()
	t.Run("same unit keeps state and deadlines", func(t *testing.T) {
		t.Parallel()
		tk, now := inState(t, ticket.Signed)
		got, ev := mustApply(t, tk, reclassify("010204", tk.HandlingUnit), now.Add(time.Hour))
		if got.State != ticket.Signed || got.HandlingUnit != tk.HandlingUnit || !got.SignBy.Equal(tk.SignBy) || got.Category != "010204" {
			t.Fatalf("got %s %s %v %s", got.State, got.HandlingUnit, got.SignBy, got.Category)
		}
		if _, moved := ev.Details["previousHandlingUnit"]; moved {
			t.Errorf("event records a move: %v", ev.Details)
		}
	})
	t.Run("no rule keeps the unit", func(t *testing.T) {
		t.Parallel()
		tk, now := inState(t, ticket.Dispatched)
		got, _ := mustApply(t, tk, reclassify("010204", ""), now.Add(time.Hour))
		if got.State != ticket.Dispatched || got.HandlingUnit != tk.HandlingUnit || !got.DispatchTime.Equal(tk.DispatchTime) {
			t.Fatalf("got %s %s", got.State, got.HandlingUnit)
		}
	})
	t.Run("replied ticket keeps its unit", func(t *testing.T) {
		t.Parallel()
		tk, now := inState(t, ticket.Replied)
		got, _ := mustApply(t, tk, reclassify("110403", "gz-samr"), now.Add(time.Hour))
		if got.State != ticket.Replied || got.HandlingUnit != tk.HandlingUnit || got.Category != "110403" {
			t.Fatalf("got %s %s %s", got.State, got.HandlingUnit, got.Category)
		}
	})
	t.Run("received ticket gets a new suggestion", func(t *testing.T) {
		t.Parallel()
		tk, now := inState(t, ticket.Received)
		got, ev := mustApply(t, tk, reclassify("110403", "gz-samr"), now.Add(time.Hour))
		if got.State != ticket.Received || got.HandlingUnit != "" || got.SuggestedUnit != "gz-samr" || got.SuggestedBy != ticket.SuggestedByRule {
			t.Fatalf("got %s, unit %q, suggested %q by %q", got.State, got.HandlingUnit, got.SuggestedUnit, got.SuggestedBy)
		}
		if ev.Details["suggestedUnit"] != "gz-samr" {
			t.Errorf("details %v", ev.Details)
		}
	})
}

func TestReclassifyRefusals(t *testing.T) {
	t.Parallel()
	tk, now := inState(t, ticket.Signed)
	for _, tc := range []struct {
		name string
		c    lifecycle.Command
	}{
		{"no category", reclassify("", "gz-samr")},
		{"blank category", reclassify("  ", "gz-samr")},
		{"the same category", reclassify(tk.Category, "gz-samr")},
	} {
		_, _, err := machine.Apply(tk, tc.c, now)
		if errs.KindOf(err) != errs.Invalid || !slices.Equal(fieldsOf(t, err), []string{"category"}) {
			t.Errorf("%s: %v, want Invalid naming category", tc.name, err)
		}
	}
	closed, now := inState(t, ticket.Closed)
	if _, _, err := machine.Apply(closed, reclassify("110403", "gz-samr"), now); errs.KindOf(err) != errs.Precondition {
		t.Errorf("reclassifying a closed ticket: %v, want Precondition", err)
	}
}

// TestReturnClearsTheUnit: 退单 sends the ticket back to the centre for
// re-dispatch; the event records who returned it.
func TestReturnClearsTheUnit(t *testing.T) {
	t.Parallel()
	tk, now := inState(t, ticket.Signed)
	got, ev := mustApply(t, tk, validCommand(lifecycle.Return, tk, now), now.Add(time.Hour))
	if got.State != ticket.Returned || got.HandlingUnit != "" || got.CoHandlingUnits != nil || !got.SignBy.IsZero() {
		t.Fatalf("after return: %s %q %v %v", got.State, got.HandlingUnit, got.CoHandlingUnits, got.SignBy)
	}
	if ev.Details["handlingUnit"] != tk.HandlingUnit || ev.Reason == "" {
		t.Errorf("the return event does not record the unit and reason: %+v", ev)
	}
	if !lifecycle.Movable(tk.State) || lifecycle.Movable(got.State) {
		t.Error("Movable disagrees with the states")
	}
}
