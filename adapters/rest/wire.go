package rest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/internal/httpx"
)

// Signature headers, sent when signingSecretEnv is set.
const (
	HeaderTimestamp = "X-Switchboard-Timestamp"
	HeaderSignature = "X-Switchboard-Signature"
)

const (
	// maxResponse bounds how much of an answer is read.
	maxResponse = 1 << 20
	// maxBackendText bounds the backend text quoted in an error.
	maxBackendText = 200
	// maxIDLen bounds an ExternalID taken from an answer; a longer value
	// is not taken for one.
	maxIDLen = 256
)

// Message is the JSON body of a request. Ticket is adapters.Ticket in its
// JSON spelling with fieldMap's renamings; strings are UTF-8 as they are
// (Chinese, <, > and & unescaped).
type Message struct {
	Key     string          `json:"key"`
	Topic   string          `json:"topic"`
	Unit    string          `json:"unit"`
	Attempt int             `json:"attempt"`
	Ticket  json.RawMessage `json:"ticket"`
	Event   adapters.Event  `json:"event"`
}

// encodeBody returns the JSON body for d, with the ticket's fields renamed
// by fieldMap.
func encodeBody(d adapters.Delivery, fieldMap map[string]string) ([]byte, error) {
	ticket, err := marshal(d.Ticket)
	if err != nil {
		return nil, fmt.Errorf("encoding the ticket: %w", err)
	}
	if len(fieldMap) > 0 {
		if ticket, err = renameFields(ticket, fieldMap); err != nil {
			return nil, fmt.Errorf("renaming the ticket's fields: %w", err)
		}
	}
	return marshal(Message{Key: d.Key, Topic: d.Topic, Unit: d.Unit, Attempt: d.Attempt, Ticket: ticket, Event: d.Event})
}

// marshal is json.Marshal without HTML escaping and without the newline of
// an Encoder.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// renameFields rewrites the names of obj's top-level fields by m, keeping
// their order and values.
func renameFields(obj []byte, m map[string]string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if to, ok := m[name]; ok {
			name = to
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		n, err := marshal(name)
		if err != nil {
			return nil, err
		}
		b.Write(n)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Sign returns the X-Switchboard-Signature value for body sent at the Unix
// time ts: "sha256=" and the hex HMAC-SHA256 of ts + "." + body.
func Sign(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// interpret maps an HTTP answer to the request carrying key to a receipt or
// to an error of the kinds of package adapters. now dates a Retry-After given
// as an HTTP date.
//
//   - 2xx: accepted; ExternalID from the JSON answer's idField, if any (an
//     empty or non-JSON answer is still an acceptance).
//   - 409: the backend already holds a message with this key: accepted, as a
//     duplicate, unless the answer names a different key (its idempotency
//     header or a JSON "key"), which is a conflict we cannot judge: transient.
//   - 400, 404, 405, 410, 413, 422: the message is refused: Permanent.
//   - 429 and 503 with Retry-After: RetryAfter.
//   - anything else (other 5xx, 408, 401/403, which are about our credentials
//     rather than the message, a redirect, which is not followed): transient.
func interpret(cfg *Config, key string, status int, h http.Header, body []byte, now time.Time) (adapters.Receipt, error) {
	switch {
	case status >= 200 && status < 300:
		id, _ := extractID(body, cfg.IDField)
		return adapters.Receipt{ExternalID: id}, nil
	case status == http.StatusConflict:
		echoed := h.Get(cfg.IdempotencyHeader)
		if echoed == "" {
			echoed, _ = extractID(body, "key")
		}
		if echoed != "" && echoed != key {
			return adapters.Receipt{}, fmt.Errorf("HTTP 409 naming another key %q: %s", httpx.ClipHead(echoed, 60), httpx.ClipHead(string(body), maxBackendText))
		}
		id, _ := extractID(body, cfg.IDField)
		return adapters.Receipt{ExternalID: id, Duplicate: true}, nil
	case status >= 300 && status < 400:
		return adapters.Receipt{}, fmt.Errorf("HTTP %d redirect to %q, not followed (check url)", status, httpx.ClipHead(h.Get("Location"), maxBackendText))
	}
	err := fmt.Errorf("HTTP %d: %s", status, httpx.ClipHead(string(body), maxBackendText))
	return adapters.Receipt{}, httpx.Classify(status, h, now, err)
}

// extractID returns the string or number at the dotted path of a JSON
// object (or of the first element of a JSON array of objects). It ignores
// values longer than maxIDLen, blank or with control characters.
func extractID(body []byte, path string) (string, bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || (body[0] != '{' && body[0] != '[') {
		return "", false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", false
	}
	if a, ok := v.([]any); ok {
		if len(a) == 0 {
			return "", false
		}
		v = a[0]
	}
	for _, seg := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		if v, ok = m[seg]; !ok {
			return "", false
		}
	}
	var s string
	switch v := v.(type) {
	case string:
		s = strings.TrimSpace(v)
	case json.Number:
		s = v.String()
	default:
		return "", false
	}
	if s == "" || len(s) > maxIDLen || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", false
	}
	return s, true
}
