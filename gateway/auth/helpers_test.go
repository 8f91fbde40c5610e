package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/store"
)

// fakeStore implements the parts of store.Auth the Authenticator uses; the
// other methods panic (through the nil embedded interface). The real stores
// are checked by the store conformance suite.
type fakeStore struct {
	store.Auth

	mu         sync.Mutex
	principals map[string]store.Principal
	tokens     map[string]store.Token // by string(hash)
	err        error                  // when set, every lookup fails with it
	lookups    int
}

func newFakeStore() *fakeStore {
	return &fakeStore{principals: map[string]store.Principal{}, tokens: map[string]store.Token{}}
}

func (s *fakeStore) PutPrincipal(_ context.Context, p store.Principal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.principals[p.ID] = p
	return nil
}

func (s *fakeStore) GetPrincipal(_ context.Context, id string) (store.Principal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	if s.err != nil {
		return store.Principal{}, s.err
	}
	p, ok := s.principals[id]
	if !ok {
		return store.Principal{}, fmt.Errorf("getting principal %q: %w", id, store.ErrPrincipalNotFound)
	}
	return p, nil
}

func (s *fakeStore) CreateToken(_ context.Context, t store.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.principals[t.Principal]; !ok {
		return store.ErrPrincipalNotFound
	}
	s.tokens[string(t.Hash)] = t
	return nil
}

func (s *fakeStore) TokenByHash(_ context.Context, hash []byte) (store.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	if s.err != nil {
		return store.Token{}, s.err
	}
	t, ok := s.tokens[string(hash)]
	if !ok {
		return store.Token{}, fmt.Errorf("token by hash: %w", store.ErrTokenNotFound)
	}
	return t, nil
}

func (s *fakeStore) RevokeToken(_ context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, t := range s.tokens {
		if t.ID == id {
			if t.RevokedAt.IsZero() {
				t.RevokedAt = at
			}
			s.tokens[h] = t
			return nil
		}
	}
	return store.ErrTokenNotFound
}

func (s *fakeStore) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *fakeStore) lookupCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testKeys are RSA keys shared by the tests (generating one takes a while).
var testKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

// testSecret is an HS256 secret of 32 bytes.
var testSecret = []byte("0123456789abcdef0123456789abcdef")

// Principals of the fixture.
var (
	lina     = store.Principal{ID: "u-lina", Name: "李娜", Kind: store.PrincipalUser, Unit: "广东省人社厅"}
	zhang    = store.Principal{ID: "u-张伟", Name: "张伟", Kind: store.PrincipalUser, Unit: "广州市12345热线"}
	disabled = store.Principal{ID: "u-old", Name: "王芳", Kind: store.PrincipalUser, Disabled: true}
	service  = store.Principal{ID: "svc-gd-hrss", Name: "人社厅接口", Kind: store.PrincipalService}
)

// fixture is an Authenticator over a fake store holding the principals above.
type fixture struct {
	a     *Authenticator
	store *fakeStore
	clock *fakeClock
}

func newFixture(t testing.TB, jc *JWTConfig, ttl time.Duration) *fixture {
	t.Helper()
	f := &fixture{store: newFakeStore(), clock: newFakeClock()}
	for _, p := range []store.Principal{lina, zhang, disabled, service} {
		if err := f.store.PutPrincipal(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	a, err := New(Options{Store: f.store, JWT: jc, Now: f.clock.Now, CacheTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	f.a = a
	return f
}

// addToken stores a new API token of principal and returns its secret.
func (f *fixture) addToken(t testing.TB, id, principal string, mod func(*store.Token)) string {
	t.Helper()
	secret, hash, err := NewToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := store.Token{ID: id, Principal: principal, Hash: hash, CreatedAt: f.clock.Now()}
	if mod != nil {
		mod(&tok)
	}
	if err := f.store.CreateToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	return secret
}

// claims returns valid claims for sub at now, changed by mod.
func claims(sub string, now time.Time, mod func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{
		"sub": sub,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
	if mod != nil {
		mod(c)
	}
	return c
}

func signHS(t testing.TB, key []byte, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signRS(t testing.TB, key *rsa.PrivateKey, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pemPublic returns pub as a PKIX PEM block.
func pemPublic(t testing.TB, pub *rsa.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func writeFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// jwkJSON is the JWK of pub under kid.
func jwkJSON(kid string, pub *rsa.PublicKey) map[string]string {
	return map[string]string{
		"kty": "RSA",
		"kid": kid,
		"alg": "RS256",
		"use": "sig",
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// jwksJSON is a key set of pubs by kid.
func jwksJSON(t testing.TB, pubs map[string]*rsa.PublicKey) []byte {
	t.Helper()
	var keys []map[string]string
	for kid, pub := range pubs {
		keys = append(keys, jwkJSON(kid, pub))
	}
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeJWKS writes the key set to path and sets its mtime to mod, so that a
// rewrite is seen whatever the file system's timestamp resolution.
func writeJWKS(t testing.TB, path string, data []byte, mod time.Time) {
	t.Helper()
	writeFile(t, path, data)
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func tempPath(t testing.TB, name string) string {
	return filepath.Join(t.TempDir(), name)
}

// wantErr checks that err is of kind k with a message containing substr and
// not containing secret.
func wantErr(t testing.TB, err error, k errs.Kind, substr, secret string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v %q", k, substr)
	}
	if got := errs.KindOf(err); got != k {
		t.Fatalf("error %q of kind %v, want %v", err, got, k)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q, want it to contain %q", err, substr)
	}
	if secret != "" && strings.Contains(err.Error(), secret) {
		t.Fatalf("error %q quotes the token", err)
	}
}
