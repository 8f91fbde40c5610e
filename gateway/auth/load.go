package auth

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWTFileConfig is the auth.jwt section of the server configuration: where
// the keys are, as the operator writes it. LoadJWT turns it into a JWTConfig.
// Leave every key source empty to turn JWT authentication off.
type JWTFileConfig struct {
	// HS256Secret is the HS256 shared secret inline (at least 32 bytes).
	// Prefer HS256SecretFile; at most one of the two may be set.
	HS256Secret string `yaml:"hs256Secret"`
	// HS256SecretFile is a file holding the HS256 shared secret (at least 32
	// bytes; one trailing newline is ignored).
	HS256SecretFile string `yaml:"hs256SecretFile"`
	// RS256PublicKeyFiles are PEM files, each with one RSA public key (PKIX
	// "PUBLIC KEY", PKCS #1 "RSA PUBLIC KEY" or a certificate) of at least
	// 2048 bits, that verify RS256 tokens whatever their kid.
	RS256PublicKeyFiles []string `yaml:"rs256PublicKeyFiles"`
	// JWKSFile is a JSON Web Key Set file of RS256 keys chosen by kid. It is
	// re-read when its modification time changes (checked at most once a
	// second), so keys can be rotated without a restart.
	JWKSFile string `yaml:"jwksFile"`
	// Issuer, when set, must equal the token's iss claim.
	Issuer string `yaml:"issuer"`
	// Audience, when set, must be one of the token's aud claim.
	Audience string `yaml:"audience"`
	// PrincipalClaim is the claim holding the principal ID. Default sub.
	PrincipalClaim string `yaml:"principalClaim"`
	// Leeway is the clock skew allowed on exp, nbf and iat. Default 30s.
	Leeway time.Duration `yaml:"leeway"`
}

// configPrefix is the YAML path of JWTFileConfig, named in errors.
const configPrefix = "auth.jwt."

// LoadJWT reads the key files c names and returns the JWT configuration, or
// nil (JWT off) when c names no key at all. Errors name the YAML key, e.g.
// "auth.jwt.hs256SecretFile: …". The JWKS file is read once here to check it;
// the Authenticator reads it again when it changes.
func LoadJWT(c JWTFileConfig) (*JWTConfig, error) {
	if c.HS256Secret == "" && c.HS256SecretFile == "" && len(c.RS256PublicKeyFiles) == 0 && c.JWKSFile == "" {
		if c.Issuer != "" || c.Audience != "" || c.PrincipalClaim != "" || c.Leeway != 0 {
			return nil, errors.New(configPrefix + "hs256Secret, hs256SecretFile, rs256PublicKeyFiles or jwksFile: required when JWT options are set")
		}
		return nil, nil
	}
	out := &JWTConfig{
		JWKSFile:       c.JWKSFile,
		Issuer:         c.Issuer,
		Audience:       c.Audience,
		PrincipalClaim: c.PrincipalClaim,
		Leeway:         c.Leeway,
	}
	switch {
	case c.HS256Secret != "" && c.HS256SecretFile != "":
		return nil, errors.New(configPrefix + "hs256Secret: set hs256Secret or hs256SecretFile, not both")
	case c.HS256Secret != "":
		out.HS256Secret = []byte(c.HS256Secret)
		if len(out.HS256Secret) < minHS256Secret {
			return nil, fmt.Errorf(configPrefix+"hs256Secret: %d bytes; want at least %d", len(out.HS256Secret), minHS256Secret)
		}
	case c.HS256SecretFile != "":
		b, err := os.ReadFile(c.HS256SecretFile)
		if err != nil {
			return nil, fmt.Errorf(configPrefix+"hs256SecretFile: %w", err)
		}
		b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
		if len(b) < minHS256Secret {
			return nil, fmt.Errorf(configPrefix+"hs256SecretFile: %s holds %d bytes; want at least %d", c.HS256SecretFile, len(b), minHS256Secret)
		}
		out.HS256Secret = b
	}
	for i, path := range c.RS256PublicKeyFiles {
		k, err := loadRSAPublicKey(path)
		if err != nil {
			return nil, fmt.Errorf(configPrefix+"rs256PublicKeyFiles[%d]: %w", i, err)
		}
		out.RS256Keys = append(out.RS256Keys, k)
	}
	if c.JWKSFile != "" {
		b, err := os.ReadFile(c.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf(configPrefix+"jwksFile: %w", err)
		}
		if _, err := ParseJWKS(b); err != nil {
			return nil, fmt.Errorf(configPrefix+"jwksFile: %s: %w", c.JWKSFile, err)
		}
	}
	if c.Leeway < 0 {
		return nil, fmt.Errorf(configPrefix+"leeway: %v is negative", c.Leeway)
	}
	return out.withDefaults(), nil
}

// loadRSAPublicKey reads one PEM-encoded RSA public key from path.
func loadRSAPublicKey(path string) (*rsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := jwt.ParseRSAPublicKeyFromPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := checkRSAKey(k); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
