package intake

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

var (
	errIDDigits   = errors.New("must be 17 digits and a check digit (0-9 or X)")
	errIDBirth    = errors.New("implausible birth date")
	errIDChecksum = errors.New("wrong check digit")
)

// idWeights are the GB 11643 weights of the first 17 digits; idCheck maps the
// weighted sum modulo 11 to the check character.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheck = "10X98765432"

// chinaTime is UTC+8, the zone in which birth dates are written.
var chinaTime = time.FixedZone("CST", 8*60*60)

// ValidIDNumber reports whether s is a valid 18-character resident ID number
// (居民身份证号码, GB 11643-1999): 17 digits and a check character that matches
// their checksum, 0-9 or X (x is accepted too), with a birth date (characters
// 7–14, YYYYMMDD) that exists, is not before 1900 and not after today.
//
// The 15-digit numbers of first-generation cards are not accepted: they carry
// no checksum and those cards ceased to be valid in 2013.
func ValidIDNumber(s string) bool { return checkIDNumber(s) == nil }

// checkIDNumber returns why s is not a valid resident ID number, or nil.
func checkIDNumber(s string) error {
	if len(s) != 18 {
		if n := utf8.RuneCountInString(s); n != 18 {
			return fmt.Errorf("must be 18 characters, got %d", n)
		}
		return errIDDigits // 18 characters, some not ASCII
	}
	sum := 0
	for i, w := range idWeights {
		c := s[i]
		if c < '0' || c > '9' {
			return errIDDigits
		}
		sum += int(c-'0') * w
	}
	last := s[17]
	if last == 'x' {
		last = 'X'
	}
	if (last < '0' || last > '9') && last != 'X' {
		return errIDDigits
	}
	if !plausibleBirth(s[6:14], time.Now().In(chinaTime)) {
		return errIDBirth
	}
	if idCheck[sum%11] != last {
		return errIDChecksum
	}
	return nil
}

// plausibleBirth reports whether d (8 digits, YYYYMMDD) is a date from 1900 to
// the day of now.
func plausibleBirth(d string, now time.Time) bool {
	atoi := func(s string) int {
		n := 0
		for i := 0; i < len(s); i++ {
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	y, m, day := atoi(d[:4]), atoi(d[4:6]), atoi(d[6:])
	if y < 1900 || m < 1 || m > 12 || day < 1 {
		return false
	}
	// Day 0 of the next month is the last day of this one.
	if day > time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return false
	}
	ny, nm, nd := now.Date()
	return y*10000+m*100+day <= ny*10000+int(nm)*100+nd
}

// MaskIDNumber masks a resident ID number for logs and displays, keeping its
// first 6 characters (the region) and last 4: "440106199001011234" →
// "440106********1234". A string too short to hide at least 3 characters is
// masked entirely.
func MaskIDNumber(s string) string { return maskMiddle(s, 6, 4) }
