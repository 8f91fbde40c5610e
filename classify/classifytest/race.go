//go:build race

package classifytest

// Race is true when the race detector is on: tests then train on smaller
// samples, since it slows the solver about tenfold.
const Race = true
