package related

import (
	"slices"
	"unicode"
)

// The text model. A text is normalised (Normalize), cut into overlapping
// character n-grams of shingleSize runes, and each n-gram is hashed to 32 bits.
// A document keeps the sketchSize smallest hashes of its set (a bottom-k
// sketch) and the size of the whole set: texts of up to about sketchSize
// characters are kept exactly, longer ones as a uniform sample, so a
// document's text costs at most 4·sketchSize bytes.
const (
	// shingleSize is the n of the character n-grams. Three characters are
	// mostly a word and a half of Chinese. In the evaluation (testdata/README.md)
	// 2-grams suggested more unrelated letters (1.2% of random queries got a
	// false suggestion at the default threshold, against none), and 4- and
	// 5-grams found fewer of the reworded duplicates.
	shingleSize = 3
	// sketchSize is the most hashes a document keeps.
	sketchSize = 256
	// maxRunes bounds the normalised text read, so one request costs bounded
	// time however long its text is.
	maxRunes = 4000
)

// Normalize returns the form of s that texts are compared in: full-width
// ASCII folded to ASCII (ｂ → b, １ → 1), letters lower-cased, and everything
// that is neither a letter nor a digit (punctuation, symbols, white space,
// invalid UTF-8) removed. Chinese characters and digits are kept. Normalize is
// idempotent.
func Normalize(s string) string {
	return string(appendNormalized(nil, s))
}

// appendNormalized appends the normalised runes of s to dst, stopping at
// maxRunes runes in all.
func appendNormalized(dst []rune, s string) []rune {
	for _, r := range s {
		if len(dst) >= maxRunes {
			break
		}
		r = foldWidth(r)
		switch {
		case r < 0x80:
			switch {
			case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			case 'A' <= r && r <= 'Z':
				r += 'a' - 'A'
			default:
				continue
			}
		case unicode.IsLetter(r):
			r = unicode.ToLower(r)
		case unicode.IsDigit(r):
		default:
			continue
		}
		dst = append(dst, r)
	}
	return dst
}

// foldWidth maps the full-width forms of ASCII (U+FF01–U+FF5E) and the
// ideographic space to ASCII.
func foldWidth(r rune) rune {
	switch {
	case 0xFF01 <= r && r <= 0xFF5E:
		return r - 0xFF01 + '!'
	case r == 0x3000:
		return ' '
	}
	return r
}

// shingleHashes appends the hashes of the distinct shingleSize-grams of the
// normalised runes t to dst and returns them sorted. A text shorter than a
// shingle is one shingle; an empty text has none.
func shingleHashes(dst []uint32, t []rune) []uint32 {
	start := len(dst)
	switch {
	case len(t) == 0:
		return dst
	case len(t) < shingleSize:
		dst = append(dst, hashRunes(t))
	default:
		for i := 0; i+shingleSize <= len(t); i++ {
			dst = append(dst, hashRunes(t[i:i+shingleSize]))
		}
	}
	set := dst[start:]
	slices.Sort(set)
	return dst[:start+len(slices.Compact(set))]
}

// hashRunes hashes a short run of runes to 32 bits: FNV-1a over the runes,
// then a finaliser so that the low and high bits are both well mixed.
func hashRunes(rs []rune) uint32 {
	h := uint64(14695981039346656037)
	for _, r := range rs {
		h ^= uint64(r)
		h *= 1099511628211
	}
	return uint32(mix64(h) >> 32)
}

// mix64 is the SplitMix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// sketch is a document's text: the smallest sketchSize shingle hashes,
// sorted, and how many distinct shingles the text has.
type sketch struct {
	hashes []uint32
	n      int32
}

// newSketch keeps the smallest sketchSize of the sorted distinct hashes set,
// copied so that set's buffer can be reused.
func newSketch(set []uint32) sketch {
	return sketch{hashes: slices.Clone(set[:min(len(set), sketchSize)]), n: int32(len(set))}
}

// exact reports whether the sketch holds every shingle of its text.
func (s sketch) exact() bool { return int(s.n) == len(s.hashes) }

// compare returns the Jaccard similarity of the shingle sets of a and b and
// the containment of the smaller in the larger (|A∩B| / min(|A|,|B|)).
//
// When both sketches are exact the figures are exact. Otherwise both are cut
// at the same hash value τ, the largest hash kept by a truncated sketch, so
// that both are samples of their sets by the same rule (hash ≤ τ): the
// Jaccard similarity of the samples estimates the sets' one, and the
// intersection follows from it and the known set sizes,
// |A∩B| = J·(|A|+|B|)/(1+J).
func compare(a, b sketch) (jaccard, containment float64) {
	if a.n == 0 || b.n == 0 {
		return 0, 0
	}
	tau := ^uint32(0)
	if !a.exact() {
		tau = a.hashes[len(a.hashes)-1]
	}
	if !b.exact() {
		tau = min(tau, b.hashes[len(b.hashes)-1])
	}
	var inter, union int
	i, j := 0, 0
	x, y := a.hashes, b.hashes
	for i < len(x) && j < len(y) {
		u, v := x[i], y[j]
		if u > tau && v > tau {
			break
		}
		switch {
		case u == v:
			inter++
			i++
			j++
		case u < v:
			i++
		default:
			j++
		}
		union++
	}
	for ; i < len(x) && x[i] <= tau; i++ {
		union++
	}
	for ; j < len(y) && y[j] <= tau; j++ {
		union++
	}
	if union == 0 {
		return 0, 0
	}
	jaccard = float64(inter) / float64(union)
	both := float64(inter)
	if !a.exact() || !b.exact() {
		both = jaccard * float64(a.n+b.n) / (1 + jaccard)
	}
	containment = min(1, both/float64(min(a.n, b.n)))
	return jaccard, containment
}
