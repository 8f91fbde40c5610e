package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/kb"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/taxonomy"
)

// The store.Taxonomies and store.Knowledge tables (migration 0006):
// taxonomy_versions with their taxonomy_categories and taxonomy_meta, and
// kb_entries with kb_meta. Writes go through the group commit; every check
// that can refuse a write runs before the write.

var (
	_ store.Taxonomies = (*Store)(nil)
	_ store.Knowledge  = (*Store)(nil)
)

// rowsPerInsert bounds the rows of one multi-row INSERT.
const rowsPerInsert = 100

// insertRows inserts rows (each with len(cols) values) into table with
// multi-row INSERT statements.
func (s *Store) insertRows(tx *sql.Tx, table string, cols []string, rows [][]any) error {
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	for len(rows) > 0 {
		n := min(len(rows), rowsPerInsert)
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, n*len(cols))
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
			args = append(args, rows[i]...)
		}
		if _, err := tx.Exec(s.q(b.String()), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// ---- taxonomies ----

// ImportTaxonomy implements store.Taxonomies. A zero CreatedAt is now.
func (s *Store) ImportTaxonomy(ctx context.Context, v store.TaxonomyVersion) (store.TaxonomyVersion, error) {
	var vs errs.Violations
	if len(v.Categories) == 0 {
		vs.Add("categories", "required")
	}
	seen := make(map[string]bool, len(v.Categories))
	for i, c := range v.Categories {
		switch {
		case c.Code == "":
			vs.Add(fmt.Sprintf("categories[%d].code", i), "required")
		case seen[c.Code]:
			vs.Add(fmt.Sprintf("categories[%d].code", i), "%s is repeated", c.Code)
		}
		seen[c.Code] = true
		if c.Name == "" {
			vs.Add(fmt.Sprintf("categories[%d].name", i), "required")
		}
		if len(vs) >= 20 {
			break
		}
	}
	if err := vs.Err(); err != nil {
		return store.TaxonomyVersion{}, fmt.Errorf("importing taxonomy: %w", err)
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = time.Now()
	}
	v.CreatedAt = toMillis(v.CreatedAt)
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		// The version first: on PostgreSQL its row lock serialises imports.
		if err := tx.QueryRow(`UPDATE taxonomy_meta SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&v.Version); err != nil {
			return err
		}
		if _, err := tx.Exec(s.q(`INSERT INTO taxonomy_versions (version, created_at, created_by, source, note, categories) VALUES (?, ?, ?, ?, ?, ?)`),
			v.Version, millis(v.CreatedAt), v.CreatedBy, v.Source, v.Note, len(v.Categories)); err != nil {
			return err
		}
		rows := make([][]any, len(v.Categories))
		for i, c := range v.Categories {
			rows[i] = []any{v.Version, c.Code, i, c.Name, c.Level, c.Parent}
		}
		return s.insertRows(tx, "taxonomy_categories", []string{"version", "code", "position", "name", "level", "parent"}, rows)
	}})
	if err != nil {
		return store.TaxonomyVersion{}, fmt.Errorf("importing taxonomy: %w", err)
	}
	v.Count = len(v.Categories)
	v.Categories = nil
	return v, nil
}

const versionCols = `version, created_at, created_by, source, note, categories`

func scanVersion(row interface{ Scan(...any) error }) (store.TaxonomyVersion, error) {
	var v store.TaxonomyVersion
	var created int64
	if err := row.Scan(&v.Version, &created, &v.CreatedBy, &v.Source, &v.Note, &v.Count); err != nil {
		return store.TaxonomyVersion{}, err
	}
	v.CreatedAt = fromMillis(created)
	return v, nil
}

// TaxonomyVersions implements store.Taxonomies.
func (s *Store) TaxonomyVersions(ctx context.Context) ([]store.TaxonomyVersion, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+versionCols+` FROM taxonomy_versions ORDER BY version DESC`)
	if err != nil {
		return nil, transient("listing taxonomy versions", err)
	}
	defer rows.Close()
	var out []store.TaxonomyVersion
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, transient("listing taxonomy versions", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, transient("listing taxonomy versions", err)
	}
	return out, nil
}

// Taxonomy implements store.Taxonomies.
func (s *Store) Taxonomy(ctx context.Context, version int64) (store.TaxonomyVersion, error) {
	query, args := `SELECT `+versionCols+` FROM taxonomy_versions ORDER BY version DESC LIMIT 1`, []any(nil)
	if version != 0 {
		query, args = `SELECT `+versionCols+` FROM taxonomy_versions WHERE version = ?`, []any{version}
	}
	v, err := scanVersion(s.read.QueryRowContext(ctx, s.q(query), args...))
	if errors.Is(err, sql.ErrNoRows) {
		if version == 0 {
			return store.TaxonomyVersion{}, fmt.Errorf("no taxonomy has been imported: %w", store.ErrTaxonomyNotFound)
		}
		return store.TaxonomyVersion{}, fmt.Errorf("taxonomy version %d: %w", version, store.ErrTaxonomyNotFound)
	}
	if err != nil {
		return store.TaxonomyVersion{}, transient("reading taxonomy", err)
	}
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT code, name, level, parent FROM taxonomy_categories WHERE version = ? ORDER BY position`), v.Version)
	if err != nil {
		return store.TaxonomyVersion{}, transient("reading taxonomy", err)
	}
	defer rows.Close()
	v.Categories = make([]taxonomy.Category, 0, v.Count)
	for rows.Next() {
		var c taxonomy.Category
		if err := rows.Scan(&c.Code, &c.Name, &c.Level, &c.Parent); err != nil {
			return store.TaxonomyVersion{}, transient("reading taxonomy", err)
		}
		v.Categories = append(v.Categories, c)
	}
	if err := rows.Err(); err != nil {
		return store.TaxonomyVersion{}, transient("reading taxonomy", err)
	}
	return v, nil
}

// CurrentTaxonomyVersion implements store.Taxonomies.
func (s *Store) CurrentTaxonomyVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.read.QueryRowContext(ctx, `SELECT version FROM taxonomy_meta WHERE id = 1`).Scan(&v); err != nil {
		return 0, transient("reading taxonomy version", err)
	}
	return v, nil
}

// ---- knowledge ----

const entryCols = `id, title, answer, category, unit, valid_from, valid_until, keywords, source, revision, created_at, created_by, updated_at, updated_by`

func scanEntry(row interface{ Scan(...any) error }) (kb.Entry, error) {
	var e kb.Entry
	var from, until, created, updated int64
	var keywords string
	if err := row.Scan(&e.ID, &e.Title, &e.Answer, &e.Category, &e.Unit, &from, &until, &keywords, &e.Source,
		&e.Revision, &created, &e.CreatedBy, &updated, &e.UpdatedBy); err != nil {
		return kb.Entry{}, err
	}
	e.ValidFrom, e.ValidUntil, e.CreatedAt, e.UpdatedAt = fromMillis(from), fromMillis(until), fromMillis(created), fromMillis(updated)
	if err := json.Unmarshal([]byte(keywords), &e.Keywords); err != nil {
		return kb.Entry{}, fmt.Errorf("decoding keywords of entry %s: %w", e.ID, err)
	}
	if len(e.Keywords) == 0 {
		e.Keywords = nil
	}
	return e, nil
}

// entryArgs returns the values of entryCols for e.
func entryArgs(e kb.Entry) []any {
	kw := e.Keywords
	if kw == nil {
		kw = []string{}
	}
	b, _ := json.Marshal(kw) // strings always encode
	return []any{e.ID, e.Title, e.Answer, e.Category, e.Unit, millis(e.ValidFrom), millis(e.ValidUntil), string(b), e.Source,
		e.Revision, millis(e.CreatedAt), e.CreatedBy, millis(e.UpdatedAt), e.UpdatedBy}
}

// sameContent reports whether a and b say the same (their metadata aside).
func sameContent(a, b kb.Entry) bool {
	return a.Title == b.Title && a.Answer == b.Answer && a.Category == b.Category && a.Unit == b.Unit &&
		millis(a.ValidFrom) == millis(b.ValidFrom) && millis(a.ValidUntil) == millis(b.ValidUntil) &&
		slices.Equal(a.Keywords, b.Keywords) && a.Source == b.Source
}

// prepareEntry normalizes e for storing, stamps it and checks it.
func prepareEntry(e kb.Entry) (kb.Entry, error) {
	e.Normalize()
	if err := e.Validate("", true); err != nil {
		return kb.Entry{}, err
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt, e.UpdatedBy = e.CreatedAt, e.CreatedBy
	}
	// As stored: UTC, milliseconds.
	e.CreatedAt, e.UpdatedAt = toMillis(e.CreatedAt), toMillis(e.UpdatedAt)
	e.ValidFrom, e.ValidUntil = toMillis(e.ValidFrom), toMillis(e.ValidUntil)
	return e, nil
}

// toMillis returns t as the store returns it: UTC, in milliseconds.
func toMillis(t time.Time) time.Time { return fromMillis(millis(t)) }

// nextRevision takes the knowledge base's next revision; on PostgreSQL its
// row lock serialises the changes.
func nextRevision(tx *sql.Tx) (int64, error) {
	var rev int64
	err := tx.QueryRow(`UPDATE kb_meta SET revision = revision + 1 WHERE id = 1 RETURNING revision`).Scan(&rev)
	return rev, err
}

const qInsertEntry = `INSERT INTO kb_entries (` + entryCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

const qUpdateEntry = `UPDATE kb_entries SET title = ?, answer = ?, category = ?, unit = ?, valid_from = ?, valid_until = ?,
	keywords = ?, source = ?, revision = ?, updated_at = ?, updated_by = ? WHERE id = ?`

// updateArgs returns the values of qUpdateEntry for e.
func updateArgs(e kb.Entry) []any {
	a := entryArgs(e)
	return []any{a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], e.Revision, millis(e.UpdatedAt), e.UpdatedBy, e.ID}
}

// CreateEntry implements store.Knowledge. A zero CreatedAt is now.
func (s *Store) CreateEntry(ctx context.Context, e kb.Entry) (kb.Entry, error) {
	e, err := prepareEntry(e)
	if err != nil {
		return kb.Entry{}, fmt.Errorf("creating entry %s: %w", e.ID, err)
	}
	err = s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		var n int
		if err := tx.QueryRow(s.q(`SELECT count(*) FROM kb_entries WHERE id = ?`), e.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return store.ErrEntryExists
		}
		rev, err := nextRevision(tx)
		if err != nil {
			return err
		}
		e.Revision = rev
		_, err = tx.Exec(s.q(qInsertEntry), entryArgs(e)...)
		return err
	}})
	if err != nil {
		return kb.Entry{}, fmt.Errorf("creating entry %s: %w", e.ID, err)
	}
	return e, nil
}

// GetEntry implements store.Knowledge.
func (s *Store) GetEntry(ctx context.Context, id string) (kb.Entry, error) {
	e, err := scanEntry(s.read.QueryRowContext(ctx, s.q(`SELECT `+entryCols+` FROM kb_entries WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return kb.Entry{}, fmt.Errorf("entry %s: %w", id, store.ErrEntryNotFound)
	}
	if err != nil {
		return kb.Entry{}, transient("reading entry", err)
	}
	return e, nil
}

// checkCurrent reads (and on PostgreSQL locks) the revision and creation of
// entry id in tx and checks it against expected.
func (s *Store) checkCurrent(tx *sql.Tx, id string, expected int64) (kb.Entry, error) {
	var cur kb.Entry
	var created int64
	q := `SELECT revision, created_at, created_by FROM kb_entries WHERE id = ?`
	if s.d.name == "postgres" {
		// Concurrent writers of one entry must not both see the expected
		// revision (READ COMMITTED); SQLite's one writer serialises them.
		q += ` FOR UPDATE`
	}
	err := tx.QueryRow(s.q(q), id).Scan(&cur.Revision, &created, &cur.CreatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return kb.Entry{}, store.ErrEntryNotFound
	}
	if err != nil {
		return kb.Entry{}, err
	}
	cur.CreatedAt = fromMillis(created)
	if expected != 0 && cur.Revision != expected {
		return kb.Entry{}, fmt.Errorf("entry %s is at revision %d, not %d: %w", id, cur.Revision, expected, store.ErrEntryChanged)
	}
	return cur, nil
}

// UpdateEntry implements store.Knowledge. A zero UpdatedAt is now.
func (s *Store) UpdateEntry(ctx context.Context, e kb.Entry, expected int64) (kb.Entry, error) {
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = time.Now()
	}
	e.CreatedAt = e.UpdatedAt // placeholder for prepareEntry; the stored one is kept
	e, err := prepareEntry(e)
	if err != nil {
		return kb.Entry{}, fmt.Errorf("updating entry %s: %w", e.ID, err)
	}
	err = s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		cur, err := s.checkCurrent(tx, e.ID, expected)
		if err != nil {
			return err
		}
		rev, err := nextRevision(tx)
		if err != nil {
			return err
		}
		e.Revision, e.CreatedAt, e.CreatedBy = rev, cur.CreatedAt, cur.CreatedBy
		_, err = tx.Exec(s.q(qUpdateEntry), updateArgs(e)...)
		return err
	}})
	if err != nil {
		return kb.Entry{}, fmt.Errorf("updating entry %s: %w", e.ID, err)
	}
	return e, nil
}

// DeleteEntry implements store.Knowledge.
func (s *Store) DeleteEntry(ctx context.Context, id string, expected int64) (int64, error) {
	var rev int64
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		if _, err := s.checkCurrent(tx, id, expected); err != nil {
			return err
		}
		var err error
		if rev, err = nextRevision(tx); err != nil {
			return err
		}
		_, err = tx.Exec(s.q(`DELETE FROM kb_entries WHERE id = ?`), id)
		return err
	}})
	if err != nil {
		return 0, fmt.Errorf("deleting entry %s: %w", id, err)
	}
	return rev, nil
}

// ListEntries implements store.Knowledge.
func (s *Store) ListEntries(ctx context.Context, q store.EntryQuery) ([]kb.Entry, bool, error) {
	if q.PageSize < 1 {
		return nil, false, fmt.Errorf("listing entries: %w", errs.Invalidf("page_size", "must be at least 1"))
	}
	var where []string
	var args []any
	if q.CategoryPrefix != "" {
		// A range instead of LIKE: index-friendly and free of wildcards.
		where = append(where, "category >= ? AND category < ?")
		args = append(args, q.CategoryPrefix, q.CategoryPrefix+"\U0010FFFF")
	}
	if q.Unit != "" {
		where = append(where, "unit = ?")
		args = append(args, q.Unit)
	}
	if !q.ValidAt.IsZero() {
		at := q.ValidAt.UnixMilli()
		where = append(where, "valid_from <= ? AND (valid_until = 0 OR valid_until > ?)")
		args = append(args, at, at)
	}
	if q.After != "" {
		where = append(where, "id > ?")
		args = append(args, q.After)
	}
	query := `SELECT ` + entryCols + ` FROM kb_entries`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY id LIMIT ?`
	args = append(args, q.PageSize+1)
	rows, err := s.read.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, false, transient("listing entries", err)
	}
	defer rows.Close()
	var out []kb.Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, false, transient("listing entries", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, transient("listing entries", err)
	}
	more := len(out) > q.PageSize
	if more {
		out = out[:q.PageSize]
	}
	return out, more, nil
}

// ImportEntries implements store.Knowledge. A zero imp.At is now.
func (s *Store) ImportEntries(ctx context.Context, imp store.EntryImport) (store.ImportResult, error) {
	if imp.At.IsZero() {
		imp.At = time.Now()
	}
	var vs errs.Violations
	entries := make([]kb.Entry, len(imp.Entries))
	index := make(map[string]int, len(imp.Entries))
	for i, e := range imp.Entries {
		e.CreatedAt, e.CreatedBy, e.UpdatedAt, e.UpdatedBy = imp.At, imp.Actor, imp.At, imp.Actor
		p, err := prepareEntry(e)
		if err != nil {
			var ke *errs.Error
			if errors.As(err, &ke) {
				for _, f := range ke.Fields {
					vs.Add(fmt.Sprintf("entries[%d].%s", i, f.Field), "%s", f.Description)
				}
			}
		} else if j, dup := index[p.ID]; dup {
			vs.Add(fmt.Sprintf("entries[%d].id", i), "%s is also entries[%d]", p.ID, j)
		}
		entries[i] = p
		index[p.ID] = i
		if len(vs) >= 20 {
			break
		}
	}
	if err := vs.Err(); err != nil {
		return store.ImportResult{}, fmt.Errorf("importing entries: %w", err)
	}
	var res store.ImportResult
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		res = store.ImportResult{}
		rows, err := tx.Query(`SELECT ` + entryCols + ` FROM kb_entries`)
		if err != nil {
			return err
		}
		existing := map[string]kb.Entry{}
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				rows.Close()
				return err
			}
			existing[e.ID] = e
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var create, update []kb.Entry
		var remove []string
		for _, e := range entries {
			old, ok := existing[e.ID]
			switch {
			case !ok:
				create = append(create, e)
			case sameContent(old, e):
				res.Unchanged++
			default:
				e.CreatedAt, e.CreatedBy = old.CreatedAt, old.CreatedBy
				update = append(update, e)
			}
		}
		if imp.Replace {
			for id := range existing {
				if _, ok := index[id]; !ok {
					remove = append(remove, id)
				}
			}
			slices.Sort(remove)
		}
		res.Created, res.Updated, res.Deleted = len(create), len(update), len(remove)
		if len(create)+len(update)+len(remove) == 0 {
			return tx.QueryRow(`SELECT revision FROM kb_meta WHERE id = 1`).Scan(&res.Revision)
		}
		if res.Revision, err = nextRevision(tx); err != nil {
			return err
		}
		insert := make([][]any, len(create))
		for i, e := range create {
			e.Revision = res.Revision
			insert[i] = entryArgs(e)
		}
		if err := s.insertRows(tx, "kb_entries", strings.Split(entryCols, ", "), insert); err != nil {
			return err
		}
		if len(update) > 0 {
			st, err := tx.Prepare(s.q(qUpdateEntry))
			if err != nil {
				return err
			}
			defer st.Close()
			for _, e := range update {
				e.Revision = res.Revision
				if _, err := st.Exec(updateArgs(e)...); err != nil {
					return err
				}
			}
		}
		for len(remove) > 0 {
			n := min(len(remove), rowsPerInsert)
			args := make([]any, n)
			for i, id := range remove[:n] {
				args[i] = id
			}
			if _, err := tx.Exec(s.q(`DELETE FROM kb_entries WHERE id IN (`+strings.TrimSuffix(strings.Repeat("?, ", n), ", ")+`)`), args...); err != nil {
				return err
			}
			remove = remove[n:]
		}
		return nil
	}})
	if err != nil {
		return store.ImportResult{}, fmt.Errorf("importing entries: %w", err)
	}
	return res, nil
}

// LoadKnowledge implements store.Knowledge.
func (s *Store) LoadKnowledge(ctx context.Context) ([]kb.Entry, int64, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.d.name == "postgres" {
		// One snapshot for both statements (a SQLite read transaction is one
		// already).
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.read.BeginTx(ctx, opts)
	if err != nil {
		return nil, 0, transient("loading the knowledge base", err)
	}
	defer tx.Rollback()
	var rev int64
	if err := tx.QueryRowContext(ctx, `SELECT revision FROM kb_meta WHERE id = 1`).Scan(&rev); err != nil {
		return nil, 0, transient("loading the knowledge base", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+entryCols+` FROM kb_entries ORDER BY id`)
	if err != nil {
		return nil, 0, transient("loading the knowledge base", err)
	}
	defer rows.Close()
	var out []kb.Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, 0, transient("loading the knowledge base", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, transient("loading the knowledge base", err)
	}
	return out, rev, nil
}

// KnowledgeRevision implements store.Knowledge.
func (s *Store) KnowledgeRevision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.read.QueryRowContext(ctx, `SELECT revision FROM kb_meta WHERE id = 1`).Scan(&rev); err != nil {
		return 0, transient("reading the knowledge base's revision", err)
	}
	return rev, nil
}
