package open311

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/internal/settings"
)

// DefaultTimeout bounds one HTTP request when "timeout" is not set.
const DefaultTimeout = 10 * time.Second

// Config is the typed configuration of one Open311 GeoReport v2 backend,
// decoded from adapters.Config (the backend's endpoints and its settings).
// Each field names the setting key it comes from; unknown keys are errors.
type Config struct {
	// Backend is the backend's name, for messages.
	Backend string

	// URL ("url") is the base of the GeoReport v2 API, http or https, e.g.
	// http://host/open311/v2 (requests go to {url}/requests.json,
	// {url}/tokens/{token}.json and {url}/services.json). When empty the
	// backend's first endpoint is used.
	URL string

	// APIKey ("apiKey") is sent as api_key when a service request is
	// posted (GeoReport requires it for POST only; it is not put into the
	// URLs of GET requests, which end up in logs).
	APIKey string

	// APIKeyEnv ("apiKeyEnv") names an environment variable holding the API
	// key instead, read at each delivery, so that the key need not be kept
	// in the registry. Set apiKey or apiKeyEnv, not both.
	APIKeyEnv string

	// JurisdictionID ("jurisdictionId") is sent as jurisdiction_id with
	// every request when set (servers that host one jurisdiction ignore
	// it).
	JurisdictionID string

	// ServiceCodes ("serviceCodeMap") maps a work order's category (a
	// taxonomy code such as 110408) to a GeoReport service_code, as a
	// comma-separated list of categoryPrefix=service_code; the longest
	// matching prefix wins, and the key "default" applies when none
	// matches (and to work orders without a category). Example:
	// "1104=consumer-complaint,11=market,default=general". Without a
	// default, a work order whose category matches no prefix is refused
	// (Permanent) before anything is sent.
	ServiceCodes map[string]string

	// Timeout ("timeout") bounds one HTTP request, as a Go duration
	// ("10s"), within the caller's own deadline. Default 10s. Polling a
	// token for the service request id is bounded by the caller's deadline
	// only.
	Timeout time.Duration
}

// settingKeys are the keys Decode understands.
var settingKeys = []string{"url", "apiKey", "apiKeyEnv", "jurisdictionId", "serviceCodeMap", "timeout"}

// defaultKey is the serviceCodeMap key used when no prefix matches.
const defaultKey = "default"

// Decode builds a Config from c strictly (unknown setting keys are errors),
// applies the defaults and validates it. It does no I/O.
func Decode(c adapters.Config) (Config, error) {
	fail := func(err error) (Config, error) {
		return Config{}, fmt.Errorf("open311 backend %q: %w", c.Backend, err)
	}
	s := c.Settings
	if err := settings.Strict(s, settingKeys); err != nil {
		return fail(err)
	}
	cfg := Config{
		Backend:        c.Backend,
		URL:            settings.Endpoint(s, "url", c.Endpoints),
		APIKey:         settings.String(s, "apiKey"),
		APIKeyEnv:      settings.String(s, "apiKeyEnv"),
		JurisdictionID: settings.String(s, "jurisdictionId"),
	}
	var err error
	if cfg.Timeout, err = settings.Duration(s, "timeout", "10s"); err != nil {
		return fail(err)
	}
	if cfg.ServiceCodes, err = settings.Pairs(s, "serviceCodeMap", "categoryPrefix=service_code", "mapped"); err != nil {
		return fail(err)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return fail(err)
	}
	return cfg, nil
}

// SetDefaults fills the settings left empty and normalises the URL.
func (c *Config) SetDefaults() {
	c.URL = strings.TrimRight(c.URL, "/")
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
}

// Validate reports the first setting that is wrong, naming its key.
func (c Config) Validate() error {
	if c.URL == "" {
		return settings.NoEndpoint("url")
	}
	if u, ok := settings.ParseURL(c.URL, "http", "https"); !ok || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("url: %q is not the http(s) base URL of a GeoReport v2 API", c.URL)
	}
	if c.APIKey != "" && c.APIKeyEnv != "" {
		return errors.New("apiKey, apiKeyEnv: set one, not both")
	}
	if err := settings.EnvName("apiKeyEnv", c.APIKeyEnv); err != nil {
		return err
	}
	if len(c.ServiceCodes) == 0 {
		return errors.New("serviceCodeMap: required, e.g. 1104=consumer-complaint,default=general")
	}
	return settings.Positive("timeout", c.Timeout)
}

// ServiceCode returns the service_code for a work order's category: the
// code of the longest prefix of category in ServiceCodes, or the default.
func (c Config) ServiceCode(category string) (string, bool) {
	best, code := -1, ""
	for prefix, sc := range c.ServiceCodes {
		if prefix != defaultKey && strings.HasPrefix(category, prefix) && len(prefix) > best {
			best, code = len(prefix), sc
		}
	}
	if best >= 0 {
		return code, true
	}
	code, ok := c.ServiceCodes[defaultKey]
	return code, ok
}
