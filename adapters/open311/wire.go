package open311

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/internal/httpx"
)

const (
	// maxResponse bounds how much of an answer to a POST or a token poll is
	// read.
	maxResponse = 1 << 20
	// maxListResponse bounds how much of a list (requests, services) is
	// read.
	maxListResponse = 16 << 20
	// maxBackendText bounds the backend text quoted in an error.
	maxBackendText = 200
	// maxIDLen bounds a service_request_id or token; a longer value is not
	// taken for one.
	maxIDLen = 256
)

// Form fields of a posted service request that are not GeoReport's own:
// attributes of the service, which GeoReport passes as attribute[code].
const (
	AttributeKey            = "attribute[switchboard_key]"
	AttributeTrackingNumber = "attribute[tracking_number]"
)

// Epoch is the updated_after of the first poll for updates.
const Epoch = "1970-01-01T00:00:00Z"

// requestForm returns the form of a service request for d.
func requestForm(d adapters.Delivery, serviceCode, apiKey, jurisdiction string) url.Values {
	f := url.Values{}
	if apiKey != "" {
		f.Set("api_key", apiKey)
	}
	if jurisdiction != "" {
		f.Set("jurisdiction_id", jurisdiction)
	}
	f.Set("service_code", serviceCode)
	f.Set("description", d.Ticket.Title+"\n"+d.Ticket.Content)
	if d.Ticket.Address != "" {
		f.Set("address_string", d.Ticket.Address)
	}
	if d.Ticket.CallerName != "" {
		f.Set("first_name", d.Ticket.CallerName)
	}
	if d.Ticket.CallerPhone != "" {
		f.Set("phone", d.Ticket.CallerPhone) // masked upstream
	}
	f.Set(AttributeKey, d.Key)
	f.Set(AttributeTrackingNumber, d.Ticket.TrackingNumber)
	return f
}

// flexString is a JSON string or number (servers differ on ids), or null.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(strings.TrimSpace(s))
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a string or a number, got %.20s", b)
		}
		*f = flexString(n.String())
	}
	return nil
}

// id returns f if it can serve as an identifier: not empty, short, without
// control characters.
func (f flexString) id() string {
	s := string(f)
	if len(s) > maxIDLen || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ""
	}
	return s
}

// flexBool is a JSON boolean or the strings "true"/"false".
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	switch strings.Trim(strings.ToLower(string(bytes.TrimSpace(b))), `"`) {
	case "true", "1":
		*f = true
	case "false", "0", "null", "":
		*f = false
	default:
		return fmt.Errorf("want a boolean, got %.20s", b)
	}
	return nil
}

// item is one element of a GeoReport answer to a POST or a token poll: a
// service request id, a token, or an error.
type item struct {
	ServiceRequestID flexString `json:"service_request_id"`
	Token            flexString `json:"token"`
	ServiceNotice    string     `json:"service_notice"`
	Code             flexString `json:"code"`
	Description      string     `json:"description"`
}

// APIError is a GeoReport error answer: [{"code":400,"description":"…"}].
// Description is shortened to stay within 200 bytes of backend text.
type APIError struct {
	Status      int // the HTTP status
	Code        string
	Description string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.Code != "" {
		s += ", GeoReport error " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// parseItems reads a GeoReport answer: a JSON array of objects or, as some
// servers answer, one object.
func parseItems(body []byte) ([]item, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, errors.New("empty answer")
	}
	var items []item
	if body[0] == '{' {
		var it item
		if err := json.Unmarshal(body, &it); err != nil {
			return nil, fmt.Errorf("not GeoReport JSON: %s", httpx.ClipHead(err.Error(), 100))
		}
		return []item{it}, nil
	}
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, fmt.Errorf("not GeoReport JSON: %s", httpx.ClipHead(err.Error(), 100))
	}
	return items, nil
}

// apiError returns the GeoReport error among items, if any: an element
// with a code or a description and neither an id nor a token.
func apiError(status int, items []item) *APIError {
	var descs []string
	var code string
	for _, it := range items {
		if it.ServiceRequestID != "" || it.Token != "" || (it.Code == "" && it.Description == "") {
			continue
		}
		if code == "" {
			code = httpx.ClipHead(string(it.Code), 20)
		}
		if it.Description != "" {
			descs = append(descs, it.Description)
		}
	}
	if code == "" && len(descs) == 0 {
		return nil
	}
	return &APIError{Status: status, Code: code, Description: httpx.ClipHead(strings.Join(descs, "; "), maxBackendText-60)}
}

// parseCreated reads the answer to a POSTed service request: the id, or a
// token to poll for it.
func parseCreated(status int, body []byte) (id, token string, err error) {
	items, err := parseItems(body)
	if err != nil {
		return "", "", err
	}
	for _, it := range items {
		if id := it.ServiceRequestID.id(); id != "" {
			return id, "", nil
		}
	}
	for _, it := range items {
		if t := it.Token.id(); t != "" {
			return "", t, nil
		}
	}
	if e := apiError(status, items); e != nil {
		return "", "", e
	}
	return "", "", errors.New("the answer has neither a service_request_id nor a token")
}

// parseToken reads the answer to a token poll: the id, or "" while the
// server has not assigned one yet.
func parseToken(body []byte) (string, error) {
	items, err := parseItems(body)
	if err != nil {
		return "", err
	}
	for _, it := range items {
		if id := it.ServiceRequestID.id(); id != "" {
			return id, nil
		}
	}
	return "", nil
}

// classify maps a failed HTTP answer to an error of package adapters'
// kinds (see httpx.Classify). A GeoReport error array in the body is
// quoted; other bodies at most 200 bytes.
func classify(status int, h http.Header, body []byte, now time.Time) error {
	var err error
	if items, perr := parseItems(body); perr == nil {
		if e := apiError(status, items); e != nil {
			err = e
		}
	}
	if err == nil {
		if status >= 300 && status < 400 {
			err = fmt.Errorf("HTTP %d redirect to %q, not followed (check url)", status, httpx.ClipHead(h.Get("Location"), maxBackendText))
		} else {
			err = &APIError{Status: status, Description: httpx.ClipHead(string(body), maxBackendText)}
		}
	}
	return httpx.Classify(status, h, now, err)
}

// interpretCreated maps the answer to a POSTed service request to its id or
// token, or to an error. After a 2xx the server may have created the
// request, so an unreadable answer is transient (a retry carries the same
// switchboard_key); a 2xx carrying a GeoReport error array is classified by
// the error's code as if it were the status.
func interpretCreated(status int, h http.Header, body []byte, now time.Time) (id, token string, err error) {
	if status < 200 || status >= 300 {
		return "", "", classify(status, h, body, now)
	}
	id, token, err = parseCreated(status, body)
	var ae *APIError
	if errors.As(err, &ae) {
		code, _ := strconv.Atoi(ae.Code)
		return "", "", httpx.Classify(code, h, now, ae) // a code that is no status stays transient
	}
	if err != nil {
		return "", "", fmt.Errorf("HTTP %d with an unreadable answer (the request may have been created; retry with the same key): %w", status, err)
	}
	return id, token, nil
}

// ServiceRequest is one element of GET requests.json, as far as the adapter
// reads it.
type ServiceRequest struct {
	ServiceRequestID  flexString `json:"service_request_id"`
	Status            string     `json:"status"`
	StatusNotes       string     `json:"status_notes"`
	AgencyResponsible string     `json:"agency_responsible"`
	ServiceCode       flexString `json:"service_code"`
	RequestedDatetime string     `json:"requested_datetime"`
	UpdatedDatetime   string     `json:"updated_datetime"`
}

// parseRequests reads the answer to GET requests.json: a JSON array of
// service requests.
func parseRequests(body []byte) ([]ServiceRequest, error) {
	var rs []ServiceRequest
	if err := json.Unmarshal(body, &rs); err != nil {
		return nil, fmt.Errorf("not a GeoReport list of service requests: %s", httpx.ClipHead(err.Error(), 100))
	}
	return rs, nil
}

// Actions of the updates an Open311 backend reports.
const (
	ActionSign  = "sign"
	ActionReply = "reply"
)

// mapUpdates turns service requests into updates and returns the next
// cursor: the latest updated_datetime seen (as the server wrote it), or
// cursor when there is none.
//
// The mapping: status "closed" is a reply (办结回复) whose text is
// status_notes; status "open" is a sign (签收): the department's system holds
// the request open, so it has taken it on. GeoReport has no states for a
// return (退单) or an extension request, and none is inferred from notes or
// agency_responsible. Other statuses (non-standard) yield no update but
// move the cursor. An element without a service_request_id or a parsable
// updated_datetime is skipped. ID is service_request_id@updated_datetime,
// so that the same state seen twice is one update, and a later change of
// notes or status is another (an open request whose notes change yields a
// second sign, which the consumer finds already applied).
func mapUpdates(rs []ServiceRequest, cursor string) ([]adapters.Update, string) {
	var out []adapters.Update
	var latest time.Time
	next := cursor
	if t, ok := parseTime(cursor); ok {
		latest = t
	}
	for _, r := range rs {
		id := r.ServiceRequestID.id()
		at, ok := parseTime(r.UpdatedDatetime)
		if id == "" || !ok {
			continue
		}
		if at.After(latest) {
			latest, next = at, strings.TrimSpace(r.UpdatedDatetime)
		}
		var action string
		switch strings.ToLower(strings.TrimSpace(r.Status)) {
		case "closed":
			action = ActionReply
		case "open":
			action = ActionSign
		default:
			continue
		}
		out = append(out, adapters.Update{
			ID:         id + "@" + strings.TrimSpace(r.UpdatedDatetime),
			ExternalID: id,
			Action:     action,
			Text:       strings.TrimSpace(r.StatusNotes),
			Time:       at,
		})
	}
	slices.SortStableFunc(out, func(a, b adapters.Update) int { return a.Time.Compare(b.Time) })
	return out, next
}

// timeLayouts are the forms of GeoReport datetimes seen in practice: W3C
// (RFC 3339), with or without fractions, and without a zone (read as UTC).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05"}

func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return time.Time{}, false
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil && !t.IsZero() {
			return t, true
		}
	}
	return time.Time{}, false
}

// Service is one element of GET services.json.
type Service struct {
	Code        string   `json:"service_code"`
	Name        string   `json:"service_name"`
	Description string   `json:"description"`
	Metadata    bool     `json:"metadata"`
	Type        string   `json:"type"`     // realtime, batch or blackbox
	Keywords    []string `json:"keywords"` // from a comma-separated list
	Group       string   `json:"group"`
}

// parseServices reads the answer to GET services.json.
func parseServices(body []byte) ([]Service, error) {
	var raw []struct {
		Code        flexString `json:"service_code"`
		Name        string     `json:"service_name"`
		Description string     `json:"description"`
		Metadata    flexBool   `json:"metadata"`
		Type        string     `json:"type"`
		Keywords    string     `json:"keywords"`
		Group       string     `json:"group"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("not a GeoReport list of services: %s", httpx.ClipHead(err.Error(), 100))
	}
	out := make([]Service, 0, len(raw))
	for _, r := range raw {
		s := Service{Code: string(r.Code), Name: r.Name, Description: r.Description, Metadata: bool(r.Metadata), Type: r.Type, Group: r.Group}
		for _, k := range strings.Split(r.Keywords, ",") {
			if k = strings.TrimSpace(k); k != "" {
				s.Keywords = append(s.Keywords, k)
			}
		}
		out = append(out, s)
	}
	return out, nil
}
