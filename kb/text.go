package kb

import (
	"hash/fnv"
	"unicode"
)

// A term is a uint64: a Han character (kindUni), a pair of adjacent Han
// characters (kindBi) or a hash of a word of other letters and digits
// (kindWord), tagged in the top two bits.
const (
	kindUni  = uint64(1) << 62
	kindBi   = uint64(2) << 62
	kindWord = uint64(3) << 62
	kindMask = uint64(3) << 62
)

// maxWord bounds the bytes of a word term.
const maxWord = 32

// normRune folds full-width ASCII to ASCII and lowers the case.
func normRune(r rune) rune {
	if r >= 0xFF01 && r <= 0xFF5E {
		r -= 0xFEE0
	}
	if r < 0x80 {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(r)
}

func isHan(r rune) bool {
	return r >= 0x3400 && unicode.Is(unicode.Han, r)
}

func isWordRune(r rune) bool {
	if r < 0x80 {
		return 'a' <= r && r <= 'z' || '0' <= r && r <= '9'
	}
	return !isHan(r) && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

func uni(r rune) uint64   { return kindUni | uint64(r) }
func bi(a, b rune) uint64 { return kindBi | uint64(a)<<21 | uint64(b) }
func wordTerm(w []byte) uint64 {
	h := fnv.New64a()
	h.Write(w)
	return kindWord | h.Sum64()&^kindMask
}

// token is a run of text of one kind, in runes of the normalized text.
type run struct {
	han        bool
	start, end int // rune offsets
}

// runs splits normalized runes into runs of Han characters and of word
// characters; everything else separates them.
func runs(rs []rune) []run {
	var out []run
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case isHan(r):
			j := i + 1
			for j < len(rs) && isHan(rs[j]) {
				j++
			}
			out = append(out, run{han: true, start: i, end: j})
			i = j
		case isWordRune(r):
			j := i + 1
			for j < len(rs) && isWordRune(rs[j]) {
				j++
			}
			out = append(out, run{start: i, end: j})
			i = j
		default:
			i++
		}
	}
	return out
}

// normalize returns the normalized runes of s.
func normalize(s string) []rune {
	rs := []rune(s)
	for i, r := range rs {
		rs[i] = normRune(r)
	}
	return rs
}

// wordKey returns the term of the word rs.
func wordKey(rs []rune) uint64 {
	b := []byte(string(rs))
	if len(b) > maxWord {
		b = b[:maxWord]
	}
	return wordTerm(b)
}

// indexTerms calls fn with every term of s as the index stores it: each Han
// character and each pair of adjacent ones, and each word. It returns how
// many terms there were (the field's length).
func indexTerms(s string, fn func(term uint64)) int {
	rs := normalize(s)
	n := 0
	for _, r := range runs(rs) {
		if !r.han {
			fn(wordKey(rs[r.start:r.end]))
			n++
			continue
		}
		for i := r.start; i < r.end; i++ {
			fn(uni(rs[i]))
			n++
			if i+1 < r.end {
				fn(bi(rs[i], rs[i+1]))
				n++
			}
		}
	}
	return n
}

// queryTerms returns the terms of a query with their counts: pairs of
// adjacent Han characters (or the character, when a run is one character
// long) and words.
func queryTerms(s string) map[uint64]int {
	rs := normalize(s)
	out := map[uint64]int{}
	for _, r := range runs(rs) {
		switch {
		case !r.han:
			out[wordKey(rs[r.start:r.end])]++
		case r.end-r.start == 1:
			out[uni(rs[r.start])]++
		default:
			for i := r.start; i+1 < r.end; i++ {
				out[bi(rs[i], rs[i+1])]++
			}
		}
	}
	return out
}
