package dispatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/rest"
	"github.com/switchboard12345/switchboard/dispatch"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/legacysim"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

// rig is a dispatcher on a real SQLite store delivering through the real REST
// adapter to simulated department systems.
type rig struct {
	t     *testing.T
	st    *sqlstore.Store
	sim   *legacysim.Sim
	d     *dispatch.Dispatcher
	snap  *registry.Snapshot
	stop  context.CancelFunc
	done  chan error
	tune  dispatch.Tuning
	mu    sync.Mutex
	count int
}

func newRig(t *testing.T, backends []string, tune dispatch.Tuning) *rig {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "sb.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, b := range backends {
		kinds[b] = "rest"
	}
	sim, err := legacysim.New(kinds, false)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	p := &registry.ProvinceFile{Units: []registry.Unit{{ID: "gd", Name: "广东省", Kind: registry.Province, RegionCode: "440000"}}}
	for _, b := range backends {
		p.Units = append(p.Units, registry.Unit{ID: "u-" + b, Name: "单位" + b, Kind: registry.Department, Parent: "gd"})
		p.Backends = append(p.Backends, registry.Backend{ID: b, Unit: "u-" + b, Kind: "rest",
			Endpoints: []string{srv.URL + "/b/" + b}, Timeout: 2 * time.Second})
	}
	r := &rig{t: t, st: st, sim: sim, snap: registry.NewSnapshot(p, 1), tune: tune}
	t.Cleanup(func() {
		r.halt()
		sim.Close()
		srv.Close()
		st.Close()
	})
	r.start()
	return r
}

// start runs a new dispatcher, as a restarted gateway would.
func (r *rig) start() {
	d, err := dispatch.New(dispatch.Config{
		Outbox: r.st, Routes: func() *registry.Snapshot { return r.snap },
		Kinds:     map[string]adapters.Factory{"rest": rest.Factory},
		Exclusive: true, Metrics: prometheus.NewRegistry(), Tuning: r.tune,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.d = d
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.d.Run(ctx) }()
}

func (r *rig) halt() {
	if r.stop != nil {
		r.stop()
		<-r.done
		r.stop = nil
	}
}

// file creates a dispatched ticket with one outbox message for backend b.
func (r *rig) file(b string, extra ...store.Message) ticket.Ticket {
	r.t.Helper()
	r.mu.Lock()
	r.count++
	n := r.count
	r.mu.Unlock()
	now := time.Now().UTC().Truncate(time.Millisecond)
	t := ticket.Ticket{
		ID: fmt.Sprintf("T%08d", n), State: ticket.Dispatched, Channel: "PHONE", DialedNumber: "12345",
		Caller: ticket.Caller{Name: "陈小姐", Phone: "13800138000"},
		Title:  "小区噪音扰民", Content: "天河区某小区夜间施工噪音严重，影响休息。",
		Location: ticket.Location{Address: "广州市天河区体育西路1号", RegionCode: "440106"},
		Category: "0301", RequestType: "COMPLAINT", Urgency: ticket.Normal,
		HandlingUnit: "u-" + b, CreateTime: now, UpdateTime: now, Version: 2,
	}
	ev := ticket.Event{TicketID: t.ID, Seq: 2, Action: "dispatch", From: ticket.Received, To: ticket.Dispatched, Actor: "operator:王芳", Time: now}
	payload, _ := json.Marshal(map[string]any{"ticket": t, "event": ev})
	msgs := []store.Message{{Topic: "ticket.dispatch", Unit: t.HandlingUnit, Backend: b, Key: fmt.Sprintf("%s/2/%s", t.ID, t.HandlingUnit), Payload: payload}}
	for _, m := range extra {
		m.Payload = payload
		msgs = append(msgs, m)
	}
	_, _, err := r.st.CreateTicket(context.Background(), store.Create{
		Ticket: t, Event: ticket.Event{TicketID: t.ID, Seq: 1, Action: "create", To: ticket.Received, Time: now},
		More: []ticket.Event{ev}, Outbox: msgs,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return t
}

func (r *rig) stats(b string) store.QueueStats {
	r.t.Helper()
	all, err := r.st.OutboxStats(context.Background(), time.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	for _, q := range all {
		if q.Backend == b {
			return q
		}
	}
	return store.QueueStats{Backend: b}
}

// waitFor polls cond until it holds, failing after a generous bound (not a
// performance assertion: the machines are shared).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *rig) backendStatus(b string) dispatch.BackendStatus {
	r.t.Helper()
	s, err := r.d.Status(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	for _, bs := range s.Backends {
		if bs.Backend == b {
			return bs
		}
	}
	r.t.Fatalf("no status for backend %s", b)
	return dispatch.BackendStatus{}
}

func TestDeliversEveryMessageOnceWithItsKey(t *testing.T) {
	r := newRig(t, []string{"gz-samr", "gz-housing", "th-district"}, dispatch.Tuning{})
	want := map[string][]string{}
	for i := range 60 {
		b := []string{"gz-samr", "gz-housing", "th-district"}[i%3]
		tk := r.file(b)
		want[b] = append(want[b], tk.ID+"/2/u-"+b)
	}
	for b, keys := range want {
		waitFor(t, "delivery to "+b, func() bool { q := r.stats(b); return q.Pending == 0 && q.Delivered == int64(len(keys)) })
		ledger := r.sim.Backend(b).Ledger()
		for _, k := range keys {
			if e, ok := ledger[k]; !ok || e.Arrivals != 1 {
				t.Errorf("%s: key %s arrived %d times, want 1", b, k, e.Arrivals)
			}
		}
	}
	st := r.backendStatus("gz-samr")
	if st.Delivered != 20 || st.Attempts != 20 || st.Breaker != "closed" || st.LatencyP99 <= 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestEventsOfATicketArriveInOrder(t *testing.T) {
	r := newRig(t, []string{"gz-samr"}, dispatch.Tuning{BackoffBase: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	// A flaky backend: order must hold through retries.
	if err := r.sim.SetFaults("gz-samr", legacysim.Faults{ErrorRate: 0.5}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		id := fmt.Sprintf("T%08d", i+1)
		r.file("gz-samr",
			store.Message{Topic: "ticket.supervise", Unit: "u-gz-samr", Backend: "gz-samr", Key: id + "/3/u-gz-samr"},
			store.Message{Topic: "ticket.reopen", Unit: "u-gz-samr", Backend: "gz-samr", Key: id + "/4/u-gz-samr"})
	}
	waitFor(t, "delivery", func() bool { q := r.stats("gz-samr"); return q.Pending == 0 && q.Delivered == 30 })
	// A message is not sent before the earlier messages of its ticket were
	// accepted: the first accepted arrival of each key comes in seq order.
	first := map[string]int{}
	accepted := r.sim.Backend("gz-samr").Ledger()
	for i, a := range r.sim.Backend("gz-samr").Arrivals() {
		if _, ok := first[a.Key]; !ok {
			first[a.Key] = i
		}
	}
	for i := range 10 {
		id := fmt.Sprintf("T%08d", i+1)
		k2, k3, k4 := id+"/2/u-gz-samr", id+"/3/u-gz-samr", id+"/4/u-gz-samr"
		for _, k := range []string{k2, k3, k4} {
			if accepted[k].Arrivals < 1 {
				t.Fatalf("%s never accepted", k)
			}
		}
		if !(first[k2] < first[k3] && first[k3] < first[k4]) {
			t.Errorf("ticket %s: arrivals out of order: %d, %d, %d", id, first[k2], first[k3], first[k4])
		}
	}
}

func TestPermanentRejectionDeadLettersAndRedriveDelivers(t *testing.T) {
	r := newRig(t, []string{"gd-tax"}, dispatch.Tuning{})
	ctx := context.Background()
	// A payload the backend cannot take: the REST adapter maps 4xx to
	// Permanent. legacysim has no 4xx fault, so send an undecodable payload
	// instead, which the dispatcher dead-letters before any call.
	now := time.Now().UTC()
	_, _, err := r.st.CreateTicket(ctx, store.Create{
		Ticket: ticket.Ticket{ID: "TBAD", State: ticket.Dispatched, Title: "坏消息", Content: "无法解析", CreateTime: now, UpdateTime: now, Version: 1},
		Event:  ticket.Event{TicketID: "TBAD", Seq: 1, Action: "create", To: ticket.Dispatched, Time: now},
		Outbox: []store.Message{{Topic: "ticket.dispatch", Unit: "u-gd-tax", Backend: "gd-tax", Key: "TBAD/1/u-gd-tax", Payload: []byte("{不是JSON")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dead letter", func() bool { return r.stats("gd-tax").Dead == 1 })
	dead, err := r.st.DeadLetters(ctx, store.DeadQuery{Backend: "gd-tax"})
	if err != nil || len(dead) != 1 || dead[0].Key != "TBAD/1/u-gd-tax" {
		t.Fatalf("dead letters %+v, %v", dead, err)
	}
	// A good message to a backend that is down for longer than the attempts
	// allow is dead-lettered too, then redriven once the backend is back.
	r2 := newRig(t, []string{"gz-water"}, dispatch.Tuning{MaxAttempts: 3, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
		ConsecutiveFailures: 100})
	if err := r2.sim.SetFaults("gz-water", legacysim.Faults{Down: true}); err != nil {
		t.Fatal(err)
	}
	tk := r2.file("gz-water")
	waitFor(t, "dead letter after 3 attempts", func() bool { return r2.stats("gz-water").Dead == 1 })
	dead, _ = r2.st.DeadLetters(ctx, store.DeadQuery{})
	if len(dead) != 1 || dead[0].Attempts != 3 || dead[0].TicketID != tk.ID {
		t.Fatalf("dead letters %+v", dead)
	}
	if err := r2.sim.SetFaults("gz-water", legacysim.Faults{}); err != nil {
		t.Fatal(err)
	}
	if n, err := r2.st.Redrive(ctx, store.Redrive{Backend: "gz-water", Now: time.Now()}); err != nil || n != 1 {
		t.Fatalf("Redrive = %d, %v", n, err)
	}
	r2.d.Wake()
	waitFor(t, "redriven delivery", func() bool { q := r2.stats("gz-water"); return q.Delivered == 1 && q.Dead == 0 })
	if e := r2.sim.Backend("gz-water").Ledger()[tk.ID+"/2/u-gz-water"]; e.Arrivals != 1 {
		t.Fatalf("arrivals after redrive = %d, want 1", e.Arrivals)
	}
}

func TestBreakerOpensOnHardDownAndProbesRecoverIt(t *testing.T) {
	r := newRig(t, []string{"gz-urban", "gz-samr"}, dispatch.Tuning{OpenFor: 300 * time.Millisecond,
		BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond, MaxAttempts: 1000})
	if err := r.sim.SetFaults("gz-urban", legacysim.Faults{Down: true}); err != nil {
		t.Fatal(err)
	}
	for range 40 {
		r.file("gz-urban")
		r.file("gz-samr")
	}
	waitFor(t, "the breaker to open", func() bool { return r.backendStatus("gz-urban").Breaker == "open" })
	// The healthy backend is not held up by its neighbour.
	waitFor(t, "gz-samr's deliveries", func() bool { return r.stats("gz-samr").Delivered == 40 })
	// While down, attempts fall to the breaker's probes.
	before := r.backendStatus("gz-urban").Attempts
	time.Sleep(time.Second)
	during := r.backendStatus("gz-urban").Attempts - before
	// At most one probe per open period (300ms) plus the failures that
	// reopen it: far fewer than the 80 queued messages would make.
	if during > 10 {
		t.Fatalf("%d attempts in a second against a hard-down backend with an open breaker", during)
	}
	if err := r.sim.SetFaults("gz-urban", legacysim.Faults{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the backlog to drain", func() bool { q := r.stats("gz-urban"); return q.Pending == 0 && q.Delivered == 40 })
	if s := r.backendStatus("gz-urban"); s.Breaker != "closed" {
		t.Fatalf("breaker %s after recovery", s.Breaker)
	}
	for k, e := range r.sim.Backend("gz-urban").Ledger() {
		if e.Arrivals != 1 {
			t.Errorf("key %s arrived %d times", k, e.Arrivals)
		}
	}
}

func TestHangingBackendIsIsolated(t *testing.T) {
	r := newRig(t, []string{"hung", "ok1", "ok2"}, dispatch.Tuning{QueueCap: 8, MaxInFlight: 2, Timeout: 500 * time.Millisecond,
		ConsecutiveFailures: 1000, BackoffBase: 50 * time.Millisecond, BackoffMax: 100 * time.Millisecond, MaxAttempts: 1000})
	if err := r.sim.SetFaults("hung", legacysim.Faults{Hang: true}); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		r.file("hung")
		r.file("ok1")
		r.file("ok2")
	}
	waitFor(t, "the healthy backends' deliveries", func() bool {
		return r.stats("ok1").Delivered == 50 && r.stats("ok2").Delivered == 50
	})
	s := r.backendStatus("hung")
	if s.InFlight > 2 || s.Queued > 8 {
		t.Fatalf("hung backend exceeds its bulkhead: %+v", s)
	}
	if s.Delivered != 0 || r.stats("hung").Pending != 50 {
		t.Fatalf("hung backend: %+v, pending %d", s, r.stats("hung").Pending)
	}
	if err := r.sim.SetFaults("hung", legacysim.Faults{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the hung backend's backlog", func() bool { return r.stats("hung").Delivered == 50 })
}

func TestRestartResumesWithoutLoss(t *testing.T) {
	r := newRig(t, []string{"gz-samr"}, dispatch.Tuning{})
	if err := r.sim.SetFaults("gz-samr", legacysim.Faults{Hang: true}); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		r.file("gz-samr")
	}
	waitFor(t, "calls in flight", func() bool { return r.backendStatus("gz-samr").InFlight > 0 })
	r.halt() // a clean stop hands back what was claimed
	if q := r.stats("gz-samr"); q.InFlight != 0 || q.Pending != 20 {
		t.Fatalf("after stop: %+v", q)
	}
	if err := r.sim.SetFaults("gz-samr", legacysim.Faults{}); err != nil {
		t.Fatal(err)
	}
	r.start()
	waitFor(t, "delivery after restart", func() bool { return r.stats("gz-samr").Delivered == 20 })
}

// A hanging backend with every worker busy still opens its breaker after a
// few timeouts: calls in flight do not dilute its failure ratio.
func TestHangingBackendOpensItsBreakerAfterAFewTimeouts(t *testing.T) {
	r := newRig(t, []string{"hung"}, dispatch.Tuning{MaxInFlight: 8, Timeout: 100 * time.Millisecond,
		ConsecutiveFailures: 5, OpenFor: time.Minute, MaxAttempts: 1000, BackoffBase: time.Millisecond, BackoffMax: 10 * time.Millisecond})
	if err := r.sim.SetFaults("hung", legacysim.Faults{Hang: true}); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		r.file("hung")
	}
	waitFor(t, "the breaker to open", func() bool { return r.backendStatus("hung").Breaker == "open" })
	// Each of the 8 workers fails at most a couple of times before the
	// fifth failure in a row opens it; the ratio over all started calls
	// would have needed about 72.
	if s := r.backendStatus("hung"); s.Attempts > 24 {
		t.Fatalf("%d attempts before a hanging backend's breaker opened", s.Attempts)
	}
}
