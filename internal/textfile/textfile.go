// Package textfile holds what the importers of administrators' files
// (taxonomies, knowledge bases) share: telling YAML from CSV, and finding the
// line of the first byte that is not UTF-8.
package textfile

import (
	"bytes"
	"unicode/utf8"
)

// LooksLikeYAML reports whether data's first line that is neither blank nor
// a comment starts a YAML list, mapping or document, or a JSON document; ok
// is false when data has no such line.
func LooksLikeYAML(data []byte) (yaml, ok bool) {
	for line := range bytes.Lines(data) {
		l := bytes.TrimSpace(bytes.TrimPrefix(line, []byte("\ufeff")))
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		switch l[0] {
		case '{', '[', '-':
			return true, true
		}
		if i := bytes.IndexByte(l, ':'); i > 0 && bytes.IndexByte(l[:i], ',') < 0 {
			return true, true
		}
		return false, true
	}
	return false, false
}

// InvalidLine returns the 1-based line of the first byte of data that is not
// valid UTF-8 (the last line when every byte is).
func InvalidLine(data []byte) int {
	line := 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		data = data[size:]
	}
	return line
}
