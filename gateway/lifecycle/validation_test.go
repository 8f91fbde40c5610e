package lifecycle_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
)

// han returns n Chinese characters (3 bytes each in UTF-8).
func han(n int) string { return strings.Repeat("办", n) }

// TestParameterValidation applies commands in states that allow them: the
// ones with fields fail as Invalid naming exactly those fields and change
// nothing; the ones without succeed (boundary values).
func TestParameterValidation(t *testing.T) {
	t.Parallel()
	if got := utf8.RuneCountInString(han(lifecycle.MaxTextChars)); got != 5000 || len(han(lifecycle.MaxTextChars)) != 15000 {
		t.Fatalf("MaxTextChars = %d; han gives %d characters", lifecycle.MaxTextChars, got)
	}
	type cmd = lifecycle.Command
	for _, tc := range []struct {
		name   string
		state  ticket.State
		c      cmd
		fields []string // nil: must succeed
	}{
		// dispatch
		{"dispatch without handling unit", ticket.Received, cmd{Action: lifecycle.Dispatch}, []string{"handlingUnit"}},
		{"dispatch co-unit is the handling unit", ticket.Received, cmd{Action: lifecycle.Dispatch, HandlingUnit: "u1", CoHandlingUnits: []string{"u1"}}, []string{"coHandlingUnits[0]"}},
		{"dispatch empty co-unit", ticket.Received, cmd{Action: lifecycle.Dispatch, HandlingUnit: "u1", CoHandlingUnits: []string{"u2", ""}}, []string{"coHandlingUnits[1]"}},
		{"dispatch several bad co-units", ticket.Returned, cmd{Action: lifecycle.Dispatch, HandlingUnit: "u1", CoHandlingUnits: []string{"", "u2", "u1"}}, []string{"coHandlingUnits[0]", "coHandlingUnits[2]"}},
		{"dispatch bad urgency", ticket.Received, cmd{Action: lifecycle.Dispatch, HandlingUnit: "u1", Urgency: "HIGH"}, []string{"urgency"}},
		{"dispatch urgency is case-sensitive", ticket.Received, cmd{Action: lifecycle.Dispatch, HandlingUnit: "u1", Urgency: "urgent"}, []string{"urgency"}},
		{"dispatch unspecified urgency enum", ticket.Received, cmd{Action: lifecycle.Dispatch, HandlingUnit: "u1", Urgency: "URGENCY_UNSPECIFIED"}, []string{"urgency"}},
		{"dispatch reports every problem", ticket.Received, cmd{Action: lifecycle.Dispatch, CoHandlingUnits: []string{""}, Urgency: "x", Reason: "\xff"}, []string{"coHandlingUnits[0]", "handlingUnit", "reason", "urgency"}},
		{"dispatch reason too long", ticket.Received, cmd{Action: lifecycle.Dispatch, HandlingUnit: "u1", Reason: han(5001)}, []string{"reason"}},
		{"dispatch minimal", ticket.Received, cmd{Action: lifecycle.Dispatch, HandlingUnit: "u1"}, nil},
		{"dispatch every urgency: critical", ticket.Received, cmd{Action: lifecycle.Dispatch, HandlingUnit: "u1", Urgency: ticket.Critical}, nil},
		{"dispatch reason of 5000 characters", ticket.Received, cmd{Action: lifecycle.Dispatch, HandlingUnit: "u1", Reason: han(5000)}, nil},

		// sign, supervise: the optional reason is still checked
		{"sign reason too long", ticket.Dispatched, cmd{Action: lifecycle.Sign, Reason: han(5001)}, []string{"reason"}},
		{"sign reason not UTF-8", ticket.Dispatched, cmd{Action: lifecycle.Sign, Reason: "签\xc0收"}, []string{"reason"}},
		{"supervise reason not UTF-8 and past deadline", ticket.Signed, cmd{Action: lifecycle.Supervise, Reason: "\xed\xa0\x80", ReplyBy: friday}, []string{"reason", "replyBy"}},

		// return and reopen need a reason
		{"return without reason", ticket.Dispatched, cmd{Action: lifecycle.Return}, []string{"reason"}},
		{"return blank reason", ticket.Signed, cmd{Action: lifecycle.Return, Reason: " \u3000 "}, []string{"reason"}},
		{"return reason too long", ticket.Dispatched, cmd{Action: lifecycle.Return, Reason: han(5001)}, []string{"reason"}},
		{"return reason not UTF-8", ticket.Reopened, cmd{Action: lifecycle.Return, Reason: "\xff\xfe"}, []string{"reason"}},
		{"return reason of 5000 characters", ticket.Dispatched, cmd{Action: lifecycle.Return, Reason: han(5000)}, nil},
		{"reopen without reason", ticket.Visited, cmd{Action: lifecycle.Reopen}, []string{"reason"}},
		{"reopen blank reason", ticket.Replied, cmd{Action: lifecycle.Reopen, Reason: "\n"}, []string{"reason"}},
		{"reopen reason too long", ticket.Visited, cmd{Action: lifecycle.Reopen, Reason: han(5001)}, []string{"reason"}},

		// requestExtension: 1 to 10 working days
		{"extension of 0 days", ticket.Signed, cmd{Action: lifecycle.RequestExtension}, []string{"days"}},
		{"extension of -1 days", ticket.Signed, cmd{Action: lifecycle.RequestExtension, Days: -1}, []string{"days"}},
		{"extension of 11 days", ticket.InProgress, cmd{Action: lifecycle.RequestExtension, Days: 11}, []string{"days"}},
		{"extension of a huge number of days", ticket.Signed, cmd{Action: lifecycle.RequestExtension, Days: 1 << 40}, []string{"days"}},
		{"extension of 1 day", ticket.Signed, cmd{Action: lifecycle.RequestExtension, Days: 1}, nil},
		{"extension of 10 days", ticket.Signed, cmd{Action: lifecycle.RequestExtension, Days: 10}, nil},
		{"extension beyond the total left", ticket.InProgress, cmd{Action: lifecycle.RequestExtension, Days: 8}, []string{"days"}},
		{"co-unit listed twice", ticket.Received, cmd{Action: lifecycle.Dispatch, HandlingUnit: "a", CoHandlingUnits: []string{"b", "b"}}, []string{"coHandlingUnits[1]"}},

		// decideExtension: 0 (as requested) to the 3 requested
		{"grant more than requested", ticket.ExtensionRequested, cmd{Action: lifecycle.DecideExtension, Approve: true, Days: 4}, []string{"days"}},
		{"grant negative days", ticket.ExtensionRequested, cmd{Action: lifecycle.DecideExtension, Approve: true, Days: -1}, []string{"days"}},
		{"grant as requested", ticket.ExtensionRequested, cmd{Action: lifecycle.DecideExtension, Approve: true}, nil},
		{"grant all 3", ticket.ExtensionRequested, cmd{Action: lifecycle.DecideExtension, Approve: true, Days: 3}, nil},

		// supervise
		{"supervise deadline ten minutes ago", ticket.Dispatched, cmd{Action: lifecycle.Supervise, ReplyBy: friday.Add(time.Hour)}, []string{"replyBy"}},
		{"supervise deadline in the past", ticket.InProgress, cmd{Action: lifecycle.Supervise, ReplyBy: friday}, []string{"replyBy"}},

		// reply and answer: 1 to 5000 characters of valid UTF-8
		{"reply empty", ticket.Signed, cmd{Action: lifecycle.Reply}, []string{"reply"}},
		{"reply blank", ticket.InProgress, cmd{Action: lifecycle.Reply, Text: "\t \u3000\n"}, []string{"reply"}},
		{"reply of 5001 characters", ticket.Signed, cmd{Action: lifecycle.Reply, Text: han(5001)}, []string{"reply"}},
		{"reply of 5001 ASCII characters", ticket.Signed, cmd{Action: lifecycle.Reply, Text: strings.Repeat("a", 5001)}, []string{"reply"}},
		{"reply not UTF-8", ticket.Signed, cmd{Action: lifecycle.Reply, Text: "已处理\xff"}, []string{"reply"}},
		{"reply truncated UTF-8", ticket.Signed, cmd{Action: lifecycle.Reply, Text: han(10)[:29]}, []string{"reply"}},
		{"reply of 5000 characters (15000 bytes)", ticket.Signed, cmd{Action: lifecycle.Reply, Text: han(5000)}, nil},
		{"reply of 4999 characters and an emoji", ticket.Signed, cmd{Action: lifecycle.Reply, Text: han(4999) + "👍"}, nil},
		{"reply of one character", ticket.InProgress, cmd{Action: lifecycle.Reply, Text: "好"}, nil},
		{"answer empty", ticket.Received, cmd{Action: lifecycle.Answer}, []string{"answer"}},
		{"answer blank", ticket.Returned, cmd{Action: lifecycle.Answer, Text: "   "}, []string{"answer"}},
		{"answer of 5001 characters", ticket.Received, cmd{Action: lifecycle.Answer, Text: han(5001)}, []string{"answer"}},
		{"answer not UTF-8", ticket.Received, cmd{Action: lifecycle.Answer, Text: "\x80"}, []string{"answer"}},
		{"answer of 5000 characters", ticket.Received, cmd{Action: lifecycle.Answer, Text: han(5000)}, nil},
		{"answer and reason both bad", ticket.Received, cmd{Action: lifecycle.Answer, Reason: han(5001)}, []string{"answer", "reason"}},

		// visit
		{"visit without satisfaction", ticket.Replied, cmd{Action: lifecycle.Visit, Resolved: true}, []string{"satisfaction"}},
		{"visit unknown satisfaction", ticket.Replied, cmd{Action: lifecycle.Visit, Satisfaction: "VERY_SATISFIED"}, []string{"satisfaction"}},
		{"visit satisfaction is case-sensitive", ticket.Replied, cmd{Action: lifecycle.Visit, Satisfaction: "satisfied"}, []string{"satisfaction"}},
		{"visit dissatisfied, unresolved", ticket.Replied, cmd{Action: lifecycle.Visit, Satisfaction: ticket.Dissatisfied}, nil},

		// close
		{"close replied without reason", ticket.Replied, cmd{Action: lifecycle.Close}, []string{"reason"}},
		{"close replied blank reason", ticket.Replied, cmd{Action: lifecycle.Close, Reason: " "}, []string{"reason"}},
		{"close visited reason too long", ticket.Visited, cmd{Action: lifecycle.Close, Reason: han(5001)}, []string{"reason"}},
		{"close visited without reason", ticket.Visited, cmd{Action: lifecycle.Close}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, last := inState(t, tc.state)
			now := last.Add(time.Hour)
			before := clone(in)
			got, ev, err := machine.Apply(in, tc.c, now)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				checkSuccess(t, before, in, tc.c, now, got, ev)
				return
			}
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("error %v has kind %v, want %v", err, errs.KindOf(err), errs.Invalid)
			}
			want := slices.Sorted(slices.Values(tc.fields))
			if fields := fieldsOf(t, err); !slices.Equal(fields, want) {
				t.Errorf("violations on %v, want %v (%v)", fields, want, err)
			}
			checkUnchanged(t, before, in, got, ev)
		})
	}
}

// TestValidationMessages: descriptions say what is wrong and count characters,
// not bytes.
func TestValidationMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		state  ticket.State
		c      lifecycle.Command
		field  string
		phrase string
	}{
		{"too long counts characters", ticket.Signed, lifecycle.Command{Action: lifecycle.Reply, Text: han(5001)}, "reply", "5001"},
		{"too long names the limit", ticket.Signed, lifecycle.Command{Action: lifecycle.Reply, Text: han(5001)}, "reply", "5000"},
		{"days names the maximum", ticket.Signed, lifecycle.Command{Action: lifecycle.RequestExtension, Days: 11}, "days", "10"},
		{"days names what was requested", ticket.ExtensionRequested, lifecycle.Command{Action: lifecycle.DecideExtension, Approve: true, Days: 9}, "days", "3"},
		{"urgency quotes the value", ticket.Received, lifecycle.Command{Action: lifecycle.Dispatch, HandlingUnit: "u", Urgency: "HIGH"}, "urgency", `"HIGH"`},
		{"satisfaction quotes the value", ticket.Replied, lifecycle.Command{Action: lifecycle.Visit, Satisfaction: "MEH"}, "satisfaction", `"MEH"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, last := inState(t, tc.state)
			_, _, err := machine.Apply(in, tc.c, last.Add(time.Hour))
			var e *errs.Error
			if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
				t.Fatalf("error %v, want one violation on %s", err, tc.field)
			}
			if !strings.Contains(e.Fields[0].Description, tc.phrase) {
				t.Errorf("description %q does not contain %q", e.Fields[0].Description, tc.phrase)
			}
		})
	}
}
