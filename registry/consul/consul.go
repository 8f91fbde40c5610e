// Package consul keeps the registry (registry.Source) in Consul's key/value
// store, so that many gateway instances share one registry and see each
// other's changes at once, and finds backend instances through Consul's
// catalog (Endpoints, Register).
//
// # Layout
//
// Everything lives under Config.Prefix (default "switchboard/registry"):
//
//	<prefix>/state/current                      JSON: id of the generation in force, revision epoch
//	<prefix>/state/revision                     JSON: epoch and last change; written by every change
//	<prefix>/state/gen/<id>/meta                JSON: province name, counts, importing actor
//	<prefix>/state/gen/<id>/units/<seq>         JSON array: a chunk of units, in file order (parents first)
//	<prefix>/state/gen/<id>/backends/<seq>      JSON array: a chunk of backends, in file order
//	<prefix>/state/gen/<id>/rules/<seq>         JSON array: a chunk of routing rules, in file order
//	<prefix>/state/gen/<id>/hotlines/<number>/<validFrom or "-">
//	                                            JSON of one use of a number; its ModifyIndex is its Revision
//	<prefix>/history/<number>/<%010d>           JSON of one StatusChange, oldest first
//
// # Atomic imports
//
// A province needs more keys than one Consul transaction may hold (64
// operations in Consul 1.14). Import therefore writes a new generation under
// state/gen/<id>/ with as many transactions as it needs, none of which a
// reader looks at, and then makes it visible with a single transaction that
// compare-and-sets state/current to <id>, bumps state/revision and deletes the
// old generation. Readers list state/ in one consistent read and follow
// state/current, so they see the old registry or the new one, never a mix. A
// status change compare-and-sets the hotline's key, so an edit based on a
// generation that an import replaced meanwhile fails with a Conflict. History
// lives outside the generations and survives imports.
//
// # Watching
//
// Every change writes state/revision in the same transaction, so Watch is one
// blocking query on that single key, which wakes only for registry changes
// (a blocking list of the whole prefix would also wake for history writes
// and for in-progress imports). The registry revision is that key's
// ModifyIndex plus an epoch fixed by the first import into an empty prefix,
// so that a Consul rebuilt from nothing, whose indexes start again at 1,
// never repeats a revision a watcher has already seen.
package consul

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/switchboard12345/switchboard/internal/errs"
)

// DefaultPrefix is where the registry is kept unless Config.Prefix says otherwise.
const DefaultPrefix = "switchboard/registry"

// Config says which Consul to use and where in its key/value store.
type Config struct {
	// Address of the Consul agent's HTTP API, "host:port" or
	// "http(s)://host:port". Empty: $CONSUL_HTTP_ADDR, else 127.0.0.1:8500.
	Address string
	// Prefix of the registry's keys, without leading or trailing slash
	// (default "switchboard/registry"). Instances sharing a registry share it.
	Prefix string
	// Token is the ACL token. Empty: $CONSUL_HTTP_TOKEN, if set.
	Token string
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
	// Now tells the time (nil: time.Now). It only dates the first import
	// into an empty prefix, which starts the registry's revision epoch.
	Now func() time.Time
}

// withDefaults returns c with its defaults applied.
func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate checks the configuration (after defaults), naming the bad field.
func (c Config) Validate() error {
	c = c.withDefaults()
	var v errs.Violations
	switch {
	case strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/"):
		v.Add("prefix", "must not start or end with a slash: %q", c.Prefix)
	case strings.Contains(c.Prefix, "//"):
		v.Add("prefix", "must not contain an empty segment: %q", c.Prefix)
	case strings.ContainsAny(c.Prefix, " \t\n"):
		v.Add("prefix", "must not contain spaces: %q", c.Prefix)
	}
	if scheme, _, ok := strings.Cut(c.Address, "://"); ok && scheme != "http" && scheme != "https" {
		v.Add("address", "scheme must be http or https, not %q", scheme)
	}
	if strings.ContainsAny(c.Address, " \t\n") {
		v.Add("address", "must not contain spaces: %q", c.Address)
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("consul registry config: %w", err)
	}
	return nil
}

// Source is a registry.Source kept in Consul. It is safe for concurrent use.
type Source struct {
	client *api.Client
	kv     *api.KV
	prefix string
	log    *slog.Logger
	now    func() time.Time
}

// New returns a Source for cfg. It does no network I/O: an unreachable Consul
// shows up as Transient errors of the first calls.
func New(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	client, err := api.NewClient(&api.Config{Address: cfg.Address, Token: cfg.Token})
	if err != nil {
		return nil, fmt.Errorf("consul registry: creating client: %w", err)
	}
	return &Source{client: client, kv: client.KV(), prefix: cfg.Prefix, log: cfg.Logger, now: cfg.Now}, nil
}
