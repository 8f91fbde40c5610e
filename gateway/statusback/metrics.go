package statusback

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	rejected   *prometheus.CounterVec
	updates    *prometheus.CounterVec
	pollErrors *prometheus.CounterVec
}

// newMetrics registers the package's metrics with reg (nil: nowhere). The
// Handler and the Poller may share one registry: a collector registered
// before is reused.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_webhook_rejected_total",
			Help: "Status webhooks refused before their updates were read, by backend and reason (no_secret, missing_timestamp, bad_timestamp, stale_timestamp, missing_signature, bad_signature).",
		}, []string{"backend", "reason"}),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_status_updates_total",
			Help: "Status updates from department systems, by backend, source (webhook, poll) and status (applied, duplicate, rejected, or error when the store failed).",
		}, []string{"backend", "source", "status"}),
		pollErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_status_poll_errors_total",
			Help: "Polls of department systems for status updates that failed, by backend.",
		}, []string{"backend"}),
	}
	if reg == nil {
		return m
	}
	m.rejected = register(reg, m.rejected)
	m.updates = register(reg, m.updates)
	m.pollErrors = register(reg, m.pollErrors)
	return m
}

func register(reg prometheus.Registerer, c *prometheus.CounterVec) *prometheus.CounterVec {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}
