package classify

import (
	"math"
)

// linear is a one-vs-rest linear model over a vocabulary: the part of a
// Model that the training folds fit again and again.
type linear struct {
	vocab *vocabulary
	// w[c] holds len(vocab.idf) weights then the bias of class c.
	w [][]float32
}

// fitLinear fits one binary SVM per class on the documents' terms.
func fitLinear(docs [][]termCount, y []int, weight []float64, k int, cfg Config) *linear {
	vocab := buildVocabulary(docs, cfg.Features)
	dim := len(vocab.idf)
	x := make([]sparse, len(docs))
	parallel(len(docs), 0, func(i int) { x[i] = vocab.vectorize(docs[i], cfg.Features) })

	count := make([]float64, k)
	var total float64
	for i, c := range y {
		count[c] += weight[i]
		total += weight[i]
	}
	// Class weight n/(k·n_c), raised to cfg.ClassWeight (0: none, 1:
	// balanced), or to less if the weights would then differ by more than
	// cfg.MaxWeightRatio.
	power := classWeightPower(count, cfg)
	cw := make([]float64, k)
	for c := range cw {
		if count[c] > 0 {
			cw[c] = math.Pow(total/(float64(k)*count[c]), power)
		}
	}
	pen := make([]float64, len(y))
	for i, c := range y {
		pen[i] = cfg.C * cw[c] * weight[i]
	}
	m := &linear{vocab: vocab, w: make([][]float32, k)}
	parallel(k, 0, func(c int) {
		yc := make([]int8, len(y))
		for i, l := range y {
			yc[i] = -1
			if l == c {
				yc[i] = 1
			}
		}
		var scale []float32
		if cfg.NB {
			scale = nbRatios(x, yc, dim, cfg.NBAlpha)
		}
		m.w[c] = solveSVM(binaryProblem{x: x, y: yc, c: pen, dim: dim, scale: scale, seed: cfg.Seed + uint64(c)})
	})
	return m
}

// classWeightPower is cfg.ClassWeight, lowered so that the largest class
// weight is at most cfg.MaxWeightRatio times the smallest (0: no limit; 1:
// no weighting).
// With classes of 486 and 148 examples (ratio 3.3) full balancing stands;
// with a main handler of 280 letters and labels of 7 (ratio 40) a balanced
// model would weigh each of the small labels' letters 40 times one of the
// main handler's, and learn to avoid the label that takes most requests.
func classWeightPower(count []float64, cfg Config) float64 {
	lo, hi := math.Inf(1), 0.0
	for _, n := range count {
		if n > 0 {
			lo, hi = min(lo, n), max(hi, n)
		}
	}
	p := cfg.ClassWeight
	if cfg.MaxWeightRatio == 0 || hi <= lo || p == 0 {
		return p
	}
	if limit := math.Log(cfg.MaxWeightRatio) / math.Log(hi/lo); p > limit {
		return limit
	}
	return p
}

// nbRatios are the NB-SVM feature scales of Wang & Manning (2012): the log
// ratio of a feature's share of the positive and of the negative class's
// tf-idf mass, each smoothed by alpha. The SVM learns on the scaled
// features, so the sign of a ratio does not matter; its absolute value plus
// a floor of 0.1 (no feature is silenced completely) is the scale.
func nbRatios(x []sparse, y []int8, dim int, alpha float64) []float32 {
	if alpha <= 0 {
		alpha = 0.1
	}
	const floor = 0.1
	pos := make([]float64, dim)
	neg := make([]float64, dim)
	var sp, sn float64
	for i, xi := range x {
		t := neg
		if y[i] > 0 {
			t = pos
		}
		for j, f := range xi.idx {
			t[f] += float64(xi.val[j])
		}
	}
	for f := range pos {
		pos[f] += alpha
		neg[f] += alpha
		sp += pos[f]
		sn += neg[f]
	}
	r := make([]float32, dim)
	for f := range r {
		v := math.Abs(math.Log((pos[f] / sp) / (neg[f] / sn)))
		r[f] = float32(floor + v)
	}
	return r
}

// scores writes the decision value of every class for one document.
func (m *linear) scores(doc []termCount, cfg FeatureConfig, out []float64) {
	x := m.vocab.vectorize(doc, cfg)
	dim := len(m.vocab.idf)
	for c, w := range m.w {
		s := float64(w[dim])
		for j, f := range x.idx {
			s += float64(w[f]) * float64(x.val[j])
		}
		out[c] = s
	}
}
