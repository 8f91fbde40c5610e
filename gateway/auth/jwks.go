package auth

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"strings"
	"sync"
	"time"
)

// RSA modulus sizes accepted for verification keys. Keys below the minimum
// are too weak; the maximum bounds the cost of a verification.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// jwksCheckInterval is how often at most the JWKS file's mtime is checked.
const jwksCheckInterval = time.Second

// jwk is one key of a JSON Web Key Set (RFC 7517), only the members used.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// ParseJWKS parses a JSON Web Key Set, {"keys":[{"kty":"RSA","kid":…,
// "alg":"RS256","n":…,"e":…}]}, into its RS256 verification keys by key ID
// (a key without "kid" is under ""). Keys of another type (kty), another
// algorithm (alg) or use ("use" other than "sig") are skipped; a malformed
// RSA key, an RSA modulus under 2048 or over 8192 bits, a repeated kid or a
// set without any RS256 key is an error.
func ParseJWKS(data []byte) (map[string]*rsa.PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("JWKS is not valid JSON: %w", err)
	}
	keys := make(map[string]*rsa.PublicKey, len(set.Keys))
	for i, k := range set.Keys {
		if k.Kty != "RSA" || (k.Alg != "" && k.Alg != "RS256") || (k.Use != "" && k.Use != "sig") {
			continue
		}
		pub, err := k.rsaKey()
		if err != nil {
			return nil, fmt.Errorf("JWKS key %d (kid %q): %w", i, k.Kid, err)
		}
		if _, dup := keys[k.Kid]; dup {
			return nil, fmt.Errorf("JWKS key %d: kid %q appears twice", i, k.Kid)
		}
		keys[k.Kid] = pub
	}
	if len(keys) == 0 {
		return nil, errors.New(`JWKS has no RS256 signing key (kty "RSA")`)
	}
	return keys, nil
}

// rsaKey decodes the modulus and exponent of k.
func (k jwk) rsaKey() (*rsa.PublicKey, error) {
	n, err := decodeBase64URL(k.N)
	if err != nil {
		return nil, fmt.Errorf("n: %w", err)
	}
	e, err := decodeBase64URL(k.E)
	if err != nil {
		return nil, fmt.Errorf("e: %w", err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n)}
	if err := checkRSAKey(pub); err != nil {
		return nil, err
	}
	// The exponent is small in practice (65537); accept up to 31 bits.
	e = trimLeadingZeros(e)
	if len(e) == 0 || len(e) > 4 {
		return nil, errors.New("e: exponent out of range")
	}
	var ev uint64
	for _, b := range e {
		ev = ev<<8 | uint64(b)
	}
	if ev < 3 || ev >= 1<<31 || ev%2 == 0 {
		return nil, errors.New("e: exponent must be odd, at least 3 and below 2^31")
	}
	pub.E = int(ev)
	return pub, nil
}

// checkRSAKey checks the size of pub's modulus.
func checkRSAKey(pub *rsa.PublicKey) error {
	if bits := pub.N.BitLen(); bits < minRSABits || bits > maxRSABits {
		return fmt.Errorf("RSA modulus of %d bits; want %d to %d", bits, minRSABits, maxRSABits)
	}
	return nil
}

// decodeBase64URL decodes unpadded base64url, tolerating padding.
func decodeBase64URL(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("missing")
	}
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func trimLeadingZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// jwksFile is a JWKS file reloaded when it changes: at most once per
// jwksCheckInterval its mtime and size are compared with those of the copy
// in memory. A file that cannot be read or parsed leaves the previous keys
// in use (and is tried again at the next check).
type jwksFile struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex
	tried   bool      // a check has been made
	checked time.Time // when the last check was made
	mod     time.Time // mtime of the loaded copy
	size    int64     // size of the loaded copy
	keys    map[string]*rsa.PublicKey
	err     error // the last failure to load, nil after a success
}

// current returns the keys in force at now, checking the file first when the
// last check is at least jwksCheckInterval old. It returns an error only
// when the file has never been loaded.
func (f *jwksFile) current(now time.Time) (map[string]*rsa.PublicKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.tried || now.Before(f.checked) || now.Sub(f.checked) >= jwksCheckInterval {
		f.tried, f.checked = true, now
		f.reload()
	}
	if f.keys == nil {
		return nil, f.err
	}
	return f.keys, nil
}

// reload loads the file if it changed since the loaded copy. f.mu is held.
func (f *jwksFile) reload() {
	fi, err := os.Stat(f.path)
	if err != nil {
		f.fail(err)
		return
	}
	if f.keys != nil && fi.ModTime().Equal(f.mod) && fi.Size() == f.size {
		return
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		f.fail(err)
		return
	}
	keys, err := ParseJWKS(data)
	if err != nil {
		f.fail(fmt.Errorf("%s: %w", f.path, err))
		return
	}
	f.keys, f.mod, f.size, f.err = keys, fi.ModTime(), fi.Size(), nil
	f.log.Info("JWKS loaded", "file", f.path, "keys", len(keys))
}

// fail records err, logging it when it differs from the previous failure so
// that a persistent problem is not logged every second.
func (f *jwksFile) fail(err error) {
	if f.err == nil || f.err.Error() != err.Error() {
		f.log.Warn("JWKS not reloaded; keeping the keys in use", "file", f.path, "err", err)
	}
	f.err = err
}
