package open311

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
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
	for k := range c.Settings {
		if !slices.Contains(settingKeys, k) {
			return Config{}, fmt.Errorf("open311 backend %q: unknown setting %q (known: %s)", c.Backend, k, strings.Join(settingKeys, ", "))
		}
	}
	s := c.Settings
	cfg := Config{
		Backend:        c.Backend,
		URL:            strings.TrimSpace(s["url"]),
		APIKey:         strings.TrimSpace(s["apiKey"]),
		APIKeyEnv:      strings.TrimSpace(s["apiKeyEnv"]),
		JurisdictionID: strings.TrimSpace(s["jurisdictionId"]),
	}
	if cfg.URL == "" && len(c.Endpoints) > 0 {
		cfg.URL = strings.TrimSpace(c.Endpoints[0])
	}
	if v := strings.TrimSpace(s["timeout"]); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return Config{}, fmt.Errorf("open311 backend %q: timeout: %q is not a duration such as 10s", c.Backend, v)
		}
		cfg.Timeout = d
	}
	m, err := parseServiceCodeMap(s["serviceCodeMap"])
	if err != nil {
		return Config{}, fmt.Errorf("open311 backend %q: %w", c.Backend, err)
	}
	cfg.ServiceCodes = m
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("open311 backend %q: %w", c.Backend, err)
	}
	return cfg, nil
}

// parseServiceCodeMap parses "prefix=code,…,default=code".
func parseServiceCodeMap(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		prefix, code, ok := strings.Cut(e, "=")
		prefix, code = strings.TrimSpace(prefix), strings.TrimSpace(code)
		if !ok || prefix == "" || code == "" {
			return nil, fmt.Errorf("serviceCodeMap: entry %q is not categoryPrefix=service_code", e)
		}
		if _, dup := m[prefix]; dup {
			return nil, fmt.Errorf("serviceCodeMap: %q is mapped twice", prefix)
		}
		m[prefix] = code
	}
	return m, nil
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
		return errors.New("url: required (or give the backend an endpoint)")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("url: %q is not the http(s) base URL of a GeoReport v2 API", c.URL)
	}
	if c.APIKey != "" && c.APIKeyEnv != "" {
		return errors.New("apiKey, apiKeyEnv: set one, not both")
	}
	if c.APIKeyEnv != "" && !isEnvName(c.APIKeyEnv) {
		return fmt.Errorf("apiKeyEnv: %q is not an environment variable name (letters, digits, _)", c.APIKeyEnv)
	}
	if len(c.ServiceCodes) == 0 {
		return errors.New("serviceCodeMap: required, e.g. 1104=consumer-complaint,default=general")
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("timeout: %s, want a positive duration", c.Timeout)
	}
	return nil
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

// isEnvName reports whether s is a portable environment variable name.
func isEnvName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}
