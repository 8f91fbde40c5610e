package auth

import (
	"context"

	"github.com/switchboard12345/switchboard/store"
)

// principalKey is the context key of the authenticated principal.
type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p, the authenticated caller.
func WithPrincipal(ctx context.Context, p store.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal stored by WithPrincipal, and false when
// ctx carries none (the request was not authenticated).
func PrincipalFrom(ctx context.Context) (store.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(store.Principal)
	return p, ok
}
