package entity

import (
	"math/big"
	"strings"
)

// maxNumberRunes bounds the runes of one number, so that long runs of
// numerals cost linear time.
const maxNumberRunes = 24

// chineseDigits maps Chinese digits (ordinary and financial forms) to values.
var chineseDigits = map[rune]int64{
	'零': 0, '〇': 0, '一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5,
	'六': 6, '七': 7, '八': 8, '九': 9,
	'壹': 1, '贰': 2, '叁': 3, '肆': 4, '伍': 5, '陆': 6, '柒': 7, '捌': 8, '玖': 9,
}

// chineseUnits maps the small multipliers.
var chineseUnits = map[rune]int64{'十': 10, '拾': 10, '百': 100, '佰': 100, '千': 1000, '仟': 1000}

// number is a number read from the text.
type number struct {
	end int
	// val is the value, nil when a 几 makes it unknown.
	val *big.Rat
	// approx is set by 多, 余, 来 or 几 (3万多, 一千余).
	approx bool
	// chinese reports whether it was written in Chinese numerals.
	chinese bool
}

// readNumber reads a number at i: Arabic digits (with thousands commas and
// a decimal point) or Chinese numerals, then magnitudes (十, 百, 千, 万, 亿)
// and 多/余/来.
func (d *doc) readNumber(i int) (number, bool) {
	var n number
	var ok bool
	switch c := d.at(i); {
	case isDigit(c):
		n, ok = d.readArabic(i)
	case c == '几':
		n, ok = number{end: i + 1, approx: true}, true
	default:
		n, ok = d.readChinese(i)
	}
	if !ok || n.end-i > maxNumberRunes {
		return n, false
	}
	// Magnitudes after Arabic digits or after a complete Chinese number.
	for steps := 0; ; steps++ {
		if steps == 4 {
			return n, true
		}
		c := d.at(n.end)
		var m int64
		switch c {
		case '十', '拾':
			m = 10
		case '百', '佰':
			m = 100
		case '千', '仟':
			m = 1000
		case '万':
			m = 10000
		case '亿':
			m = 100000000
		case '多', '余', '来':
			// 3万多, 一千余: but 多 must not start a word like 多次.
			if n.approx || d.at(n.end+1) == '次' || d.at(n.end+1) == '个' && c != '多' {
				return n, true
			}
			n.approx = true
			n.end++
			continue
		case '几':
			if n.val != nil && !n.approx {
				n.val, n.approx = nil, true
				n.end++
				continue
			}
			return n, true
		default:
			return n, true
		}
		if n.val != nil {
			n.val.Mul(n.val, new(big.Rat).SetInt64(m))
		}
		n.end++
	}
}

// readArabic reads digits with optional thousands commas and decimals.
func (d *doc) readArabic(i int) (number, bool) {
	var b strings.Builder
	j := i
	for j < len(d.r) && j-i <= maxNumberRunes {
		c := d.r[j]
		switch {
		case isDigit(c):
			b.WriteRune(c)
			j++
		case c == ',' && b.Len() > 0 && !strings.Contains(b.String(), ".") && isDigit(d.at(j+1)) && isDigit(d.at(j+2)) && isDigit(d.at(j+3)) && !isDigit(d.at(j+4)):
			j++
		case c == '.' && b.Len() > 0 && isDigit(d.at(j+1)) && !strings.Contains(b.String(), "."):
			b.WriteByte('.')
			j++
		default:
			goto done
		}
	}
done:
	if b.Len() == 0 || j-i > maxNumberRunes {
		return number{}, false
	}
	v, ok := new(big.Rat).SetString(b.String())
	if !ok {
		return number{}, false
	}
	return number{end: j, val: v}, true
}

// readChinese reads a number written in Chinese numerals: 一千二百, 两万,
// 十五, 三百五十万. It stops before 万/亿 only when nothing precedes them.
func (d *doc) readChinese(i int) (number, bool) {
	var total, section, digit int64
	seen := false
	j := i
	for ; j < len(d.r) && j-i < maxNumberRunes; j++ {
		c := d.r[j]
		if v, ok := chineseDigits[c]; ok {
			digit = digit*10 + v // 二〇一九 style digit strings
			if digit > 1e12 {
				return number{}, false
			}
			seen = true
			continue
		}
		if u, ok := chineseUnits[c]; ok {
			if digit == 0 && !seen {
				digit = 1 // 十五 = 15
			}
			section += digit * u
			digit, seen = 0, true
			continue
		}
		if (c == '万' || c == '亿') && seen {
			m := int64(10000)
			if c == '亿' {
				m = 100000000
			}
			total = (total + section + digit) * m
			section, digit = 0, 0
			continue
		}
		break
	}
	if !seen {
		return number{}, false
	}
	v := total + section + digit
	return number{end: j, val: new(big.Rat).SetInt64(v), chinese: true}, true
}

// formatRat formats a value as a plain decimal without trailing zeros.
func formatRat(v *big.Rat) string {
	if v == nil {
		return ""
	}
	if v.IsInt() {
		return v.Num().String()
	}
	s := v.FloatString(6)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
