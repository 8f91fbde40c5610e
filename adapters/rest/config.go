package rest

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/internal/settings"
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
	fail := func(err error) (Config, error) {
		return Config{}, fmt.Errorf("rest backend %q: %w", c.Backend, err)
	}
	s := c.Settings
	if err := settings.Strict(s, settingKeys); err != nil {
		return fail(err)
	}
	cfg := Config{
		Backend:           c.Backend,
		URL:               settings.Endpoint(s, "url", c.Endpoints),
		Method:            strings.ToUpper(settings.String(s, "method")),
		IdempotencyHeader: settings.String(s, "idempotencyHeader"),
		SigningSecretEnv:  settings.String(s, "signingSecretEnv"),
		IDField:           settings.String(s, "idField"),
	}
	var err error
	if cfg.Timeout, err = settings.Duration(s, "timeout", "10s"); err != nil {
		return fail(err)
	}
	if cfg.FieldMap, err = settings.Pairs(s, "fieldMap", "ourField=theirField", "renamed"); err != nil {
		return fail(err)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return fail(err)
	}
	return cfg, nil
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
		return settings.NoEndpoint("url")
	}
	if _, ok := settings.ParseURL(c.URL, "http", "https"); !ok {
		return fmt.Errorf("url: %q is not an http(s) URL", c.URL)
	}
	switch c.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return fmt.Errorf("method: %q, want POST, PUT or PATCH", c.Method)
	}
	if !settings.IsToken(c.IdempotencyHeader) {
		return fmt.Errorf("idempotencyHeader: %q is not an HTTP header name", c.IdempotencyHeader)
	}
	if err := settings.EnvName("signingSecretEnv", c.SigningSecretEnv); err != nil {
		return err
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
	return settings.Positive("timeout", c.Timeout)
}
