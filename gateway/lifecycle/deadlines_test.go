package lifecycle_test

import (
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/deadline"
	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/ticket"
)

func date(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, cst) }

// TestDispatchDeadlines checks the deadlines dispatch sets with the real
// policy and calendar. Each expectation is written out and also checked
// against the calendar, so a wrong table entry is told apart from a wrong
// machine.
func TestDispatchDeadlines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		at              time.Time
		created         ticket.Urgency // at intake; "" means NewTicket's default
		urgency         ticket.Urgency // at dispatch; "" keeps the ticket's
		wantUrgency     ticket.Urgency
		signBy, replyBy time.Time
		signWD          int // > 0: signBy must equal cal.AddWorkingDays(at, signWD)
	}{
		{
			name: "critical: 15 minutes", at: friday, urgency: ticket.Critical, wantUrgency: ticket.Critical,
			signBy: date(2026, 11, 27, 10, 15), replyBy: date(2026, 12, 4, 10, 0),
		},
		{
			name: "urgent: 30 minutes", at: friday, urgency: ticket.Urgent, wantUrgency: ticket.Urgent,
			signBy: date(2026, 11, 27, 10, 30), replyBy: date(2026, 12, 4, 10, 0),
		},
		{
			name: "normal on Friday: Monday same time", at: friday, urgency: ticket.Normal, wantUrgency: ticket.Normal,
			signBy: date(2026, 11, 30, 10, 0), replyBy: date(2026, 12, 4, 10, 0), signWD: 1,
		},
		{
			name: "default urgency is normal", at: friday, wantUrgency: ticket.Normal,
			signBy: date(2026, 11, 30, 10, 0), replyBy: date(2026, 12, 4, 10, 0), signWD: 1,
		},
		{
			name: "urgency from intake is kept", at: friday, created: ticket.Critical, wantUrgency: ticket.Critical,
			signBy: date(2026, 11, 27, 10, 15), replyBy: date(2026, 12, 4, 10, 0),
		},
		{
			name: "urgency lowered at dispatch", at: friday, created: ticket.Critical, urgency: ticket.Normal, wantUrgency: ticket.Normal,
			signBy: date(2026, 11, 30, 10, 0), replyBy: date(2026, 12, 4, 10, 0), signWD: 1,
		},
		{
			name: "critical crosses midnight", at: date(2026, 11, 27, 23, 50), urgency: ticket.Critical, wantUrgency: ticket.Critical,
			signBy: date(2026, 11, 28, 0, 5), replyBy: date(2026, 12, 4, 23, 50),
		},
		{
			// Friday 13 February 2026, before the Spring Festival (15–23
			// February). Saturday 14 February is a make-up workday, so the
			// sign-by is that Saturday; the reply-by counts 14, 24, 25, 26, 27
			// February and lands after the holiday.
			name: "normal before the Spring Festival", at: date(2026, 2, 13, 10, 0), urgency: ticket.Normal, wantUrgency: ticket.Normal,
			signBy: date(2026, 2, 14, 10, 0), replyBy: date(2026, 2, 27, 10, 0), signWD: 1,
		},
		{
			name: "urgent before the Spring Festival", at: date(2026, 2, 13, 17, 45), urgency: ticket.Urgent, wantUrgency: ticket.Urgent,
			signBy: date(2026, 2, 13, 18, 15), replyBy: date(2026, 2, 27, 17, 45),
		},
		{
			// Counting from a rest day starts at 00:00 of the next working day
			// (Tuesday 24 February), so one working day ends at 00:00 on the 25th
			// and five (25, 26, 27, Saturday 28 made up, 2 March) at 00:00 on 2 March.
			name: "normal during the Spring Festival", at: date(2026, 2, 17, 10, 0), urgency: ticket.Normal, wantUrgency: ticket.Normal,
			signBy: date(2026, 2, 25, 0, 0), replyBy: date(2026, 3, 2, 0, 0), signWD: 1,
		},
		{
			name: "critical during the Spring Festival ignores the holiday", at: date(2026, 2, 17, 10, 0), urgency: ticket.Critical, wantUrgency: ticket.Critical,
			signBy: date(2026, 2, 17, 10, 15), replyBy: date(2026, 3, 2, 0, 0),
		},
		{
			name: "normal on a make-up Saturday", at: date(2026, 2, 28, 9, 0), urgency: ticket.Normal, wantUrgency: ticket.Normal,
			signBy: date(2026, 3, 2, 9, 0), replyBy: date(2026, 3, 6, 9, 0), signWD: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := intake()
			in.Urgency = tc.created
			created, _ := machine.NewTicket(in, "tk-d", "op", tc.at.Add(-time.Hour))
			c := lifecycle.Command{Action: lifecycle.Dispatch, Actor: "dispatcher", HandlingUnit: "unit-a", Urgency: tc.urgency}
			got, ev := mustApply(t, created, c, tc.at)

			if wantReply := cal.AddWorkingDays(tc.at, 5); !wantReply.Equal(tc.replyBy) {
				t.Fatalf("table: calendar says 5 working days after %s is %s", show(tc.at), show(wantReply))
			}
			if tc.signWD > 0 && !cal.AddWorkingDays(tc.at, tc.signWD).Equal(tc.signBy) {
				t.Fatalf("table: calendar says %d working day after %s is %s", tc.signWD, show(tc.at), show(cal.AddWorkingDays(tc.at, tc.signWD)))
			}
			if got.Urgency != tc.wantUrgency || ev.Details["urgency"] != string(tc.wantUrgency) {
				t.Errorf("urgency %s (recorded %q), want %s", got.Urgency, ev.Details["urgency"], tc.wantUrgency)
			}
			if !got.SignBy.Equal(tc.signBy) {
				t.Errorf("signBy %s, want %s", show(got.SignBy), show(tc.signBy))
			}
			if !got.ReplyBy.Equal(tc.replyBy) {
				t.Errorf("replyBy %s, want %s", show(got.ReplyBy), show(tc.replyBy))
			}
			if ev.Details["signBy"] != stamp(tc.signBy) || ev.Details["replyBy"] != stamp(tc.replyBy) {
				t.Errorf("recorded signBy %s replyBy %s, want %s %s", ev.Details["signBy"], ev.Details["replyBy"], stamp(tc.signBy), stamp(tc.replyBy))
			}
			if !got.DispatchTime.Equal(tc.at) {
				t.Errorf("dispatchTime %s, want %s", show(got.DispatchTime), show(tc.at))
			}
			// Overdue turns on exactly after the sign-by, and after signing
			// the reply-by counts.
			if got.Overdue(tc.signBy) || !got.Overdue(tc.signBy.Add(time.Nanosecond)) {
				t.Errorf("dispatched ticket not overdue exactly after signBy %s", show(tc.signBy))
			}
			signed, _ := mustApply(t, got, lifecycle.Command{Action: lifecycle.Sign}, tc.at.Add(time.Minute))
			if signed.Overdue(tc.replyBy) || !signed.Overdue(tc.replyBy.Add(time.Nanosecond)) {
				t.Errorf("signed ticket not overdue exactly after replyBy %s", show(tc.replyBy))
			}
		})
	}
}

// TestDispatchUsesCurrentClassification: a category or urgency changed at
// dispatch is what the deadlines are computed from, and it is recorded.
func TestDispatchUsesCurrentClassification(t *testing.T) {
	t.Parallel()
	cfg := deadline.DefaultPolicyConfig()
	cfg.Sign.UtilityPrefixes = []string{"0105"} // water, power, gas, heating
	cfg.Reply.Rules = []deadline.ReplyRule{
		{CategoryPrefix: "0301", Limit: deadline.Limit{WorkingDays: 10}},
		{RequestType: "CONSULTATION", Limit: deadline.Limit{WorkingDays: 3}},
	}
	p := mustPolicy(cfg)
	m := lifecycle.New(p)

	for _, tc := range []struct {
		name                  string
		requestType           ticket.RequestType
		created, category     string
		urgency               ticket.Urgency
		wantCategory          string
		wantSignBy, wantReply time.Time
	}{
		{"unchanged ordinary category", "COMPLAINT", "0101", "", "", "0101", date(2026, 11, 30, 10, 0), date(2026, 12, 4, 10, 0)},
		{"reclassified as utility: 30 minutes", "COMPLAINT", "0101", "010502", "", "010502", date(2026, 11, 27, 10, 30), date(2026, 12, 4, 10, 0)},
		{"reclassified away from utility", "COMPLAINT", "010502", "0101", "", "0101", date(2026, 11, 30, 10, 0), date(2026, 12, 4, 10, 0)},
		{"reclassified to a 10-day category", "COMPLAINT", "0101", "030101", "", "030101", date(2026, 11, 30, 10, 0), date(2026, 12, 11, 10, 0)},
		{"utility kept when category omitted", "COMPLAINT", "010502", "", "", "010502", date(2026, 11, 27, 10, 30), date(2026, 12, 4, 10, 0)},
		{"critical beats utility", "COMPLAINT", "0101", "010502", ticket.Critical, "010502", date(2026, 11, 27, 10, 15), date(2026, 12, 4, 10, 0)},
		{"consultation: 3 days", "CONSULTATION", "0101", "", "", "0101", date(2026, 11, 30, 10, 0), date(2026, 12, 2, 10, 0)},
		{"category first classified at dispatch", "COMPLAINT", "", "030101", "", "030101", date(2026, 11, 30, 10, 0), date(2026, 12, 11, 10, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := intake()
			in.Category, in.RequestType = tc.created, tc.requestType
			created, _ := m.NewTicket(in, "tk-c", "op", friday.Add(-time.Hour))
			got, ev, err := m.Apply(created, lifecycle.Command{Action: lifecycle.Dispatch, HandlingUnit: "unit-a", Category: tc.category, Urgency: tc.urgency}, friday)
			if err != nil {
				t.Fatal(err)
			}
			if got.Category != tc.wantCategory || ev.Details["category"] != tc.wantCategory {
				t.Errorf("category %q (recorded %q), want %q", got.Category, ev.Details["category"], tc.wantCategory)
			}
			if !got.SignBy.Equal(tc.wantSignBy) || !got.ReplyBy.Equal(tc.wantReply) {
				t.Errorf("signBy %s replyBy %s, want %s %s", show(got.SignBy), show(got.ReplyBy), show(tc.wantSignBy), show(tc.wantReply))
			}
			// Reopening later recomputes from the same classification.
			signed, _, _ := m.Apply(got, lifecycle.Command{Action: lifecycle.Sign}, friday.Add(time.Minute))
			replied, _, _ := m.Apply(signed, lifecycle.Command{Action: lifecycle.Reply, Text: "已处理"}, friday.Add(2*time.Minute))
			reopenAt := date(2026, 12, 7, 10, 0) // Monday
			reopened, _, err := m.Apply(replied, lifecycle.Command{Action: lifecycle.Reopen, Reason: "不满意"}, reopenAt)
			if err != nil {
				t.Fatal(err)
			}
			wantSign, wantReply := p.Deadlines(reopenAt, string(got.Urgency), string(tc.requestType), tc.wantCategory)
			if !reopened.SignBy.Equal(wantSign) || !reopened.ReplyBy.Equal(wantReply) {
				t.Errorf("after reopen signBy %s replyBy %s, want %s %s", show(reopened.SignBy), show(reopened.ReplyBy), show(wantSign), show(wantReply))
			}
		})
	}
}

// TestDeadlinesKeepTheInstant: the machine's deadlines are the policy's, to
// the nanosecond, whatever zone now is given in.
func TestDeadlinesKeepTheInstant(t *testing.T) {
	t.Parallel()
	for _, now := range []time.Time{friday, friday.UTC(), friday.In(time.FixedZone("X", -5*3600)), friday.Add(123456789 * time.Nanosecond)} {
		t.Run(now.Format(time.RFC3339Nano), func(t *testing.T) {
			t.Parallel()
			got, _ := mustApply(t, newTicket(now.Add(-time.Hour)), validCommand(lifecycle.Dispatch, ticket.Ticket{}, now), now)
			sign, reply := policy.Deadlines(now, "NORMAL", "COMPLAINT", "0101")
			if !got.SignBy.Equal(sign) || !got.ReplyBy.Equal(reply) {
				t.Errorf("signBy %s replyBy %s, want %s %s", show(got.SignBy), show(got.ReplyBy), show(sign), show(reply))
			}
		})
	}
}
