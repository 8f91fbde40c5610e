package auth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/store"
)

// DefaultCacheTTL is how long a successful lookup is reused by default, and so
// how long a revocation or a disabled principal may take to be seen.
const DefaultCacheTTL = time.Second

// maxBearerLen bounds a bearer token; longer ones are refused unparsed.
const maxBearerLen = 8 << 10

// missingBearer is the message for a request without credentials.
const missingBearer = "missing bearer token (header Authorization: Bearer …)"

// Options configures an Authenticator.
type Options struct {
	// Store holds the principals and API tokens. Required.
	Store store.Auth
	// JWT configures JWT bearer tokens; nil refuses them.
	JWT *JWTConfig
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CacheTTL is how long successful token and principal lookups are
	// reused. Zero means DefaultCacheTTL; negative turns caching off.
	CacheTTL time.Duration
	// Logger receives JWKS reload messages; nil discards them.
	Logger *slog.Logger
}

// Authenticator authenticates API callers from their Authorization header.
// It is safe for concurrent use.
type Authenticator struct {
	store      store.Auth
	jwt        *JWTConfig // with defaults; nil: JWT off
	algs       []string   // the JWT algorithms accepted
	jwks       *jwksFile  // nil without a JWKS file
	now        func() time.Time
	tokens     *ttlCache[store.Token]     // by SHA-256 of the secret
	principals *ttlCache[store.Principal] // by ID
}

// New returns an Authenticator. It does no I/O: a JWKS file is first read
// when an RS256 token needs it.
func New(o Options) (*Authenticator, error) {
	if o.Store == nil {
		return nil, errors.New("auth: Options.Store is required")
	}
	a := &Authenticator{store: o.Store, now: o.Now}
	if a.now == nil {
		a.now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.JWT != nil {
		if err := o.JWT.Validate(); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		a.jwt = o.JWT.withDefaults()
		a.jwt.RS256Keys = append([]*rsa.PublicKey(nil), o.JWT.RS256Keys...)
		if len(a.jwt.HS256Secret) > 0 {
			a.algs = append(a.algs, "HS256")
		}
		if a.jwt.hasRS256() {
			a.algs = append(a.algs, "RS256")
		}
		if a.jwt.JWKSFile != "" {
			a.jwks = &jwksFile{path: a.jwt.JWKSFile, log: log}
		}
	}
	ttl := o.CacheTTL
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	a.tokens = newTTLCache[store.Token](ttl, maxCacheEntries)
	a.principals = newTTLCache[store.Principal](ttl, maxCacheEntries)
	return a, nil
}

// Authenticate returns the principal that authorization, the raw value of
// the HTTP Authorization header or of the gRPC "authorization" metadata
// ("Bearer <token>", the scheme in any case), authenticates. A token of
// three dot-separated parts is verified as a JWT, one starting "sbt_" is
// looked up as an API token. Every refusal is an errs.Unauthenticated error
// saying why (never quoting the token); a store failure is errs.Transient.
func (a *Authenticator) Authenticate(ctx context.Context, authorization string) (store.Principal, error) {
	tok, err := bearerToken(authorization)
	if err != nil {
		return store.Principal{}, err
	}
	now := a.now()
	switch {
	case strings.Count(tok, ".") == 2:
		return a.authenticateJWT(ctx, tok, now)
	case strings.HasPrefix(tok, TokenPrefix):
		return a.authenticateToken(ctx, tok, now)
	}
	return store.Principal{}, unauthenticated("unrecognised bearer token (want an %s API token or a JWT)", TokenPrefix)
}

// bearerToken returns the token of an Authorization value "Bearer <token>".
func bearerToken(h string) (string, error) {
	h = strings.Trim(h, " \t")
	if h == "" {
		return "", unauthenticated(missingBearer)
	}
	scheme, tok := h, ""
	if i := strings.IndexAny(h, " \t"); i >= 0 {
		scheme, tok = h[:i], strings.Trim(h[i:], " \t")
	}
	if !strings.EqualFold(scheme, "Bearer") {
		// Never echo the scheme: a bare token would be quoted.
		return "", unauthenticated("authorization is not a bearer token (header Authorization: Bearer …)")
	}
	if tok == "" {
		return "", unauthenticated(missingBearer)
	}
	if len(tok) > maxBearerLen {
		return "", unauthenticated("bearer token longer than %d bytes", maxBearerLen)
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c >= 0x7f {
			return "", unauthenticated("malformed bearer token (spaces or characters other than printable ASCII)")
		}
	}
	return tok, nil
}

// authenticateToken looks up API token secret.
func (a *Authenticator) authenticateToken(ctx context.Context, secret string, now time.Time) (store.Principal, error) {
	if !wellFormedToken(secret) {
		return store.Principal{}, unauthenticated("malformed API token (want %s and 43 base64url characters)", TokenPrefix)
	}
	hash := HashToken(secret)
	key := string(hash)
	t, ok := a.tokens.get(key, now)
	if !ok {
		var err error
		t, err = a.store.TokenByHash(ctx, hash)
		switch {
		case errs.Is(err, errs.NotFound):
			return store.Principal{}, unauthenticated("unknown API token")
		case err != nil:
			return store.Principal{}, unavailable(err)
		}
		a.tokens.put(key, t, now)
	}
	switch {
	case !t.RevokedAt.IsZero():
		return store.Principal{}, unauthenticated("API token %s was revoked", t.ID)
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return store.Principal{}, unauthenticated("API token %s expired", t.ID)
	}
	p, err := a.principal(ctx, t.Principal, now)
	switch {
	case errs.Is(err, errs.NotFound):
		return store.Principal{}, unauthenticated("API token %s belongs to principal %q, which no longer exists", t.ID, t.Principal)
	case err != nil:
		return store.Principal{}, unavailable(err)
	case p.Disabled:
		return store.Principal{}, unauthenticated("principal %q is disabled", p.ID)
	}
	return p, nil
}

// principal returns principal id, from the cache when fresh. Errors are the
// store's.
func (a *Authenticator) principal(ctx context.Context, id string, now time.Time) (store.Principal, error) {
	if p, ok := a.principals.get(id, now); ok {
		return p, nil
	}
	p, err := a.store.GetPrincipal(ctx, id)
	if err != nil {
		return store.Principal{}, err
	}
	a.principals.put(id, p, now)
	return p, nil
}

// unauthenticated returns an Unauthenticated error; its message is shown to
// the caller.
func unauthenticated(format string, args ...any) error {
	return &errs.Error{Kind: errs.Unauthenticated, Msg: fmt.Sprintf(format, args...)}
}

// unavailable wraps a store failure; the cause is kept out of the message.
func unavailable(err error) error {
	return &errs.Error{Kind: errs.Transient, Msg: "authentication unavailable: the credential store could not be read", Err: err}
}
