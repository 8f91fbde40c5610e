// Package lifecycle is the work order state machine: which actions each state
// allows, what each action changes, and the event it leaves in the history. It is
// pure: the current ticket, a command and the time go in; the new ticket and its
// event come out, or an error that changes nothing.
//
//	RECEIVED ──dispatch──▶ DISPATCHED ──sign──▶ SIGNED ──reply──▶ REPLIED ──visit──▶ VISITED ──close──▶ CLOSED
//	   │  ▲                   │  ▲               │  │               │  ▲                 │
//	answer└──dispatch── RETURNED ◀──return───────┘  requestExtension  reopen└─────────────┘reopen
//	   ▼                                            ▼                 ▼
//	ANSWERED               IN_PROGRESS ◀─decideExtension─ EXTENSION_REQUESTED   REOPENED ──sign──▶ SIGNED
//
// supervise (督办) flags an open ticket without changing its state. reclassify
// (改类) changes the category of any ticket not yet closed; when the new
// category routes a dispatched or handled ticket to another unit, it moves the
// ticket there: back to DISPATCHED, with new deadlines.
package lifecycle

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
)

// Action names a lifecycle action; the values are the API's verbs.
type Action string

// The actions. Create is the event of intake; it is not applied to a ticket.
const (
	Create           Action = "create"
	Dispatch         Action = "dispatch"
	Sign             Action = "sign"
	Return           Action = "return"
	RequestExtension Action = "requestExtension"
	DecideExtension  Action = "decideExtension"
	Supervise        Action = "supervise"
	Reply            Action = "reply"
	Visit            Action = "visit"
	Reopen           Action = "reopen"
	Close            Action = "close"
	Answer           Action = "answer"
	Reclassify       Action = "reclassify"
)

// allowed is the transition table: the actions each state permits.
var allowed = map[ticket.State][]Action{
	ticket.Received:           {Dispatch, Answer, Reclassify},
	ticket.Returned:           {Dispatch, Answer, Reclassify},
	ticket.Dispatched:         {Sign, Return, Supervise, Reclassify},
	ticket.Reopened:           {Sign, Return, Supervise, Reclassify},
	ticket.Signed:             {RequestExtension, Supervise, Reply, Return, Reclassify},
	ticket.InProgress:         {RequestExtension, Supervise, Reply, Reclassify},
	ticket.ExtensionRequested: {DecideExtension, Supervise, Reclassify},
	ticket.Replied:            {Visit, Reopen, Close, Reclassify},
	ticket.Visited:            {Close, Reopen, Reclassify},
}

// Movable reports whether a reclassification may move a ticket in state s to
// another unit: it is with a unit that has yet to sign or is handling it. A
// ticket not yet dispatched only gets a new suggestion; a replied one keeps
// its unit (the category change is for the record).
func Movable(s ticket.State) bool { return s.AwaitingSign() || s.Handling() }

// Allowed returns the actions permitted in state s (none for terminal states).
func Allowed(s ticket.State) []Action { return slices.Clone(allowed[s]) }

// Deadlines computes work order deadlines; gateway/deadline.Policy implements it.
type Deadlines interface {
	// Deadlines returns the sign-by and reply-by deadlines for a ticket
	// dispatched at the given time.
	Deadlines(at time.Time, urgency, requestType, category string) (signBy, replyBy time.Time)
	// Extend moves a reply-by deadline by days working days, or fails if days is
	// outside the allowed range.
	Extend(replyBy time.Time, days int) (time.Time, error)
	// MaxExtensionDays is the most working days one extension may add.
	MaxExtensionDays() int
}

// Command is one action with its parameters; which fields matter depends on
// Action.
type Command struct {
	Action Action
	Actor  string
	Reason string

	// HandlingUnit is the unit to dispatch to; for reclassify, the unit the
	// new category routes to ("" when no rule routes it): a Movable ticket
	// moves there, a ticket not yet dispatched gets it as its suggestion.
	HandlingUnit    string
	CoHandlingUnits []string // dispatch
	// Category is the new category: optional for dispatch; for
	// reclassify, the new category or "" to keep it.
	Category string
	// RegionCode is, for reclassify, the ticket's new region or "" to keep
	// it; a category or a region is required.
	RegionCode string
	Urgency    ticket.Urgency // dispatch: optional change

	Days    int  // requestExtension, decideExtension
	Approve bool // decideExtension

	ReplyBy time.Time // supervise: optional new reply-by

	Text         string              // reply, answer
	Satisfaction ticket.Satisfaction // visit
	Resolved     bool                // visit
}

// MaxTextChars bounds replies, answers and reasons, in characters.
const MaxTextChars = 5000

// Machine applies commands using a deadline policy.
type Machine struct {
	deadlines Deadlines
}

// New returns a Machine that computes deadlines with d.
func New(d Deadlines) *Machine { return &Machine{deadlines: d} }

// Apply performs c on t at now. It returns the changed ticket (Version and
// UpdateTime advanced) and the event to append, or an error: Precondition when
// the state does not allow the action (the message names the state and the
// allowed actions), Invalid when a parameter is bad. t is not modified.
func (m *Machine) Apply(t ticket.Ticket, c Command, now time.Time) (ticket.Ticket, ticket.Event, error) {
	if !slices.Contains(allowed[t.State], c.Action) {
		return t, ticket.Event{}, notAllowed(t.State, c.Action)
	}
	if err := m.checkParams(t, c, now); err != nil {
		return t, ticket.Event{}, err
	}
	n := t
	n.CoHandlingUnits = slices.Clone(t.CoHandlingUnits)
	if t.Resolved != nil {
		resolved := *t.Resolved
		n.Resolved = &resolved
	}
	details := map[string]string{}
	switch c.Action {
	case Dispatch:
		if c.Category != "" {
			n.Category = c.Category
		}
		if c.Urgency != "" {
			n.Urgency = c.Urgency
		}
		n.HandlingUnit = c.HandlingUnit
		n.CoHandlingUnits = slices.Clone(c.CoHandlingUnits)
		n.State = ticket.Dispatched
		n.DispatchTime = now
		n.SignBy, n.ReplyBy = m.deadlines.Deadlines(now, string(n.Urgency), string(n.RequestType), n.Category)
		n.SignTime, n.ReplyTime = time.Time{}, time.Time{}
		details["handlingUnit"] = n.HandlingUnit
		if len(n.CoHandlingUnits) > 0 {
			details["coHandlingUnits"] = strings.Join(n.CoHandlingUnits, ",")
		}
		if n.Category != "" {
			details["category"] = n.Category
		}
		details["urgency"] = string(n.Urgency)
		details["signBy"] = stamp(n.SignBy)
		details["replyBy"] = stamp(n.ReplyBy)
	case Sign:
		n.State = ticket.Signed
		n.SignTime = now
		details["handlingUnit"] = n.HandlingUnit
	case Return:
		details["handlingUnit"] = n.HandlingUnit
		n.State = ticket.Returned
		n.HandlingUnit, n.CoHandlingUnits = "", nil
		n.SignBy, n.ReplyBy, n.SignTime = time.Time{}, time.Time{}, time.Time{}
	case RequestExtension:
		n.State = ticket.ExtensionRequested
		n.ExtensionDaysRequested = c.Days
		details["days"] = strconv.Itoa(c.Days)
	case DecideExtension:
		n.State = ticket.InProgress
		details["approved"] = strconv.FormatBool(c.Approve)
		if c.Approve {
			days := c.Days
			if days == 0 {
				days = t.ExtensionDaysRequested
			}
			replyBy, err := m.deadlines.Extend(t.ReplyBy, days)
			if err != nil {
				return t, ticket.Event{}, errs.Invalidf("days", "%v", err)
			}
			n.ReplyBy = replyBy
			n.ExtensionDaysGranted += days
			details["days"] = strconv.Itoa(days)
			details["replyBy"] = stamp(n.ReplyBy)
		}
		n.ExtensionDaysRequested = 0
	case Supervise:
		n.Supervised = true
		if !c.ReplyBy.IsZero() {
			n.ReplyBy = c.ReplyBy.UTC()
			details["replyBy"] = stamp(n.ReplyBy)
		}
	case Reply:
		n.State = ticket.Replied
		n.Reply = c.Text
		n.ReplyTime = now
	case Visit:
		n.State = ticket.Visited
		n.Satisfaction = c.Satisfaction
		resolved := c.Resolved
		n.Resolved = &resolved
		details["satisfaction"] = string(c.Satisfaction)
		details["resolved"] = strconv.FormatBool(resolved)
	case Reopen:
		n.State = ticket.Reopened
		n.ReopenCount++
		n.Reply, n.Satisfaction, n.Resolved = "", "", nil
		n.SignTime, n.ReplyTime = time.Time{}, time.Time{}
		n.SignBy, n.ReplyBy = m.deadlines.Deadlines(now, string(n.Urgency), string(n.RequestType), n.Category)
		details["handlingUnit"] = n.HandlingUnit
		details["signBy"] = stamp(n.SignBy)
		details["replyBy"] = stamp(n.ReplyBy)
	case Reclassify:
		details["previousCategory"] = t.Category
		details["category"] = n.Category
		if c.Category != "" {
			details["category"] = c.Category
			n.Category = c.Category
		}
		if c.RegionCode != "" && c.RegionCode != t.Location.RegionCode {
			details["previousRegionCode"] = t.Location.RegionCode
			details["regionCode"] = c.RegionCode
			n.Location.RegionCode = c.RegionCode
		}
		switch {
		case c.HandlingUnit == "" || c.HandlingUnit == t.HandlingUnit:
		case Movable(t.State):
			// The old unit is withdrawn; the new one starts afresh.
			details["previousHandlingUnit"] = t.HandlingUnit
			details["handlingUnit"] = c.HandlingUnit
			n.HandlingUnit = c.HandlingUnit
			n.CoHandlingUnits = slices.DeleteFunc(n.CoHandlingUnits, func(u string) bool { return u == c.HandlingUnit })
			n.State = ticket.Dispatched
			n.DispatchTime = now
			n.SignBy, n.ReplyBy = m.deadlines.Deadlines(now, string(n.Urgency), string(n.RequestType), n.Category)
			n.SignTime, n.ReplyTime = time.Time{}, time.Time{}
			n.ExtensionDaysRequested = 0
			details["signBy"] = stamp(n.SignBy)
			details["replyBy"] = stamp(n.ReplyBy)
		case t.State == ticket.Received || t.State == ticket.Returned:
			n.SuggestedUnit, n.SuggestedBy = c.HandlingUnit, ticket.SuggestedByRule
			details["suggestedUnit"] = c.HandlingUnit
		}
	case Close:
		n.State = ticket.Closed
		n.CloseTime = now
	case Answer:
		n.State = ticket.Answered
		n.Reply = c.Text
		n.ReplyTime = now
		n.CloseTime = now
	}
	n.Version++
	n.UpdateTime = now
	if len(details) == 0 {
		details = nil
	}
	ev := ticket.Event{
		TicketID: t.ID,
		Seq:      n.Version,
		Action:   string(c.Action),
		From:     t.State,
		To:       n.State,
		Actor:    c.Actor,
		Reason:   c.Reason,
		Details:  details,
		Time:     now,
	}
	return n, ev, nil
}

// NewTicket completes a validated intake ticket for storing: state RECEIVED,
// version 1, times at now, and provisional deadlines as if it were dispatched
// now (what the operator can promise the caller; dispatch sets the real ones).
// It returns the creation event too.
func (m *Machine) NewTicket(t ticket.Ticket, id, actor string, now time.Time) (ticket.Ticket, ticket.Event) {
	t.ID = id
	t.State = ticket.Received
	t.Version = 1
	t.CreateTime, t.UpdateTime = now, now
	if t.Urgency == "" {
		t.Urgency = ticket.Normal
	}
	t.SignBy, t.ReplyBy = m.deadlines.Deadlines(now, string(t.Urgency), string(t.RequestType), t.Category)
	ev := ticket.Event{TicketID: id, Seq: 1, Action: string(Create), To: ticket.Received, Actor: actor, Time: now}
	return t, ev
}

func (m *Machine) checkParams(t ticket.Ticket, c Command, now time.Time) error {
	var v errs.Violations
	text := func(field, s string, required bool) {
		switch n := utf8.RuneCountInString(s); {
		case !utf8.ValidString(s):
			v.Add(field, "not valid UTF-8")
		case required && strings.TrimSpace(s) == "":
			v.Add(field, "required")
		case n > MaxTextChars:
			v.Add(field, "must be at most %d characters, got %d", MaxTextChars, n)
		}
	}
	switch c.Action {
	case Return, Reopen:
	default:
		text("reason", c.Reason, false)
	}
	switch c.Action {
	case Dispatch:
		if strings.TrimSpace(c.HandlingUnit) == "" {
			v.Add("handlingUnit", "required")
		}
		for i, u := range c.CoHandlingUnits {
			switch {
			case strings.TrimSpace(u) == "" || u == c.HandlingUnit:
				v.Add(fmt.Sprintf("coHandlingUnits[%d]", i), "must name a unit other than the handling unit")
			case slices.Contains(c.CoHandlingUnits[:i], u):
				v.Add(fmt.Sprintf("coHandlingUnits[%d]", i), "duplicate of an earlier co-handling unit %q", u)
			}
		}
		switch c.Urgency {
		case "", ticket.Normal, ticket.Urgent, ticket.Critical:
		default:
			v.Add("urgency", "unknown value %q", c.Urgency)
		}
	case Return, Reopen:
		text("reason", c.Reason, true)
	case Reclassify:
		switch {
		case strings.TrimSpace(c.Category) == "" && strings.TrimSpace(c.RegionCode) == "":
			v.Add("category", "required (or regionCode)")
		case (c.Category == "" || c.Category == t.Category) && (c.RegionCode == "" || c.RegionCode == t.Location.RegionCode):
			v.Add("category", "is already the ticket's category %q (region %q)", t.Category, t.Location.RegionCode)
		}
	case RequestExtension:
		// The limit is on all extensions of a ticket together.
		left := m.deadlines.MaxExtensionDays() - t.ExtensionDaysGranted
		switch {
		case left <= 0:
			v.Add("days", "no extension left: %d working days already granted", t.ExtensionDaysGranted)
		case c.Days < 1 || c.Days > left:
			v.Add("days", "must be between 1 and %d working days (%d already granted), got %d", left, t.ExtensionDaysGranted, c.Days)
		}
	case DecideExtension:
		if c.Days < 0 || c.Days > t.ExtensionDaysRequested {
			v.Add("days", "must be between 0 (all requested) and the %d requested, got %d", t.ExtensionDaysRequested, c.Days)
		}
	case Supervise:
		if !c.ReplyBy.IsZero() && !c.ReplyBy.After(now) {
			v.Add("replyBy", "must be in the future")
		}
	case Reply:
		text("reply", c.Text, true)
	case Answer:
		text("answer", c.Text, true)
	case Visit:
		switch c.Satisfaction {
		case ticket.Satisfied, ticket.BasicallySatisfied, ticket.Dissatisfied:
		case "":
			v.Add("satisfaction", "required")
		default:
			v.Add("satisfaction", "unknown value %q", c.Satisfaction)
		}
	case Close:
		if t.State == ticket.Replied && strings.TrimSpace(c.Reason) == "" {
			v.Add("reason", "required when closing without a return visit")
		}
	}
	return v.Err()
}

func notAllowed(s ticket.State, a Action) error {
	names := make([]string, len(allowed[s]))
	for i, x := range allowed[s] {
		names[i] = string(x)
	}
	list := "none (the ticket is " + strings.ToLower(string(s)) + " for good)"
	if len(names) > 0 {
		list = strings.Join(names, ", ")
	}
	return errs.E(errs.Precondition, "action %s is not allowed in state %s; allowed: %s", a, s, list)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
