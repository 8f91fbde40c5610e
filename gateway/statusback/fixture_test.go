package statusback_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/metadata"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/gateway/deadline"
	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/service"
	"github.com/switchboard12345/switchboard/gateway/statusback"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/ids"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

// now is the fixed clock of the tests: Friday 2026-11-27 10:00 in China.
var now = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

// Secrets of the test backends.
const (
	samrSecret = "gz-samr-测试密钥-2026"
	taxSecret  = "gd-tax-secret"
)

type fixture struct {
	path    string
	store   *sqlstore.Store
	svc     *service.Tickets
	live    *registry.Live
	metrics *prometheus.Registry
	handler *statusback.Handler
	mux     *http.ServeMux
	op      context.Context // an operator's call
}

// newFixture opens a SQLite store at path (a new one in t.TempDir() when
// empty) under the example province, with webhook secrets for gz-samr-rest
// and gd-tax-soap (from an environment variable), and adjust applied to the
// province first.
func newFixture(t *testing.T, path string, adjust func(p *registry.ProvinceFile)) *fixture {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "switchboard.db")
	}
	st, err := sqlstore.OpenSQLite(context.Background(), path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Backends {
		b := &p.Backends[i]
		// Only the backends named below have secrets here, whatever the
		// example province gives its demo.
		delete(b.Config, statusback.KeyWebhookSecret)
		delete(b.Config, statusback.KeyWebhookSecretEnv)
		switch b.ID {
		case "gz-samr-rest", "gz-samr-market":
			b.Config = map[string]string{statusback.KeyWebhookSecret: samrSecret}
		case "gd-tax-soap":
			b.Config = map[string]string{statusback.KeyWebhookSecretEnv: "SB_TEST_TAX_WEBHOOK"}
		}
	}
	if adjust != nil {
		adjust(p)
	}
	live := registry.NewStatic(registry.NewSnapshot(p, 1))
	policy, err := deadline.NewPolicy(deadline.DefaultPolicyConfig(), deadline.DefaultCalendar())
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Config{
		Store: st, Machine: lifecycle.New(policy), Routes: live.Snapshot,
		Now: func() time.Time { return now }, NewID: ids.NewSource().New, AutoDispatch: true,
	})
	metrics := prometheus.NewRegistry()
	h := statusback.NewHandler(statusback.HandlerConfig{
		Routes: live.Snapshot, Apply: svc, Now: func() time.Time { return now }, Metrics: metrics,
		Getenv: func(k string) string {
			if k == "SB_TEST_TAX_WEBHOOK" {
				return taxSecret
			}
			return ""
		},
	})
	mux := http.NewServeMux()
	mux.Handle(statusback.Pattern, h)
	op := metadata.NewIncomingContext(context.Background(), metadata.Pairs(service.MDActor, "operator:%E6%9D%8E%E5%A8%9C"))
	return &fixture{path: path, store: st, svc: svc, live: live, metrics: metrics, handler: h, mux: mux, op: op}
}

// complaint files a market complaint in 天河, auto-dispatched to gz-samr.
func (f *fixture) complaint(t *testing.T) *pb.Ticket {
	t.Helper()
	tk, err := f.svc.CreateTicket(f.op, &pb.CreateTicketRequest{Ticket: &pb.NewTicket{
		Channel: pb.Channel_PHONE, DialedNumber: "12345",
		Caller:   &pb.Caller{Name: "张三", Phone: "13800138000"},
		Title:    "预付卡退款",
		Content:  "健身房倒闭，预付卡无法退款。",
		Location: &pb.Location{Address: "广州市天河区体育西路1号", RegionCode: "440106"},
		Category: "110401", RequestType: pb.RequestType_COMPLAINT,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if tk.GetHandlingUnit() != "gz-samr" || tk.GetState() != pb.State_DISPATCHED {
		t.Fatalf("ticket dispatched to %q in %s, want gz-samr DISPATCHED", tk.GetHandlingUnit(), tk.GetState())
	}
	return tk
}

// deliverAll marks every claimable outbox message delivered, the backend
// answering with externalID.
func (f *fixture) deliverAll(t *testing.T, externalID string) {
	t.Helper()
	ctx := context.Background()
	later := now.Add(time.Minute)
	ps, err := f.store.Claim(ctx, store.Claim{Owner: "test", Now: later, Until: later.Add(time.Hour), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if err := f.store.Delivered(ctx, p.ID, "test", store.Delivered{At: later, ExternalID: externalID}); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) ticket(t *testing.T, ref string) ticket.Ticket {
	t.Helper()
	tk, err := f.store.GetTicket(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func (f *fixture) events(t *testing.T, id string) []ticket.Event {
	t.Helper()
	evs, err := f.store.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// webhook is one request to the handler.
type webhook struct {
	backend   string
	body      string
	timestamp string // "" = now
	signature string // "" = signed with secret
	secret    string
	noTS      bool
	noSig     bool
}

type answer struct {
	code int
	resp statusback.Response
	err  struct {
		Error struct {
			Code            int    `json:"code"`
			Status          string `json:"status"`
			Message         string `json:"message"`
			FieldViolations []struct {
				Field, Description string
			} `json:"fieldViolations"`
		} `json:"error"`
	}
	raw string
}

func (f *fixture) post(t *testing.T, w webhook) answer {
	t.Helper()
	ts := w.timestamp
	if ts == "" {
		ts = strconv.FormatInt(now.Unix(), 10)
	}
	sig := w.signature
	if sig == "" {
		sig = statusback.Sign(w.secret, ts, []byte(w.body))
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/backends/"+w.backend+"/updates", bytes.NewReader([]byte(w.body)))
	req.RemoteAddr = "127.0.0.1:40000"
	if !w.noTS {
		req.Header.Set(statusback.HeaderTimestamp, ts)
	}
	if !w.noSig {
		req.Header.Set(statusback.HeaderSignature, sig)
	}
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	a := answer{code: rec.Code, raw: rec.Body.String()}
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &a.resp); err != nil {
			t.Fatalf("200 with body %s: %v", a.raw, err)
		}
	} else if err := json.Unmarshal(rec.Body.Bytes(), &a.err); err != nil {
		t.Fatalf("%d with body %s: %v", rec.Code, a.raw, err)
	}
	return a
}

// body is a webhook body of updates.
func body(t *testing.T, updates ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"updates": updates})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// counter returns the value of the counter name with the label values
// backend and (for the webhook's counter) reason; 0 when absent.
func (f *fixture) counter(name, backend, reason string) float64 {
	mfs, err := f.metrics.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "backend":
					if l.GetValue() != backend {
						continue next
					}
				case "reason", "status":
					if l.GetValue() != reason {
						continue next
					}
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
