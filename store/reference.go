package store

import (
	"context"
	"time"

	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/kb"
	"github.com/switchboard12345/switchboard/taxonomy"
)

// ErrTaxonomyNotFound is returned (wrapped) for an unknown taxonomy version,
// or for the current one before any was imported.
var ErrTaxonomyNotFound = &errs.Error{Kind: errs.NotFound, Msg: "taxonomy version not found"}

// ErrEntryNotFound is returned (wrapped) for an unknown knowledge-base entry.
var ErrEntryNotFound = &errs.Error{Kind: errs.NotFound, Msg: "knowledge-base entry not found"}

// ErrEntryExists is returned (wrapped) when a new entry's ID is taken.
var ErrEntryExists = &errs.Error{Kind: errs.Conflict, Msg: "a knowledge-base entry with this id exists already"}

// ErrEntryChanged is returned (wrapped) when a change names a revision of
// an entry that is no longer its current one.
var ErrEntryChanged = &errs.Error{Kind: errs.Conflict, Msg: "the knowledge-base entry was changed concurrently; read it again"}

// Taxonomies keeps the category tree as versions: each import is a new,
// immutable version recording who imported it, when and from what; the
// current taxonomy is the newest version. sqlstore implements it; storetest
// checks it.
type Taxonomies interface {
	// ImportTaxonomy stores v.Categories (a validated tree, parents before
	// children) as a new version, numbered one more than the newest, and
	// returns the stored version without its categories. The store checks
	// only what it needs: at least one category, codes and names present
	// and codes unique (an Invalid error names the field).
	ImportTaxonomy(ctx context.Context, v TaxonomyVersion) (TaxonomyVersion, error)
	// TaxonomyVersions lists every version, newest first, without their
	// categories.
	TaxonomyVersions(ctx context.Context) ([]TaxonomyVersion, error)
	// Taxonomy returns version (0: the current one) with its categories in
	// the order they were imported, or ErrTaxonomyNotFound.
	Taxonomy(ctx context.Context, version int64) (TaxonomyVersion, error)
	// CurrentTaxonomyVersion returns the number of the current version, 0
	// before any import: a cheap check of whether a cached tree is stale.
	CurrentTaxonomyVersion(ctx context.Context) (int64, error)
}

// TaxonomyVersion is one imported version of the category tree.
type TaxonomyVersion struct {
	Version   int64 // assigned by the store: 1, 2, …
	CreatedAt time.Time
	CreatedBy string // principal id
	// Source says what was imported, e.g. a file name.
	Source string
	Note   string
	// Count is how many categories the version has (also when Categories
	// is left out).
	Count      int
	Categories []taxonomy.Category
}

// Knowledge keeps the knowledge base's entries (kb.Entry) under one
// revision counter: every change (a creation, an update, a deletion or a
// whole import) increments the knowledge base's revision by one, and the
// entries it writes carry that revision, so a reader that holds revision r
// knows exactly whether it is current. sqlstore implements it; storetest
// checks it.
type Knowledge interface {
	// CreateEntry stores a new entry (e.ID set by the caller; CreatedAt
	// and CreatedBy too, UpdatedAt/UpdatedBy default to them) and returns
	// it with its revision. A taken ID is ErrEntryExists; a field that
	// cannot be stored an Invalid error naming it.
	CreateEntry(ctx context.Context, e kb.Entry) (kb.Entry, error)
	// GetEntry returns entry id or ErrEntryNotFound.
	GetEntry(ctx context.Context, id string) (kb.Entry, error)
	// UpdateEntry replaces the content of entry e.ID (its creation stays)
	// and returns it with its new revision. When expected is not 0 and the
	// entry's revision differs, nothing changes: ErrEntryChanged. An
	// unknown entry is ErrEntryNotFound.
	UpdateEntry(ctx context.Context, e kb.Entry, expected int64) (kb.Entry, error)
	// DeleteEntry removes entry id, under the same check of expected as
	// UpdateEntry, and returns the knowledge base's new revision.
	DeleteEntry(ctx context.Context, id string, expected int64) (int64, error)
	// ListEntries returns one page of the entries matching q, ordered by
	// ID, and whether another page follows.
	ListEntries(ctx context.Context, q EntryQuery) ([]kb.Entry, bool, error)
	// ImportEntries creates or updates (by ID) every entry of imp in one
	// transaction; entries whose content is unchanged are left as they are.
	// With imp.Replace, entries not in imp are deleted. Everything is
	// checked before anything is written. The knowledge base's revision
	// grows by one if anything changed.
	ImportEntries(ctx context.Context, imp EntryImport) (ImportResult, error)
	// LoadKnowledge returns every entry and the revision they make up, read
	// in one consistent snapshot (for building a search index).
	LoadKnowledge(ctx context.Context) ([]kb.Entry, int64, error)
	// KnowledgeRevision returns the knowledge base's revision (0 before any
	// change).
	KnowledgeRevision(ctx context.Context) (int64, error)
}

// EntryQuery selects entries for a list; empty fields match everything.
type EntryQuery struct {
	// CategoryPrefix keeps entries whose category starts with it.
	CategoryPrefix string
	// Unit keeps the entries of one issuing unit.
	Unit string
	// ValidAt, when set, keeps the entries valid at that moment.
	ValidAt time.Time
	// PageSize is at least 1; After is the ID of the last entry of the
	// previous page ("" for the first).
	PageSize int
	After    string
}

// EntryImport is a batch of entries to store at once.
type EntryImport struct {
	Entries []kb.Entry // each with an ID
	// Replace deletes the entries that are not in Entries.
	Replace bool
	// At and Actor stamp what is created or updated.
	At    time.Time
	Actor string
}

// ImportResult says what an import did.
type ImportResult struct {
	Created, Updated, Unchanged, Deleted int
	// Revision is the knowledge base's revision after the import.
	Revision int64
}
