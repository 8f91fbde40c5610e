package classify

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"time"
)

// StratifiedFolds assigns each of n examples with the given labels to one of
// k folds so that every fold holds about the same share of each label. The
// assignment depends only on the labels, k and the seed.
func StratifiedFolds(labels []string, k int, seed uint64) []int {
	fold := make([]int, len(labels))
	byLabel := make(map[string][]int)
	var order []string
	for i, l := range labels {
		if _, ok := byLabel[l]; !ok {
			order = append(order, l)
		}
		byLabel[l] = append(byLabel[l], i)
	}
	slices.Sort(order)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	next := 0 // carry the rotation across labels so small classes spread
	for _, l := range order {
		idx := byLabel[l]
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for _, i := range idx {
			fold[i] = next % k
			next++
		}
	}
	return fold
}

// SplitByTime puts the examples dated before at into train and the others
// into test. Undated examples (zero Time) go to train: they are history.
func SplitByTime(examples []Example, at time.Time) (train, test []Example) {
	for _, e := range examples {
		if !e.Time.IsZero() && !e.Time.Before(at) {
			test = append(test, e)
		} else {
			train = append(train, e)
		}
	}
	return train, test
}

// NewestCut returns the date at which the newest share (0–1) of the dated
// examples begins, for SplitByTime.
func NewestCut(examples []Example, share float64) time.Time {
	var ts []time.Time
	for _, e := range examples {
		if !e.Time.IsZero() {
			ts = append(ts, e.Time)
		}
	}
	if len(ts) == 0 {
		return time.Time{}
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	i := min(max(int(float64(len(ts))*(1-share)), 0), len(ts)-1)
	return ts[i]
}

// sortedLabels returns the distinct labels in sorted order.
func sortedLabels(examples []Example) []string {
	var ls []string
	seen := make(map[string]bool)
	for _, e := range examples {
		if !seen[e.Label] {
			seen[e.Label] = true
			ls = append(ls, e.Label)
		}
	}
	slices.SortFunc(ls, cmp.Compare)
	return ls
}
