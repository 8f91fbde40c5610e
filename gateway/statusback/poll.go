package statusback

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
)

// PollerConfig configures a Poller.
type PollerConfig struct {
	// Routes returns the current registry snapshot (registry.Live.Snapshot).
	Routes func() *registry.Snapshot
	// Kinds builds an adapter for each backend kind; backends whose adapter
	// is an adapters.UpdateFetcher are polled. Settings reach the factory
	// through AdapterSettings.
	Kinds map[string]adapters.Factory
	// Endpoints, if set, resolves a backend's Consul service to endpoints.
	Endpoints func(ctx context.Context, service string) ([]string, error)
	// Cursors keep each backend's position across restarts.
	Cursors store.Cursors
	Apply   Applier
	Logger  *slog.Logger
	// Metrics receives switchboard_status_updates_total and
	// switchboard_status_poll_errors_total; nil registers nowhere.
	Metrics prometheus.Registerer
	// Reconcile is how often the registry is read again for backends added,
	// changed or removed; 0 means 15s.
	Reconcile time.Duration
	// MaxPages bounds the fetches of one poll (a fetch returns what the
	// system lists after the cursor); 0 means 10.
	MaxPages int
	// PollTimeout bounds one poll; 0 means 1m.
	PollTimeout time.Duration
}

// Poller polls every backend whose adapter can list status updates, each
// every pollInterval (from its Config, default 30s, jittered by ±20%), and
// applies what it finds. The cursor moves (in the store) only after every
// update of a fetch was applied or refused for good; a store failure leaves
// it where it was, and the next poll fetches the same updates again, which
// the update keys de-duplicate.
type Poller struct {
	c       PollerConfig
	log     *slog.Logger
	metrics *metrics
}

// NewPoller returns a poller; it does no I/O.
func NewPoller(c PollerConfig) *Poller {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Reconcile <= 0 {
		c.Reconcile = 15 * time.Second
	}
	if c.MaxPages <= 0 {
		c.MaxPages = 10
	}
	if c.PollTimeout <= 0 {
		c.PollTimeout = time.Minute
	}
	return &Poller{c: c, log: c.Logger, metrics: newMetrics(c.Metrics)}
}

// PollStats count what one poll did.
type PollStats struct {
	Fetched, Applied, Duplicate, Rejected int
	// Cursor is the backend's cursor after the poll.
	Cursor string
}

// Poll asks backend b's system once for updates after its stored cursor
// (following the cursor for at most MaxPages fetches), applies them, and
// stores the new cursor after each fetch's updates are applied. Updates the
// lifecycle refuses are logged and passed over; a failure to store one stops
// the poll without moving the cursor.
func (p *Poller) Poll(ctx context.Context, b registry.Backend, f adapters.UpdateFetcher) (PollStats, error) {
	var st PollStats
	cursor, err := p.c.Cursors.Cursor(ctx, b.ID)
	if err != nil {
		return st, fmt.Errorf("polling backend %s: %w", b.ID, err)
	}
	st.Cursor = cursor
	for range p.c.MaxPages {
		ups, next, err := f.Updates(ctx, cursor)
		if err != nil {
			return st, fmt.Errorf("polling backend %s: %w", b.ID, err)
		}
		st.Fetched += len(ups)
		for _, u := range ups {
			err := p.c.Apply.ApplyUpdate(ctx, b, u)
			status, msg := outcome(err)
			p.metrics.updates.WithLabelValues(b.ID, "poll", statusLabel(status)).Inc()
			switch status {
			case Applied:
				st.Applied++
			case Duplicate:
				st.Duplicate++
			case Rejected:
				st.Rejected++
				p.log.WarnContext(ctx, "polled status update rejected", "backend", b.ID, "update", u.ID, "action", u.Action, "err", msg)
			default:
				return st, fmt.Errorf("polling backend %s: applying update %s: %w", b.ID, u.ID, err)
			}
		}
		if next == cursor {
			break
		}
		if err := p.c.Cursors.SetCursor(ctx, b.ID, next); err != nil {
			return st, fmt.Errorf("polling backend %s: %w", b.ID, err)
		}
		cursor, st.Cursor = next, next
	}
	return st, nil
}

// worker polls one backend.
type worker struct {
	backend   registry.Backend
	endpoints []string
	stop      context.CancelFunc
	done      chan struct{}
}

// Run polls until ctx ends, following the registry: backends added start
// being polled, changed ones are polled with their new settings, removed ones
// stop. It returns nil once every poll has stopped.
func (p *Poller) Run(ctx context.Context) error {
	workers := map[string]*worker{}
	defer func() {
		for _, w := range workers {
			w.stop()
		}
		for _, w := range workers {
			<-w.done
		}
	}()
	t := time.NewTicker(p.c.Reconcile)
	defer t.Stop()
	for {
		p.reconcile(ctx, workers)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// reconcile starts, restarts and stops workers to match the registry.
func (p *Poller) reconcile(ctx context.Context, workers map[string]*worker) {
	seen := map[string]bool{}
	var snap *registry.Snapshot
	if p.c.Routes != nil {
		snap = p.c.Routes()
	}
	var backends []registry.Backend
	if snap != nil {
		backends = snap.Backends()
	}
	for _, b := range backends {
		factory, ok := p.c.Kinds[b.Kind]
		if !ok {
			continue // manual, or a kind this instance does not deliver to
		}
		seen[b.ID] = true
		eps := b.Endpoints
		if b.Service != "" && p.c.Endpoints != nil {
			var err error
			if eps, err = p.c.Endpoints(ctx, b.Service); err != nil {
				if w, ok := workers[b.ID]; ok {
					eps = w.endpoints // keep polling where we did
				}
			}
		}
		if w, ok := workers[b.ID]; ok {
			if reflect.DeepEqual(w.backend, b) && slices.Equal(w.endpoints, eps) {
				continue
			}
			w.stop()
			<-w.done
			delete(workers, b.ID)
		}
		w := &worker{backend: b, endpoints: slices.Clone(eps), stop: func() {}, done: make(chan struct{})}
		workers[b.ID] = w
		interval, on, err := pollInterval(b)
		if err != nil {
			p.log.Error("backend not polled: bad setting", "backend", b.ID, "err", err)
		}
		if err != nil || !on {
			close(w.done)
			continue
		}
		ad, err := factory(adapters.Config{Backend: b.ID, Endpoints: eps, Settings: AdapterSettings(b.Config)})
		if err != nil {
			p.log.Error("backend not polled: its adapter cannot be built", "backend", b.ID, "err", err)
			close(w.done)
			continue
		}
		f, ok := ad.(adapters.UpdateFetcher)
		if !ok {
			closeAdapter(ad)
			close(w.done)
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w.stop = cancel
		p.log.Info("polling backend for status updates", "backend", b.ID, "kind", b.Kind, "interval", interval.String())
		go func() {
			defer close(w.done)
			defer closeAdapter(ad)
			p.loop(wctx, b, f, interval)
		}()
	}
	for id, w := range workers {
		if !seen[id] {
			w.stop()
			<-w.done
			delete(workers, id)
		}
	}
}

func closeAdapter(ad adapters.Adapter) {
	if c, ok := ad.(adapters.Closer); ok {
		c.Close()
	}
}

// loop polls b every interval, jittered, until ctx ends. The first poll
// comes after a random part of the interval, so that instances and backends
// started together spread out.
func (p *Poller) loop(ctx context.Context, b registry.Backend, f adapters.UpdateFetcher, interval time.Duration) {
	wait := time.Duration(rand.Float64() * float64(interval))
	var failing bool
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, p.c.PollTimeout)
		st, err := p.Poll(pctx, b, f)
		cancel()
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			p.metrics.pollErrors.WithLabelValues(b.ID).Inc()
			if !failing {
				p.log.Warn("polling for status updates failed; trying again at the next interval", "backend", b.ID, "err", err)
			}
			failing = true
		default:
			if failing {
				p.log.Info("polling for status updates works again", "backend", b.ID)
			}
			failing = false
			if st.Applied > 0 || st.Rejected > 0 {
				p.log.Info("status updates polled", "backend", b.ID, "applied", st.Applied, "duplicate", st.Duplicate, "rejected", st.Rejected)
			}
		}
		wait = jitter(interval)
	}
}

// jitter returns d ± 20%.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
