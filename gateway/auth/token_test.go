package auth

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
)

func TestNewToken(t *testing.T) {
	t.Parallel()
	format := regexp.MustCompile(`^sbt_[A-Za-z0-9_-]{43}$`)

	t.Run("format and hash", func(t *testing.T) {
		t.Parallel()
		secret, hash, err := NewToken(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !format.MatchString(secret) {
			t.Errorf("secret %q does not match %v", secret, format)
		}
		sum := sha256.Sum256([]byte(secret))
		if !bytes.Equal(hash, sum[:]) || !bytes.Equal(HashToken(secret), sum[:]) {
			t.Errorf("hash is not the SHA-256 of the whole secret")
		}
		if !wellFormedToken(secret) {
			t.Errorf("NewToken's secret is not well formed")
		}
	})

	t.Run("from reader", func(t *testing.T) {
		t.Parallel()
		secret, _, err := NewToken(bytes.NewReader(bytes.Repeat([]byte{0xff}, 32)))
		if err != nil {
			t.Fatal(err)
		}
		if want := "sbt_" + strings.Repeat("_", 42) + "8"; secret != want {
			t.Errorf("secret %q, want %q", secret, want)
		}
	})

	t.Run("unique", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		for range 1000 {
			secret, hash, err := NewToken(nil)
			if err != nil {
				t.Fatal(err)
			}
			if seen[secret] || seen[string(hash)] {
				t.Fatalf("token repeated after %d", len(seen)/2)
			}
			seen[secret], seen[string(hash)] = true, true
		}
	})

	t.Run("short reader", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("boom")
		if _, _, err := NewToken(bytes.NewReader(make([]byte, 31))); err == nil {
			t.Error("31 random bytes made a token")
		}
		if _, _, err := NewToken(iotest.ErrReader(boom)); !errors.Is(err, boom) {
			t.Errorf("error %v, want it to wrap the reader's", err)
		}
	})
}

func TestWellFormedToken(t *testing.T) {
	t.Parallel()
	good, _, _ := NewToken(nil)
	tests := []struct {
		name   string
		secret string
		want   bool
	}{
		{"new", good, true},
		{"short", good[:len(good)-1], false},
		{"long", good + "A", false},
		{"wrong prefix", "sbx_" + good[4:], false},
		{"not base64url", good[:10] + "+" + good[11:], false},
		{"prefix only", "sbt_", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := wellFormedToken(tc.secret); got != tc.want {
				t.Errorf("wellFormedToken = %v, want %v", got, tc.want)
			}
		})
	}
}
