package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/store"
)

func TestAuthenticateAPIToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, 0)
	now := f.clock.Now()
	ok := f.addToken(t, "tok-ok", lina.ID, nil)
	chinese := f.addToken(t, "tok-zh", zhang.ID, nil)
	revoked := f.addToken(t, "tok-revoked", lina.ID, func(tok *store.Token) { tok.RevokedAt = now.Add(-time.Minute) })
	expired := f.addToken(t, "tok-expired", lina.ID, func(tok *store.Token) { tok.ExpiresAt = now })
	future := f.addToken(t, "tok-future", service.ID, func(tok *store.Token) { tok.ExpiresAt = now.Add(time.Hour) })
	off := f.addToken(t, "tok-disabled", disabled.ID, nil)
	if err := f.store.PutPrincipal(context.Background(), store.Principal{ID: "u-gone"}); err != nil {
		t.Fatal(err)
	}
	orphan := f.addToken(t, "tok-orphan", "u-gone", nil)
	delete(f.store.principals, "u-gone") // deleted since; no test runs yet
	unknown, _, _ := NewToken(nil)

	tests := []struct {
		name   string
		header string
		secret string // must not appear in the error
		want   store.Principal
		errMsg string // empty: success
	}{
		{"ok", "Bearer " + ok, ok, lina, ""},
		{"scheme in any case", "bEaReR " + ok, ok, lina, ""},
		{"extra spaces", "  Bearer \t  " + ok + " ", ok, lina, ""},
		{"chinese names survive", "Bearer " + chinese, chinese, zhang, ""},
		{"expiry in the future", "Bearer " + future, future, service, ""},
		{"unknown", "Bearer " + unknown, unknown, store.Principal{}, "unknown API token"},
		{"revoked", "Bearer " + revoked, revoked, store.Principal{}, "API token tok-revoked was revoked"},
		{"expired", "Bearer " + expired, expired, store.Principal{}, "API token tok-expired expired"},
		{"disabled principal", "Bearer " + off, off, store.Principal{}, `principal "u-old" is disabled`},
		{"principal gone", "Bearer " + orphan, orphan, store.Principal{}, `principal "u-gone", which no longer exists`},
		{"malformed", "Bearer sbt_short", "sbt_short", store.Principal{}, "malformed API token"},
		{"missing", "", "", store.Principal{}, "missing bearer token (header Authorization: Bearer …)"},
		{"blank", "  \t ", "", store.Principal{}, "missing bearer token"},
		{"scheme only", "Bearer", "", store.Principal{}, "missing bearer token"},
		{"scheme and spaces", "Bearer   ", "", store.Principal{}, "missing bearer token"},
		{"bare token", ok, ok, store.Principal{}, "not a bearer token"},
		{"basic", "Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", store.Principal{}, "not a bearer token"},
		{"two tokens", "Bearer " + ok + " " + ok, ok, store.Principal{}, "malformed bearer token"},
		{"not ascii", "Bearer sbt_令牌", "令牌", store.Principal{}, "malformed bearer token"},
		{"other token", "Bearer abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz", store.Principal{}, "unrecognised bearer token"},
		{"control character", "Bearer sbt_\x00abc", "", store.Principal{}, "malformed bearer token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := f.a.Authenticate(context.Background(), tc.header)
			if tc.errMsg != "" {
				wantErr(t, err, errs.Unauthenticated, tc.errMsg, tc.secret)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p != tc.want {
				t.Errorf("principal %+v, want %+v", p, tc.want)
			}
		})
	}
}

func TestBearerTooLong(t *testing.T) {
	t.Parallel()
	long := make([]byte, maxBearerLen+1)
	for i := range long {
		long[i] = 'a'
	}
	_, err := bearerToken("Bearer " + string(long))
	wantErr(t, err, errs.Unauthenticated, "longer than", string(long))
}

func TestRevocationAfterCacheTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, 2*time.Second)
	secret := f.addToken(t, "tok-1", lina.ID, nil)
	header := "Bearer " + secret

	if _, err := f.a.Authenticate(ctx, header); err != nil {
		t.Fatal(err)
	}
	lookups := f.store.lookupCount()
	if err := f.store.RevokeToken(ctx, "tok-1", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	// Within the TTL the cached lookup is reused: no store access.
	f.clock.Advance(time.Second)
	if _, err := f.a.Authenticate(ctx, header); err != nil {
		t.Fatalf("within the cache TTL: %v", err)
	}
	if n := f.store.lookupCount(); n != lookups {
		t.Errorf("%d store lookups within the cache TTL, want none", n-lookups)
	}
	// Once the TTL has passed, the revocation is seen.
	f.clock.Advance(time.Second)
	_, err := f.a.Authenticate(ctx, header)
	wantErr(t, err, errs.Unauthenticated, "revoked", secret)
}

func TestDisabledAfterCacheTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, 0) // DefaultCacheTTL
	secret := f.addToken(t, "tok-1", service.ID, nil)
	if _, err := f.a.Authenticate(ctx, "Bearer "+secret); err != nil {
		t.Fatal(err)
	}
	off := service
	off.Disabled = true
	if err := f.store.PutPrincipal(ctx, off); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(DefaultCacheTTL)
	_, err := f.a.Authenticate(ctx, "Bearer "+secret)
	wantErr(t, err, errs.Unauthenticated, "disabled", secret)
}

func TestCachingOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, -1)
	secret := f.addToken(t, "tok-1", lina.ID, nil)
	for range 3 {
		if _, err := f.a.Authenticate(ctx, "Bearer "+secret); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.store.lookupCount(); n != 6 {
		t.Errorf("%d store lookups for 3 requests without cache, want 6", n)
	}
}

func TestFailuresNotCached(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, time.Hour)
	secret, hash, err := NewToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.a.Authenticate(ctx, "Bearer "+secret)
	wantErr(t, err, errs.Unauthenticated, "unknown API token", secret)
	// The token is created after a failed attempt: it works at once.
	if err := f.store.CreateToken(ctx, store.Token{ID: "tok-late", Principal: lina.ID, Hash: hash}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Authenticate(ctx, "Bearer "+secret); err != nil {
		t.Fatalf("token created after a failed attempt: %v", err)
	}
}

func TestStoreUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, 0)
	secret := f.addToken(t, "tok-1", lina.ID, nil)
	down := errors.New("connection refused")
	f.store.setErr(down)
	_, err := f.a.Authenticate(ctx, "Bearer "+secret)
	wantErr(t, err, errs.Transient, "credential store could not be read", secret)
	if !errors.Is(err, down) {
		t.Errorf("error %v does not wrap the store's", err)
	}
	var e *errs.Error
	if errors.As(err, &e) && e.Msg != "authentication unavailable: the credential store could not be read" {
		t.Errorf("message %q shows the cause to the caller", e.Msg)
	}
}

func TestClockBackwards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil, time.Hour)
	secret := f.addToken(t, "tok-1", lina.ID, nil)
	if _, err := f.a.Authenticate(ctx, "Bearer "+secret); err != nil {
		t.Fatal(err)
	}
	n := f.store.lookupCount()
	f.clock.Advance(-time.Minute)
	if _, err := f.a.Authenticate(ctx, "Bearer "+secret); err != nil {
		t.Fatal(err)
	}
	if f.store.lookupCount() == n {
		t.Error("an entry from the future was reused")
	}
}

func TestCacheBounded(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	c := newTTLCache[int](time.Minute, 3)
	for i, k := range []string{"a", "b", "c"} {
		c.put(k, i, now)
	}
	c.put("a", 10, now) // replacing keeps the others
	if c.len() != 3 {
		t.Fatalf("%d entries, want 3", c.len())
	}
	c.put("d", 4, now) // full: dropped wholesale
	if c.len() != 1 {
		t.Fatalf("%d entries after overflow, want 1", c.len())
	}
	if v, ok := c.get("d", now); !ok || v != 4 {
		t.Errorf("get(d) = %v, %v", v, ok)
	}
	if _, ok := c.get("a", now); ok {
		t.Error("a survived the drop")
	}
	if _, ok := c.get("d", now.Add(time.Minute)); ok {
		t.Error("entry reused at its TTL")
	}
}

func TestPrincipalContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, ok := PrincipalFrom(ctx); ok {
		t.Error("principal in an empty context")
	}
	got, ok := PrincipalFrom(WithPrincipal(ctx, zhang))
	if !ok || got != zhang {
		t.Errorf("PrincipalFrom = %+v, %v; want %+v", got, ok, zhang)
	}
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	if _, err := New(Options{}); err == nil {
		t.Error("New without a store succeeded")
	}
	if _, err := New(Options{Store: newFakeStore(), JWT: &JWTConfig{}}); err == nil {
		t.Error("New with a JWT config without keys succeeded")
	}
}
