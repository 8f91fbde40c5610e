package classify

import (
	"strings"
	"unicode"
)

// Segmenter splits a text into words. Word features need one; character
// n-grams do not. A Segmenter must be safe for concurrent use.
type Segmenter interface {
	Segment(text string) []string
}

// normalize folds full-width ASCII to ASCII, lowers the case, replaces every
// run of digits by a single '0' (numbers, dates, phone numbers and IDs carry
// no topic) and splits the text into runs of letters and digits: punctuation
// and spaces end a run, so no n-gram crosses them. Runs are appended to dst.
func normalize(text string, dst [][]rune) [][]rune {
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			dst = append(dst, cur)
			cur = nil
		}
	}
	prevDigit := false
	for _, r := range text {
		r = foldWidth(r)
		switch {
		case r >= '0' && r <= '9' || unicode.IsDigit(r):
			if !prevDigit {
				cur = append(cur, '0')
			}
			prevDigit = true
			continue
		case unicode.IsLetter(r):
			cur = append(cur, unicode.ToLower(r))
		default:
			flush()
		}
		prevDigit = false
	}
	flush()
	return dst
}

// foldWidth maps full-width ASCII forms (U+FF01–U+FF5E) to ASCII and the
// ideographic space to a space.
func foldWidth(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFF01 + '!'
	case r == 0x3000:
		return ' '
	}
	return r
}

// normWord normalises one word of a segmenter's output the way normalize
// treats characters, and drops words that are only punctuation or space.
func normWord(w string) string {
	var b strings.Builder
	prevDigit := false
	for _, r := range w {
		r = foldWidth(r)
		switch {
		case r >= '0' && r <= '9' || unicode.IsDigit(r):
			if !prevDigit {
				b.WriteByte('0')
			}
			prevDigit = true
			continue
		case unicode.IsLetter(r):
			b.WriteRune(unicode.ToLower(r))
		}
		prevDigit = false
	}
	return b.String()
}
