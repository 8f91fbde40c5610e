package registry

import "time"

// Backend is one department system that work orders are delivered to.
type Backend struct {
	// ID is unique, e.g. "gz-samr-rest".
	ID string `yaml:"id" json:"id"`
	// Unit is the unit the backend serves.
	Unit string `yaml:"unit" json:"unit"`
	// Kind is the adapter kind: rest, open311, soap, smtp, amqp or manual.
	Kind string `yaml:"kind" json:"kind"`
	// Endpoints are static addresses; Service names a Consul service whose
	// passing instances are the endpoints instead.
	Endpoints []string `yaml:"endpoints,omitempty" json:"endpoints,omitempty"`
	Service   string   `yaml:"service,omitempty" json:"service,omitempty"`
	// Config is the adapter's own settings (field mapping, template, mailbox …).
	Config map[string]string `yaml:"config,omitempty" json:"config,omitempty"`
	// Categories, when set, limit the backend to these category code prefixes
	// (a unit may use different systems for different categories).
	Categories []string `yaml:"categories,omitempty" json:"categories,omitempty"`
	// MaxInFlight bounds concurrent deliveries (the bulkhead); 0 = default.
	MaxInFlight int `yaml:"maxInFlight,omitempty" json:"maxInFlight,omitempty"`
	// Timeout bounds one delivery; 0 = default.
	Timeout time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Breaker tunes the circuit breaker; zero values take defaults.
	Breaker BreakerSettings `yaml:"breaker,omitempty" json:"breaker,omitzero"`
}

// BreakerSettings tune a backend's circuit breaker.
type BreakerSettings struct {
	// ConsecutiveFailures that open the breaker.
	ConsecutiveFailures int `yaml:"consecutiveFailures,omitempty" json:"consecutiveFailures,omitempty"`
	// OpenFor is how long it stays open before a probe.
	OpenFor time.Duration `yaml:"openFor,omitempty" json:"openFor,omitempty"`
	// HalfOpenProbes is how many calls a half-open breaker lets through.
	HalfOpenProbes int `yaml:"halfOpenProbes,omitempty" json:"halfOpenProbes,omitempty"`
}

// BackendKinds are the adapter kinds a backend may name.
var BackendKinds = []string{"rest", "open311", "soap", "smtp", "amqp", "manual"}
