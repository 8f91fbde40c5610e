package auth

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

// keySet marshals keys as a JWKS.
func keySet(t testing.TB, keys ...map[string]string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// modify returns a copy of k with the given members set ("" deletes).
func modify(k map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for n, v := range k {
		out[n] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

func TestParseJWKS(t *testing.T) {
	t.Parallel()
	keys := testKeys()
	k0, k1 := &keys[0].PublicKey, &keys[1].PublicKey
	j0, j1 := jwkJSON("k0", k0), jwkJSON("k1", k1)
	b64 := base64.RawURLEncoding.EncodeToString
	small := b64(new(big.Int).Lsh(big.NewInt(1), 1023).Bytes()) // 1024 bits

	tests := []struct {
		name    string
		data    []byte
		want    map[string]*rsa.PublicKey
		wantErr string
	}{
		{"two keys", keySet(t, j0, j1), map[string]*rsa.PublicKey{"k0": k0, "k1": k1}, ""},
		{"no kid", keySet(t, modify(j0, "kid", "")), map[string]*rsa.PublicKey{"": k0}, ""},
		{"no alg nor use", keySet(t, modify(j0, "alg", "", "use", "")), map[string]*rsa.PublicKey{"k0": k0}, ""},
		{"padded base64", keySet(t, modify(j0, "e", "AQAB====")), map[string]*rsa.PublicKey{"k0": k0}, ""},
		{"leading zero in n", keySet(t, modify(j0, "n", b64(append([]byte{0}, k0.N.Bytes()...)))), map[string]*rsa.PublicKey{"k0": k0}, ""},
		{"other members ignored", []byte(`{"keys":[` + string(mustJSON(t, modify(j0, "x5t", "abc"))) + `],"extra":1}`), map[string]*rsa.PublicKey{"k0": k0}, ""},
		{"EC key skipped", keySet(t, map[string]string{"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"}, j1), map[string]*rsa.PublicKey{"k1": k1}, ""},
		{"RS512 key skipped", keySet(t, modify(j0, "alg", "RS512"), j1), map[string]*rsa.PublicKey{"k1": k1}, ""},
		{"encryption key skipped", keySet(t, modify(j0, "use", "enc"), j1), map[string]*rsa.PublicKey{"k1": k1}, ""},

		{"not json", []byte("keys: []"), nil, "not valid JSON"},
		{"empty", []byte(`{"keys":[]}`), nil, "no RS256 signing key"},
		{"no keys member", []byte(`{}`), nil, "no RS256 signing key"},
		{"only skipped keys", keySet(t, modify(j0, "alg", "PS256")), nil, "no RS256 signing key"},
		{"duplicate kid", keySet(t, j0, modify(j1, "kid", "k0")), nil, `kid "k0" appears twice`},
		{"missing n", keySet(t, modify(j0, "n", "")), nil, "n: missing"},
		{"bad n", keySet(t, modify(j0, "n", "!!!")), nil, "n: illegal base64"},
		{"small modulus", keySet(t, modify(j0, "n", small)), nil, "RSA modulus of 1024 bits"},
		{"missing e", keySet(t, modify(j0, "e", "")), nil, "e: missing"},
		{"even e", keySet(t, modify(j0, "e", b64([]byte{1, 0, 0}))), nil, "exponent must be odd"},
		{"e of 1", keySet(t, modify(j0, "e", "AQ")), nil, "exponent must be odd, at least 3"},
		{"huge e", keySet(t, modify(j0, "e", b64([]byte{1, 0, 0, 0, 1}))), nil, "exponent out of range"},
		{"kid not a string", []byte(`{"keys":[{"kty":"RSA","kid":1}]}`), nil, "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseJWKS(tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d keys, want %d", len(got), len(tc.want))
			}
			for kid, want := range tc.want {
				if !want.Equal(got[kid]) {
					t.Errorf("key %q differs", kid)
				}
			}
		})
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
