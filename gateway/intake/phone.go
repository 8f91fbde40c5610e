package intake

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// maxPhoneDigits bounds the digits NormalizePhone reads: the longest accepted
// form, 0086 and a 12-digit landline, has 16.
const maxPhoneDigits = 16

var (
	errPhoneEmpty    = errors.New("no digits")
	errPhoneLong     = errors.New("too many digits")
	errPhonePlus     = errors.New("'+' is only allowed at the start")
	errPhoneForeign  = errors.New("not a Chinese number: the country code is not 86")
	errPhoneAreaCode = errors.New("a landline number needs its area code")
	errPhoneLocal01  = errors.New("local numbers do not start with 0 or 1")
)

// NormalizePhone returns the canonical form of a Chinese phone number, or an
// error describing why s is not one.
//
// Spaces, dashes and parentheses (ASCII or full-width) are ignored and
// full-width digits read as ASCII ones. A leading +86 or 0086 is dropped; a bare
// 86 only before a mobile number. The canonical forms are:
//
//   - mobile: 11 digits 1[3-9]…, e.g. 13800138000 (also read with a leading
//     trunk 0, as dialled from another city);
//   - landline: area code and a 7- or 8-digit local number not starting with 0
//     or 1, joined by a dash: 010-62345678, 020-87654321 (010 and 020–029 are
//     the 3-digit codes), 0755-22345678 (others are 0[3-9]XX). After +86 the
//     area code's trunk 0 may be left out: +86 20 8765 4321;
//   - service numbers: 400 or 800 and 7 digits, e.g. 4008001234.
//
// Extensions, short numbers (12345, 95588) and numbers without an area code are
// not accepted. NormalizePhone is idempotent: a canonical number normalises to
// itself.
func NormalizePhone(s string) (string, error) {
	// buf[0] is kept free for a trunk 0 to be put in front of the digits.
	var buf [1 + maxPhoneDigits]byte
	n, plus := 1, false
	for _, c := range s {
		switch {
		case '0' <= c && c <= '9':
		case '０' <= c && c <= '９':
			c = c - '０' + '0'
		case c == '+' || c == '＋':
			if plus || n > 1 {
				return "", errPhonePlus
			}
			plus = true
			continue
		case phoneSeparator(c):
			continue
		default:
			return "", fmt.Errorf("unexpected character %q", c)
		}
		if n == len(buf) {
			return "", errPhoneLong
		}
		buf[n] = byte(c)
		n++
	}
	d := buf[1:n]
	if len(d) == 0 {
		return "", errPhoneEmpty
	}

	intl := false
	switch {
	case plus:
		if !hasPrefix(d, "86") {
			return "", errPhoneForeign
		}
		d, intl = d[2:], true
	case hasPrefix(d, "0086"):
		d, intl = d[4:], true
	case hasPrefix(d, "00"):
		return "", errPhoneForeign
	case len(d) == 13 && hasPrefix(d, "86") && mobile(d[2:]):
		d = d[2:]
	}
	if len(d) == 0 {
		return "", errPhoneEmpty
	}
	if intl && d[0] != '0' && !mobile(d) && !service(d) {
		// A landline in international form drops its trunk 0: put it back.
		// d is a suffix of buf[1:], so the byte before it is free.
		i := n - len(d) - 1
		buf[i] = '0'
		d = buf[i:n]
	}
	if d[0] == '0' && mobile(d[1:]) {
		d = d[1:]
	}

	var out [maxPhoneDigits + 1]byte
	var canon []byte
	switch {
	case d[0] == '1':
		if len(d) != 11 {
			return "", fmt.Errorf("mobile numbers have 11 digits, got %d", len(d))
		}
		if !mobile(d) {
			return "", fmt.Errorf("no mobile numbers start with %s", string(d[:2]))
		}
		canon = d
	case hasPrefix(d, "400") || hasPrefix(d, "800"):
		if !service(d) {
			return "", fmt.Errorf("%s numbers have 10 digits, got %d", string(d[:3]), len(d))
		}
		canon = d
	case d[0] == '0':
		code := 0
		switch {
		case len(d) < 3:
		case d[1] == '1' && d[2] == '0', d[1] == '2':
			code = 3
		case '3' <= d[1] && d[1] <= '9':
			code = 4
		}
		if code == 0 || len(d) < code {
			return "", fmt.Errorf("unknown area code %s", string(d[:min(len(d), 4)]))
		}
		local := d[code:]
		if len(local) < 7 || len(local) > 8 {
			return "", fmt.Errorf("local numbers have 7 or 8 digits, got %d", len(local))
		}
		if local[0] == '0' || local[0] == '1' {
			return "", errPhoneLocal01
		}
		canon = append(append(append(out[:0], d[:code]...), '-'), local...)
	default:
		return "", errPhoneAreaCode
	}
	if string(canon) == s { // already canonical: no allocation
		return s, nil
	}
	return string(canon), nil
}

// phoneSeparator reports whether c is ignored in a phone number: white space,
// dashes and parentheses, ASCII or full-width.
func phoneSeparator(c rune) bool {
	switch c {
	case '-', '(', ')', '（', '）', '－', '‐', '‑', '‒', '–', '—', '―', '−':
		return true
	}
	return unicode.IsSpace(c)
}

// mobile reports whether d is a mobile number: 1[3-9] and 9 more digits.
func mobile(d []byte) bool { return len(d) == 11 && d[0] == '1' && d[1] >= '3' }

// service reports whether d is a 400 or 800 service number.
func service(d []byte) bool { return len(d) == 10 && (hasPrefix(d, "400") || hasPrefix(d, "800")) }

func hasPrefix(d []byte, p string) bool { return len(d) >= len(p) && string(d[:len(p)]) == p }

// MaskPhone masks a phone number for logs and displays: a mobile or service
// number keeps its first 3 and last 4 digits ("13800138000" → "138****8000"), a
// landline its area code and last 4 digits ("020-87654321" → "020-****4321").
// The number is normalised first; anything that is not a phone number keeps
// only its last 4 characters, or none if it is short.
func MaskPhone(s string) string {
	p, err := NormalizePhone(s)
	if err != nil {
		return maskMiddle(s, 0, 4)
	}
	if i := strings.IndexByte(p, '-'); i >= 0 {
		return p[:i+1] + maskMiddle(p[i+1:], 0, 4)
	}
	return maskMiddle(p, 3, 4)
}

// maskMiddle replaces every character of s but the first head and last tail
// with '*'. If that would leave fewer than 3 hidden, it masks them all.
func maskMiddle(s string, head, tail int) string {
	n := 0
	for range s {
		n++
	}
	if n-head-tail < 3 {
		head, tail = 0, 0
	}
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for _, c := range s {
		if i < head || i >= n-tail {
			b.WriteRune(c)
		} else {
			b.WriteByte('*')
		}
		i++
	}
	return b.String()
}
