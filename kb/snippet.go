package kb

// SnippetRunes is the length of a search hit's snippet, in characters.
const SnippetRunes = 120

// sentenceEnd reports the characters a snippet may start after.
func sentenceEnd(r rune) bool {
	switch r {
	case '。', '！', '？', '；', '!', '?', ';', '\n', '：', ':':
		return true
	}
	return false
}

// Snippet returns the stretch of text, at most width characters (plus an
// ellipsis at either end where it was cut), that holds the most characters
// matching query, and the matching stretches within it.
func Snippet(text, query string, width int) (string, []Span) {
	return snippet(text, queryTerms(query), width)
}

// snippet marks the characters of text that are part of a query term (a
// bigram, a lone character or a word of qt), picks the window of width
// characters with the most marks, starting it after a sentence end when
// one is close before it, and returns it with line breaks as spaces.
func snippet(text string, qt map[uint64]int, width int) (string, []Span) {
	orig := []rune(text)
	if len(orig) == 0 || width <= 0 {
		return "", nil
	}
	rs := make([]rune, len(orig))
	for i, r := range orig {
		rs[i] = normRune(r)
	}
	marks := make([]bool, len(rs))
	any := false
	for _, r := range runs(rs) {
		if !r.han {
			if _, ok := qt[wordKey(rs[r.start:r.end])]; ok {
				for i := r.start; i < r.end; i++ {
					marks[i] = true
				}
				any = true
			}
			continue
		}
		for i := r.start; i < r.end; i++ {
			if _, ok := qt[uni(rs[i])]; ok {
				marks[i], any = true, true
			}
			if i+1 < r.end {
				if _, ok := qt[bi(rs[i], rs[i+1])]; ok {
					marks[i], marks[i+1], any = true, true, true
				}
			}
		}
	}
	start := 0
	if any && len(rs) > width {
		// The window with the most marked characters; the first of equals.
		count := 0
		for i := 0; i < width; i++ {
			if marks[i] {
				count++
			}
		}
		best, bestAt := count, 0
		for i := width; i < len(rs); i++ {
			if marks[i] {
				count++
			}
			if marks[i-width] {
				count--
			}
			if count > best {
				best, bestAt = count, i-width+1
			}
		}
		// Lead in to the first match a little, keeping the last in view,
		// and begin at the start of its sentence if that is near.
		first, last := bestAt, bestAt
		for i := bestAt; i < bestAt+width; i++ {
			if marks[i] {
				if !marks[first] {
					first = i
				}
				last = i
			}
		}
		slack := width - (last + 1 - first)
		start = max(0, first-min(width/6, slack))
		for j := first - 1; j >= 0 && j >= first-slack; j-- {
			if sentenceEnd(orig[j]) {
				start = j + 1
				break
			}
		}
		// Leave no leading blank.
		for start < len(rs) && (orig[start] == ' ' || orig[start] == '\n' || orig[start] == '\r' || orig[start] == '\t') {
			start++
		}
	}
	end := min(start+width, len(rs))
	out := make([]rune, 0, end-start+2)
	off := 0
	if start > 0 {
		out = append(out, '…')
		off = 1
	}
	var spans []Span
	for i := start; i < end; i++ {
		r := orig[i]
		if r == '\n' || r == '\r' || r == '\t' {
			r = ' '
		}
		out = append(out, r)
		if marks[i] {
			pos := i - start + off
			if n := len(spans); n > 0 && spans[n-1].End == pos {
				spans[n-1].End++
			} else {
				spans = append(spans, Span{Start: pos, End: pos + 1})
			}
		}
	}
	if end < len(rs) {
		out = append(out, '…')
	}
	return string(out), spans
}
