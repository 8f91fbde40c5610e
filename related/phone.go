package related

// normalizePhone reduces a phone number to the digits that identify it, so that
// the forms a caller's number may take (13800138000, +86 138 0013 8000,
// 008613800138000, 020-87654321, +86 20 8765 4321, full-width digits) compare
// equal: every non-digit is dropped, a +86 or 0086 country code goes (a
// landline gets its trunk 0 back), and so does a trunk 0 before a mobile
// number. Fewer than 7 digits is no number (""). Intake stores canonical
// numbers already; this keeps the index correct for any other source.
func normalizePhone(s string) string {
	var buf [1 + 24]byte
	d := buf[1:1]
	plus := false
	for _, r := range s {
		switch {
		case '０' <= r && r <= '９':
			r = r - '０' + '0'
		case r == '+' || r == '＋':
			plus = plus || len(d) == 0
			continue
		}
		if '0' <= r && r <= '9' {
			if len(d) == cap(d) {
				return ""
			}
			d = append(d, byte(r))
		}
	}
	intl := false
	switch {
	case plus && len(d) > 2 && string(d[:2]) == "86":
		d, intl = d[2:], true
	case len(d) > 4 && string(d[:4]) == "0086":
		d, intl = d[4:], true
	case len(d) == 13 && string(d[:2]) == "86" && d[2] == '1':
		d = d[2:]
	}
	mobile := len(d) == 11 && d[0] == '1'
	service := len(d) == 10 && (string(d[:3]) == "400" || string(d[:3]) == "800")
	if intl && !mobile && !service && len(d) > 0 && d[0] != '0' {
		// d is a suffix of buf[1:], so the byte before it is free.
		i := len(buf) - cap(d) - 1
		buf[i] = '0'
		d = buf[i : i+1+len(d)]
	}
	if len(d) == 12 && d[0] == '0' && d[1] == '1' && d[2] >= '3' {
		d = d[1:]
	}
	if len(d) < 7 {
		return ""
	}
	return string(d)
}
