// Package intake validates and normalises a citizen's request (诉求) as received
// by the API before it becomes a ticket. It is pure and allocates little: the
// request goes in, the intake fields of a ticket.Ticket come out, or an Invalid
// error that lists every bad field by its JSON path (e.g. "caller.phone").
//
// Every string must be valid UTF-8 and is trimmed of surrounding white space
// (Unicode White_Space, which includes the ideographic space U+3000, and the byte
// order mark U+FEFF). Control characters are refused everywhere except \n, \r
// and \t in the content, whose line endings (CRLF and lone CR) become LF. Lengths
// are counted in characters (runes), after normalisation, never in bytes.
package intake

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/registry"
)

// Length limits of the free-text fields, in characters (runes).
const (
	MaxTitleChars   = 100
	MaxContentChars = 5000
	MaxNameChars    = 50
	MaxAddressChars = 200
)

// DefaultDialedNumber is the dialed number of a request that names none.
const DefaultDialedNumber = "12345"

// Request is a new ticket as received, enums as their API names (e.g. "PHONE",
// "COMPLAINT"; "" or the field's "*_UNSPECIFIED" name means unset).
type Request struct {
	Channel, DialedNumber                   string
	CallerName, CallerPhone, CallerIDNumber string
	Title, Content                          string
	Address, RegionCode                     string
	Category, RequestType, Urgency          string
}

// enum is one of the API's enums: its unset name and its values.
type enum struct {
	unset  string
	values []string
	list   string // the values for messages: "PHONE, WEB, ..."
}

func newEnum(unset string, values ...string) enum {
	return enum{unset: unset, values: values, list: strings.Join(values, ", ")}
}

var (
	channels     = newEnum("CHANNEL_UNSPECIFIED", "PHONE", "WEB", "APP", "WECHAT", "SMS", "EMAIL", "LETTER", "WALK_IN", "OPEN311")
	requestTypes = newEnum("REQUEST_TYPE_UNSPECIFIED", "CONSULTATION", "HELP", "COMPLAINT", "REPORT", "SUGGESTION", "PRAISE", "OTHER")
	urgencies    = newEnum("URGENCY_UNSPECIFIED", string(ticket.Normal), string(ticket.Urgent), string(ticket.Critical))
)

// Normalize validates r and returns the normalised request as a ticket.Ticket
// with only the intake fields filled (Channel, DialedNumber, Caller, Title,
// Content, Location, Category, RequestType, Urgency), or an *errs.Error of kind
// Invalid listing every bad field with its JSON path.
//
// The dialed number defaults to DefaultDialedNumber and the urgency to NORMAL.
// A phone number is required for the PHONE and SMS channels and is stored in the
// canonical form of NormalizePhone; a resident ID number must pass ValidIDNumber
// and is stored with an upper-case X.
func Normalize(r Request) (ticket.Ticket, error) {
	var t ticket.Ticket
	var v errs.Violations

	t.Channel = ticket.Channel(enumField(&v, "channel", r.Channel, channels, true))

	if s, ok := text(&v, "dialedNumber", r.DialedNumber, false); ok {
		switch {
		case s == "":
			t.DialedNumber = DefaultDialedNumber
		case len(s) < 3 || len(s) > 11 || !digits(s):
			v.Add("dialedNumber", "must be 3 to 11 digits")
		default:
			t.DialedNumber = s
		}
	}

	t.Caller.Name = limited(&v, "caller.name", r.CallerName, MaxNameChars, false)

	if s, ok := text(&v, "caller.phone", r.CallerPhone, false); ok {
		switch {
		case s == "":
			if t.Channel == "PHONE" || t.Channel == "SMS" {
				v.Add("caller.phone", "required")
			}
		default:
			if p, err := NormalizePhone(s); err != nil {
				v.Add("caller.phone", "not a Chinese mobile or landline number")
			} else {
				t.Caller.Phone = p
			}
		}
	}

	if s, ok := text(&v, "caller.idNumber", r.CallerIDNumber, false); ok && s != "" {
		if err := checkIDNumber(s); err != nil {
			v.Add("caller.idNumber", "not a valid resident ID number: %v", err)
		} else {
			t.Caller.IDNumber = strings.ToUpper(s)
		}
	}

	t.Title = limited(&v, "title", r.Title, MaxTitleChars, true)

	if s, ok := text(&v, "content", r.Content, true); ok {
		s = normalizeNewlines(s)
		t.Content = checkLength(&v, "content", s, MaxContentChars, true)
	}

	t.Location.Address = limited(&v, "location.address", r.Address, MaxAddressChars, false)

	if s, ok := text(&v, "location.regionCode", r.RegionCode, false); ok && s != "" {
		if !registry.IsRegionCode(s) {
			v.Add("location.regionCode", "must be 6, 9 or 12 digits")
		} else {
			t.Location.RegionCode = s
		}
	}

	if s, ok := text(&v, "category", r.Category, false); ok && s != "" {
		if n := len(s); n < 2 || n > 12 || n%2 != 0 || !digits(s) {
			v.Add("category", "must be an even number of digits, 2 to 12")
		} else {
			t.Category = s
		}
	}

	t.RequestType = ticket.RequestType(enumField(&v, "requestType", r.RequestType, requestTypes, true))

	t.Urgency = ticket.Urgency(enumField(&v, "urgency", r.Urgency, urgencies, false))
	if t.Urgency == "" {
		t.Urgency = ticket.Normal
	}

	if err := v.Err(); err != nil {
		return ticket.Ticket{}, err
	}
	return t, nil
}

// text applies the rules common to every field: valid UTF-8, trimmed, no control
// characters (but \n, \r and \t if multiline). It returns the trimmed string, or
// false after recording a violation.
func text(v *errs.Violations, field, s string, multiline bool) (string, bool) {
	if !utf8.ValidString(s) {
		v.Add(field, "not valid UTF-8")
		return "", false
	}
	s = strings.TrimFunc(s, trimmed)
	for _, c := range s {
		if (c < 0x20 || 0x7f <= c && c < 0xa0) && !(multiline && (c == '\n' || c == '\r' || c == '\t')) {
			v.Add(field, "must not contain control character %U", c)
			return "", false
		}
	}
	return s, true
}

func trimmed(c rune) bool { return unicode.IsSpace(c) || c == '\uFEFF' }

// limited is a single-line text field of at most max characters.
func limited(v *errs.Violations, field, s string, max int, required bool) string {
	s, ok := text(v, field, s, false)
	if !ok {
		return ""
	}
	return checkLength(v, field, s, max, required)
}

// checkLength returns s if it is within its limits, or "" after recording a
// violation.
func checkLength(v *errs.Violations, field, s string, max int, required bool) string {
	if s == "" && required {
		v.Add(field, "required")
	}
	if n := utf8.RuneCountInString(s); n > max {
		v.Add(field, "must be at most %d characters, got %d", max, n)
		return ""
	}
	return s
}

// enumField returns the value of enum e named by s, or "" if s leaves it unset
// or after recording a violation. The result is the enum's own string, so the
// ticket keeps no reference to the request.
func enumField(v *errs.Violations, field, s string, e enum, required bool) string {
	s, ok := text(v, field, s, false)
	if !ok {
		return ""
	}
	if s != "" && s != e.unset {
		for _, val := range e.values {
			if s == val {
				return val
			}
		}
		v.Add(field, "unknown value %s; one of %s", quoteShort(s), e.list)
		return ""
	}
	if required {
		v.Add(field, "required")
	}
	return ""
}

// quoteShort quotes s for a message, cut to 32 characters.
func quoteShort(s string) string {
	const max = 32
	if utf8.RuneCountInString(s) <= max {
		return strconv.Quote(s)
	}
	i, n := 0, 0
	for i = range s {
		if n == max {
			break
		}
		n++
	}
	return strconv.Quote(s[:i]) + "…"
}

// normalizeNewlines turns CRLF and lone CR into LF. Bytes are safe here: CR and
// LF never occur inside a multi-byte UTF-8 sequence.
func normalizeNewlines(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' {
			c = '\n'
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// digits reports whether s is non-empty and all ASCII digits.
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// fingerprintDomain versions the fingerprint encoding: change it whenever the
// encoding or the set of fields changes.
const fingerprintDomain = "switchboard/intake/v1\x00"

// Fingerprint is a stable hex SHA-256 digest of the intake fields of t (those
// Normalize fills), for idempotency: equal intake fields give equal
// fingerprints, and any difference gives a different one. Each field is
// length-prefixed, so no two field lists encode alike. Fingerprint does not
// normalise; pass it the result of Normalize.
func Fingerprint(t ticket.Ticket) string {
	fields := [...]string{
		string(t.Channel), t.DialedNumber,
		t.Caller.Name, t.Caller.Phone, t.Caller.IDNumber,
		t.Title, t.Content,
		t.Location.Address, t.Location.RegionCode,
		t.Category, string(t.RequestType), string(t.Urgency),
	}
	var stack [1024]byte
	buf := append(stack[:0], fingerprintDomain...)
	for _, f := range fields {
		buf = binary.AppendUvarint(buf, uint64(len(f)))
		buf = append(buf, f...)
	}
	sum := sha256.Sum256(buf)
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}
