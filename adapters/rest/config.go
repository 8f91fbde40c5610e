package rest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
)

// Defaults applied by Decode to settings left empty.
const (
	DefaultMethod            = http.MethodPost
	DefaultIdempotencyHeader = "Idempotency-Key"
	DefaultIDField           = "id"
	DefaultTimeout           = 10 * time.Second
)

// Config is the typed configuration of one REST (JSON webhook) backend,
// decoded from adapters.Config (the backend's endpoints and its settings).
// Each field names the setting key it comes from; unknown keys are errors.
type Config struct {
	// Backend is the backend's name, for messages.
	Backend string

	// URL ("url") is where the message is sent, http or https. When empty
	// the backend's first endpoint is used.
	URL string

	// Method ("method") is the HTTP method: POST (default), PUT or PATCH.
	Method string

	// IdempotencyHeader ("idempotencyHeader") is the HTTP header carrying
	// the delivery's idempotency key (default Idempotency-Key). The key is
	// in the body as well ("key").
	IdempotencyHeader string

	// SigningSecretEnv ("signingSecretEnv") optionally names an environment
	// variable holding an HMAC secret. When set, every request carries
	// X-Switchboard-Timestamp (Unix seconds) and X-Switchboard-Signature:
	// sha256=<hex HMAC-SHA256 of timestamp + "." + body>. The variable is
	// read at each delivery (New does no lookups); a delivery while it is
	// empty fails, transiently, without sending anything.
	SigningSecretEnv string

	// FieldMap ("fieldMap") renames fields of the ticket object of the
	// body, as a comma-separated list of ourField=theirField, e.g.
	// "title=subject,content=description,trackingNumber=caseNo". ourField
	// is a field of the ticket in its JSON spelling (see TicketFields);
	// fields not named keep their names.
	FieldMap map[string]string

	// IDField ("idField") names the field of a JSON answer holding the
	// backend's reference for the work order (Receipt.ExternalID), default
	// id. A dotted path ("data.caseNo") reaches into nested objects. An
	// answer without it is still a success, with no ExternalID.
	IDField string

	// Timeout ("timeout") bounds one request, as a Go duration ("10s"),
	// within the caller's own deadline. Default 10s.
	Timeout time.Duration
}

// settingKeys are the keys Decode understands.
var settingKeys = []string{"url", "method", "idempotencyHeader", "signingSecretEnv", "fieldMap", "idField", "timeout"}

// TicketFields are the names of the ticket object's fields in the body, the
// names fieldMap may rename (adapters.Ticket's JSON spelling).
var TicketFields = []string{
	"id", "trackingNumber", "title", "content", "category", "requestType", "urgency",
	"address", "regionCode", "callerName", "callerPhone", "handlingUnit", "coHandlingUnits",
	"signBy", "replyBy", "createTime",
}

// Decode builds a Config from c strictly (unknown setting keys are errors),
// applies the defaults and validates it. It does no I/O.
func Decode(c adapters.Config) (Config, error) {
	for k := range c.Settings {
		if !slices.Contains(settingKeys, k) {
			return Config{}, fmt.Errorf("rest backend %q: unknown setting %q (known: %s)", c.Backend, k, strings.Join(settingKeys, ", "))
		}
	}
	s := c.Settings
	cfg := Config{
		Backend:           c.Backend,
		URL:               strings.TrimSpace(s["url"]),
		Method:            strings.ToUpper(strings.TrimSpace(s["method"])),
		IdempotencyHeader: strings.TrimSpace(s["idempotencyHeader"]),
		SigningSecretEnv:  strings.TrimSpace(s["signingSecretEnv"]),
		IDField:           strings.TrimSpace(s["idField"]),
	}
	if cfg.URL == "" && len(c.Endpoints) > 0 {
		cfg.URL = strings.TrimSpace(c.Endpoints[0])
	}
	if v := strings.TrimSpace(s["timeout"]); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return Config{}, fmt.Errorf("rest backend %q: timeout: %q is not a duration such as 10s", c.Backend, v)
		}
		cfg.Timeout = d
	}
	m, err := parseFieldMap(s["fieldMap"])
	if err != nil {
		return Config{}, fmt.Errorf("rest backend %q: %w", c.Backend, err)
	}
	cfg.FieldMap = m
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("rest backend %q: %w", c.Backend, err)
	}
	return cfg, nil
}

// parseFieldMap parses "a=b,c=d". Blank entries are ignored.
func parseFieldMap(s string) (map[string]string, error) {
	var m map[string]string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		ours, theirs, ok := strings.Cut(e, "=")
		ours, theirs = strings.TrimSpace(ours), strings.TrimSpace(theirs)
		if !ok || ours == "" || theirs == "" {
			return nil, fmt.Errorf("fieldMap: entry %q is not ourField=theirField", e)
		}
		if _, dup := m[ours]; dup {
			return nil, fmt.Errorf("fieldMap: %q is renamed twice", ours)
		}
		if m == nil {
			m = map[string]string{}
		}
		m[ours] = theirs
	}
	return m, nil
}

// SetDefaults fills the settings left empty.
func (c *Config) SetDefaults() {
	if c.Method == "" {
		c.Method = DefaultMethod
	}
	if c.IdempotencyHeader == "" {
		c.IdempotencyHeader = DefaultIdempotencyHeader
	}
	if c.IDField == "" {
		c.IDField = DefaultIDField
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
}

// Validate reports the first setting that is wrong, naming its key.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("url: required (or give the backend an endpoint)")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url: %q is not an http(s) URL", c.URL)
	}
	switch c.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return fmt.Errorf("method: %q, want POST, PUT or PATCH", c.Method)
	}
	if !isToken(c.IdempotencyHeader) {
		return fmt.Errorf("idempotencyHeader: %q is not an HTTP header name", c.IdempotencyHeader)
	}
	if c.SigningSecretEnv != "" && !isEnvName(c.SigningSecretEnv) {
		return fmt.Errorf("signingSecretEnv: %q is not an environment variable name (letters, digits, _)", c.SigningSecretEnv)
	}
	// The renamed ticket must not have two fields of one name.
	names := map[string]string{}
	for _, f := range TicketFields {
		if to, ok := c.FieldMap[f]; ok {
			f = to
		}
		names[f] = ""
	}
	for ours, theirs := range c.FieldMap {
		if !slices.Contains(TicketFields, ours) {
			return fmt.Errorf("fieldMap: %q is not a ticket field (known: %s)", ours, strings.Join(TicketFields, ", "))
		}
		if theirs == "" || strings.ContainsAny(theirs, "=,") {
			return fmt.Errorf("fieldMap: %q=%q: the new name must be non-empty, without = or ,", ours, theirs)
		}
	}
	if len(names) != len(TicketFields) {
		return errors.New("fieldMap: two ticket fields would have the same name")
	}
	for _, seg := range strings.Split(c.IDField, ".") {
		if seg == "" {
			return fmt.Errorf("idField: %q is not a field name or a dotted path of them", c.IDField)
		}
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("timeout: %s, want a positive duration", c.Timeout)
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token (an HTTP field name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// isEnvName reports whether s is a portable environment variable name.
func isEnvName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}
