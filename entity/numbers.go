package entity

import (
	"strings"
)

// Priorities of the recognisers when their spans overlap.
const (
	prioID       = 100
	prioPhone    = 90
	prioDate     = 80
	prioAmount   = 70
	prioOrg      = 50
	prioAddress  = 45
	prioPlace    = 40
	maxDigitsRun = 24
)

// phoneCues are words after which a run of digits is a phone number even
// when it has no recognisable shape (a local number without area code, or a
// number the source anonymised as 0000-00000000).
var phoneCues = []string{"电话号码", "手机号码", "联系电话", "联系方式", "电话", "手机号", "手机", "座机", "号码", "热线", "tel", "Tel", "TEL"}

// cardCues are words after which a Luhn-valid 16–19 digit number is a bank
// card number.
var cardCues = []string{"银行卡号", "银行卡", "卡号", "账号", "帐号", "银行账户", "卡"}

// numbers finds phone and ID numbers: runs of digits (ASCII or full-width)
// with single spaces or dashes between groups, and 18-character codes of
// digits and capital letters.
func (d *doc) numbers(out []candidate) []candidate {
	r := d.r
	for i := 0; i < len(r); {
		c := r[i]
		if !isDigit(c) && !(c == '+' && isDigit(d.at(i+1))) {
			i++
			continue
		}
		if p := d.at(i - 1); isASCIILetter(p) || isDigit(p) || p == '@' || p == '.' || p == '_' || p == '/' || p == '=' || p == '&' {
			i = d.skipAlnum(i)
			continue
		}
		if e, ok := d.creditCode(i); ok {
			out = append(out, d.idEntity(i, e))
			i = e
			continue
		}
		end, digits := d.digitRun(i)
		if n := d.at(end); isASCIILetter(n) && !(len(digits) == 17 && (n == 'X' || n == 'x')) || n == '@' || n == '.' && isDigit(d.at(end+1)) {
			i = d.skipAlnum(end)
			continue
		}
		if len(digits) == 17 && (d.at(end) == 'X' || d.at(end) == 'x') {
			digits += "X"
			end++
		}
		if cand, ok := d.classifyDigits(i, end, digits); ok {
			out = append(out, cand)
		}
		i = end
	}
	return out
}

// skipAlnum returns the end of the run of ASCII letters, digits and URL
// punctuation starting at i.
func (d *doc) skipAlnum(i int) int {
	for i < len(d.r) {
		c := d.r[i]
		if !(isDigit(c) || isASCIILetter(c) || strings.ContainsRune("@._-/=&%?:+", c)) {
			break
		}
		i++
	}
	return i
}

// digitRun reads digits from i, with a single space or dash allowed between
// groups of digits, and returns where it ends and the digits alone. A
// leading + is kept in the digits.
func (d *doc) digitRun(i int) (int, string) {
	var b strings.Builder
	j := i
	if d.r[j] == '+' {
		b.WriteByte('+')
		j++
	}
	for j < len(d.r) && b.Len() <= maxDigitsRun {
		c := d.r[j]
		switch {
		case isDigit(c):
			b.WriteRune(c)
			j++
		case (c == ' ' || c == '-') && isDigit(d.at(j+1)) && isDigit(d.at(j-1)):
			// A dash or space between two groups: part of the number only if
			// the result still looks like one (checked by the caller).
			j++
		default:
			return j, b.String()
		}
	}
	return j, b.String()
}

// classifyDigits decides what the digits over [s, e) are.
func (d *doc) classifyDigits(s, e int, digits string) (candidate, bool) {
	next := d.at(e)
	prev := d.at(s - 1)
	n := len(digits)
	switch {
	case n == 18 && validResidentID(digits, d.opts):
		return d.idEntity(s, e), true
	case n == 15 && validOldID(digits):
		return d.idEntity(s, e), true
	case n >= 16 && n <= 19 && luhn(digits) && (strings.HasPrefix(digits, "62") || d.cued(s, cardCues, 8)):
		return d.idEntity(s, e), true
	}
	// Not a phone: document numbers (第…号), dates, sums, measures.
	if prev == '第' || strings.ContainsRune("号年月日元万千亿块%度米", next) {
		return candidate{}, false
	}
	if v, ok := canonicalPhone(digits); ok {
		c := d.entity(Phone, s, e, v, prioPhone)
		c.Masked = maskPhone(v)
		return c, true
	}
	plain := strings.TrimPrefix(digits, "+")
	if len(plain) >= 7 && len(plain) <= 13 && d.cued(s, phoneCues, 6) {
		c := d.entity(Phone, s, e, plain, prioPhone)
		c.Masked = maskMiddle(plain, 3, 4)
		return c, true
	}
	return candidate{}, false
}

// cued reports whether one of cues ends within window runes before s,
// with only separators, 是/为 and up to three other characters (a name:
// 联系电话：赵院长 186…) in between.
func (d *doc) cued(s int, cues []string, window int) bool {
	k, han := s, 0
	for range window + 1 {
		if _, ok := d.endsWithAny(k, cues); ok {
			return true
		}
		if k == 0 {
			return false
		}
		switch c := d.r[k-1]; {
		case strings.ContainsRune(":, (;-是为；、", c):
		case isHan(c) && han < 3:
			han++
		default:
			return false
		}
		k--
	}
	return false
}

// idEntity builds an ID-number candidate over [s, e).
func (d *doc) idEntity(s, e int) candidate {
	var b strings.Builder
	for _, c := range d.r[s:e] {
		if c == ' ' || c == '-' {
			continue
		}
		if c == 'x' {
			c = 'X'
		}
		b.WriteRune(c)
	}
	v := b.String()
	c := d.entity(IDNumber, s, e, v, prioID)
	c.Masked = maskMiddle(v, 6, 4)
	return c
}

// creditCode reports whether an 18-character unified social credit code
// (GB 32100-2015) starts at i, and where it ends.
func (d *doc) creditCode(i int) (int, bool) {
	const chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	e := i
	for e < len(d.r) && e-i <= 18 && (isDigit(d.r[e]) || d.r[e] >= 'A' && d.r[e] <= 'Z') {
		e++
	}
	if e-i != 18 {
		return 0, false
	}
	if n := d.at(e); isDigit(n) || isASCIILetter(n) {
		return 0, false
	}
	code := string(d.r[i:e])
	letters := false
	weights := [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum := 0
	for k := range 17 {
		v := strings.IndexByte(chars, code[k])
		if v < 0 {
			return 0, false
		}
		if v >= 10 {
			letters = true
		}
		sum += v * weights[k]
	}
	check := (31 - sum%31) % 31
	if chars[check] != code[17] {
		return 0, false
	}
	// An all-digit code is left to the resident-ID and card rules.
	return e, letters || code[17] > '9'
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheck = "10X98765432"

// validResidentID reports whether s (17 digits and a check character, X
// upper-case) is a resident ID number with a valid check character and a
// birth date that exists, from 1900 to opts.Now (or 2100 without Now).
func validResidentID(s string, opts Options) bool {
	if len(s) != 18 {
		return false
	}
	sum := 0
	for k, w := range idWeights {
		c := s[k]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * w
	}
	if idCheck[sum%11] != s[17] {
		return false
	}
	y, m, day := atoi(s[6:10]), atoi(s[10:12]), atoi(s[12:14])
	maxYear := 2100
	if !opts.Now.IsZero() {
		maxYear = opts.Now.Year()
	}
	return y >= 1900 && y <= maxYear && validDay(y, m, day)
}

// validOldID reports whether s (15 digits) looks like a first-generation
// ID number: a region code not starting with 0 or 9 and a birth date
// YYMMDD that exists.
func validOldID(s string) bool {
	if len(s) != 15 || s[0] == '0' || s[0] == '9' {
		return false
	}
	return validDay(1900+atoi(s[6:8]), atoi(s[8:10]), atoi(s[10:12]))
}

// luhn reports whether the digits pass the Luhn check of card numbers.
func luhn(s string) bool {
	sum, double := 0, false
	for k := len(s) - 1; k >= 0; k-- {
		v := int(s[k] - '0')
		if v < 0 || v > 9 {
			return false
		}
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

func validDay(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	if m == 2 && (y%4 == 0 && y%100 != 0 || y%400 == 0) {
		return d <= 29
	}
	return d <= days[m]
}

func atoi(s string) int {
	n := 0
	for k := 0; k < len(s); k++ {
		n = n*10 + int(s[k]-'0')
	}
	return n
}

// canonicalPhone returns the canonical form of a phone number given as
// digits (with an optional leading +), as Caller.phone stores it: 11 digits
// for a mobile, 0AA-NNNNNNNN for a landline, 10 digits for a 400/800
// number.
func canonicalPhone(digits string) (string, bool) {
	d := digits
	switch {
	case strings.HasPrefix(d, "+86"):
		d = d[3:]
		if len(d) > 0 && d[0] != '0' && d[0] != '1' && d[0] != '4' && d[0] != '8' {
			d = "0" + d
		}
	case strings.HasPrefix(d, "+"):
		return "", false
	case strings.HasPrefix(d, "0086"):
		d = d[4:]
	case len(d) == 13 && strings.HasPrefix(d, "86") && d[2] == '1':
		d = d[2:]
	}
	if len(d) == 12 && d[0] == '0' && d[1] == '1' && d[2] >= '3' {
		d = d[1:] // trunk 0 before a mobile
	}
	switch {
	case len(d) == 11 && d[0] == '1' && d[1] >= '3':
		return d, true
	case len(d) == 10 && (strings.HasPrefix(d, "400") || strings.HasPrefix(d, "800")):
		return d, true
	case len(d) >= 10 && len(d) <= 12 && d[0] == '0':
		code := 0
		switch {
		case d[1] == '1' && d[2] == '0', d[1] == '2':
			code = 3
		case d[1] >= '3':
			code = 4
		}
		if code == 0 {
			return "", false
		}
		local := d[code:]
		if len(local) < 7 || len(local) > 8 || local[0] == '0' || local[0] == '1' {
			return "", false
		}
		return d[:code] + "-" + local, true
	}
	return "", false
}

// maskPhone masks a canonical phone number: a mobile or service number
// keeps its first 3 and last 4 digits, a landline its area code and last 4.
func maskPhone(p string) string {
	if i := strings.IndexByte(p, '-'); i >= 0 {
		return p[:i+1] + maskMiddle(p[i+1:], 0, 4)
	}
	return maskMiddle(p, 3, 4)
}

// maskMiddle replaces every rune of s but the first head and last tail with
// '*'; if fewer than 3 would be hidden, it hides them all.
func maskMiddle(s string, head, tail int) string {
	r := []rune(s)
	if len(r)-head-tail < 3 {
		head, tail = 0, 0
	}
	for k := head; k < len(r)-tail; k++ {
		r[k] = '*'
	}
	return string(r)
}
