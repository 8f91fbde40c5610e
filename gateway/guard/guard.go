// Package guard is the one enforcement path of the API: a gRPC unary
// interceptor that authenticates the caller, checks the access policy for the
// method and the object it names, and protects personal data in the answer.
// The gRPC server runs it, and the REST gateway reaches the services through
// an in-process connection that runs the same interceptor (grpc-gateway's
// direct handler registration would skip it), so no route can bypass it.
//
// Every method has a rule; a method without one is refused (deny by
// default), and a test checks that every registered method has a rule. A
// ticket the caller may not view answers NotFound, exactly as a missing one,
// so its existence does not leak; a ticket the caller may view but not act on
// answers PermissionDenied.
package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/switchboard12345/switchboard/gateway/auth"
	"github.com/switchboard12345/switchboard/gateway/authz"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/store"
)

// Authenticator turns the Authorization header into a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, authorization string) (store.Principal, error)
}

// Guard is the interceptor's configuration.
type Guard struct {
	Authn   Authenticator
	Authz   *authz.Authorizer
	Tickets store.Store
	Audit   store.Auth
	Now     func() time.Time
	Log     *slog.Logger
	// Status maps an error to the gRPC status the API answers (the service
	// package's Status), so errors read the same from the guard and the
	// services.
	Status func(ctx context.Context, log *slog.Logger, err error) error
	// Metrics, if set, counts refusals and personal-data reads (NewMetrics).
	Metrics *Metrics
}

// Metrics are the guard's Prometheus counters.
type Metrics struct {
	refused  *prometheus.CounterVec
	piiReads prometheus.Counter
}

// NewMetrics registers the guard's counters on reg:
// switchboard_auth_refused_total{reason} (unauthenticated, denied, hidden —
// a ticket answered NotFound because the caller may not see it) and
// switchboard_pii_reads_total (tickets read with personal data unmasked).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_auth_refused_total", Help: "Calls refused by the access guard, by reason.",
		}, []string{"reason"}),
		piiReads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_pii_reads_total", Help: "Tickets returned with personal data unmasked (each audited).",
		}),
	}
	reg.MustRegister(m.refused, m.piiReads)
	return m
}

func (g *Guard) count(reason string) {
	if g.Metrics != nil {
		g.Metrics.refused.WithLabelValues(reason).Inc()
	}
}

// MDAuthorization is the metadata key of the bearer token (the HTTP
// Authorization header).
const MDAuthorization = "authorization"

type filterKey struct{}

// Filter returns the list filter the guard compiled for the call: the
// tickets the caller may see (or, for aggregates, count). ok is false when
// the call did not pass the guard; a service must then refuse to list.
func Filter(ctx context.Context) (*store.Access, bool) {
	a, ok := ctx.Value(filterKey{}).(*store.Access)
	return a, ok
}

// WithFilter is for tests of a service alone.
func WithFilter(ctx context.Context, a *store.Access) context.Context {
	return context.WithValue(ctx, filterKey{}, a)
}

// Unary is the interceptor.
func (g *Guard) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	r, ok := rules[info.FullMethod]
	if !ok {
		if isOpenService(info.FullMethod) {
			return handler(ctx, req)
		}
		g.Log.ErrorContext(ctx, "no access rule for method; refused", "method", info.FullMethod)
		return nil, g.fail(ctx, errs.E(errs.Permission, "no access rule for %s", info.FullMethod))
	}
	p, err := g.Authn.Authenticate(ctx, firstMD(ctx, MDAuthorization))
	if err != nil {
		if errs.Is(err, errs.Unauthenticated) {
			g.count("unauthenticated")
		}
		return nil, g.fail(ctx, err)
	}
	ctx = auth.WithPrincipal(ctx, p)
	ctx, err = g.check(ctx, p, r, req)
	if err != nil {
		switch {
		case errs.Is(err, errs.Permission):
			g.count("denied")
		case errors.Is(err, errHidden):
			g.count("hidden")
		}
		return nil, g.fail(ctx, err)
	}
	if r.on == onList {
		ctx = WithFilter(ctx, g.Authz.Filter(p.ID, r.action))
	}
	resp, err := handler(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := g.protect(ctx, p, resp, !r.echo); err != nil {
		return nil, g.fail(ctx, err)
	}
	return resp, nil
}

func (g *Guard) fail(ctx context.Context, err error) error { return g.Status(ctx, g.Log, err) }

// check applies rule r to the call. For a ticket it returns ctx carrying
// the ticket it read (Loaded), so a read does not read it twice.
func (g *Guard) check(ctx context.Context, p store.Principal, r rule, req any) (context.Context, error) {
	switch r.on {
	case onAnyone, onList:
		return ctx, nil
	case onSystem:
		if !g.Authz.Allowed(p.ID, r.action, authz.SystemObject()) {
			return ctx, denied(r.action, "the province")
		}
		return ctx, nil
	case onUnit:
		u := r.unit(req)
		if !g.Authz.Allowed(p.ID, r.action, authz.UnitObject(u)) {
			return ctx, denied(r.action, "unit "+u)
		}
		return ctx, nil
	case onTicket:
		ref := r.ticket(req)
		if ref == "" {
			return ctx, errs.Invalidf("id", "required")
		}
		t, err := g.Tickets.GetTicket(ctx, ref)
		if err != nil {
			return ctx, err // NotFound for a missing ticket
		}
		o := authz.TicketObject(t.HandlingUnit, t.CoHandlingUnits, t.Category)
		if !g.Authz.Allowed(p.ID, authz.View, o) {
			return ctx, errHidden // exactly what a missing ticket answers
		}
		if r.action != authz.View && !g.Authz.Allowed(p.ID, r.action, o) {
			return ctx, denied(r.action, "ticket "+ref)
		}
		return context.WithValue(ctx, loadedKey{}, loaded{ref: ref, t: t}), nil
	}
	return ctx, errs.E(errs.Permission, "refused")
}

type loadedKey struct{}

type loaded struct {
	ref string
	t   ticket.Ticket
}

// Loaded returns the ticket the guard read to check the call, if ref names
// it: a read-only method may answer with it instead of reading it again
// (an update reads it again in its own transaction).
func Loaded(ctx context.Context, ref string) (ticket.Ticket, bool) {
	l, ok := ctx.Value(loadedKey{}).(loaded)
	if !ok || l.ref != ref {
		return ticket.Ticket{}, false
	}
	return l.t, true
}

// errHidden answers for a ticket the caller may not see: store.ErrNotFound,
// so that it reads exactly as a missing ticket.
var errHidden = fmt.Errorf("%w", store.ErrNotFound)

func denied(action, on string) error {
	return errs.E(errs.Permission, "your roles do not allow %s on %s", action, on)
}

func firstMD(ctx context.Context, key string) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(key); len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// isOpenService reports whether a method belongs to the services anyone may
// call without a token: health checks and reflection (they carry no data).
func isOpenService(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.Health/") || strings.HasPrefix(method, "/grpc.reflection.")
}
