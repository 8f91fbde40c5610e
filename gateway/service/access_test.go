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

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/gateway/auth"
	"github.com/switchboard12345/switchboard/gateway/authz"
	"github.com/switchboard12345/switchboard/gateway/service"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/internal/ids"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

// accessNow is the fixed clock of the access tests.
var accessNow = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)

// admin is the administrator calling in the access tests (demo-admin holds
// the admin role in the example policy).
var admin = store.Principal{ID: "demo-admin", Name: "省中心管理员", Kind: store.PrincipalUser, Unit: "gd", CreatedAt: accessNow}

type accessFixture struct {
	svc   *service.Access
	store *sqlstore.Store
	authz *authz.Authorizer
	ctx   context.Context // the administrator's call
}

// newAccessFixture serves the AuthService from a SQLite store holding the
// example province's policy, with demo-admin calling.
func newAccessFixture(t *testing.T) *accessFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "switchboard.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	units := registry.NewStatic(registry.NewSnapshot(p, 1)).Snapshot
	az, err := authz.New(ctx, authz.Options{Store: st, Units: units})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := authz.ParseCSV(examples.Policy)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := az.Change(ctx, store.PolicyChange{Add: rules, Replace: true,
		Audit: store.AuditEntry{At: accessNow, Actor: "test:setup", Action: "policy.import"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutPrincipal(ctx, admin); err != nil {
		t.Fatal(err)
	}
	svc := service.NewAccess(service.AccessConfig{Authz: az, Store: st, Tickets: st, Units: units,
		Now: func() time.Time { return accessNow }, NewID: ids.NewSource().New})
	return &accessFixture{svc: svc, store: st, authz: az, ctx: auth.WithPrincipal(ctx, admin)}
}

// violation checks err's gRPC code and, when field is set, returns the
// description of the violation naming it.
func violation(t *testing.T, err error, code codes.Code, field string) string {
	t.Helper()
	st, _ := status.FromError(err)
	if err == nil || st.Code() != code {
		t.Fatalf("got %v, want %s", err, code)
	}
	if field == "" {
		return st.Message()
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return v.GetDescription()
				}
			}
		}
	}
	t.Fatalf("%v names no field %q", err, field)
	return ""
}

// addLina creates 李娜, a user of 天河区.
func (f *accessFixture) addLina(t *testing.T) *pb.Principal {
	t.Helper()
	p, err := f.svc.CreatePrincipal(f.ctx, &pb.CreatePrincipalRequest{Principal: &pb.Principal{Id: "u-lina", Name: "李娜", Unit: "gz-tianhe"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func grantsOf(r *pb.WhoAmIResponse) []string {
	var out []string
	for _, g := range r.GetGrants() {
		out = append(out, g.GetRole()+"@"+g.GetUnit())
	}
	return out
}

func TestAccessPrincipalsAndGrants(t *testing.T) {
	t.Parallel()
	f := newAccessFixture(t)
	p := f.addLina(t)
	if p.GetName() != "李娜" || p.GetKind() != store.PrincipalUser || p.GetCreateTime().AsTime() != accessNow {
		t.Fatalf("created %v", p)
	}
	list, err := f.svc.ListPrincipals(f.ctx, &pb.ListPrincipalsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(list.GetPrincipals(), func(p *pb.Principal) bool { return p.GetId() == "u-lina" }); i < 0 || list.GetPrincipals()[i].GetName() != "李娜" {
		t.Fatalf("principals: %v", list.GetPrincipals())
	}
	_, err = f.svc.CreatePrincipal(f.ctx, &pb.CreatePrincipalRequest{Principal: &pb.Principal{Id: "u-lina", Name: "另一个李娜", Unit: "sz"}})
	violation(t, err, codes.AlreadyExists, "")

	before := f.authz.Revision()
	rev, err := f.svc.GrantRole(f.ctx, &pb.GrantRoleRequest{Principal: "u-lina", Role: "unit_staff", Unit: "gz-tianhe"})
	if err != nil {
		t.Fatal(err)
	}
	if rev.GetRevision() <= before || f.authz.Revision() != rev.GetRevision() {
		t.Fatalf("revision %d after grant, was %d, in force %d", rev.GetRevision(), before, f.authz.Revision())
	}
	// Granting it again changes nothing.
	if again, err := f.svc.GrantRole(f.ctx, &pb.GrantRoleRequest{Principal: "u-lina", Role: "unit_staff", Unit: "gz-tianhe"}); err != nil || again.GetRevision() != rev.GetRevision() {
		t.Fatalf("second grant: %v %v", again, err)
	}

	lina := auth.WithPrincipal(context.Background(), store.Principal{ID: "u-lina", Name: "李娜", Kind: store.PrincipalUser, Unit: "gz-tianhe"})
	me, err := f.svc.WhoAmI(lina, &pb.WhoAmIRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := grantsOf(me); !slices.Equal(got, []string{"unit_staff@gz-tianhe"}) || me.GetPrincipal().GetName() != "李娜" || me.GetPolicyRevision() != rev.GetRevision() {
		t.Fatalf("whoami: %v", me)
	}
	ex, err := f.svc.ExplainAccess(f.ctx, &pb.ExplainAccessRequest{Principal: "u-lina", Unit: "gz-tianhe-tiyuxi"})
	if err != nil {
		t.Fatal(err)
	}
	var explained []string
	for _, p := range ex.GetPermissions() {
		explained = append(explained, p.GetAction()+" "+p.GetOn()+" via "+p.GetVia())
	}
	if !slices.Contains(explained, "view tickets via unit_staff@gz-tianhe: p, unit_staff, *, subtree, view") {
		t.Fatalf("explain: %q", explained)
	}
	if slices.ContainsFunc(explained, func(s string) bool { return strings.HasPrefix(s, "sign ") }) {
		t.Fatalf("a district signs its street's tickets: %q", explained)
	}

	if _, err := f.svc.RevokeRole(f.ctx, &pb.RevokeRoleRequest{Principal: "u-lina", Role: "unit_staff", Unit: "gz-tianhe"}); err != nil {
		t.Fatal(err)
	}
	if me, err = f.svc.WhoAmI(lina, &pb.WhoAmIRequest{}); err != nil || len(me.GetGrants()) != 0 {
		t.Fatalf("whoami after revoke: %v %v", me, err)
	}
	if ex, err = f.svc.ExplainAccess(f.ctx, &pb.ExplainAccessRequest{Principal: "u-lina", Unit: "gz-tianhe"}); err != nil || len(ex.GetPermissions()) != 0 {
		t.Fatalf("explain after revoke: %v %v", ex, err)
	}
	_, err = f.svc.RevokeRole(f.ctx, &pb.RevokeRoleRequest{Principal: "u-lina", Role: "unit_staff", Unit: "gz-tianhe"})
	violation(t, err, codes.NotFound, "")
	_, err = f.svc.GrantRole(f.ctx, &pb.GrantRoleRequest{Principal: "u-nobody", Role: "unit_staff", Unit: "gz-tianhe"})
	if msg := violation(t, err, codes.NotFound, ""); !strings.Contains(msg, "u-nobody") {
		t.Fatalf("unknown principal: %q", msg)
	}
	_, err = f.svc.ExplainAccess(f.ctx, &pb.ExplainAccessRequest{Principal: "u-nobody", Unit: "gz-tianhe"})
	violation(t, err, codes.NotFound, "")

	// Without the guard's principal the service refuses.
	_, err = f.svc.WhoAmI(context.Background(), &pb.WhoAmIRequest{})
	violation(t, err, codes.Unauthenticated, "")
	_, err = f.svc.GrantRole(context.Background(), &pb.GrantRoleRequest{Principal: "u-lina", Role: "unit_staff", Unit: "gz-tianhe"})
	violation(t, err, codes.Unauthenticated, "")
	_, err = f.svc.ListAudit(context.Background(), &pb.ListAuditRequest{})
	violation(t, err, codes.Unauthenticated, "")
}

func TestAccessRejectsBadInput(t *testing.T) {
	t.Parallel()
	f := newAccessFixture(t)
	f.addLina(t)
	principal := func(id, name, kind, unit string) func() error {
		return func() error {
			_, err := f.svc.CreatePrincipal(f.ctx, &pb.CreatePrincipalRequest{Principal: &pb.Principal{Id: id, Name: name, Kind: kind, Unit: unit}})
			return err
		}
	}
	grant := func(p, role, unit string) func() error {
		return func() error {
			_, err := f.svc.GrantRole(f.ctx, &pb.GrantRoleRequest{Principal: p, Role: role, Unit: unit})
			return err
		}
	}
	change := func(add, remove []*pb.Rule) func() error {
		return func() error {
			_, err := f.svc.ChangePolicy(f.ctx, &pb.ChangePolicyRequest{Add: add, Remove: remove})
			return err
		}
	}
	rule := func(ptype string, v ...string) *pb.Rule { return &pb.Rule{Ptype: ptype, Values: v} }
	good := rule("p", "auditor", "*", "*", "read_stats")
	for _, tc := range []struct {
		name, field string
		call        func() error
	}{
		{"no principal", "principal", func() error {
			_, err := f.svc.CreatePrincipal(f.ctx, &pb.CreatePrincipalRequest{})
			return err
		}},
		{"empty id", "principal.id", principal("", "王芳", "", "gz")},
		{"id with a space", "principal.id", principal("u wang", "王芳", "", "gz")},
		{"id starting with a dash", "principal.id", principal("-wang", "王芳", "", "gz")},
		{"id in Chinese", "principal.id", principal("王芳", "王芳", "", "gz")},
		{"id of 65 characters", "principal.id", principal(strings.Repeat("a", 65), "王芳", "", "gz")},
		{"no name", "principal.name", principal("u-wang", " ", "", "gz")},
		{"name of 51 characters", "principal.name", principal("u-wang", strings.Repeat("王", 51), "", "gz")},
		{"unknown kind", "principal.kind", principal("u-wang", "王芳", "robot", "gz")},
		{"no unit", "principal.unit", principal("u-wang", "王芳", "", "")},
		{"unknown unit", "principal.unit", principal("u-wang", "王芳", "", "gz-nowhere")},
		{"grant without principal", "principal", grant("", "unit_staff", "gz")},
		{"grant without role", "role", grant("u-lina", "", "gz")},
		{"role with a space", "role", grant("u-lina", "unit staff", "gz")},
		{"role with a comma", "role", grant("u-lina", "unit,staff", "gz")},
		{"grant in an unknown unit", "unit", grant("u-lina", "unit_staff", "gz-nowhere")},
		{"revoke without unit", "unit", func() error {
			_, err := f.svc.RevokeRole(f.ctx, &pb.RevokeRoleRequest{Principal: "u-lina", Role: "unit_staff"})
			return err
		}},
		{"empty change", "add", change(nil, nil)},
		{"bad action", "add[1]", change([]*pb.Rule{good, rule("p", "auditor", "*", "*", "delete")}, nil)},
		{"bad scope", "add[0]", change([]*pb.Rule{rule("p", "auditor", "*", "everything", "view")}, nil)},
		{"unknown unit in a grant line", "add[0]", change([]*pb.Rule{rule("g", "u-lina", "auditor", "gz-nowhere")}, nil)},
		{"short line to remove", "remove[0]", change(nil, []*pb.Rule{rule("g", "u-lina", "auditor")})},
		{"negative ttl", "ttl", func() error {
			_, err := f.svc.CreateToken(f.ctx, &pb.CreateTokenRequest{Principal: "u-lina", Ttl: durationpb.New(-time.Hour)})
			return err
		}},
		{"token without principal", "principal", func() error {
			_, err := f.svc.CreateToken(f.ctx, &pb.CreateTokenRequest{})
			return err
		}},
		{"revoke without token id", "id", func() error {
			_, err := f.svc.RevokeToken(f.ctx, &pb.RevokeTokenRequest{})
			return err
		}},
		{"explain in an unknown unit", "unit", func() error {
			_, err := f.svc.ExplainAccess(f.ctx, &pb.ExplainAccessRequest{Principal: "u-lina", Unit: "gz-nowhere"})
			return err
		}},
		{"who can see nothing", "ticket", func() error {
			_, err := f.svc.WhoCanSee(f.ctx, &pb.WhoCanSeeRequest{})
			return err
		}},
		{"page size 501", "pageSize", func() error {
			_, err := f.svc.ListAudit(f.ctx, &pb.ListAuditRequest{PageSize: 501})
			return err
		}},
		{"negative page size", "pageSize", func() error {
			_, err := f.svc.ListAudit(f.ctx, &pb.ListAuditRequest{PageSize: -1})
			return err
		}},
		{"forged page token", "pageToken", func() error {
			_, err := f.svc.ListAudit(f.ctx, &pb.ListAuditRequest{PageToken: "djE6eA"}) // "v1:x"
			return err
		}},
		{"empty import", "csv", func() error {
			_, err := f.svc.ImportPolicy(f.ctx, &pb.ImportPolicyRequest{Csv: "# nothing\n"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			violation(t, tc.call(), codes.InvalidArgument, tc.field)
		})
	}
	// Nothing was changed: the policy is the example's, and 王芳 was never created.
	if _, err := f.store.GetPrincipal(context.Background(), "u-wang"); !errs.Is(err, errs.NotFound) {
		t.Errorf("a refused principal was stored: %v", err)
	}
	if got := f.authz.Grants("u-lina"); len(got) != 0 {
		t.Errorf("refused grants stored: %v", got)
	}
}

func TestAccessPolicyImportExport(t *testing.T) {
	t.Parallel()
	f := newAccessFixture(t)
	before, err := f.svc.GetPolicy(f.ctx, &pb.GetPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	exp, err := f.svc.ExportPolicy(f.ctx, &pb.ExportPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(exp.GetCsv(), "\n"); !strings.HasPrefix(first, "#") || !strings.Contains(first, fmt.Sprintf("revision %d", before.GetRevision())) || exp.GetRevision() != before.GetRevision() {
		t.Fatalf("export header %q, revision %d, want %d", first, exp.GetRevision(), before.GetRevision())
	}
	want, _ := authz.ParseCSV(examples.Policy)
	got, err := authz.ParseCSV([]byte(exp.GetCsv()))
	if err != nil || !sameRules(got, want) {
		t.Fatalf("export is not the example policy (%v):\n%s", err, exp.GetCsv())
	}

	// Replacing the policy with its export gives the same policy, newer.
	rev, err := f.svc.ImportPolicy(f.ctx, &pb.ImportPolicyRequest{Csv: exp.GetCsv(), Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	after, err := f.svc.GetPolicy(f.ctx, &pb.GetPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if after.GetRevision() != rev.GetRevision() || rev.GetRevision() <= before.GetRevision() || !sameRules(fromPB(after.GetRules()), fromPB(before.GetRules())) {
		t.Fatalf("after the round trip: revision %d (import said %d, was %d), %d rules (was %d)",
			after.GetRevision(), rev.GetRevision(), before.GetRevision(), len(after.GetRules()), len(before.GetRules()))
	}

	// Adding lines keeps the others; a change adds and removes.
	if _, err := f.svc.ImportPolicy(f.ctx, &pb.ImportPolicyRequest{Csv: "p, auditor, *, *, read_stats\ng, demo-leader, auditor, gd\n"}); err != nil {
		t.Fatal(err)
	}
	if !f.authz.Allowed("demo-leader", authz.ReadStats, authz.UnitObject("sz")) || !f.authz.Allowed("demo-operator", authz.View, authz.SystemObject()) {
		t.Fatal("import without replace did not add to the policy")
	}
	if _, err := f.svc.ChangePolicy(f.ctx, &pb.ChangePolicyRequest{
		Remove: []*pb.Rule{{Ptype: "g", Values: []string{"demo-leader", "auditor", "gd"}}},
		Add:    []*pb.Rule{{Ptype: "g", Values: []string{"demo-district", "auditor", "gd"}}},
	}); err != nil {
		t.Fatal(err)
	}
	if f.authz.Allowed("demo-leader", authz.ReadStats, authz.UnitObject("sz")) || !f.authz.Allowed("demo-district", authz.ReadStats, authz.UnitObject("sz")) {
		t.Fatal("the change is not in force")
	}
	_, err = f.svc.ChangePolicy(f.ctx, &pb.ChangePolicyRequest{Remove: []*pb.Rule{{Ptype: "g", Values: []string{"demo-leader", "auditor", "gd"}}}})
	violation(t, err, codes.NotFound, "")

	// Bad CSV, and a bad line, are refused naming the line; nothing changes.
	rev0 := f.authz.Revision()
	_, err = f.svc.ImportPolicy(f.ctx, &pb.ImportPolicyRequest{Csv: "p, a, *, *, view\np, \"unterminated, *, *, view\n", Replace: true})
	if d := violation(t, err, codes.InvalidArgument, "csv"); !strings.Contains(d, "line 2") {
		t.Errorf("bad CSV: %q", d)
	}
	_, err = f.svc.ImportPolicy(f.ctx, &pb.ImportPolicyRequest{Csv: "# roles\np, a, *, *, view\n\np, a, *, *, fly\ng, u-x, a, gd\n", Replace: true})
	if d := violation(t, err, codes.InvalidArgument, "csv"); !strings.Contains(d, "line 4") || !strings.Contains(d, "fly") {
		t.Errorf("bad line: %q", d)
	}
	if f.authz.Revision() != rev0 || !f.authz.Allowed("demo-operator", authz.View, authz.SystemObject()) {
		t.Fatal("a refused import changed the policy")
	}
}

func fromPB(rs []*pb.Rule) []store.Rule {
	out := make([]store.Rule, len(rs))
	for i, r := range rs {
		out[i] = store.Rule{PType: r.GetPtype(), Values: r.GetValues()}
	}
	return out
}

// sameRules reports whether a and b hold the same lines, in any order.
func sameRules(a, b []store.Rule) bool {
	key := func(rs []store.Rule) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = authz.FormatRule(r)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

func TestAccessWhoCanSee(t *testing.T) {
	t.Parallel()
	f := newAccessFixture(t)
	c := store.Create{
		Ticket: ticket.Ticket{ID: "01KB0000000000000000000SAMR", State: ticket.Dispatched, Channel: "PHONE", DialedNumber: "12315",
			Caller: ticket.Caller{Name: "王芳", Phone: "13800138000"}, Title: "电饭煲质量问题", Content: "新买的电饭煲内胆涂层脱落，商家拒绝退换。",
			Location: ticket.Location{Address: "广州市天河区体育西路1号", RegionCode: "440106"}, Category: "110408",
			RequestType: "COMPLAINT", Urgency: ticket.Normal, HandlingUnit: "gz-samr",
			CreateTime: accessNow, UpdateTime: accessNow, DispatchTime: accessNow, Version: 2},
		Event: ticket.Event{TicketID: "01KB0000000000000000000SAMR", Seq: 1, Action: "create", To: ticket.Received, Actor: "demo-operator", Time: accessNow},
	}
	tk, _, err := f.store.CreateTicket(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{tk.ID, tk.TrackingNumber} {
		resp, err := f.svc.WhoCanSee(f.ctx, &pb.WhoCanSeeRequest{Ticket: ref})
		if err != nil {
			t.Fatal(err)
		}
		who := map[string][]string{}
		for _, a := range resp.GetAccess() {
			who[a.GetPrincipal()] = a.GetActions()
		}
		if resp.GetTicketId() != tk.ID || !slices.Contains(who["demo-operator"], authz.View) || !slices.Contains(who["demo-operator"], authz.ViewPII) {
			t.Fatalf("who can see %s: %v", ref, who)
		}
		if _, ok := who["demo-street"]; ok {
			t.Fatalf("a street office of 越秀区 sees a ticket of 广州市市场监管局: %v", who)
		}
		if slices.Contains(who["demo-admin"], authz.View) || slices.Contains(who["demo-admin"], authz.AdminPolicy) || slices.Contains(who["demo-operator"], authz.Create) {
			t.Fatalf("actions that are not on a ticket listed, or the administrator sees its contents: %v", who)
		}
		if !slices.Equal(who["demo-admin"], []string{authz.ReadStats}) {
			t.Fatalf("the administrator counts the ticket in aggregates only: %v", who)
		}
	}
	_, err = f.svc.WhoCanSee(f.ctx, &pb.WhoCanSeeRequest{Ticket: "20261201-99999"})
	violation(t, err, codes.NotFound, "")
}

func TestAccessTokens(t *testing.T) {
	t.Parallel()
	f := newAccessFixture(t)
	f.addLina(t)
	clock := accessNow
	authn, err := auth.New(auth.Options{Store: f.store, CacheTTL: -1, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	made, err := f.svc.CreateToken(f.ctx, &pb.CreateTokenRequest{Principal: "u-lina", Description: "天河区工单系统对接", Ttl: durationpb.New(720 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tok := made.GetToken()
	if !strings.HasPrefix(made.GetSecret(), auth.TokenPrefix) || !strings.HasPrefix(tok.GetId(), service.TokenIDPrefix) || tok.GetCreatedBy() != admin.ID || tok.GetPrincipal() != "u-lina" ||
		tok.GetExpireTime().AsTime() != accessNow.Add(720*time.Hour) || tok.GetDescription() != "天河区工单系统对接" {
		t.Fatalf("created %v", made)
	}
	p, err := authn.Authenticate(ctx, "Bearer "+made.GetSecret())
	if err != nil || p.ID != "u-lina" || p.Name != "李娜" {
		t.Fatalf("the new token authenticates %v, %v", p, err)
	}
	// Without ttl: until revoked.
	forever, err := f.svc.CreateToken(f.ctx, &pb.CreateTokenRequest{Principal: "u-lina"})
	if err != nil || forever.GetToken().GetExpireTime() != nil {
		t.Fatalf("token without ttl: %v %v", forever, err)
	}

	list, err := f.svc.ListTokens(f.ctx, &pb.ListTokensRequest{Principal: "u-lina"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetTokens()) != 2 || strings.Contains(list.String(), made.GetSecret()) {
		t.Fatalf("tokens: %v", list)
	}
	if none, err := f.svc.ListTokens(f.ctx, &pb.ListTokensRequest{Principal: "demo-admin"}); err != nil || len(none.GetTokens()) != 0 {
		t.Fatalf("demo-admin's tokens: %v %v", none, err)
	}

	revoked, err := f.svc.RevokeToken(f.ctx, &pb.RevokeTokenRequest{Id: tok.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if revoked.GetRevokeTime().AsTime() != accessNow {
		t.Fatalf("revoked %v", revoked)
	}
	_, err = authn.Authenticate(ctx, "Bearer "+made.GetSecret())
	if !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("a revoked token authenticates: %v", err)
	}
	if p, err := authn.Authenticate(ctx, "Bearer "+forever.GetSecret()); err != nil || p.ID != "u-lina" {
		t.Fatalf("revoking one token stopped another: %v", err)
	}
	if again, err := f.svc.RevokeToken(f.ctx, &pb.RevokeTokenRequest{Id: tok.GetId()}); err != nil || again.GetRevokeTime().AsTime() != accessNow {
		t.Fatalf("revoking twice: %v %v", again, err)
	}
	_, err = f.svc.RevokeToken(f.ctx, &pb.RevokeTokenRequest{Id: "no-such-token"})
	violation(t, err, codes.NotFound, "")
	_, err = f.svc.CreateToken(f.ctx, &pb.CreateTokenRequest{Principal: "u-nobody"})
	violation(t, err, codes.NotFound, "")

	// A token with a ttl stops when it runs out.
	short, err := f.svc.CreateToken(f.ctx, &pb.CreateTokenRequest{Principal: "u-lina", Ttl: durationpb.New(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	clock = accessNow.Add(time.Hour)
	if _, err := authn.Authenticate(ctx, "Bearer "+short.GetSecret()); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("an expired token authenticates: %v", err)
	}
}

func TestAccessAuditsEveryChange(t *testing.T) {
	t.Parallel()
	f := newAccessFixture(t)
	f.addLina(t)
	steps := []func() error{
		func() error {
			_, err := f.svc.GrantRole(f.ctx, &pb.GrantRoleRequest{Principal: "u-lina", Role: "unit_staff", Unit: "gz-tianhe"})
			return err
		},
		func() error {
			_, err := f.svc.RevokeRole(f.ctx, &pb.RevokeRoleRequest{Principal: "u-lina", Role: "unit_staff", Unit: "gz-tianhe"})
			return err
		},
		func() error {
			_, err := f.svc.ChangePolicy(f.ctx, &pb.ChangePolicyRequest{Add: []*pb.Rule{{Ptype: "p", Values: []string{"auditor", "*", "*", "read_stats"}}}})
			return err
		},
		func() error {
			_, err := f.svc.ImportPolicy(f.ctx, &pb.ImportPolicyRequest{Csv: "g, u-lina, auditor, gd\n"})
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	made, err := f.svc.CreateToken(f.ctx, &pb.CreateTokenRequest{Principal: "u-lina", Description: "对接测试"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RevokeToken(f.ctx, &pb.RevokeTokenRequest{Id: made.GetToken().GetId()}); err != nil {
		t.Fatal(err)
	}

	// Read it all back a page of two at a time.
	var entries []*pb.AuditEntry
	req := &pb.ListAuditRequest{Actor: admin.ID, PageSize: 2}
	for page := 0; ; page++ {
		resp, err := f.svc.ListAudit(f.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetEntries()) > 2 || page > 10 {
			t.Fatalf("page %d: %d entries", page, len(resp.GetEntries()))
		}
		entries = append(entries, resp.GetEntries()...)
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	detail := map[string]string{}
	var actions []string
	for i, e := range entries {
		if i > 0 && e.GetId() >= entries[i-1].GetId() {
			t.Fatalf("entries out of order: %v", entries)
		}
		if e.GetActor() != admin.ID {
			t.Fatalf("actor of %v", e)
		}
		if strings.Contains(e.GetDetail(), made.GetSecret()) {
			t.Fatalf("the secret is in the audit log: %v", e)
		}
		actions = append(actions, e.GetAction())
		detail[e.GetAction()] = e.GetDetail()
	}
	wantActions := []string{"token.revoke", "token.create", "policy.import", "policy.change", "policy.revoke", "policy.grant", "principal.create"}
	if !slices.Equal(actions, wantActions) {
		t.Fatalf("audit actions %q, want %q", actions, wantActions)
	}
	for action, want := range map[string]string{
		"principal.create": "李娜",
		"policy.grant":     "g, u-lina, unit_staff, gz-tianhe",
		"policy.revoke":    "g, u-lina, unit_staff, gz-tianhe",
		"policy.change":    "p, auditor, *, *, read_stats",
		"policy.import":    "g, u-lina, auditor, gd",
		"token.create":     made.GetToken().GetId(),
		"token.revoke":     made.GetToken().GetId(),
	} {
		if !strings.Contains(detail[action], want) {
			t.Errorf("%s detail %q lacks %q", action, detail[action], want)
		}
	}
	// Filters.
	resp, err := f.svc.ListAudit(f.ctx, &pb.ListAuditRequest{Action: "token.create"})
	if err != nil || len(resp.GetEntries()) != 1 || resp.GetEntries()[0].GetTime().AsTime() != accessNow {
		t.Fatalf("token.create entries: %v %v", resp, err)
	}
	if resp, err := f.svc.ListAudit(f.ctx, &pb.ListAuditRequest{Actor: "u-lina"}); err != nil || len(resp.GetEntries()) != 0 {
		t.Fatalf("u-lina's entries: %v %v", resp, err)
	}
}
