package statusback_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/open311"
	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/gateway/statusback"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/registry"
)

// georeport is a department's Open311 GeoReport v2 server: it lists its
// service requests updated at or after updated_after (inclusive, as some
// servers are, so the latest comes back on every poll).
type georeport struct {
	mu       sync.Mutex
	requests []map[string]string
	asked    []string // the updated_after of each list request
}

func (g *georeport) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/open311/v2/requests.json" {
		http.NotFound(w, r)
		return
	}
	after, err := time.Parse(time.RFC3339, r.URL.Query().Get("updated_after"))
	if err != nil {
		http.Error(w, `[{"code":400,"description":"updated_after"}]`, http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asked = append(g.asked, r.URL.Query().Get("updated_after"))
	out := []map[string]string{}
	for _, rq := range g.requests {
		if at, _ := time.Parse(time.RFC3339, rq["updated_datetime"]); !at.Before(after) {
			out = append(out, rq)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// set records the state of service request id at updated.
func (g *georeport) set(id, status, notes, updated string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, rq := range g.requests {
		if rq["service_request_id"] == id {
			rq["status"], rq["status_notes"], rq["updated_datetime"] = status, notes, updated
			return
		}
	}
	g.requests = append(g.requests, map[string]string{"service_request_id": id, "status": status, "status_notes": notes,
		"service_code": "street-lighting", "updated_datetime": updated})
}

func (g *georeport) lastAsked() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.asked[len(g.asked)-1]
}

// urbanFixture is the example province with gz-urban-open311 pointed at an
// Open311 server in the test, and a street-lighting ticket dispatched to
// gz-urban whose service request there is GZ-311-0001.
func urbanFixture(t *testing.T, path, serverURL, pollInterval string) *fixture {
	t.Helper()
	f := newFixture(t, path, func(p *registry.ProvinceFile) {
		for i := range p.Backends {
			if b := &p.Backends[i]; b.ID == "gz-urban-open311" {
				b.Endpoints = []string{serverURL + "/open311/v2"}
				b.Config = map[string]string{"serviceCodeMap": "0502=street-lighting,default=general", statusback.KeyPollInterval: pollInterval}
			}
		}
	})
	return f
}

func (f *fixture) lightingTicket(t *testing.T) string {
	t.Helper()
	tk, err := f.svc.CreateTicket(f.op, &pb.CreateTicketRequest{Ticket: &pb.NewTicket{
		Channel: pb.Channel_PHONE, DialedNumber: "12345",
		Caller:      &pb.Caller{Name: "李四", Phone: "13900139000"},
		Title:       "路灯不亮",
		Content:     "天河路与体育西路交界处路灯连续三晚不亮，夜间行人不便。",
		Location:    &pb.Location{Address: "广州市天河区天河路", RegionCode: "440106"},
		RequestType: pb.RequestType_HELP,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if tk.GetState() == pb.State_RECEIVED {
		if tk, err = f.svc.DispatchTicket(f.op, &pb.DispatchTicketRequest{Id: tk.GetId(), HandlingUnit: "gz-urban", Category: "050201"}); err != nil {
			t.Fatal(err)
		}
	}
	if tk.GetHandlingUnit() != "gz-urban" {
		t.Fatalf("street lighting went to %q", tk.GetHandlingUnit())
	}
	f.deliverAll(t, "GZ-311-0001")
	return tk.GetId()
}

func (f *fixture) backend(t *testing.T, id string) registry.Backend {
	t.Helper()
	for _, b := range f.live.Snapshot().Backends() {
		if b.ID == id {
			return b
		}
	}
	t.Fatalf("no backend %s", id)
	return registry.Backend{}
}

func (f *fixture) poller() *statusback.Poller {
	return statusback.NewPoller(statusback.PollerConfig{
		Routes: f.live.Snapshot, Kinds: map[string]adapters.Factory{"open311": open311.Factory},
		Cursors: f.store, Apply: f.svc, Metrics: f.metrics,
	})
}

func fetcher(t *testing.T, b registry.Backend) adapters.UpdateFetcher {
	t.Helper()
	ad, err := open311.New(adapters.Config{Backend: b.ID, Endpoints: b.Endpoints, Settings: statusback.AdapterSettings(b.Config)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ad.Close() })
	return ad
}

func TestOpen311PollAppliesOnceAndKeepsItsCursor(t *testing.T) {
	t.Parallel()
	g := &georeport{}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	path := t.TempDir() + "/switchboard.db"
	f := urbanFixture(t, path, srv.URL, "off")
	id := f.lightingTicket(t)
	b := f.backend(t, "gz-urban-open311")
	ctx := context.Background()

	g.set("GZ-311-0001", "open", "已受理，安排维修班组。", "2026-11-27T02:30:00Z")
	g.set("GZ-311-9999", "open", "非本平台工单", "2026-11-27T02:31:00Z") // a request not from us
	p := f.poller()
	st, err := p.Poll(ctx, b, fetcher(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if st.Applied != 1 || st.Rejected < 1 || st.Cursor != "2026-11-27T02:31:00Z" {
		t.Fatalf("first poll: %+v, want 1 applied, the foreign request rejected, cursor at 02:31", st)
	}
	if got := f.ticket(t, id); got.State != ticket.Signed {
		t.Fatalf("after the first poll: %s, want SIGNED", got.State)
	}
	events := len(f.events(t, id))

	// Polled again: the server lists the latest again; nothing changes.
	st, err = p.Poll(ctx, b, fetcher(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if st.Applied != 0 || g.lastAsked() != "2026-11-27T02:31:00Z" {
		t.Fatalf("second poll: %+v, asked after %s", st, g.lastAsked())
	}
	if n := len(f.events(t, id)); n != events {
		t.Fatalf("the second poll wrote %d events", n-events)
	}

	// Two pollers at once (an overlap, or two instances): one applies.
	g.set("GZ-311-0001", "closed", "路灯已修复，经夜间复查照明正常。", "2026-11-27T05:00:00Z")
	var wg sync.WaitGroup
	stats := make([]statusback.PollStats, 2)
	for i := range stats {
		wg.Go(func() {
			var err error
			if stats[i], err = f.poller().Poll(ctx, b, fetcher(t, b)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if stats[0].Applied+stats[1].Applied != 1 {
		t.Fatalf("overlapping polls applied %d and %d, want 1 in all", stats[0].Applied, stats[1].Applied)
	}
	got := f.ticket(t, id)
	if got.State != ticket.Replied || got.Reply != "路灯已修复，经夜间复查照明正常。" {
		t.Fatalf("after the close: %s %q", got.State, got.Reply)
	}
	evs := f.events(t, id)
	if last := evs[len(evs)-1]; last.Actor != "backend:gz-urban-open311" || last.Details["statusUpdate"] != "gz-urban-open311/GZ-311-0001@2026-11-27T05:00:00Z" {
		t.Fatalf("reply event %+v", last)
	}
	if n := f.counter("switchboard_status_updates_total", "gz-urban-open311", "applied"); n != 2 {
		t.Errorf("applied counted %v times, want 2", n)
	}

	// Restart: a new store on the same file and a new poller start where
	// the last one stopped.
	f.store.Close()
	f2 := urbanFixture(t, path, srv.URL, "off")
	cur, err := f2.store.Cursor(ctx, "gz-urban-open311")
	if err != nil || cur != "2026-11-27T05:00:00Z" {
		t.Fatalf("cursor after restart %q, %v", cur, err)
	}
	st, err = f2.poller().Poll(ctx, b, fetcher(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if g.lastAsked() != "2026-11-27T05:00:00Z" || st.Applied != 0 || st.Duplicate != 1 {
		t.Fatalf("after restart: %+v, asked after %s", st, g.lastAsked())
	}
	if n := len(f2.events(t, id)); n != len(evs) {
		t.Fatalf("the poll after the restart wrote %d events", n-len(evs))
	}
}

func TestPollerRunsAndStops(t *testing.T) {
	t.Parallel()
	g := &georeport{}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	f := urbanFixture(t, "", srv.URL, "20ms")
	id := f.lightingTicket(t)
	g.set("GZ-311-0001", "open", "已受理", "2026-11-27T02:30:00Z")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.poller().Run(ctx) }()
	for deadline := time.Now().Add(20 * time.Second); f.ticket(t, id).State != ticket.Signed; {
		if time.Now().After(deadline) {
			t.Fatal("the poller did not sign the ticket")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPollIntervalSetting(t *testing.T) {
	t.Parallel()
	g := &georeport{}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	f := urbanFixture(t, "", srv.URL, "soon")
	// A bad setting: the backend is not polled, and Run still runs.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.poller().Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.asked) != 0 {
		t.Fatalf("a backend with a bad pollInterval was polled")
	}
}
