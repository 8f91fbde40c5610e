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
	// An organisation name inside an estate's name is the estate's
	// (金地中心风华小区, 城建设计院大厦), unless the estate is the
	// organisation's housing (…大学家属院).
	out = slices.DeleteFunc(out, func(c candidate) bool {
		for _, p := range parts {
			if p.level == levelEstate && !p.landmark && p.start <= c.Start && p.end > c.End && !d.staffHousing(p) {
				return true
			}
		}
		return false
	})
	return append(out, d.chains(parts)...)
}

// staffHousing reports whether an estate part is an employer's housing
// (家属院, 宿舍).
func (d *doc) staffHousing(p part) bool {
	for _, w := range []string{"家属院", "家属区", "宿舍"} {
		if d.endsWith(p.end, w) {
			return true
		}
	}
	return false
}

// locationParts scans the text left to right for location parts.
func (d *doc) locationParts() []part {
	var parts []part
	lastEnd, lastLevel := -1, 0
	for i := 0; i < len(d.r); {
		if d.taken[i] {
			i++
			continue
		}
		if p, ok := d.knownPlace(i, lastEnd); ok {
			parts = append(parts, p)
			lastEnd, lastLevel = p.end, p.level
			i = p.end
			continue
		}
		if p, ok := d.numberedRoad(i); ok {
			parts = append(parts, p)
			lastEnd, lastLevel = p.end, p.level
			i = p.end
			continue
		}
		found := false
		for _, rule := range suffixIndex[d.r[i]] {
			ps, ok := d.suffixPart(i, rule, lastEnd, lastLevel)
			if !ok {
				continue
			}
			parts = append(parts, ps...)
			p := ps[len(ps)-1]
			lastEnd, lastLevel, i, found = p.end, p.level, p.end, true
			break
		}
		if !found {
			i++
		}
	}
	return parts
}

// numberedRoad matches a highway written with its number after the road
// word (国道242, 省道S307) at i.
func (d *doc) numberedRoad(i int) (part, bool) {
	if !(d.hasAt(i, "国道") || d.hasAt(i, "省道") || d.hasAt(i, "县道")) || d.taken[i] {
		return part{}, false
	}
	k := i + 2
	if isASCIILetter(d.at(k)) {
		k++
	}
	s := k
	for k < len(d.r) && isDigit(d.r[k]) && !d.taken[k] {
		k++
	}
	if k-s < 2 || k-s > 4 || isDigit(d.at(k)) || d.at(k) == '.' || d.at(k) == '年' || d.at(k) == '号' {
		return part{}, false
	}
	// A section named after a place: 省道307柞水段.
	for n := 1; n <= 3; n++ {
		if !isHan(d.at(k+n-1)) || strings.ContainsRune(hardStops, d.at(k+n-1)) {
			break
		}
		if d.at(k+n) == '段' {
			k += n + 1
			break
		}
	}
	return part{start: i, end: k, level: levelVillage}, true
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
func (d *doc) suffixPart(i int, rule *suffixRule, lastEnd, lastLevel int) ([]part, bool) {
	if !d.hasAt(i, rule.suffix) {
		return nil, false
	}
	e := i + utf8.RuneCountInString(rule.suffix)
	for k := i; k < e; k++ {
		if d.taken[k] {
			return nil, false
		}
	}
	// A rune of notAfter makes the suffix another word, unless the part
	// continues a chain and the rune is one of chainedAfter (板江乡小水村民).
	blockedAfter := strings.ContainsRune(rule.notAfter, d.at(e))
	if blockedAfter && !strings.ContainsRune(rule.chainedAfter, d.at(e)) {
		return nil, false
	}
	ns, chained := d.nameStart(i, rule, lastEnd, lastLevel)
	ns = d.letterStart(ns, i)
	chained = chained || ns == lastEnd
	if blockedAfter && (!chained || i-ns < 2) {
		return nil, false
	}
	if rule.boundary && !d.wordEnds(e) {
		return nil, false
	}
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
	// A name ending like a common word (山区, 城区) is still a name when it
	// continues a chain of divisions with two runes or more (鹤岗市兴山区).
	if tb, ok := tailBlock[rule.suffix]; ok && ns < i && strings.ContainsRune(tb, d.r[i-1]) && !(chained && i-ns >= 2 && rule.suffix == "区") {
		return nil, false
	}
	// A division word inside a finer division's name: 腰市镇 is a town,
	// not the city 腰市.
	if rule.level <= levelDistrict && !rule.digits {
		for _, w := range []string{"镇", "乡", "村"} {
			if d.hasAt(e, w) {
				for _, r2 := range suffixIndex[d.at(e)] {
					if r2.suffix == w && !strings.ContainsRune(r2.notAfter, d.at(e+1)) {
						return append(pre, part{start: ns, end: e + 1, level: r2.level}), true
					}
				}
			}
		}
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
		if isRoad(rule.suffix) {
			// A subdistrict named after its road (将军路街道办事处), or a
			// section of the road (南新街东段).
			for _, w := range []string{"街道办事处", "街道办", "街道"} {
				if d.hasAt(e, w) && !d.taken[e] {
					return append(pre, part{start: ns, end: e + utf8.RuneCountInString(w), level: levelTown}), true
				}
			}
			if strings.ContainsRune("东西南北中上下", d.at(e)) && d.at(e+1) == '段' {
				e += 2
			}
		}
	case levelEstate:
		if !rule.landmark {
			// A second estate word: 恒大翡翠华庭小区.
			for _, r2 := range suffixIndex[d.at(e)] {
				if r2.level == levelEstate && !r2.landmark && d.hasAt(e, r2.suffix) {
					e += utf8.RuneCountInString(r2.suffix)
					break
				}
			}
			// A quarter of the estate (江南小区东区), or a phase before a
			// building (辉煌国际城二期5栋; a phase alone stays outside).
			if strings.ContainsRune("东西南北中", d.at(e)) && d.at(e+1) == '区' && !strings.ContainsRune("域别间", d.at(e+2)) {
				e += 2
			} else if n := d.phase(e); n > 0 && (isDigit(d.at(e+n)) || isASCIILetter(d.at(e+n))) {
				e += n
			}
		} else {
			// A landmark named after another: 峒河大桥, 火车站公交站.
			for _, r2 := range suffixIndex[d.at(e)] {
				if r2.landmark && d.hasAt(e, r2.suffix) && !strings.ContainsRune(r2.notAfter, d.at(e+utf8.RuneCountInString(r2.suffix))) {
					e += utf8.RuneCountInString(r2.suffix)
					break
				}
			}
		}
	}
	return append(pre, part{start: ns, end: e, level: rule.level, landmark: rule.landmark}), true
}

// wordEnds reports whether a word ends at i: the text ends, or a rune
// that is no name rune, a stop rune or a stop word follows.
func (d *doc) wordEnds(i int) bool {
	if i >= len(d.r) {
		return true
	}
	c := d.r[i]
	if d.taken[i] || !nameRune(c) || strings.ContainsRune(hardStops, c) || strings.ContainsRune(softStops, c) {
		return true
	}
	return d.startsWithWord(i, stopIndex) > 0
}

// phase returns the length of a phase of an estate at i (一期, 3期), or 0.
func (d *doc) phase(i int) int {
	k := i
	for k < len(d.r) && k-i < 2 && !d.taken[k] && (isDigit(d.r[k]) || strings.ContainsRune("一二三四五六七八九十", d.r[k])) {
		k++
	}
	if k > i && d.at(k) == '期' && !strings.ContainsRune("间限末初中满货", d.at(k+1)) {
		return k + 1 - i
	}
	return 0
}

// isPhase reports whether a name is a phase of an estate (一期, 3期).
func isPhase(name string) bool {
	head, ok := strings.CutSuffix(name, "期")
	if !ok || head == "" || utf8.RuneCountInString(head) > 2 {
		return false
	}
	for _, c := range head {
		if !isDigit(c) && !strings.ContainsRune("一二三四五六七八九十", c) {
			return false
		}
	}
	return true
}

// isRoad reports whether a village-level suffix names a road.
func isRoad(suffix string) bool {
	switch suffix {
	case "路", "街", "大道", "大街", "巷", "胡同", "国道", "省道":
		return true
	}
	return false
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
func (d *doc) nameStart(i int, rule *suffixRule, lastEnd, lastLevel int) (int, bool) {
	lo := max(0, i-rule.maxName)
	if rule.digits && !rule.numerals {
		k := i
		for k > lo && (isDigit(d.r[k-1]) || isASCIILetter(d.r[k-1]) || d.r[k-1] == '-' && k-1 > lo && isDigit(d.r[k-2])) && !d.taken[k-1] {
			k--
		}
		return k, k == lastEnd
	}
	if lastEnd >= lo && lastEnd <= i && d.chainGap(lastEnd, i, rule, lastLevel) {
		return lastEnd, true
	}
	if lastEnd > lo {
		lo = lastEnd
	}
	k := i
	soft := -1 // where a soft stop was passed
	for k > lo {
		if _, ok := d.endsWithStop(k); ok {
			break
		}
		if d.endsWithWord(k, placeStopIndex) > 0 {
			break
		}
		c := d.r[k-1]
		if c == ' ' && k == i && k-1 > lo && (isDigit(d.r[k-2]) || isASCIILetter(d.r[k-2])) && rule.level <= levelTown {
			// An anonymised name set apart from its suffix: J10 县.
			k--
			continue
		}
		if d.taken[k-1] || !nameRune(c) || strings.ContainsRune(hardStops, c) {
			break
		}
		if strings.ContainsRune(softStops, c) {
			// 和, 时 and 向 before a one-rune name may be inside the name
			// (泰宇时代小区, 向阳…): pass one, but not as the name's first
			// rune and with at most two runes before it; 和 also right
			// before the suffix after one rune (民和路).
			if soft >= 0 || !strings.ContainsRune("和时向", c) || !(i-k == 1 || i-k == 0 && c == '和') {
				break
			}
			soft = k
		}
		k--
	}
	if soft >= 0 {
		if k == soft-1 || k < soft-3 || soft == i && k != soft-2 {
			k = soft
		}
		return k, false
	}
	return k, k == lastEnd
}

// conjunctions join two names; inside the gap between a part and the next
// suffix they separate two places of the same kind (A小区西门和B小区).
const conjunctions = "和与及或跟同"

// weakStops are hard stops that occur in place names (无极县, 将军路,
// 来凤县, 北三经街): allowed in the name of a division or road that
// continues a chain, the last two not as its first rune.
const weakStops = "将无来经内"

// chainGap reports whether the runes [s, e) between a part at level
// lastLevel and the suffix of rule can be the name of a part continuing
// its chain. A soft stop first (沈阳市和平区) or a conjunction inside is
// allowed only when the new part is more precise; a soft stop first only
// for a division.
func (d *doc) chainGap(s, e int, rule *suffixRule, lastLevel int) bool {
	if s == e {
		return true
	}
	finer := rule.level > lastLevel
	if strings.ContainsRune(softStops, d.r[s]) && !(finer && (rule.level <= levelTown || d.r[s] == '时')) {
		return false
	}
	for k := s; k < e; k++ {
		c := d.r[k]
		if d.taken[k] || !nameRune(c) {
			return false
		}
		if strings.ContainsRune(hardStops, c) && !(rule.level <= levelVillage && strings.ContainsRune(weakStops, c) && e-s >= 2 && (k > s || c == '将' || c == '无' || c == '来')) {
			return false
		}
		if !finer && strings.ContainsRune(conjunctions, c) {
			return false
		}
		if n, ok := d.endsWithStop(k + 1); ok && n > 1 && k+1-n >= s {
			return false
		}
	}
	return true
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
var genericEndings = []string{"动车", "全", "该", "各", "整个", "这个", "发达地", "贫困地", "偏远地", "落后地", "水泥", "泥巴", "沥青", "柏油", "石子", "断头", "进村", "通村", "硬化", "村级", "主干", "出行", "道路", "老旧", "高层", "安置"}

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
	if slices.Contains(genericPlaceNames, name) || isPhase(name) {
		return false
	}
	if last, _ := utf8.DecodeLastRuneInString(name); hasHan && isDigit(last) && isRoad(rule.suffix) {
		return false // a bus line: 部门15路
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
		for j < len(parts) {
			if d.joins(parts[j-1], parts[j]) {
				j++
				continue
			}
			// A bracketed remark between two parts: 色河铺镇（原元子街镇）大庙沟村.
			if q := d.afterBracket(parts, j); q > 0 {
				j = q + 1
				continue
			}
			break
		}
		chain := parts[i:j]
		t := Place
		prio := prioPlace
		// A chain that ends with a landmark names the landmark
		// (国道242黄岔岭隧道).
		if len(chain) >= 2 && !chain[len(chain)-1].landmark {
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
	if b.level <= levelCity && b.level < a.level {
		// A coarser division starts another location (雁滩路3730号 | 甘肃…).
		return false
	}
	if b.start == a.end {
		return true
	}
	if b.start == a.end+1 && strings.ContainsRune(", 、", d.r[a.end]) && b.level > a.level && a.level <= levelVillage && !b.landmark {
		return true
	}
	return false
}

// afterBracket returns the index of the part right after a bracketed
// remark that follows parts[j-1], when that part is more precise than
// parts[j-1]; else 0.
func (d *doc) afterBracket(parts []part, j int) int {
	a := parts[j-1]
	if d.at(a.end) != '(' || !strings.ContainsRune("原现今旧即老", d.at(a.end+1)) {
		return 0
	}
	for k := a.end + 1; k < len(d.r) && k <= a.end+12; k++ {
		if d.r[k] == ')' {
			for q := j; q < len(parts) && parts[q].start <= k+1; q++ {
				if parts[q].start == k+1 && parts[q].level > a.level && parts[q].level < levelNumber {
					return q
				}
			}
			return 0
		}
		if !nameRune(d.r[k]) {
			return 0
		}
	}
	return 0
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
				if i > 0 && strings.ContainsRune("省市县区镇乡", d.r[i-1]) && !d.taken[i-1] && d.nameMayStart(i-1) {
					ns = i - 1 // 县医保办
				}
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
	conj := -1
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
		if c == '有' && d.at(k) == '限' {
			k-- // 有限公司 inside a longer name
			continue
		}
		if d.taken[k-1] || !nameRune(c) {
			break
		}
		if c == '问' && d.at(k-2) == '顾' || c == '能' && d.at(k) == '源' && d.at(k-2) == '新' {
			k -= 2 // 顾问, 新能源 inside a name
			continue
		}
		if strings.ContainsRune(orgStops, c) {
			// 和 right before the suffix may be inside a two-rune name
			// (泰和医院).
			if conj >= 0 || c != '和' || k != i || weakOrgSuffix[suffix] {
				break
			}
			conj = k
		}
		k--
	}
	if conj >= 0 && k != conj-2 {
		k = conj
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

// weakOrgSuffix are organisation suffixes that are also common nouns
// (燃气, 物业): their names get no benefit of the doubt.
var weakOrgSuffix = map[string]bool{"燃气": true, "物业": true, "热力": true, "店": true}

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
	if n := d.phase(core); n > 0 {
		// 三期幼儿园, 二期物业公司
		if rest := string(d.r[core+n : i]); rest == "" || slices.Contains(orgGeneric, rest) {
			return false
		}
	}
	// Level words alone (市, 县, 区…) are no name.
	trimmed := strings.TrimLeft(name, "省市县区镇乡")
	if adminOnlyOrg[suffix] {
		return admin && trimmed == ""
	}
	for _, s := range orgSuffixes {
		if trimmed != "" && len(s.suffix) == len(trimmed)+len(suffix) && strings.HasPrefix(s.suffix, trimmed) && strings.HasSuffix(s.suffix, suffix) {
			return false // 有限 + 公司
		}
	}
	if trimmed == "" {
		// A named division and a body it has one of (商洛市丹凤县驾校,
		// A市住建局); not 县医院, 市公司.
		return admin && (gov || adminNamedOrg[suffix])
	}
	if slices.Contains(orgGeneric, trimmed) || slices.Contains(orgGeneric, name) || genericPair(trimmed) {
		return admin
	}
	// A conjunction or preposition before a generic name (同物业公司,
	// 由村委会).
	if t := strings.TrimLeft(trimmed, "同跟和与及或由向对给"); t != trimmed && (t == "" || slices.Contains(orgGeneric, t)) {
		return false
	}
	for _, g := range []string{"级", "性质", "所有", "任何", "一所", "这所", "集团化", "市场化", "规模化", "一体化", "现代化", "专业化", "正规化"} {
		if strings.HasSuffix(trimmed, g) {
			return false
		}
	}
	if utf8.RuneCountInString(trimmed) < 2 && !admin {
		return false
	}
	return true
}

// genericPair reports whether a name is two generic words (社会物业,
// 小区物业).
func genericPair(name string) bool {
	for _, g := range orgGeneric {
		if rest, ok := strings.CutPrefix(name, g); ok && rest != "" && slices.Contains(orgGeneric, rest) {
			return true
		}
	}
	return false
}

// genericCompanies are generic mentions of a company (燃气公司, 供热公司):
// a name after them starts afresh (供热公司淄川开创热力公司).
func genericCompanies() []string {
	var out []string
	for _, g := range orgGeneric {
		if utf8.RuneCountInString(g) >= 2 && !strings.ContainsAny(g, "0123456789sS") {
			out = append(out, g+"公司")
		}
	}
	return out
}

// endsWithStop reports whether the text before i ends with a stop word,
// and its length in runes.
func (d *doc) endsWithStop(i int) (int, bool) {
	n := d.endsWithWord(i, stopIndex)
	return n, n > 0
}

var (
	stopIndex = newWordIndex(append(slices.Clone(stopWords), genericCompanies()...))
	// placeStopIndex bounds place names only (修理移动路): these words
	// occur inside organisation names (汽车修理厂).
	placeStopIndex = newWordIndex(placeStopWords)
	builtinIndex   = newWordIndex(builtinPlaces)
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
