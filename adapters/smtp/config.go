package smtp

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	setting "github.com/switchboard12345/switchboard/adapters/internal/settings"
)

// Defaults applied by Decode to settings left empty.
const (
	DefaultSubjectPrefix = "[12345工单]"
	DefaultTimeout       = 30 * time.Second
	DefaultPort          = "25"
)

// Config is the typed configuration of one e-mail backend (a department
// mailbox), decoded from adapters.Config (the backend's endpoints and its
// settings). Each field names the setting key it comes from; unknown keys
// are errors.
type Config struct {
	// Backend is the backend's name, for messages.
	Backend string

	// Addr ("addr") is the SMTP server as host:port, or as a URL
	// smtp://host:port. When empty the backend's first endpoint is used.
	// Without a port, 25. Implicit TLS (smtps, port 465) is not supported;
	// use startTLS.
	Addr string

	// From ("from") is the sender, an address with an optional display name
	// ("12345热线 <hotline@12345.gz.gov.cn>"). Required.
	From *mail.Address

	// To ("to") are the department's mailboxes, comma-separated. Required.
	// A message goes to all of them or to none: if the server refuses one
	// recipient, nothing is sent.
	To []*mail.Address

	// SubjectPrefix ("subjectPrefix") starts every subject, default
	// [12345工单].
	SubjectPrefix string

	// Username ("username") and PasswordEnv ("passwordEnv"), both or
	// neither, turn on SMTP AUTH PLAIN. PasswordEnv names the environment
	// variable holding the password; it is read at each delivery (New does
	// no lookups), and a delivery while it is empty fails, transiently,
	// without sending anything. PLAIN needs STARTTLS unless the server is on
	// a loopback address.
	Username    string
	PasswordEnv string

	// StartTLS ("startTLS": true or false) requires STARTTLS before
	// anything else is said; a server that does not offer it gets nothing.
	// Default: on, except for a server on a loopback address (localhost,
	// 127.0.0.0/8, ::1).
	StartTLS bool

	// AttachJSON ("attachJSON": true or false, default true) adds the
	// machine-readable message (the work order and the event as JSON) as an
	// attachment ticket-<trackingNumber>.json next to the text.
	AttachJSON bool

	// Timeout ("timeout") bounds one delivery (connect, the conversation
	// and the server's final answer), as a Go duration ("30s"), within the
	// caller's own deadline. Default 30s.
	Timeout time.Duration
}

// settingKeys are the keys Decode understands.
var settingKeys = []string{"addr", "from", "to", "subjectPrefix", "username", "passwordEnv", "startTLS", "attachJSON", "timeout"}

// Decode builds a Config from c strictly (unknown setting keys are errors),
// applies the defaults and validates it. It does no I/O.
func Decode(c adapters.Config) (Config, error) {
	fail := func(err error) (Config, error) {
		return Config{}, fmt.Errorf("smtp backend %q: %w", c.Backend, err)
	}
	s := c.Settings
	if err := setting.Strict(s, settingKeys); err != nil {
		return fail(err)
	}
	cfg := Config{
		Backend:       c.Backend,
		SubjectPrefix: setting.String(s, "subjectPrefix"),
		Username:      setting.String(s, "username"),
		PasswordEnv:   setting.String(s, "passwordEnv"),
		AttachJSON:    true,
	}
	if addr := setting.Endpoint(s, "addr", c.Endpoints); addr != "" {
		a, err := parseAddr(addr)
		if err != nil {
			return fail(err)
		}
		cfg.Addr = a
	}
	if v := setting.String(s, "from"); v != "" {
		a, err := mail.ParseAddress(v)
		if err != nil {
			return fail(fmt.Errorf("from: %q is not an e-mail address: %v", v, err))
		}
		cfg.From = a
	}
	if v := setting.String(s, "to"); v != "" {
		list, err := mail.ParseAddressList(v)
		if err != nil {
			return fail(fmt.Errorf("to: %q is not a comma-separated list of e-mail addresses: %v", v, err))
		}
		cfg.To = list
	}
	var err error
	if cfg.Timeout, err = setting.Duration(s, "timeout", "30s"); err != nil {
		return fail(err)
	}
	startTLS, haveStartTLS, err := setting.Bool(s, "startTLS")
	if err != nil {
		return fail(err)
	}
	if v, ok, err := setting.Bool(s, "attachJSON"); err != nil {
		return fail(err)
	} else if ok {
		cfg.AttachJSON = v
	}
	cfg.SetDefaults()
	if haveStartTLS {
		cfg.StartTLS = startTLS
	} else {
		cfg.StartTLS = cfg.Addr != "" && !isLoopback(cfg.Host())
	}
	if err := cfg.Validate(); err != nil {
		return fail(err)
	}
	return cfg, nil
}

// parseAddr accepts host:port, host, or smtp://host[:port] and returns
// host:port.
func parseAddr(s string) (string, error) {
	hostport := s
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("addr: %q is not host:port or smtp://host:port", s)
		}
		if u.Scheme != "smtp" {
			return "", fmt.Errorf("addr: scheme %q in %q, want smtp (implicit TLS is not supported; use startTLS)", u.Scheme, s)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return "", fmt.Errorf("addr: %q has a path, query or user; give only smtp://host:port", s)
		}
		hostport = u.Host
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		// No port: the whole thing is the host.
		host, port = strings.Trim(hostport, "[]"), DefaultPort
	}
	if host == "" || strings.ContainsAny(host, " /@") {
		return "", fmt.Errorf("addr: %q has no valid host", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("addr: %q has no valid port", s)
	}
	return net.JoinHostPort(host, port), nil
}

// SetDefaults fills the settings left empty (startTLS's default depends on
// the address and is applied by Decode).
func (c *Config) SetDefaults() {
	if c.SubjectPrefix == "" {
		c.SubjectPrefix = DefaultSubjectPrefix
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
}

// Host returns the host part of Addr.
func (c Config) Host() string {
	h, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return c.Addr
	}
	return h
}

// Validate reports the first setting that is wrong, naming its key.
func (c Config) Validate() error {
	if c.Addr == "" {
		return setting.NoEndpoint("addr")
	}
	if _, err := parseAddr(c.Addr); err != nil {
		return err
	}
	if c.From == nil {
		return errors.New("from: required")
	}
	if !isASCIIAddress(c.From.Address) {
		return fmt.Errorf("from: %q: only ASCII addresses are supported (a display name may be Chinese)", c.From.Address)
	}
	if len(c.To) == 0 {
		return errors.New("to: required (one or more addresses, comma-separated)")
	}
	for _, a := range c.To {
		if !isASCIIAddress(a.Address) {
			return fmt.Errorf("to: %q: only ASCII addresses are supported (a display name may be Chinese)", a.Address)
		}
	}
	if strings.ContainsAny(c.SubjectPrefix, "\r\n") {
		return errors.New("subjectPrefix: must be one line")
	}
	if (c.Username == "") != (c.PasswordEnv == "") {
		return errors.New("username and passwordEnv: give both (PLAIN authentication) or neither")
	}
	if err := setting.EnvName("passwordEnv", c.PasswordEnv); err != nil {
		return err
	}
	if c.Username != "" && !c.StartTLS && !isLoopback(c.Host()) {
		return fmt.Errorf("username: a password would cross the network in clear text to %s; set startTLS to true", c.Host())
	}
	return setting.Positive("timeout", c.Timeout)
}

// isLoopback reports whether host names this machine: localhost or a
// loopback IP. Names are not resolved.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isASCIIAddress(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == '<' || s[i] == '>' {
			return false
		}
	}
	return s != ""
}
