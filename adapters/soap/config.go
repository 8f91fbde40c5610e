package soap

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/internal/settings"
)

// Defaults applied by Decode to settings left empty.
const (
	DefaultVersion           = "1.1"
	DefaultIdempotencyHeader = "X-Idempotency-Key"
	DefaultResultPath        = "caseNo"
	DefaultMessagePath       = "message"
	DefaultTimeout           = 30 * time.Second
	// DefaultAction is the SOAPAction used with the built-in template when
	// "action" is not set: the operation of DefaultTemplate in its namespace.
	DefaultAction = "http://gd.gov.cn/12345/ReceiveWorkOrder"
)

// Config is the typed configuration of one SOAP backend, decoded from
// adapters.Config (the backend's endpoints and its settings). Each field names
// the setting key it comes from; unknown keys are errors.
type Config struct {
	// Backend is the backend's name, for messages.
	Backend string

	// URL ("url") is the service endpoint the envelope is POSTed to, http or
	// https. When empty the backend's first endpoint is used.
	URL string

	// Version ("version") is the SOAP version: "1.1" (default) or "1.2".
	// 1.1 sends text/xml and a SOAPAction header; 1.2 sends
	// application/soap+xml with the action as a Content-Type parameter.
	Version string

	// Action ("action") is the SOAPAction (1.1) or the action parameter of
	// the Content-Type (1.2). With the built-in template it defaults to
	// DefaultAction; with a template of your own it defaults to empty
	// (SOAPAction: "").
	Action string

	// Template ("template") is a Go text/template producing the inner XML of
	// the SOAP Body. Its data is the adapters.Delivery (.Key, .Topic, .Unit,
	// .Attempt, .Ticket.*, .Event.*). Every value an action prints is
	// XML-escaped (Chinese stays UTF-8); the functions are xml (explicit
	// escaping; not applied twice when it ends a pipeline), datetime
	// ("2006-01-02 15:04:05" in Beijing time, empty for a zero time) and date
	// ("2006-01-02"). Empty means DefaultTemplate.
	Template string

	// TemplateFile ("templateFile") names a file holding the template
	// instead; it is read on the first delivery (New does no I/O). Set
	// Template or TemplateFile, not both.
	TemplateFile string

	// IdempotencyHeader ("idempotencyHeader") is the HTTP header carrying
	// the delivery's idempotency key (default X-Idempotency-Key). The
	// template should carry it in the body as well (<lsh> in the default).
	IdempotencyHeader string

	// ResultPath ("resultPath") names the response element holding the
	// backend's case number, by local name (namespace-agnostic, any case),
	// optionally with ancestors: "caseNo" or "ReceiveWorkOrderResult/caseNo".
	// Default caseNo. A missing element is not an error: the receipt then
	// has no ExternalID.
	ResultPath string

	// SuccessCodePath ("successCodePath") optionally names the response
	// element carrying a business result code (e.g. "code"). When set, the
	// code must be one of SuccessCodes; a code in DuplicateCodes is an
	// acceptance of a message already received; a code in RetryCodes is a
	// transient failure; any other code is a permanent refusal.
	SuccessCodePath string

	// SuccessCodes ("successCodes") lists the codes meaning accepted,
	// comma-separated, e.g. "0,200". Required with SuccessCodePath.
	SuccessCodes []string

	// DuplicateCodes ("duplicateCodes") lists codes meaning "already
	// received with this serial number" (the receipt says Duplicate).
	DuplicateCodes []string

	// RetryCodes ("retryCodes") lists codes meaning "busy, try later".
	RetryCodes []string

	// MessagePath ("messagePath") names the element whose text explains a
	// refused code, quoted (at most 200 bytes) in the error. Default message.
	MessagePath string

	// Timeout ("timeout") bounds one call, as a Go duration ("30s"),
	// within the caller's own deadline. Default 30s.
	Timeout time.Duration
}

// settingKeys are the keys Decode understands.
var settingKeys = []string{
	"url", "version", "action", "template", "templateFile", "idempotencyHeader",
	"resultPath", "successCodePath", "successCodes", "duplicateCodes", "retryCodes",
	"messagePath", "timeout",
}

// Decode builds a Config from c strictly (unknown setting keys are errors),
// applies the defaults and validates it. It does no I/O.
func Decode(c adapters.Config) (Config, error) {
	fail := func(err error) (Config, error) {
		return Config{}, fmt.Errorf("soap backend %q: %w", c.Backend, err)
	}
	s := c.Settings
	if err := settings.Strict(s, settingKeys); err != nil {
		return fail(err)
	}
	cfg := Config{
		Backend:           c.Backend,
		URL:               settings.Endpoint(s, "url", c.Endpoints),
		Version:           settings.String(s, "version"),
		Action:            s["action"],
		Template:          s["template"],
		TemplateFile:      settings.String(s, "templateFile"),
		IdempotencyHeader: settings.String(s, "idempotencyHeader"),
		ResultPath:        settings.String(s, "resultPath"),
		SuccessCodePath:   settings.String(s, "successCodePath"),
		SuccessCodes:      splitList(s["successCodes"]),
		DuplicateCodes:    splitList(s["duplicateCodes"]),
		RetryCodes:        splitList(s["retryCodes"]),
		MessagePath:       settings.String(s, "messagePath"),
	}
	_, actionSet := s["action"]
	var err error
	if cfg.Timeout, err = settings.Duration(s, "timeout", "30s"); err != nil {
		return fail(err)
	}
	cfg.SetDefaults(actionSet)
	if err := cfg.Validate(); err != nil {
		return fail(err)
	}
	return cfg, nil
}

// SetDefaults fills the settings left empty. actionSet says whether "action"
// was given (an explicitly empty action stays empty).
func (c *Config) SetDefaults(actionSet bool) {
	if c.Version == "" {
		c.Version = DefaultVersion
	}
	if c.IdempotencyHeader == "" {
		c.IdempotencyHeader = DefaultIdempotencyHeader
	}
	if c.ResultPath == "" {
		c.ResultPath = DefaultResultPath
	}
	if c.MessagePath == "" {
		c.MessagePath = DefaultMessagePath
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if !actionSet && c.Template == "" && c.TemplateFile == "" {
		c.Action = DefaultAction
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
	if c.Version != "1.1" && c.Version != "1.2" {
		return fmt.Errorf("version: %q, want 1.1 or 1.2", c.Version)
	}
	if strings.ContainsFunc(c.Action, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '"' }) {
		return fmt.Errorf("action: %q contains a quote or a control character", c.Action)
	}
	if c.Template != "" && c.TemplateFile != "" {
		return errors.New("template, templateFile: set one, not both")
	}
	if !settings.IsToken(c.IdempotencyHeader) {
		return fmt.Errorf("idempotencyHeader: %q is not an HTTP header name", c.IdempotencyHeader)
	}
	for _, kv := range [][2]string{{"resultPath", c.ResultPath}, {"successCodePath", c.SuccessCodePath}, {"messagePath", c.MessagePath}} {
		key, p := kv[0], kv[1]
		if p == "" {
			continue
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == "" || strings.ContainsAny(seg, " \t\r\n<>&:\"'") {
				return fmt.Errorf("%s: %q is not an element name or a path of them (a/b)", key, p)
			}
		}
	}
	if c.SuccessCodePath == "" {
		switch {
		case len(c.SuccessCodes) > 0:
			return errors.New("successCodes: needs successCodePath (the element holding the code)")
		case len(c.DuplicateCodes) > 0:
			return errors.New("duplicateCodes: needs successCodePath (the element holding the code)")
		case len(c.RetryCodes) > 0:
			return errors.New("retryCodes: needs successCodePath (the element holding the code)")
		}
	} else if len(c.SuccessCodes) == 0 {
		return errors.New("successCodes: required with successCodePath (e.g. 0,200)")
	}
	for _, code := range c.SuccessCodes {
		if slices.Contains(c.RetryCodes, code) || slices.Contains(c.DuplicateCodes, code) {
			return fmt.Errorf("successCodes: %q is also listed in retryCodes or duplicateCodes", code)
		}
	}
	for _, code := range c.DuplicateCodes {
		if slices.Contains(c.RetryCodes, code) {
			return fmt.Errorf("duplicateCodes: %q is also listed in retryCodes", code)
		}
	}
	return settings.Positive("timeout", c.Timeout)
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
