// Package testauth gives tests the real authentication and authorization
// path: an authenticator and a Casbin authorizer on the test's own store, the
// guard that the server runs, and principals with tokens. Tests of other
// things use Setup.Token, a principal allowed every action everywhere.
package testauth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/switchboard12345/switchboard/gateway/auth"
	"github.com/switchboard12345/switchboard/gateway/authz"
	"github.com/switchboard12345/switchboard/gateway/guard"
	"github.com/switchboard12345/switchboard/gateway/service"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
)

// Stores is what the guard needs of the store.
type Stores interface {
	store.Store
	store.Auth
}

// Setup is a guard on a store, with a superuser.
type Setup struct {
	Guard *guard.Guard
	Authz *authz.Authorizer
	Authn *auth.Authenticator
	// Token is the bearer token of the principal "tester", allowed every
	// action on everything.
	Token string
	st    store.Auth
	n     int
}

// New seeds the store's policy with a superuser role ("tester": every action,
// scope *) granted to the principal "tester" at the root unit of units, and
// returns the guard. Token caching is off, so revocations show at once.
func New(t testing.TB, tickets store.Store, st store.Auth, units func() *registry.Snapshot) *Setup {
	t.Helper()
	ctx := context.Background()
	all, _ := units().Units(ctx)
	if len(all) == 0 {
		t.Fatal("testauth: the registry has no units")
	}
	root := all[0].ID
	var rules []store.Rule
	for _, a := range authz.Actions {
		rules = append(rules, store.Rule{PType: "p", Values: []string{"tester", "*", "*", a}})
	}
	rules = append(rules, store.Rule{PType: "g", Values: []string{"tester", "tester", root}})
	if _, err := st.ChangePolicy(ctx, store.PolicyChange{Add: rules, Audit: store.AuditEntry{Actor: "test", Action: "policy.change"}}); err != nil {
		t.Fatal(err)
	}
	az, err := authz.New(ctx, authz.Options{Store: st, Units: units})
	if err != nil {
		t.Fatal(err)
	}
	an, err := auth.New(auth.Options{Store: st, Now: time.Now, CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	s := &Setup{Authz: az, Authn: an, st: st,
		Guard: &guard.Guard{Authn: an, Authz: az, Tickets: tickets, Audit: st, Now: time.Now, Log: discard(), Status: service.Status}}
	s.Token = s.Principal(t, "tester", root)
	return s
}

// created is when test principals and tokens are made: fixed, so two setups
// given the same calls answer the same.
var created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Principal creates principal id in unit and returns a token for it; grant
// roles with Grant.
func (s *Setup) Principal(t testing.TB, id, unit string) string {
	t.Helper()
	ctx := context.Background()
	if err := s.st.PutPrincipal(ctx, store.Principal{ID: id, Name: id, Kind: store.PrincipalUser, Unit: unit, CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	secret, hash, err := auth.NewToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.n++
	if err := s.st.CreateToken(ctx, store.Token{ID: fmt.Sprintf("test-token-%d-%s", s.n, id), Principal: id, Hash: hash, CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	return secret
}

// Change applies a policy change (e.g. loads the example policy).
func (s *Setup) Change(t testing.TB, c store.PolicyChange) {
	t.Helper()
	if _, err := s.Authz.Change(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// Header returns the Authorization header value of token.
func Header(token string) string { return "Bearer " + token }

// Transport adds token to every request.
type Transport struct {
	Token string
	Base  http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (tr Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if r.Header.Get("Authorization") == "" {
		r.Header.Set("Authorization", Header(tr.Token))
	}
	base := tr.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// Client is an HTTP client sending token.
func Client(token string) *http.Client { return &http.Client{Transport: Transport{Token: token}} }

// Credentials sends token with every gRPC call (over plain-text loopback).
func Credentials(token string) grpc.DialOption { return grpc.WithPerRPCCredentials(bearer(token)) }

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": Header(string(b))}, nil
}
func (b bearer) RequireTransportSecurity() bool { return false }

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
