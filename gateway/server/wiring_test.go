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
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/gateway/authz"
	"github.com/switchboard12345/switchboard/gateway/deadline"
	"github.com/switchboard12345/switchboard/gateway/guard"
	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/server"
	"github.com/switchboard12345/switchboard/gateway/service"
	"github.com/switchboard12345/switchboard/internal/testauth"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

// services are the API's services, as registered by the server.
var services = []*grpc.ServiceDesc{&pb.TicketService_ServiceDesc, &pb.RegistryService_ServiceDesc, &pb.DispatchService_ServiceDesc, &pb.AuthService_ServiceDesc,
	&pb.TaxonomyService_ServiceDesc, &pb.KnowledgeService_ServiceDesc}

// wired is one complete server (every service, the example province and
// policy, the demo principals) with a deterministic clock and id source, so
// two of them given the same calls answer the same.
type wired struct {
	rest   string
	conn   *grpc.ClientConn
	tokens map[string]string
}

func newWired(t *testing.T) *wired {
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
	if _, err := st.Registry().Import(ctx, province, "test"); err != nil {
		t.Fatal(err)
	}
	snap := registry.NewSnapshot(province, 1)
	routes := func() *registry.Snapshot { return snap }
	policy, err := deadline.NewPolicy(deadline.DefaultPolicyConfig(), deadline.DefaultCalendar())
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	var mu sync.Mutex
	n := 0
	newID := func(at time.Time) string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("01WIRING%012d", n)
	}
	ta := testauth.New(t, st, st, routes)
	rules, err := authz.ParseCSV(examples.Policy)
	if err != nil {
		t.Fatal(err)
	}
	ta.Change(t, store.PolicyChange{Add: rules})
	w := &wired{tokens: map[string]string{"tester": ta.Token, "nobody": "sbt_not-a-token", "anonymous": ""}}
	for _, p := range []struct{ role, id, unit string }{
		{"operator", "demo-operator", "gd-12345"}, {"street", "demo-street", "fs-chancheng-zumiao"}, {"district", "demo-district", "fs-chancheng"},
		{"department", "demo-department", "gd-samr"}, {"expert", "demo-expert", "gd-12333-experts"}, {"leader", "demo-leader", "gz"}, {"admin", "demo-admin", "gd"},
	} {
		w.tokens[p.role] = ta.Principal(t, p.id, p.unit)
	}
	svc := service.New(service.Config{Store: st, Machine: lifecycle.New(policy), Routes: routes, Now: clk.Now, NewID: newID})
	srv, err := server.New(server.Options{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Store: st, Tickets: svc, ShutdownGrace: 5 * time.Second,
		RegistryAPI: service.NewRegistry(service.RegistryConfig{Source: st.Registry(), Routes: routes, Store: st, Now: clk.Now}),
		DispatchAPI: service.NewDispatch(service.DispatchConfig{Outbox: st, Inbox: st, Routes: routes, Now: clk.Now}),
		AuthAPI:     service.NewAccess(service.AccessConfig{Authz: ta.Authz, Store: st, Tickets: st, Units: routes, Now: clk.Now, NewID: newID}),
		TaxonomyAPI: service.NewTaxonomy(service.TaxonomyConfig{Store: st, Audit: st, Now: clk.Now}),
		KnowledgeAPI: service.NewKnowledge(service.KnowledgeConfig{Store: st, Audit: st, Now: clk.Now, NewID: newID,
			Taxonomy: service.NewTaxonomy(service.TaxonomyConfig{Store: st, Now: clk.Now})}),
		Guard: ta.Guard.Unary,
	})
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
	w.rest = "http://" + httpAddr
	if w.conn, err = grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.conn.Close()
		stop()
		<-done
		st.Close()
	})
	return w
}

// outcome is what a call answered: the HTTP status (a gRPC code mapped as
// grpc-gateway maps it) and the body as JSON.
type outcome struct {
	code int
	body any
}

func (w *wired) grpcCall(t *testing.T, method string, req proto.Message, token string) outcome {
	t.Helper()
	out := newResponse(t, method)
	ctx := context.Background()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	err := w.conn.Invoke(ctx, method, req, out)
	if err != nil {
		st := status.Convert(err)
		return outcome{code: httpStatus(st.Code()), body: st.Message()}
	}
	b, _ := protojson.Marshal(out)
	var v any
	json.Unmarshal(b, &v)
	return outcome{code: 200, body: v}
}

func (w *wired) restCall(t *testing.T, method string, req proto.Message, token string) outcome {
	t.Helper()
	rule := httpRule(t, method)
	verb, pattern := "GET", rule.GetGet()
	if rule.GetPost() != "" {
		verb, pattern = "POST", rule.GetPost()
	}
	m := req.ProtoReflect()
	used := map[string]bool{}
	path := regexp.MustCompile(`\{([a-z_]+)\}`).ReplaceAllStringFunc(pattern, func(p string) string {
		name := strings.Trim(p, "{}")
		used[name] = true
		return url.PathEscape(m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(name))).String())
	})
	var body io.Reader
	switch rule.GetBody() {
	case "":
		q := url.Values{}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			if !used[string(fd.Name())] && !fd.IsList() && fd.Message() == nil {
				q.Set(fd.JSONName(), v.String())
			}
			return true
		})
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
	case "*":
		b, _ := protojson.Marshal(req)
		body = bytes.NewReader(b)
	default:
		f := m.Descriptor().Fields().ByName(protoreflect.Name(rule.GetBody()))
		b, _ := protojson.Marshal(m.Get(f).Message().Interface())
		body = bytes.NewReader(b)
	}
	r, err := http.NewRequest(verb, w.rest+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s %s: not JSON: %q", verb, path, raw)
	}
	if resp.StatusCode != 200 {
		msg, _ := v.(map[string]any)["error"].(map[string]any)["message"].(string)
		return outcome{code: resp.StatusCode, body: msg}
	}
	return outcome{code: 200, body: v}
}

func httpRule(t *testing.T, method string) *annotations.HttpRule {
	t.Helper()
	md := methodDesc(t, method)
	rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
	if rule == nil {
		t.Fatalf("%s has no HTTP route", method)
	}
	return rule
}

func methodDesc(t *testing.T, method string) protoreflect.MethodDescriptor {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(method, "/"), "/")
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(parts[0]))
	if err != nil {
		t.Fatal(err)
	}
	return d.(protoreflect.ServiceDescriptor).Methods().ByName(protoreflect.Name(parts[1]))
}

func newResponse(t *testing.T, method string) proto.Message {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(methodDesc(t, method).Output().FullName())
	if err != nil {
		t.Fatal(err)
	}
	return mt.New().Interface()
}

// TestEveryMethodHasAnAccessRule: the guard refuses a method without a rule,
// and this keeps that from reaching production.
func TestEveryMethodHasAnAccessRule(t *testing.T) {
	for _, sd := range services {
		for _, m := range sd.Methods {
			name := "/" + sd.ServiceName + "/" + m.MethodName
			if !guard.HasRule(name) {
				t.Errorf("%s has no access rule in gateway/guard", name)
			}
		}
	}
}

// TestRESTAndGRPCEnforceIdentically calls every method of every service, as
// each demo principal and as callers without a valid token, once through
// gRPC on one server and once through REST on an identical second server,
// in the same order, and requires the same outcome: the same status and, on
// success, the same answer. It also checks that the outcomes are what the
// example policy says for a few of them.
func TestRESTAndGRPCEnforceIdentically(t *testing.T) {
	g, r := newWired(t), newWired(t)
	// The same tickets in both, filed by the operator: one for a street, one
	// for a city's market regulator, one co-handled by an expert group.
	var ids [3]string
	for i, nt := range []*pb.NewTicket{
		{Channel: pb.Channel_PHONE, Caller: &pb.Caller{Name: "张三", Phone: "13800138000"}, Title: "医院围墙开裂", Content: "祖庙街道某医院旁围墙开裂并向外倾斜，危及行人。", RequestType: pb.RequestType_COMPLAINT, Category: "040203", DialedNumber: "12345"},
		{Channel: pb.Channel_WEB, Caller: &pb.Caller{Name: "李女士", Phone: "13912345678", IdNumber: "11010519491231002X"}, Title: "预付卡退款", Content: "西饼店倒闭，预付卡余额无法退款。", RequestType: pb.RequestType_COMPLAINT, Category: "110408", Location: &pb.Location{RegionCode: "440106"}, DialedNumber: "12345"},
		{Channel: pb.Channel_APP, Caller: &pb.Caller{Name: "王先生", Phone: "13700002222"}, Title: "生育保险报销", Content: "配偶未参保，生育医疗费用能否报销？", RequestType: pb.RequestType_CONSULTATION, Category: "150203", DialedNumber: "12345"},
	} {
		req := &pb.CreateTicketRequest{Ticket: nt}
		a := g.grpcCall(t, pb.TicketService_CreateTicket_FullMethodName, req, g.tokens["operator"])
		b := r.restCall(t, pb.TicketService_CreateTicket_FullMethodName, req, r.tokens["operator"])
		if a.code != 200 || !reflect.DeepEqual(a, b) {
			t.Fatalf("creating ticket %d: gRPC %+v, REST %+v", i, a, b)
		}
		ids[i] = a.body.(map[string]any)["id"].(string)
	}
	dispatches := []*pb.DispatchTicketRequest{
		{Id: ids[0], HandlingUnit: "fs-chancheng-zumiao"},
		{Id: ids[1], HandlingUnit: "gz-samr"},
		{Id: ids[2], HandlingUnit: "gd-hrss", CoHandlingUnits: []string{"gd-12333-experts"}},
	}
	for _, d := range dispatches {
		a := g.grpcCall(t, pb.TicketService_DispatchTicket_FullMethodName, d, g.tokens["operator"])
		b := r.restCall(t, pb.TicketService_DispatchTicket_FullMethodName, d, r.tokens["operator"])
		if a.code != 200 || !reflect.DeepEqual(a, b) {
			t.Fatalf("dispatch: gRPC %+v, REST %+v", a, b)
		}
	}

	// One sample request per method; every method of every service must
	// have one.
	street, samr, expert := ids[0], ids[1], ids[2]
	samples := map[string][]proto.Message{
		pb.TicketService_CreateTicket_FullMethodName:     {&pb.CreateTicketRequest{Ticket: &pb.NewTicket{Channel: pb.Channel_PHONE, Title: "路灯不亮", Content: "小区门口路灯坏了一周。", RequestType: pb.RequestType_HELP}}},
		pb.TicketService_AssistIntake_FullMethodName:     {&pb.AssistIntakeRequest{Ticket: &pb.NewTicket{Channel: pb.Channel_PHONE, Caller: &pb.Caller{Phone: "13800138000"}, Title: "路灯不亮", Content: "小区门口路灯坏了一周，联系电话13912345678。", RequestType: pb.RequestType_HELP}}},
		pb.TicketService_GetTicket_FullMethodName:        {&pb.GetTicketRequest{Id: street}, &pb.GetTicketRequest{Id: samr}, &pb.GetTicketRequest{Id: expert}, &pb.GetTicketRequest{Id: "no-such-ticket"}},
		pb.TicketService_ListTickets_FullMethodName:      {&pb.ListTicketsRequest{PageSize: 10}},
		pb.TicketService_GetTicketStats_FullMethodName:   {&pb.GetTicketStatsRequest{}},
		pb.TicketService_ListTicketEvents_FullMethodName: {&pb.ListTicketEventsRequest{Id: samr}},
		pb.TicketService_DispatchTicket_FullMethodName:   {&pb.DispatchTicketRequest{Id: street, HandlingUnit: "fs-chancheng-zumiao"}},
		pb.TicketService_AnswerTicket_FullMethodName:     {&pb.AnswerTicketRequest{Id: samr, Answer: "已答复"}},
		pb.TicketService_ReclassifyTicket_FullMethodName: {&pb.ReclassifyTicketRequest{Id: samr, Category: "110409"}},
		pb.TicketService_SignTicket_FullMethodName:       {&pb.SignTicketRequest{Id: street}, &pb.SignTicketRequest{Id: expert}},
		pb.TicketService_ReturnTicket_FullMethodName:     {&pb.ReturnTicketRequest{Id: samr, Reason: "不属于本单位职责"}},
		pb.TicketService_RequestExtension_FullMethodName: {&pb.RequestExtensionRequest{Id: street, Days: 3, Reason: "需现场核查"}},
		pb.TicketService_DecideExtension_FullMethodName:  {&pb.DecideExtensionRequest{Id: street, Approve: true, Days: 3}},
		pb.TicketService_SuperviseTicket_FullMethodName:  {&pb.SuperviseTicketRequest{Id: street, Reason: "督办"}},
		pb.TicketService_ReplyTicket_FullMethodName:      {&pb.ReplyTicketRequest{Id: street, Reply: "已整治"}},
		pb.TicketService_VisitTicket_FullMethodName:      {&pb.VisitTicketRequest{Id: street, Satisfaction: pb.Satisfaction_SATISFIED}},
		pb.TicketService_ReopenTicket_FullMethodName:     {&pb.ReopenTicketRequest{Id: street, Reason: "仍有噪音"}},
		pb.TicketService_CloseTicket_FullMethodName:      {&pb.CloseTicketRequest{Id: samr, Reason: "重复工单"}},

		pb.RegistryService_ListHotlines_FullMethodName:       {&pb.ListHotlinesRequest{}},
		pb.RegistryService_GetHotline_FullMethodName:         {&pb.GetHotlineRequest{Number: "12315"}},
		pb.RegistryService_ListHotlineHistory_FullMethodName: {&pb.ListHotlineHistoryRequest{Number: "12315"}},
		pb.RegistryService_ListUnits_FullMethodName:          {&pb.ListUnitsRequest{}},
		pb.RegistryService_GetMigrationReport_FullMethodName: {&pb.GetMigrationReportRequest{}},
		pb.RegistryService_ListBackends_FullMethodName:       {&pb.ListBackendsRequest{}},
		pb.RegistryService_SetHotlineStatus_FullMethodName:   {&pb.SetHotlineStatusRequest{Number: "12315", Reason: "测试"}},
		pb.RegistryService_ImportRegistry_FullMethodName:     {&pb.ImportRegistryRequest{}},
		pb.RegistryService_ExportRegistry_FullMethodName:     {&pb.ExportRegistryRequest{}},

		pb.DispatchService_ListInbox_FullMethodName:         {&pb.ListInboxRequest{Unit: "fs-chancheng-zumiao"}, &pb.ListInboxRequest{Unit: "gz-tianhe-tiyuxi"}},
		pb.DispatchService_ClaimInbox_FullMethodName:        {&pb.ClaimInboxRequest{Unit: "fs-chancheng-zumiao", Limit: 1}},
		pb.DispatchService_AckInbox_FullMethodName:          {&pb.AckInboxRequest{Unit: "fs-chancheng-zumiao", Key: "none"}},
		pb.DispatchService_GetDispatchStatus_FullMethodName: {&pb.GetDispatchStatusRequest{}},
		pb.DispatchService_ListDeadLetters_FullMethodName:   {&pb.ListDeadLettersRequest{}},
		pb.DispatchService_Redrive_FullMethodName:           {&pb.RedriveRequest{Backend: "gz-samr-rest"}},

		pb.AuthService_WhoAmI_FullMethodName:          {&pb.WhoAmIRequest{}},
		pb.AuthService_CreatePrincipal_FullMethodName: {&pb.CreatePrincipalRequest{Principal: &pb.Principal{Id: "u-lina", Name: "李娜", Unit: "fs-chancheng"}}},
		pb.AuthService_ListPrincipals_FullMethodName:  {&pb.ListPrincipalsRequest{}},
		pb.AuthService_UpdatePrincipal_FullMethodName: {&pb.UpdatePrincipalRequest{Id: "u-lina", Name: proto.String("李娜（石湾）")}},
		pb.AuthService_GrantRole_FullMethodName:       {&pb.GrantRoleRequest{Principal: "u-lina", Role: "unit_staff", Unit: "fs-chancheng"}},
		pb.AuthService_RevokeRole_FullMethodName:      {&pb.RevokeRoleRequest{Principal: "u-lina", Role: "unit_staff", Unit: "fs-chancheng"}},
		pb.AuthService_GetPolicy_FullMethodName:       {&pb.GetPolicyRequest{}},
		pb.AuthService_ChangePolicy_FullMethodName:    {&pb.ChangePolicyRequest{Add: []*pb.Rule{{Ptype: "g2", Values: []string{"gd-hrss", "1501"}}}}},
		pb.AuthService_ImportPolicy_FullMethodName:    {&pb.ImportPolicyRequest{Csv: "g2, gd-samr, 1106\n"}},
		pb.AuthService_ExportPolicy_FullMethodName:    {&pb.ExportPolicyRequest{}},
		pb.AuthService_WhoCanSee_FullMethodName:       {&pb.WhoCanSeeRequest{Ticket: samr}},
		pb.AuthService_ExplainAccess_FullMethodName:   {&pb.ExplainAccessRequest{Principal: "demo-district", Unit: "fs-chancheng-zumiao"}},
		pb.AuthService_CreateToken_FullMethodName:     {&pb.CreateTokenRequest{Principal: "demo-leader", Description: "wiring", Ttl: durationpb.New(time.Hour)}},
		pb.AuthService_ListTokens_FullMethodName:      {&pb.ListTokensRequest{Principal: "demo-leader"}},
		pb.AuthService_RevokeToken_FullMethodName:     {&pb.RevokeTokenRequest{Id: "no-such-token"}},
		pb.AuthService_ListAudit_FullMethodName:       {&pb.ListAuditRequest{PageSize: 5}},

		pb.TaxonomyService_ImportTaxonomy_FullMethodName:       {&pb.ImportTaxonomyRequest{Content: "code,level,name,parent\n01,1,城乡建设,\n0102,2,城市建设和市政管理,01\n010213,3,燃气供应,0102\n", Source: "wiring.csv"}},
		pb.TaxonomyService_ListTaxonomyVersions_FullMethodName: {&pb.ListTaxonomyVersionsRequest{}},
		pb.TaxonomyService_ListCategories_FullMethodName:       {&pb.ListCategoriesRequest{}, &pb.ListCategoriesRequest{Parent: "0102"}},
		pb.TaxonomyService_GetCategory_FullMethodName:          {&pb.GetCategoryRequest{Code: "010213"}},
		pb.TaxonomyService_SearchCategories_FullMethodName:     {&pb.SearchCategoriesRequest{Query: "燃气"}},

		pb.KnowledgeService_CreateEntry_FullMethodName:   {&pb.CreateEntryRequest{Entry: &pb.KnowledgeEntry{Id: "kb-wiring-gas", Title: "燃气泄漏报修", Answer: "请立即关闭阀门、打开门窗，到室外拨打燃气公司抢修电话。", Category: "010213", Keywords: []string{"燃气"}}}},
		pb.KnowledgeService_GetEntry_FullMethodName:      {&pb.GetEntryRequest{Id: "kb-wiring-gas"}, &pb.GetEntryRequest{Id: "no-such-entry"}},
		pb.KnowledgeService_UpdateEntry_FullMethodName:   {&pb.UpdateEntryRequest{Id: "kb-wiring-gas", Entry: &pb.KnowledgeEntry{Title: "燃气泄漏怎么办", Answer: "关阀门、开门窗、到室外报修。", Category: "010213"}}},
		pb.KnowledgeService_DeleteEntry_FullMethodName:   {&pb.DeleteEntryRequest{Id: "no-such-entry"}},
		pb.KnowledgeService_ListEntries_FullMethodName:   {&pb.ListEntriesRequest{PageSize: 10}},
		pb.KnowledgeService_SearchEntries_FullMethodName: {&pb.SearchEntriesRequest{Text: "家里燃气泄漏了怎么办"}},
		pb.KnowledgeService_ImportEntries_FullMethodName: {&pb.ImportEntriesRequest{Content: "entries:\n  - {id: kb-noise, title: 夜间施工噪音, answer: 夜间施工须取得证明并公告。}\n"}},
	}
	for _, sd := range services {
		for _, m := range sd.Methods {
			if _, ok := samples["/"+sd.ServiceName+"/"+m.MethodName]; !ok {
				t.Errorf("no sample request for /%s/%s: add one so the wiring test covers it", sd.ServiceName, m.MethodName)
			}
		}
	}
	callers := []string{"anonymous", "nobody", "leader", "expert", "department", "district", "street", "admin", "operator"}
	outcomes := map[string]map[string][]int{} // caller → method → codes
	calls := 0
	for _, who := range callers {
		outcomes[who] = map[string][]int{}
		for _, sd := range services {
			for _, m := range sd.Methods {
				method := "/" + sd.ServiceName + "/" + m.MethodName
				for _, req := range samples[method] {
					a := g.grpcCall(t, method, req, g.tokens[who])
					b := r.restCall(t, method, req, r.tokens[who])
					calls += 2
					if a.code != b.code || (a.code == 200 && !reflect.DeepEqual(scrub(a.body), scrub(b.body))) {
						t.Errorf("%s as %s: gRPC %d %v\nREST %d %v", method, who, a.code, a.body, b.code, b.body)
					}
					outcomes[who][method] = append(outcomes[who][method], a.code)
				}
			}
		}
	}
	t.Logf("%d calls, %d methods, %d callers: REST and gRPC agree", calls, len(samples), len(callers))

	// What the example policy says.
	expect := []struct {
		who, method string
		i, code     int
	}{
		{"anonymous", pb.TicketService_GetTicket_FullMethodName, 0, 401},
		{"nobody", pb.RegistryService_ListUnits_FullMethodName, 0, 401},
		{"street", pb.TicketService_GetTicket_FullMethodName, 0, 200},
		{"street", pb.TicketService_GetTicket_FullMethodName, 1, 404}, // not its ticket: NotFound, not PermissionDenied
		{"street", pb.TicketService_GetTicket_FullMethodName, 3, 404},
		{"district", pb.TicketService_GetTicket_FullMethodName, 0, 200},
		{"department", pb.TicketService_GetTicket_FullMethodName, 1, 200}, // its category across regions
		{"department", pb.TicketService_GetTicket_FullMethodName, 0, 404},
		{"expert", pb.TicketService_GetTicket_FullMethodName, 2, 200},
		{"expert", pb.TicketService_GetTicket_FullMethodName, 0, 404},
		{"leader", pb.TicketService_GetTicket_FullMethodName, 0, 404},
		{"leader", pb.TicketService_GetTicketStats_FullMethodName, 0, 200},
		{"district", pb.TicketService_SignTicket_FullMethodName, 0, 403}, // sees it, may not sign for the street
		{"admin", pb.TicketService_GetTicket_FullMethodName, 0, 404},
		{"admin", pb.AuthService_ListPrincipals_FullMethodName, 0, 200},
		{"operator", pb.AuthService_ListPrincipals_FullMethodName, 0, 403},
		{"street", pb.RegistryService_ListUnits_FullMethodName, 0, 200},
		{"street", pb.RegistryService_ListBackends_FullMethodName, 0, 403},
		{"street", pb.DispatchService_ListInbox_FullMethodName, 0, 200},
		{"street", pb.DispatchService_ListInbox_FullMethodName, 1, 403},
	}
	for _, e := range expect {
		if got := outcomes[e.who][e.method]; len(got) <= e.i || got[e.i] != e.code {
			t.Errorf("%s as %s (sample %d): %v, want %d", e.method, e.who, e.i, got, e.code)
		}
	}
}

// scrub drops what legitimately differs between two servers: nothing yet
// but the secret of a new token.
func scrub(v any) any {
	if m, ok := v.(map[string]any); ok {
		c := map[string]any{}
		for k, x := range m {
			if k == "secret" {
				continue
			}
			c[k] = scrub(x)
		}
		return c
	}
	return v
}

func httpStatus(c codes.Code) int { return runtime.HTTPStatusFromCode(c) }

// TestPersonalDataMaskedAndAudited: the street office handling a ticket sees
// the caller's phone and ID number, and the read is audited; the district
// above it, the department granted the category and the leader's aggregate
// see no personal data; a list masks per ticket.
func TestPersonalDataMaskedAndAudited(t *testing.T) {
	w := newWired(t)
	create := &pb.CreateTicketRequest{Ticket: &pb.NewTicket{Channel: pb.Channel_PHONE, Caller: &pb.Caller{Name: "张三", Phone: "13800138000", IdNumber: "11010519491231002X"},
		Title: "医院围墙开裂", Content: "祖庙街道某医院旁围墙开裂并向外倾斜。", RequestType: pb.RequestType_HELP, DialedNumber: "12345"}}
	tk := w.grpcCall(t, pb.TicketService_CreateTicket_FullMethodName, create, w.tokens["operator"])
	if tk.code != 200 {
		t.Fatalf("create: %+v", tk)
	}
	id := tk.body.(map[string]any)["id"].(string)
	if d := w.grpcCall(t, pb.TicketService_DispatchTicket_FullMethodName, &pb.DispatchTicketRequest{Id: id, HandlingUnit: "fs-chancheng-zumiao"}, w.tokens["operator"]); d.code != 200 {
		t.Fatalf("dispatch: %+v", d)
	}
	caller := func(o outcome) map[string]any {
		t.Helper()
		if o.code != 200 {
			t.Fatalf("%+v", o)
		}
		return o.body.(map[string]any)["caller"].(map[string]any)
	}
	for _, c := range []struct {
		who, phone, idNumber string
	}{
		{"street", "13800138000", "11010519491231002X"},
		{"operator", "13800138000", "11010519491231002X"},
		{"district", "138****8000", "110105********002X"},
	} {
		for _, o := range []outcome{
			w.grpcCall(t, pb.TicketService_GetTicket_FullMethodName, &pb.GetTicketRequest{Id: id}, w.tokens[c.who]),
			w.restCall(t, pb.TicketService_GetTicket_FullMethodName, &pb.GetTicketRequest{Id: id}, w.tokens[c.who]),
		} {
			got := caller(o)
			if got["phone"] != c.phone || got["idNumber"] != c.idNumber || got["name"] != "张三" {
				t.Errorf("%s sees caller %v, want phone %s id %s", c.who, got, c.phone, c.idNumber)
			}
		}
		list := w.restCall(t, pb.TicketService_ListTickets_FullMethodName, &pb.ListTicketsRequest{}, w.tokens[c.who])
		ts := list.body.(map[string]any)["tickets"].([]any)
		if len(ts) != 1 || ts[0].(map[string]any)["caller"].(map[string]any)["phone"] != c.phone {
			t.Errorf("%s lists %v", c.who, ts)
		}
	}
	// A ticket one may not see reads exactly as one that does not exist.
	for _, call := range []func(string, proto.Message, string) outcome{
		func(m string, r proto.Message, tok string) outcome { return w.grpcCall(t, m, r, tok) },
		func(m string, r proto.Message, tok string) outcome { return w.restCall(t, m, r, tok) },
	} {
		hidden := call(pb.TicketService_GetTicket_FullMethodName, &pb.GetTicketRequest{Id: id}, w.tokens["department"])
		missing := call(pb.TicketService_GetTicket_FullMethodName, &pb.GetTicketRequest{Id: "01NOSUCHTICKET"}, w.tokens["department"])
		if hidden.code != 404 || !reflect.DeepEqual(hidden, missing) {
			t.Errorf("hidden ticket %+v, missing ticket %+v", hidden, missing)
		}
		act := call(pb.TicketService_SignTicket_FullMethodName, &pb.SignTicketRequest{Id: id}, w.tokens["department"])
		if act.code != 404 {
			t.Errorf("acting on a hidden ticket: %+v", act)
		}
	}
	audit := w.grpcCall(t, pb.AuthService_ListAudit_FullMethodName, &pb.ListAuditRequest{Action: "pii.read", PageSize: 100}, w.tokens["admin"])
	readers := map[string]int{}
	for _, e := range audit.body.(map[string]any)["entries"].([]any) {
		m := e.(map[string]any)
		if m["ticket"] == id {
			readers[m["actor"].(string)]++
			if f := m["fields"].([]any); len(f) != 2 || f[0] != "caller.phone" || f[1] != "caller.idNumber" {
				t.Errorf("audit fields %v", f)
			}
		}
	}
	// The street: two gets and a list; the operator also read the ticket in
	// the answer to its dispatch (the answer to filing it echoes what it sent
	// and is not a read); the district nothing unmasked.
	if readers["demo-street"] != 3 || readers["demo-operator"] != 4 || readers["demo-district"] != 0 {
		t.Errorf("unmasked reads audited: %v", readers)
	}
}
