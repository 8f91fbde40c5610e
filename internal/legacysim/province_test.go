package legacysim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/switchboard12345/switchboard/gateway/statusback"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/adaptertest"
	"github.com/switchboard12345/switchboard/adapters/open311"
	"github.com/switchboard12345/switchboard/adapters/rest"
	"github.com/switchboard12345/switchboard/adapters/smtp"
	"github.com/switchboard12345/switchboard/adapters/soap"
	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/internal/legacysim"
	"github.com/switchboard12345/switchboard/registry"
)

// started is the example province's simulation on free ports.
type started struct {
	sim      *legacysim.Sim
	run      *legacysim.Running
	province *registry.ProvinceFile
	admin    *httptest.Server
}

// startProvince simulates the example province with every address it names
// moved to a free loopback port, and without its amqp backends (which need
// a broker; see TestAMQP).
func startProvince(t *testing.T, o legacysim.Options) *started {
	t.Helper()
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	var keep []registry.Backend
	for _, b := range p.Backends {
		if b.Kind != "amqp" {
			keep = append(keep, b)
		}
	}
	p.Backends = keep
	sim, err := legacysim.FromProvince(p, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run, err := sim.Start(ctx, func(string) (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") })
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	admin := httptest.NewServer(sim.Admin())
	t.Cleanup(func() {
		admin.Close()
		cancel()
		sim.Close()
		if err := run.Wait(); err != nil {
			t.Error(err)
		}
	})
	return &started{sim: sim, run: run, province: p, admin: admin}
}

// backend returns the province's backend id and its endpoints moved to where
// the simulation listens.
func (s *started) backend(t *testing.T, id string) (registry.Backend, []string) {
	t.Helper()
	for _, b := range s.province.Backends {
		if b.ID != id {
			continue
		}
		var eps []string
		for _, e := range b.Endpoints {
			u, err := url.Parse(e)
			if err != nil {
				t.Fatal(err)
			}
			u.Host = s.run.Addr(u.Host)
			if u.Host == "" {
				t.Fatalf("%s: nothing listens for %s", id, e)
			}
			eps = append(eps, u.String())
		}
		return b, eps
	}
	t.Fatalf("the example province has no backend %s", id)
	return registry.Backend{}, nil
}

func deliver(t *testing.T, a adapters.Adapter, key string, within time.Duration) (adapters.Receipt, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	return a.Deliver(ctx, adaptertest.Sample(key))
}

// TestProvinceServesTheExampleBackends drives the real rest, soap and open311
// adapters at the example province's endpoints (moved to free ports) and
// reads the keys back from the ledgers and the admin summary.
func TestProvinceServesTheExampleBackends(t *testing.T) {
	t.Setenv("SB_GD_SAMR_SECRET", "省市场监管局密钥")
	t.Setenv("SB_GZ_SAMR_SECRET", "广州市场监管局密钥")
	t.Setenv("SB_GZ_URBAN_API_KEY", "gz-urban-key")
	s := startProvince(t, legacysim.Options{KeepBodies: true})

	// gd-samr-rest and gz-samr-rest share 127.0.0.1:18081, told apart by path.
	for _, id := range []string{"gd-samr-rest", "gz-samr-rest", "gd-samr-food"} {
		t.Run(id, func(t *testing.T) {
			b, eps := s.backend(t, id)
			a, err := rest.New(adapters.Config{Backend: id, Endpoints: eps, Settings: statusback.AdapterSettings(b.Config)})
			if err != nil {
				t.Fatal(err)
			}
			key := "key-" + id
			r, err := deliver(t, a, key, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			led := s.sim.Backend(id).Ledger()
			if len(led) != 1 || led[key].ExternalID != r.ExternalID || led[key].TicketID != adaptertest.Sample(key).Ticket.ID {
				t.Fatalf("ledger of %s = %+v, receipt %+v", id, led, r)
			}
			if body := s.sim.Backend(id).Arrivals()[0].Body; !strings.Contains(body, "预付卡余额一千二百元") {
				t.Fatalf("Chinese content lost: %s", body)
			}
		})
	}

	t.Run("gd-tax-soap", func(t *testing.T) {
		_, eps := s.backend(t, "gd-tax-soap")
		// The province's soap config (soapAction, usernameEnv …) predates
		// adapters/soap's settings; the defaults speak the same wire.
		a, err := soap.New(adapters.Config{Backend: "gd-tax-soap", Endpoints: eps})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // a repeat after a crash
			if r, err := deliver(t, a, "soap-1", 5*time.Second); err != nil || r.ExternalID != "gd-tax-soap-000001" {
				t.Fatalf("delivery: %+v %v", r, err)
			}
		}
		if e := s.sim.Backend("gd-tax-soap").Ledger()["soap-1"]; e.Arrivals != 2 {
			t.Fatalf("ledger entry %+v, want two arrivals", e)
		}
	})

	t.Run("gz-urban-open311", func(t *testing.T) {
		b, eps := s.backend(t, "gz-urban-open311")
		settings := map[string]string{"serviceCodeMap": "default=general"}
		for k, v := range statusback.AdapterSettings(b.Config) {
			settings[k] = v
		}
		a, err := open311.New(adapters.Config{Backend: b.ID, Endpoints: eps, Settings: settings})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Health(context.Background()); err != nil {
			t.Fatalf("health: %v", err)
		}
		r, err := deliver(t, a, "o311-1", 5*time.Second)
		if err != nil || r.ExternalID != "gz-urban-open311-000001" {
			t.Fatalf("delivery: %+v %v", r, err)
		}
		if body := s.sim.Backend(b.ID).Arrivals()[0].Body; !strings.Contains(body, "jurisdiction_id=gz.example.gov.cn") {
			t.Fatalf("jurisdiction lost: %s", body)
		}
		ups, _, err := a.Updates(context.Background(), "")
		if err != nil || len(ups) != 0 {
			t.Fatalf("updates before the department acted: %+v %v", ups, err)
		}
	})

	t.Run("faults toggle through the admin API", func(t *testing.T) {
		b, eps := s.backend(t, "gd-eco-rest")
		a, err := rest.New(adapters.Config{Backend: b.ID, Endpoints: eps, Settings: statusback.AdapterSettings(b.Config)})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ name, faults string }{
			{"error rate 1", `{"errorRate":1}`},
			{"down", `{"down":true}`},
			{"hang", `{"hang":true}`},
		} {
			put(t, s.admin.URL+"/admin/faults/"+b.ID, tc.faults)
			if _, err := deliver(t, a, "f-"+tc.name, 300*time.Millisecond); err == nil || adapters.IsPermanent(err) {
				t.Errorf("%s: err = %v, want a transient failure", tc.name, err)
			}
		}
		put(t, s.admin.URL+"/admin/faults/"+b.ID, `{}`)
		if _, err := deliver(t, a, "f-healthy", 5*time.Second); err != nil {
			t.Fatalf("after the faults were cleared: %v", err)
		}
	})

	resp, err := http.Get(s.admin.URL + "/admin/backends")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum []legacysim.Summary
	if err := json.NewDecoder(resp.Body).Decode(&sum); err != nil {
		t.Fatal(err)
	}
	byID := map[string]legacysim.Summary{}
	for _, x := range sum {
		byID[x.ID] = x
	}
	if got := byID["gd-tax-soap"]; got.Kind != "soap" || got.Arrivals != 2 || got.Keys != 1 || got.Repeats != 1 {
		t.Errorf("summary of gd-tax-soap = %+v", got)
	}
	if got := byID["gd-science-smtp"]; got.Kind != "smtp" {
		t.Errorf("summary of gd-science-smtp = %+v", got)
	}
	for _, skipped := range []string{"gz-tianhe-tiyuxi-manual", "gd-transport-rest"} {
		if _, ok := byID[skipped]; ok {
			t.Errorf("%s is simulated, want it skipped", skipped)
		}
	}
}

func put(t *testing.T, u, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, u, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s: HTTP %d", u, resp.StatusCode)
	}
}

// TestSMTPMailbox sends work orders with adapters/smtp to the example
// province's shared SMTP server and finds each Message-ID in the ledger of
// the recipient's backend only.
func TestSMTPMailbox(t *testing.T) {
	s := startProvince(t, legacysim.Options{})
	newAdapter := func(id string) *smtp.Adapter {
		b, eps := s.backend(t, id)
		a, err := smtp.New(adapters.Config{Backend: id, Endpoints: eps, Settings: map[string]string{
			"to": b.Config["to"], "from": "广东12345热线 <hotline@12345.gd.gov.cn>",
		}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	science, ip := newAdapter("gd-science-smtp"), newAdapter("gd-ip-smtp")
	if err := science.Health(context.Background()); err != nil {
		t.Fatalf("health: %v", err)
	}
	r, err := deliver(t, science, "mail-1", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Trim(smtp.MessageID("mail-1"), "<>")
	led := s.sim.Backend("gd-science-smtp").Ledger()
	e, ok := led[want]
	if !ok || len(led) != 1 || e.ExternalID != r.ExternalID || e.TicketID != adaptertest.Sample("").Ticket.ID {
		t.Fatalf("ledger = %+v, want the key %s with case number %q", led, want, r.ExternalID)
	}
	if n := len(s.sim.Backend("gd-ip-smtp").Ledger()); n != 0 {
		t.Fatalf("another mailbox's backend recorded %d keys", n)
	}
	if _, err := deliver(t, ip, "mail-2", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.sim.Backend("gd-ip-smtp").Ledger()[strings.Trim(smtp.MessageID("mail-2"), "<>")]; !ok {
		t.Fatal("gd-ip-smtp did not record its mail")
	}

	for _, tc := range []struct {
		name   string
		faults legacysim.Faults
	}{
		{"error rate 1", legacysim.Faults{ErrorRate: 1}},
		{"down", legacysim.Faults{Down: true}},
		{"hang", legacysim.Faults{Hang: true}},
	} {
		if err := s.sim.SetFaults("gd-science-smtp", tc.faults); err != nil {
			t.Fatal(err)
		}
		if _, err := deliver(t, science, "mail-"+tc.name, 300*time.Millisecond); err == nil || adapters.IsPermanent(err) {
			t.Errorf("%s: err = %v, want a transient failure", tc.name, err)
		}
	}
	s.sim.SetFaults("gd-science-smtp", legacysim.Faults{SlowAccept: time.Millisecond})
	if _, err := deliver(t, science, "mail-1", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if e := s.sim.Backend("gd-science-smtp").Ledger()[want]; e.Arrivals != 2 {
		t.Fatalf("repeat: %+v, want two arrivals of one key", e)
	}
}
