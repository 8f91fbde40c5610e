package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/switchboard12345/switchboard/api"
	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/gateway/deadline"
	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/server"
	"github.com/switchboard12345/switchboard/gateway/service"
	"github.com/switchboard12345/switchboard/internal/ids"
	"github.com/switchboard12345/switchboard/internal/testauth"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// stack is a running server on SQLite with the example province.
type stack struct {
	rest  string // base URL
	grpc  pb.TicketServiceClient
	conn  *grpc.ClientConn
	store store.Store
	clock *clock
	srv   *server.Server
	auth  *testauth.Setup
	root  string // the root unit of the province
}

func newStack(t testing.TB) *stack {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "switchboard.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	province, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	policy, err := deadline.NewPolicy(deadline.DefaultPolicyConfig(), deadline.DefaultCalendar())
	if err != nil {
		t.Fatal(err)
	}
	// Friday 27 November 2026, 10:00 in Guangzhou.
	clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	idSource := ids.NewSource()
	svc := service.New(service.Config{
		Store: st, Machine: lifecycle.New(policy), Routes: registry.NewStatic(registry.NewSnapshot(province, 1)).Snapshot,
		Now: clk.Now, NewID: idSource.New,
	})
	units := registry.NewStatic(registry.NewSnapshot(province, 1)).Snapshot
	ta := testauth.New(t, st, st, units)
	all, err := units().Units(ctx)
	if err != nil || len(all) == 0 {
		t.Fatalf("units: %v %v", all, err)
	}
	srv, err := server.New(server.Options{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Tickets: svc, Store: st, ShutdownGrace: 5 * time.Second,
		Guard: ta.Guard.Unary})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	httpAddr, grpcAddr, err := srv.Addrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), testauth.Credentials(ta.Token))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		st.Close()
	})
	return &stack{rest: "http://" + httpAddr, grpc: pb.NewTicketServiceClient(conn), conn: conn, store: st, clock: clk, srv: srv, auth: ta, root: all[0].ID}
}

// principal creates principal id in the root unit with the superuser role
// ("tester", every action everywhere) and returns its token.
func (s *stack) principal(t testing.TB, id string) string {
	t.Helper()
	token := s.auth.Principal(t, id, s.root)
	s.auth.Change(t, store.PolicyChange{Add: []store.Rule{{PType: "g", Values: []string{id, "tester", s.root}}},
		Audit: store.AuditEntry{Actor: "test", Action: "policy.change"}})
	return token
}

// dial opens a gRPC client of the stack's server sending token.
func (s *stack) dial(t testing.TB, token string) pb.TicketServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(s.conn.Target(), grpc.WithTransportCredentials(insecure.NewCredentials()), testauth.Credentials(token))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewTicketServiceClient(conn)
}

const createBody = `{"channel":"PHONE","caller":{"name":"张三","phone":"13800138000"},"title":"预付卡退款","content":"西饼店倒闭，预付卡无法退款","location":{"address":"广州市天河区体育西路1号"},"requestType":"COMPLAINT","dialedNumber":"12345"}`

// call does a REST request and decodes the JSON reply.
func (s *stack) call(t testing.TB, method, path, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.rest+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", testauth.Header(s.auth.Token))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: reply is not JSON: %q", method, path, raw)
	}
	return resp.StatusCode, out
}

func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}

func fields(m map[string]any) []string {
	var out []string
	e, _ := m["error"].(map[string]any)
	vs, _ := e["fieldViolations"].([]any)
	for _, v := range vs {
		out = append(out, v.(map[string]any)["field"].(string))
	}
	return out
}

func TestCreateIdempotency(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	code, first := s.call(t, "POST", "/v1/tickets", createBody, "Idempotency-Key", "desk-7-0001")
	if code != 200 {
		t.Fatalf("create: %d %v", code, first)
	}
	for _, k := range []string{"id", "trackingNumber", "state", "signBy", "replyBy"} {
		if str(first, k) == "" {
			t.Errorf("create reply lacks %s: %v", k, first)
		}
	}
	if str(first, "state") != "RECEIVED" || str(first, "caller", "name") != "张三" || str(first, "content") != "西饼店倒闭，预付卡无法退款" {
		t.Errorf("create reply = %v", first)
	}
	code, again := s.call(t, "POST", "/v1/tickets", createBody, "Idempotency-Key", "desk-7-0001")
	if code != 200 || str(again, "id") != str(first, "id") || str(again, "trackingNumber") != str(first, "trackingNumber") {
		t.Fatalf("replay: %d %v, want the first ticket", code, again)
	}
	other := strings.Replace(createBody, "预付卡退款", "预付卡无法退款", 1)
	code, conflict := s.call(t, "POST", "/v1/tickets", other, "Idempotency-Key", "desk-7-0001")
	if code != http.StatusConflict || str(conflict, "error", "status") != "ALREADY_EXISTS" {
		t.Fatalf("same key, other body: %d %v, want 409", code, conflict)
	}
	// gRPC: the same key in metadata replays the REST-created ticket.
	ctx := metadata.AppendToOutgoingContext(context.Background(), "idempotency-key", "desk-7-0001")
	var nt pb.NewTicket
	if err := protojsonUnmarshal(createBody, &nt); err != nil {
		t.Fatal(err)
	}
	got, err := s.grpc.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &nt})
	if err != nil || got.GetId() != str(first, "id") {
		t.Fatalf("gRPC replay: %v %v", got.GetId(), err)
	}
}

func TestBadInputNamesTheField(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tests := []struct {
		name, body string
		fields     []string
	}{
		{"missing required", `{"channel":"PHONE"}`, []string{"caller.phone", "title", "content", "requestType"}},
		{"bad enum", strings.Replace(createBody, `"COMPLAINT"`, `"GRUMBLE"`, 1), []string{"requestType"}},
		{"unknown field", `{"colour":"red"}`, []string{"colour"}},
		{"bad phone", strings.Replace(createBody, "13800138000", "12345", 1), []string{"caller.phone"}},
		{"title too long in characters", strings.Replace(createBody, "预付卡退款", strings.Repeat("退", 101), 1), []string{"title"}},
		{"wrong type", `{"title": 42}`, []string{"title"}},
		{"not JSON", `{"title":`, []string{"body"}},
		{"invalid UTF-8 names the field", "{\"channel\":\"PHONE\",\"title\":\"\xff\xfe\"}", []string{"title"}},
		{"body over 1 MiB", `{"content":"` + strings.Repeat("长", 400_000) + `"}`, []string{"body"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, reply := s.call(t, "POST", "/v1/tickets", tc.body)
			if code != http.StatusBadRequest || str(reply, "error", "status") != "INVALID_ARGUMENT" {
				t.Fatalf("got %d %v, want 400 INVALID_ARGUMENT", code, reply)
			}
			got := strings.Join(fields(reply), ",")
			for _, f := range tc.fields {
				if !strings.Contains(","+got+",", ","+f+",") {
					t.Errorf("violations %q do not name %q", got, f)
				}
			}
		})
	}
	if n, _ := s.store.CountByState(context.Background()); len(n) != 0 {
		t.Fatalf("bad requests stored tickets: %v", n)
	}
	t.Run("gRPC InvalidArgument with BadRequest details", func(t *testing.T) {
		t.Parallel()
		_, err := s.grpc.CreateTicket(context.Background(), &pb.CreateTicketRequest{Ticket: &pb.NewTicket{Channel: pb.Channel_PHONE, Title: "预付卡退款"}})
		st := status.Convert(err)
		if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "content: required") {
			t.Fatalf("err = %v", err)
		}
		if len(st.Details()) == 0 {
			t.Fatal("no BadRequest detail")
		}
	})
}

func TestUnknownTicketAndPaths(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	for _, p := range []string{"/v1/tickets/01NOSUCHTICKET", "/v1/tickets/20261127-999999", "/v1/tickets/20261127-999999/events"} {
		if code, reply := s.call(t, "GET", p, ""); code != http.StatusNotFound || str(reply, "error", "status") != "NOT_FOUND" {
			t.Errorf("GET %s: %d %v, want 404", p, code, reply)
		}
	}
	if code, _ := s.call(t, "POST", "/v1/tickets/20261127-999999:sign", "{}"); code != http.StatusNotFound {
		t.Errorf("sign unknown: %d", code)
	}
	if code, _ := s.call(t, "GET", "/v1/nothing", ""); code != http.StatusNotFound {
		t.Errorf("unknown path: %d", code)
	}
	_, err := s.grpc.GetTicket(context.Background(), &pb.GetTicketRequest{Id: "01NOSUCHTICKET"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("gRPC get unknown: %v", err)
	}
}

// step is one lifecycle action, spelled for REST and for gRPC.
type step struct {
	verb, body string
	grpc       func(c pb.TicketServiceClient, ctx context.Context, id string) (*pb.Ticket, error)
	state      string
}

var walk = []step{
	{"dispatch", `{"handlingUnit":"gz-samr","coHandlingUnits":["gz-tianhe"],"reason":"属地+行业"}`, func(c pb.TicketServiceClient, ctx context.Context, id string) (*pb.Ticket, error) {
		return c.DispatchTicket(ctx, &pb.DispatchTicketRequest{Id: id, HandlingUnit: "gz-samr", CoHandlingUnits: []string{"gz-tianhe"}, Reason: "属地+行业"})
	}, "DISPATCHED"},
	{"sign", `{"note":"已签收"}`, func(c pb.TicketServiceClient, ctx context.Context, id string) (*pb.Ticket, error) {
		return c.SignTicket(ctx, &pb.SignTicketRequest{Id: id, Note: "已签收"})
	}, "SIGNED"},
	{"requestExtension", `{"days":3,"reason":"需要现场核查"}`, func(c pb.TicketServiceClient, ctx context.Context, id string) (*pb.Ticket, error) {
		return c.RequestExtension(ctx, &pb.RequestExtensionRequest{Id: id, Days: 3, Reason: "需要现场核查"})
	}, "EXTENSION_REQUESTED"},
	{"decideExtension", `{"approve":true}`, func(c pb.TicketServiceClient, ctx context.Context, id string) (*pb.Ticket, error) {
		return c.DecideExtension(ctx, &pb.DecideExtensionRequest{Id: id, Approve: true})
	}, "IN_PROGRESS"},
	{"supervise", `{"reason":"领导批示"}`, func(c pb.TicketServiceClient, ctx context.Context, id string) (*pb.Ticket, error) {
		return c.SuperviseTicket(ctx, &pb.SuperviseTicketRequest{Id: id, Reason: "领导批示"})
	}, "IN_PROGRESS"},
	{"reply", `{"reply":"已责令商家退款"}`, func(c pb.TicketServiceClient, ctx context.Context, id string) (*pb.Ticket, error) {
		return c.ReplyTicket(ctx, &pb.ReplyTicketRequest{Id: id, Reply: "已责令商家退款"})
	}, "REPLIED"},
	{"visit", `{"satisfaction":"DISSATISFIED","resolved":false}`, func(c pb.TicketServiceClient, ctx context.Context, id string) (*pb.Ticket, error) {
		return c.VisitTicket(ctx, &pb.VisitTicketRequest{Id: id, Satisfaction: pb.Satisfaction_DISSATISFIED})
	}, "VISITED"},
	{"reopen", `{"reason":"市民不满意，退款未到账"}`, func(c pb.TicketServiceClient, ctx context.Context, id string) (*pb.Ticket, error) {
		return c.ReopenTicket(ctx, &pb.ReopenTicketRequest{Id: id, Reason: "市民不满意，退款未到账"})
	}, "REOPENED"},
	{"sign", `{}`, func(c pb.TicketServiceClient, ctx context.Context, id string) (*pb.Ticket, error) {
		return c.SignTicket(ctx, &pb.SignTicketRequest{Id: id})
	}, "SIGNED"},
	{"reply", `{"reply":"退款已到账"}`, func(c pb.TicketServiceClient, ctx context.Context, id string) (*pb.Ticket, error) {
		return c.ReplyTicket(ctx, &pb.ReplyTicketRequest{Id: id, Reply: "退款已到账"})
	}, "REPLIED"},
	{"visit", `{"satisfaction":"SATISFIED","resolved":true}`, func(c pb.TicketServiceClient, ctx context.Context, id string) (*pb.Ticket, error) {
		return c.VisitTicket(ctx, &pb.VisitTicketRequest{Id: id, Satisfaction: pb.Satisfaction_SATISFIED, Resolved: true})
	}, "VISITED"},
	{"close", `{}`, func(c pb.TicketServiceClient, ctx context.Context, id string) (*pb.Ticket, error) {
		return c.CloseTicket(ctx, &pb.CloseTicketRequest{Id: id})
	}, "CLOSED"},
}

// TestLifecycleRESTAndGRPCAgree walks one ticket through the whole lifecycle over
// REST and another over gRPC, and checks that both end the same way with the
// same history.
func TestLifecycleRESTAndGRPCAgree(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	// 李娜 acts over both transports: the history names the principal of her
	// token, whatever X-Actor header or x-actor metadata says.
	lina := s.principal(t, "u-lina")
	asLina := []string{"Authorization", testauth.Header(lina), "X-Actor", url.PathEscape("operator:李娜")}
	_, viaREST := s.call(t, "POST", "/v1/tickets", createBody, asLina...)
	restID := str(viaREST, "trackingNumber") // REST takes tracking numbers too
	for _, st := range walk {
		code, reply := s.call(t, "POST", "/v1/tickets/"+restID+":"+st.verb, st.body, asLina...)
		if code != 200 || str(reply, "state") != st.state {
			t.Fatalf("REST %s: %d %v, want %s", st.verb, code, reply, st.state)
		}
	}
	var nt pb.NewTicket
	protojsonUnmarshal(createBody, &nt)
	linaRPC := s.dial(t, lina)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-actor", url.PathEscape("operator:李娜"))
	created, err := linaRPC.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &nt})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range walk {
		got, err := st.grpc(linaRPC, ctx, created.GetId())
		if err != nil || got.GetState().String() != st.state {
			t.Fatalf("gRPC %s: %v %v, want %s", st.verb, got.GetState(), err, st.state)
		}
	}
	restEvents, err := s.grpc.ListTicketEvents(ctx, &pb.ListTicketEventsRequest{Id: str(viaREST, "id")})
	if err != nil {
		t.Fatal(err)
	}
	grpcEvents, err := s.grpc.ListTicketEvents(ctx, &pb.ListTicketEventsRequest{Id: created.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if len(restEvents.GetEvents()) != len(walk)+1 || len(grpcEvents.GetEvents()) != len(walk)+1 {
		t.Fatalf("events: REST %d, gRPC %d, want %d", len(restEvents.GetEvents()), len(grpcEvents.GetEvents()), len(walk)+1)
	}
	for i := range restEvents.GetEvents() {
		a, b := restEvents.GetEvents()[i], grpcEvents.GetEvents()[i]
		if a.GetAction() != b.GetAction() || a.GetToState() != b.GetToState() || a.GetActor() != "u-lina" || b.GetActor() != "u-lina" || a.GetReason() != b.GetReason() {
			t.Errorf("event %d differs: REST %v, gRPC %v", i, a, b)
		}
	}
	code, evs := s.call(t, "GET", "/v1/tickets/"+restID+"/events", "")
	if code != 200 || len(evs["events"].([]any)) != len(walk)+1 {
		t.Fatalf("REST events: %d %v", code, evs)
	}
	// A closed ticket refuses further actions, naming its state.
	code, reply := s.call(t, "POST", "/v1/tickets/"+restID+":sign", "{}")
	if code != http.StatusBadRequest || str(reply, "error", "status") != "FAILED_PRECONDITION" || !strings.Contains(str(reply, "error", "message"), "CLOSED") {
		t.Fatalf("sign closed ticket: %d %v", code, reply)
	}
}

func TestDisallowedActionNamesStateAndAllowed(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	_, tk := s.call(t, "POST", "/v1/tickets", createBody)
	code, reply := s.call(t, "POST", "/v1/tickets/"+str(tk, "id")+":reply", `{"reply":"已处理"}`)
	msg := str(reply, "error", "message")
	if code != http.StatusBadRequest || !strings.Contains(msg, "RECEIVED") || !strings.Contains(msg, "dispatch") || !strings.Contains(msg, "answer") {
		t.Fatalf("reply to a received ticket: %d %v", code, reply)
	}
	_, after := s.call(t, "GET", "/v1/tickets/"+str(tk, "id"), "")
	if str(after, "state") != "RECEIVED" || str(after, "version") != "1" {
		t.Fatalf("a refused action changed the ticket: %v", after)
	}
	// Dispatch to a unit the registry does not know names the field.
	code, reply = s.call(t, "POST", "/v1/tickets/"+str(tk, "id")+":dispatch", `{"handlingUnit":"no-such-unit"}`)
	if code != 400 || strings.Join(fields(reply), ",") != "handlingUnit" {
		t.Fatalf("dispatch to unknown unit: %d %v", code, reply)
	}
}

func TestDeadlinesAndOverdueList(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	_, normal := s.call(t, "POST", "/v1/tickets", createBody)
	critical := strings.Replace(createBody, `"dialedNumber"`, `"urgency":"CRITICAL","dialedNumber"`, 1)
	_, crit := s.call(t, "POST", "/v1/tickets", critical)
	for _, tk := range []map[string]any{normal, crit} {
		if code, r := s.call(t, "POST", "/v1/tickets/"+str(tk, "id")+":dispatch", `{"handlingUnit":"gz-tianhe"}`); code != 200 {
			t.Fatalf("dispatch: %d %v", code, r)
		}
	}
	_, n := s.call(t, "GET", "/v1/tickets/"+str(normal, "id"), "")
	_, c := s.call(t, "GET", "/v1/tickets/"+str(crit, "id"), "")
	// Dispatched Friday 10:00 CST: sign within 1 working day → Monday 10:00;
	// reply within 5 working days → next Friday 10:00; critical: 15 minutes.
	if got := str(n, "signBy"); got != "2026-11-30T02:00:00Z" {
		t.Errorf("normal signBy = %s, want Monday 10:00 CST", got)
	}
	if got := str(n, "replyBy"); got != "2026-12-04T02:00:00Z" {
		t.Errorf("normal replyBy = %s, want next Friday 10:00 CST", got)
	}
	if got := str(c, "signBy"); got != "2026-11-27T02:15:00Z" {
		t.Errorf("critical signBy = %s, want 15 minutes after dispatch", got)
	}
	s.clock.Advance(20 * time.Minute)
	_, over := s.call(t, "GET", "/v1/tickets?overdue=true", "")
	list, _ := over["tickets"].([]any)
	if len(list) != 1 || str(list[0].(map[string]any), "id") != str(crit, "id") || list[0].(map[string]any)["overdue"] != true {
		t.Fatalf("overdue list after 20 minutes = %v, want the critical ticket", over)
	}
}

func TestListFiltersAndPagination(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	var ids []string
	for i := range 7 {
		body := createBody
		if i%2 == 1 {
			body = strings.Replace(body, `"12345"`, `"12315"`, 1)
		}
		_, tk := s.call(t, "POST", "/v1/tickets", body)
		ids = append(ids, str(tk, "id"))
		s.clock.Advance(time.Minute)
	}
	var seen []string
	token := ""
	for range 10 {
		_, page := s.call(t, "GET", "/v1/tickets?pageSize=3&dialedNumber=12315&pageToken="+token, "")
		for _, x := range page["tickets"].([]any) {
			seen = append(seen, str(x.(map[string]any), "id"))
		}
		if token = str(page, "nextPageToken"); token == "" {
			break
		}
	}
	want := []string{ids[5], ids[3], ids[1]}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("paged 12315 list = %v, want %v", seen, want)
	}
	created := time.Date(2026, 11, 27, 2, 2, 0, 0, time.UTC).Format(time.RFC3339)
	_, ranged := s.call(t, "GET", "/v1/tickets?createdAfter="+created+"&state=RECEIVED", "")
	if got := len(ranged["tickets"].([]any)); got != 5 {
		t.Fatalf("created after 10:02: %d tickets, want 5", got)
	}
	if code, r := s.call(t, "GET", "/v1/tickets?pageToken=garbage", ""); code != 400 || strings.Join(fields(r), ",") != "pageToken" {
		t.Fatalf("bad page token: %d %v", code, r)
	}
	if code, r := s.call(t, "GET", "/v1/tickets?pageSize=100000", ""); code != 400 || strings.Join(fields(r), ",") != "pageSize" {
		t.Fatalf("huge page: %d %v", code, r)
	}
	if code, r := s.call(t, "GET", "/v1/tickets?state=NOPE", ""); code != 400 {
		t.Fatalf("bad state: %d %v", code, r)
	}
}

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.call(t, "POST", "/v1/tickets", createBody)
	for path, want := range map[string]string{
		"/openapi.json": `"/v1/tickets/{id}:dispatch"`,
		"/healthz":      `"ok"`,
		"/readyz":       `"ready"`,
		"/metrics":      `switchboard_tickets{state="RECEIVED"} 1`,
	} {
		resp, err := http.Get(s.rest + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte(want)) {
			t.Errorf("GET %s: %d, body lacks %s", path, resp.StatusCode, want)
		}
	}
	// The OpenAPI document says every call carries a bearer token.
	var doc struct {
		SecurityDefinitions map[string]struct{ Type, Name, In string }
		Security            []map[string][]string
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if b := doc.SecurityDefinitions["bearer"]; b.Type != "apiKey" || b.Name != "Authorization" || b.In != "header" || len(doc.Security) != 1 {
		t.Errorf("OpenAPI security: %+v %v", doc.SecurityDefinitions, doc.Security)
	}
	resp, err := healthpb.NewHealthClient(s.conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("gRPC health: %v %v", resp, err)
	}
}

// TestLegacyNumbersRoute: a request dialed on a legacy hotline is tagged with
// it and routed to its handling unit unless the operator names another; a
// retired number is refused with a clear message; an emergency linkage number
// is flagged for immediate hand-off.
func TestLegacyNumbersRoute(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	on := func(number string) string {
		return strings.Replace(createBody, `"dialedNumber":"12345"`, `"dialedNumber":"`+number+`"`, 1)
	}

	code, tk := s.call(t, "POST", "/v1/tickets", on("12315"))
	if code != 200 || !strings.HasPrefix(str(tk, "hotline"), "12315 ") || str(tk, "suggestedUnit") == "" {
		t.Fatalf("12315: %d %v", code, tk)
	}
	code, d := s.call(t, "POST", "/v1/tickets/"+str(tk, "id")+":dispatch", `{}`)
	if code != 200 || str(d, "handlingUnit") != str(tk, "suggestedUnit") {
		t.Fatalf("dispatch to the suggested unit: %d %v", code, d)
	}
	_, tk2 := s.call(t, "POST", "/v1/tickets", on("12315"))
	code, d = s.call(t, "POST", "/v1/tickets/"+str(tk2, "id")+":dispatch", `{"handlingUnit":"gz-tianhe"}`)
	if code != 200 || str(d, "handlingUnit") != "gz-tianhe" {
		t.Fatalf("operator override: %d %v", code, d)
	}

	code, r := s.call(t, "POST", "/v1/tickets", on("12358"))
	if code != http.StatusBadRequest || str(r, "error", "status") != "FAILED_PRECONDITION" || !strings.Contains(str(r, "error", "message"), "12345") {
		t.Fatalf("retired 12358: %d %v", code, r)
	}

	code, e := s.call(t, "POST", "/v1/tickets", on("110"))
	if code != 200 || e["emergency"] != true || str(e, "urgency") != "CRITICAL" {
		t.Fatalf("110: %d %v", code, e)
	}

	code, plain := s.call(t, "POST", "/v1/tickets", on("02087654321"))
	if code != 200 || str(plain, "hotline") != "" || str(plain, "suggestedUnit") != "" {
		t.Fatalf("an ordinary number: %d %v", code, plain)
	}
	code, none := s.call(t, "POST", "/v1/tickets/"+str(plain, "id")+":dispatch", `{}`)
	if code != 400 || strings.Join(fields(none), ",") != "handlingUnit" {
		t.Fatalf("dispatch with nothing suggested: %d %v", code, none)
	}
}
