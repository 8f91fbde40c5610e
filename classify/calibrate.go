package classify

import "math"

// softmax turns decision values into probabilities at temperature t.
func softmax(scores []float64, t float64, out []float64) {
	m := math.Inf(-1)
	for _, s := range scores {
		m = max(m, s)
	}
	var sum float64
	for c, s := range scores {
		out[c] = math.Exp((s - m) / t)
		sum += out[c]
	}
	for c := range out {
		out[c] /= sum
	}
}

// fitTemperature chooses the softmax temperature that minimises the
// negative log-likelihood of held-out decision values (temperature
// scaling, Guo et al., ICML 2017): a single parameter, so it cannot change
// which class ranks first, only how confident the ranking claims to be.
func fitTemperature(scores [][]float64, y []int) float64 {
	if len(scores) == 0 {
		return 1
	}
	p := make([]float64, len(scores[0]))
	nll := func(logT float64) float64 {
		t := math.Exp(logT)
		var s float64
		for i, sc := range scores {
			softmax(sc, t, p)
			s -= math.Log(max(p[y[i]], 1e-12))
		}
		return s
	}
	// Golden-section search on log T over [e^-6, e^4].
	lo, hi := -6.0, 4.0
	g := (math.Sqrt(5) - 1) / 2
	a, b := hi-g*(hi-lo), lo+g*(hi-lo)
	fa, fb := nll(a), nll(b)
	for hi-lo > 1e-4 {
		if fa < fb {
			hi, b, fb = b, a, fa
			a = hi - g*(hi-lo)
			fa = nll(a)
		} else {
			lo, a, fa = a, b, fb
			b = lo + g*(hi-lo)
			fb = nll(b)
		}
	}
	return math.Exp((lo + hi) / 2)
}

// ECEBins is the number of equal-width confidence bins of the expected
// calibration error.
const ECEBins = 10

// expectedCalibrationError is Σ_b (n_b/n)·|accuracy_b − confidence_b| over
// equal-width bins of the top suggestion's confidence.
func expectedCalibrationError(conf []float64, correct []bool) float64 {
	var n, acc, sum [ECEBins]float64
	for i, c := range conf {
		b := min(int(c*ECEBins), ECEBins-1)
		n[b]++
		sum[b] += c
		if correct[i] {
			acc[b]++
		}
	}
	var e float64
	for b := range n {
		if n[b] > 0 {
			e += math.Abs(acc[b]-sum[b]) / float64(len(conf))
		}
	}
	return e
}
