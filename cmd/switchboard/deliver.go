package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/amqp"
	"github.com/switchboard12345/switchboard/adapters/manual"
	"github.com/switchboard12345/switchboard/adapters/open311"
	"github.com/switchboard12345/switchboard/adapters/rest"
	"github.com/switchboard12345/switchboard/adapters/smtp"
	"github.com/switchboard12345/switchboard/adapters/soap"
	"github.com/switchboard12345/switchboard/dispatch"
	"github.com/switchboard12345/switchboard/gateway/config"
	"github.com/switchboard12345/switchboard/gateway/statusback"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/registry/consul"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

// adapterKinds are the adapters a backend's kind selects. Each sees its
// backend's settings without the gateway's own (webhook secret, poll interval).
func adapterKinds(st *sqlstore.Store) map[string]adapters.Factory {
	kinds := map[string]adapters.Factory{
		"rest":    rest.Factory,
		"open311": open311.Factory,
		"soap":    soap.New,
		"smtp":    smtp.Factory,
		"amqp":    amqp.Factory,
		"manual":  manual.New(st, time.Now),
	}
	for k, f := range kinds {
		kinds[k] = statusback.WrapFactory(f)
	}
	return kinds
}

// newDispatcher wires the dispatcher that delivers st's outbox.
func newDispatcher(cfg config.Config, st *sqlstore.Store, routes *registry.Live, cs *consul.Source,
	metrics prometheus.Registerer, log *slog.Logger) (*dispatch.Dispatcher, error) {
	var endpoints func(ctx context.Context, service string) ([]string, error)
	if cs != nil {
		endpoints = cs.Endpoints
	}
	c := cfg.Dispatch
	return dispatch.New(dispatch.Config{
		Outbox:    st,
		Routes:    routes.Snapshot,
		Kinds:     adapterKinds(st),
		Endpoints: endpoints,
		// SQLite serves one process: leases a killed predecessor left are
		// released at start. On PostgreSQL they expire.
		Exclusive: cfg.Store.Driver != "postgres",
		Now:       time.Now,
		Logger:    log.With("component", "dispatch"),
		Metrics:   metrics,
		Tuning: dispatch.Tuning{
			QueueCap: c.QueueCap, MaxInFlight: c.MaxInFlight, Timeout: c.Timeout,
			MaxAttempts: c.MaxAttempts, MaxAge: c.MaxAge, BackoffBase: c.BackoffBase, BackoffMax: c.BackoffMax,
			ConsecutiveFailures: c.ConsecutiveFailures, OpenFor: c.OpenFor,
		},
	})
}
