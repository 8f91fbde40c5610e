package service_test

import (
	"bytes"
	"context"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/gateway/service"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store/sqlstore"
	"github.com/switchboard12345/switchboard/store/storetest"
)

// regNow is the fixed clock of the registry tests: 2026-11-28 10:00 in China.
var regNow = time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)

type regFixture struct {
	svc   *service.Registry
	store *sqlstore.Store
	src   *sqlstore.Registry
	live  *registry.Live
	admin context.Context
}

// newRegFixture opens a SQLite store, imports the example province into its
// embedded registry, follows it with a Live and files tickets dialed on legacy
// numbers: 12315 three times this week, 12333 once 10 days ago, 12369 once 40
// days ago, 12345 twice and an unknown number once.
func newRegFixture(t *testing.T) *regFixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "switchboard.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src := st.Registry()
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Import(ctx, p, "admin:setup"); err != nil {
		t.Fatal(err)
	}
	live := registry.NewLive(src, nil)
	if err := live.Load(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { live.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		st.Close()
	})
	for _, tk := range []struct {
		number string
		ago    time.Duration
	}{
		{"12315", 1 * time.Hour}, {"12315", 2 * 24 * time.Hour}, {"12315", 6 * 24 * time.Hour},
		{"12333", 10 * 24 * time.Hour}, {"12369", 40 * 24 * time.Hour},
		{"12345", time.Hour}, {"12345", 3 * 24 * time.Hour}, {"87654321", time.Hour},
	} {
		c := storetest.Sample()
		at := regNow.Add(-tk.ago)
		c.Ticket.DialedNumber = tk.number
		c.Ticket.CreateTime, c.Ticket.UpdateTime, c.Event.Time = at, at, at
		if _, _, err := st.CreateTicket(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	svc := service.NewRegistry(service.RegistryConfig{
		Source: src,
		Routes: live.Snapshot,
		Store:  st,
		Now:    func() time.Time { return regNow },
	})
	// The actor travels percent-encoded, as the CLI and the REST header send it.
	admin := metadata.NewIncomingContext(context.Background(),
		metadata.Pairs(service.MDActor, url.PathEscape("admin:李娜")))
	return &regFixture{svc: svc, store: st, src: src, live: live, admin: admin}
}

// await waits until the live snapshot has caught up with revision rev.
func (f *regFixture) await(t *testing.T, rev uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.live.Snapshot().Revision < rev {
		if time.Now().After(deadline) {
			t.Fatalf("live snapshot stuck at revision %d, want %d", f.live.Snapshot().Revision, rev)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wantCode checks err's gRPC code and, when field is set, that a field
// violation names it.
func wantCode(t *testing.T, err error, code codes.Code, field string) *status.Status {
	t.Helper()
	st, _ := status.FromError(err)
	if err == nil || st.Code() != code {
		t.Fatalf("got %v, want %s", err, code)
	}
	if field == "" {
		return st
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return st
				}
			}
		}
	}
	t.Fatalf("%v names no field %q", err, field)
	return st
}

func TestRegistryReads(t *testing.T) {
	f := newRegFixture(t)
	ctx := context.Background()

	all, err := f.svc.ListHotlines(ctx, &pb.ListHotlinesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.GetHotlines()) < 60 || all.GetRevision() == 0 {
		t.Fatalf("%d hotlines at revision %d", len(all.GetHotlines()), all.GetRevision())
	}
	for _, h := range all.GetHotlines() {
		if h.GetStatus() == "dual_running" && !slices.Equal(h.GetAllowedStatuses(), []string{"merged", "planned", "retired"}) {
			t.Fatalf("%s allowed %v", h.GetNumber(), h.GetAllowedStatuses())
		}
	}

	em, err := f.svc.ListHotlines(ctx, &pb.ListHotlinesRequest{Mode: "emergency_linkage"})
	if err != nil {
		t.Fatal(err)
	}
	if len(em.GetHotlines()) != 4 {
		t.Fatalf("%d emergency lines, want 4 (110, 119, 120, 122)", len(em.GetHotlines()))
	}
	for _, h := range em.GetHotlines() {
		if h.GetStatus() != "linked" || len(h.GetAllowedStatuses()) != 0 {
			t.Fatalf("emergency line %v", h)
		}
	}
	dual, err := f.svc.ListHotlines(ctx, &pb.ListHotlinesRequest{Mode: "dual_numbers", Status: "dual_running"})
	if err != nil || len(dual.GetHotlines()) != 6 {
		t.Fatalf("dual_numbers/dual_running: %d %v", len(dual.GetHotlines()), err)
	}
	_, err = f.svc.ListHotlines(ctx, &pb.ListHotlinesRequest{Status: "done"})
	wantCode(t, err, codes.InvalidArgument, "status")
	_, err = f.svc.ListHotlines(ctx, &pb.ListHotlinesRequest{Mode: "merge"})
	wantCode(t, err, codes.InvalidArgument, "mode")

	h, err := f.svc.GetHotline(ctx, &pb.GetHotlineRequest{Number: "12315"})
	if err != nil {
		t.Fatal(err)
	}
	if h.GetHandlingUnit() != "gd-samr" || h.GetMode() != "dual_numbers" || h.GetName() != "市场监管投诉举报热线" || h.GetRevision() == 0 {
		t.Fatalf("12315: %v", h)
	}
	// 12356 is reused: `at` picks the use.
	old, err := f.svc.GetHotline(ctx, &pb.GetHotlineRequest{Number: "12356", At: timestamppb.New(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil || old.GetName() != "计划生育法律法规咨询及举报热线" {
		t.Fatalf("12356 in 2024: %v %v", old, err)
	}
	cur, err := f.svc.GetHotline(ctx, &pb.GetHotlineRequest{Number: "12356"})
	if err != nil || cur.GetName() != "心理援助热线" {
		t.Fatalf("12356 now: %v %v", cur, err)
	}
	_, err = f.svc.GetHotline(ctx, &pb.GetHotlineRequest{Number: "99999"})
	if st := wantCode(t, err, codes.NotFound, ""); !strings.Contains(st.Message(), "99999") {
		t.Fatalf("not found names no number: %v", err)
	}
	_, err = f.svc.GetHotline(ctx, &pb.GetHotlineRequest{Number: "12a"})
	wantCode(t, err, codes.InvalidArgument, "number")
	_, err = f.svc.GetHotline(ctx, &pb.GetHotlineRequest{})
	wantCode(t, err, codes.InvalidArgument, "number")

	units, err := f.svc.ListUnits(ctx, &pb.ListUnitsRequest{Under: "gd-samr"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range units.GetUnits() {
		ids = append(ids, u.GetId())
	}
	if len(ids) == 0 || ids[0] != "gd-samr" || !slices.Contains(ids, "gd-12315-experts") || !slices.Contains(ids, "gd-mpa") || slices.Contains(ids, "gd-hrss") {
		t.Fatalf("units under gd-samr: %v", ids)
	}
	every, err := f.svc.ListUnits(ctx, &pb.ListUnitsRequest{})
	if err != nil || len(every.GetUnits()) <= len(ids) || every.GetUnits()[0].GetParent() != "" {
		t.Fatalf("all units: %d %v", len(every.GetUnits()), err)
	}
	_, err = f.svc.ListUnits(ctx, &pb.ListUnitsRequest{Under: "nowhere"})
	wantCode(t, err, codes.NotFound, "")

	backends, err := f.svc.ListBackends(ctx, &pb.ListBackendsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, b := range backends.GetBackends() {
		if b.GetId() == "gd-samr-rest" {
			found = b.GetUnit() == "gd-samr" && b.GetKind() == "rest" && len(b.GetEndpoints()) == 2 && b.GetMaxInFlight() == 32
		}
	}
	if !found {
		t.Fatalf("gd-samr-rest missing or wrong in %v", backends.GetBackends())
	}
}

func TestRegistrySetStatus(t *testing.T) {
	f := newRegFixture(t)
	ctx := f.admin

	h, err := f.svc.GetHotline(ctx, &pb.GetHotlineRequest{Number: "12315"})
	if err != nil {
		t.Fatal(err)
	}
	merged, err := f.svc.SetHotlineStatus(ctx, &pb.SetHotlineStatusRequest{Number: "12315", Status: "merged",
		Reason: "seats moved to 12345", ExpectedRevision: h.GetRevision()})
	if err != nil {
		t.Fatal(err)
	}
	if merged.GetStatus() != "merged" || merged.GetRevision() <= h.GetRevision() ||
		!slices.Equal(merged.GetAllowedStatuses(), []string{"retired", "dual_running"}) {
		t.Fatalf("after merging: %v", merged)
	}
	hist, err := f.svc.ListHotlineHistory(ctx, &pb.ListHotlineHistoryRequest{Number: "12315"})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.GetChanges()) != 1 {
		t.Fatalf("history: %v", hist.GetChanges())
	}
	c := hist.GetChanges()[0]
	if c.GetFrom() != "dual_running" || c.GetTo() != "merged" || c.GetActor() != "admin:李娜" ||
		c.GetReason() != "seats moved to 12345" || !c.GetTime().AsTime().Equal(regNow) {
		t.Fatalf("change: %v", c)
	}
	// The live snapshot follows the write.
	f.await(t, merged.GetRevision())
	if got, err := f.svc.GetHotline(ctx, &pb.GetHotlineRequest{Number: "12315"}); err != nil || got.GetStatus() != "merged" {
		t.Fatalf("read after write: %v %v", got, err)
	}

	// A change based on the old revision is stale.
	_, err = f.svc.SetHotlineStatus(ctx, &pb.SetHotlineStatusRequest{Number: "12315", Status: "dual_running",
		ExpectedRevision: h.GetRevision()})
	if st, _ := status.FromError(err); st.Code() != codes.Aborted && st.Code() != codes.AlreadyExists {
		t.Fatalf("stale revision: %v", err)
	}

	// Malformed requests name the field.
	for _, tc := range []struct {
		req   *pb.SetHotlineStatusRequest
		field string
	}{
		{&pb.SetHotlineStatusRequest{Number: "12315", Status: "done"}, "status"},
		{&pb.SetHotlineStatusRequest{Number: "12315"}, "status"},
		{&pb.SetHotlineStatusRequest{Number: "12315", Status: "retired", Cutover: "31.12.2026"}, "cutover"},
		{&pb.SetHotlineStatusRequest{Number: "1", Status: "retired"}, "number"},
		{&pb.SetHotlineStatusRequest{Number: "12315", Status: "retired", Force: true}, "reason"},
	} {
		_, err := f.svc.SetHotlineStatus(ctx, tc.req)
		wantCode(t, err, codes.InvalidArgument, tc.field)
	}
	_, err = f.svc.SetHotlineStatus(ctx, &pb.SetHotlineStatusRequest{Number: "99999", Status: "merged"})
	wantCode(t, err, codes.NotFound, "")
	// The state machine's guards: emergency lines never move.
	_, err = f.svc.SetHotlineStatus(ctx, &pb.SetHotlineStatusRequest{Number: "110", Status: "merged"})
	wantCode(t, err, codes.FailedPrecondition, "")

	// 12315 had three requests this week: retiring it needs force and a reason.
	_, err = f.svc.SetHotlineStatus(ctx, &pb.SetHotlineStatusRequest{Number: "12315", Status: "retired"})
	if st := wantCode(t, err, codes.FailedPrecondition, ""); !strings.Contains(st.Message(), "3 requests") {
		t.Fatalf("guard message: %v", err)
	}
	retired, err := f.svc.SetHotlineStatus(ctx, &pb.SetHotlineStatusRequest{Number: "12315", Status: "retired",
		Force: true, Reason: "announcement plays; callers reach 12345", Cutover: "2026-12-31"})
	if err != nil {
		t.Fatal(err)
	}
	if retired.GetStatus() != "retired" || retired.GetCutover() != "2026-12-31" {
		t.Fatalf("retired: %v", retired)
	}
	// 12333's one request was 10 days ago: inside the 30-day window.
	_, err = f.svc.SetHotlineStatus(ctx, &pb.SetHotlineStatusRequest{Number: "12333", Status: "retired"})
	wantCode(t, err, codes.FailedPrecondition, "")
	// 12369's was 40 days ago: outside it.
	if _, err := f.svc.SetHotlineStatus(ctx, &pb.SetHotlineStatusRequest{Number: "12369", Status: "retired"}); err != nil {
		t.Fatalf("retiring 12369 with old traffic only: %v", err)
	}

	hist, err = f.svc.ListHotlineHistory(ctx, &pb.ListHotlineHistoryRequest{Number: "12315"})
	if err != nil || len(hist.GetChanges()) != 2 || !hist.GetChanges()[1].GetForce() || hist.GetChanges()[1].GetCutover() != "2026-12-31" {
		t.Fatalf("history after retiring: %v %v", hist.GetChanges(), err)
	}
	// A known number without changes has an empty history; an unknown one none.
	if hist, err := f.svc.ListHotlineHistory(ctx, &pb.ListHotlineHistoryRequest{Number: "12366"}); err != nil || len(hist.GetChanges()) != 0 {
		t.Fatalf("history of 12366: %v %v", hist, err)
	}
	_, err = f.svc.ListHotlineHistory(ctx, &pb.ListHotlineHistoryRequest{Number: "99999"})
	wantCode(t, err, codes.NotFound, "")
}

func TestRegistryImportExport(t *testing.T) {
	f := newRegFixture(t)
	ctx := f.admin

	before, rev, err := f.src.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := f.svc.ExportRegistry(ctx, &pb.ExportRegistryRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if exp.GetRevision() != rev || !strings.Contains(exp.GetYaml(), "市场监管投诉举报热线") || strings.Contains(exp.GetYaml(), `\u`) {
		t.Fatalf("export at %d (want %d) is not readable UTF-8:\n%.600s", exp.GetRevision(), rev, exp.GetYaml())
	}

	// Bad files are refused with a line number and change nothing.
	good := string(examples.Province)
	badNumber := strings.Replace(good, `number: "12315"`, `number: "12-315"`, 1)
	wantLine := 1 + strings.Count(good[:strings.Index(good, `number: "12315"`)], "\n")
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"syntax", good + "\n  - {id: broken\n", "line"},
		{"unknown key", strings.Replace(good, "name: 广东省\n", "name: 广东省\ncolour: blue\n", 1), "line"},
		{"bad date", strings.Replace(good, "validFrom: 2025-01-01", "validFrom: 2025-13-01", 1), "line"},
		{"bad number", badNumber, "line " + strconv.Itoa(wantLine) + ":"},
	} {
		_, err := f.svc.ImportRegistry(ctx, &pb.ImportRegistryRequest{Yaml: tc.yaml})
		st := wantCode(t, err, codes.InvalidArgument, "")
		if !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: %s names no %q", tc.name, st.Message(), tc.want)
		}
	}
	_, err = f.svc.ImportRegistry(ctx, &pb.ImportRegistryRequest{})
	wantCode(t, err, codes.InvalidArgument, "yaml")
	if _, now, err := f.src.Load(ctx); err != nil || now != rev {
		t.Fatalf("a refused import changed the registry: revision %d → %d (%v)", rev, now, err)
	}

	// Importing the export gives the same registry.
	imp, err := f.svc.ImportRegistry(ctx, &pb.ImportRegistryRequest{Yaml: exp.GetYaml()})
	if err != nil {
		t.Fatal(err)
	}
	if imp.GetRevision() <= rev || int(imp.GetHotlines()) != len(before.Hotlines) || int(imp.GetUnits()) != len(before.Units) ||
		int(imp.GetBackends()) != len(before.Backends) {
		t.Fatalf("import: %v", imp)
	}
	after, _, err := f.src.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*struct{ h []registry.Hotline }{{before.Hotlines}, {after.Hotlines}} {
		for i := range p.h {
			p.h[i].Revision = 0
		}
	}
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("export → import changed the registry")
	}
	f.await(t, imp.GetRevision())
	if l, err := f.svc.ListHotlines(ctx, &pb.ListHotlinesRequest{}); err != nil || l.GetRevision() != imp.GetRevision() {
		t.Fatalf("list after import: %v", err)
	}
}

func TestRegistryMigrationReport(t *testing.T) {
	f := newRegFixture(t)
	ctx := f.admin
	// Two upcoming cutovers (given out of order) and one past.
	for _, c := range []struct{ number, status, cutover string }{
		{"12333", "merged", "2027-03-01"},
		{"12369", "merged", "2026-11-28"},
		{"12315", "merged", "2026-01-01"},
	} {
		h, err := f.svc.SetHotlineStatus(ctx, &pb.SetHotlineStatusRequest{Number: c.number, Status: c.status, Cutover: c.cutover})
		if err != nil {
			t.Fatal(err)
		}
		f.await(t, h.GetRevision())
	}
	rep, err := f.svc.GetMigrationReport(ctx, &pb.GetMigrationReportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := f.svc.ListHotlines(ctx, &pb.ListHotlinesRequest{})
	total := 0
	counts := map[string]int32{}
	for _, c := range rep.GetCounts() {
		total += int(c.GetHotlines())
		counts[c.GetMode()+"/"+c.GetStatus()] = c.GetHotlines()
	}
	if total != len(all.GetHotlines()) || counts["emergency_linkage/linked"] != 4 || counts["dual_numbers/dual_running"] != 3 ||
		counts["dual_numbers/merged"] != 11 || rep.GetCounts()[0].GetMode() != "full_merge" {
		t.Fatalf("counts: %v (total %d of %d)", counts, total, len(all.GetHotlines()))
	}
	var traffic []string
	for _, tr := range rep.GetTraffic() {
		traffic = append(traffic, tr.GetNumber()+":"+strconv.Itoa(int(tr.GetLast_7Days()))+"/"+strconv.Itoa(int(tr.GetLast_30Days())))
	}
	// Busiest first; 12369's request is older than 30 days; 12345 and the
	// unknown 87654321 are no legacy hotlines.
	if want := []string{"12315:3/3", "12333:0/1"}; !slices.Equal(traffic, want) {
		t.Fatalf("traffic %v, want %v", traffic, want)
	}
	if tr := rep.GetTraffic()[0]; tr.GetName() != "市场监管投诉举报热线" || tr.GetStatus() != "merged" {
		t.Fatalf("traffic row: %v", tr)
	}
	var cut []string
	for _, c := range rep.GetUpcomingCutovers() {
		cut = append(cut, c.GetNumber()+"@"+c.GetCutover())
	}
	if want := []string{"12369@2026-11-28", "12333@2027-03-01"}; !slices.Equal(cut, want) {
		t.Fatalf("upcoming cutovers %v, want %v", cut, want)
	}
}

// Reads are served from the live snapshot even when the source is gone.
func TestRegistryReadsWithoutSource(t *testing.T) {
	f := newRegFixture(t)
	f.store.Close()
	ctx := context.Background()
	if l, err := f.svc.ListHotlines(ctx, &pb.ListHotlinesRequest{}); err != nil || len(l.GetHotlines()) < 60 {
		t.Fatalf("list with the source closed: %v", err)
	}
	if h, err := f.svc.GetHotline(ctx, &pb.GetHotlineRequest{Number: "12315"}); err != nil || h.GetHandlingUnit() != "gd-samr" {
		t.Fatalf("get with the source closed: %v", err)
	}
	if _, err := f.svc.ExportRegistry(ctx, &pb.ExportRegistryRequest{}); err == nil {
		t.Fatal("export with the source closed succeeded")
	}
}
