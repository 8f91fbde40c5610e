package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/gateway/config"
	"github.com/switchboard12345/switchboard/internal/testconsul"
	"github.com/switchboard12345/switchboard/registry"
)

// startGateway builds and runs one gateway instance on the shared Consul.
func startGateway(t *testing.T, consulAddr string, demo bool) *app {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr, cfg.GRPC.Addr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Registry.Source = "consul"
	cfg.Registry.Consul.Address = consulAddr
	cfg.Registry.Consul.Prefix = "sbtest/gateways"
	a, err := build(ctx, cfg, demo, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve2(ctx, a) }()
	t.Cleanup(func() {
		cancel()
		<-done
		a.store.Close()
	})
	return a
}

// serve2 runs what serve runs for an already built app.
func serve2(ctx context.Context, a *app) error {
	go a.routes.Run(ctx)
	return a.server.Run(ctx)
}

// TestTwoGatewaysShareTheRegistry: a status change made through one gateway
// instance reaches the other's routing snapshot; the test reports the
// propagation latency (p50/p99 over 40 changes). If Consul goes away, routing
// continues on the last good snapshot and /readyz says degraded; when Consul is
// back (a dev agent comes back empty, so the province is imported again) the
// gateway recovers by itself.
func TestTwoGatewaysShareTheRegistry(t *testing.T) {
	agent := testconsul.Start(t)
	a := startGateway(t, agent.HTTPAddr, true) // seeds the registry with the example province
	b := startGateway(t, agent.HTTPAddr, false)
	ctx := context.Background()
	if b.routes.Snapshot().Revision != a.routes.Snapshot().Revision {
		t.Fatalf("instances start on revisions %d and %d", a.routes.Snapshot().Revision, b.routes.Snapshot().Revision)
	}

	var lat []time.Duration
	statuses := []registry.Status{registry.Merged, registry.DualRunning}
	for i := range 40 {
		to := statuses[i%2]
		start := time.Now()
		h, err := a.source.SetStatus(ctx, "12333", registry.StatusChange{To: to, Actor: "admin:test", Reason: "切换演练", At: time.Now()}, 0, registry.RetireGuard{})
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if got, ok := b.routes.Snapshot().HotlineAt("12333", time.Now()); ok && got.Status == to && got.Revision == h.Revision {
				break
			}
			if time.Now().After(deadline) {
				got, _ := b.routes.Snapshot().HotlineAt("12333", time.Now())
				wctx, cancel := context.WithTimeout(ctx, time.Second)
				wr, werr := b.source.Watch(wctx, b.routes.Snapshot().Revision)
				cancel()
				_, lr, lerr := b.source.Load(ctx)
				t.Logf("direct Watch: %d %v; Load: %d %v", wr, werr, lr, lerr)
				t.Fatalf("change %d (to %s, revision %d) not seen by the second instance after 10s: it has %s revision %d, snapshot %d, degraded %q",
					i, to, h.Revision, got.Status, got.Revision, b.routes.Snapshot().Revision, b.routes.Degraded())
			}
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("registry propagation between two gateway instances over Consul: p50 %v, p99 %v, max %v (40 changes)",
		lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])

	// Outage: B keeps routing on its last good snapshot and reports degraded.
	httpAddr, _, _ := b.server.Addrs(ctx)
	agent.Stop()
	waitReadyz(t, "http://"+httpAddr+"/readyz", "degraded")
	if h, ok := b.routes.Snapshot().HotlineAt("12315", time.Now()); !ok || h.HandlingUnit == "" {
		t.Fatal("routing lost during the outage")
	}
	agent.Restart(t)
	if _, err := a.source.Import(ctx, exampleProvince(t), "admin:restore"); err != nil {
		t.Fatalf("re-importing after the restart: %v", err)
	}
	waitReadyz(t, "http://"+httpAddr+"/readyz", "ready")
	if _, ok := b.routes.Snapshot().HotlineAt("12315", time.Now()); !ok {
		t.Fatal("no routing after recovery")
	}
}

func waitReadyz(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			var body map[string]string
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			last = body["status"]
			if last == want {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/readyz status %q after 30s, want %q", last, want)
}

func exampleProvince(t *testing.T) *registry.ProvinceFile {
	t.Helper()
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
