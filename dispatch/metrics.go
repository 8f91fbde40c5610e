package dispatch

import (
	"context"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a delivery attempt, the outcome label of
// switchboard_dispatch_attempts_total.
const (
	outcomeDelivered = "delivered"
	outcomeFailed    = "failed"   // transient: retried
	outcomeRejected  = "rejected" // permanent: dead-lettered
	outcomeRefused   = "refused"  // by our own open breaker: no call made
	outcomeThrottled = "throttled"
)

type metrics struct {
	d            *Dispatcher
	attempts     *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	breaker      *prometheus.GaugeVec
	queued       *prometheus.GaugeVec
	inflight     *prometheus.GaugeVec

	pending, oldest, dead *prometheus.Desc
}

func newMetrics(d *Dispatcher) *metrics {
	by := []string{"backend"}
	return &metrics{
		d: d,
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_dispatch_attempts_total",
			Help: "Delivery attempts per backend by outcome (delivered, failed, rejected, refused by the breaker, throttled retries).",
		}, []string{"backend", "outcome"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_dispatch_dead_lettered_total",
			Help: "Messages dead-lettered per backend. Alert on any increase: they need a redrive.",
		}, by),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_dispatch_delivery_seconds",
			Help:    "Time from the outbox message's commit to the backend's acceptance.",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 5, 30, 120, 600, 3600},
		}, by),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_dispatch_breaker_state",
			Help: "Circuit breaker per backend: 0 closed, 1 half-open, 2 open.",
		}, by),
		queued: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_dispatch_queue_depth",
			Help: "Messages waiting in this instance's bounded queue per backend.",
		}, by),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_dispatch_in_flight",
			Help: "Deliveries in flight per backend (bounded by its bulkhead).",
		}, by),
		pending: prometheus.NewDesc("switchboard_dispatch_pending",
			"Outbox messages not yet delivered per backend, across instances.", by, nil),
		oldest: prometheus.NewDesc("switchboard_dispatch_oldest_pending_seconds",
			"Age of the oldest undelivered outbox message per backend.", by, nil),
		dead: prometheus.NewDesc("switchboard_dispatch_dead_letters",
			"Dead-lettered messages per backend awaiting a redrive.", by, nil),
	}
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.attempts, m.deadLettered, m.latency, m.breaker, m.queued, m.inflight, storeCollector{m}} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// laneMetrics are one backend's series.
type laneMetrics struct {
	attempts *prometheus.CounterVec
	dead     prometheus.Counter
	latency  prometheus.Observer
	breaker  prometheus.Gauge
	queued   prometheus.Gauge
	inflight prometheus.Gauge
}

func (m *metrics) lane(backend string) laneMetrics {
	return laneMetrics{
		attempts: m.attempts.MustCurryWith(prometheus.Labels{"backend": backend}),
		dead:     m.deadLettered.WithLabelValues(backend),
		latency:  m.latency.WithLabelValues(backend),
		breaker:  m.breaker.WithLabelValues(backend),
		queued:   m.queued.WithLabelValues(backend),
		inflight: m.inflight.WithLabelValues(backend),
	}
}

func (l laneMetrics) outcome(o string) { l.attempts.WithLabelValues(o).Inc() }

// storeCollector reads the outbox's figures at scrape time.
type storeCollector struct{ m *metrics }

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.m.pending
	ch <- c.m.oldest
	ch <- c.m.dead
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	now := c.m.d.now()
	stats, err := c.m.d.c.Outbox.OutboxStats(ctx, now)
	if err != nil {
		c.m.d.log.Warn("reading outbox statistics for metrics", "err", err)
		return
	}
	for _, q := range stats {
		ch <- prometheus.MustNewConstMetric(c.m.pending, prometheus.GaugeValue, float64(q.Pending), q.Backend)
		age := 0.0
		if !q.OldestPending.IsZero() {
			age = now.Sub(q.OldestPending).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(c.m.oldest, prometheus.GaugeValue, age, q.Backend)
		ch <- prometheus.MustNewConstMetric(c.m.dead, prometheus.GaugeValue, float64(q.Dead), q.Backend)
	}
}

// Status reports every backend of the registry and every backend with
// messages in the outbox: the breaker, queues and figures of this instance
// with the outbox's counts across instances.
func (d *Dispatcher) Status(ctx context.Context) (Status, error) {
	now := d.now()
	stats, err := d.c.Outbox.OutboxStats(ctx, now)
	if err != nil {
		return Status{}, err
	}
	byID := map[string]*BackendStatus{}
	get := func(id string) *BackendStatus {
		if s, ok := byID[id]; ok {
			return s
		}
		s := &BackendStatus{Backend: id, Breaker: "closed", QueueCap: d.t.QueueCap, MaxInFlight: d.t.MaxInFlight}
		byID[id] = s
		return s
	}
	if snap := d.c.Routes(); snap != nil {
		for _, b := range snap.Backends() {
			s := get(b.ID)
			s.Unit, s.Kind = b.Unit, b.Kind
			if b.MaxInFlight > 0 {
				s.MaxInFlight = b.MaxInFlight
			}
		}
	}
	for _, q := range stats {
		if q.Backend == "" {
			continue // not yet routed to a backend
		}
		s := get(q.Backend)
		s.Pending, s.Dead = q.Pending, q.Dead
		if !q.OldestPending.IsZero() {
			s.OldestPending = now.Sub(q.OldestPending)
		}
	}
	d.mu.Lock()
	lanes := make([]*lane, 0, len(d.lanes))
	for _, l := range d.lanes {
		lanes = append(lanes, l)
	}
	d.mu.Unlock()
	for _, l := range lanes {
		s := get(l.id)
		s.Unit, s.Kind = l.unit, l.kind
		s.Breaker = l.cb.State().String()
		s.Queued, s.QueueCap = len(l.queue), cap(l.queue)
		s.InFlight, s.MaxInFlight = int(l.inflight.Load()), l.workers
		s.Attempts, s.Delivered = l.attempts.Load(), l.done.Load()
		s.Failures, s.Rejected = l.failures.Load(), l.rejected.Load()
		p := l.lat.percentiles(0.5, 0.99)
		s.LatencyP50, s.LatencyP99 = p[0], p[1]
	}
	out := Status{Backends: make([]BackendStatus, 0, len(byID))}
	for _, s := range byID {
		out.Backends = append(out.Backends, *s)
	}
	slices.SortFunc(out.Backends, func(a, b BackendStatus) int {
		switch {
		case a.Backend < b.Backend:
			return -1
		case a.Backend > b.Backend:
			return 1
		}
		return 0
	})
	return out, nil
}
