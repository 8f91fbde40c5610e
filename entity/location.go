package entity

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// part is one location part: a name and its suffix (A3区, 联丰路, G2栋),
// or a known place name.
type part struct {
	start, end int
	level      int
	landmark   bool
}

// suffixIndex maps a suffix's first rune to the rules starting with it,
// longest suffix first.
var suffixIndex = func() map[rune][]*suffixRule {
	m := make(map[rune][]*suffixRule)
	for i := range locationSuffixes {
		r := &locationSuffixes[i]
		c, _ := utf8.DecodeRuneInString(r.suffix)
		m[c] = append(m[c], r)
	}
	for _, rs := range m {
		slices.SortStableFunc(rs, func(a, b *suffixRule) int { return len(b.suffix) - len(a.suffix) })
	}
	return m
}()

// builtinLevel is the level of a builtin place: the first 34 are
// provinces, the rest cities.
var builtinLevel = func() map[string]int {
	m := make(map[string]int, len(builtinPlaces))
	for i, p := range builtinPlaces {
		if i < 34 {
			m[p] = levelProvince
		} else {
			m[p] = levelCity
		}
	}
	return m
}()

// locations finds addresses, places and organisations in the runes not yet
// taken.
func (d *doc) locations() []candidate {
	parts := d.locationParts()
	out := d.organisations(parts)
	return append(out, d.chains(parts)...)
}

// locationParts scans the text left to right for location parts.
func (d *doc) locationParts() []part {
	var parts []part
	lastEnd := -1
	for i := 0; i < len(d.r); {
		if d.taken[i] {
			i++
			continue
		}
		if p, ok := d.knownPlace(i, lastEnd); ok {
			parts = append(parts, p)
			lastEnd = p.end
			i = p.end
			continue
		}
		found := false
		for _, rule := range suffixIndex[d.r[i]] {
			ps, ok := d.suffixPart(i, rule, lastEnd)
			if !ok {
				continue
			}
			parts = append(parts, ps...)
			p := ps[len(ps)-1]
			lastEnd, i, found = p.end, p.end, true
			break
		}
		if !found {
			i++
		}
	}
	return parts
}

// knownPlace matches a gazetteer name (Options.Places, then the builtin
// provinces and cities) at i, with the location suffix that may follow it
// (西安 + 市).
func (d *doc) knownPlace(i, lastEnd int) (part, bool) {
	if i != lastEnd && !d.nameMayStart(i) {
		return part{}, false
	}
	best, level := 0, levelEstate
	if len(d.opts.Places) > 0 {
		if d.places == nil {
			d.places = newWordIndex(d.opts.Places)
		}
		if n := d.startsWithWord(i, d.places); n > 0 {
			best, level = n, levelOfName(string(d.r[i:i+n]))
		}
	}
	if best == 0 {
		if n := d.startsWithWord(i, builtinIndex); n > 0 {
			best, level = n, builtinLevel[string(d.r[i:i+n])]
		}
	}
	if best == 0 {
		return part{}, false
	}
	e := i + best
	for k := i; k < e; k++ {
		if d.taken[k] {
			return part{}, false
		}
	}
	// A suffix right after the name belongs to it (西安市, 商洛市商州区).
	for _, rule := range suffixIndex[d.at(e)] {
		if rule.chainReq || !d.hasAt(e, rule.suffix) || rule.level == levelBuilding || rule.level == levelNumber {
			continue
		}
		se := e + utf8.RuneCountInString(rule.suffix)
		if strings.ContainsRune(rule.notAfter, d.at(se)) {
			continue
		}
		return part{start: i, end: se, level: rule.level}, true
	}
	if isHan(d.at(e)) && level == levelProvince && d.at(e) == '省' {
		return part{start: i, end: e + 1, level: levelProvince}, true
	}
	return part{start: i, end: e, level: level}, true
}

// levelOfName guesses the level of a gazetteer name from its last suffix.
func levelOfName(name string) int {
	for _, rule := range locationSuffixes {
		if strings.HasSuffix(name, rule.suffix) {
			return rule.level
		}
	}
	return levelEstate
}

// nameMayStart reports whether a name may start at i: at the start of the
// text, after a rune that is not part of a name, or after a stop.
func (d *doc) nameMayStart(i int) bool {
	if i == 0 {
		return true
	}
	c := d.r[i-1]
	if d.taken[i-1] || !nameRune(c) || strings.ContainsRune(hardStops, c) || strings.ContainsRune(softStops, c) {
		return true
	}
	_, ok := d.endsWithStop(i)
	return ok
}

func nameRune(c rune) bool { return isHan(c) || isASCIILetter(c) || isDigit(c) }

// suffixPart tries rule's suffix at i: it finds the name before it and
// checks both. A building or number after an unknown estate name that
// follows a part (A3区咸嘉湖街道中央美郡5栋) also yields that name as a part.
func (d *doc) suffixPart(i int, rule *suffixRule, lastEnd int) ([]part, bool) {
	if !d.hasAt(i, rule.suffix) {
		return nil, false
	}
	e := i + utf8.RuneCountInString(rule.suffix)
	for k := i; k < e; k++ {
		if d.taken[k] {
			return nil, false
		}
	}
	if strings.ContainsRune(rule.notAfter, d.at(e)) {
		return nil, false
	}
	ns, chained := d.nameStart(i, rule.maxName, lastEnd, rule.digits && !rule.numerals)
	ns = d.letterStart(ns, i)
	chained = chained || ns == lastEnd
	var pre []part
	if !chained && rule.digits && ns < i && lastEnd >= 0 && ns-lastEnd >= 2 && ns-lastEnd <= 6 && d.gapIsName(lastEnd, ns) && !strings.ContainsRune(softStops, d.r[lastEnd]) {
		// An estate without a suffix between a part and a number.
		pre = append(pre, part{start: lastEnd, end: ns, level: levelEstate})
		chained = true
	}
	name := string(d.r[ns:i])
	if !validPlaceName(name, rule, chained) {
		return nil, false
	}
	if tb, ok := tailBlock[rule.suffix]; ok && ns < i && strings.ContainsRune(tb, d.r[i-1]) {
		return nil, false
	}
	switch rule.level {
	case levelBuilding:
		// Room numbers after a building: G2栋320.
		k := e
		for k < len(d.r) && k-e < 5 && isDigit(d.r[k]) {
			k++
		}
		if k-e >= 2 && k-e <= 4 && !strings.ContainsRune("号年月日元万个人平米层楼室单户", d.at(k)) && !isDigit(d.at(k)) {
			e = k
		}
	case levelVillage:
		// A community named after its road: 金茂路社区.
		for _, w := range []string{"社区", "小区"} {
			if d.hasAt(e, w) {
				e += 2
				break
			}
		}
	case levelEstate:
		// A second estate word: 恒大翡翠华庭小区.
		if !rule.landmark {
			for _, r2 := range suffixIndex[d.at(e)] {
				if r2.level == levelEstate && !r2.landmark && d.hasAt(e, r2.suffix) {
					e += utf8.RuneCountInString(r2.suffix)
					break
				}
			}
		}
	}
	return append(pre, part{start: ns, end: e, level: rule.level, landmark: rule.landmark}), true
}

// letterStart moves a name's start to its first ASCII letter when Chinese
// runes precede an anonymised name (像B市 → B市, 大K4县 → K4县).
func (d *doc) letterStart(ns, i int) int {
	for k := ns; k < i; k++ {
		if isASCIILetter(d.r[k]) {
			if k > ns && isHan(d.r[k-1]) {
				return k
			}
			return ns
		}
	}
	return ns
}

// nameStart finds where the name before the suffix at i starts: right
// after the previous part when only name runes lie in between (chained),
// else after the nearest stop, punctuation or taken rune, at most maxName
// runes back.
func (d *doc) nameStart(i, maxName, lastEnd int, digitsOnly bool) (int, bool) {
	lo := max(0, i-maxName)
	if digitsOnly {
		k := i
		for k > lo && (isDigit(d.r[k-1]) || isASCIILetter(d.r[k-1]) || d.r[k-1] == '-' && k-1 > lo && isDigit(d.r[k-2])) && !d.taken[k-1] {
			k--
		}
		return k, k == lastEnd
	}
	if lastEnd >= lo && lastEnd <= i && d.gapIsName(lastEnd, i) && (lastEnd == i || !strings.ContainsRune(softStops, d.r[lastEnd])) {
		return lastEnd, true
	}
	if lastEnd > lo {
		lo = lastEnd
	}
	k := i
	for k > lo {
		if _, ok := d.endsWithStop(k); ok {
			break
		}
		c := d.r[k-1]
		if d.taken[k-1] || !nameRune(c) || strings.ContainsRune(hardStops, c) || strings.ContainsRune(softStops, c) {
			break
		}
		k--
	}
	return k, k == lastEnd
}

// gapIsName reports whether the runes [s, e) between a part and the next
// suffix can all be the next part's name.
func (d *doc) gapIsName(s, e int) bool {
	for k := s; k < e; k++ {
		c := d.r[k]
		if d.taken[k] || !nameRune(c) || strings.ContainsRune(hardStops, c) {
			return false
		}
		if n, ok := d.endsWithStop(k + 1); ok && n > 1 && k+1-n >= s {
			return false
		}
	}
	return true
}

// genericEndings end names that make a road or estate suffix a common noun
// (修建水泥路, 进村路).
var genericEndings = []string{"水泥", "泥巴", "沥青", "柏油", "石子", "断头", "进村", "通村", "硬化", "村级", "主干", "出行", "道路", "老旧", "高层", "安置"}

// validPlaceName checks the name before a location suffix.
func validPlaceName(name string, rule *suffixRule, chained bool) bool {
	n := utf8.RuneCountInString(name)
	if n == 0 {
		return rule.empty
	}
	if n < rule.minName {
		return false
	}
	if first, _ := utf8.DecodeRuneInString(name); strings.ContainsRune("省市县区镇乡", first) && !chained {
		return false
	}
	if rule.chainReq && !chained {
		return false
	}
	hasHan, hasLetter, allDigits, allNumerals := false, false, true, true
	for _, c := range name {
		switch {
		case isHan(c):
			hasHan = true
			allDigits = false
			if _, ok := chineseDigits[c]; !ok && c != '十' {
				allNumerals = false
			}
		case isASCIILetter(c):
			hasLetter, allDigits, allNumerals = true, false, false
		case isDigit(c) || c == '-':
			allNumerals = false
		}
	}
	if rule.digits && !rule.numerals {
		return (allDigits || hasLetter) && !hasHan
	}
	if rule.numerals {
		if allDigits || allNumerals {
			return chained
		}
		if hasHan && n < 2 {
			return false
		}
	}
	if allDigits && !rule.digits {
		return false
	}
	if !hasHan && !hasLetter {
		return false
	}
	if first, _ := utf8.DecodeRuneInString(name); isDigit(first) && !rule.digits && !hasLetter {
		return false
	}
	if n == 1 && strings.ContainsRune(oneCharNames, []rune(name)[0]) {
		return false
	}
	if slices.Contains(genericPlaceNames, name) {
		return false
	}
	for _, g := range genericEndings {
		if strings.HasSuffix(name, g) {
			return false
		}
	}
	return true
}

// chains joins adjacent parts and classifies each chain: an address when
// it has two parts or more and one below the township level, else a place.
func (d *doc) chains(parts []part) []candidate {
	var out []candidate
	for i := 0; i < len(parts); {
		j := i + 1
		for j < len(parts) && d.joins(parts[j-1], parts[j]) {
			j++
		}
		chain := parts[i:j]
		t := Place
		prio := prioPlace
		if len(chain) >= 2 {
			for _, p := range chain {
				if p.level >= levelVillage && !p.landmark {
					t, prio = Address, prioAddress
					break
				}
			}
		}
		out = append(out, d.entity(t, chain[0].start, chain[len(chain)-1].end, "", prio))
		i = j
	}
	return out
}

// joins reports whether part b continues the chain ending with a: it
// starts where a ends, or after a comma or space when it is more precise
// (丹凤县，武关镇，段湾村).
func (d *doc) joins(a, b part) bool {
	if b.start == a.end {
		return true
	}
	if b.start == a.end+1 && strings.ContainsRune(", 、", d.r[a.end]) && b.level > a.level && a.level <= levelVillage {
		return true
	}
	return false
}

// organisations finds organisation names: a suffix and the name before it,
// which may start with administrative divisions but not with a road,
// estate or other precise location.
func (d *doc) organisations(parts []part) []candidate {
	var out []candidate
	for i := 0; i < len(d.r); i++ {
		if d.taken[i] {
			continue
		}
		for _, k := range orgIndex[d.r[i]] {
			s := orgSuffixes[k]
			if !d.hasAt(i, s.suffix) {
				continue
			}
			e := i + utf8.RuneCountInString(s.suffix)
			if strings.ContainsRune(s.notAfter, d.at(e)) {
				continue
			}
			if nb, ok := orgNotBefore[s.suffix]; ok && strings.ContainsRune(nb, d.at(i-1)) {
				continue
			}
			ns := d.orgNameStart(i, s.suffix, parts)
			if wholeOrgNames[s.suffix] && !d.adminOnly(ns, i, parts) {
				ns = i // 医保办 of 市政务大厅医保办
			}
			if !d.validOrg(ns, i, s.suffix, s.gov, parts) {
				continue
			}
			out = append(out, d.entity(Organisation, ns, e, "", prioOrg))
			break
		}
	}
	return out
}

// orgNameStart scans back from an organisation suffix at i for the start
// of its name.
func (d *doc) orgNameStart(i int, suffix string, parts []part) int {
	lo := max(0, i-24)
	k := i
	for k > lo {
		if _, ok := d.endsWithStop(k); ok {
			break
		}
		c := d.r[k-1]
		if c == ')' || c == '）' {
			// A parenthesised part of the name: 德轮斯顿（山东）教育…
			open := -1
			for m := k - 2; m >= lo && m >= k-8; m-- {
				if d.r[m] == '(' || d.r[m] == '（' {
					open = m
					break
				}
			}
			if open > lo && nameRune(d.at(open-1)) {
				k = open
				continue
			}
			break
		}
		if d.taken[k-1] || !nameRune(c) || strings.ContainsRune(orgStops, c) {
			break
		}
		k--
	}
	k0 := k
	k = d.letterStart(k, i)
	for again := true; again; {
		again = false
		for _, p := range parts {
			if p.end == k && p.start >= k0 && p.start < k && p.level < levelVillage {
				k, again = p.start, true
			}
		}
	}
	// Do not swallow a precise location (a road or estate, unless the name
	// is just that road: 井圭路小学); take whole administrative parts.
	for _, p := range parts {
		switch {
		case p.end <= k || p.start >= i:
		case p.level < levelVillage && p.start < k && p.end > k:
			k = p.start
		case p.landmark:
		case p.level >= levelVillage && p.end <= i && !(p.end == i && p.start >= k && schoolLike[suffix]):
			k = max(k, p.end)
		}
	}
	// A word or two before the first division is no part of the name
	// (全名西地省…有限公司).
	for _, p := range parts {
		if p.start > k && p.start-k <= 2 && p.end <= i && p.level < levelVillage {
			k = p.start
			break
		}
		if p.start >= k {
			break
		}
	}
	return k
}

// schoolLike are suffixes of bodies often named after their road
// (井圭路小学).
var schoolLike = map[string]bool{"小学": true, "中学": true, "学校": true, "幼儿园": true, "医院": true, "大学": true, "学院": true}

// adminOnly reports whether [ns, i) is empty or administrative parts
// only.
func (d *doc) adminOnly(ns, i int, parts []part) bool {
	for _, p := range parts {
		if p.start == ns && p.end <= i && p.level < levelVillage {
			ns = p.end
		}
	}
	return ns == i
}

// validOrg checks an organisation name [ns, i) before suffix.
func (d *doc) validOrg(ns, i int, suffix string, gov bool, parts []part) bool {
	if wholeOrgNames[suffix] {
		return true
	}
	// Strip leading administrative parts: what is left is the core.
	core := ns
	admin := false
	for _, p := range parts {
		if p.start == core && p.end <= i && p.level < levelVillage {
			core, admin = p.end, true
		}
	}
	name := string(d.r[core:i])
	// Level words alone (市, 县, 区…) are no name.
	trimmed := strings.TrimLeft(name, "省市县区镇乡")
	if adminOnlyOrg[suffix] {
		return admin && trimmed == ""
	}
	if trimmed == "" {
		return false
	}
	if slices.Contains(orgGeneric, trimmed) || slices.Contains(orgGeneric, name) {
		return admin
	}
	for _, g := range []string{"级", "性质", "所有", "任何", "一所", "这所"} {
		if strings.HasSuffix(trimmed, g) {
			return false
		}
	}
	if utf8.RuneCountInString(trimmed) < 2 && !admin {
		return false
	}
	return true
}

// endsWithStop reports whether the text before i ends with a stop word,
// and its length in runes.
func (d *doc) endsWithStop(i int) (int, bool) {
	n := d.endsWithWord(i, stopIndex)
	return n, n > 0
}

var (
	stopIndex    = newWordIndex(stopWords)
	builtinIndex = newWordIndex(builtinPlaces)
	// orgIndex maps a suffix's first rune to indexes into orgSuffixes,
	// longest suffix first.
	orgIndex = func() map[rune][]int {
		m := map[rune][]int{}
		for i, s := range orgSuffixes {
			c, _ := utf8.DecodeRuneInString(s.suffix)
			m[c] = append(m[c], i)
		}
		for _, ix := range m {
			slices.SortStableFunc(ix, func(a, b int) int { return len(orgSuffixes[b].suffix) - len(orgSuffixes[a].suffix) })
		}
		return m
	}()
)
