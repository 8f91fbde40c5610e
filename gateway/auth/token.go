package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
)

// TokenPrefix starts every API token secret, so that a leaked token is easy
// to recognise (and to find with secret scanners).
const TokenPrefix = "sbt_"

// tokenBytes is the number of random bytes in an API token.
const tokenBytes = 32

// tokenLen is the length of a well-formed secret: the prefix and 32 bytes in
// unpadded base64url.
var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(tokenBytes)

// NewToken makes a new API token from 32 bytes of r (crypto/rand.Reader when
// nil). secret is shown to the user once; hash, its SHA-256, is what the
// store keeps (store.Token.Hash). The token's ID is the caller's to choose.
func NewToken(r io.Reader) (secret string, hash []byte, err error) {
	if r == nil {
		r = rand.Reader
	}
	var b [tokenBytes]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", nil, fmt.Errorf("generating API token: %w", err)
	}
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashToken(secret), nil
}

// HashToken returns the SHA-256 of the full secret (prefix included), the
// value stored as store.Token.Hash and looked up with store.Auth.TokenByHash.
func HashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// wellFormedToken reports whether secret has the shape NewToken produces.
func wellFormedToken(secret string) bool {
	if len(secret) != tokenLen || secret[:len(TokenPrefix)] != TokenPrefix {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(secret[len(TokenPrefix):])
	return err == nil
}
