// Package settings decodes a backend's settings (adapters.Config.Settings,
// the registry's map of strings) the way every adapter does: strictly
// (unknown keys are errors that list the known ones), values trimmed,
// endpoint URLs taken from the backend's endpoints when not set, durations
// and booleans parsed with messages naming the key, secrets named by
// environment variables. Each adapter keeps its own keys, defaults and
// validation; this package holds only what they spell alike.
package settings

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// UnknownKey returns a key of s that is not in known, if there is one.
func UnknownKey(s map[string]string, known []string) (string, bool) {
	for k := range s {
		if !slices.Contains(known, k) {
			return k, true
		}
	}
	return "", false
}

// Strict returns an error naming a key of s that is not in known and
// listing the known keys, or nil.
func Strict(s map[string]string, known []string) error {
	if k, ok := UnknownKey(s, known); ok {
		return fmt.Errorf("unknown setting %q (known: %s)", k, strings.Join(known, ", "))
	}
	return nil
}

// String returns the setting key, trimmed ("" when absent).
func String(s map[string]string, key string) string {
	return strings.TrimSpace(s[key])
}

// Endpoint returns the setting key, trimmed, or when it is empty the
// backend's first endpoint, trimmed ("" when there is neither).
func Endpoint(s map[string]string, key string, endpoints []string) string {
	v := String(s, key)
	if v == "" && len(endpoints) > 0 {
		v = strings.TrimSpace(endpoints[0])
	}
	return v
}

// NoEndpoint is the error of an endpoint setting key left empty by a
// backend without endpoints.
func NoEndpoint(key string) error {
	return errors.New(key + ": required (or give the backend an endpoint)")
}

// ParseURL parses v as an absolute URL with a host and one of schemes.
func ParseURL(v string, schemes ...string) (*url.URL, bool) {
	u, err := url.Parse(v)
	if err != nil || !slices.Contains(schemes, u.Scheme) || u.Host == "" {
		return nil, false
	}
	return u, true
}

// Duration parses the setting key as a Go duration; 0 when absent. example
// ("10s") shows the form in the error.
func Duration(s map[string]string, key, example string) (time.Duration, error) {
	v := String(s, key)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a duration such as %s", key, v, example)
	}
	return d, nil
}

// Positive reports a duration setting that is not positive.
func Positive(key string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%s: %s, want a positive duration", key, d)
	}
	return nil
}

// Bool parses the setting key as true or false (strconv.ParseBool's
// spellings); ok is false when it is absent.
func Bool(s map[string]string, key string) (v, ok bool, err error) {
	raw := String(s, key)
	if raw == "" {
		return false, false, nil
	}
	v, err = strconv.ParseBool(raw)
	if err != nil {
		return false, false, fmt.Errorf("%s: %q, want true or false", key, raw)
	}
	return v, true, nil
}

// Pairs parses the setting key as a comma-separated list of name=value
// entries, trimmed, blank entries ignored; nil when there are none. form
// describes an entry in the errors ("ourField=theirField"), and twice says
// what a name given twice would be ("renamed" for "%q is renamed twice").
func Pairs(s map[string]string, key, form, twice string) (map[string]string, error) {
	var m map[string]string
	for _, e := range strings.Split(s[key], ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		name, value, ok := strings.Cut(e, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || value == "" {
			return nil, fmt.Errorf("%s: entry %q is not %s", key, e, form)
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("%s: %q is %s twice", key, name, twice)
		}
		if m == nil {
			m = map[string]string{}
		}
		m[name] = value
	}
	return m, nil
}

// EnvName reports a setting key whose value v, when set, is not a portable
// environment variable name (letters, digits and _, not starting with a
// digit).
func EnvName(key, v string) error {
	if v != "" && !isEnvName(v) {
		return fmt.Errorf("%s: %q is not an environment variable name (letters, digits, _)", key, v)
	}
	return nil
}

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

// Secret returns the value of the environment variable name, looked up with
// getenv at the time of use, for the setting key that names it. An empty
// variable is an error: nothing should be sent, and setting it and retrying
// can help.
func Secret(getenv func(string) string, key, name string) (string, error) {
	v := getenv(name)
	if v == "" {
		return "", fmt.Errorf("%s: the environment variable %s is empty", key, name)
	}
	return v, nil
}

// IsToken reports whether s is an RFC 9110 token, such as an HTTP header
// name.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
