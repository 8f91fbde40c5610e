package dispatch

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
)

// A job is one claimed message on its way to a backend.
type job struct {
	p   store.Pending
	msg message
}

// lane is one backend's isolation: its queue, its workers (as many as the
// bulkhead allows in flight), its breaker, its retry budget and its figures.
type lane struct {
	d       *Dispatcher
	id      string
	unit    string
	kind    string
	timeout time.Duration
	probes  int
	workers int

	queue chan *job
	cb    *gobreaker.CircuitBreaker[adapters.Receipt]

	mu      sync.Mutex
	backend registry.Backend
	ad      adapters.Adapter
	adErr   error // why the adapter could not be built

	budget *budget
	lat    *window
	// parked is when the claimer last parked the backend's messages (its
	// breaker was not closed); the claimer's own.
	parked time.Time
	// openFor is the breaker's open period.
	openFor time.Duration
	// reclosed is set when the breaker closes after a successful probe: the
	// claimer unparks the backend's messages.
	reclosed atomic.Bool

	inflight atomic.Int64
	attempts atomic.Int64
	done     atomic.Int64
	failures atomic.Int64
	rejected atomic.Int64

	m laneMetrics
}

func newLane(d *Dispatcher, b registry.Backend) *lane {
	t := d.t
	l := &lane{
		d: d, id: b.ID, unit: b.Unit, kind: b.Kind,
		timeout: t.Timeout, probes: t.HalfOpenProbes, workers: t.MaxInFlight,
		queue:  make(chan *job, t.QueueCap),
		budget: newBudget(t.RetryRatio, t.RetryMin, d.now()),
		lat:    newWindow(2048),
	}
	if b.Timeout > 0 {
		l.timeout = b.Timeout
	}
	if b.MaxInFlight > 0 {
		l.workers = b.MaxInFlight
	}
	if b.Breaker.HalfOpenProbes > 0 {
		l.probes = b.Breaker.HalfOpenProbes
	}
	consecutive, openFor := t.ConsecutiveFailures, t.OpenFor
	if b.Breaker.ConsecutiveFailures > 0 {
		consecutive = b.Breaker.ConsecutiveFailures
	}
	if b.Breaker.OpenFor > 0 {
		openFor = b.Breaker.OpenFor
	}
	ratio := t.FailureRatio
	l.openFor = openFor
	l.m = d.m.lane(b.ID)
	l.cb = gobreaker.NewCircuitBreaker[adapters.Receipt](gobreaker.Settings{
		Name:         b.ID,
		MaxRequests:  uint32(l.probes),
		Interval:     10 * time.Second,
		BucketPeriod: time.Second,
		Timeout:      openFor,
		// A hard-down backend fails every call: open after a few in a row.
		// A backend failing some calls stays closed; retries handle those.
		ReadyToTrip: func(c gobreaker.Counts) bool {
			// Over finished calls: Requests also counts the calls still in
			// flight, which would hold a busy backend's ratio down.
			// A long enough run of failures trips it whatever came before
			// (a backend that was flaky and then went down).
			done := c.TotalSuccesses + c.TotalFailures
			return c.ConsecutiveFailures >= uint32(consecutive) &&
				(float64(c.TotalFailures) >= ratio*float64(done) || c.ConsecutiveFailures >= 3*uint32(consecutive))
		},
		// Runs inside the breaker: it only sets a gauge, logs and wakes the
		// claimer, and never calls back into the breaker.
		OnStateChange: func(name string, from, to gobreaker.State) {
			if to == gobreaker.StateClosed {
				l.reclosed.Store(true)
			}
			l.m.breaker.Set(float64(stateOf(to)))
			d.log.Info("breaker changed state", "backend", name, "from", from.String(), "to", to.String())
			d.Wake()
		},
		// A refusal proves the backend is up: it fails the delivery, not the
		// breaker.
		IsSuccessful: func(err error) bool { return err == nil || adapters.IsPermanent(err) },
		// Our own shutdown says nothing about the backend.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
	})
	l.reconfigure(context.Background(), b)
	return l
}

func (l *lane) start(ctx context.Context) {
	for range l.workers {
		l.d.wg.Add(1)
		go l.work(ctx)
	}
}

// reconfigure builds the adapter for b when its settings or endpoints changed.
func (l *lane) reconfigure(ctx context.Context, b registry.Backend) {
	eps, err := l.d.endpoints(ctx, b)
	l.mu.Lock()
	same := l.ad != nil && reflect.DeepEqual(l.backend, b) && reflect.DeepEqual(l.backend.Endpoints, eps)
	l.mu.Unlock()
	if same {
		return
	}
	var ad adapters.Adapter
	if err == nil {
		f, ok := l.d.c.Kinds[b.Kind]
		switch {
		case !ok:
			err = fmt.Errorf("no adapter for kind %q", b.Kind)
		default:
			ad, err = f(adapters.Config{Backend: b.ID, Endpoints: eps, Settings: b.Config})
		}
	}
	if err != nil {
		l.d.log.Error("backend adapter unavailable; its messages wait and retry", "backend", b.ID, "kind", b.Kind, "err", err)
	}
	b.Endpoints = eps
	l.mu.Lock()
	old := l.ad
	l.backend, l.ad, l.adErr = b, ad, err
	l.mu.Unlock()
	if c, ok := old.(adapters.Closer); ok && old != ad {
		// Calls in flight on the old adapter may fail and be retried.
		go c.Close()
	}
}

func (l *lane) adapter() (adapters.Adapter, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ad == nil {
		if l.adErr == nil {
			return nil, errors.New("adapter not configured")
		}
		return nil, l.adErr
	}
	return l.ad, nil
}

func (l *lane) close() {
	l.mu.Lock()
	ad := l.ad
	l.mu.Unlock()
	if c, ok := ad.(adapters.Closer); ok {
		c.Close()
	}
}

const (
	stateClosed = iota
	stateHalfOpen
	stateOpen
)

func stateOf(s gobreaker.State) int {
	switch s {
	case gobreaker.StateOpen:
		return stateOpen
	case gobreaker.StateHalfOpen:
		return stateHalfOpen
	}
	return stateClosed
}

func (l *lane) breakerState() int { return stateOf(l.cb.State()) }

func (l *lane) work(ctx context.Context) {
	defer l.d.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-l.queue:
			l.m.queued.Set(float64(len(l.queue)))
			l.deliver(ctx, j)
		}
	}
}

// deliver makes one attempt and records its outcome.
func (l *lane) deliver(ctx context.Context, j *job) {
	d := l.d
	p := &j.p
	ad, err := l.adapter()
	if err != nil {
		l.retry(ctx, j, err, true)
		return
	}
	if p.Attempts == 0 {
		l.budget.deposit(d.now())
	}
	l.inflight.Add(1)
	l.m.inflight.Set(float64(l.inflight.Load()))
	rec, err := l.cb.Execute(func() (adapters.Receipt, error) {
		// Every call has a deadline: a half-open probe must never stall.
		cctx, cancel := context.WithTimeout(ctx, l.timeout)
		defer cancel()
		l.attempts.Add(1)
		return ad.Deliver(cctx, delivery(j))
	})
	l.inflight.Add(-1)
	l.m.inflight.Set(float64(l.inflight.Load()))
	now := d.now()
	switch {
	case err == nil:
		lat := now.Sub(p.Created)
		l.lat.add(lat)
		l.done.Add(1)
		l.m.outcome(outcomeDelivered)
		l.m.latency.Observe(lat.Seconds())
		d.settle(ctx, p, l.id, func(ctx context.Context) error {
			return d.c.Outbox.Delivered(ctx, p.ID, d.lessee, store.Delivered{At: now, ExternalID: rec.ExternalID, Duplicate: rec.Duplicate})
		})
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		// Refused by our own breaker: no attempt was made.
		l.m.outcome(outcomeRefused)
		next := now.Add(fullJitter(d.t.OpenFor/2, d.t.OpenFor, 1))
		d.settle(ctx, p, l.id, func(ctx context.Context) error {
			return d.c.Outbox.Retry(ctx, p.ID, d.lessee, next, "breaker "+l.cb.State().String(), false)
		})
	case ctx.Err() != nil:
		// Shutting down: hand the message back, due at once.
		d.settle(ctx, p, l.id, func(ctx context.Context) error {
			return d.c.Outbox.Retry(ctx, p.ID, d.lessee, now, "gateway shutting down", false)
		})
	case adapters.IsPermanent(err):
		l.rejected.Add(1)
		l.m.outcome(outcomeRejected)
		l.m.dead.Inc()
		d.log.Warn("backend rejected a delivery; dead-lettered", "backend", l.id, "ticket", p.TicketID, "key", p.Key, "err", err)
		d.settle(ctx, p, l.id, func(ctx context.Context) error {
			return d.c.Outbox.DeadLetter(ctx, p.ID, d.lessee, "rejected: "+err.Error(), now)
		})
	default:
		l.failures.Add(1)
		l.m.outcome(outcomeFailed)
		l.retry(ctx, j, err, true)
	}
}

// retry schedules the next attempt after a failure, or dead-letters the
// message when it has had its attempts or waited too long.
func (l *lane) retry(ctx context.Context, j *job, cause error, counted bool) {
	d := l.d
	p := &j.p
	now := d.now()
	attempts := p.Attempts + 1
	if attempts >= d.t.MaxAttempts || now.Sub(p.Created) > d.t.MaxAge {
		reason := fmt.Sprintf("gave up after %d attempts over %s: %v", attempts, now.Sub(p.Created).Round(time.Second), cause)
		l.m.dead.Inc()
		d.log.Warn("delivery dead-lettered", "backend", l.id, "ticket", p.TicketID, "key", p.Key, "attempts", attempts, "err", cause)
		d.settle(ctx, p, l.id, func(ctx context.Context) error {
			return d.c.Outbox.DeadLetter(ctx, p.ID, d.lessee, reason, now)
		})
		return
	}
	delay, asked := adapters.RetryDelay(cause)
	if !asked {
		delay = fullJitter(d.t.BackoffBase, d.t.BackoffMax, attempts)
	}
	if !l.budget.withdraw(now) {
		// Over budget: the retry waits in the widest window instead.
		delay = max(delay, fullJitter(d.t.BackoffMax/4, d.t.BackoffMax, 1))
		l.m.outcome(outcomeThrottled)
	}
	next := now.Add(delay)
	d.settle(ctx, p, l.id, func(ctx context.Context) error {
		return d.c.Outbox.Retry(ctx, p.ID, d.lessee, next, cause.Error(), counted)
	})
}
