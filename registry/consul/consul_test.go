package consul_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/internal/testconsul"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/registry/consul"
	"github.com/switchboard12345/switchboard/registry/registrytest"
)

var unsafeKey = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// newSource returns a Source on agent under a prefix of its own, so tests
// sharing one agent do not see each other.
func newSource(t *testing.T, agent *testconsul.Agent) *consul.Source {
	t.Helper()
	s, _ := newSourceAt(t, agent)
	return s
}

// newSourceAt is newSource that also returns the prefix.
func newSourceAt(t *testing.T, agent *testconsul.Agent) (*consul.Source, string) {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "sbtest/" + unsafeKey.ReplaceAllString(t.Name(), "_") + "/" + hex.EncodeToString(b[:])
	s, err := consul.New(consul.Config{Address: agent.HTTPAddr, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return s, prefix
}

func example(t *testing.T) *registry.ProvinceFile {
	t.Helper()
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConformance runs the registry.Source suite against one real agent;
// each subtest has its own prefix.
func TestConformance(t *testing.T) {
	agent := testconsul.Start(t)
	registrytest.Run(t, func(t *testing.T) registry.Source { return newSource(t, agent) })
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  consul.Config
		ok   bool
	}{
		{"defaults", consul.Config{}, true},
		{"address and nested prefix", consul.Config{Address: "http://127.0.0.1:8500", Prefix: "a/b/c"}, true},
		{"leading slash", consul.Config{Prefix: "/a"}, false},
		{"trailing slash", consul.Config{Prefix: "a/"}, false},
		{"empty segment", consul.Config{Prefix: "a//b"}, false},
		{"bad scheme", consul.Config{Address: "ftp://x:1"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != tc.ok || (err != nil && errs.KindOf(err) != errs.Invalid) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if _, err := consul.New(tc.cfg); (err == nil) != tc.ok {
				t.Fatalf("New() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestUnreachable needs no agent: New does no I/O, and calls against a
// closed port fail as Transient.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	s, err := consul.New(consul.Config{Address: addr})
	if err != nil {
		t.Fatalf("New did I/O or failed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := s.Load(ctx); errs.KindOf(err) != errs.Transient {
		t.Errorf("Load: %v, want Transient", err)
	}
	if _, err := s.Watch(ctx, 1); errs.KindOf(err) != errs.Transient {
		t.Errorf("Watch: %v, want Transient", err)
	}
	if _, err := s.Import(ctx, example(t), "admin"); errs.KindOf(err) != errs.Transient {
		t.Errorf("Import: %v, want Transient", err)
	}
	if _, err := s.Import(ctx, &registry.ProvinceFile{}, "admin"); errs.KindOf(err) != errs.Invalid {
		t.Errorf("Import of an invalid file: %v, want Invalid before any I/O", err)
	}
}

// TestImportIsAtomic imports a province that needs several transactions
// (thousands of units, hundreds of hotlines) while readers load in a loop:
// every load sees the old registry or the new one, never a mix.
func TestImportIsAtomic(t *testing.T) {
	agent := testconsul.Start(t)
	s, prefix := newSourceAt(t, agent)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	small := example(t)
	if _, err := s.Import(ctx, small, "admin"); err != nil {
		t.Fatal(err)
	}
	big := example(t)
	root := big.Units[0].ID
	for i := range 3000 {
		big.Units = append(big.Units, registry.Unit{ID: fmt.Sprintf("c%05d", i), Name: fmt.Sprintf("示例社区第%d居委会", i), Kind: registry.Community, Parent: root})
	}
	for i := range 300 {
		big.Hotlines = append(big.Hotlines, registry.Hotline{Number: strconv.Itoa(9_000_000 + i), Name: "示例热线", Department: root,
			Mode: registry.Independent, Status: registry.Unmerged, Note: "synthetic, for the atomicity test"})
	}
	if err := big.Validate(); err != nil {
		t.Fatal(err)
	}
	// 3000 units are several 128 KiB chunks and 363 hotlines several
	// 64-operation transactions.

	done := make(chan struct{})
	var loads atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				p, _, err := s.Load(ctx)
				if err != nil {
					t.Errorf("Load during import: %v", err)
					return
				}
				loads.Add(1)
				old := len(p.Units) == len(small.Units) && len(p.Hotlines) == len(small.Hotlines)
				new := len(p.Units) == len(big.Units) && len(p.Hotlines) == len(big.Hotlines)
				if !old && !new {
					t.Errorf("a load saw a half import: %d units, %d hotlines", len(p.Units), len(p.Hotlines))
					return
				}
			}
		}()
	}
	rev, err := s.Import(ctx, big, "admin")
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	p, rev2, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rev2 != rev || len(p.Units) != len(big.Units) || len(p.Hotlines) != len(big.Hotlines) {
		t.Fatalf("after import: revision %d (import said %d), %d units, %d hotlines", rev2, rev, len(p.Units), len(p.Hotlines))
	}
	for i := range big.Units {
		if p.Units[i] != big.Units[i] {
			t.Fatalf("unit %d: got %+v, want %+v", i, p.Units[i], big.Units[i])
		}
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d loads during the import", loads.Load())

	// The replaced generation is gone: only the current one remains.
	c := client(t, agent)
	gens, _, err := c.KV().Keys(prefix+"/state/gen/", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(gens) != 1 {
		t.Fatalf("generations left: %v, want only the current one", gens)
	}
}

func client(t *testing.T, agent *testconsul.Agent) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: agent.HTTPAddr})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// eventually polls f every 100ms until it returns nil or d passes.
func eventually(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestEndpointsPassingOnly(t *testing.T) {
	agent := testconsul.Start(t)
	s := newSource(t, agent)
	c := client(t, agent)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, port := range []int{9001, 9002} {
		id := fmt.Sprintf("samr-rest-%d", i+1)
		err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{
			ID: id, Name: "samr-rest", Address: "127.0.0.1", Port: port,
			Check: &api.AgentServiceCheck{CheckID: id + ":ttl", TTL: "30s"},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// TTL checks start critical; only the first one reports in.
	if err := c.Agent().UpdateTTL("samr-rest-1:ttl", "ok", api.HealthPassing); err != nil {
		t.Fatal(err)
	}
	want := []string{"http://127.0.0.1:9001"}
	eventually(t, 10*time.Second, func() error {
		got, err := s.Endpoints(ctx, "samr-rest")
		if err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("Endpoints = %v, want %v", got, want)
		}
		return nil
	})
	if got, err := s.Endpoints(ctx, "no-such-service"); err != nil || len(got) != 0 {
		t.Fatalf("unknown service: %v %v", got, err)
	}
}

func TestRegisterWithHealthCheck(t *testing.T) {
	agent := testconsul.Start(t)
	s := newSource(t, agent)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	var healthy atomic.Bool
	healthy.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || !healthy.Load() {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	defer srv.Close()
	host, portStr, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)

	deregister, err := s.Register(ctx, "gw-1", "switchboard-gateway", host, port, srv.URL+"/healthz")
	if err != nil {
		t.Fatal(err)
	}
	want := "http://" + net.JoinHostPort(host, portStr)
	endpoints := func(want ...string) func() error {
		return func() error {
			got, err := s.Endpoints(ctx, "switchboard-gateway")
			if err != nil {
				return err
			}
			if !slices.Equal(got, want) {
				return fmt.Errorf("Endpoints = %v, want %v", got, want)
			}
			return nil
		}
	}
	eventually(t, 15*time.Second, endpoints(want))
	healthy.Store(false)
	eventually(t, 15*time.Second, endpoints())
	healthy.Store(true)
	eventually(t, 15*time.Second, endpoints(want))

	if err := deregister(ctx); err != nil {
		t.Fatal(err)
	}
	services, err := client(t, agent).Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := services["gw-1"]; ok {
		t.Fatal("still registered after deregister")
	}
	if _, err := s.Register(ctx, "", "x", host, port, srv.URL); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("Register without id: %v, want Invalid", err)
	}
}

// TestOutage stops the agent: Load, Watch (new and in flight) and SetStatus
// fail as Transient within a bounded time; after a restart (dev mode loses
// the data) a re-import brings it back and Watch reports the reset.
func TestOutage(t *testing.T) {
	agent := testconsul.Start(t)
	s := newSource(t, agent)
	ctx := context.Background()
	rev, err := s.Import(ctx, example(t), "admin")
	if err != nil {
		t.Fatal(err)
	}

	inFlight := make(chan error, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_, err := s.Watch(wctx, rev)
		inFlight <- err
	}()
	time.Sleep(200 * time.Millisecond) // let the watch block in Consul

	start := time.Now()
	agent.Stop()
	t.Logf("agent stopped in %v", time.Since(start))

	bounded, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, _, err := s.Load(bounded); errs.KindOf(err) != errs.Transient {
		t.Errorf("Load with the agent down: %v, want Transient", err)
	}
	if _, err := s.Watch(bounded, rev); errs.KindOf(err) != errs.Transient {
		t.Errorf("Watch with the agent down: %v, want Transient", err)
	}
	change := registry.StatusChange{To: registry.Merged, Actor: "admin", At: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)}
	if _, err := s.SetStatus(bounded, "12315", change, 0, registry.RetireGuard{}); errs.KindOf(err) != errs.Transient {
		t.Errorf("SetStatus with the agent down: %v, want Transient", err)
	}
	select {
	case err := <-inFlight:
		if errs.KindOf(err) != errs.Transient {
			t.Errorf("Watch in flight when the agent stopped: %v, want Transient", err)
		}
	case <-bounded.Done():
		t.Error("a Watch in flight did not fail when the agent stopped")
	}
	t.Logf("outage detected within %v", time.Since(start))

	agent.Restart(t)
	p, _, err := s.Load(ctx)
	if err != nil {
		t.Fatalf("Load after restart: %v", err)
	}
	if len(p.Units) != 0 {
		t.Fatalf("a dev agent kept %d units across a restart", len(p.Units))
	}
	// Until something is imported, a watcher keeps waiting (and so keeps
	// its last good snapshot) rather than report an empty registry.
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if got, err := s.Watch(short, rev); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Watch on the emptied store = %d, %v; want it to wait", got, err)
	}
	rev2, err := s.Import(ctx, example(t), "admin")
	if err != nil {
		t.Fatalf("re-import after restart: %v", err)
	}
	seen, err := s.Watch(bounded, rev)
	if err != nil || seen != rev2 || seen == rev {
		t.Fatalf("Watch after the reset = %d, %v; want the new revision %d (old %d)", seen, err, rev2, rev)
	}
	if _, err := s.SetStatus(ctx, "12315", change, 0, registry.RetireGuard{}); err != nil {
		t.Fatalf("SetStatus after restart: %v", err)
	}
	if p, _, err := s.Load(ctx); err != nil || len(p.Hotlines) == 0 {
		t.Fatalf("Load after re-import: %d hotlines, %v", len(p.Hotlines), err)
	}
}

// TestLiveFollowsAnotherInstance: two gateway instances share a registry;
// the Live snapshot of one follows a change made through the other.
func TestLiveFollowsAnotherInstance(t *testing.T) {
	agent := testconsul.Start(t)
	a, prefix := newSourceAt(t, agent)
	b, err := consul.New(consul.Config{Address: agent.HTTPAddr, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := a.Import(ctx, example(t), "admin"); err != nil {
		t.Fatal(err)
	}
	live := registry.NewLive(b, nil)
	if err := live.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- live.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	changed, err := a.SetStatus(ctx, "12315", registry.StatusChange{To: registry.Merged, Actor: "admin", At: at}, 0, registry.RetireGuard{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		h, ok := live.Snapshot().HotlineAt("12315", at)
		if !ok || h.Status != registry.Merged || h.Revision != changed.Revision {
			return fmt.Errorf("instance b sees 12315 as %+v", h)
		}
		return nil
	})
}
