// Package legacysim simulates departments' legacy systems on loopback for tests,
// demos and benchmarks: backends of the kinds rest, open311 and soap (HTTP),
// smtp (a mailbox behind an SMTP server) and amqp (a consumer of a RabbitMQ
// queue), each with faults that can be changed at run time (error rate,
// latency, hang, down, flapping, slow acceptance) and a ledger of every
// delivery received with its idempotency key, so a test can reconcile what the
// gateway acknowledged with what arrived.
//
// A Sim is built from kinds (New, NewWith: HTTP backends under /b/{id}/ of one
// handler) or from a province file (FromProvince: every backend at the
// endpoints the province names, started by Start). A simulated department can
// also act on what it accepted (Actions: sign, return, request an extension,
// reply) and report it to the gateway as signed status callbacks (Callback).
package legacysim

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Faults are a backend's injected misbehaviour. The zero value is healthy.
// Durations are JSON numbers of nanoseconds.
type Faults struct {
	// ErrorRate is the share of deliveries refused as a temporary failure
	// (HTTP 503, SMTP 451, an AMQP nack) (0 to 1).
	ErrorRate float64 `json:"errorRate,omitempty"`
	// Latency is added to every answer (for AMQP: before the ack).
	Latency time.Duration `json:"latency,omitempty"`
	// Hang makes the backend never answer (until the client gives up).
	Hang bool `json:"hang,omitempty"`
	// Down closes every connection without an answer (AMQP: stops
	// consuming; messages stay queued in the broker).
	Down bool `json:"down,omitempty"`
	// FlapEvery, when set, alternates the backend between up and down.
	FlapEvery time.Duration `json:"flapEvery,omitempty"`
	// SlowAccept delays the answer after the delivery has been recorded (the
	// backend acted, the client may time out and retry).
	SlowAccept time.Duration `json:"slowAccept,omitempty"`
}

// Arrival is one delivery a backend received.
type Arrival struct {
	Key  string    `json:"key"`
	Body string    `json:"body,omitempty"`
	At   time.Time `json:"at"`
}

// Entry is a backend's ledger entry for one idempotency key.
type Entry struct {
	Key      string    `json:"key"`
	Arrivals int       `json:"arrivals"` // >1: repeats, expected after crashes
	First    time.Time `json:"first"`
	// ExternalID is the case number the backend gave.
	ExternalID string `json:"externalId"`
	// TicketID is the gateway's ticket id, when the payload carries it.
	TicketID string `json:"ticketId,omitempty"`
	// Status is what the department did with it: accepted, signed,
	// returned, extensionRequested or replied.
	Status  string    `json:"status"`
	Notes   string    `json:"notes,omitempty"`
	Updated time.Time `json:"updated"`
}

// Kinds are the backend kinds legacysim simulates.
var Kinds = []string{"rest", "open311", "soap", "smtp", "amqp"}

// httpKinds are the kinds served over HTTP.
var httpKinds = []string{"rest", "open311", "soap"}

// Backend is one simulated system.
type Backend struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Endpoints []string `json:"endpoints,omitempty"`

	sim      *Sim
	mu       sync.Mutex
	faults   Faults
	actions  Actions
	ledger   map[string]*Entry
	byExt    map[string]*Entry
	arrivals []Arrival
	seq      int
	keepBody bool
	changed  chan struct{} // closed and replaced when faults change
}

// Options configure a Sim. The zero value keeps no bodies, sends no
// callbacks and logs nothing.
type Options struct {
	// KeepBodies keeps every delivery's body (memory grows with traffic).
	KeepBodies bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives what the simulator does; nil discards.
	Log *slog.Logger
	// Callback, when its URL is set, is where departments report their
	// actions (see Actions).
	Callback Callback
	// Actions are every backend's initial actions (changed per backend with
	// SetActions or PUT /admin/actions/{id}).
	Actions Actions
}

// Sim is a set of simulated backends: behind one HTTP handler (backend b of
// an HTTP kind answers under /b/{id}/), and, when built from a province, at
// the endpoints the province names (see Start).
type Sim struct {
	mu       sync.RWMutex
	backends map[string]*Backend
	start    time.Time
	now      func() time.Time
	log      *slog.Logger
	opts     Options

	// The province's plan (FromProvince).
	httpRoutes map[string][]route               // host:port → path prefixes
	mailboxes  map[string]map[string][]*Backend // host:port → mailbox → backends
	queues     []*consumer
	skipped    []string

	quit   chan struct{}
	closed bool           // guarded by mu; no actions start once set
	wg     sync.WaitGroup // callback goroutines
}

// New returns a Sim with HTTP backends named by id → kind (rest, open311 or
// soap), served under /b/{id}/ by ServeHTTP.
func New(kinds map[string]string, keepBodies bool) (*Sim, error) {
	return NewWith(kinds, Options{KeepBodies: keepBodies})
}

// NewWith is New with options.
func NewWith(kinds map[string]string, o Options) (*Sim, error) {
	s := newSim(o)
	for id, kind := range kinds {
		if !slices.Contains(httpKinds, kind) {
			return nil, fmt.Errorf("backend %s: unknown kind %q (rest, open311 or soap)", id, kind)
		}
		s.add(id, kind, nil)
	}
	return s, nil
}

func newSim(o Options) *Sim {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Sim{
		backends: map[string]*Backend{},
		start:    o.Now(),
		now:      o.Now,
		log:      o.Log,
		opts:     o,
		quit:     make(chan struct{}),
	}
}

func (s *Sim) add(id, kind string, endpoints []string) *Backend {
	b := &Backend{
		ID: id, Kind: kind, Endpoints: endpoints, sim: s,
		ledger: map[string]*Entry{}, byExt: map[string]*Entry{},
		keepBody: s.opts.KeepBodies, actions: s.opts.Actions,
		changed: make(chan struct{}),
	}
	s.backends[id] = b
	return b
}

// Close stops pending actions and callbacks and ends hanging answers. It
// does not close listeners (their context does, see Start).
func (s *Sim) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.quit)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Backend returns backend id, or nil.
func (s *Sim) Backend(id string) *Backend {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.backends[id]
}

// IDs returns the backends' ids, sorted.
func (s *Sim) IDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]string, 0, len(s.backends))
	for id := range s.backends {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Skipped lists the province's backends that have no simulated system, with
// the reason.
func (s *Sim) Skipped() []string { return slices.Clone(s.skipped) }

// SetFaults replaces backend id's faults.
func (s *Sim) SetFaults(id string, f Faults) error {
	b := s.Backend(id)
	if b == nil {
		return fmt.Errorf("no backend %q", id)
	}
	b.mu.Lock()
	b.faults = f
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
	return nil
}

// SetActions replaces backend id's actions (for work orders accepted from
// now on).
func (s *Sim) SetActions(id string, a Actions) error {
	b := s.Backend(id)
	if b == nil {
		return fmt.Errorf("no backend %q", id)
	}
	b.mu.Lock()
	b.actions = a
	b.mu.Unlock()
	return nil
}

// state returns the backend's faults and the channel closed at their next
// change.
func (b *Backend) state() (Faults, chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.faults, b.changed
}

// down reports whether f makes the backend down at now.
func (s *Sim) down(f Faults) bool {
	return f.Down || (f.FlapEvery > 0 && (s.now().Sub(s.start)/f.FlapEvery)%2 == 1)
}

// failing draws whether one delivery fails under f.
func failing(f Faults) bool { return f.ErrorRate > 0 && rand.Float64() < f.ErrorRate }

// Ledger returns backend id's ledger, by key.
func (b *Backend) Ledger() map[string]Entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]Entry, len(b.ledger))
	for k, e := range b.ledger {
		out[k] = *e
	}
	return out
}

// Arrivals returns every arrival in order (bodies only when kept).
func (b *Backend) Arrivals() []Arrival {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Arrival(nil), b.arrivals...)
}

// Summary is a backend's line in GET /admin/backends.
type Summary struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Endpoints []string `json:"endpoints,omitempty"`
	Arrivals  int      `json:"arrivals"`
	Keys      int      `json:"keys"`    // distinct idempotency keys
	Repeats   int      `json:"repeats"` // arrivals - keys
	Faults    Faults   `json:"faults"`
	Actions   Actions  `json:"actions"`
}

// Summary returns the backend's counts and settings.
func (b *Backend) Summary() Summary {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Summary{
		ID: b.ID, Kind: b.Kind, Endpoints: b.Endpoints,
		Arrivals: b.seq, Keys: len(b.ledger), Repeats: b.seq - len(b.ledger),
		Faults: b.faults, Actions: b.actions,
	}
}

// order is what the simulator reads from a delivered payload besides the
// key: whether it asks for a new work order, and our ticket id if present.
type order struct {
	topic    string
	ticketID string
}

// creates reports whether the message hands over a work order (rather than
// supervising, withdrawing … an existing one). Unknown topics count.
func (o order) creates() bool {
	switch o.topic {
	case "", "ticket.dispatch", "ticket.reopen":
		return true
	}
	return false
}

// record adds an arrival to the ledger and returns the case number, the same
// for every arrival of one key (one effect per key). A new key for a new
// work order starts the backend's actions.
func (b *Backend) record(key string, body []byte, o order) string {
	now := b.sim.now()
	b.mu.Lock()
	b.seq++
	a := Arrival{Key: key, At: now}
	if b.keepBody {
		a.Body = string(body)
	}
	b.arrivals = append(b.arrivals, a)
	e, ok := b.ledger[key]
	if !ok {
		e = &Entry{Key: key, First: now, ExternalID: fmt.Sprintf("%s-%06d", b.ID, len(b.ledger)+1), TicketID: o.ticketID, Status: "accepted", Updated: now}
		b.ledger[key] = e
		b.byExt[e.ExternalID] = e
	}
	e.Arrivals++
	ext, acts := e.ExternalID, b.actions
	b.mu.Unlock()
	if !ok && o.creates() && acts.any() {
		b.sim.schedule(b, ext, o.ticketID, acts)
	}
	return ext
}

// setStatus records an action on the work order with case number ext.
func (b *Backend) setStatus(ext, status, notes string, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.byExt[ext]; e != nil {
		e.Status, e.Notes, e.Updated = status, notes, at
	}
}

// ServeHTTP routes /b/{id}/… to the backend and /admin/… to the controls
// (see Admin).
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/admin/") {
		s.Admin().ServeHTTP(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/b/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	id, sub, _ := strings.Cut(rest, "/")
	b := s.Backend(id)
	if b == nil || !slices.Contains(httpKinds, b.Kind) {
		http.NotFound(w, r)
		return
	}
	b.serveHTTP(w, r, "/"+sub)
}

// Admin returns the controls:
//
//	GET /admin/backends          every backend: kind, arrivals, distinct keys, repeats, faults, actions
//	GET /admin/ledger/{id}       the ledger by key
//	GET /admin/arrivals/{id}     every arrival in order
//	PUT /admin/faults/{id}       JSON Faults
//	PUT /admin/actions/{id}      JSON Actions
func (s *Sim) Admin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/admin/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		s.admin(w, r, rest)
	})
}

func (s *Sim) admin(w http.ResponseWriter, r *http.Request, rest string) {
	what, id, _ := strings.Cut(rest, "/")
	b := s.Backend(id)
	put := r.Method == http.MethodPut || r.Method == http.MethodPost
	switch {
	case what == "backends" && r.Method == http.MethodGet:
		out := []Summary{}
		for _, id := range s.IDs() {
			out = append(out, s.Backend(id).Summary())
		}
		writeJSON(w, out)
	case what == "ledger" && r.Method == http.MethodGet && b != nil:
		writeJSON(w, b.Ledger())
	case what == "arrivals" && r.Method == http.MethodGet && b != nil:
		writeJSON(w, b.Arrivals())
	case what == "faults" && put:
		var f Faults
		if !decodeJSON(w, r, &f) {
			return
		}
		if err := s.SetFaults(id, f); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		s.log.Info("faults changed", "backend", id, "faults", f)
		writeJSON(w, f)
	case what == "actions" && put:
		var a Actions
		if !decodeJSON(w, r, &a) {
			return
		}
		if err := s.SetActions(id, a); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		writeJSON(w, a)
	default:
		http.NotFound(w, r)
	}
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		http.Error(w, "decoding JSON: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// wait sleeps d, or until done or the Sim closes; it reports whether the
// whole time passed.
func (s *Sim) wait(d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
	case <-s.quit:
	}
	return false
}
