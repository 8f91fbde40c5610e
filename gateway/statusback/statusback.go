// Package statusback takes status back from department systems: what a
// department did with a work order (sign 签收, return 退单, extension request
// 延期申请, reply 回复) reaches the ticket's lifecycle either by a signed
// webhook the department's system calls (Handler) or by polling systems whose
// adapter can list updates (Poller, for Open311's service request updates).
//
// Both hand each update to an Applier (service.Tickets.ApplyUpdate), which
// writes the change with the update key "backendID/updateID" in the same
// transaction, so an update that arrives twice (a retried webhook, an
// overlapping poll, or both ways) is applied once.
//
// The settings live in the registry backend's Config next to the adapter's
// own: webhookSecret or webhookSecretEnv (the HMAC secret of the backend's
// webhooks) and pollInterval (how often a polling backend is asked).
// AdapterSettings removes them before the adapter sees the Config.
package statusback

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/registry"
)

// Backend Config keys this package reads.
const (
	// KeyWebhookSecret is the webhook secret itself (for demos and tests).
	KeyWebhookSecret = "webhookSecret"
	// KeyWebhookSecretEnv names an environment variable holding the secret,
	// read at each request (preferred: the secret stays out of the registry).
	KeyWebhookSecretEnv = "webhookSecretEnv"
	// KeyPollInterval is a Go duration ("30s"): how often a backend whose
	// adapter is an adapters.UpdateFetcher is polled. "off" disables polling.
	KeyPollInterval = "pollInterval"
)

// gatewayKeys are the Config keys that belong to the gateway, not the adapter.
var gatewayKeys = []string{KeyWebhookSecret, KeyWebhookSecretEnv, KeyPollInterval}

// AdapterSettings returns settings without the keys this package reads, for
// an adapter factory that refuses keys it does not know. settings itself is
// not modified.
func AdapterSettings(settings map[string]string) map[string]string {
	has := false
	for _, k := range gatewayKeys {
		if _, ok := settings[k]; ok {
			has = true
		}
	}
	if !has {
		return settings
	}
	out := maps.Clone(settings)
	for _, k := range gatewayKeys {
		delete(out, k)
	}
	return out
}

// WrapFactory returns f applied to configs whose settings went through
// AdapterSettings, so that a backend may carry webhook and polling settings
// whatever its adapter kind.
func WrapFactory(f adapters.Factory) adapters.Factory {
	return func(c adapters.Config) (adapters.Adapter, error) {
		c.Settings = AdapterSettings(c.Settings)
		return f(c)
	}
}

// Applier applies one status update a backend reported (service.Tickets).
// It fails with store.ErrDuplicateUpdate when the update was applied before.
type Applier interface {
	ApplyUpdate(ctx context.Context, b registry.Backend, u adapters.Update) error
}

// secret returns backend b's webhook secret, and "" when none is configured
// (or its environment variable is empty).
func secret(b registry.Backend, getenv func(string) string) (s string, where string) {
	if name := strings.TrimSpace(b.Config[KeyWebhookSecretEnv]); name != "" {
		return getenv(name), "environment variable " + name
	}
	return b.Config[KeyWebhookSecret], KeyWebhookSecret
}

// DefaultPollInterval is the polling period when pollInterval is not set.
const DefaultPollInterval = 30 * time.Second

// MinPollInterval bounds pollInterval from below, sparing department systems.
const MinPollInterval = 10 * time.Millisecond

// pollInterval returns b's polling period; ok is false when polling is off.
func pollInterval(b registry.Backend) (d time.Duration, ok bool, err error) {
	v := strings.TrimSpace(b.Config[KeyPollInterval])
	switch v {
	case "":
		return DefaultPollInterval, true, nil
	case "off":
		return 0, false, nil
	}
	d, err = time.ParseDuration(v)
	if err != nil || d < MinPollInterval {
		return 0, false, &configError{key: KeyPollInterval, value: v}
	}
	return d, true, nil
}

type configError struct{ key, value string }

func (e *configError) Error() string {
	return fmt.Sprintf("%s: %.40q is not a duration of at least %s (e.g. 30s) or off", e.key, e.value, MinPollInterval)
}

// lookup returns the backend id of the current snapshot.
func lookup(snap *registry.Snapshot, id string) (registry.Backend, bool) {
	if snap == nil {
		return registry.Backend{}, false
	}
	for _, b := range snap.Backends() {
		if b.ID == id {
			return b, true
		}
	}
	return registry.Backend{}, false
}
