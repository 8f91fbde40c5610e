package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/internal/ids"
	"github.com/switchboard12345/switchboard/kb"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/taxonomy"
)

// Knowledge is the KnowledgeService: the knowledge base's entries in the
// store, and an in-memory search index (kb.Index) over them. The guard lets
// every principal read and search it and administrators change it.
//
// The index follows the store's revision: this instance's changes are
// applied to it at once; a change made through another instance sharing
// the store is picked up by the first search after RefreshEvery, which
// finds the store's revision moved and reloads the entries.
type Knowledge struct {
	pb.UnimplementedKnowledgeServiceServer

	store   store.Knowledge
	tax     *Taxonomy
	audit   store.Auth
	now     func() time.Time
	newID   func(time.Time) string
	log     *slog.Logger
	refresh time.Duration

	mu        sync.Mutex // guards the fields below and changes to ix
	ix        *kb.Index
	checked   time.Time // when the store's revision was last compared (wall clock)
	reloading bool      // a search is checking or reloading
}

// KnowledgeConfig is what Knowledge needs.
type KnowledgeConfig struct {
	Store store.Knowledge
	// Taxonomy, if set, checks entries' category codes against the current
	// taxonomy (when one was imported) and names their categories.
	Taxonomy *Taxonomy
	// Audit, if set, receives an entry for every change.
	Audit store.Auth
	// Now is the clock of changes and the default time of a search (nil:
	// time.Now); NewID makes entry ids (nil: ULIDs).
	Now   func() time.Time
	NewID func(time.Time) string
	// RefreshEvery is how often a search checks the store for changes made
	// through other instances (default DefaultKBRefresh).
	RefreshEvery time.Duration
	Logger       *slog.Logger
}

// DefaultKBRefresh is how stale the search index may be for changes made
// through another instance.
const DefaultKBRefresh = time.Second

// EntryIDPrefix starts the ids the service gives entries.
const EntryIDPrefix = "kb-"

// NewKnowledge returns the service. It does no I/O: the index is loaded by
// the first search (or Index).
func NewKnowledge(c KnowledgeConfig) *Knowledge {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.NewID == nil {
		c.NewID = ids.NewSource().New
	}
	if c.RefreshEvery <= 0 {
		c.RefreshEvery = DefaultKBRefresh
	}
	return &Knowledge{store: c.Store, tax: c.Taxonomy, audit: c.Audit, now: c.Now, newID: c.NewID, log: c.Logger, refresh: c.RefreshEvery}
}

func (s *Knowledge) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func (s *Knowledge) fail(ctx context.Context, err error) error {
	// A stale expected revision is Aborted, as the API documents (HTTP
	// 409); a taken id stays AlreadyExists.
	if errors.Is(err, store.ErrEntryChanged) {
		return status.Error(codes.Aborted, store.ErrEntryChanged.Msg)
	}
	return Status(ctx, s.log, err)
}

// Index returns the search index, loading it on first use and reloading it
// when the store has moved on (checked at most every RefreshEvery). Only
// the first load makes searches wait: a reload runs in one search while the
// others keep using the index as it was.
func (s *Knowledge) Index(ctx context.Context) (*kb.Index, error) {
	s.mu.Lock()
	if s.ix == nil {
		defer s.mu.Unlock()
		entries, rev, err := s.store.LoadKnowledge(ctx)
		if err != nil {
			return nil, err
		}
		s.ix = kb.NewIndex(entries, rev)
		s.checked = time.Now()
		s.log.InfoContext(ctx, "knowledge base indexed", "entries", len(entries), "revision", rev)
		return s.ix, nil
	}
	ix := s.ix
	// The wall clock, not s.now: this bounds staleness in real time.
	if s.reloading || time.Since(s.checked) < s.refresh {
		s.mu.Unlock()
		return ix, nil
	}
	s.checked = time.Now()
	s.reloading = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.reloading = false
		s.mu.Unlock()
	}()
	rev, err := s.store.KnowledgeRevision(ctx)
	if err != nil {
		// Searching a slightly stale index beats failing.
		s.log.WarnContext(ctx, "checking the knowledge base's revision", "err", err)
		return ix, nil
	}
	if rev != ix.Revision() {
		if err := s.reload(ctx); err != nil {
			s.log.WarnContext(ctx, "reloading the knowledge base", "err", err)
		}
	}
	return ix, nil
}

// reload indexes the store's entries afresh, unless a newer revision got
// into the index meanwhile (kb.Index.Reset swaps them in at once).
func (s *Knowledge) reload(ctx context.Context) error {
	entries, rev, err := s.store.LoadKnowledge(ctx)
	if err != nil {
		return err
	}
	fresh := kb.NewIndex(entries, rev)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ix.Revision() >= rev {
		return nil
	}
	s.ix.Replace(fresh)
	s.log.InfoContext(ctx, "knowledge base reindexed", "entries", len(entries), "revision", rev)
	return nil
}

// applied brings the index up to revision rev after this instance changed
// the store: the change alone when the index was at rev-1, everything
// afresh when another change came in between.
func (s *Knowledge) applied(ctx context.Context, put []kb.Entry, removed []string, rev int64) {
	s.mu.Lock()
	if s.ix == nil {
		s.mu.Unlock()
		return // the first search loads it
	}
	switch cur := s.ix.Revision(); {
	case cur >= rev:
		s.mu.Unlock()
		return
	case cur == rev-1 && len(put)+len(removed) > 0:
		s.ix.Apply(put, removed, rev)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if err := s.reload(ctx); err != nil {
		s.log.WarnContext(ctx, "reloading the knowledge base", "err", err)
		s.mu.Lock()
		s.checked = time.Time{} // the next search tries again
		s.mu.Unlock()
	}
}

// Search runs q on the current index; a zero q.At is now. It returns the
// hits and the knowledge base's revision they come from. Intake calls it to
// show the operator answers for a new request.
func (s *Knowledge) Search(ctx context.Context, q kb.Query) ([]kb.Hit, int64, error) {
	ix, err := s.Index(ctx)
	if err != nil {
		return nil, 0, err
	}
	if q.At.IsZero() {
		q.At = s.now()
	}
	return ix.SearchQuery(q), ix.Revision(), nil
}

// tree returns the current taxonomy, or nil when there is none.
func (s *Knowledge) tree(ctx context.Context) (*taxonomy.Tree, int64, error) {
	if s.tax == nil {
		return nil, 0, nil
	}
	return s.tax.treeOrEmpty(ctx, 0)
}

func entryToProto(e kb.Entry, t *taxonomy.Tree) *pb.KnowledgeEntry {
	out := &pb.KnowledgeEntry{
		Id: e.ID, Title: e.Title, Answer: e.Answer, Category: e.Category, Unit: e.Unit,
		ValidFrom: ts(e.ValidFrom), ValidUntil: ts(e.ValidUntil), Keywords: e.Keywords, Source: e.Source,
		Revision: e.Revision, CreateTime: ts(e.CreatedAt), CreatedBy: e.CreatedBy, UpdateTime: ts(e.UpdatedAt), UpdatedBy: e.UpdatedBy,
	}
	if t != nil && e.Category != "" {
		out.CategoryPath = t.PathName(e.Category, "/")
	}
	return out
}

// entryFromProto reads the content of p (field names its place in the
// request), adding violations of its times to v.
func entryFromProto(v *errs.Violations, field string, p *pb.KnowledgeEntry) kb.Entry {
	e := kb.Entry{ID: p.GetId(), Title: p.GetTitle(), Answer: p.GetAnswer(), Category: p.GetCategory(), Unit: p.GetUnit(),
		Keywords: p.GetKeywords(), Source: p.GetSource()}
	for _, f := range []struct {
		name string
		ts   *timestamppb.Timestamp
		dst  *time.Time
	}{{"validFrom", p.GetValidFrom(), &e.ValidFrom}, {"validUntil", p.GetValidUntil(), &e.ValidUntil}} {
		if f.ts == nil {
			continue
		}
		if err := f.ts.CheckValid(); err != nil {
			v.Add(field+f.name, "%v", err)
			continue
		}
		*f.dst = f.ts.AsTime()
	}
	e.Normalize()
	return e
}

// checkCategory adds a violation of field when code is not in the current
// taxonomy t (nil: no taxonomy, nothing to check against).
func checkCategory(v *errs.Violations, field, code string, t *taxonomy.Tree, version int64) {
	if t == nil || code == "" {
		return
	}
	if _, ok := t.Get(code); !ok {
		v.Add(field, "category %q is not in the current taxonomy (version %d)", code, version)
	}
}

func (s *Knowledge) auditChange(ctx context.Context, at time.Time, actor, action, detail string) {
	if s.audit == nil {
		return
	}
	if err := s.audit.Audit(ctx, store.AuditEntry{At: at, Actor: actor, Action: action, Detail: detail}); err != nil {
		s.log.WarnContext(ctx, "auditing a knowledge-base change", "action", action, "err", err)
	}
}

// CreateEntry implements pb.KnowledgeServiceServer.
func (s *Knowledge) CreateEntry(ctx context.Context, req *pb.CreateEntryRequest) (*pb.KnowledgeEntry, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if req.GetEntry() == nil {
		return nil, s.fail(ctx, errs.Invalidf("entry", "required"))
	}
	now := s.clock()
	var v errs.Violations
	e := entryFromProto(&v, "entry.", req.GetEntry())
	if e.ID == "" {
		e.ID = EntryIDPrefix + s.newID(now)
	}
	e.Check(&v, "entry.", true)
	t, version, err := s.tree(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	checkCategory(&v, "entry.category", e.Category, t, version)
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	e.CreatedAt, e.CreatedBy = now, who.ID
	created, err := s.store.CreateEntry(ctx, e)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.applied(ctx, []kb.Entry{created}, nil, created.Revision)
	s.auditChange(ctx, now, who.ID, AuditKBCreate, fmt.Sprintf("entry %s %q (revision %d)", created.ID, created.Title, created.Revision))
	return entryToProto(created, t), nil
}

// checkEntryID returns an Invalid error unless id can name an entry.
func checkEntryID(id string) error {
	switch {
	case id == "":
		return errs.Invalidf("id", "required")
	case !kb.ValidID(id):
		return errs.Invalidf("id", "must be 1 to %d letters, digits, '.', '_' or '-', got %q", kb.MaxIDLen, id)
	}
	return nil
}

// GetEntry implements pb.KnowledgeServiceServer.
func (s *Knowledge) GetEntry(ctx context.Context, req *pb.GetEntryRequest) (*pb.KnowledgeEntry, error) {
	if err := checkEntryID(req.GetId()); err != nil {
		return nil, s.fail(ctx, err)
	}
	e, err := s.store.GetEntry(ctx, req.GetId())
	if err != nil {
		return nil, s.fail(ctx, entryErr(err, req.GetId()))
	}
	t, _, err := s.tree(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return entryToProto(e, t), nil
}

// entryErr names entry id in a not-found error of the store.
func entryErr(err error, id string) error {
	if errors.Is(err, store.ErrEntryNotFound) {
		return errs.E(errs.NotFound, "knowledge-base entry %q not found", id)
	}
	return err
}

// UpdateEntry implements pb.KnowledgeServiceServer.
func (s *Knowledge) UpdateEntry(ctx context.Context, req *pb.UpdateEntryRequest) (*pb.KnowledgeEntry, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if err := checkEntryID(req.GetId()); err != nil {
		return nil, s.fail(ctx, err)
	}
	var v errs.Violations
	if req.GetEntry() == nil {
		v.Add("entry", "required")
	}
	if req.GetExpectedRevision() < 0 {
		v.Add("expectedRevision", "must not be negative")
	}
	e := entryFromProto(&v, "entry.", req.GetEntry())
	e.ID = req.GetId()
	if req.GetEntry() != nil {
		e.Check(&v, "entry.", true)
	}
	t, version, err := s.tree(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	checkCategory(&v, "entry.category", e.Category, t, version)
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	now := s.clock()
	e.UpdatedAt, e.UpdatedBy = now, who.ID
	updated, err := s.store.UpdateEntry(ctx, e, req.GetExpectedRevision())
	if err != nil {
		return nil, s.fail(ctx, entryErr(err, e.ID))
	}
	s.applied(ctx, []kb.Entry{updated}, nil, updated.Revision)
	s.auditChange(ctx, now, who.ID, AuditKBUpdate, fmt.Sprintf("entry %s %q (revision %d)", updated.ID, updated.Title, updated.Revision))
	return entryToProto(updated, t), nil
}

// DeleteEntry implements pb.KnowledgeServiceServer.
func (s *Knowledge) DeleteEntry(ctx context.Context, req *pb.DeleteEntryRequest) (*pb.DeleteEntryResponse, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if err := checkEntryID(req.GetId()); err != nil {
		return nil, s.fail(ctx, err)
	}
	if req.GetExpectedRevision() < 0 {
		return nil, s.fail(ctx, errs.Invalidf("expectedRevision", "must not be negative"))
	}
	rev, err := s.store.DeleteEntry(ctx, req.GetId(), req.GetExpectedRevision())
	if err != nil {
		return nil, s.fail(ctx, entryErr(err, req.GetId()))
	}
	s.applied(ctx, nil, []string{req.GetId()}, rev)
	s.auditChange(ctx, s.clock(), who.ID, AuditKBDelete, fmt.Sprintf("entry %s (revision %d)", req.GetId(), rev))
	return &pb.DeleteEntryResponse{Revision: rev}, nil
}

// checkCode adds a violation of field unless code looks like a category
// code (or is empty).
func checkCode(v *errs.Violations, field, code string) {
	if code == "" {
		return
	}
	e := kb.Entry{Category: code}
	var cv errs.Violations
	e.Check(&cv, "", false)
	for _, f := range cv {
		if f.Field == "category" {
			v.Add(field, "%s", f.Description)
		}
	}
}

// ListEntries implements pb.KnowledgeServiceServer.
func (s *Knowledge) ListEntries(ctx context.Context, req *pb.ListEntriesRequest) (*pb.ListEntriesResponse, error) {
	var v errs.Violations
	size := int(req.GetPageSize())
	switch {
	case size == 0:
		size = DefaultPageSize
	case size < 0 || size > MaxPageSize:
		v.Add("pageSize", "must be between 1 and %d, got %d", MaxPageSize, size)
	}
	after, ok := parseKeyToken(req.GetPageToken())
	if !ok {
		v.Add("pageToken", "not a page token of this list")
	}
	checkCode(&v, "category", req.GetCategory())
	checkText(&v, "unit", req.GetUnit(), kb.MaxUnit)
	q := store.EntryQuery{CategoryPrefix: req.GetCategory(), Unit: req.GetUnit(), PageSize: size, After: after}
	if at := req.GetValidAt(); at != nil {
		if err := at.CheckValid(); err != nil {
			v.Add("validAt", "%v", err)
		} else {
			q.ValidAt = at.AsTime()
		}
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	entries, more, err := s.store.ListEntries(ctx, q)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	t, _, err := s.tree(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &pb.ListEntriesResponse{}
	for _, e := range entries {
		out.Entries = append(out.Entries, entryToProto(e, t))
	}
	if more {
		out.NextPageToken = keyToken(entries[len(entries)-1].ID)
	}
	return out, nil
}

// MaxSearchText bounds the text of a search, in characters (the index
// reads the first kb.MaxQueryRunes of it).
const MaxSearchText = 20000

// SearchEntries implements pb.KnowledgeServiceServer.
func (s *Knowledge) SearchEntries(ctx context.Context, req *pb.SearchEntriesRequest) (*pb.SearchEntriesResponse, error) {
	var v errs.Violations
	if strings.TrimSpace(req.GetText()) == "" {
		v.Add("text", "required")
	}
	checkText(&v, "text", req.GetText(), MaxSearchText)
	if k := req.GetK(); k < 0 || k > kb.MaxK {
		v.Add("k", "must be between 0 and %d, got %d", kb.MaxK, k)
	}
	checkCode(&v, "category", req.GetCategory())
	q := kb.Query{Text: req.GetText(), K: int(req.GetK()), Category: req.GetCategory()}
	if at := req.GetAt(); at != nil {
		if err := at.CheckValid(); err != nil {
			v.Add("at", "%v", err)
		} else {
			q.At = at.AsTime()
		}
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	hits, rev, err := s.Search(ctx, q)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	t, _, err := s.tree(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &pb.SearchEntriesResponse{Revision: rev}
	for _, h := range hits {
		ph := &pb.SearchHit{Entry: entryToProto(h.Entry, t), Score: round4(h.Score), Snippet: h.Snippet}
		for _, sp := range h.Highlights {
			ph.Highlights = append(ph.Highlights, &pb.Highlight{Start: int32(sp.Start), End: int32(sp.End)})
		}
		out.Hits = append(out.Hits, ph)
	}
	return out, nil
}

// ImportEntries implements pb.KnowledgeServiceServer. Entries without an id
// get one; their categories are checked against the current taxonomy.
func (s *Knowledge) ImportEntries(ctx context.Context, req *pb.ImportEntriesRequest) (*pb.ImportEntriesResponse, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	var v errs.Violations
	if req.GetContent() == "" {
		v.Add("content", "required: the entries as YAML or CSV")
	}
	switch strings.ToLower(req.GetFormat()) {
	case "", "csv", "yaml", "yml", "json":
	default:
		v.Add("format", "csv or yaml (or empty to detect it), got %q", req.GetFormat())
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	entries, err := kb.ParseEntries([]byte(req.GetContent()), req.GetFormat())
	if err != nil {
		var es kb.Errors
		if errors.As(err, &es) {
			return nil, s.fail(ctx, parseErrors("content", es))
		}
		return nil, s.fail(ctx, errs.Invalidf("content", "%v", err))
	}
	if len(entries) == 0 && !req.GetReplace() {
		return nil, s.fail(ctx, errs.Invalidf("content", "holds no entries"))
	}
	t, version, err := s.tree(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	now := s.clock()
	for i := range entries {
		e := &entries[i]
		if e.ID == "" {
			e.ID = EntryIDPrefix + s.newID(now)
		}
		if t != nil && e.Category != "" {
			if _, ok := t.Get(e.Category); !ok {
				v.Add("content", "entry %d (%s): category %q is not in the current taxonomy (version %d)", i+1, e.ID, e.Category, version)
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	if req.GetValidateOnly() {
		return s.dryRun(ctx, entries, req.GetReplace())
	}
	res, err := s.store.ImportEntries(ctx, store.EntryImport{Entries: entries, Replace: req.GetReplace(), At: now, Actor: who.ID})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if res.Created+res.Updated+res.Deleted > 0 {
		s.applied(ctx, nil, nil, res.Revision)
		s.auditChange(ctx, now, who.ID, AuditKBImport, fmt.Sprintf("%d created, %d updated, %d unchanged, %d deleted (replace %v); revision %d",
			res.Created, res.Updated, res.Unchanged, res.Deleted, req.GetReplace(), res.Revision))
	}
	s.log.InfoContext(ctx, "knowledge base imported", "created", res.Created, "updated", res.Updated, "unchanged", res.Unchanged,
		"deleted", res.Deleted, "revision", res.Revision, "actor", who.ID)
	return &pb.ImportEntriesResponse{Created: int32(res.Created), Updated: int32(res.Updated), Unchanged: int32(res.Unchanged),
		Deleted: int32(res.Deleted), Revision: res.Revision}, nil
}

// dryRun says what importing entries would do, comparing with the store.
func (s *Knowledge) dryRun(ctx context.Context, entries []kb.Entry, replace bool) (*pb.ImportEntriesResponse, error) {
	current, rev, err := s.store.LoadKnowledge(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	byID := make(map[string]kb.Entry, len(current))
	for _, e := range current {
		byID[e.ID] = e
	}
	out := &pb.ImportEntriesResponse{Revision: rev}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.ID] = true
		old, ok := byID[e.ID]
		switch {
		case !ok:
			out.Created++
		case sameEntry(old, e):
			out.Unchanged++
		default:
			out.Updated++
		}
	}
	if replace {
		for id := range byID {
			if !seen[id] {
				out.Deleted++
			}
		}
	}
	return out, nil
}

// sameEntry reports whether a and b say the same, as the store compares
// them (times to the millisecond).
func sameEntry(a, b kb.Entry) bool {
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	}
	return a.Title == b.Title && a.Answer == b.Answer && a.Category == b.Category && a.Unit == b.Unit &&
		ms(a.ValidFrom) == ms(b.ValidFrom) && ms(a.ValidUntil) == ms(b.ValidUntil) &&
		strings.Join(a.Keywords, "\x00") == strings.Join(b.Keywords, "\x00") && a.Source == b.Source
}
