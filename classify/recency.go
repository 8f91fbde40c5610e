package classify

import (
	"math"
	"time"
)

// Days is a duration in days, as configuration files write it.
type Days float64

// recencyWeights returns each example's weight under a half-life: 1 for the
// newest dated example, halving every half-life back; undated examples get
// the weight of the oldest dated one. Without a half-life (or dates) every
// weight is 1.
func recencyWeights(examples []Example, halfLife Days) []float64 {
	w := make([]float64, len(examples))
	var newest, oldest time.Time
	for _, e := range examples {
		if e.Time.IsZero() {
			continue
		}
		if newest.IsZero() || e.Time.After(newest) {
			newest = e.Time
		}
		if oldest.IsZero() || e.Time.Before(oldest) {
			oldest = e.Time
		}
	}
	for i, e := range examples {
		w[i] = 1
		if halfLife <= 0 || newest.IsZero() {
			continue
		}
		t := e.Time
		if t.IsZero() {
			t = oldest
		}
		age := newest.Sub(t).Hours() / 24
		w[i] = math.Pow(0.5, age/float64(halfLife))
	}
	return w
}
