package dispatch

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// fullJitter is the delay before retry number attempt (1 for the first
// retry): a uniformly random duration between 0 and min(max, base·2^(attempt-1)).
// Spreading retries over the whole window is what keeps clients that failed
// together from retrying together ("Exponential Backoff And Jitter", AWS
// Architecture Blog, 2015).
func fullJitter(base, max time.Duration, attempt int) time.Duration {
	ceiling := base
	for i := 1; i < attempt && ceiling < max; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, max)
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// budget is a retry budget in the manner of Finagle's RetryBudget: every first
// attempt deposits ratio tokens, tokens also accrue at minPerSec, and every
// retry withdraws one. When a backend fails a lot, retries are held back to a
// fraction of the real traffic instead of multiplying it.
type budget struct {
	mu        sync.Mutex
	ratio     float64
	minPerSec float64
	cap       float64
	tokens    float64
	last      time.Time
}

func newBudget(ratio, minPerSec float64, now time.Time) *budget {
	c := max(10, minPerSec*10)
	return &budget{ratio: ratio, minPerSec: minPerSec, cap: c, tokens: c, last: now}
}

func (b *budget) refill(now time.Time) {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.cap, b.tokens+dt*b.minPerSec)
		b.last = now
	}
}

// deposit records a first attempt.
func (b *budget) deposit(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	b.tokens = min(b.cap, b.tokens+b.ratio)
}

// withdraw takes a token for a retry, if there is one.
func (b *budget) withdraw(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// window keeps the most recent delivery latencies for percentiles.
type window struct {
	mu   sync.Mutex
	buf  []time.Duration
	next int
	full bool
}

func newWindow(n int) *window { return &window{buf: make([]time.Duration, n)} }

func (w *window) add(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf[w.next] = d
	w.next++
	if w.next == len(w.buf) {
		w.next, w.full = 0, true
	}
}

// percentiles returns the given quantiles (0..1) of the window.
func (w *window) percentiles(qs ...float64) []time.Duration {
	w.mu.Lock()
	n := w.next
	if w.full {
		n = len(w.buf)
	}
	vals := append([]time.Duration(nil), w.buf[:n]...)
	w.mu.Unlock()
	out := make([]time.Duration, len(qs))
	if n == 0 {
		return out
	}
	slices.Sort(vals)
	for i, q := range qs {
		out[i] = vals[min(n-1, int(q*float64(n)))]
	}
	return out
}
