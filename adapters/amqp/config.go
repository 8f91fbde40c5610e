package amqp

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/internal/settings"
)

// DefaultTimeout bounds one delivery when timeout is not set.
const DefaultTimeout = 10 * time.Second

// Config is the typed configuration of one AMQP 0-9-1 (RabbitMQ) backend,
// decoded from adapters.Config (the backend's endpoints and its settings).
// Each field names the setting key it comes from; unknown keys are errors.
type Config struct {
	// Backend is the backend's name, for messages.
	Backend string

	// URL ("url") is the broker, amqp://user:password@host:port/vhost (or
	// amqps://). When empty the backend's first endpoint is used.
	URL string

	// Exchange ("exchange") receives the messages; default "" (the default
	// exchange, which routes to the queue named by the routing key).
	Exchange string

	// Queue ("queue") names the department's queue. It is the default
	// routing key, and the queue declareQueue declares.
	Queue string

	// RoutingKey ("routingKey") is the routing key of every message;
	// default Queue, or else the delivery's unit id (Delivery.Unit).
	RoutingKey string

	// DeclareQueue ("declareQueue": true or false, default false) declares
	// Queue as a durable queue on every new connection (and, with a named
	// exchange, binds it with RoutingKey), for tests and demonstrations; in
	// production the department owns its queue. Requires queue.
	DeclareQueue bool

	// Timeout ("timeout") bounds one delivery (connecting if needed,
	// publishing and waiting for the broker's confirm), as a Go duration
	// ("10s"), within the caller's own deadline. Default 10s.
	Timeout time.Duration
}

// settingKeys are the keys Decode understands.
var settingKeys = []string{"url", "exchange", "queue", "routingKey", "declareQueue", "timeout"}

// Decode builds a Config from c strictly (unknown setting keys are errors),
// applies the defaults and validates it. It does no I/O.
func Decode(c adapters.Config) (Config, error) {
	fail := func(err error) (Config, error) {
		return Config{}, fmt.Errorf("amqp backend %q: %w", c.Backend, err)
	}
	s := c.Settings
	if err := settings.Strict(s, settingKeys); err != nil {
		return fail(err)
	}
	cfg := Config{
		Backend:    c.Backend,
		URL:        settings.Endpoint(s, "url", c.Endpoints),
		Exchange:   settings.String(s, "exchange"),
		Queue:      settings.String(s, "queue"),
		RoutingKey: settings.String(s, "routingKey"),
	}
	var err error
	if cfg.DeclareQueue, _, err = settings.Bool(s, "declareQueue"); err != nil {
		return fail(err)
	}
	if cfg.Timeout, err = settings.Duration(s, "timeout", "10s"); err != nil {
		return fail(err)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return fail(err)
	}
	return cfg, nil
}

// SetDefaults fills the settings left empty. An empty RoutingKey without a
// Queue stays empty: each delivery then uses its unit id.
func (c *Config) SetDefaults() {
	if c.RoutingKey == "" {
		c.RoutingKey = c.Queue
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
	if _, ok := settings.ParseURL(c.URL, "amqp", "amqps"); !ok {
		return fmt.Errorf("url: %s is not an amqp:// or amqps:// URL", redact(c.URL))
	}
	for _, f := range []struct{ key, v string }{{"exchange", c.Exchange}, {"queue", c.Queue}, {"routingKey", c.RoutingKey}} {
		if len(f.v) > 255 {
			return fmt.Errorf("%s: longer than 255 bytes", f.key)
		}
	}
	if c.DeclareQueue && c.Queue == "" {
		return errors.New("declareQueue: needs queue")
	}
	return settings.Positive("timeout", c.Timeout)
}

// redact hides a URL's password.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
