package service_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/gateway/auth"
	"github.com/switchboard12345/switchboard/gateway/service"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

// refNow is the fixed clock of the reference-data tests.
var refNow = time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)

// refStore opens a SQLite store for one test.
func refStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "switchboard.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// asAdmin is a context carrying an authenticated administrator, as the
// guard leaves it.
func asAdmin() context.Context {
	return auth.WithPrincipal(context.Background(), store.Principal{ID: "u-admin", Name: "管理员", Kind: store.PrincipalUser, Unit: "gd"})
}

func newTaxonomy(st *sqlstore.Store) *service.Taxonomy {
	return service.NewTaxonomy(service.TaxonomyConfig{Store: st, Audit: st, Now: func() time.Time { return refNow }})
}

func importExample(t *testing.T, svc *service.Taxonomy) *pb.TaxonomyVersion {
	t.Helper()
	v, err := svc.ImportTaxonomy(asAdmin(), &pb.ImportTaxonomyRequest{Content: string(examples.Categories), Source: "categories.csv", Note: "示例（编码非官方）"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestTaxonomyBeforeImport(t *testing.T) {
	t.Parallel()
	svc := newTaxonomy(refStore(t))
	ctx := context.Background()
	list, err := svc.ListCategories(ctx, &pb.ListCategoriesRequest{})
	if err != nil || len(list.GetCategories()) != 0 || list.GetVersion() != 0 {
		t.Errorf("ListCategories = %v, %v", list, err)
	}
	if s, err := svc.SearchCategories(ctx, &pb.SearchCategoriesRequest{Query: "燃气"}); err != nil || len(s.GetMatches()) != 0 {
		t.Errorf("SearchCategories = %v, %v", s, err)
	}
	_, err = svc.GetCategory(ctx, &pb.GetCategoryRequest{Code: "01"})
	if msg := violation(t, err, codes.NotFound, ""); !strings.Contains(msg, "switchboard category import") {
		t.Errorf("message %q", msg)
	}
	if v, err := svc.ListTaxonomyVersions(ctx, &pb.ListTaxonomyVersionsRequest{}); err != nil || len(v.GetVersions()) != 0 {
		t.Errorf("ListTaxonomyVersions = %v, %v", v, err)
	}
}

func TestTaxonomyImportAndBrowse(t *testing.T) {
	t.Parallel()
	st := refStore(t)
	svc := newTaxonomy(st)
	ctx := context.Background()
	v := importExample(t, svc)
	if v.GetVersion() != 1 || v.GetCategories() != 650 || !slices.Equal(v.GetPerLevel(), []int32{15, 118, 517}) || !v.GetCurrent() ||
		v.GetCreatedBy() != "u-admin" || !v.GetCreateTime().AsTime().Equal(refNow) {
		t.Errorf("import = %v", v)
	}
	roots, err := svc.ListCategories(ctx, &pb.ListCategoriesRequest{})
	if err != nil || len(roots.GetCategories()) != 15 || roots.GetCategories()[0].GetName() != "城乡建设" || roots.GetCategories()[0].GetChildCount() != 10 {
		t.Fatalf("roots = %v, %v", roots, err)
	}
	kids, err := svc.ListCategories(ctx, &pb.ListCategoriesRequest{Parent: "0102"})
	if err != nil || len(kids.GetCategories()) != 16 || kids.GetCategories()[12].GetName() != "燃气供应" || kids.GetVersion() != 1 {
		t.Fatalf("children of 0102 = %v, %v", kids, err)
	}
	all, err := svc.ListCategories(ctx, &pb.ListCategoriesRequest{All: true})
	if err != nil || len(all.GetCategories()) != 650 {
		t.Fatalf("all = %d, %v", len(all.GetCategories()), err)
	}
	_, err = svc.ListCategories(ctx, &pb.ListCategoriesRequest{Parent: "99"})
	violation(t, err, codes.NotFound, "")
	c, err := svc.GetCategory(ctx, &pb.GetCategoryRequest{Code: "010213"})
	if err != nil {
		t.Fatal(err)
	}
	var path []string
	for _, p := range c.GetPath() {
		path = append(path, p.GetCode()+" "+p.GetName())
	}
	if c.GetName() != "燃气供应" || c.GetLevel() != 3 || !slices.Equal(path, []string{"01 城乡建设", "0102 城市建设和市政管理", "010213 燃气供应"}) {
		t.Errorf("GetCategory = %v", c)
	}
	s, err := svc.SearchCategories(ctx, &pb.SearchCategoriesRequest{Query: "燃气", Limit: 3})
	if err != nil || len(s.GetMatches()) == 0 || s.GetMatches()[0].GetCategory().GetCode() != "010213" || s.GetMatches()[0].GetMatchedBy() != "name" ||
		len(s.GetMatches()[0].GetCategory().GetPath()) != 3 {
		t.Errorf("SearchCategories = %v, %v", s, err)
	}
	// The import was audited.
	entries, _, err := st.ListAudit(ctx, store.AuditQuery{Action: service.AuditTaxonomyImport, PageSize: 10})
	if err != nil || len(entries) != 1 || entries[0].Actor != "u-admin" || !strings.Contains(entries[0].Detail, "650 categories") {
		t.Errorf("audit = %v, %v", entries, err)
	}
}

func TestTaxonomyVersions(t *testing.T) {
	t.Parallel()
	st := refStore(t)
	a := newTaxonomy(st)
	importExample(t, a)
	// A second instance on the same store, as on a shared PostgreSQL.
	b := newTaxonomy(st)
	if c, err := b.GetCategory(context.Background(), &pb.GetCategoryRequest{Code: "010213"}); err != nil || c.GetVersion() != 1 {
		t.Fatalf("the other instance: %v, %v", c, err)
	}
	v2, err := a.ImportTaxonomy(asAdmin(), &pb.ImportTaxonomyRequest{Content: "一级分类,二级分类,三级分类\n城乡建设,市政设施,路灯\n城乡建设,市政设施,井盖\n环境保护,噪声,\n", Source: "新分类.csv"})
	if err != nil || v2.GetVersion() != 2 || !slices.Equal(v2.GetPerLevel(), []int32{2, 2, 2}) {
		t.Fatalf("second import = %v, %v", v2, err)
	}
	ctx := context.Background()
	// The other instance follows at once: the current version is asked of
	// the store.
	if c, err := b.GetCategory(ctx, &pb.GetCategoryRequest{Code: "010101"}); err != nil || c.GetName() != "路灯" || c.GetVersion() != 2 {
		t.Errorf("current after the second import: %v, %v", c, err)
	}
	if c, err := b.GetCategory(ctx, &pb.GetCategoryRequest{Code: "010101", Version: 1}); err != nil || c.GetName() != "事故处理" {
		t.Errorf("version 1: %v, %v", c, err)
	}
	_, err = b.GetCategory(ctx, &pb.GetCategoryRequest{Code: "01", Version: 7})
	violation(t, err, codes.NotFound, "")
	vs, err := b.ListTaxonomyVersions(ctx, &pb.ListTaxonomyVersionsRequest{})
	if err != nil || len(vs.GetVersions()) != 2 {
		t.Fatalf("versions = %v, %v", vs, err)
	}
	if got := vs.GetVersions(); got[0].GetVersion() != 2 || !got[0].GetCurrent() || got[1].GetCurrent() || got[1].GetSource() != "categories.csv" ||
		got[1].GetNote() != "示例（编码非官方）" || !slices.Equal(got[1].GetPerLevel(), []int32{15, 118, 517}) {
		t.Errorf("versions = %v", got)
	}
}

func TestTaxonomyRefusals(t *testing.T) {
	t.Parallel()
	st := refStore(t)
	svc := newTaxonomy(st)
	_, err := svc.ImportTaxonomy(context.Background(), &pb.ImportTaxonomyRequest{Content: "x"})
	violation(t, err, codes.Unauthenticated, "")
	_, err = svc.ImportTaxonomy(asAdmin(), &pb.ImportTaxonomyRequest{})
	violation(t, err, codes.InvalidArgument, "content")
	_, err = svc.ImportTaxonomy(asAdmin(), &pb.ImportTaxonomyRequest{Content: "code,level,name,parent\n", Format: "xlsx"})
	violation(t, err, codes.InvalidArgument, "format")
	_, err = svc.ImportTaxonomy(asAdmin(), &pb.ImportTaxonomyRequest{Content: "code,level,name,parent\n01,1,城乡建设,\n0201,2,噪音污染,02\n"})
	if d := violation(t, err, codes.InvalidArgument, "content"); d != "line 3: parent 02 of 0201 does not exist" {
		t.Errorf("violation %q", d)
	}
	// A dry run checks and counts but stores nothing.
	v, err := svc.ImportTaxonomy(asAdmin(), &pb.ImportTaxonomyRequest{Content: string(examples.Categories), ValidateOnly: true})
	if err != nil || v.GetVersion() != 0 || v.GetCategories() != 650 {
		t.Errorf("validate only = %v, %v", v, err)
	}
	if cur, _ := st.CurrentTaxonomyVersion(context.Background()); cur != 0 {
		t.Errorf("refusals and a dry run stored version %d", cur)
	}
	_, err = svc.SearchCategories(context.Background(), &pb.SearchCategoriesRequest{Query: " "})
	violation(t, err, codes.InvalidArgument, "query")
	_, err = svc.SearchCategories(context.Background(), &pb.SearchCategoriesRequest{Query: "燃气", Limit: 9999})
	violation(t, err, codes.InvalidArgument, "limit")
	_, err = svc.GetCategory(context.Background(), &pb.GetCategoryRequest{})
	violation(t, err, codes.InvalidArgument, "code")
}
