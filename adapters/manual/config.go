package manual

import (
	"fmt"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/internal/settings"
)

// Config is the typed configuration of one manual backend. A manual backend
// has no endpoints and, so far, no settings: every setting key is an error,
// so that a typo is not silently ignored.
type Config struct {
	// Backend is the backend's name, for messages.
	Backend string
}

// settingKeys are the keys Decode understands.
var settingKeys []string

// Decode builds a Config from c strictly. It does no I/O.
func Decode(c adapters.Config) (Config, error) {
	if k, ok := settings.UnknownKey(c.Settings, settingKeys); ok {
		return Config{}, fmt.Errorf("manual backend %q: unknown setting %q (a manual backend takes none)", c.Backend, k)
	}
	return Config{Backend: c.Backend}, nil
}
