package deadline_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/deadline"
)

func FuzzLoadCalendar(f *testing.F) {
	embedded, err := os.ReadFile("calendar/cn.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(embedded))
	for _, s := range []string{
		"",
		"years: []",
		"years:\n  - {year: 2026, source: s, workdays: [2026-02-14]}",
		"years:\n  - year: 2026\n    source: s\n    holidays: [{name: a, from: 2026-02-15, to: 2026-02-23}]",
		"years:\n  - {year: 2026, source: s, holidays: [{name: a, from: 2026-02-23, to: 2026-02-15}]}",
		"years: &a [*a]",
		"years:\n  - year: 9999\n    source: s\n    holidays: [{name: a, from: 9999-12-01, to: 9999-12-31}]",
		"---\n---\n",
	} {
		f.Add(s)
	}
	probe := time.Date(2026, 2, 16, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, doc string) {
		cal, err := deadline.LoadCalendar(strings.NewReader(doc))
		if err != nil {
			if cal != nil {
				t.Fatal("LoadCalendar returned a calendar and an error")
			}
			return
		}
		years := cal.Years()
		if len(years) == 0 {
			t.Fatal("loaded a calendar without years")
		}
		for _, y := range years {
			if !cal.Covers(time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC)) {
				t.Fatalf("Years() lists %d but Covers says no", y)
			}
		}
		// Any valid calendar must let deadline arithmetic terminate.
		got := cal.AddWorkingDays(probe, 20)
		if !got.After(probe) || !cal.IsWorkingDay(got) {
			t.Fatalf("AddWorkingDays(%v, 20) = %v", probe, got)
		}
	})
}

func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"15m", "30m", "1wd", "5wd", "1h30m", "0wd", "5d", "", "wd", "-1m", "1000wd", "1001wd", "9223372036854775807ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := deadline.ParseLimit(s)
		if err != nil {
			if !strings.Contains(err.Error(), "invalid limit") {
				t.Fatalf("error %q does not say what is wrong", err)
			}
			return
		}
		if (l.Duration > 0) == (l.WorkingDays > 0) || l.Duration < 0 || l.WorkingDays < 0 {
			t.Fatalf("ParseLimit(%q) = %#v, want exactly one positive part", s, l)
		}
		text, err := l.MarshalText()
		if err != nil {
			t.Fatalf("MarshalText(%#v): %v", l, err)
		}
		back, err := deadline.ParseLimit(string(text))
		if err != nil || back != l {
			t.Fatalf("round trip %q -> %q -> %#v, %v", s, text, back, err)
		}
	})
}
