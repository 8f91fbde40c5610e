package auth

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard12345/switchboard/internal/errs"
)

func FuzzParseJWKS(f *testing.F) {
	keys := testKeys()
	f.Add(jwksJSON(f, map[string]*rsa.PublicKey{"a": &keys[0].PublicKey, "b": &keys[1].PublicKey}))
	f.Add(keySet(f, jwkJSON("", &keys[0].PublicKey), map[string]string{"kty": "EC", "crv": "P-256"}))
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"x","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"","e":"AAAAAAAB"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseJWKS(data)
		if err != nil {
			return
		}
		if len(got) == 0 {
			t.Fatal("no keys and no error")
		}
		// Every key is usable, and the set survives a round trip.
		var set []map[string]string
		for kid, k := range got {
			if bits := k.N.BitLen(); bits < minRSABits || bits > maxRSABits || k.E < 3 || k.E%2 == 0 {
				t.Fatalf("key %q accepted: %d bits, e=%d", kid, bits, k.E)
			}
			set = append(set, jwkJSON(kid, k))
		}
		b, err := json.Marshal(map[string]any{"keys": set})
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseJWKS(b)
		if err != nil {
			t.Fatalf("re-encoded set: %v", err)
		}
		for kid, k := range got {
			if !k.Equal(again[kid]) {
				t.Fatalf("key %q changed in a round trip", kid)
			}
		}
	})
}

func FuzzAuthenticate(f *testing.F) {
	keys := testKeys()
	path := f.TempDir() + "/jwks.json"
	writeFile(f, path, jwksJSON(f, map[string]*rsa.PublicKey{"k1": &keys[0].PublicKey}))
	fx := newFixture(f, &JWTConfig{
		HS256Secret: testSecret,
		RS256Keys:   []*rsa.PublicKey{&keys[1].PublicKey},
		JWKSFile:    path,
		Issuer:      "idp",
	}, 0)
	now := fx.clock.Now()
	ok := claims(lina.ID, now, func(c jwt.MapClaims) { c["iss"] = "idp" })
	for _, h := range []string{
		"",
		"Bearer",
		"Basic dXNlcjpwYXNz",
		"Bearer " + fx.addToken(f, "tok-1", lina.ID, nil),
		"bearer sbt_" + strings.Repeat("A", 43),
		"Bearer " + signHS(f, testSecret, ok),
		"BEARER " + signRS(f, keys[0], "k1", ok),
		"Bearer " + signRS(f, keys[1], "", ok),
		"Bearer " + rawJWT(`{"alg":"none"}`, `{"sub":"u-lina","exp":9999999999,"iss":"idp"}`, ""),
		"Bearer a.b.c",
		"Bearer 令牌.令牌.令牌",
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		p, err := fx.a.Authenticate(context.Background(), h)
		if err == nil {
			if p != lina {
				t.Fatalf("authenticated as %+v", p)
			}
			return
		}
		if k := errs.KindOf(err); k != errs.Unauthenticated {
			t.Fatalf("error %q of kind %v", err, k)
		}
		if tok := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(h), "Bearer")); len(tok) >= 24 && strings.Contains(err.Error(), tok) {
			t.Fatalf("error %q quotes the token", err)
		}
	})
}
