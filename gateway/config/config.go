// Package config is the server's YAML configuration: every key, its default and
// its validation. Decoding is strict (an unknown key is an error) and validation
// errors name the key, e.g. `store.driver: must be sqlite or postgres`.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard12345/switchboard/gateway/auth"
	"github.com/switchboard12345/switchboard/gateway/deadline"
)

// Config is the whole configuration. The field comments are the reference.
type Config struct {
	// HTTP is the REST API, OpenAPI document, metrics and probes.
	HTTP HTTP `yaml:"http"`
	// GRPC is the gRPC API.
	GRPC GRPC `yaml:"grpc"`
	// DataDir holds the SQLite database and other local state. Default ./data.
	DataDir string `yaml:"dataDir"`
	// Store selects where tickets live.
	Store Store `yaml:"store"`
	// Registry selects where the registry of units, legacy hotlines and
	// backends is kept.
	Registry Registry `yaml:"registry"`
	// Province is a province file (see deploy/examples/province.yaml) with the
	// units tickets are dispatched to. Empty: the example province when serving
	// with --demo, otherwise none.
	Province string `yaml:"province"`
	// Calendar is a working-day calendar file (public holidays and make-up
	// workdays); empty uses the built-in calendar for 2025–2027.
	Calendar string `yaml:"calendar"`
	// RetiredNumbers says what happens to a request dialed on a retired legacy
	// number: refuse (default; the caller is told to use 12345) or forward
	// (filed as if 12345 had been dialed, tagged with the old number).
	RetiredNumbers string `yaml:"retiredNumbers"`
	// Deadlines are the sign-for, reply and extension limits.
	Deadlines deadline.PolicyConfig `yaml:"deadlines"`
	// Dispatch sets how work orders are dispatched.
	Dispatch Dispatch `yaml:"dispatch"`
	// Log sets logging.
	Log Log `yaml:"log"`
	// Auth sets how callers are authenticated and where the access policy
	// comes from.
	Auth Auth `yaml:"auth"`
	// Intake sets what intake proposes for a new request.
	Intake Intake `yaml:"intake"`
	// ShutdownGrace is how long in-flight requests may take to finish on
	// shutdown. Default 10s.
	ShutdownGrace time.Duration `yaml:"shutdownGrace"`
}

// HTTP configures the HTTP listener.
type HTTP struct {
	// Addr to listen on. Default 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// MaxBodyBytes bounds a request body. Default 1048576 (1 MiB).
	MaxBodyBytes int64 `yaml:"maxBodyBytes"`
}

// GRPC configures the gRPC listener.
type GRPC struct {
	// Addr to listen on. Default 127.0.0.1:9090.
	Addr string `yaml:"addr"`
}

// Store configures the ticket store.
type Store struct {
	// Driver is sqlite (default: a file in dataDir, nothing to install) or
	// postgres (for several gateway instances sharing one database).
	Driver string `yaml:"driver"`
	// PostgresDSN is the PostgreSQL connection string, e.g.
	// postgres://user@127.0.0.1:5432/switchboard. Required for postgres.
	PostgresDSN string `yaml:"postgresDSN"`
	// MaxBatch bounds how many writes are committed together. Default 256.
	MaxBatch int `yaml:"maxBatch"`
}

// Registry configures the registry source.
type Registry struct {
	// Source is embedded (default: in the ticket store, for one node) or
	// consul (shared by many gateway instances).
	Source string `yaml:"source"`
	// Consul is used when source is consul.
	Consul Consul `yaml:"consul"`
}

// Consul configures the Consul agent the registry lives in.
type Consul struct {
	// Address of the agent's HTTP API. Default 127.0.0.1:8500.
	Address string `yaml:"address"`
	// Prefix of the registry's keys. Default switchboard/registry.
	Prefix string `yaml:"prefix"`
	// TokenEnv names an environment variable holding the ACL token.
	TokenEnv string `yaml:"tokenEnv"`
	// Register, when true, registers this gateway in the Consul catalog as
	// service "switchboard" with an HTTP health check of /readyz.
	Register bool `yaml:"register"`
}

// Dispatch configures dispatching.
type Dispatch struct {
	// AutoDispatch, when true (default), files a ticket for which intake
	// finds a unit — by a routing rule for its category and region, else the
	// handling unit of the legacy number dialed — already dispatched to it, in
	// the transaction that creates it. When false such tickets stay RECEIVED
	// with the unit as a suggestion for the operator.
	AutoDispatch bool `yaml:"autoDispatch"`
	// Deliver, when true (default), runs the dispatcher in this instance:
	// it delivers the outbox to the departments' systems. Several instances
	// on one PostgreSQL may all deliver.
	Deliver bool `yaml:"deliver"`
	// The dispatcher's defaults; a backend's own settings in the registry
	// (maxInFlight, timeout, breaker) win. Zero takes the built-in default.
	QueueCap            int           `yaml:"queueCap"`            // per backend, 64
	MaxInFlight         int           `yaml:"maxInFlight"`         // per backend, 8
	Timeout             time.Duration `yaml:"timeout"`             // per call, 5s
	MaxAttempts         int           `yaml:"maxAttempts"`         // then dead-letter, 10
	MaxAge              time.Duration `yaml:"maxAge"`              // then dead-letter, 72h
	BackoffBase         time.Duration `yaml:"backoffBase"`         // 1s
	BackoffMax          time.Duration `yaml:"backoffMax"`          // 5m
	ConsecutiveFailures int           `yaml:"consecutiveFailures"` // open the breaker, 5
	OpenFor             time.Duration `yaml:"openFor"`             // before a probe, 5s
	// WebhookWindow is how far a status webhook's timestamp may be from now,
	// either way (the replay window); zero takes 5m.
	WebhookWindow time.Duration `yaml:"webhookWindow"`
}

// Auth configures authentication and the access policy.
type Auth struct {
	// JWT accepts JWT bearer tokens of a single sign-on provider (HS256 or
	// RS256); with no key configured only the API tokens administrators
	// create are accepted.
	JWT auth.JWTFileConfig `yaml:"jwt"`
	// TokenCacheTTL is how long a successful token lookup is reused, and so
	// how long a revocation may take to be seen. Default 1s.
	TokenCacheTTL time.Duration `yaml:"tokenCacheTTL"`
	// Model is a Casbin model file; empty uses deploy/examples/model.conf.
	Model string `yaml:"model"`
	// Policy is a Casbin policy CSV that seeds an empty policy store; empty
	// seeds the example roles (and, with --demo, the demo principals).
	Policy string `yaml:"policy"`
}

// Intake configures the smart intake: models trained on the deployment's
// history (switchboard classify train), and the related-ticket search.
type Intake struct {
	// CategoryModel is a model file of text → category (code or taxonomy
	// name); empty: no category suggestions.
	CategoryModel string `yaml:"categoryModel"`
	// UnitModel is a model file of text → handling unit id; empty: units
	// are suggested by the routing rules for the suggested categories.
	UnitModel string `yaml:"unitModel"`
	// RelatedWindow is how far back near-duplicate requests are looked for
	// (open tickets of the same caller are found whatever their age).
	// Default 168h (7 days).
	RelatedWindow time.Duration `yaml:"relatedWindow"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is json (default) or text.
	Format string `yaml:"format"`
}

// Default returns the configuration with every default applied.
func Default() Config {
	return Config{
		HTTP:           HTTP{Addr: "127.0.0.1:8080", MaxBodyBytes: 1 << 20},
		GRPC:           GRPC{Addr: "127.0.0.1:9090"},
		DataDir:        "./data",
		Store:          Store{Driver: "sqlite", MaxBatch: 256},
		RetiredNumbers: "refuse",
		Registry:       Registry{Source: "embedded", Consul: Consul{Address: "127.0.0.1:8500", Prefix: "switchboard/registry"}},
		Deadlines:      deadline.DefaultPolicyConfig(),
		Dispatch:       Dispatch{AutoDispatch: true, Deliver: true},
		Log:            Log{Level: "info", Format: "json"},
		Auth:           Auth{TokenCacheTTL: time.Second},
		Intake:         Intake{RelatedWindow: 7 * 24 * time.Hour},
		ShutdownGrace:  10 * time.Second,
	}
}

// Load reads the file at path over the defaults and validates the result.
func Load(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading config: %w", err)
	}
	defer f.Close()
	c, err := Decode(f)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Decode reads YAML over the defaults, strictly, and validates the result.
func Decode(r io.Reader) (Config, error) {
	c := Default()
	b, err := io.ReadAll(r)
	if err != nil {
		return c, err
	}
	if len(bytes.TrimSpace(b)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("decoding: %w", err)
		}
	}
	return c, c.Validate()
}

// Validate checks every key and returns all problems, each naming its key.
func (c Config) Validate() error {
	var problems []string
	bad := func(key, format string, args ...any) {
		problems = append(problems, key+": "+fmt.Sprintf(format, args...))
	}
	for key, addr := range map[string]string{"http.addr": c.HTTP.Addr, "grpc.addr": c.GRPC.Addr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad(key, "must be host:port, got %q", addr)
		}
	}
	if c.HTTP.MaxBodyBytes < 1024 || c.HTTP.MaxBodyBytes > 64<<20 {
		bad("http.maxBodyBytes", "must be between 1024 and 67108864, got %d", c.HTTP.MaxBodyBytes)
	}
	if c.DataDir == "" {
		bad("dataDir", "required")
	}
	switch c.Store.Driver {
	case "sqlite":
	case "postgres":
		if c.Store.PostgresDSN == "" {
			bad("store.postgresDSN", "required when store.driver is postgres")
		}
	default:
		bad("store.driver", "must be sqlite or postgres, got %q", c.Store.Driver)
	}
	if c.Store.MaxBatch < 1 || c.Store.MaxBatch > 10000 {
		bad("store.maxBatch", "must be between 1 and 10000, got %d", c.Store.MaxBatch)
	}
	switch c.Registry.Source {
	case "embedded":
	case "consul":
		if _, _, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(c.Registry.Consul.Address, "http://"), "https://")); err != nil {
			bad("registry.consul.address", "must be host:port, got %q", c.Registry.Consul.Address)
		}
		if strings.Trim(c.Registry.Consul.Prefix, "/") == "" {
			bad("registry.consul.prefix", "required")
		}
	default:
		bad("registry.source", "must be embedded or consul, got %q", c.Registry.Source)
	}
	for key, v := range map[string]int{"dispatch.queueCap": c.Dispatch.QueueCap, "dispatch.maxInFlight": c.Dispatch.MaxInFlight,
		"dispatch.maxAttempts": c.Dispatch.MaxAttempts, "dispatch.consecutiveFailures": c.Dispatch.ConsecutiveFailures} {
		if v < 0 || v > 100000 {
			bad(key, "must be between 0 (the default) and 100000, got %d", v)
		}
	}
	for key, v := range map[string]time.Duration{"dispatch.timeout": c.Dispatch.Timeout, "dispatch.maxAge": c.Dispatch.MaxAge,
		"dispatch.backoffBase": c.Dispatch.BackoffBase, "dispatch.backoffMax": c.Dispatch.BackoffMax, "dispatch.openFor": c.Dispatch.OpenFor,
		"dispatch.webhookWindow": c.Dispatch.WebhookWindow} {
		if v < 0 {
			bad(key, "must not be negative, got %s", v)
		}
	}
	switch c.RetiredNumbers {
	case "refuse", "forward":
	default:
		bad("retiredNumbers", "must be refuse or forward, got %q", c.RetiredNumbers)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		bad("log.format", "must be json or text, got %q", c.Log.Format)
	}
	if c.Intake.RelatedWindow < 0 || c.Intake.RelatedWindow > 366*24*time.Hour {
		bad("intake.relatedWindow", "must be between 0s and 8784h, got %s", c.Intake.RelatedWindow)
	}
	if c.Auth.TokenCacheTTL < 0 || c.Auth.TokenCacheTTL > time.Minute {
		bad("auth.tokenCacheTTL", "must be between 0s and 1m, got %s", c.Auth.TokenCacheTTL)
	}
	if c.Auth.JWT.Leeway < 0 || c.Auth.JWT.Leeway > 10*time.Minute {
		bad("auth.jwt.leeway", "must be between 0s and 10m, got %s", c.Auth.JWT.Leeway)
	}
	if c.Auth.JWT.HS256Secret != "" && c.Auth.JWT.HS256SecretFile != "" {
		bad("auth.jwt.hs256Secret", "set either hs256Secret or hs256SecretFile, not both")
	}
	if c.ShutdownGrace < 0 || c.ShutdownGrace > 10*time.Minute {
		bad("shutdownGrace", "must be between 0s and 10m, got %s", c.ShutdownGrace)
	}
	if err := c.Deadlines.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			problems = append(problems, "deadlines."+line)
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}
