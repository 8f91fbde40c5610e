package service_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/gateway/deadline"
	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/service"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/internal/ids"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

// routeNow is the fixed clock of the routing tests: Friday 2026-11-27 10:00
// in China.
var routeNow = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

type routeFixture struct {
	svc   *service.Tickets
	store *sqlstore.Store
	snap  *registry.Snapshot
	ctx   context.Context // an operator's call
}

func newRouteFixture(t *testing.T, auto bool) *routeFixture {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "switchboard.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	snap := registry.NewSnapshot(p, 1)
	policy, err := deadline.NewPolicy(deadline.DefaultPolicyConfig(), deadline.DefaultCalendar())
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Config{
		Store: st, Machine: lifecycle.New(policy), Routes: registry.NewStatic(snap).Snapshot,
		Now: func() time.Time { return routeNow }, NewID: ids.NewSource().New, AutoDispatch: auto,
	})
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(service.MDActor, "operator:%E6%9D%8E%E5%A8%9C"))
	return &routeFixture{svc: svc, store: st, snap: snap, ctx: ctx}
}

// newTicket is a complaint dialed on number, of category in region.
func newTicket(number, category, region string) *pb.CreateTicketRequest {
	return &pb.CreateTicketRequest{Ticket: &pb.NewTicket{
		Channel: pb.Channel_PHONE, DialedNumber: number,
		Caller:   &pb.Caller{Name: "王芳", Phone: "13800138000"},
		Title:    "电饭煲质量问题",
		Content:  "新买的电饭煲内胆涂层脱落，商家拒绝退换。",
		Location: &pb.Location{Address: "广州市天河区体育西路1号", RegionCode: region},
		Category: category, RequestType: pb.RequestType_COMPLAINT,
	}}
}

// claimAll claims every claimable outbox message.
func (f *routeFixture) claimAll(t *testing.T) []store.Pending {
	t.Helper()
	later := routeNow.Add(24 * time.Hour)
	ps, err := f.store.Claim(context.Background(), store.Claim{Owner: "test", Now: later, Until: later.Add(time.Hour), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func (f *routeFixture) deliver(t *testing.T, ps []store.Pending) {
	t.Helper()
	for _, p := range ps {
		if err := f.store.Delivered(context.Background(), p.ID, "test", store.Delivered{At: routeNow.Add(25 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
}

func describe(ps []store.Pending) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = fmt.Sprintf("%s %s %s %s", p.Topic, p.Unit, p.Backend, p.Key[strings.IndexByte(p.Key, '/')+1:])
	}
	slices.Sort(out)
	return out
}

func TestIntakeSuggestion(t *testing.T) {
	t.Parallel()
	f := newRouteFixture(t, false)
	for _, tc := range []struct {
		name                     string
		number, category, region string
		unit, by                 string
	}{
		{"12315 with a market category in 天河: the rule beats the hotline", "12315", "110403", "440106", "gz-samr", "rule"},
		{"12315 without a category: the hotline", "12315", "", "440106", "gd-samr", "hotline"},
		{"12315 with a category no rule names: the hotline", "12315", "020401", "440106", "gd-samr", "hotline"},
		{"12345 with a market category in 南山", "12345", "110403", "440305", "sz-samr", "rule"},
		{"12345 with 劳动合同纠纷 in 天河", "12345", "150601", "440106", "gz-hrss", "rule"},
		{"12333 with 劳动合同纠纷 in 南山: the city rule", "12333", "150601", "440305", "sz-hrss", "rule"},
		{"12333 with 劳动合同纠纷 and no region: the province rule", "12333", "150601", "", "gd-hrss", "rule"},
		{"12345 without a category: nothing", "12345", "", "440106", "", ""},
		{"12345 with a category no rule names: nothing", "12345", "020401", "440106", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.svc.CreateTicket(f.ctx, newTicket(tc.number, tc.category, tc.region))
			if err != nil {
				t.Fatal(err)
			}
			if got.GetSuggestedUnit() != tc.unit || got.GetSuggestedBy() != tc.by || got.GetState() != pb.State_RECEIVED {
				t.Fatalf("suggested %q by %q, state %s; want %q by %q, RECEIVED", got.GetSuggestedUnit(), got.GetSuggestedBy(), got.GetState(), tc.unit, tc.by)
			}
		})
	}
	if ps := f.claimAll(t); len(ps) != 0 {
		t.Fatalf("without auto-dispatch intake wrote outbox messages: %v", describe(ps))
	}
}

func TestAutoDispatchAtIntake(t *testing.T) {
	t.Parallel()
	f := newRouteFixture(t, true)
	req := newTicket("12315", "110403", "440106")
	req.IdempotencyKey = "desk-7-0001"
	got, err := f.svc.CreateTicket(f.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetState() != pb.State_DISPATCHED || got.GetHandlingUnit() != "gz-samr" || got.GetVersion() != 2 || got.GetSuggestedBy() != "rule" {
		t.Fatalf("created %s to %q, version %d", got.GetState(), got.GetHandlingUnit(), got.GetVersion())
	}
	// Deadlines as a manual dispatch at the same time sets them.
	policy, _ := deadline.NewPolicy(deadline.DefaultPolicyConfig(), deadline.DefaultCalendar())
	signBy, replyBy := policy.Deadlines(routeNow, "NORMAL", "COMPLAINT", "110403")
	if !got.GetSignBy().AsTime().Equal(signBy) || !got.GetReplyBy().AsTime().Equal(replyBy) || !got.GetDispatchTime().AsTime().Equal(routeNow) {
		t.Errorf("deadlines %v / %v, want %v / %v", got.GetSignBy().AsTime(), got.GetReplyBy().AsTime(), signBy, replyBy)
	}
	evs, err := f.svc.ListTicketEvents(f.ctx, &pb.ListTicketEventsRequest{Id: got.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range evs.GetEvents() {
		actions = append(actions, fmt.Sprintf("%d %s %s→%s", e.GetSeq(), e.GetAction(), e.GetFromState(), e.GetToState()))
	}
	want := []string{"1 create STATE_UNSPECIFIED→RECEIVED", "2 dispatch RECEIVED→DISPATCHED"}
	if !slices.Equal(actions, want) {
		t.Fatalf("events %q, want %q", actions, want)
	}
	if d := evs.GetEvents()[1]; d.GetActor() != service.AutoDispatchActor || d.GetDetails()["handlingUnit"] != "gz-samr" || d.GetReason() == "" {
		t.Errorf("dispatch event %v", d)
	}
	// A replay of the same request files nothing more.
	again, err := f.svc.CreateTicket(f.ctx, req)
	if err != nil || again.GetId() != got.GetId() {
		t.Fatalf("replay: %v %v", again.GetId(), err)
	}
	// The work order goes to gz-samr's system for market categories.
	ps := f.claimAll(t)
	if d := describe(ps); !slices.Equal(d, []string{"ticket.dispatch gz-samr gz-samr-market 2/gz-samr"}) {
		t.Fatalf("outbox %q", d)
	}
	if ps[0].TicketID != got.GetId() || ps[0].Seq != 2 {
		t.Errorf("message of ticket %s seq %d", ps[0].TicketID, ps[0].Seq)
	}

	// No unit found, or an emergency: filed RECEIVED, nothing to deliver.
	for _, req := range []*pb.CreateTicketRequest{newTicket("12345", "", "440106"), newTicket("110", "110403", "440106")} {
		got, err := f.svc.CreateTicket(f.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if got.GetState() != pb.State_RECEIVED || got.GetHandlingUnit() != "" || got.GetVersion() != 1 {
			t.Errorf("dialed %s: %s to %q", req.GetTicket().GetDialedNumber(), got.GetState(), got.GetHandlingUnit())
		}
	}
	// The hotline's unit when no rule matches, with that unit's backend.
	got, err = f.svc.CreateTicket(f.ctx, newTicket("12366", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got.GetState() != pb.State_DISPATCHED || got.GetHandlingUnit() != "gd-tax" || got.GetSuggestedBy() != "hotline" {
		t.Fatalf("12366: %s to %q by %q", got.GetState(), got.GetHandlingUnit(), got.GetSuggestedBy())
	}
	if d := describe(f.claimAll(t)); !slices.Equal(d, []string{"ticket.dispatch gd-tax gd-tax-soap 2/gd-tax"}) {
		t.Fatalf("outbox %q", d)
	}
}

func TestReclassifyMovesUnits(t *testing.T) {
	t.Parallel()
	f := newRouteFixture(t, true)
	tk, err := f.svc.CreateTicket(f.ctx, newTicket("12345", "110403", "440106"))
	if err != nil {
		t.Fatal(err)
	}
	id := tk.GetId()
	if _, err := f.svc.SignTicket(f.ctx, &pb.SignTicketRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	f.deliver(t, f.claimAll(t)) // the first dispatch reached gz-samr

	// Still a market matter: gz-samr keeps it, nothing is sent.
	same, err := f.svc.ReclassifyTicket(f.ctx, &pb.ReclassifyTicketRequest{Id: id, Category: "110408", Reason: "实为价格问题"})
	if err != nil {
		t.Fatal(err)
	}
	if same.GetState() != pb.State_SIGNED || same.GetHandlingUnit() != "gz-samr" || same.GetCategory() != "110408" {
		t.Fatalf("category-only change: %s %s %s", same.GetState(), same.GetHandlingUnit(), same.GetCategory())
	}
	if ps := f.claimAll(t); len(ps) != 0 {
		t.Fatalf("a category-only change sent %q", describe(ps))
	}

	// 物业服务 in 广州 is gz-housing's: the ticket moves there.
	moved, err := f.svc.ReclassifyTicket(f.ctx, &pb.ReclassifyTicketRequest{Id: id, Category: "011003", Reason: "实为物业服务纠纷"})
	if err != nil {
		t.Fatal(err)
	}
	if moved.GetState() != pb.State_DISPATCHED || moved.GetHandlingUnit() != "gz-housing" || moved.GetSignTime() != nil ||
		!moved.GetDispatchTime().AsTime().Equal(routeNow) {
		t.Fatalf("moved: %s to %s, signed %v", moved.GetState(), moved.GetHandlingUnit(), moved.GetSignTime())
	}
	seq := moved.GetVersion()
	want := []string{
		fmt.Sprintf("ticket.dispatch gz-housing gz-housing-rest %d/gz-housing", seq),
		// The withdrawal goes to the system that got the work order: gz-samr's
		// market backend, by the old category.
		fmt.Sprintf("ticket.withdraw gz-samr gz-samr-market %d/gz-samr", seq),
	}
	ps := f.claimAll(t)
	if d := describe(ps); !slices.Equal(d, want) {
		t.Fatalf("outbox %q, want %q", d, want)
	}
	for _, p := range ps {
		if p.Seq != seq || p.TicketID != id {
			t.Errorf("%s: seq %d of %s", p.Topic, p.Seq, p.TicketID)
		}
	}
	f.deliver(t, ps)

	// 退单: back to the centre, recorded, and nothing sent to the unit.
	ret, err := f.svc.ReturnTicket(f.ctx, &pb.ReturnTicketRequest{Id: id, Reason: "不属于本单位职责"})
	if err != nil {
		t.Fatal(err)
	}
	if ret.GetState() != pb.State_RETURNED || ret.GetHandlingUnit() != "" {
		t.Fatalf("returned: %s %q", ret.GetState(), ret.GetHandlingUnit())
	}
	if ps := f.claimAll(t); len(ps) != 0 {
		t.Fatalf("a return sent %q", describe(ps))
	}
	evs, _ := f.svc.ListTicketEvents(f.ctx, &pb.ListTicketEventsRequest{Id: id})
	if last := evs.GetEvents()[len(evs.GetEvents())-1]; last.GetAction() != "return" || last.GetDetails()["handlingUnit"] != "gz-housing" || last.GetActor() != "operator:李娜" {
		t.Fatalf("return event %v", last)
	}

	// A returned ticket reclassified gets a new suggestion for re-dispatch.
	back, err := f.svc.ReclassifyTicket(f.ctx, &pb.ReclassifyTicketRequest{Id: id, Category: "120402"})
	if err != nil {
		t.Fatal(err)
	}
	if back.GetState() != pb.State_RETURNED || back.GetSuggestedUnit() != "gd-mpa" || back.GetSuggestedBy() != "rule" {
		t.Fatalf("after reclassifying a returned ticket: %s, suggested %q by %q", back.GetState(), back.GetSuggestedUnit(), back.GetSuggestedBy())
	}
	if ps := f.claimAll(t); len(ps) != 0 {
		t.Fatalf("reclassifying a returned ticket sent %q", describe(ps))
	}
	d, err := f.svc.DispatchTicket(f.ctx, &pb.DispatchTicketRequest{Id: id})
	if err != nil || d.GetHandlingUnit() != "gd-mpa" {
		t.Fatalf("re-dispatch to the suggestion: %v %v", d.GetHandlingUnit(), err)
	}
}

func TestReclassifyBadInput(t *testing.T) {
	t.Parallel()
	f := newRouteFixture(t, false)
	tk, err := f.svc.CreateTicket(f.ctx, newTicket("12345", "110403", "440106"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"", "110", "11A403", "一一零四", "11040511223344"} {
		_, err := f.svc.ReclassifyTicket(f.ctx, &pb.ReclassifyTicketRequest{Id: tk.GetId(), Category: c})
		wantCode(t, err, codes.InvalidArgument, "category")
	}
	_, err = f.svc.ReclassifyTicket(f.ctx, &pb.ReclassifyTicketRequest{Category: "011003"})
	wantCode(t, err, codes.InvalidArgument, "id")
}

// TestRulesRoundTrip: the rules survive export and re-import, and a bad rule
// is refused naming its line.
func TestRulesRoundTrip(t *testing.T) {
	t.Parallel()
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	b, err := service.MarshalProvince(p, "round trip")
	if err != nil {
		t.Fatal(err)
	}
	back, err := service.ParseProvince(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rules) == 0 || !slices.Equal(back.Rules, p.Rules) {
		t.Fatalf("%d rules exported, %d read back", len(p.Rules), len(back.Rules))
	}
	if !bytes.Contains(b, []byte(`- {category: "1104", region: "440100", unit: gz-samr}`)) {
		t.Errorf("rules are not one per line:\n%s", b[bytes.Index(b, []byte("rules:")):][:300])
	}
	bad := bytes.Replace(b, []byte(`{category: "1104", region: "440100", unit: gz-samr}`), []byte(`{category: "1104", region: "440100", unit: gz-shichang}`), 1)
	_, err = service.ParseProvince(bad)
	line := 1 + bytes.Count(bad[:bytes.Index(bad, []byte("gz-shichang"))], []byte("\n"))
	if errs.KindOf(err) != errs.Invalid || !strings.Contains(err.Error(), fmt.Sprintf("line %d: unknown unit \"gz-shichang\"", line)) {
		t.Fatalf("bad rule: %v, want line %d", err, line)
	}
}

// TestReclassifyRegion: correcting a ticket's region routes it again, like a
// new category: 1104 in 禅城区 is fs-samr's, not gz-samr's.
func TestReclassifyRegion(t *testing.T) {
	t.Parallel()
	f := newRouteFixture(t, true)
	tk, err := f.svc.CreateTicket(f.ctx, newTicket("12345", "110403", "440106"))
	if err != nil {
		t.Fatal(err)
	}
	id := tk.GetId()
	if tk.GetHandlingUnit() != "gz-samr" {
		t.Fatalf("filed to %q", tk.GetHandlingUnit())
	}
	f.deliver(t, f.claimAll(t))
	moved, err := f.svc.ReclassifyTicket(f.ctx, &pb.ReclassifyTicketRequest{Id: id, RegionCode: "440604", Reason: "地址在禅城区"})
	if err != nil {
		t.Fatal(err)
	}
	if moved.GetHandlingUnit() != "fs-samr" || moved.GetCategory() != "110403" || moved.GetLocation().GetRegionCode() != "440604" || moved.GetState() != pb.State_DISPATCHED {
		t.Fatalf("moved: %s to %s, category %s, region %s", moved.GetState(), moved.GetHandlingUnit(), moved.GetCategory(), moved.GetLocation().GetRegionCode())
	}
	var topics []string
	for _, p := range f.claimAll(t) {
		topics = append(topics, p.Topic+" "+p.Unit)
	}
	if !slices.Equal(topics, []string{"ticket.dispatch fs-samr", "ticket.withdraw gz-samr"}) {
		t.Fatalf("outbox %q", topics)
	}
	evs, _ := f.svc.ListTicketEvents(f.ctx, &pb.ListTicketEventsRequest{Id: id})
	last := evs.GetEvents()[len(evs.GetEvents())-1]
	if d := last.GetDetails(); last.GetAction() != "reclassify" || d["previousRegionCode"] != "440106" || d["regionCode"] != "440604" || d["category"] != "110403" {
		t.Fatalf("event %v", last)
	}
	// The same region again changes nothing and says so.
	_, err = f.svc.ReclassifyTicket(f.ctx, &pb.ReclassifyTicketRequest{Id: id, RegionCode: "440604"})
	wantCode(t, err, codes.InvalidArgument, "category")
	for _, r := range []string{"4406", "44060A", "４４０６０４"} {
		_, err := f.svc.ReclassifyTicket(f.ctx, &pb.ReclassifyTicketRequest{Id: id, RegionCode: r})
		wantCode(t, err, codes.InvalidArgument, "regionCode")
	}
}
