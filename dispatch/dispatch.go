// Package dispatch delivers the outbox to the departments' legacy systems.
//
// The outbox rows are written in the same transaction as the ticket change
// they report (package store); a Dispatcher claims them under a lease, hands
// each to its backend's lane and records the outcome. Per backend, a lane has
// a bounded queue and a fixed number of workers (the bulkhead), a deadline on
// every call, a github.com/sony/gobreaker/v2 circuit breaker, retries with
// full-jitter exponential backoff under a retry budget, and a dead letter after
// too many attempts or too long a wait. One hanging backend fills its own
// queue and nothing else: the claim skips backends whose queue is full or
// whose breaker is open, and a half-open breaker gets its probes claimed for
// it alone.
//
// Delivery is at least once; every delivery carries the message's idempotency
// key, so a repeat after a crash has one effect at the backend. The dispatcher
// wakes when the store commits outbox rows (no polling delay) and also claims
// on a short period for work committed by other instances and retries that
// come due.
package dispatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
)

// Tuning holds the dispatcher's defaults; a backend's registry settings
// (maxInFlight, timeout, breaker) override the per-backend ones. Zero values
// take the defaults noted.
type Tuning struct {
	QueueCap    int           // per backend queue, 64
	MaxInFlight int           // per backend concurrent calls (bulkhead), 8
	Timeout     time.Duration // per call, 5s
	LeaseFor    time.Duration // how long a claim holds a message, 2m
	ClaimBatch  int           // messages per claim, 128
	Poll        time.Duration // claim period besides wake-ups, 250ms

	MaxAttempts int           // dead-letter after this many attempts, 10
	MaxAge      time.Duration // or when a message is this old, 72h
	BackoffBase time.Duration // first retry window, 1s
	BackoffMax  time.Duration // largest retry window, 5m
	RetryRatio  float64       // retries allowed per first attempt, 0.2
	RetryMin    float64       // plus retries per second, 5

	ConsecutiveFailures int           // failures in a row that open a breaker, 5
	FailureRatio        float64       // … when at least this share of recent calls failed, 0.9
	OpenFor             time.Duration // open period before a probe, 5s
	HalfOpenProbes      int           // calls a half-open breaker lets through, 1
}

func (t Tuning) withDefaults() Tuning {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&t.QueueCap, 64)
	def(&t.MaxInFlight, 8)
	defD(&t.Timeout, 5*time.Second)
	defD(&t.LeaseFor, 2*time.Minute)
	def(&t.ClaimBatch, 128)
	defD(&t.Poll, 250*time.Millisecond)
	def(&t.MaxAttempts, 10)
	defD(&t.MaxAge, 72*time.Hour)
	defD(&t.BackoffBase, time.Second)
	defD(&t.BackoffMax, 5*time.Minute)
	if t.RetryRatio <= 0 {
		t.RetryRatio = 0.2
	}
	if t.RetryMin <= 0 {
		t.RetryMin = 5
	}
	def(&t.ConsecutiveFailures, 5)
	if t.FailureRatio <= 0 {
		t.FailureRatio = 0.9
	}
	defD(&t.OpenFor, 5*time.Second)
	def(&t.HalfOpenProbes, 1)
	return t
}

// Config wires a Dispatcher.
type Config struct {
	Outbox store.Outbox
	// Routes returns the current registry snapshot (registry.Live.Snapshot).
	Routes func() *registry.Snapshot
	// Kinds builds an adapter for each backend kind.
	Kinds map[string]adapters.Factory
	// Endpoints resolves a backend's Consul service to passing instances;
	// nil means static endpoints only.
	Endpoints func(ctx context.Context, service string) ([]string, error)
	// Owner names this instance in leases; empty picks a unique one.
	Owner string
	// Exclusive says this is the only dispatcher of its store (SQLite): the
	// leases a killed predecessor left are released at start instead of
	// waiting for them to expire.
	Exclusive bool
	Now       func() time.Time
	Logger    *slog.Logger
	// Metrics, if set, receives the dispatcher's Prometheus metrics.
	Metrics prometheus.Registerer
	Tuning  Tuning
}

// Dispatcher delivers the outbox. Create it with New and run it with Run.
type Dispatcher struct {
	c     Config
	t     Tuning
	log   *slog.Logger
	now   func() time.Time
	owner string
	// lessee is the lease owner outcomes are recorded under: the owner, or
	// nobody when claims are held in memory (Exclusive).
	lessee string
	m      *metrics

	kick chan struct{}

	// held are the messages this dispatcher holds without a lease
	// (Exclusive): claimed, not yet settled.
	hmu  sync.Mutex
	held map[int64]struct{}
	// released are the messages settled while the current claim read: the
	// read may predate their outcome's commit, so it must not take them.
	released map[int64]struct{}

	mu       sync.Mutex
	lanes    map[string]*lane // by backend id
	snap     *registry.Snapshot
	backends map[string]registry.Backend
	refresh  time.Time // when Consul endpoints were last resolved

	ctx    context.Context // the lanes' context, set by Run
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a dispatcher; it does nothing until Run.
func New(c Config) (*Dispatcher, error) {
	if c.Outbox == nil || c.Routes == nil {
		return nil, errors.New("dispatch: Outbox and Routes are required")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Owner == "" {
		c.Owner = newOwner()
	}
	d := &Dispatcher{
		c: c, t: c.Tuning.withDefaults(), log: c.Logger, now: c.Now, owner: c.Owner,
		kick:  make(chan struct{}, 1),
		lanes: map[string]*lane{},
		held:  map[int64]struct{}{},
	}
	if !c.Exclusive {
		d.lessee = d.owner
	}
	d.m = newMetrics(d)
	if c.Metrics != nil {
		if err := d.m.register(c.Metrics); err != nil {
			return nil, fmt.Errorf("dispatch: registering metrics: %w", err)
		}
	}
	return d, nil
}

func newOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Owner is the name this dispatcher claims under.
func (d *Dispatcher) Owner() string { return d.owner }

// Wake makes the dispatcher claim at once (after a redrive, say).
func (d *Dispatcher) Wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run claims and delivers until ctx ends, then stops its lanes, lets the
// calls in flight settle and releases the leases it still holds.
func (d *Dispatcher) Run(ctx context.Context) error {
	lanesCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.mu.Lock()
	d.ctx, d.cancel = lanesCtx, cancel
	d.mu.Unlock()
	if d.c.Exclusive {
		if n, err := d.c.Outbox.ReleaseLeases(ctx, ""); err != nil {
			d.log.Warn("releasing leases left by a previous run", "err", err)
		} else if n > 0 {
			d.log.Info("released leases left by a previous run", "messages", n)
		}
	}
	defer d.stop()
	notify := d.c.Outbox.OutboxNotify()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-notify:
		case <-d.kick:
		case <-timer.C:
		}
		more := d.claimOnce(ctx)
		if more {
			d.Wake()
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(d.t.Poll)
	}
}

// stop ends the lanes and hands back what they had not delivered.
func (d *Dispatcher) stop() {
	d.cancel()
	d.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := d.c.Outbox.ReleaseLeases(ctx, d.owner); err != nil {
		d.log.Warn("releasing leases at shutdown", "err", err)
	} else if n > 0 {
		d.log.Info("released undelivered messages at shutdown", "messages", n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range d.lanes {
		l.close()
	}
}

// parkEvery is how often the messages that keep arriving for a backend
// whose breaker is open are parked.
const parkEvery = 200 * time.Millisecond

// claimOnce claims due messages for the lanes that can take them, and the
// probes of half-open breakers. It reports whether a full batch came back
// (more may be due).
func (d *Dispatcher) claimOnce(ctx context.Context) bool {
	d.sync(ctx)
	now := d.now()
	var exclude []string
	var probes, park, unpark []*lane
	d.mu.Lock()
	for id, l := range d.lanes {
		if l.reclosed.Swap(false) {
			unpark = append(unpark, l)
		}
		switch st := l.breakerState(); st {
		case stateHalfOpen, stateOpen:
			if st == stateHalfOpen && l.inflight.Load() == 0 && len(l.queue) == 0 {
				probes = append(probes, l)
			}
			exclude = append(exclude, id)
			if now.Sub(l.parked) >= parkEvery {
				park = append(park, l)
			}
		default:
			if len(l.queue) >= cap(l.queue) {
				exclude = append(exclude, id)
			}
		}
	}
	d.mu.Unlock()
	// The messages of a backend whose breaker is not closed are parked an
	// open period ahead, again and again while it stays so: claims then read
	// past none of them (they are the oldest, first in the due order). Its
	// probes claim them anyway; once it closes they are unparked.
	for _, l := range park {
		l.parked = now
		if _, err := d.c.Outbox.Park(ctx, l.id, now, now.Add(l.openFor)); err != nil {
			d.log.Warn("parking an open backend's messages", "backend", l.id, "err", err)
		}
	}
	// A backend that answers again gets its backlog at once; its bulkhead
	// and queue pace it.
	for _, l := range unpark {
		if _, err := d.c.Outbox.Unpark(ctx, l.id, now); err != nil {
			d.log.Warn("unparking a recovered backend's messages", "backend", l.id, "err", err)
		}
	}
	for _, l := range probes {
		got, err := d.claim(ctx, store.Claim{Now: now, Limit: l.probes, Only: l.id})
		if err != nil {
			d.log.Warn("claiming probe", "backend", l.id, "err", err)
			continue
		}
		d.route(ctx, got)
	}
	got, err := d.claim(ctx, store.Claim{Now: now, Limit: d.t.ClaimBatch, Exclude: exclude})
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("claiming outbox messages", "err", err)
		}
		return false
	}
	d.route(ctx, got)
	return len(got) == d.t.ClaimBatch
}

// claim takes due messages. A dispatcher alone on its store (Exclusive)
// claims by reading, with no write and so no commit to wait for, and keeps
// its claims in memory until their outcome is recorded; otherwise the claim
// leases the messages in the store, where other instances see it.
func (d *Dispatcher) claim(ctx context.Context, c store.Claim) ([]store.Pending, error) {
	c.Owner = d.owner
	if !d.c.Exclusive {
		c.Until = c.Now.Add(d.t.LeaseFor)
		return d.c.Outbox.Claim(ctx, c)
	}
	d.hmu.Lock()
	c.Skip = maps.Clone(d.held)
	d.released = map[int64]struct{}{}
	d.hmu.Unlock()
	want := c.Limit
	c.NoLease = true
	got, err := d.c.Outbox.Claim(ctx, c)
	if err != nil {
		return nil, err
	}
	d.hmu.Lock()
	defer d.hmu.Unlock()
	defer func() { d.released = nil }()
	fresh := got[:0]
	for _, p := range got {
		_, holding := d.held[p.ID]
		_, settled := d.released[p.ID]
		if holding || settled || len(fresh) == want {
			continue
		}
		d.held[p.ID] = struct{}{}
		fresh = append(fresh, p)
	}
	return fresh, nil
}

// release forgets a held message once its outcome is recorded.
func (d *Dispatcher) release(id int64) {
	if d.c.Exclusive {
		d.hmu.Lock()
		delete(d.held, id)
		if d.released != nil {
			d.released[id] = struct{}{}
		}
		d.hmu.Unlock()
	}
}

// route hands claimed messages to their lanes. A message whose lane is full
// (it filled between the exclusion and the claim) goes back, due at once.
func (d *Dispatcher) route(ctx context.Context, got []store.Pending) {
	for i := range got {
		p := &got[i]
		msg, err := decode(p)
		if err != nil {
			d.settle(ctx, p, "", func(ctx context.Context) error {
				return d.c.Outbox.DeadLetter(ctx, p.ID, d.lessee, "undecodable outbox payload: "+err.Error(), d.now())
			})
			continue
		}
		l, err := d.laneFor(p, msg.Ticket.Category)
		if err != nil {
			d.failUnrouted(ctx, p, err)
			continue
		}
		select {
		case l.queue <- &job{p: *p, msg: msg}:
			l.m.queued.Set(float64(len(l.queue)))
		default:
			d.settle(ctx, p, l.id, func(ctx context.Context) error {
				return d.c.Outbox.Retry(ctx, p.ID, d.lessee, d.now(), "queue full", false)
			})
		}
	}
}

// failUnrouted retries, then dead-letters, a message no backend serves.
func (d *Dispatcher) failUnrouted(ctx context.Context, p *store.Pending, why error) {
	now := d.now()
	attempts := p.Attempts + 1
	if attempts >= d.t.MaxAttempts || now.Sub(p.Created) > d.t.MaxAge {
		d.settle(ctx, p, "", func(ctx context.Context) error {
			return d.c.Outbox.DeadLetter(ctx, p.ID, d.lessee, why.Error(), now)
		})
		d.m.deadLettered.WithLabelValues(p.Backend).Inc()
		return
	}
	next := now.Add(fullJitter(d.t.BackoffBase, d.t.BackoffMax, attempts))
	d.settle(ctx, p, "", func(ctx context.Context) error {
		return d.c.Outbox.Retry(ctx, p.ID, d.lessee, next, why.Error(), true)
	})
}

// settle records an outcome. It outlives the dispatcher's context by a few
// seconds so that a shutdown does not leave finished deliveries unrecorded;
// a failure leaves the message leased, to be retried when the lease ends.
func (d *Dispatcher) settle(ctx context.Context, p *store.Pending, backend string, fn func(context.Context) error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	// Whatever happens, the message is not held any more: recorded, it is
	// due again (or done); not recorded, it is still pending as before and
	// another delivery with the same key is safe.
	defer d.release(p.ID)
	if err := fn(sctx); err != nil {
		lvl := slog.LevelError
		if errors.Is(err, store.ErrLeaseLost) {
			lvl = slog.LevelWarn
		}
		d.log.Log(sctx, lvl, "recording delivery outcome", "message", p.ID, "ticket", p.TicketID, "backend", backend, "err", err)
	}
}

// message is a decoded outbox payload.
type message struct {
	Ticket ticket.Ticket `json:"ticket"`
	Event  ticket.Event  `json:"event"`
}

func decode(p *store.Pending) (message, error) {
	var m message
	if len(p.Payload) == 0 {
		return m, errors.New("empty payload")
	}
	if err := json.Unmarshal(p.Payload, &m); err != nil {
		return m, err
	}
	if m.Ticket.ID == "" {
		m.Ticket.ID = p.TicketID
	}
	if m.Ticket.TrackingNumber == "" {
		// A message written with its ticket's creation predates the number.
		m.Ticket.TrackingNumber = p.TrackingNumber
	}
	return m, nil
}

// delivery is what the adapter receives for job j.
func delivery(j *job) adapters.Delivery {
	t, e := &j.msg.Ticket, &j.msg.Event
	return adapters.Delivery{
		Key:     j.p.Key,
		Topic:   j.p.Topic,
		Unit:    j.p.Unit,
		Attempt: j.p.Attempts + 1,
		Ticket: adapters.Ticket{
			ID: t.ID, TrackingNumber: t.TrackingNumber, Title: t.Title, Content: t.Content,
			Category: t.Category, RequestType: string(t.RequestType), Urgency: string(t.Urgency),
			Address: t.Location.Address, RegionCode: t.Location.RegionCode,
			CallerName: t.Caller.Name, CallerPhone: t.Caller.Phone,
			HandlingUnit: t.HandlingUnit, CoHandling: t.CoHandlingUnits,
			SignBy: t.SignBy, ReplyBy: t.ReplyBy, CreateTime: t.CreateTime,
		},
		Event: adapters.Event{Seq: e.Seq, Action: e.Action, Actor: e.Actor, Reason: e.Reason, Time: e.Time},
	}
}

// sync follows registry changes: backends whose settings changed get a new
// adapter, and Consul-resolved endpoints are refreshed every 15 seconds.
func (d *Dispatcher) sync(ctx context.Context) {
	snap := d.c.Routes()
	now := d.now()
	d.mu.Lock()
	changed := snap != d.snap
	due := d.c.Endpoints != nil && now.Sub(d.refresh) > 15*time.Second
	if changed {
		d.snap = snap
		d.backends = map[string]registry.Backend{}
		if snap != nil {
			for _, b := range snap.Backends() {
				d.backends[b.ID] = b
			}
		}
	}
	if due {
		d.refresh = now
	}
	lanes := make([]*lane, 0, len(d.lanes))
	for _, l := range d.lanes {
		lanes = append(lanes, l)
	}
	backends := d.backends
	d.mu.Unlock()
	if !changed && !due {
		return
	}
	for _, l := range lanes {
		b, ok := backends[l.id]
		if !ok {
			continue // removed: its lane idles; its messages route afresh
		}
		if b.Service != "" && due || changed {
			l.reconfigure(ctx, b)
		}
	}
}

// laneFor returns the lane of the message's backend, creating it on first use.
// A message without a backend (or whose backend left the registry) goes to
// the backend that now serves its unit and category.
func (d *Dispatcher) laneFor(p *store.Pending, category string) (*lane, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, ok := d.backends[p.Backend]
	if !ok {
		if d.snap != nil {
			b, ok = d.snap.BackendFor(p.Unit, category)
		}
		if !ok {
			return nil, fmt.Errorf("no backend serves unit %q (category %q)", p.Unit, category)
		}
	}
	if l, ok := d.lanes[b.ID]; ok {
		return l, nil
	}
	l := newLane(d, b)
	d.lanes[b.ID] = l
	l.start(d.ctx)
	return l, nil
}

// endpoints returns where backend b is reached now.
func (d *Dispatcher) endpoints(ctx context.Context, b registry.Backend) ([]string, error) {
	if b.Service == "" || d.c.Endpoints == nil {
		return b.Endpoints, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	eps, err := d.c.Endpoints(ctx, b.Service)
	if err != nil {
		return nil, fmt.Errorf("resolving service %q: %w", b.Service, err)
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("service %q has no passing instance", b.Service)
	}
	return eps, nil
}
