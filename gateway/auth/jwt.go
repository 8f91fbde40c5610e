package auth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/store"
)

// JWT defaults.
const (
	DefaultPrincipalClaim = "sub"
	DefaultLeeway         = 30 * time.Second
)

// JWTConfig says which JWTs are accepted. Only HS256 (with HS256Secret) and
// RS256 (with RS256Keys or the keys of JWKSFile) are: a token is verified only
// with a key of its own algorithm, so an HS256 token "signed" with an RSA
// public key is refused, as are "none" and every other algorithm. A token
// must carry exp; nbf and iat are checked when present, all with Leeway.
type JWTConfig struct {
	// HS256Secret is the shared secret of HS256 tokens (at least 32 bytes);
	// empty: HS256 is refused.
	HS256Secret []byte
	// RS256Keys verify RS256 tokens whatever their kid (PEM files have none).
	RS256Keys []*rsa.PublicKey
	// JWKSFile is a JSON Web Key Set file of RS256 keys (see ParseJWKS),
	// reloaded when it changes. A token's kid selects the key; a token
	// without kid is accepted when the set holds a single key.
	JWKSFile string
	// Issuer, when set, must equal the iss claim.
	Issuer string
	// Audience, when set, must be in the aud claim.
	Audience string
	// PrincipalClaim is the claim holding the principal ID. Default "sub".
	PrincipalClaim string
	// Leeway is the clock skew allowed on exp, nbf and iat. Default 30s.
	Leeway time.Duration
}

// hasRS256 reports whether any RS256 key source is configured.
func (c *JWTConfig) hasRS256() bool { return len(c.RS256Keys) > 0 || c.JWKSFile != "" }

// Validate checks c without reading files: at least one key source, a long
// enough secret, usable RSA keys, no negative leeway.
func (c *JWTConfig) Validate() error {
	if len(c.HS256Secret) == 0 && !c.hasRS256() {
		return errors.New("JWT: no key configured (HS256 secret, RS256 public keys or JWKS file)")
	}
	if n := len(c.HS256Secret); n > 0 && n < minHS256Secret {
		return fmt.Errorf("JWT: HS256 secret of %d bytes; want at least %d", n, minHS256Secret)
	}
	for i, k := range c.RS256Keys {
		if k == nil || k.N == nil {
			return fmt.Errorf("JWT: RS256 key %d is empty", i)
		}
		if err := checkRSAKey(k); err != nil {
			return fmt.Errorf("JWT: RS256 key %d: %w", i, err)
		}
	}
	if c.Leeway < 0 {
		return fmt.Errorf("JWT: negative leeway %v", c.Leeway)
	}
	return nil
}

// minHS256Secret is the shortest HS256 secret accepted: the hash size, as
// RFC 7518 section 3.2 requires.
const minHS256Secret = 32

// withDefaults returns a copy of c with defaults applied.
func (c JWTConfig) withDefaults() *JWTConfig {
	if c.PrincipalClaim == "" {
		c.PrincipalClaim = DefaultPrincipalClaim
	}
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	return &c
}

// authenticateJWT verifies raw and returns the principal it names.
func (a *Authenticator) authenticateJWT(ctx context.Context, raw string, now time.Time) (store.Principal, error) {
	c := a.jwt
	if c == nil {
		return store.Principal{}, unauthenticated("JWT bearer tokens are not accepted by this server; use an %s API token", TokenPrefix)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(a.algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(c.Leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	}
	if c.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.Issuer))
	}
	if c.Audience != "" {
		opts = append(opts, jwt.WithAudience(c.Audience))
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.NewParser(opts...).ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		return a.jwtKey(t, now)
	})
	if err != nil {
		return store.Principal{}, a.jwtError(tok, claims, err)
	}
	id, _ := claims[c.PrincipalClaim].(string)
	if id == "" {
		return store.Principal{}, unauthenticated("JWT has no %q claim naming the principal", c.PrincipalClaim)
	}
	p, err := a.principal(ctx, id, now)
	switch {
	case errs.Is(err, errs.NotFound):
		return store.Principal{}, unauthenticated("JWT names principal %q, which does not exist", id)
	case err != nil:
		return store.Principal{}, unavailable(err)
	case p.Disabled:
		return store.Principal{}, unauthenticated("principal %q is disabled", id)
	}
	return p, nil
}

// jwtKey returns the key that verifies t: the HS256 secret for HS256, the
// RSA key(s) for RS256, nothing for any other algorithm. Its errors are
// *errs.Error, returned as they are by jwtError.
func (a *Authenticator) jwtKey(t *jwt.Token, now time.Time) (any, error) {
	c := a.jwt
	switch t.Method {
	case jwt.SigningMethodHS256:
		if len(c.HS256Secret) == 0 {
			return nil, a.algRefused("HS256")
		}
		return c.HS256Secret, nil
	case jwt.SigningMethodRS256:
		return a.rsaKeys(t, now)
	}
	return nil, a.algRefused(t.Method.Alg())
}

// rsaKeys returns the RSA key(s) that may verify t.
func (a *Authenticator) rsaKeys(t *jwt.Token, now time.Time) (any, error) {
	c := a.jwt
	if !c.hasRS256() {
		return nil, a.algRefused("RS256")
	}
	kid, hasKid := "", false
	if v, ok := t.Header["kid"]; ok {
		s, ok := v.(string)
		if !ok {
			return nil, unauthenticated("malformed JWT: kid is not a string")
		}
		kid, hasKid = s, true
	}
	var set map[string]*rsa.PublicKey
	if a.jwks != nil {
		var err error
		set, err = a.jwks.current(now)
		if err != nil && len(c.RS256Keys) == 0 {
			return nil, &errs.Error{Kind: errs.Transient, Msg: "JWT keys unavailable", Err: err}
		}
	}
	if hasKid {
		if k, ok := set[kid]; ok {
			return k, nil
		}
	}
	keys := make([]jwt.VerificationKey, 0, len(c.RS256Keys)+1)
	for _, k := range c.RS256Keys {
		keys = append(keys, k)
	}
	if !hasKid && len(set) == 1 {
		for _, k := range set {
			keys = append(keys, k)
		}
	}
	switch {
	case len(keys) > 0:
		return jwt.VerificationKeySet{Keys: keys}, nil
	case hasKid:
		return nil, unauthenticated("JWT key id (kid) is not in the key set")
	default:
		return nil, unauthenticated("JWT has no key id (kid) and the key set holds %d keys", len(set))
	}
}

// algRefused is the error for a JWT of algorithm alg.
func (a *Authenticator) algRefused(alg string) error {
	return unauthenticated("JWT algorithm %q not accepted (this server accepts %v)", alg, a.algs)
}

// jwtError turns an error of the JWT parser into one saying what was wrong.
func (a *Authenticator) jwtError(tok *jwt.Token, claims jwt.MapClaims, err error) error {
	var e *errs.Error
	if errors.As(err, &e) { // from jwtKey
		return e
	}
	var msg string
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		msg = "malformed JWT"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// An alg the library does not know, or none at all.
		if headerAlg(tok) == "" {
			msg = "malformed JWT: no alg header"
			break
		}
		return a.algRefused(headerAlg(tok))
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if alg := headerAlg(tok); !slices.Contains(a.algs, alg) {
			return a.algRefused(alg)
		}
		msg = "JWT signature invalid"
	case errors.Is(err, jwt.ErrTokenExpired):
		msg = "JWT expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		msg = "JWT not valid yet (nbf is in the future)"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		msg = "JWT issued in the future (iat)"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		msg = "JWT issuer (iss) not accepted"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		msg = "JWT audience (aud) not accepted"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		msg = a.missingClaim(claims)
	default:
		msg = "JWT claims invalid"
	}
	return &errs.Error{Kind: errs.Unauthenticated, Msg: msg, Err: err}
}

// missingClaim says which required claim claims lacks.
func (a *Authenticator) missingClaim(claims jwt.MapClaims) string {
	required := []struct {
		claim, what string
		on          bool
	}{
		{"exp", "an expiry", true},
		{"iss", "the issuer", a.jwt.Issuer != ""},
		{"aud", "the audience", a.jwt.Audience != ""},
	}
	for _, r := range required {
		if v, ok := claims[r.claim]; r.on && (!ok || v == nil || v == "") {
			return fmt.Sprintf("JWT has no %s claim (%s is required)", r.claim, r.what)
		}
	}
	return "JWT lacks a required claim"
}

// headerAlg returns the alg header of tok, at most 16 bytes of it.
func headerAlg(tok *jwt.Token) string {
	if tok == nil {
		return ""
	}
	alg, _ := tok.Header["alg"].(string)
	if len(alg) > 16 {
		alg = alg[:16] + "…"
	}
	return alg
}
