package auth

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/store"
)

// rawJWT assembles a token from a header and claims in JSON and a signature.
func rawJWT(header, claims, sig string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + "." + sig
}

func TestAuthenticateJWT(t *testing.T) {
	t.Parallel()
	keys := testKeys()
	k0, k1 := keys[0], keys[1]
	dir := t.TempDir()
	pemPath := writeFile(t, dir+"/idp.pem", pemPublic(t, &k0.PublicKey))
	jwksPath := writeFile(t, dir+"/jwks.json", jwksJSON(t, map[string]*rsa.PublicKey{"k1": &k0.PublicKey, "k2": &k1.PublicKey}))
	singlePath := writeFile(t, dir+"/single.json", jwksJSON(t, map[string]*rsa.PublicKey{"only": &k1.PublicKey}))
	pemRS, err := LoadJWT(JWTFileConfig{RS256PublicKeyFiles: []string{pemPath}})
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pemPublic(t, &k0.PublicKey)

	configs := map[string]*JWTConfig{
		"hs":     {HS256Secret: testSecret},
		"pem":    pemRS,
		"both":   {HS256Secret: testSecret, RS256Keys: []*rsa.PublicKey{&k0.PublicKey}},
		"jwks":   {JWKSFile: jwksPath},
		"single": {JWKSFile: singlePath},
		"issaud": {HS256Secret: testSecret, Issuer: "https://idp.gd.gov.cn", Audience: "switchboard"},
		"custom": {HS256Secret: testSecret, PrincipalClaim: "preferred_username", Leeway: time.Second},
		"off":    nil,
	}
	fixtures := map[string]*fixture{}
	for name, c := range configs {
		fixtures[name] = newFixture(t, c, 0)
	}
	now := newFakeClock().Now()
	valid := func(sub string) jwt.MapClaims { return claims(sub, now, nil) }
	with := func(mod func(jwt.MapClaims)) jwt.MapClaims { return claims(lina.ID, now, mod) }
	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, valid(lina.ID)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, valid(lina.ID)).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	good := signHS(t, testSecret, valid(lina.ID))
	parts := strings.Split(good, ".")
	forged := strings.Split(signHS(t, testSecret, valid(zhang.ID)), ".")
	tampered := parts[0] + "." + forged[1] + "." + parts[2]

	tests := []struct {
		name   string
		config string
		token  string
		want   store.Principal
		errMsg string // empty: success
	}{
		{"hs256", "hs", good, lina, ""},
		{"chinese principal", "hs", signHS(t, testSecret, valid(zhang.ID)), zhang, ""},
		{"wrong secret", "hs", signHS(t, []byte("another secret of thirty-two bytes!"), valid(lina.ID)), store.Principal{}, "JWT signature invalid"},
		{"tampered claims", "hs", tampered, store.Principal{}, "JWT signature invalid"},
		{"expired", "hs", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() })), store.Principal{}, "JWT expired"},
		{"expired within leeway", "hs", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["exp"] = now.Add(-10 * time.Second).Unix() })), lina, ""},
		{"expired beyond leeway", "hs", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["exp"] = now.Add(-31 * time.Second).Unix() })), store.Principal{}, "JWT expired"},
		{"nbf in the future", "hs", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() })), store.Principal{}, "JWT not valid yet"},
		{"nbf within leeway", "hs", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["nbf"] = now.Add(20 * time.Second).Unix() })), lina, ""},
		{"iat in the future", "hs", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() })), store.Principal{}, "JWT issued in the future"},
		{"no exp", "hs", signHS(t, testSecret, with(func(c jwt.MapClaims) { delete(c, "exp") })), store.Principal{}, "JWT has no exp claim"},
		{"exp not a number", "hs", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["exp"] = "tomorrow" })), store.Principal{}, "JWT claims invalid"},
		{"unknown principal", "hs", signHS(t, testSecret, valid("u-nobody")), store.Principal{}, `JWT names principal "u-nobody", which does not exist`},
		{"unknown chinese principal", "hs", signHS(t, testSecret, valid("u-无名")), store.Principal{}, `"u-无名"`},
		{"disabled principal", "hs", signHS(t, testSecret, valid(disabled.ID)), store.Principal{}, `principal "u-old" is disabled`},
		{"no sub", "hs", signHS(t, testSecret, with(func(c jwt.MapClaims) { delete(c, "sub") })), store.Principal{}, `JWT has no "sub" claim`},
		{"sub not a string", "hs", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["sub"] = 42 })), store.Principal{}, `JWT has no "sub" claim`},
		{"alg none", "hs", noneTok, store.Principal{}, `JWT algorithm "none" not accepted`},
		{"alg none unsigned", "both", rawJWT(`{"alg":"none","typ":"JWT"}`, `{"sub":"u-lina","exp":9999999999}`, ""), store.Principal{}, `JWT algorithm "none" not accepted`},
		{"alg HS512", "hs", hs512, store.Principal{}, `JWT algorithm "HS512" not accepted`},
		{"alg unknown", "hs", rawJWT(`{"alg":"XYZ1"}`, `{"sub":"u-lina"}`, "c2ln"), store.Principal{}, `JWT algorithm "XYZ1" not accepted`},
		{"no alg", "hs", rawJWT(`{"typ":"JWT"}`, `{"sub":"u-lina"}`, "c2ln"), store.Principal{}, "no alg header"},
		{"rs256 when only hs256", "hs", signRS(t, k0, "", valid(lina.ID)), store.Principal{}, `JWT algorithm "RS256" not accepted`},
		{"malformed", "hs", "a.b.c", store.Principal{}, "malformed JWT"},
		{"claims not json", "hs", rawJWT(`{"alg":"HS256"}`, `not json`, "c2ln"), store.Principal{}, "malformed JWT"},

		{"rs256 pem", "pem", signRS(t, k0, "", valid(lina.ID)), lina, ""},
		{"rs256 pem ignores kid", "pem", signRS(t, k0, "anything", valid(lina.ID)), lina, ""},
		{"rs256 wrong key", "pem", signRS(t, k1, "", valid(lina.ID)), store.Principal{}, "JWT signature invalid"},
		{"hs256 when only rs256", "pem", good, store.Principal{}, `JWT algorithm "HS256" not accepted`},
		{"alg confusion rs256 only", "pem", signHS(t, pemBytes, valid(lina.ID)), store.Principal{}, `JWT algorithm "HS256" not accepted`},
		{"alg confusion both", "both", signHS(t, pemBytes, valid(lina.ID)), store.Principal{}, "JWT signature invalid"},
		{"both hs256", "both", good, lina, ""},
		{"both rs256", "both", signRS(t, k0, "", valid(service.ID)), service, ""},

		{"jwks kid k1", "jwks", signRS(t, k0, "k1", valid(lina.ID)), lina, ""},
		{"jwks kid k2", "jwks", signRS(t, k1, "k2", valid(zhang.ID)), zhang, ""},
		{"jwks kid of another key", "jwks", signRS(t, k1, "k1", valid(lina.ID)), store.Principal{}, "JWT signature invalid"},
		{"jwks unknown kid", "jwks", signRS(t, k0, "k9", valid(lina.ID)), store.Principal{}, "JWT key id (kid) is not in the key set"},
		{"jwks no kid among several", "jwks", signRS(t, k0, "", valid(lina.ID)), store.Principal{}, "no key id (kid) and the key set holds 2 keys"},
		{"jwks kid not a string", "jwks", rawJWT(`{"alg":"RS256","kid":7}`, `{"sub":"u-lina","exp":9999999999}`, "c2ln"), store.Principal{}, "kid is not a string"},
		{"jwks single key without kid", "single", signRS(t, k1, "", valid(lina.ID)), lina, ""},
		{"jwks single key, wrong kid", "single", signRS(t, k1, "other", valid(lina.ID)), store.Principal{}, "not in the key set"},

		{"issuer and audience", "issaud", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["iss"], c["aud"] = "https://idp.gd.gov.cn", "switchboard" })), lina, ""},
		{"audience in a list", "issaud", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["iss"], c["aud"] = "https://idp.gd.gov.cn", []string{"other", "switchboard"} })), lina, ""},
		{"wrong issuer", "issaud", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["iss"], c["aud"] = "https://evil.example", "switchboard" })), store.Principal{}, "JWT issuer (iss) not accepted"},
		{"no issuer", "issaud", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["aud"] = "switchboard" })), store.Principal{}, "JWT has no iss claim"},
		{"wrong audience", "issaud", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["iss"], c["aud"] = "https://idp.gd.gov.cn", "other" })), store.Principal{}, "JWT audience (aud) not accepted"},
		{"no audience", "issaud", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["iss"] = "https://idp.gd.gov.cn" })), store.Principal{}, "JWT has no aud claim"},
		{"no issuer check when unset", "hs", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["iss"], c["aud"] = "anyone", "anything" })), lina, ""},

		{"custom principal claim", "custom", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["sub"], c["preferred_username"] = "ignored", zhang.ID })), zhang, ""},
		{"custom claim missing", "custom", good, store.Principal{}, `JWT has no "preferred_username" claim`},
		{"custom leeway", "custom", signHS(t, testSecret, with(func(c jwt.MapClaims) { c["preferred_username"], c["exp"] = lina.ID, now.Add(-2*time.Second).Unix() })), store.Principal{}, "JWT expired"},

		{"jwt off", "off", good, store.Principal{}, "JWT bearer tokens are not accepted by this server"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := fixtures[tc.config].a.Authenticate(context.Background(), "Bearer "+tc.token)
			if tc.errMsg != "" {
				wantErr(t, err, errs.Unauthenticated, tc.errMsg, tc.token)
				if p != (store.Principal{}) {
					t.Errorf("principal %+v returned with the error", p)
				}
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

func TestJWKSRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys := testKeys()
	path := tempPath(t, "jwks.json")
	mod := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	writeJWKS(t, path, jwksJSON(t, map[string]*rsa.PublicKey{"2026-01": &keys[0].PublicKey}), mod)
	f := newFixture(t, &JWTConfig{JWKSFile: path}, 0)
	now := f.clock.Now()
	oldTok := "Bearer " + signRS(t, keys[0], "2026-01", claims(lina.ID, now, nil))
	newTok := "Bearer " + signRS(t, keys[1], "2026-02", claims(lina.ID, now, nil))

	if _, err := f.a.Authenticate(ctx, oldTok); err != nil {
		t.Fatalf("old key before rotation: %v", err)
	}
	_, err := f.a.Authenticate(ctx, newTok)
	wantErr(t, err, errs.Unauthenticated, "not in the key set", "")

	// Rotate: the new key replaces the old one.
	writeJWKS(t, path, jwksJSON(t, map[string]*rsa.PublicKey{"2026-02": &keys[1].PublicKey}), mod.Add(time.Hour))
	f.clock.Advance(500 * time.Millisecond)
	_, err = f.a.Authenticate(ctx, newTok)
	wantErr(t, err, errs.Unauthenticated, "not in the key set", "") // checked less than a second ago
	f.clock.Advance(500 * time.Millisecond)
	if _, err := f.a.Authenticate(ctx, newTok); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}
	_, err = f.a.Authenticate(ctx, oldTok)
	wantErr(t, err, errs.Unauthenticated, "not in the key set", "")

	// A broken file (say, half written) leaves the keys in use.
	writeJWKS(t, path, []byte(`{"keys":[{"kty":"RSA","kid":"2026-03","n":"`), mod.Add(2*time.Hour))
	f.clock.Advance(time.Second)
	if _, err := f.a.Authenticate(ctx, newTok); err != nil {
		t.Fatalf("after a broken rewrite: %v", err)
	}
	// So does a removed file.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	if _, err := f.a.Authenticate(ctx, newTok); err != nil {
		t.Fatalf("after the file was removed: %v", err)
	}
}

func TestJWKSUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys := testKeys()
	path := tempPath(t, "jwks.json")
	f := newFixture(t, &JWTConfig{JWKSFile: path}, 0)
	tok := "Bearer " + signRS(t, keys[0], "k", claims(lina.ID, f.clock.Now(), nil))
	_, err := f.a.Authenticate(ctx, tok)
	wantErr(t, err, errs.Transient, "JWT keys unavailable", "")

	writeJWKS(t, path, jwksJSON(t, map[string]*rsa.PublicKey{"k": &keys[0].PublicKey}), time.Now())
	f.clock.Advance(time.Second)
	if _, err := f.a.Authenticate(ctx, tok); err != nil {
		t.Fatalf("once the file exists: %v", err)
	}
}

func TestJWTStoreUnavailable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &JWTConfig{HS256Secret: testSecret}, 0)
	f.store.setErr(os.ErrDeadlineExceeded)
	_, err := f.a.Authenticate(context.Background(), "Bearer "+signHS(t, testSecret, claims(lina.ID, f.clock.Now(), nil)))
	wantErr(t, err, errs.Transient, "credential store could not be read", "")
}

func TestJWTPrincipalCached(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, &JWTConfig{HS256Secret: testSecret}, 0)
	tok := "Bearer " + signHS(t, testSecret, claims(lina.ID, f.clock.Now(), nil))
	for range 3 {
		if _, err := f.a.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.store.lookupCount(); n != 1 {
		t.Errorf("%d principal lookups within the cache TTL, want 1", n)
	}
	off := lina
	off.Disabled = true
	if err := f.store.PutPrincipal(ctx, off); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(DefaultCacheTTL)
	_, err := f.a.Authenticate(ctx, tok)
	wantErr(t, err, errs.Unauthenticated, "disabled", "")
}
