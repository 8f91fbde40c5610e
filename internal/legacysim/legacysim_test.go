package legacysim_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/adaptertest"
	"github.com/switchboard12345/switchboard/adapters/soap"
	"github.com/switchboard12345/switchboard/internal/legacysim"
)

// TestSOAPAdapterAgainstTheSimulator drives the real SOAP adapter into a
// simulated department system and checks the ledger and each fault.
func TestSOAPAdapterAgainstTheSimulator(t *testing.T) {
	t.Parallel()
	sim, err := legacysim.New(map[string]string{"gd-tax": "soap", "gz-samr": "rest"}, true)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	a, err := soap.New(adapters.Config{Backend: "gd-tax", Endpoints: []string{srv.URL + "/b/gd-tax/ws"}})
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(key string, within time.Duration) (adapters.Receipt, error) {
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		return a.Deliver(ctx, adaptertest.Sample(key))
	}
	r1, err := deliver("k1", 5*time.Second)
	if err != nil || r1.ExternalID != "gd-tax-000001" {
		t.Fatalf("first delivery: %+v %v", r1, err)
	}
	r2, err := deliver("k1", 5*time.Second) // a repeat after a crash
	if err != nil || r2.ExternalID != r1.ExternalID {
		t.Fatalf("repeat: %+v %v", r2, err)
	}
	led := sim.Backend("gd-tax").Ledger()
	if len(led) != 1 || led["k1"].Arrivals != 2 {
		t.Fatalf("ledger = %+v, want one key with two arrivals", led)
	}
	if body := sim.Backend("gd-tax").Arrivals()[0].Body; !strings.Contains(body, "预付卡退款") {
		t.Fatalf("Chinese title lost: %s", body)
	}

	for _, tc := range []struct {
		name   string
		faults legacysim.Faults
	}{
		{"error rate 1", legacysim.Faults{ErrorRate: 1}},
		{"down", legacysim.Faults{Down: true}},
		{"hang", legacysim.Faults{Hang: true}},
	} {
		if err := sim.SetFaults("gd-tax", tc.faults); err != nil {
			t.Fatal(err)
		}
		if _, err := deliver("k-"+tc.name, 300*time.Millisecond); err == nil || adapters.IsPermanent(err) {
			t.Errorf("%s: err = %v, want a transient failure", tc.name, err)
		}
	}
	sim.SetFaults("gd-tax", legacysim.Faults{})
	if _, err := deliver("k2", 5*time.Second); err != nil {
		t.Fatalf("after faults cleared: %v", err)
	}

	// The admin API changes faults at run time.
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/admin/faults/gz-samr", strings.NewReader(`{"errorRate":0.5,"latency":20000000}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("setting faults: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(srv.URL + "/admin/backends")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("listing: %v", err)
	}
	resp.Body.Close()
}
