package deadline

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// cst is China Standard Time. China has had no daylight saving time since
// 1991, so a fixed offset is exact and needs no tzdata.
var cst = time.FixedZone("CST", 8*3600)

const (
	minYear       = 1900
	maxYear       = 9999
	maxHolidayLen = 31 // days; the longest real holiday is 9
	yearSlackDays = 31 // a notice for year Y may place days this close to Y
)

// Calendar is a working-day calendar for mainland China. A day is a working
// day if it is a make-up workday (调休上班), or else if it is Monday to
// Friday and not a public holiday. Dates are taken in China Standard Time
// (UTC+8) whatever the location of the time passed in.
//
// For years that are not in the data (see [Calendar.Covers]) only weekends
// are rest days; the zero Calendar covers no year. A Calendar is immutable
// and safe for concurrent use.
type Calendar struct {
	days  map[civilDate]bool // true: make-up workday; false: holiday
	years map[int]bool       // covered year -> projected
}

type civilDate struct {
	year  int
	month time.Month
	day   int
}

func dateOf(t time.Time) civilDate {
	y, m, d := t.In(cst).Date()
	return civilDate{y, m, d}
}

//go:embed calendar/cn.yaml
var cnYAML []byte

var defaultCalendar = sync.OnceValue(func() *Calendar {
	c, err := LoadCalendar(bytes.NewReader(cnYAML))
	if err != nil {
		panic("deadline: embedded calendar/cn.yaml is invalid: " + err.Error())
	}
	return c
})

// DefaultCalendar returns the calendar embedded in the package
// (calendar/cn.yaml: mainland China, 2025–2027, with 2027 projected until
// the State Council publishes it). It is parsed once; it panics only if the
// embedded file is broken, which the package tests rule out.
func DefaultCalendar() *Calendar { return defaultCalendar() }

// Calendar YAML document; see calendar/cn.yaml for an example.
type calendarDoc struct {
	Years []yearDoc `yaml:"years"`
}

type yearDoc struct {
	Year      int          `yaml:"year"`
	Projected bool         `yaml:"projected"`
	Source    string       `yaml:"source"`
	Holidays  []holidayDoc `yaml:"holidays"`
	Workdays  []string     `yaml:"workdays"`
}

type holidayDoc struct {
	Name string `yaml:"name"`
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// LoadCalendar reads a calendar from a YAML document of this shape:
//
//	years:
//	  - year: 2026
//	    projected: false          # true: not yet officially published
//	    source: "国办发明电〔2025〕7号"
//	    holidays:                 # rest days, inclusive ranges
//	      - {name: 春节, from: 2026-02-15, to: 2026-02-23}
//	    workdays: [2026-02-14, 2026-02-28]   # make-up workdays (Sat/Sun)
//
// Unknown keys are errors. Validation errors are [FieldError] values
// joined with [errors.Join], one per line, each naming its key, e.g.
// "years[1].holidays[0].to: before from". Dates must lie in their year or within 31 days of it (a notice
// may put 元旦 days at the end of the previous year), a holiday spans at most
// 31 days, a make-up workday must be a Saturday or Sunday outside any
// holiday, and no date may be listed twice.
func LoadCalendar(r io.Reader) (*Calendar, error) {
	var doc calendarDoc
	if err := decodeStrict(r, &doc); err != nil {
		return nil, fmt.Errorf("decoding calendar: %w", err)
	}
	return doc.build()
}

// decodeStrict decodes exactly one YAML document, rejecting unknown keys.
func decodeStrict(r io.Reader, v any) (err error) {
	defer func() {
		// yaml.v3 is third-party code fed with untrusted input; never let
		// a bug in it take the process down.
		if p := recover(); p != nil {
			err = fmt.Errorf("yaml decoder failed: %v", p)
		}
	}()
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty document")
		}
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document")
	}
	return nil
}

func (doc calendarDoc) build() (*Calendar, error) {
	c := &Calendar{days: map[civilDate]bool{}, years: map[int]bool{}}
	var errs fieldErrors
	if len(doc.Years) == 0 {
		errs.add("years", "required")
	}
	seenYear := map[int]string{}
	seenDate := map[civilDate]string{}
	for i, y := range doc.Years {
		p := fmt.Sprintf("years[%d]", i)
		switch prev, dup := seenYear[y.Year]; {
		case y.Year == 0:
			errs.add(p+".year", "required")
			continue
		case y.Year < minYear || y.Year > maxYear:
			errs.add(p+".year", "%d is not between %d and %d", y.Year, minYear, maxYear)
			continue
		case dup:
			errs.add(p+".year", "%d already given at %s", y.Year, prev)
			continue
		}
		seenYear[y.Year] = p
		c.years[y.Year] = y.Projected
		if y.Source == "" {
			errs.add(p+".source", "required")
		}
		// parse reads a date of this year, reporting problems at path.
		parse := func(path, s string) (time.Time, bool) {
			if s == "" {
				errs.add(path, "required")
				return time.Time{}, false
			}
			d, err := time.ParseInLocation(time.DateOnly, s, cst)
			if err != nil {
				errs.add(path, "%q is not a date like 2006-01-02", s)
				return time.Time{}, false
			}
			lo := time.Date(y.Year, 1, 1-yearSlackDays, 0, 0, 0, 0, cst)
			hi := time.Date(y.Year, 12, 31+yearSlackDays, 0, 0, 0, 0, cst)
			if d.Before(lo) || d.After(hi) {
				errs.add(path, "%s is too far outside %d", s, y.Year)
				return time.Time{}, false
			}
			return d, true
		}
		claim := func(path string, d time.Time, work bool) {
			k := dateOf(d)
			if prev, dup := seenDate[k]; dup {
				errs.add(path, "%s already listed at %s", d.Format(time.DateOnly), prev)
				return
			}
			seenDate[k] = path
			c.days[k] = work
		}
		for j, h := range y.Holidays {
			hp := fmt.Sprintf("%s.holidays[%d]", p, j)
			if h.Name == "" {
				errs.add(hp+".name", "required")
			}
			from, ok1 := parse(hp+".from", h.From)
			to, ok2 := parse(hp+".to", h.To)
			if !ok1 || !ok2 {
				continue
			}
			switch n := int(to.Sub(from).Hours()/24) + 1; {
			case n < 1:
				errs.add(hp+".to", "before from")
				continue
			case n > maxHolidayLen:
				errs.add(hp+".to", "holiday spans %d days, at most %d allowed", n, maxHolidayLen)
				continue
			}
			for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
				claim(hp, d, false)
			}
		}
		for j, s := range y.Workdays {
			wp := fmt.Sprintf("%s.workdays[%d]", p, j)
			d, ok := parse(wp, s)
			if !ok {
				continue
			}
			if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
				errs.add(wp, "%s is a %s, already a working day", s, wd)
				continue
			}
			claim(wp, d, true)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// IsWorkingDay reports whether the date of t in China Standard Time is a
// working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	if work, ok := c.days[dateOf(t)]; ok {
		return work
	}
	wd := t.In(cst).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// AddWorkingDays returns t advanced by n working days, keeping the time of
// day (in China Standard Time) and skipping rest days. If t falls on a rest
// day, counting starts at 00:00 of the next working day. So, in an ordinary
// week:
//
//	Mon 10:00 + 1 = Tue 10:00
//	Fri 10:00 + 1 = Mon 10:00 (or the first working day after a holiday)
//	Sat 10:00 + 1 = Tue 00:00 (the end of Monday)
//	Sat 10:00 + 0 = Mon 00:00
//
// n < 0 counts as 0. The result is in t's location. Outside the covered
// years only weekends are rest days. The cost is proportional to the number
// of calendar days crossed.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	loc := t.Location()
	s := t.In(cst)
	if !c.IsWorkingDay(s) {
		y, m, d := s.Date()
		s = c.nextWorkingDay(time.Date(y, m, d, 0, 0, 0, 0, cst))
	}
	for ; n > 0; n-- {
		s = c.nextWorkingDay(s)
	}
	return s.In(loc)
}

// nextWorkingDay returns the same clock time on the first working day after
// t's date. t must be in cst, where AddDate keeps the wall clock exactly.
func (c *Calendar) nextWorkingDay(t time.Time) time.Time {
	for {
		t = t.AddDate(0, 0, 1)
		if c.IsWorkingDay(t) {
			return t
		}
	}
}

// Covers reports whether the year of t (in China Standard Time) is in the
// calendar's data. For other years only weekends are rest days.
func (c *Calendar) Covers(t time.Time) bool {
	_, ok := c.years[t.In(cst).Year()]
	return ok
}

// Projected reports whether year is marked as projected in the data: the
// official schedule was not yet published and the dates are an estimate.
// It is false for years that are not covered.
func (c *Calendar) Projected(year int) bool { return c.years[year] }

// Years returns the covered years in ascending order.
func (c *Calendar) Years() []int {
	ys := make([]int, 0, len(c.years))
	for y := range c.years {
		ys = append(ys, y)
	}
	slices.Sort(ys)
	return ys
}
