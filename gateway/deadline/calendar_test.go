package deadline_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/deadline"
)

var cst = time.FixedZone("CST", 8*3600)

// at parses "2006-01-02 15:04" in China Standard Time.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, cst)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDefaultCalendarCoversData(t *testing.T) {
	t.Parallel()
	cal := deadline.DefaultCalendar()
	if got, want := cal.Years(), []int{2025, 2026, 2027}; !slices.Equal(got, want) {
		t.Fatalf("Years() = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		year      int
		projected bool
	}{{2025, false}, {2026, false}, {2027, true}, {2028, false}} {
		if got := cal.Projected(tc.year); got != tc.projected {
			t.Errorf("Projected(%d) = %v, want %v", tc.year, got, tc.projected)
		}
	}
	for _, tc := range []struct {
		at   string
		want bool
	}{
		{"2025-01-01 00:00", true},
		{"2027-12-31 23:59", true},
		{"2024-12-31 23:59", false},
		{"2028-01-01 00:00", false},
	} {
		if got := cal.Covers(at(t, tc.at)); got != tc.want {
			t.Errorf("Covers(%s) = %v, want %v", tc.at, got, tc.want)
		}
	}
}

// Since the 2024 revision there are 13 statutory holiday days and every
// one that falls on a weekend is made up, so a 365-day year has
// 365 - weekend days - 13 working days. This catches a missing or
// misplaced holiday or make-up day in the embedded data.
func TestDefaultCalendarWorkingDaysPerYear(t *testing.T) {
	t.Parallel()
	cal := deadline.DefaultCalendar()
	for _, year := range cal.Years() {
		t.Run(time.Date(year, 1, 1, 0, 0, 0, 0, cst).Format("2006"), func(t *testing.T) {
			t.Parallel()
			working, weekend := 0, 0
			for d := time.Date(year, 1, 1, 12, 0, 0, 0, cst); d.Year() == year; d = d.AddDate(0, 0, 1) {
				if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
					weekend++
				}
				if cal.IsWorkingDay(d) {
					working++
				}
			}
			if want := 365 - weekend - 13; working != want {
				t.Errorf("%d has %d working days, want %d", year, working, want)
			}
		})
	}
}

func TestIsWorkingDay(t *testing.T) {
	t.Parallel()
	cal := deadline.DefaultCalendar()
	for _, tc := range []struct {
		name string
		t    time.Time
		want bool
	}{
		{"2026 Spring Festival make-up Saturday", at(t, "2026-02-14 10:00"), true},
		{"2026 Spring Festival first day (Sunday)", at(t, "2026-02-15 10:00"), false},
		{"2026 Spring Festival weekday", at(t, "2026-02-16 10:00"), false},
		{"2026 Spring Festival last day (Monday)", at(t, "2026-02-23 10:00"), false},
		{"day after 2026 Spring Festival", at(t, "2026-02-24 10:00"), true},
		{"2026 second make-up Saturday", at(t, "2026-02-28 10:00"), true},
		{"ordinary Saturday", at(t, "2026-03-07 10:00"), false},
		{"ordinary Monday", at(t, "2026-03-09 10:00"), true},
		{"2025 National Day 8th", at(t, "2025-10-08 10:00"), false},
		{"2025 make-up Sunday", at(t, "2025-09-28 10:00"), true},
		{"2025 make-up Saturday", at(t, "2025-10-11 10:00"), true},
		{"2025 Sunday after make-up Saturday", at(t, "2025-10-12 10:00"), false},
		{"2026 National Day make-up Sunday", at(t, "2026-09-20 10:00"), true},
		{"2026 Mid-Autumn Friday", at(t, "2026-09-25 10:00"), false},
		{"2027 projected Dragon Boat Wednesday", at(t, "2027-06-09 10:00"), false},
		{"UTC evening is next Shanghai day (make-up Sat)", time.Date(2026, 2, 13, 20, 0, 0, 0, time.UTC), true},
		{"UTC afternoon is next Shanghai day (holiday)", time.Date(2026, 2, 14, 16, 30, 0, 0, time.UTC), false},
		{"uncovered year Saturday", at(t, "2028-01-01 10:00"), false},
		{"uncovered year Monday", at(t, "2028-01-03 10:00"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := cal.IsWorkingDay(tc.t); got != tc.want {
				t.Errorf("IsWorkingDay(%v) = %v, want %v", tc.t, got, tc.want)
			}
		})
	}
}

func TestAddWorkingDays(t *testing.T) {
	t.Parallel()
	cal := deadline.DefaultCalendar()
	for _, tc := range []struct {
		name  string
		start string
		n     int
		want  string
	}{
		{"Mon + 1", "2026-03-09 10:00", 1, "2026-03-10 10:00"},
		{"Fri + 1 crosses weekend", "2026-03-13 10:00", 1, "2026-03-16 10:00"},
		{"Sat + 1 is end of Monday", "2026-03-14 10:00", 1, "2026-03-17 00:00"},
		{"Sat + 0 is start of Monday", "2026-03-14 10:00", 0, "2026-03-16 00:00"},
		{"weekday + 0 unchanged", "2026-03-11 16:45", 0, "2026-03-11 16:45"},
		{"negative counts as 0", "2026-03-11 16:45", -3, "2026-03-11 16:45"},
		{"Fri before Spring Festival + 1 is make-up Sat", "2026-02-13 10:00", 1, "2026-02-14 10:00"},
		{"Fri before Spring Festival + 2 skips holiday", "2026-02-13 10:00", 2, "2026-02-24 10:00"},
		{"make-up Sat + 1 skips holiday", "2026-02-14 17:30", 1, "2026-02-24 17:30"},
		{"start inside Spring Festival", "2026-02-18 09:00", 1, "2026-02-25 00:00"},
		{"Feb 24 + 4 reaches make-up Sat 28th", "2026-02-24 10:00", 4, "2026-02-28 10:00"},
		{"National Day 2025 eve + 1", "2025-09-30 10:00", 1, "2025-10-09 10:00"},
		{"National Day 2025 eve + 3 counts make-up Sat", "2025-09-30 10:00", 3, "2025-10-11 10:00"},
		{"National Day 2025 eve + 5", "2025-09-30 10:00", 5, "2025-10-14 10:00"},
		{"make-up Sun 2025-09-28 counts", "2025-09-26 10:00", 1, "2025-09-28 10:00"},
		{"National Day 2026 eve + 1", "2026-09-30 10:00", 1, "2026-10-08 10:00"},
		{"National Day 2026 eve + 3 counts make-up Sat", "2026-09-30 10:00", 3, "2026-10-10 10:00"},
		{"Mid-Autumn 2026 Thu + 1 skips Fri-Sun", "2026-09-24 10:00", 1, "2026-09-28 10:00"},
		{"New Year 2026 eve + 1 is make-up Sun", "2025-12-31 10:00", 1, "2026-01-04 10:00"},
		{"uncovered year: weekends only", "2028-09-29 10:00", 1, "2028-10-02 10:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := cal.AddWorkingDays(at(t, tc.start), tc.n)
			if want := at(t, tc.want); !got.Equal(want) {
				t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tc.start, tc.n,
					got.In(cst).Format("2006-01-02 15:04 Mon"), want.Format("2006-01-02 15:04 Mon"))
			}
		})
	}
}

func TestAddWorkingDaysKeepsLocation(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 13, 2, 0, 0, 0, time.UTC) // Fri 10:00 in Shanghai
	got := deadline.DefaultCalendar().AddWorkingDays(start, 1)
	if want := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC); got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestLoadCalendar(t *testing.T) {
	t.Parallel()
	const good = `
years:
  - year: 2026
    source: test
    holidays:
      - {name: 春节, from: 2026-02-15, to: 2026-02-23}
    workdays: [2026-02-14]
  - year: 2027
    projected: true
    source: test
`
	cal, err := deadline.LoadCalendar(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if !cal.IsWorkingDay(at(t, "2026-02-14 10:00")) || cal.IsWorkingDay(at(t, "2026-02-16 10:00")) {
		t.Error("holiday data not applied")
	}
	if !cal.Projected(2027) || cal.Projected(2026) {
		t.Error("projected flags not applied")
	}

	for _, tc := range []struct {
		name, doc, want string
	}{
		{"empty input", "", "empty document"},
		{"no years", "years: []", "years: required"},
		{"unknown top-level key", "years: []\nyaers: []", "field yaers not found"},
		{"unknown year key", "years:\n  - {year: 2026, source: s, holiday: []}", "field holiday not found"},
		{"unknown holiday key", "years:\n  - year: 2026\n    source: s\n    holidays: [{name: a, from: 2026-01-01, until: 2026-01-02}]", "field until not found"},
		{"two documents", "years: []\n---\nyears: []", "more than one YAML document"},
		{"year missing", "years:\n  - {source: s}", "years[0].year: required"},
		{"year as text", "years:\n  - {year: twenty, source: s}", "cannot unmarshal"},
		{"duplicate year", "years:\n  - {year: 2026, source: s}\n  - {year: 2026, source: s}", "years[1].year: 2026 already given at years[0]"},
		{"source missing", "years:\n  - {year: 2026}", "years[0].source: required"},
		{"to before from", "years:\n  - {year: 2026, source: s}\n  - year: 2027\n    source: s\n    holidays: [{name: a, from: 2027-02-13, to: 2027-02-05}]", "years[1].holidays[0].to: before from"},
		{"bad date", "years:\n  - year: 2026\n    source: s\n    holidays: [{name: a, from: 2026-02-30, to: 2026-03-01}]", `years[0].holidays[0].from: "2026-02-30" is not a date`},
		{"name missing", "years:\n  - year: 2026\n    source: s\n    holidays: [{from: 2026-02-03, to: 2026-03-01}]", "years[0].holidays[0].name: required"},
		{"to missing", "years:\n  - year: 2026\n    source: s\n    holidays: [{name: a, from: 2026-02-03}]", "years[0].holidays[0].to: required"},
		{"holiday too long", "years:\n  - year: 2026\n    source: s\n    holidays: [{name: a, from: 2026-02-01, to: 2026-12-23}]", "years[0].holidays[0].to: holiday spans 326 days"},
		{"date in wrong year", "years:\n  - year: 2026\n    source: s\n    workdays: [2025-02-08]", "years[0].workdays[0]: 2025-02-08 is too far outside 2026"},
		{"make-up day on a weekday", "years:\n  - year: 2026\n    source: s\n    workdays: [2026-02-16]", "years[0].workdays[0]: 2026-02-16 is a Monday"},
		{"make-up day inside holiday", "years:\n  - year: 2026\n    source: s\n    holidays: [{name: a, from: 2026-02-14, to: 2026-02-16}]\n    workdays: [2026-02-14]", "years[0].workdays[0]: 2026-02-14 already listed at years[0].holidays[0]"},
		{"overlapping holidays", "years:\n  - year: 2026\n    source: s\n    holidays: [{name: a, from: 2026-02-14, to: 2026-02-16}, {name: b, from: 2026-02-16, to: 2026-02-17}]", "years[0].holidays[1]: 2026-02-16 already listed at years[0].holidays[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cal, err := deadline.LoadCalendar(strings.NewReader(tc.doc))
			if err == nil {
				t.Fatalf("LoadCalendar succeeded (%v), want error containing %q", cal.Years(), tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadCalendarReportsAllErrors(t *testing.T) {
	t.Parallel()
	_, err := deadline.LoadCalendar(strings.NewReader("years:\n  - {year: 2026}\n  - {source: s}"))
	var fe *deadline.FieldError
	if !errors.As(err, &fe) || fe.Path != "years[0].source" {
		t.Fatalf("first error = %v, want a FieldError for years[0].source", err)
	}
	if !strings.Contains(err.Error(), "years[1].year: required") {
		t.Errorf("error %q does not report years[1].year", err)
	}
}
