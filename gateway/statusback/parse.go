package statusback

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/internal/errs"
)

// Limits of a webhook body.
const (
	// MaxBody bounds a webhook body, in bytes.
	MaxBody = 1 << 20
	// MaxUpdates bounds the updates of one webhook.
	MaxUpdates = 500
	// MaxIDBytes bounds an update id, a ticket id and a case number.
	MaxIDBytes = 200
	// MaxTextChars bounds an update's text (the lifecycle's own limit).
	MaxTextChars = 5000
	// MaxSignatures bounds the v1= values of one signature header.
	MaxSignatures = 8
)

// wireUpdate is one update as a webhook carries it.
type wireUpdate struct {
	ID         *string `json:"id"`
	TicketID   string  `json:"ticketId"`
	ExternalID string  `json:"externalId"`
	Action     string  `json:"action"`
	Text       string  `json:"text"`
	Days       int     `json:"days"`
	Time       string  `json:"time"`
}

// ParseBody reads a webhook body: {"updates":[{"id", "ticketId" or
// "externalId", "action", "text", "days", "time"}]}. A malformed body fails
// with an Invalid error naming every bad field (updates[2].action); unknown
// fields are ignored, so systems may send more than we read. Action must be
// sign, return, requestExtension or reply; return needs text (the reason),
// reply needs text, requestExtension needs days ≥ 1; time, when present, is
// RFC 3339.
func ParseBody(body []byte) ([]adapters.Update, error) {
	if len(body) > MaxBody {
		return nil, errs.Invalidf("body", "must be at most %d bytes", MaxBody)
	}
	if !utf8.Valid(body) {
		return nil, errs.Invalidf("body", "not valid UTF-8")
	}
	var top struct {
		Updates []json.RawMessage `json:"updates"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, errs.Invalidf(jsonField("", err), "%s", jsonProblem(err))
	}
	switch {
	case top.Updates == nil:
		return nil, errs.Invalidf("updates", "required: a list of at least one update")
	case len(top.Updates) == 0:
		return nil, errs.Invalidf("updates", "must hold at least one update")
	case len(top.Updates) > MaxUpdates:
		return nil, errs.Invalidf("updates", "must hold at most %d updates, got %d", MaxUpdates, len(top.Updates))
	}
	var v errs.Violations
	out := make([]adapters.Update, 0, len(top.Updates))
	for i, raw := range top.Updates {
		at := fmt.Sprintf("updates[%d]", i)
		var w wireUpdate
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			v.Add(at, "must be an object")
			continue
		}
		if err := json.Unmarshal(raw, &w); err != nil {
			v.Add(jsonField(at, err), "%s", jsonProblem(err))
			continue
		}
		u, vs := checkUpdate(at, w)
		v = append(v, vs...)
		out = append(out, u)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func checkUpdate(at string, w wireUpdate) (adapters.Update, errs.Violations) {
	var v errs.Violations
	u := adapters.Update{TicketID: strings.TrimSpace(w.TicketID), ExternalID: strings.TrimSpace(w.ExternalID),
		Action: w.Action, Text: strings.TrimSpace(w.Text), Days: w.Days}
	switch {
	case w.ID == nil || strings.TrimSpace(*w.ID) == "":
		v.Add(at+".id", "required: the update's id, unique per backend")
	case len(*w.ID) > MaxIDBytes:
		v.Add(at+".id", "must be at most %d bytes", MaxIDBytes)
	case strings.IndexFunc(*w.ID, unicode.IsControl) >= 0:
		v.Add(at+".id", "must not contain control characters")
	default:
		u.ID = *w.ID
	}
	switch {
	case u.TicketID == "" && u.ExternalID == "":
		v.Add(at+".ticketId", "ticketId or externalId is required")
	case len(u.TicketID) > 64:
		v.Add(at+".ticketId", "must be a ticket id or tracking number")
	case len(u.ExternalID) > MaxIDBytes:
		v.Add(at+".externalId", "must be at most %d bytes", MaxIDBytes)
	}
	switch w.Action {
	case "sign", "return", "requestExtension", "reply":
	case "":
		v.Add(at+".action", "required: sign, return, requestExtension or reply")
	default:
		v.Add(at+".action", "unknown action %.40q: want sign, return, requestExtension or reply", w.Action)
	}
	switch n := utf8.RuneCountInString(u.Text); {
	case n > MaxTextChars:
		v.Add(at+".text", "must be at most %d characters, got %d", MaxTextChars, n)
	case n == 0 && w.Action == "return":
		v.Add(at+".text", "required for return: the reason")
	case n == 0 && w.Action == "reply":
		v.Add(at+".text", "required for reply: the answer")
	}
	if w.Action == "requestExtension" && w.Days < 1 {
		v.Add(at+".days", "required for requestExtension: working days, at least 1")
	} else if w.Days < 0 || w.Days > 366 {
		v.Add(at+".days", "must be between 0 and 366, got %d", w.Days)
	}
	if ts := strings.TrimSpace(w.Time); ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			v.Add(at+".time", "must be RFC 3339, e.g. 2026-11-27T10:00:00+08:00")
		}
		u.Time = t
	}
	return u, v
}

// jsonField names where a decoding error is, under prefix.
func jsonField(prefix string, err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		f := te.Field
		if prefix == "" {
			return f
		}
		return prefix + "." + f
	}
	if prefix == "" {
		return "body"
	}
	return prefix
}

// jsonProblem says what is wrong, without echoing the input.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return "must be a JSON " + jsonType(te.Type.Kind().String()) + ", got " + te.Value
	case errors.As(err, &se):
		return "not valid JSON at byte " + strconv.FormatInt(se.Offset, 10)
	}
	return "not valid JSON"
}

func jsonType(kind string) string {
	switch kind {
	case "int", "int64":
		return "integer"
	case "slice":
		return "array"
	case "struct", "map":
		return "object"
	case "ptr":
		return "string"
	}
	return kind
}

// ParseSignature reads an X-Switchboard-Signature header: one or more
// comma-separated "v1=<64 lowercase hex digits>" values (several while a
// secret is rotated). Values of other schemes are skipped, so a sender may
// add stronger ones later; an error means no usable v1 value.
func ParseSignature(h string) ([][]byte, error) {
	if len(h) > 2048 {
		return nil, errors.New("signature header too long")
	}
	var sigs [][]byte
	for part := range strings.SplitSeq(h, ",") {
		scheme, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || scheme != "v1" {
			continue
		}
		if len(val) != 2*sha256.Size {
			return nil, errors.New("a v1 signature must be 64 hex digits")
		}
		b, err := hex.DecodeString(val)
		if err != nil {
			return nil, errors.New("a v1 signature must be 64 hex digits")
		}
		if len(sigs) == MaxSignatures {
			return nil, fmt.Errorf("more than %d v1 signatures", MaxSignatures)
		}
		sigs = append(sigs, b)
	}
	if len(sigs) == 0 {
		return nil, errors.New(`no v1= signature`)
	}
	return sigs, nil
}

// Sign returns the signature header value of a webhook: "v1=" and the
// lowercase hex HMAC-SHA256, keyed with secret, of timestamp + "." + body.
func Sign(secret, timestamp string, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// verify reports whether one of sigs is the MAC of timestamp and body under
// secret, comparing each in constant time.
func verify(secret, timestamp string, body []byte, sigs [][]byte) bool {
	want := mac(secret, timestamp, body)
	ok := false
	for _, s := range sigs {
		if hmac.Equal(want, s) {
			ok = true
		}
	}
	return ok
}

// ParseTimestamp reads X-Switchboard-Timestamp: Unix seconds.
func ParseTimestamp(h string) (time.Time, error) {
	h = strings.TrimSpace(h)
	if h == "" || len(h) > 12 {
		return time.Time{}, errors.New("not Unix seconds")
	}
	n, err := strconv.ParseInt(h, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, errors.New("not Unix seconds")
	}
	return time.Unix(n, 0), nil
}
