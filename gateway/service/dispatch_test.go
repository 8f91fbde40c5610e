package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/adaptertest"
	"github.com/switchboard12345/switchboard/adapters/manual"
	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/dispatch"
	"github.com/switchboard12345/switchboard/gateway/guard"
	"github.com/switchboard12345/switchboard/gateway/server"
	"github.com/switchboard12345/switchboard/gateway/service"
	"github.com/switchboard12345/switchboard/internal/testauth"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
	"github.com/switchboard12345/switchboard/store/storetest"
)

// manualUnit is a street office of the example province without a legacy
// system (backend gz-tianhe-tiyuxi-manual).
const manualUnit = "gz-tianhe-tiyuxi"

// fakeDispatcher reports a fixed status and counts wake-ups.
type fakeDispatcher struct {
	status dispatch.Status
	woken  atomic.Int32
}

func (f *fakeDispatcher) Status(context.Context) (dispatch.Status, error) { return f.status, nil }
func (f *fakeDispatcher) Wake()                                           { f.woken.Add(1) }

// noTickets stands in for the TicketService, which these tests do not use.
type noTickets struct {
	pb.UnimplementedTicketServiceServer
}

type dispatchFixture struct {
	store *sqlstore.Store
	svc   *service.Dispatch
	disp  *fakeDispatcher
	base  string // REST base URL
	rpc   pb.DispatchServiceClient
	now   atomic.Int64 // the clock, Unix nanoseconds
	// tokens holds the bearer token of each principal: tester, lina, wangfang.
	tokens map[string]string
}

// The principals of the dispatch tests, each with the superuser role; nobody
// sends no token.
const (
	tester   = "tester"
	lina     = "u-lina"     // 李娜
	wangfang = "u-wangfang" // 王芳
	nobody   = ""
)

// newDispatchFixture serves the DispatchService over REST and gRPC on
// loopback, on a SQLite store holding the example province, behind the guard.
func newDispatchFixture(t *testing.T, status service.DispatchStatus) *dispatchFixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "x.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Registry().Import(ctx, p, "admin:setup"); err != nil {
		t.Fatal(err)
	}
	live := registry.NewLive(st.Registry(), nil)
	if err := live.Load(ctx); err != nil {
		t.Fatal(err)
	}
	f := &dispatchFixture{store: st}
	f.now.Store(regNow.UnixNano())
	f.disp, _ = status.(*fakeDispatcher)
	f.svc = service.NewDispatch(service.DispatchConfig{
		Outbox: st, Inbox: st, Status: status, Routes: live.Snapshot,
		Now: f.clock,
	})
	ta := testauth.New(t, st, st, live.Snapshot)
	units, err := live.Snapshot().Units(ctx)
	if err != nil || len(units) == 0 {
		t.Fatalf("units: %v %v", units, err)
	}
	root := units[0].ID
	f.tokens = map[string]string{tester: ta.Token}
	for _, id := range []string{lina, wangfang} {
		f.tokens[id] = ta.Principal(t, id, root)
		ta.Change(t, store.PolicyChange{Add: []store.Rule{{PType: "g", Values: []string{id, "tester", root}}},
			Audit: store.AuditEntry{Actor: "test", Action: "policy.change"}})
	}
	srv, err := server.New(server.Options{
		HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0",
		Tickets:     noTickets{},
		DispatchAPI: f.svc,
		Store:       st,
		Guard:       ta.Guard.Unary,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		st.Close()
	})
	httpAddr, grpcAddr, err := srv.Addrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f.base, f.rpc = "http://"+httpAddr, pb.NewDispatchServiceClient(conn)
	return f
}

func (f *dispatchFixture) clock() time.Time { return time.Unix(0, f.now.Load()).UTC() }

// as is a gRPC context acting as principal who, with its bearer token.
func (f *dispatchFixture) as(who string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), guard.MDAuthorization, testauth.Header(f.tokens[who]))
}

// rest calls the REST API as principal who (nobody: without a token) and
// decodes the JSON answer.
func (f *dispatchFixture) rest(t *testing.T, method, path, who string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if who != nobody {
		req.Header.Set("Authorization", testauth.Header(f.tokens[who]))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: %d %q", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}

// wantREST checks a REST error: its HTTP code, status name and, if set, the
// field a violation names.
func wantREST(t *testing.T, code int, m map[string]any, wantCode int, wantStatus, field string) {
	t.Helper()
	e, _ := m["error"].(map[string]any)
	if code != wantCode || e["status"] != wantStatus {
		t.Fatalf("got %d %v, want %d %s", code, m, wantCode, wantStatus)
	}
	if field == "" {
		return
	}
	vs, _ := e["fieldViolations"].([]any)
	for _, v := range vs {
		if v.(map[string]any)["field"] == field {
			return
		}
	}
	t.Fatalf("%v names no field %q", m, field)
}

// file delivers n work orders to unit through the manual adapter, with keys
// shaped as the dispatcher's (ticket/seq/unit), and returns the keys.
func (f *dispatchFixture) file(t *testing.T, unit string, n int) []string {
	t.Helper()
	a, err := manual.New(f.store, f.clock)(adapters.Config{Backend: unit + "-manual"})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for i := range n {
		d := adaptertest.Sample(fmt.Sprintf("01TICKET%04d/2/%s", i, unit))
		d.Unit, d.Ticket.HandlingUnit = unit, unit
		d.Ticket.ID = fmt.Sprintf("01TICKET%04d", i)
		d.Ticket.TrackingNumber = fmt.Sprintf("20261127-%06d", i)
		if _, err := a.Deliver(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, d.Key)
	}
	return keys
}

func TestInboxOverRESTAndGRPC(t *testing.T) {
	f := newDispatchFixture(t, nil)
	keys := f.file(t, manualUnit, 3)
	f.file(t, "gz-yuexiu-beijing", 1)
	path := "/v1/units/" + manualUnit + "/inbox"

	// REST lists the open items with the payload as a JSON object, Chinese intact.
	code, m := f.rest(t, "GET", path, tester, nil)
	items, _ := m["items"].([]any)
	if code != 200 || len(items) != 3 {
		t.Fatalf("list: %d %v", code, m)
	}
	first := items[0].(map[string]any)
	tk := first["payload"].(map[string]any)["ticket"].(map[string]any)
	if first["key"] != keys[0] || first["ticketId"] != "01TICKET0000" || first["trackingNumber"] != "20261127-000000" ||
		first["topic"] != "ticket.dispatch" || tk["title"] != "预付卡退款" || first["createTime"] == nil {
		t.Fatalf("first item: %v", first)
	}
	// Pages.
	code, m = f.rest(t, "GET", path+"?pageSize=2", tester, nil)
	tok, _ := m["nextPageToken"].(string)
	if code != 200 || len(m["items"].([]any)) != 2 || tok == "" {
		t.Fatalf("first page: %d %v", code, m)
	}
	code, m = f.rest(t, "GET", path+"?pageSize=2&pageToken="+url.QueryEscape(tok), tester, nil)
	if code != 200 || len(m["items"].([]any)) != 1 || m["nextPageToken"] != nil || m["items"].([]any)[0].(map[string]any)["key"] != keys[2] {
		t.Fatalf("second page: %d %v", code, m)
	}

	// 李娜 claims two over REST, 王芳 the rest over gRPC.
	code, m = f.rest(t, "POST", path+":claim", lina, map[string]any{"limit": 2, "leaseSeconds": 600})
	if code != 200 || len(m["items"].([]any)) != 2 {
		t.Fatalf("claim: %d %v", code, m)
	}
	li := m["items"].([]any)[0].(map[string]any)
	if li["claimedBy"] != lina || li["claimExpireTime"] != "2026-11-28T02:10:00Z" {
		t.Fatalf("claimed item: %v", li)
	}
	got, err := f.rpc.ClaimInbox(f.as(wangfang), &pb.ClaimInboxRequest{Unit: manualUnit, Limit: 5})
	if err != nil || len(got.GetItems()) != 1 || got.GetItems()[0].GetKey() != keys[2] || got.GetItems()[0].GetClaimedBy() != wangfang {
		t.Fatalf("gRPC claim: %v %v", got, err)
	}
	if got.GetItems()[0].GetPayload().GetFields()["event"].GetStructValue().GetFields()["reason"].GetStringValue() != "消费维权" {
		t.Fatalf("gRPC payload: %v", got.GetItems()[0].GetPayload())
	}
	// Nothing is open now.
	if code, m = f.rest(t, "GET", path, tester, nil); code != 200 || m["items"] != nil {
		t.Fatalf("open after claims: %d %v", code, m)
	}

	// 王芳 may not acknowledge 李娜's live claim: 409 ABORTED, over both transports.
	code, m = f.rest(t, "POST", path+":ack", wangfang, map[string]any{"key": keys[0]})
	wantREST(t, code, m, 409, "ABORTED", "")
	_, err = f.rpc.AckInbox(f.as(wangfang), &pb.AckInboxRequest{Unit: manualUnit, Key: keys[0]})
	wantCode(t, err, codes.Aborted, "")
	// 李娜 may, twice; the key holds '/'.
	for range 2 {
		code, m = f.rest(t, "POST", path+":ack", lina, map[string]any{"key": keys[0]})
		if code != 200 || m["ackedBy"] != lina || m["ackTime"] != "2026-11-28T02:00:00Z" {
			t.Fatalf("ack: %d %v", code, m)
		}
	}
	acked, err := f.rpc.AckInbox(f.as(wangfang), &pb.AckInboxRequest{Unit: manualUnit, Key: keys[2]})
	if err != nil || acked.GetAckedBy() != wangfang {
		t.Fatalf("gRPC ack: %v %v", acked, err)
	}
	// When 李娜's claim expires, her other item is open again.
	f.now.Add(int64(11 * time.Minute))
	list, err := f.rpc.ListInbox(f.as(tester), &pb.ListInboxRequest{Unit: manualUnit})
	if err != nil || len(list.GetItems()) != 1 || list.GetItems()[0].GetKey() != keys[1] {
		t.Fatalf("open after expiry: %v %v", list, err)
	}
	all, err := f.rpc.ListInbox(f.as(tester), &pb.ListInboxRequest{Unit: manualUnit, All: true})
	if err != nil || len(all.GetItems()) != 3 {
		t.Fatalf("all: %v %v", all, err)
	}

	// Bad requests name the field; unknown units are not found; claims need a
	// caller (a token).
	for _, tc := range []struct {
		method, path, who string
		body              any
		code              int
		status, field     string
	}{
		{"GET", path + "?pageSize=501", tester, nil, 400, "INVALID_ARGUMENT", "pageSize"},
		{"GET", path + "?pageToken=xyz", tester, nil, 400, "INVALID_ARGUMENT", "pageToken"},
		{"POST", path + ":claim", lina, map[string]any{"limit": 1000}, 400, "INVALID_ARGUMENT", "limit"},
		{"POST", path + ":claim", lina, map[string]any{"leaseSeconds": 1}, 400, "INVALID_ARGUMENT", "leaseSeconds"},
		{"POST", path + ":ack", lina, map[string]any{}, 400, "INVALID_ARGUMENT", "key"},
		{"POST", path + ":claim", nobody, map[string]any{}, 401, "UNAUTHENTICATED", ""},
		{"GET", "/v1/units/no-such-unit/inbox", tester, nil, 404, "NOT_FOUND", ""},
		{"POST", path + ":ack", lina, map[string]any{"key": "no/such/key"}, 404, "NOT_FOUND", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			code, m := f.rest(t, tc.method, tc.path, tc.who, tc.body)
			wantREST(t, code, m, tc.code, tc.status, tc.field)
		})
	}
	_, err = f.rpc.ClaimInbox(f.as(lina), &pb.ClaimInboxRequest{})
	wantCode(t, err, codes.InvalidArgument, "unit")
}

// TestInboxClaimsNeverOverlap lets two staff claim a unit's inbox one item at
// a time, concurrently, over REST and gRPC, until it is empty.
func TestInboxClaimsNeverOverlap(t *testing.T) {
	f := newDispatchFixture(t, nil)
	keys := f.file(t, manualUnit, 40)
	var mu sync.Mutex
	claimed := map[string][]string{}
	var wg sync.WaitGroup
	claim := map[string]func() ([]string, error){
		lina: func() ([]string, error) { // REST
			code, m := f.rest(t, "POST", "/v1/units/"+manualUnit+"/inbox:claim", lina, map[string]any{"limit": 3})
			if code != 200 {
				return nil, fmt.Errorf("claim: %d %v", code, m)
			}
			var out []string
			items, _ := m["items"].([]any)
			for _, it := range items {
				out = append(out, it.(map[string]any)["key"].(string))
			}
			return out, nil
		},
		wangfang: func() ([]string, error) { // gRPC
			resp, err := f.rpc.ClaimInbox(f.as(wangfang), &pb.ClaimInboxRequest{Unit: manualUnit, Limit: 2})
			var out []string
			for _, it := range resp.GetItems() {
				out = append(out, it.GetKey())
			}
			return out, err
		},
	}
	errc := make(chan error, len(claim))
	for who, fn := range claim {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := fn()
				if err != nil {
					errc <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, k := range got {
					claimed[k] = append(claimed[k], who)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if len(claimed) != len(keys) {
		t.Fatalf("%d of %d items claimed", len(claimed), len(keys))
	}
	for k, by := range claimed {
		if len(by) != 1 {
			t.Fatalf("%s claimed by %v", k, by)
		}
	}
}

// deadLetters files one message per backend in backends and parks each.
func (f *dispatchFixture) deadLetters(t *testing.T, backends ...string) []int64 {
	t.Helper()
	ctx := context.Background()
	for i, b := range backends {
		c := storetest.Sample()
		c.Outbox = []store.Message{{Topic: "ticket.dispatch", Unit: "gz-samr", Backend: b,
			Key: fmt.Sprintf("dead-%d/2/%s", i, b), Payload: []byte(`{"ticket":{"title":"预付卡退款"}}`)}}
		if _, _, err := f.store.CreateTicket(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.store.Claim(ctx, store.Claim{Owner: "test", Now: f.clock(), Until: f.clock().Add(time.Minute), Limit: 100})
	if err != nil || len(got) != len(backends) {
		t.Fatalf("claimed %d of %d: %v", len(got), len(backends), err)
	}
	var ids []int64
	for _, p := range got {
		if err := f.store.DeadLetter(ctx, p.ID, "test", "rejected by backend: 工单格式错误", f.clock()); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestDeadLettersAndRedrive(t *testing.T) {
	disp := &fakeDispatcher{}
	f := newDispatchFixture(t, disp)
	ids := f.deadLetters(t, "gd-samr-rest", "gd-samr-rest", "gd-samr-food")

	code, m := f.rest(t, "GET", "/v1/dispatch/dead-letters", tester, nil)
	dl, _ := m["deadLetters"].([]any)
	if code != 200 || len(dl) != 3 {
		t.Fatalf("dead letters: %d %v", code, m)
	}
	d0 := dl[0].(map[string]any)
	if d0["id"] != fmt.Sprint(ids[0]) || d0["backend"] != "gd-samr-rest" || d0["deadReason"] != "rejected by backend: 工单格式错误" ||
		d0["deadTime"] != "2026-11-28T02:00:00Z" || !strings.HasPrefix(d0["key"].(string), "dead-0/") {
		t.Fatalf("first dead letter: %v", d0)
	}
	// By backend, and in pages.
	byBackend, err := f.rpc.ListDeadLetters(f.as(tester), &pb.ListDeadLettersRequest{Backend: "gd-samr-rest", PageSize: 1})
	if err != nil || len(byBackend.GetDeadLetters()) != 1 || byBackend.GetNextPageToken() == "" {
		t.Fatalf("page 1: %v %v", byBackend, err)
	}
	page2, err := f.rpc.ListDeadLetters(f.as(tester), &pb.ListDeadLettersRequest{Backend: "gd-samr-rest", PageSize: 1, PageToken: byBackend.GetNextPageToken()})
	if err != nil || len(page2.GetDeadLetters()) != 1 || page2.GetDeadLetters()[0].GetId() != ids[1] {
		t.Fatalf("page 2: %v %v", page2, err)
	}

	for _, tc := range []struct {
		method, path string
		body         any
		code         int
		status       string
		field        string
	}{
		{"POST", "/v1/dispatch:redrive", map[string]any{}, 400, "INVALID_ARGUMENT", "ids"},
		{"POST", "/v1/dispatch:redrive", map[string]any{"ids": []string{"1"}, "backend": "gd-samr-rest"}, 400, "INVALID_ARGUMENT", "ids"},
		{"POST", "/v1/dispatch:redrive", map[string]any{"backend": "gd-samr-rest", "all": true}, 400, "INVALID_ARGUMENT", "all"},
		{"POST", "/v1/dispatch:redrive", map[string]any{"ids": []string{"-3"}}, 400, "INVALID_ARGUMENT", "ids[0]"},
		{"POST", "/v1/dispatch:redrive", map[string]any{"backend": "no-such-backend"}, 404, "NOT_FOUND", ""},
		{"GET", "/v1/dispatch/dead-letters?backend=no-such-backend", nil, 404, "NOT_FOUND", ""},
		{"GET", "/v1/dispatch/dead-letters?pageSize=-1", nil, 400, "INVALID_ARGUMENT", "pageSize"},
		{"GET", "/v1/dispatch/dead-letters?pageToken=bm9wZQ", nil, 400, "INVALID_ARGUMENT", "pageToken"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			code, m := f.rest(t, tc.method, tc.path, lina, tc.body)
			wantREST(t, code, m, tc.code, tc.status, tc.field)
		})
	}
	if disp.woken.Load() != 0 {
		t.Fatal("a refused redrive woke the dispatcher")
	}

	// One by id over gRPC; it is pending again and the dispatcher woke.
	r, err := f.rpc.Redrive(f.as(lina), &pb.RedriveRequest{Ids: []int64{ids[0]}})
	if err != nil || r.GetRedriven() != 1 || disp.woken.Load() != 1 {
		t.Fatalf("redrive by id: %v %v (woken %d)", r, err, disp.woken.Load())
	}
	pending, err := f.store.Claim(context.Background(), store.Claim{Owner: "test", Now: f.clock(), Until: f.clock().Add(time.Minute), Limit: 10})
	if err != nil || len(pending) != 1 || pending[0].ID != ids[0] || pending[0].Attempts != 0 {
		t.Fatalf("after redrive: %+v %v", pending, err)
	}
	// The rest of a backend over REST, then everything.
	code, m = f.rest(t, "POST", "/v1/dispatch:redrive", lina, map[string]any{"backend": "gd-samr-rest"})
	if code != 200 || m["redriven"] != float64(1) {
		t.Fatalf("redrive by backend: %d %v", code, m)
	}
	code, m = f.rest(t, "POST", "/v1/dispatch:redrive", lina, map[string]any{"all": true})
	if code != 200 || m["redriven"] != float64(1) || disp.woken.Load() != 3 {
		t.Fatalf("redrive all: %d %v (woken %d)", code, m, disp.woken.Load())
	}
	if left, err := f.rpc.ListDeadLetters(f.as(tester), &pb.ListDeadLettersRequest{}); err != nil || len(left.GetDeadLetters()) != 0 {
		t.Fatalf("left: %v %v", left, err)
	}
}

func TestDispatchStatus(t *testing.T) {
	t.Run("no dispatcher", func(t *testing.T) {
		f := newDispatchFixture(t, nil)
		code, m := f.rest(t, "GET", "/v1/dispatch/status", tester, nil)
		wantREST(t, code, m, 503, "UNAVAILABLE", "")
		if msg := m["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "dispatcher not running") {
			t.Fatalf("message %q", msg)
		}
	})
	t.Run("running", func(t *testing.T) {
		disp := &fakeDispatcher{status: dispatch.Status{Backends: []dispatch.BackendStatus{{
			Backend: "gd-samr-rest", Unit: "gd-samr", Kind: "rest", Breaker: "half-open",
			Queued: 3, QueueCap: 64, InFlight: 2, MaxInFlight: 32, Pending: 7, OldestPending: 90 * time.Second, Dead: 1,
			Attempts: 120, Delivered: 110, Failures: 9, Rejected: 1, LatencyP50: 12500 * time.Microsecond, LatencyP99: 2 * time.Second,
		}}}}
		f := newDispatchFixture(t, disp)
		code, m := f.rest(t, "GET", "/v1/dispatch/status", tester, nil)
		b := m["backends"].([]any)[0].(map[string]any)
		if code != 200 || b["breaker"] != "half-open" || b["queued"] != float64(3) || b["pending"] != "7" ||
			b["oldestPendingSeconds"] != float64(90) || b["latencyP50Ms"] != 12.5 || b["latencyP99Ms"] != float64(2000) {
			t.Fatalf("status: %d %v", code, m)
		}
		st, err := f.rpc.GetDispatchStatus(f.as(tester), &pb.GetDispatchStatusRequest{})
		if err != nil || st.GetBackends()[0].GetMaxInFlight() != 32 || st.GetBackends()[0].GetRejected() != 1 {
			t.Fatalf("gRPC status: %v %v", st, err)
		}
	})
}
