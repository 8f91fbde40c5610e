package registry

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard12345/switchboard/internal/errs"
)

// Mode is how a legacy hotline joins 12345 (归并方式, 国办发〔2020〕53号).
type Mode string

// The merger modes.
const (
	// FullMerge (整体并入): the number is cancelled; its seats join 12345.
	FullMerge Mode = "full_merge"
	// DualNumbers (双号并行): the number keeps ringing, answered by 12345 seats.
	DualNumbers Mode = "dual_numbers"
	// SubCentre (设分中心): the department keeps its number and centre as a
	// 12345 sub-centre, with expert seats taking transferred calls.
	SubCentre Mode = "sub_centre"
	// EmergencyLinkage (紧急联动): 110/119/120/122 are not merged; 12345 hands
	// emergencies off to them at once.
	EmergencyLinkage Mode = "emergency_linkage"
	// Independent: not part of the merger (or its mode is not confirmed).
	Independent Mode = "independent"
)

var modes = []Mode{FullMerge, DualNumbers, SubCentre, EmergencyLinkage, Independent}

// Status is where a legacy hotline stands in the merger.
type Status string

// The merger statuses.
const (
	Planned     Status = "planned"      // merger decided, nothing changed yet
	DualRunning Status = "dual_running" // the old number and 12345 both answered by 12345 seats
	Merged      Status = "merged"       // 12345 handles it; the old number forwards or announces
	Retired     Status = "retired"      // the number no longer answers
	Linked      Status = "linked"       // emergency linkage: never merged, never retired
	Unmerged    Status = "unmerged"     // independent lines
)

var statuses = []Status{Planned, DualRunning, Merged, Retired, Linked, Unmerged}

// transitions lists the statuses each status may move to.
var transitions = map[Status][]Status{
	Planned:     {DualRunning, Merged},
	DualRunning: {Merged, Planned, Retired},
	Merged:      {Retired, DualRunning},
	Unmerged:    {Planned},
}

// Hotline is a legacy number and its place in the merger. A number can be
// reused: each use is its own record with its own validity (12356 was merged in
// 2021 and became the national mental-health line in 2024).
type Hotline struct {
	Number string `yaml:"number" json:"number"`
	Name   string `yaml:"name" json:"name"`
	// Department is the unit id of the department that owned the line.
	Department string `yaml:"department" json:"department"`
	Mode       Mode   `yaml:"mode" json:"mode"`
	Status     Status `yaml:"status" json:"status"`
	// HandlingUnit receives the work orders of requests arriving on the number.
	HandlingUnit string `yaml:"handlingUnit,omitempty" json:"handlingUnit,omitempty"`
	// ExpertGroup keeps taking transferred calls (sub-centres).
	ExpertGroup string `yaml:"expertGroup,omitempty" json:"expertGroup,omitempty"`
	// Cutover is the planned or actual date of the next or last status change.
	Cutover Date `yaml:"cutover,omitempty" json:"cutover,omitzero"`
	// ValidFrom and ValidTo bound this use of the number (ValidTo exclusive;
	// zero means open).
	ValidFrom Date `yaml:"validFrom,omitempty" json:"validFrom,omitzero"`
	ValidTo   Date `yaml:"validTo,omitempty" json:"validTo,omitzero"`
	// Confidence in the mode, as the sources state it: high, medium, low, unknown.
	Confidence string `yaml:"confidence,omitempty" json:"confidence,omitempty"`
	Note       string `yaml:"note,omitempty" json:"note,omitempty"`
	// Revision changes with every stored change; a change names the revision it
	// was based on, so concurrent edits conflict instead of overwriting.
	Revision uint64 `yaml:"-" json:"revision"`
}

// ValidAt reports whether this use of the number is in force on t's date.
func (h *Hotline) ValidAt(t time.Time) bool {
	d := DateOf(t)
	return (h.ValidFrom.IsZero() || !d.Before(h.ValidFrom)) && (h.ValidTo.IsZero() || d.Before(h.ValidTo))
}

// StatusChange is one recorded move of a hotline's status.
type StatusChange struct {
	Number string    `json:"number"`
	From   Status    `json:"from"`
	To     Status    `json:"to"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason,omitempty"`
	Force  bool      `json:"force,omitempty"`
	At     time.Time `json:"at"`
	// Cutover, when set, becomes the hotline's cutover date.
	Cutover Date `json:"cutover,omitzero"`
}

// RetireGuard is how recent traffic on a number makes retiring it need force.
type RetireGuard struct {
	// Days of traffic looked at; 0 disables the guard.
	Days int
	// Requests received on the number in those days.
	Requests int64
}

// ChangeStatus applies c to h: it checks the transition and the guards and
// returns the changed hotline, or an error of kind Precondition (the transition
// or a guard forbids it) or Invalid (the change is malformed). h is not modified.
func ChangeStatus(h Hotline, c StatusChange, traffic RetireGuard) (Hotline, StatusChange, error) {
	var v errs.Violations
	if !slices.Contains(statuses, c.To) {
		v.Add("status", "unknown status %q; one of %s", c.To, joinStatuses(statuses))
	}
	if strings.TrimSpace(c.Actor) == "" {
		v.Add("actor", "required")
	}
	if c.Force && strings.TrimSpace(c.Reason) == "" {
		v.Add("reason", "required when forcing a change")
	}
	if err := v.Err(); err != nil {
		return h, c, err
	}
	if c.To == h.Status {
		return h, c, errs.E(errs.Precondition, "hotline %s is already %s", h.Number, h.Status)
	}
	if h.Mode == EmergencyLinkage {
		return h, c, errs.E(errs.Precondition, "hotline %s is an emergency linkage line: it is never merged or retired", h.Number)
	}
	if !slices.Contains(transitions[h.Status], c.To) {
		return h, c, errs.E(errs.Precondition, "hotline %s cannot go from %s to %s; allowed: %s", h.Number, h.Status, c.To, joinStatuses(transitions[h.Status]))
	}
	if h.Mode == SubCentre && c.To != Planned && h.ExpertGroup == "" {
		return h, c, errs.E(errs.Precondition, "hotline %s is a sub-centre: it needs an expert-seat group before it can be %s", h.Number, c.To)
	}
	if c.To == Retired && traffic.Days > 0 && traffic.Requests > 0 && !c.Force {
		return h, c, errs.E(errs.Precondition, "hotline %s received %d requests in the last %d days; retiring it needs force and a reason", h.Number, traffic.Requests, traffic.Days)
	}
	c.Number, c.From = h.Number, h.Status
	n := h
	n.Status = c.To
	if !c.Cutover.IsZero() {
		n.Cutover = c.Cutover
	}
	return n, c, nil
}

// AllowedStatuses returns the statuses h may move to.
func AllowedStatuses(h Hotline) []Status {
	if h.Mode == EmergencyLinkage {
		return nil
	}
	return slices.Clone(transitions[h.Status])
}

func joinStatuses(ss []Status) string {
	if len(ss) == 0 {
		return "none"
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, ", ")
}

// initialStatus checks that a hotline's status fits its mode.
func statusFitsMode(m Mode, s Status) error {
	switch {
	case m == EmergencyLinkage && s != Linked:
		return fmt.Errorf("an emergency linkage line has status linked, not %q", s)
	case m != EmergencyLinkage && s == Linked:
		return fmt.Errorf("only emergency linkage lines are linked")
	case m == Independent && s != Unmerged && s != Planned:
		return fmt.Errorf("an independent line is unmerged or planned, not %q", s)
	}
	return nil
}

// Date is a calendar date (no time of day), written 2006-01-02.
type Date struct{ t time.Time }

// DateOf returns t's date in China Standard Time.
func DateOf(t time.Time) Date {
	y, m, d := t.In(cst).Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

var cst = time.FixedZone("CST", 8*3600)

// ParseDate parses 2006-01-02.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	return Date{t}, nil
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d.t.IsZero() }

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.t.Before(e.t) }

func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.t.Format(time.DateOnly)
}

// MarshalText implements encoding.TextMarshaler.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalYAML decodes a date and names the line of a bad one.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	if err := d.UnmarshalText([]byte(n.Value)); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	p, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}
