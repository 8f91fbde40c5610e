package deadline

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxWorkingDays bounds working-day limits so that a typo cannot make
// deadline arithmetic walk the calendar for ages.
const maxWorkingDays = 1000

// Limit is a time limit: either a wall-clock Duration, which ignores
// holidays, or a number of WorkingDays counted with a [Calendar]. Exactly
// one of the two is positive in a valid Limit; the zero Limit means "not
// set".
//
// Its text form, used in YAML, is a Go duration such as "15m" or "1h30m",
// or a whole number of working days followed by "wd", such as "5wd".
type Limit struct {
	Duration    time.Duration // wall-clock time; holidays do not matter
	WorkingDays int           // working days, see [Calendar.AddWorkingDays]
}

// ParseLimit parses the text form of a [Limit]: "15m", "1h30m", "5wd".
// Errors quote the bad value.
func ParseLimit(s string) (Limit, error) {
	if n, ok := strings.CutSuffix(s, "wd"); ok {
		if n == "" || strings.TrimLeft(n, "0123456789") != "" {
			return Limit{}, invalidLimit(s)
		}
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > maxWorkingDays {
			return Limit{}, fmt.Errorf("invalid limit %q: working days must be between 1 and %d", s, maxWorkingDays)
		}
		return Limit{WorkingDays: days}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return Limit{}, invalidLimit(s)
	}
	if d <= 0 {
		return Limit{}, fmt.Errorf("invalid limit %q: must be positive", s)
	}
	return Limit{Duration: d}, nil
}

func invalidLimit(s string) error {
	return fmt.Errorf(`invalid limit %q: want a duration such as "30m" or working days such as "5wd"`, s)
}

// IsZero reports whether l is unset.
func (l Limit) IsZero() bool { return l == Limit{} }

// String returns the text form of l ("5wd", "15m", "1h30m"), "" for the
// zero Limit, and a Go-syntax description for an invalid one.
func (l Limit) String() string {
	switch {
	case l.IsZero():
		return ""
	case l.validate() != nil:
		return fmt.Sprintf("Limit{Duration: %v, WorkingDays: %d}", l.Duration, l.WorkingDays)
	case l.WorkingDays > 0:
		return strconv.Itoa(l.WorkingDays) + "wd"
	}
	s := l.Duration.String() // e.g. 1h30m0s
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalText implements [encoding.TextMarshaler]. The zero Limit
// marshals to empty text; an invalid Limit is an error.
func (l Limit) MarshalText() ([]byte, error) {
	if !l.IsZero() {
		if err := l.validate(); err != nil {
			return nil, err
		}
	}
	return []byte(l.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] using [ParseLimit].
func (l *Limit) UnmarshalText(text []byte) error {
	v, err := ParseLimit(string(text))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// UnmarshalYAML implements [yaml.Unmarshaler] so that a bad limit in a
// YAML file is reported with its line number.
func (l *Limit) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf(`line %d: a limit is a string such as "30m" or "5wd"`, n.Line)}}
	}
	if err := l.UnmarshalText([]byte(n.Value)); err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	return nil
}

// validate reports why l is not a usable limit.
func (l Limit) validate() error {
	switch {
	case l.IsZero():
		return errors.New("required")
	case l.Duration < 0 || l.WorkingDays < 0:
		return errors.New("must be positive")
	case l.Duration != 0 && l.WorkingDays != 0:
		return errors.New("set either a duration or working days, not both")
	case l.WorkingDays > maxWorkingDays:
		return fmt.Errorf("at most %dwd", maxWorkingDays)
	}
	return nil
}

// after returns the end of the limit counted from t.
func (l Limit) after(cal *Calendar, t time.Time) time.Time {
	if l.WorkingDays > 0 {
		return cal.AddWorkingDays(t, l.WorkingDays)
	}
	return t.Add(l.Duration)
}
