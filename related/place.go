package related

import (
	"slices"
	"strings"
	"unicode"
)

// Where a request is. Three kinds of evidence say that two requests are at the
// same place, strongest first:
//
//   - similar addresses: the character bigrams of the two normalised addresses
//     overlap by addressSame or more (Jaccard), or one contains the other;
//   - a shared place name: a run of two to maxName Chinese characters ending
//     in a place word (小区, 花园, 街道, 村, 路, 苑, 学校, 医院, 公司…), found in
//     the title or the address, e.g. 丽发新城小区, 伊景园滨河苑, 劳动东路. Every
//     suffix of the run that is still two characters or more before the place
//     word is a key (滨河苑, 景园滨河苑… for 伊景园滨河苑), so a shortened name
//     matches. Names are not taken from the text: a letter's body names too
//     many places in passing (and words that only look like names), which
//     made unrelated letters "same place" in the evaluation. A name that more
//     than 1% of the indexed documents share is not evidence
//     (Index.specificDF);
//   - the same region code (a 6-digit division code, or whatever the intake
//     fills in), weak on its own: a district holds thousands of requests.
const (
	maxName      = 5
	maxPlaceKeys = 48
	addressSame  = 0.6
)

// placeWords are the words that end a place name, longest first where one is
// the end of another.
var placeWords = func() [][]rune {
	words := strings.Fields(`小区 社区 花园 家园 公寓 大厦 广场 街道 新村 新城 大道 商城 市场
		公园 学校 小学 中学 大学 学院 幼儿园 医院 卫生院 车站 酒店 宾馆 公司 集团 工地
		楼盘 中心 村 镇 乡 路 街 巷 苑 园 城 湾 府 庭 厂 站 桥`)
	rs := make([][]rune, len(words))
	for i, w := range words {
		rs[i] = []rune(w)
	}
	slices.SortStableFunc(rs, func(a, b []rune) int { return len(b) - len(a) })
	return rs
}()

// nameStops are characters that never belong to a place name: function words,
// pronouns, the verbs that introduce one (投诉, 举报, 反映, 咨询, 建议, 请问,
// 希望), 政 (of 政府, which 府 would take for a name) and the administrative
// suffixes that end the region before a name (A市A3区丽发新城 → 丽发新城).
var nameStops = func() map[rune]bool {
	m := make(map[rune]bool)
	for _, r := range "的地得在于是和与及或到从对给向我们你他她它该本这那此个住位等了有就也都把被让将为因请求说问诉报映询议望旁边附近内外政省市区县" {
		m[r] = true
	}
	return m
}()

// placeKey is one place name found in a text.
type placeKey struct {
	hash uint32
	name string
	// start and end delimit the name in the runes it was found in.
	start, end int32
}

// appendPlaceKeys appends the place names of the normalised runes t to dst,
// at most maxPlaceKeys in all.
func appendPlaceKeys(dst []placeKey, t []rune) []placeKey {
	for p := 2; p < len(t) && len(dst) < maxPlaceKeys; p++ {
		w := placeWordAt(t, p)
		if w == 0 {
			continue
		}
		start := p
		for start > 0 && p-start < maxName && nameRune(t[start-1]) {
			start--
		}
		if w == 1 && p+1 < len(t) && strings.ContainsRune(notPlace[t[p]], t[p+1]) {
			continue
		}
		for s := p - 2; s >= start && len(dst) < maxPlaceKeys; s-- {
			if generic(t[s:p]) {
				continue
			}
			key := t[s : p+w]
			dst = append(dst, placeKey{hash: hashRunes(key), name: string(key), start: int32(s), end: int32(p + w)})
		}
		p += w - 1
	}
	return dst
}

// placeWordAt returns the length of the place word starting at t[p], or 0.
func placeWordAt(t []rune, p int) int {
	for _, w := range placeWords {
		if len(t)-p >= len(w) && slices.Equal(t[p:p+len(w)], w) {
			return len(w)
		}
	}
	return 0
}

func nameRune(r rune) bool { return unicode.Is(unicode.Han, r) && !nameStops[r] }

// genericWords are words that describe a place rather than name it: a name
// made of them only (配套幼儿园, 普惠性幼儿园, 垃圾中转站, 农村公路, 公交线路)
// says nothing about where a request is.
var genericWords = strings.Fields(`配套 普惠性 普惠 民办 公办 私立 公立 垃圾 中转 农村 城市 城乡
	乡镇 村级 国家 区域 中心 相关 有关 所在 周边 这个 那个 整个 各个 每个 当地 本地 居民 业主
	小区 社区 公交 水泥 线 道 马 公 铁 高速 新建 修建 建设 违建 违规 非法 无证 黑 大型 小型 一个
	一家 两个 几个 多个 某 该 附属 职业 技术 商业 安置 拆迁 老 新 大 小 主 干`)

// generic reports whether a name is made of genericWords only.
func generic(name []rune) bool {
	s := string(name)
	for s != "" {
		i := slices.IndexFunc(genericWords, func(w string) bool { return strings.HasPrefix(s, w) })
		if i < 0 {
			return false
		}
		s = s[len(genericWords[i]):]
	}
	return true
}

// notPlace lists, for a one-character place word, the characters after it
// that make it part of another word (村民, 城市, 站长).
var notPlace = map[rune]string{'村': "民委干级集", '城': "市管乡中区际", '站': "长点", '园': "区长", '路': "线费灯况", '街': "头坊"}

// sortPlaceHashes returns the distinct hashes of keys, sorted.
func sortPlaceHashes(keys []placeKey) []uint32 {
	hs := make([]uint32, len(keys))
	for i, k := range keys {
		hs[i] = k.hash
	}
	slices.Sort(hs)
	return slices.Compact(hs)
}

// titleWords are the bigrams of the words that titles are made of whatever
// they are about.
var titleWords = func() map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(`反映 问题 咨询 关于 投诉 举报 请求 解决 建议 希望 请问 相关 有关 情况 事宜
		的问 题的 严重 强烈 领导 政府 部门 为何 什么 何时 能否 是否 要求 恳请 呼吁 再次 一下 怎么 如何`) {
		m[w] = true
	}
	return m
}()

// matterBigrams returns the sorted distinct hashes of the bigrams of a
// normalised title that say what the request is about: two Chinese
// characters, outside the place names found in it (keys, whose spans are in
// t) and not one of the titleWords.
func matterBigrams(t []rune, keys []placeKey) []uint32 {
	if len(t) < 2 {
		return nil
	}
	inPlace := make([]bool, len(t))
	for _, k := range keys {
		for i := k.start; i < k.end; i++ {
			inPlace[i] = true
		}
	}
	var hs []uint32
	for i := 0; i+2 <= len(t); i++ {
		if inPlace[i] || inPlace[i+1] || !unicode.Is(unicode.Han, t[i]) || !unicode.Is(unicode.Han, t[i+1]) ||
			titleWords[string(t[i:i+2])] {
			continue
		}
		hs = append(hs, hashRunes(t[i:i+2]))
	}
	slices.Sort(hs)
	return slices.Compact(hs)
}

// bigrams returns the sorted distinct hashes of the character bigrams of a
// short normalised text (an address).
func bigrams(a []rune) []uint32 {
	if len(a) < 2 {
		return nil
	}
	hs := make([]uint32, 0, len(a)-1)
	for i := 0; i+2 <= len(a); i++ {
		hs = append(hs, hashRunes(a[i:i+2]))
	}
	slices.Sort(hs)
	return slices.Compact(hs)
}

// sameAddress reports whether two addresses' bigram sets name the same place:
// a Jaccard overlap of addressSame or more, or one (of at least 4 bigrams)
// contained in the other.
func sameAddress(a, b []uint32) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	inter := intersect(a, b)
	small := min(len(a), len(b))
	return float64(inter) >= addressSame*float64(len(a)+len(b)-inter) || (small >= 4 && inter == small)
}

// jaccard returns the Jaccard similarity of two sorted sets.
func jaccard(a, b []uint32) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	inter := intersect(a, b)
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// intersect counts the values two sorted sets share.
func intersect(a, b []uint32) int {
	n := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			n++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return n
}

// regionRelation compares two region codes: 1 when equal, -1 when both are
// set and neither contains the other (by the division code's zero padding:
// 440100 contains 440106), 0 otherwise.
func regionRelation(a, b string) int {
	switch {
	case a == "" || b == "":
		return 0
	case a == b:
		return 1
	case regionContains(a, b) || regionContains(b, a):
		return 0
	}
	return -1
}

// regionContains reports whether the division code outer contains inner:
// outer with its trailing "00" pairs removed is a proper prefix of inner.
func regionContains(outer, inner string) bool {
	p := outer
	for len(p) >= 2 && strings.HasSuffix(p, "00") {
		p = p[:len(p)-2]
	}
	return len(p) < len(outer) && len(p) > 0 && strings.HasPrefix(inner, p)
}
