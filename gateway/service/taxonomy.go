package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/taxonomy"
)

// Taxonomy is the TaxonomyService: the category tree in versions, browsing
// and search. The guard lets every principal read it and administrators
// import it. Versions never change once stored, so their trees are cached;
// which one is current is asked of the store on every read (one indexed
// row), so every instance sees an import at once.
type Taxonomy struct {
	pb.UnimplementedTaxonomyServiceServer

	store store.Taxonomies
	audit store.Auth
	now   func() time.Time
	log   *slog.Logger

	mu    sync.Mutex
	trees map[int64]*taxonomy.Tree
}

// TaxonomyConfig is what Taxonomy needs.
type TaxonomyConfig struct {
	Store store.Taxonomies
	// Audit, if set, receives an entry for every import.
	Audit  store.Auth
	Now    func() time.Time
	Logger *slog.Logger
}

// NewTaxonomy returns the service.
func NewTaxonomy(c TaxonomyConfig) *Taxonomy {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Taxonomy{store: c.Store, audit: c.Audit, now: c.Now, log: c.Logger, trees: map[int64]*taxonomy.Tree{}}
}

// Limits of the TaxonomyService's requests.
const (
	MaxSourceLen = 200 // characters of an import's source
	MaxNoteLen   = 500 // characters of an import's note
	MaxQueryLen  = 200 // characters of a category search
	// maxCachedTrees bounds the versions kept in memory.
	maxCachedTrees = 8
)

// Audit log actions of the reference-data services.
const (
	AuditTaxonomyImport = "taxonomy.import"
	AuditKBCreate       = "kb.create"
	AuditKBUpdate       = "kb.update"
	AuditKBDelete       = "kb.delete"
	AuditKBImport       = "kb.import"
)

func (s *Taxonomy) fail(ctx context.Context, err error) error { return Status(ctx, s.log, err) }

func (s *Taxonomy) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// errNoTaxonomy says that no taxonomy was imported yet.
var errNoTaxonomy = errs.E(errs.NotFound, "no taxonomy has been imported yet; import one with `switchboard category import FILE`")

// Tree returns taxonomy version (0: the current one) and its number. Before
// any import it fails with a NotFound error.
func (s *Taxonomy) Tree(ctx context.Context, version int64) (*taxonomy.Tree, int64, error) {
	if version < 0 {
		return nil, 0, errs.Invalidf("version", "must not be negative, got %d", version)
	}
	if version == 0 {
		cur, err := s.store.CurrentTaxonomyVersion(ctx)
		if err != nil {
			return nil, 0, err
		}
		if cur == 0 {
			return nil, 0, errNoTaxonomy
		}
		version = cur
	}
	s.mu.Lock()
	t := s.trees[version]
	s.mu.Unlock()
	if t != nil {
		return t, version, nil
	}
	v, err := s.store.Taxonomy(ctx, version)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, 0, errs.E(errs.NotFound, "taxonomy version %d not found", version)
		}
		return nil, 0, err
	}
	t, err = taxonomy.New(v.Categories)
	if err != nil {
		return nil, 0, fmt.Errorf("taxonomy version %d as stored: %w", version, err)
	}
	s.remember(version, t)
	return t, version, nil
}

// remember caches tree t of version, forgetting the oldest beyond the bound.
func (s *Taxonomy) remember(version int64, t *taxonomy.Tree) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trees[version] = t
	for len(s.trees) > maxCachedTrees {
		oldest := version
		for v := range s.trees {
			oldest = min(oldest, v)
		}
		delete(s.trees, oldest)
	}
}

// treeOrEmpty is Tree for lists: before any import of a current taxonomy it
// returns nil and no error.
func (s *Taxonomy) treeOrEmpty(ctx context.Context, version int64) (*taxonomy.Tree, int64, error) {
	t, v, err := s.Tree(ctx, version)
	if version == 0 && errors.Is(err, errNoTaxonomy) {
		return nil, 0, nil
	}
	return t, v, err
}

func categoryToProto(t *taxonomy.Tree, c taxonomy.Category, version int64, withPath bool) *pb.Category {
	out := &pb.Category{Code: c.Code, Name: c.Name, Level: int32(c.Level), Parent: c.Parent,
		ChildCount: int32(t.ChildCount(c.Code)), Version: version}
	if withPath {
		for _, p := range t.Path(c.Code) {
			out.Path = append(out.Path, &pb.CategoryRef{Code: p.Code, Name: p.Name})
		}
	}
	return out
}

func perLevel(t *taxonomy.Tree) []int32 {
	counts := t.CountByLevel()
	out := make([]int32, len(counts))
	for i, n := range counts {
		out[i] = int32(n)
	}
	return out
}

// checkText adds a violation of field when s is longer than n characters
// or not valid UTF-8.
func checkText(v *errs.Violations, field, s string, n int) {
	switch {
	case !utf8.ValidString(s):
		v.Add(field, "not valid UTF-8")
	case utf8.RuneCountInString(s) > n:
		v.Add(field, "at most %d characters, got %d", n, utf8.RuneCountInString(s))
	}
}

// parseErrors turns the errors of a parser (a list naming lines) into
// violations of field.
func parseErrors[E interface{ Error() string }](field string, list []E) error {
	var v errs.Violations
	for _, e := range list {
		v.Add(field, "%s", e.Error())
	}
	return v.Err()
}

// ImportTaxonomy implements pb.TaxonomyServiceServer.
func (s *Taxonomy) ImportTaxonomy(ctx context.Context, req *pb.ImportTaxonomyRequest) (*pb.TaxonomyVersion, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	var v errs.Violations
	if req.GetContent() == "" {
		v.Add("content", "required: the tree as CSV or YAML")
	}
	switch strings.ToLower(req.GetFormat()) {
	case "", "csv", "yaml", "yml", "json":
	default:
		v.Add("format", "csv or yaml (or empty to detect it), got %q", req.GetFormat())
	}
	checkText(&v, "source", req.GetSource(), MaxSourceLen)
	checkText(&v, "note", req.GetNote(), MaxNoteLen)
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	tree, err := taxonomy.Parse([]byte(req.GetContent()), req.GetFormat())
	if err != nil {
		var es taxonomy.Errors
		if errors.As(err, &es) {
			return nil, s.fail(ctx, parseErrors("content", es))
		}
		return nil, s.fail(ctx, errs.Invalidf("content", "%v", err))
	}
	out := &pb.TaxonomyVersion{Source: req.GetSource(), Note: req.GetNote(), Categories: int32(tree.Len()), PerLevel: perLevel(tree)}
	if req.GetValidateOnly() {
		return out, nil
	}
	stored, err := s.store.ImportTaxonomy(ctx, store.TaxonomyVersion{CreatedAt: s.clock(), CreatedBy: who.ID,
		Source: req.GetSource(), Note: req.GetNote(), Categories: tree.All()})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.remember(stored.Version, tree)
	out.Version, out.CreateTime, out.CreatedBy, out.Current = stored.Version, ts(stored.CreatedAt), stored.CreatedBy, true
	if s.audit != nil {
		detail := fmt.Sprintf("version %d from %q: %d categories, per level %v", stored.Version, stored.Source, tree.Len(), tree.CountByLevel())
		if err := s.audit.Audit(ctx, store.AuditEntry{At: stored.CreatedAt, Actor: who.ID, Action: AuditTaxonomyImport, Detail: detail}); err != nil {
			s.log.WarnContext(ctx, "auditing a taxonomy import", "err", err)
		}
	}
	s.log.InfoContext(ctx, "taxonomy imported", "version", stored.Version, "categories", tree.Len(), "actor", who.ID)
	return out, nil
}

// ListTaxonomyVersions implements pb.TaxonomyServiceServer. The counts per
// level are given for the newest versions.
func (s *Taxonomy) ListTaxonomyVersions(ctx context.Context, _ *pb.ListTaxonomyVersionsRequest) (*pb.ListTaxonomyVersionsResponse, error) {
	vs, err := s.store.TaxonomyVersions(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &pb.ListTaxonomyVersionsResponse{}
	for i, v := range vs {
		pv := &pb.TaxonomyVersion{Version: v.Version, CreateTime: ts(v.CreatedAt), CreatedBy: v.CreatedBy, Source: v.Source,
			Note: v.Note, Categories: int32(v.Count), Current: i == 0}
		if i < maxCachedTrees {
			if t, _, err := s.Tree(ctx, v.Version); err == nil {
				pv.PerLevel = perLevel(t)
			}
		}
		out.Versions = append(out.Versions, pv)
	}
	return out, nil
}

// ListCategories implements pb.TaxonomyServiceServer. Before any import the
// current taxonomy is empty.
func (s *Taxonomy) ListCategories(ctx context.Context, req *pb.ListCategoriesRequest) (*pb.ListCategoriesResponse, error) {
	t, version, err := s.treeOrEmpty(ctx, req.GetVersion())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &pb.ListCategoriesResponse{Version: version}
	if t == nil {
		if req.GetParent() != "" {
			return nil, s.fail(ctx, errNoTaxonomy)
		}
		return out, nil
	}
	var cats []taxonomy.Category
	switch {
	case req.GetAll():
		cats = t.All()
	case req.GetParent() != "":
		if _, ok := t.Get(req.GetParent()); !ok {
			return nil, s.fail(ctx, errs.E(errs.NotFound, "category %q not found in taxonomy version %d", req.GetParent(), version))
		}
		cats = t.Children(req.GetParent())
	default:
		cats = t.Children("")
	}
	for _, c := range cats {
		out.Categories = append(out.Categories, categoryToProto(t, c, version, false))
	}
	return out, nil
}

// GetCategory implements pb.TaxonomyServiceServer.
func (s *Taxonomy) GetCategory(ctx context.Context, req *pb.GetCategoryRequest) (*pb.Category, error) {
	if req.GetCode() == "" {
		return nil, s.fail(ctx, errs.Invalidf("code", "required"))
	}
	t, version, err := s.Tree(ctx, req.GetVersion())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	c, ok := t.Get(req.GetCode())
	if !ok {
		return nil, s.fail(ctx, errs.E(errs.NotFound, "category %q not found in taxonomy version %d", req.GetCode(), version))
	}
	return categoryToProto(t, c, version, true), nil
}

// SearchCategories implements pb.TaxonomyServiceServer.
func (s *Taxonomy) SearchCategories(ctx context.Context, req *pb.SearchCategoriesRequest) (*pb.SearchCategoriesResponse, error) {
	var v errs.Violations
	if strings.TrimSpace(req.GetQuery()) == "" {
		v.Add("query", "required")
	}
	checkText(&v, "query", req.GetQuery(), MaxQueryLen)
	if l := req.GetLimit(); l < 0 || l > taxonomy.MaxSearchLimit {
		v.Add("limit", "must be between 0 and %d, got %d", taxonomy.MaxSearchLimit, l)
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	t, version, err := s.treeOrEmpty(ctx, req.GetVersion())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &pb.SearchCategoriesResponse{Version: version}
	if t == nil {
		return out, nil
	}
	for _, m := range t.Search(req.GetQuery(), int(req.GetLimit())) {
		out.Matches = append(out.Matches, &pb.SearchCategoriesResponse_Match{
			Category: categoryToProto(t, m.Category, version, true), Score: round4(m.Score), MatchedBy: m.By})
	}
	return out, nil
}

// round4 rounds a score to four decimals for the API.
func round4(x float64) float64 {
	const f = 1e4
	if x < 0 {
		return -float64(int64(-x*f+0.5)) / f
	}
	return float64(int64(x*f+0.5)) / f
}
