package classify

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// binaryProblem is one class against the rest.
type binaryProblem struct {
	x     []sparse
	y     []int8    // +1 or -1
	c     []float64 // per-example penalty (class weighting)
	dim   int
	scale []float32 // optional per-feature scale (NB log-count ratios); nil for none
	seed  uint64
}

const (
	svmEps     = 0.1
	svmMaxIter = 1000
	svmBias    = 1.0
)

// solveSVM trains an L2-regularised squared-hinge linear SVM by dual
// coordinate descent with shrinking (Hsieh et al., ICML 2008; the
// LIBLINEAR solver). It returns dim weights followed by the bias, with the
// feature scale folded into the weights.
func solveSVM(p binaryProblem) []float32 {
	l := len(p.x)
	w := make([]float64, p.dim+1)
	alpha := make([]float64, l)
	qd := make([]float64, l)
	diag := make([]float64, l)
	index := make([]int, l)
	for i, xi := range p.x {
		diag[i] = 0.5 / p.c[i]
		q := svmBias*svmBias + diag[i]
		for j, f := range xi.idx {
			v := float64(xi.val[j])
			if p.scale != nil {
				v *= float64(p.scale[f])
			}
			q += v * v
		}
		qd[i] = q
		index[i] = i
	}
	rng := rand.New(rand.NewPCG(p.seed, 0x9e3779b97f4a7c15))
	dot := func(i int) float64 {
		xi := p.x[i]
		s := w[p.dim] * svmBias
		if p.scale != nil {
			for j, f := range xi.idx {
				s += w[f] * float64(xi.val[j]*p.scale[f])
			}
			return s
		}
		for j, f := range xi.idx {
			s += w[f] * float64(xi.val[j])
		}
		return s
	}
	add := func(i int, d float64) {
		xi := p.x[i]
		w[p.dim] += d * svmBias
		if p.scale != nil {
			for j, f := range xi.idx {
				w[f] += d * float64(xi.val[j]*p.scale[f])
			}
			return
		}
		for j, f := range xi.idx {
			w[f] += d * float64(xi.val[j])
		}
	}
	active := l
	pgMaxOld, pgMinOld := math.Inf(1), math.Inf(-1)
	for iter := 0; iter < svmMaxIter; iter++ {
		pgMax, pgMin := math.Inf(-1), math.Inf(1)
		for s := 0; s < active; s++ {
			j := s + rng.IntN(active-s)
			index[s], index[j] = index[j], index[s]
		}
		for s := 0; s < active; s++ {
			i := index[s]
			yi := float64(p.y[i])
			g := yi*dot(i) - 1 + diag[i]*alpha[i]
			pg := 0.0
			if alpha[i] == 0 {
				if g > pgMaxOld {
					active--
					index[s], index[active] = index[active], index[s]
					s--
					continue
				}
				if g < 0 {
					pg = g
				}
			} else {
				pg = g
			}
			pgMax, pgMin = max(pgMax, pg), min(pgMin, pg)
			if math.Abs(pg) > 1e-12 {
				old := alpha[i]
				alpha[i] = max(alpha[i]-g/qd[i], 0)
				add(i, (alpha[i]-old)*yi)
			}
		}
		if pgMax-pgMin <= svmEps {
			if active == l {
				break
			}
			active = l
			pgMaxOld, pgMinOld = math.Inf(1), math.Inf(-1)
			continue
		}
		pgMaxOld, pgMinOld = pgMax, pgMin
		if pgMaxOld <= 0 {
			pgMaxOld = math.Inf(1)
		}
		if pgMinOld >= 0 {
			pgMinOld = math.Inf(-1)
		}
	}
	out := make([]float32, p.dim+1)
	for f := 0; f < p.dim; f++ {
		v := w[f]
		if p.scale != nil {
			v *= float64(p.scale[f])
		}
		out[f] = float32(v)
	}
	out[p.dim] = float32(w[p.dim] * svmBias)
	return out
}

// parallel runs f(0) … f(n-1) on up to GOMAXPROCS goroutines (or limit, if
// smaller and positive).
func parallel(n, limit int, f func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	if limit > 0 && limit < workers {
		workers = limit
	}
	if workers <= 1 || n <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
