package auth

import (
	"crypto/rsa"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadJWT(t *testing.T) {
	t.Parallel()
	keys := testKeys()
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	writeFile(t, path("secret"), append(append([]byte(nil), testSecret...), '\n'))
	writeFile(t, path("short"), []byte("too short\n"))
	writeFile(t, path("a.pem"), pemPublic(t, &keys[0].PublicKey))
	writeFile(t, path("b.pem"), pemPublic(t, &keys[1].PublicKey))
	writeFile(t, path("bad.pem"), []byte("not PEM"))
	writeFile(t, path("jwks.json"), jwksJSON(t, map[string]*rsa.PublicKey{"k": &keys[0].PublicKey}))
	writeFile(t, path("bad.json"), []byte(`{"keys":[]}`))

	tests := []struct {
		name    string
		c       JWTFileConfig
		want    *JWTConfig
		wantErr string
	}{
		{"off", JWTFileConfig{}, nil, ""},
		{"inline secret", JWTFileConfig{HS256Secret: string(testSecret)},
			&JWTConfig{HS256Secret: testSecret, PrincipalClaim: "sub", Leeway: 30 * time.Second}, ""},
		{"secret file, newline trimmed", JWTFileConfig{HS256SecretFile: path("secret"), Issuer: "idp", Audience: "sb", PrincipalClaim: "uid", Leeway: time.Minute},
			&JWTConfig{HS256Secret: testSecret, Issuer: "idp", Audience: "sb", PrincipalClaim: "uid", Leeway: time.Minute}, ""},
		{"pem and jwks", JWTFileConfig{RS256PublicKeyFiles: []string{path("a.pem"), path("b.pem")}, JWKSFile: path("jwks.json")},
			&JWTConfig{RS256Keys: []*rsa.PublicKey{&keys[0].PublicKey, &keys[1].PublicKey}, JWKSFile: path("jwks.json"), PrincipalClaim: "sub", Leeway: 30 * time.Second}, ""},

		{"options without keys", JWTFileConfig{Issuer: "idp"}, nil, "auth.jwt.hs256Secret, hs256SecretFile, rs256PublicKeyFiles or jwksFile: required"},
		{"both secrets", JWTFileConfig{HS256Secret: string(testSecret), HS256SecretFile: path("secret")}, nil, "auth.jwt.hs256Secret: set hs256Secret or hs256SecretFile, not both"},
		{"short inline secret", JWTFileConfig{HS256Secret: "short"}, nil, "auth.jwt.hs256Secret: 5 bytes; want at least 32"},
		{"short secret file", JWTFileConfig{HS256SecretFile: path("short")}, nil, "auth.jwt.hs256SecretFile: " + path("short") + " holds 9 bytes"},
		{"missing secret file", JWTFileConfig{HS256SecretFile: path("nope")}, nil, "auth.jwt.hs256SecretFile: open"},
		{"bad pem", JWTFileConfig{RS256PublicKeyFiles: []string{path("a.pem"), path("bad.pem")}}, nil, "auth.jwt.rs256PublicKeyFiles[1]: " + path("bad.pem")},
		{"missing pem", JWTFileConfig{RS256PublicKeyFiles: []string{path("nope.pem")}}, nil, "auth.jwt.rs256PublicKeyFiles[0]: open"},
		{"bad jwks", JWTFileConfig{JWKSFile: path("bad.json")}, nil, "auth.jwt.jwksFile: " + path("bad.json") + ": JWKS has no RS256"},
		{"missing jwks", JWTFileConfig{JWKSFile: path("nope.json")}, nil, "auth.jwt.jwksFile: open"},
		{"negative leeway", JWTFileConfig{HS256Secret: string(testSecret), Leeway: -time.Second}, nil, "auth.jwt.leeway: -1s is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := LoadJWT(tc.c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalJWTConfig(got, tc.want) {
				t.Errorf("LoadJWT = %+v, want %+v", got, tc.want)
			}
			if got != nil {
				if err := got.Validate(); err != nil {
					t.Errorf("loaded config invalid: %v", err)
				}
			}
		})
	}
}

func equalJWTConfig(a, b *JWTConfig) bool {
	if a == nil || b == nil {
		return a == b
	}
	if string(a.HS256Secret) != string(b.HS256Secret) || a.JWKSFile != b.JWKSFile || a.Issuer != b.Issuer ||
		a.Audience != b.Audience || a.PrincipalClaim != b.PrincipalClaim || a.Leeway != b.Leeway ||
		len(a.RS256Keys) != len(b.RS256Keys) {
		return false
	}
	for i := range a.RS256Keys {
		if !a.RS256Keys[i].Equal(b.RS256Keys[i]) {
			return false
		}
	}
	return true
}

func TestJWTConfigValidate(t *testing.T) {
	t.Parallel()
	keys := testKeys()
	weak := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 1023), E: 65537}
	tests := []struct {
		name    string
		c       JWTConfig
		wantErr string
	}{
		{"hs256", JWTConfig{HS256Secret: testSecret}, ""},
		{"jwks only", JWTConfig{JWKSFile: "/etc/switchboard/jwks.json"}, ""},
		{"rs256", JWTConfig{RS256Keys: []*rsa.PublicKey{&keys[0].PublicKey}}, ""},
		{"no key", JWTConfig{Issuer: "idp"}, "no key configured"},
		{"short secret", JWTConfig{HS256Secret: []byte("x")}, "HS256 secret of 1 bytes"},
		{"nil key", JWTConfig{RS256Keys: []*rsa.PublicKey{nil}}, "RS256 key 0 is empty"},
		{"weak key", JWTConfig{RS256Keys: []*rsa.PublicKey{weak}}, "RSA modulus of 1024 bits"},
		{"negative leeway", JWTConfig{HS256Secret: testSecret, Leeway: -1}, "negative leeway"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
