package related

import "slices"

// MinHash with LSH banding picks the candidates whose text is compared
// exactly. A document's signature is, for each of bands·rows hash functions,
// the smallest value the function takes over the document's shingles; two
// documents agree on one value with probability equal to the Jaccard
// similarity J of their shingle sets. The signature is cut into bands of rows
// values, and documents that agree on a whole band share a bucket, so two
// documents become candidates with probability 1−(1−J^rows)^bands:
//
//	J      0.1   0.2   0.3   0.4   0.5   0.7
//	P      0.15  0.49  0.78  0.93  0.99  1.00   (bands 16, rows 2)
//
// Unrelated hotline texts have J ≈ 0.02 on 3-grams or less (for a random
// Teddy Cup message, the most similar other of 6,500 has median J 0.02, 95th
// percentile 0.06), which makes about 0.6% of them candidates by chance. Near duplicates below J 0.3 are mostly found through
// a shared place name instead (place.go). Compared with scoring every
// document, Find loses about 1% of the matches (TestTeddyCandidates).
const (
	bands = 16
	rows  = 2
	// maxChain bounds how many documents one bucket contributes, and
	// maxCandidates how many LSH candidates are scored (about 1.5 µs each),
	// so that a text repeated thousands of times does not make every query
	// slow.
	maxChain      = 64
	maxCandidates = 256
)

// hashFamily holds the multiply-shift hash functions of the signature:
// h_i(x) = (a_i·x + b_i) >> 32 with random odd a_i.
var hashFamily = func() (f [bands * rows][2]uint64) {
	s := uint64(0x5eed12345)
	for i := range f {
		s += 0x9e3779b97f4a7c15
		f[i][0] = mix64(s) | 1
		s += 0x9e3779b97f4a7c15
		f[i][1] = mix64(s)
	}
	return f
}()

// bandKeys computes the signature of the shingle hashes set and returns the
// bucket key of each band, 32 bits of a hash of the band's values and its
// number: two unrelated buckets share a key with probability 2⁻³², which
// costs at most a few extra candidates at 100,000 documents. An empty set has
// no keys.
func bandKeys(set []uint32) (keys [bands]uint32, ok bool) {
	if len(set) == 0 {
		return keys, false
	}
	var sig [bands * rows]uint32
	for i := range sig {
		sig[i] = ^uint32(0)
	}
	for _, x := range set {
		x64 := uint64(x)
		for i := range sig {
			if v := uint32((hashFamily[i][0]*x64 + hashFamily[i][1]) >> 32); v < sig[i] {
				sig[i] = v
			}
		}
	}
	for b := range keys {
		h := uint64(b+1) * 0x9e3779b97f4a7c15
		for r := range rows {
			h = mix64(h ^ uint64(sig[b*rows+r]))
		}
		keys[b] = uint32(h >> 32)
	}
	return keys, true
}

// lsh is the bucket table: an intrusive doubly linked list per bucket over
// nodes slot·bands+band, so that a document's removal costs O(bands) and the
// table costs a map entry and 12 bytes per node.
type lsh struct {
	head map[uint32]int32
	next []int32
	prev []int32
	key  []uint32
}

func newLSH() lsh { return lsh{head: make(map[uint32]int32)} }

// grow makes room for the nodes of slot.
func (t *lsh) grow(slot int32) {
	if n := int(slot+1) * bands; n > len(t.next) {
		t.next = append(t.next, make([]int32, n-len(t.next))...)
		t.prev = append(t.prev, make([]int32, n-len(t.prev))...)
		t.key = append(t.key, make([]uint32, n-len(t.key))...)
	}
}

// insert puts slot in the buckets keys.
func (t *lsh) insert(slot int32, keys *[bands]uint32) {
	t.grow(slot)
	for b, k := range keys {
		n := slot*bands + int32(b)
		t.key[n] = k
		t.prev[n] = -1
		t.next[n] = -1
		if h, ok := t.head[k]; ok {
			t.next[n] = h
			t.prev[h] = n
		}
		t.head[k] = n
	}
}

// remove takes slot out of its buckets.
func (t *lsh) remove(slot int32) {
	for b := range int32(bands) {
		n := slot*bands + b
		p, nx := t.prev[n], t.next[n]
		switch {
		case p >= 0:
			t.next[p] = nx
		case nx >= 0:
			t.head[t.key[n]] = nx
		default:
			delete(t.head, t.key[n])
		}
		if nx >= 0 {
			t.prev[nx] = p
		}
		t.prev[n], t.next[n] = -1, -1
	}
}

// candidates appends the slots sharing a bucket with keys to dst, at most
// maxCandidates of them: when more share a bucket (a mass incident filed
// thousands of times), those sharing the most bands, whose texts agree most.
// buf is scratch space.
func (t *lsh) candidates(dst, buf []int32, keys *[bands]uint32) (out, scratch []int32) {
	buf = buf[:0]
	for _, k := range keys {
		n, ok := t.head[k]
		for c := 0; ok && n >= 0 && c < maxChain; c++ {
			buf = append(buf, n/bands)
			n = t.next[n]
		}
	}
	slices.Sort(buf)
	type counted struct{ slot, n int32 }
	var runs []counted
	for i := 0; i < len(buf); {
		j := i + 1
		for j < len(buf) && buf[j] == buf[i] {
			j++
		}
		runs = append(runs, counted{buf[i], int32(j - i)})
		i = j
	}
	if len(runs) > maxCandidates {
		slices.SortStableFunc(runs, func(a, b counted) int { return int(b.n - a.n) })
		runs = runs[:maxCandidates]
	}
	for _, r := range runs {
		dst = append(dst, r.slot)
	}
	return dst, buf
}
