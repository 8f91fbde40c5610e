package deadline_test

import (
	"fmt"
	"time"

	"github.com/switchboard12345/switchboard/gateway/deadline"
)

func ExampleCalendar_AddWorkingDays() {
	cal := deadline.DefaultCalendar()
	shanghai := time.FixedZone("CST", 8*3600)
	show := func(t time.Time) string { return t.In(shanghai).Format("Mon 2006-01-02 15:04") }

	// A work order dispatched on the Friday before the 2026 Spring Festival
	// (15–23 February; Saturday 14 February is a make-up workday).
	dispatched := time.Date(2026, 2, 13, 10, 0, 0, 0, shanghai)
	for _, n := range []int{1, 2, 5} {
		fmt.Printf("+%dwd: %s\n", n, show(cal.AddWorkingDays(dispatched, n)))
	}

	// Dispatched on a Saturday: counting starts at 00:00 on Monday.
	saturday := time.Date(2026, 3, 14, 10, 0, 0, 0, shanghai)
	fmt.Printf("Sat +1wd: %s\n", show(cal.AddWorkingDays(saturday, 1)))
	// Output:
	// +1wd: Sat 2026-02-14 10:00
	// +2wd: Tue 2026-02-24 10:00
	// +5wd: Fri 2026-02-27 10:00
	// Sat +1wd: Tue 2026-03-17 00:00
}
