package entity

import (
	"fmt"
	"strings"
	"time"
)

// springFestival is the first day of the lunar year (春节), by year.
var springFestival = map[int]string{
	2000: "02-05", 2001: "01-24", 2002: "02-12", 2003: "02-01", 2004: "01-22",
	2005: "02-09", 2006: "01-29", 2007: "02-18", 2008: "02-07", 2009: "01-26",
	2010: "02-14", 2011: "02-03", 2012: "01-23", 2013: "02-10", 2014: "01-31",
	2015: "02-19", 2016: "02-08", 2017: "01-28", 2018: "02-16", 2019: "02-05",
	2020: "01-25", 2021: "02-12", 2022: "02-01", 2023: "01-22", 2024: "02-10",
	2025: "01-29", 2026: "02-17", 2027: "02-06", 2028: "01-26", 2029: "02-13",
	2030: "02-03", 2031: "01-23", 2032: "02-11", 2033: "01-31", 2034: "02-19",
	2035: "02-08",
}

// festivals and the fixed day they fall on ("" when it moves and is not
// resolved); "cny" marks days counted from the Spring Festival.
var festivals = []struct {
	name    string
	md      string
	offset  int  // days from the Spring Festival, when md == "cny"
	needCtx bool // only with a year before or 前/后/期间 after
}{
	{"农历新年", "cny", 0, false}, {"春节", "cny", 0, false}, {"除夕", "cny", -1, false},
	{"元宵节", "cny", 14, false}, {"元旦", "01-01", 0, false}, {"国庆节", "10-01", 0, false},
	{"国庆", "10-01", 0, true}, {"五一", "05-01", 0, true}, {"劳动节", "05-01", 0, false},
	{"中秋节", "", 0, false}, {"端午节", "", 0, false}, {"清明节", "", 0, false},
}

var relativeDays = []struct {
	word string
	days int
}{
	{"大前天", -3}, {"前天", -2}, {"昨天", -1}, {"昨日", -1}, {"今天", 0}, {"今日", 0},
	{"明天", 1}, {"明日", 1}, {"后天", 2},
}

var relativeWeeks = []struct {
	word  string
	weeks int
}{
	{"上个星期", -1}, {"上星期", -1}, {"上个礼拜", -1}, {"上礼拜", -1}, {"上周", -1},
	{"本周", 0}, {"这周", 0}, {"这个星期", 0}, {"下周", 1}, {"下个星期", 1},
}

var relativeMonths = []struct {
	word   string
	months int
}{
	{"上个月", -1}, {"上月", -1}, {"本月", 0}, {"这个月", 0}, {"当月", 99}, {"下个月", 1}, {"下月", 1},
}

var relativeYears = []struct {
	word  string
	years int
}{
	{"前年", -2}, {"去年", -1}, {"今年", 0}, {"本年", 0}, {"明年", 1},
}

// dateVal is a partly known date.
type dateVal struct {
	y, m, d int // 0 when unknown
	noValue bool
	week    string // a literal value: a week (2019-W43) or a range of years (2015/2019)
}

// dates finds dates.
func (d *doc) dates(out []candidate) []candidate {
	for i := 0; i < len(d.r); i++ {
		if d.taken[i] {
			continue
		}
		if p := d.at(i - 1); isDigit(p) || isASCIILetter(p) || p == '.' {
			continue
		}
		end, v, ok := d.dateAt(i)
		if !ok {
			continue
		}
		out = append(out, d.entity(Date, i, end, d.dateValue(v), prioDate))
		// A day continuing a range: 2月9号到15号, 12月1日和2日.
		for v.m != 0 {
			c := d.at(end)
			if c != '到' && c != '至' && c != '-' && c != '和' && c != '、' {
				break
			}
			if _, _, ok := d.dateAt(end + 1); ok {
				break // a full date follows: the outer loop reads it
			}
			day, e2, ok := d.dayNumber(end + 1)
			if !ok || d.at(e2) != '日' && d.at(e2) != '号' || !validDay(max(v.y, 2000), v.m, day) {
				break
			}
			v = dateVal{y: v.y, m: v.m, d: day, noValue: v.noValue}
			out = append(out, d.entity(Date, end+1, e2+1, d.dateValue(v), prioDate))
			end = e2 + 1
		}
		i = end - 1
	}
	return out
}

// dateAt reads a date starting at i.
func (d *doc) dateAt(i int) (int, dateVal, bool) {
	if e, v, ok := d.numericDate(i); ok {
		return e, v, true
	}
	for _, w := range relativeDays {
		if d.hasAt(i, w.word) {
			return i + len([]rune(w.word)), d.shiftDays(w.days), true
		}
	}
	for _, w := range relativeWeeks {
		if d.hasAt(i, w.word) {
			v := dateVal{noValue: d.opts.Now.IsZero()}
			if !v.noValue {
				y, wk := d.opts.Now.AddDate(0, 0, 7*w.weeks).ISOWeek()
				v.week = fmt.Sprintf("%04d-W%02d", y, wk)
			}
			return i + len([]rune(w.word)), v, true
		}
	}
	for _, w := range relativeMonths {
		if d.hasAt(i, w.word) {
			e := i + len([]rune(w.word))
			v := dateVal{noValue: d.opts.Now.IsZero() || w.months == 99}
			if !v.noValue {
				t := time.Date(d.opts.Now.Year(), d.opts.Now.Month()+time.Month(w.months), 1, 0, 0, 0, 0, time.UTC)
				v.y, v.m = t.Year(), int(t.Month())
			}
			return d.monthSuffix(e), v, true
		}
	}
	return d.chineseDate(i)
}

// numericDate reads 2019-05-01, 2019/5/1, 2018.9.10 and ranges of years
// (2015-2019年, 2020年-2021年).
func (d *doc) numericDate(i int) (int, dateVal, bool) {
	y, e, ok := d.fourDigitYear(i)
	if !ok {
		return 0, dateVal{}, false
	}
	sep := d.at(e)
	if d.at(e) == '年' && d.at(e+1) == '-' {
		if y2, e2, ok := d.fourDigitYear(e + 2); ok && d.at(e2) == '年' && y2 > y {
			return e2 + 1, dateVal{week: fmt.Sprintf("%d/%d", y, y2)}, true
		}
	}
	if sep != '-' && sep != '/' && sep != '.' {
		return 0, dateVal{}, false
	}
	if y2, e2, ok := d.fourDigitYear(e + 1); ok && sep == '-' && d.at(e2) == '年' && y2 > y {
		return e2 + 1, dateVal{week: fmt.Sprintf("%d/%d", y, y2)}, true
	}
	m, e2, ok := d.smallNumber(e+1, 2)
	if !ok || m < 1 || m > 12 || d.at(e2) != sep {
		return 0, dateVal{}, false
	}
	day, e3, ok := d.smallNumber(e2+1, 2)
	if !ok || !validDay(y, m, day) || isDigit(d.at(e3)) || d.at(e3) == '.' && isDigit(d.at(e3+1)) {
		return 0, dateVal{}, false
	}
	if d.at(e3) == '日' || d.at(e3) == '号' {
		e3++
	}
	return e3, dateVal{y: y, m: m, d: day}, true
}

// fourDigitYear reads a year 1900–2099 written with four digits.
func (d *doc) fourDigitYear(i int) (int, int, bool) {
	for k := range 4 {
		if !isDigit(d.at(i + k)) {
			return 0, 0, false
		}
	}
	if isDigit(d.at(i + 4)) {
		return 0, 0, false
	}
	y := atoi(string(d.r[i : i+4]))
	return y, i + 4, y >= 1900 && y <= 2099
}

// smallNumber reads 1..maxDigits Arabic digits.
func (d *doc) smallNumber(i, maxDigits int) (int, int, bool) {
	n, k := 0, 0
	for k < maxDigits && isDigit(d.at(i+k)) {
		n = n*10 + int(d.at(i+k)-'0')
		k++
	}
	if k == 0 || isDigit(d.at(i+k)) {
		return 0, 0, false
	}
	return n, i + k, true
}

// chineseSmall reads a Chinese number up to 31 (一, 十二, 二十八, 三十一).
func (d *doc) chineseSmall(i int) (int, int, bool) {
	n, ok := d.readChinese(i)
	if !ok || n.val == nil || !n.val.IsInt() {
		return 0, 0, false
	}
	v := n.val.Num().Int64()
	if v < 1 || v > 31 || n.end-i > 3 {
		return 0, 0, false
	}
	return int(v), n.end, true
}

// dayNumber reads a day of the month in Arabic or Chinese numerals.
func (d *doc) dayNumber(i int) (int, int, bool) {
	if isDigit(d.at(i)) {
		n, e, ok := d.smallNumber(i, 2)
		return n, e, ok && n >= 1 && n <= 31
	}
	return d.chineseSmall(i)
}

// chineseDate reads dates written with 年, 月, 日/号, relative years and
// festivals: 2019年5月1日, 19年7月份, 去年10月, 今年五一, 2013年春节, 二月五日.
func (d *doc) chineseDate(i int) (int, dateVal, bool) {
	var v dateVal
	e := i
	hasYear := false
	// Year.
	if y, ye, ok := d.fourDigitYear(i); ok && d.at(ye) == '年' && !strings.ContainsRune("级代龄薪限内", d.at(ye+1)) {
		v.y, e, hasYear = y, ye+1, true
	} else if isDigit(d.at(i)) && isDigit(d.at(i+1)) && !isDigit(d.at(i+2)) && d.at(i+2) == '年' && d.twoDigitYearOK(i) {
		v.y, e, hasYear = d.expandYY(atoi(string(d.r[i:i+2]))), i+3, true
	} else {
		for _, w := range relativeYears {
			if d.hasAt(i, w.word) {
				e, hasYear = i+len([]rune(w.word)), true
				if d.opts.Now.IsZero() {
					v.noValue = true
				} else {
					v.y = d.opts.Now.Year() + w.years
				}
				break
			}
		}
	}
	if hasYear {
		switch {
		case d.hasAt(e, "度"):
			e++
		case d.hasAt(e, "年底"), d.hasAt(e, "年初"), d.hasAt(e, "年末"):
			if d.hasAt(e, "年底") || d.hasAt(e, "年末") {
				v.m = 12
			}
			return e + 2, v, true
		case d.hasAt(e, "底"), d.hasAt(e, "末"):
			v.m = 12
			return e + 1, v, true
		case d.hasAt(e, "初"):
			return e + 1, v, true
		case d.hasAt(e, "上半年"), d.hasAt(e, "下半年"):
			return e + 3, v, true
		}
	}
	// Festival after a year, or alone.
	if fe, fv, ok := d.festival(e, v, hasYear); ok {
		return fe, fv, true
	}
	// Month.
	m, me, ok := d.month(e)
	if !ok {
		if hasYear {
			return e, v, true
		}
		return 0, dateVal{}, false
	}
	if !hasYear && e > 0 && (d.at(e-1) == '、' || d.at(e-1) == ',' && isDigit(d.at(e-2))) {
		return 0, dateVal{}, false
	}
	v.m = m
	e = me
	// Day.
	if day, de, ok := d.dayNumber(e); ok {
		switch {
		case d.at(de) == '日' || d.at(de) == '号':
			if validDay(max(v.y, 2000), v.m, day) {
				v.d = day
				return de + 1, v, true
			}
		case (d.at(de) == '到' || d.at(de) == '至') && isDigit(d.at(e)):
			if validDay(max(v.y, 2000), v.m, day) {
				v.d = day
				return de, v, true
			}
		}
	}
	if d.hasAt(e, "初") && m == 1 {
		if day, de, ok := d.chineseSmall(e + 1); ok && day <= 10 {
			// 正月初六: a lunar day, counted from the Spring Festival.
			v.d = -day
			return de, v, true
		}
	}
	return d.monthSuffix(e), v, true
}

// month reads a month: 5月, 十二月份, 正月, 元月. It refuses 3个月 and 1月多.
func (d *doc) month(i int) (int, int, bool) {
	var m, e int
	switch {
	case d.hasAt(i, "正月"), d.hasAt(i, "元月"):
		m, e = 1, i+1
	case isDigit(d.at(i)):
		n, ne, ok := d.smallNumber(i, 2)
		if !ok {
			return 0, 0, false
		}
		m, e = n, ne
	default:
		n, ne, ok := d.chineseSmall(i)
		if !ok {
			return 0, 0, false
		}
		m, e = n, ne
	}
	if m < 1 || m > 12 || d.at(e) != '月' || d.at(e+1) == '多' || d.at(e+1) == '个' {
		return 0, 0, false
	}
	e++
	if d.at(e) == '份' {
		e++
	}
	return m, e, true
}

// monthSuffix skips 初, 底, 末, 中旬, 上旬, 下旬 after a month.
func (d *doc) monthSuffix(e int) int {
	for _, s := range []string{"中旬", "上旬", "下旬", "初", "底", "末"} {
		if d.hasAt(e, s) {
			return e + len([]rune(s))
		}
	}
	return e
}

// festival reads a festival at i, after a year (hasYear) or alone.
func (d *doc) festival(i int, v dateVal, hasYear bool) (int, dateVal, bool) {
	for _, f := range festivals {
		if !d.hasAt(i, f.name) {
			continue
		}
		e := i + len([]rune(f.name))
		suffix := false
		for _, s := range []string{"前后", "期间", "前", "后"} {
			if d.hasAt(e, s) {
				e += len([]rune(s))
				suffix = true
				break
			}
		}
		if f.needCtx && !hasYear && !suffix && !d.hasAt(e, "假期") && !d.hasAt(e, "节") {
			return 0, dateVal{}, false
		}
		if f.md == "" {
			v.noValue = v.noValue || !hasYear
			return e, v, true
		}
		y := v.y
		if f.md == "cny" {
			if y == 0 && !v.noValue && !d.opts.Now.IsZero() {
				y = d.opts.Now.Year()
				if cny, ok := cnyDate(y); !ok || cny.After(d.opts.Now.AddDate(0, 0, 60)) {
					y--
				}
			}
			cny, ok := cnyDate(y)
			if !ok {
				return e, dateVal{noValue: true}, true
			}
			t := cny.AddDate(0, 0, f.offset)
			return e, dateVal{y: t.Year(), m: int(t.Month()), d: t.Day()}, true
		}
		m, day := atoi(f.md[:2]), atoi(f.md[3:])
		v.m, v.d = m, day
		return e, v, true
	}
	return 0, dateVal{}, false
}

func cnyDate(y int) (time.Time, bool) {
	md, ok := springFestival[y]
	if !ok {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(atoi(md[:2])), atoi(md[3:]), 0, 0, 0, 0, time.UTC), true
}

// twoDigitYearOK reports whether the two digits at i followed by 年 are a
// year (19年7月份, 15年开工) rather than a duration (10年都未, 已修建10年).
func (d *doc) twoDigitYearOK(i int) bool {
	if c := d.at(i - 1); strings.ContainsRune("近这几过整已了有满第每约达共建修用住干做", c) && c != 0 {
		return false
	}
	if _, _, ok := d.month(i + 3); ok {
		return true
	}
	next := d.at(i + 3)
	if next == 0 || !isHan(next) || strings.ContainsRune("来多以之左了内间后前的里都也没级代龄半", next) {
		return false
	}
	yy := atoi(string(d.r[i : i+2]))
	if !d.opts.Now.IsZero() && yy > d.opts.Now.Year()%100 {
		return false // 30年 in 2019 is a duration
	}
	return d.r[i] == '0' || d.r[i] == '1' || d.r[i] == '2'
}

func (d *doc) expandYY(yy int) int {
	limit := 30
	if !d.opts.Now.IsZero() {
		limit = d.opts.Now.Year()%100 + 1
	}
	if yy <= limit {
		return 2000 + yy
	}
	return 1900 + yy
}

// shiftDays is the date days from now.
func (d *doc) shiftDays(days int) dateVal {
	if d.opts.Now.IsZero() {
		return dateVal{noValue: true}
	}
	t := d.opts.Now.AddDate(0, 0, days)
	return dateVal{y: t.Year(), m: int(t.Month()), d: t.Day()}
}

// dateValue formats a date, choosing the year of a date without one: the
// latest year that does not put it more than a month after now.
func (d *doc) dateValue(v dateVal) string {
	if v.week != "" {
		return v.week
	}
	if v.noValue {
		return ""
	}
	if v.y == 0 {
		if d.opts.Now.IsZero() || v.m == 0 {
			return ""
		}
		v.y = d.opts.Now.Year()
		day := max(v.d, 1)
		if time.Date(v.y, time.Month(v.m), day, 0, 0, 0, 0, time.UTC).After(d.opts.Now.AddDate(0, 0, 31)) {
			v.y--
		}
	}
	switch {
	case v.d < 0: // lunar day of the first month
		cny, ok := cnyDate(v.y)
		if !ok {
			return ""
		}
		return cny.AddDate(0, 0, -v.d-1).Format("2006-01-02")
	case v.d > 0:
		return fmt.Sprintf("%04d-%02d-%02d", v.y, v.m, v.d)
	case v.m > 0:
		return fmt.Sprintf("%04d-%02d", v.y, v.m)
	}
	return fmt.Sprintf("%04d", v.y)
}
