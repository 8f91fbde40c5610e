package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// Tracking numbers are the Asia/Shanghai date and a per-day sequence, e.g.
// 20261128-000123. Sequences are handed out from blocks reserved in the
// tracking_counters table, so no transaction waits on a shared counter; a block
// not used up before a restart leaves a gap, never a duplicate.

// blockSize is how many numbers one reservation takes at least.
const blockSize = 100

var shanghai = time.FixedZone("CST", 8*3600) // China has no daylight saving time

// trackingDay is the day part of a tracking number for a ticket created at t.
func trackingDay(t time.Time) string { return t.In(shanghai).Format("20060102") }

func formatTracking(day string, seq int64) string { return fmt.Sprintf("%s-%06d", day, seq) }

// tracker holds one committer's reserved numbers. It is not safe for concurrent
// use; each committer goroutine has its own.
type tracker struct {
	s      *Store
	ranges map[string][][2]int64 // day → unused [lo, hi] ranges
}

func newTracker(s *Store) *tracker { return &tracker{s: s, ranges: map[string][][2]int64{}} }

// keep forgets the ranges of days other than those in days (past days).
func (t *tracker) keep(days map[string]int) {
	for d := range t.ranges {
		if _, ok := days[d]; !ok {
			delete(t.ranges, d)
		}
	}
}

func (t *tracker) available(day string) int64 {
	var n int64
	for _, r := range t.ranges[day] {
		n += r[1] - r[0] + 1
	}
	return n
}

// ensure makes at least n numbers of day available.
func (t *tracker) ensure(day string, n int) error {
	if t.available(day) >= int64(n) {
		return nil
	}
	size := int64(max(n, blockSize))
	var hi int64
	err := t.s.write.QueryRowContext(context.Background(), t.s.q(
		`INSERT INTO tracking_counters (day, next) VALUES (?, ?)
		 ON CONFLICT (day) DO UPDATE SET next = tracking_counters.next + excluded.next
		 RETURNING next`), day, size).Scan(&hi)
	if err != nil {
		return err
	}
	t.ranges[day] = append(t.ranges[day], [2]int64{hi - size + 1, hi})
	return nil
}

// take hands out the next number of day; ensure must have made it available.
func (t *tracker) take(day string) (string, error) {
	rs := t.ranges[day]
	if len(rs) == 0 {
		return "", fmt.Errorf("no tracking number reserved for %s", day)
	}
	seq := rs[0][0]
	rs[0][0]++
	if rs[0][0] > rs[0][1] {
		t.ranges[day] = rs[1:]
	}
	return formatTracking(day, seq), nil
}
