// Package legacysim simulates departments' legacy systems on loopback for tests,
// demos and benchmarks: any number of backends of the HTTP kinds (rest, open311,
// soap), each with faults that can be changed at run time (error rate, latency,
// hang, down, flapping, slow acceptance) and a ledger of every delivery received
// with its idempotency key, so a test can reconcile what the gateway
// acknowledged with what arrived.
package legacysim

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Faults are a backend's injected misbehaviour. The zero value is healthy.
type Faults struct {
	// ErrorRate is the share of requests answered 503 (0 to 1).
	ErrorRate float64 `json:"errorRate,omitempty"`
	// Latency is added to every answer.
	Latency time.Duration `json:"latency,omitempty"`
	// Hang makes the backend never answer (until the client gives up).
	Hang bool `json:"hang,omitempty"`
	// Down closes every connection without an answer.
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
}

// Backend is one simulated system.
type Backend struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // rest, open311 or soap

	mu       sync.Mutex
	faults   Faults
	ledger   map[string]*Entry
	arrivals []Arrival
	seq      int
	keepBody bool
}

// Sim is a set of simulated backends behind one HTTP handler: backend b of any
// kind answers under /b/{id}/.
type Sim struct {
	mu       sync.RWMutex
	backends map[string]*Backend
	start    time.Time
}

// New returns a Sim with backends named by id → kind.
func New(kinds map[string]string, keepBodies bool) (*Sim, error) {
	s := &Sim{backends: map[string]*Backend{}, start: time.Now()}
	for id, kind := range kinds {
		switch kind {
		case "rest", "open311", "soap":
		default:
			return nil, fmt.Errorf("backend %s: unknown kind %q (rest, open311 or soap)", id, kind)
		}
		s.backends[id] = &Backend{ID: id, Kind: kind, ledger: map[string]*Entry{}, keepBody: keepBodies}
	}
	return s, nil
}

// Backend returns backend id, or nil.
func (s *Sim) Backend(id string) *Backend {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.backends[id]
}

// SetFaults replaces backend id's faults.
func (s *Sim) SetFaults(id string, f Faults) error {
	b := s.Backend(id)
	if b == nil {
		return fmt.Errorf("no backend %q", id)
	}
	b.mu.Lock()
	b.faults = f
	b.mu.Unlock()
	return nil
}

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

// ServeHTTP routes /b/{id}/… to the backend and /admin/… to the controls:
// GET /admin/backends, GET /admin/ledger/{id}, PUT /admin/faults/{id} (JSON Faults).
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/admin/"); ok {
		s.admin(w, r, rest)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/b/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	id, _, _ := strings.Cut(rest, "/")
	b := s.Backend(id)
	if b == nil {
		http.NotFound(w, r)
		return
	}
	b.serve(w, r, s.start)
}

func (s *Sim) admin(w http.ResponseWriter, r *http.Request, rest string) {
	what, id, _ := strings.Cut(rest, "/")
	switch {
	case what == "backends" && r.Method == http.MethodGet:
		s.mu.RLock()
		ids := make([]string, 0, len(s.backends))
		for id := range s.backends {
			ids = append(ids, id)
		}
		s.mu.RUnlock()
		sort.Strings(ids)
		out := []map[string]any{}
		for _, id := range ids {
			b := s.Backend(id)
			b.mu.Lock()
			out = append(out, map[string]any{"id": b.ID, "kind": b.Kind, "faults": b.faults, "keys": len(b.ledger), "arrivals": b.seq})
			b.mu.Unlock()
		}
		writeJSON(w, out)
	case what == "ledger" && r.Method == http.MethodGet && s.Backend(id) != nil:
		writeJSON(w, s.Backend(id).Ledger())
	case what == "faults" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		var f Faults
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&f); err != nil {
			http.Error(w, "faults: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := s.SetFaults(id, f); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		writeJSON(w, f)
	default:
		http.NotFound(w, r)
	}
}

func (b *Backend) serve(w http.ResponseWriter, r *http.Request, start time.Time) {
	b.mu.Lock()
	f := b.faults
	b.mu.Unlock()
	down := f.Down || (f.FlapEvery > 0 && (time.Since(start)/f.FlapEvery)%2 == 1)
	if down {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	// Read the whole body first: only then does net/http notice a client
	// that hangs up, which ends a hanging request.
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	if f.Hang {
		<-r.Context().Done()
		return
	}
	if f.Latency > 0 {
		sleep(r, f.Latency)
	}
	if f.ErrorRate > 0 && rand.Float64() < f.ErrorRate {
		http.Error(w, "simulated failure", http.StatusServiceUnavailable)
		return
	}
	key := arrivalKey(b.Kind, r, body)
	if key == "" {
		http.Error(w, "no idempotency key", http.StatusBadRequest)
		return
	}
	ext := b.record(key, body)
	if f.SlowAccept > 0 {
		sleep(r, f.SlowAccept)
	}
	switch b.Kind {
	case "rest":
		writeJSON(w, map[string]string{"id": ext})
	case "open311":
		writeJSON(w, []map[string]string{{"service_request_id": ext}})
	case "soap":
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ReceiveWorkOrderResponse><code>0</code><caseNo>%s</caseNo></ReceiveWorkOrderResponse></soap:Body></soap:Envelope>`, ext)
	}
}

// record adds an arrival to the ledger and returns the case number, the same
// for every arrival of one key (one effect per key).
func (b *Backend) record(key string, body []byte) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	a := Arrival{Key: key, At: time.Now()}
	if b.keepBody {
		a.Body = string(body)
	}
	b.arrivals = append(b.arrivals, a)
	e, ok := b.ledger[key]
	if !ok {
		e = &Entry{Key: key, First: a.At, ExternalID: fmt.Sprintf("%s-%06d", b.ID, len(b.ledger)+1)}
		b.ledger[key] = e
	}
	e.Arrivals++
	return e.ExternalID
}

// arrivalKey finds the idempotency key where each kind's adapter puts it.
func arrivalKey(kind string, r *http.Request, body []byte) string {
	switch kind {
	case "open311":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return ""
		}
		return form.Get("attribute[switchboard_key]")
	case "soap":
		return r.Header.Get("X-Idempotency-Key")
	}
	return r.Header.Get("Idempotency-Key")
}

func sleep(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
