package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/registry"
)

// Registry is the embedded registry.Source: the registry of one node, kept in
// the store's own database (tables registry_*, migrations 0002 and 0004). Its writes go
// through the store's group commit like ticket writes, so on SQLite they share
// the one writer; its reads use the read pool.
//
// Watchers in this process wake as soon as a write commits; changes made by
// other processes on the same PostgreSQL database are seen by polling the
// revision every WatchPoll.
type Registry struct{ s *Store }

var _ registry.Source = (*Registry)(nil)

// WatchPoll is how often Watch re-reads the revision, for changes made by
// other instances sharing the database.
const WatchPoll = 200 * time.Millisecond

// Registry returns the registry kept in the store's database.
func (s *Store) Registry() *Registry { return &Registry{s: s} }

// regNotifier wakes the local watchers of the registry: each wait returns the
// current channel, which the next change closes.
type regNotifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (n *regNotifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *regNotifier) notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}

// lockRegistry reads the registry's revision in a write transaction. On
// PostgreSQL it locks the state row, so that registry writes are serialised
// (whatever committer runs them) and always take their locks state first; on
// SQLite the one writer serialises them already.
func (s *Store) lockRegistry(tx *sql.Tx) (uint64, error) {
	q := `SELECT revision FROM registry_state WHERE id = 1`
	if s.d.name == "postgres" {
		q += ` FOR UPDATE`
	}
	var rev int64
	if err := tx.QueryRow(q).Scan(&rev); err != nil {
		return 0, err
	}
	return uint64(rev), nil
}

// Load implements registry.Source.
func (r *Registry) Load(ctx context.Context) (*registry.ProvinceFile, uint64, error) {
	s := r.s
	opts := &sql.TxOptions{ReadOnly: true}
	if s.d.name == "postgres" {
		// One snapshot for every statement: the revision matches the contents.
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.read.BeginTx(ctx, opts)
	if err != nil {
		return nil, 0, transient("loading registry", err)
	}
	defer tx.Rollback()
	var p registry.ProvinceFile
	var rev int64
	if err := tx.QueryRowContext(ctx, `SELECT revision, province FROM registry_state WHERE id = 1`).Scan(&rev, &p.Name); err != nil {
		return nil, 0, transient("loading registry", err)
	}
	err = scanDocs(ctx, tx, `SELECT doc, 0 FROM registry_units ORDER BY position`, func(doc string, _ int64) error {
		var u registry.Unit
		err := json.Unmarshal([]byte(doc), &u)
		p.Units = append(p.Units, u)
		return err
	})
	if err == nil {
		err = scanDocs(ctx, tx, `SELECT doc, 0 FROM registry_backends ORDER BY position`, func(doc string, _ int64) error {
			var b registry.Backend
			err := json.Unmarshal([]byte(doc), &b)
			p.Backends = append(p.Backends, b)
			return err
		})
	}
	if err == nil {
		err = scanDocs(ctx, tx, `SELECT doc, 0 FROM registry_rules ORDER BY position`, func(doc string, _ int64) error {
			var r registry.Rule
			err := json.Unmarshal([]byte(doc), &r)
			p.Rules = append(p.Rules, r)
			return err
		})
	}
	if err == nil {
		err = scanDocs(ctx, tx, `SELECT doc, revision FROM registry_hotlines ORDER BY number, valid_from`, func(doc string, rev int64) error {
			var h registry.Hotline
			err := json.Unmarshal([]byte(doc), &h)
			h.Revision = uint64(rev)
			p.Hotlines = append(p.Hotlines, h)
			return err
		})
	}
	if err != nil {
		return nil, 0, err
	}
	return &p, uint64(rev), nil
}

// scanDocs runs query, whose rows are (doc, number), and hands each row to fn.
func scanDocs(ctx context.Context, tx *sql.Tx, query string, fn func(doc string, n int64) error, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return transient("loading registry", err)
	}
	defer rows.Close()
	for rows.Next() {
		var doc string
		var n int64
		if err := rows.Scan(&doc, &n); err != nil {
			return transient("loading registry", err)
		}
		if err := fn(doc, n); err != nil {
			return fmt.Errorf("decoding registry: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return transient("loading registry", err)
	}
	return nil
}

// Import implements registry.Source.
func (r *Registry) Import(ctx context.Context, p *registry.ProvinceFile, actor string) (uint64, error) {
	if err := p.Validate(); err != nil {
		return 0, err
	}
	type row struct {
		key, key2 string
		doc       string
	}
	encode := func(n int, f func(i int) (string, string, any)) ([]row, error) {
		out := make([]row, n)
		for i := range out {
			k, k2, v := f(i)
			b, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			out[i] = row{k, k2, string(b)}
		}
		return out, nil
	}
	units, err := encode(len(p.Units), func(i int) (string, string, any) { return p.Units[i].ID, "", p.Units[i] })
	if err != nil {
		return 0, fmt.Errorf("encoding registry: %w", err)
	}
	backends, err := encode(len(p.Backends), func(i int) (string, string, any) { return p.Backends[i].ID, "", p.Backends[i] })
	if err != nil {
		return 0, fmt.Errorf("encoding registry: %w", err)
	}
	rules, err := encode(len(p.Rules), func(i int) (string, string, any) { return "", "", p.Rules[i] })
	if err != nil {
		return 0, fmt.Errorf("encoding registry: %w", err)
	}
	hotlines, err := encode(len(p.Hotlines), func(i int) (string, string, any) {
		h := p.Hotlines[i]
		h.Revision = 0 // the column is the truth
		return h.Number, h.ValidFrom.String(), h
	})
	if err != nil {
		return 0, fmt.Errorf("encoding registry: %w", err)
	}
	s := r.s
	now := time.Now().UnixMilli()
	var rev uint64
	err = s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		cur, err := s.lockRegistry(tx)
		if err != nil {
			return err
		}
		next := cur + 1
		for _, table := range []string{"registry_units", "registry_backends", "registry_rules", "registry_hotlines"} {
			if _, err := tx.Exec(`DELETE FROM ` + table); err != nil {
				return err
			}
		}
		insert := func(query string, rows []row, args func(i int, r row) []any) error {
			if len(rows) == 0 {
				return nil
			}
			st, err := tx.Prepare(s.q(query))
			if err != nil {
				return err
			}
			defer st.Close()
			for i, r := range rows {
				if _, err := st.Exec(args(i, r)...); err != nil {
					return err
				}
			}
			return nil
		}
		if err := insert(`INSERT INTO registry_units (position, id, doc) VALUES (?, ?, ?)`, units,
			func(i int, r row) []any { return []any{i, r.key, r.doc} }); err != nil {
			return err
		}
		if err := insert(`INSERT INTO registry_backends (position, id, doc) VALUES (?, ?, ?)`, backends,
			func(i int, r row) []any { return []any{i, r.key, r.doc} }); err != nil {
			return err
		}
		if err := insert(`INSERT INTO registry_rules (position, doc) VALUES (?, ?)`, rules,
			func(i int, r row) []any { return []any{i, r.doc} }); err != nil {
			return err
		}
		if err := insert(`INSERT INTO registry_hotlines (number, valid_from, doc, revision) VALUES (?, ?, ?, ?)`, hotlines,
			func(_ int, r row) []any { return []any{r.key, r.key2, r.doc, int64(next)} }); err != nil {
			return err
		}
		if _, err := tx.Exec(s.q(`UPDATE registry_state SET revision = ?, province = ?, imported_by = ?, imported_at = ? WHERE id = 1`),
			int64(next), p.Name, actor, now); err != nil {
			return err
		}
		rev = next
		return nil
	}})
	if err != nil {
		return 0, fmt.Errorf("importing registry: %w", err)
	}
	s.reg.notify()
	return rev, nil
}

// SetStatus implements registry.Source.
func (r *Registry) SetStatus(ctx context.Context, number string, c registry.StatusChange, expect uint64, guard registry.RetireGuard) (registry.Hotline, error) {
	if c.At.IsZero() {
		c.At = time.Now()
	}
	s := r.s
	var out registry.Hotline
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		// Nothing is written until every check has passed: a refusal (an
		// error with a kind) leaves the batch's other writes alone.
		cur, err := s.lockRegistry(tx)
		if err != nil {
			return err
		}
		h, validFrom, err := s.hotlineAt(tx, number, c.At)
		if err != nil {
			return err
		}
		if expect != 0 && expect != h.Revision {
			return errs.E(errs.Conflict, "hotline %s changed meanwhile: revision %d, the change was based on %d", number, h.Revision, expect)
		}
		n, rec, err := registry.ChangeStatus(h, c, guard)
		if err != nil {
			return err
		}
		next := cur + 1
		n.Revision = 0
		doc, err := json.Marshal(n)
		if err != nil {
			return &errs.Error{Kind: errs.Invalid, Msg: "cannot encode hotline", Err: err}
		}
		hdoc, err := json.Marshal(rec)
		if err != nil {
			return &errs.Error{Kind: errs.Invalid, Msg: "cannot encode status change", Err: err}
		}
		res, err := tx.Exec(s.q(`UPDATE registry_hotlines SET doc = ?, revision = ? WHERE number = ? AND valid_from = ? AND revision = ?`),
			string(doc), int64(next), number, validFrom, int64(h.Revision))
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k != 1 {
			return errs.E(errs.Conflict, "hotline %s changed meanwhile", number)
		}
		var seq int64
		if err := tx.QueryRow(s.q(`SELECT COALESCE(MAX(seq), 0) FROM registry_history WHERE number = ?`), number).Scan(&seq); err != nil {
			return err
		}
		if _, err := tx.Exec(s.q(`INSERT INTO registry_history (number, seq, doc) VALUES (?, ?, ?)`), number, seq+1, string(hdoc)); err != nil {
			return err
		}
		if _, err := tx.Exec(s.q(`UPDATE registry_state SET revision = ? WHERE id = 1`), int64(next)); err != nil {
			return err
		}
		n.Revision = next
		out = n
		return nil
	}})
	if err != nil {
		return registry.Hotline{}, fmt.Errorf("changing status of hotline %s: %w", number, err)
	}
	s.reg.notify()
	return out, nil
}

// hotlineAt returns the use of number in force at t and its valid_from key,
// or an error of kind NotFound.
func (s *Store) hotlineAt(tx *sql.Tx, number string, t time.Time) (registry.Hotline, string, error) {
	// Latest validity first, the open start ('') last: the use picked is the
	// one Snapshot.HotlineAt picks.
	rows, err := tx.Query(s.q(`SELECT valid_from, doc, revision FROM registry_hotlines WHERE number = ? ORDER BY valid_from DESC`), number)
	if err != nil {
		return registry.Hotline{}, "", err
	}
	defer rows.Close()
	for rows.Next() {
		var from, doc string
		var rev int64
		if err := rows.Scan(&from, &doc, &rev); err != nil {
			return registry.Hotline{}, "", err
		}
		var h registry.Hotline
		if err := json.Unmarshal([]byte(doc), &h); err != nil {
			return registry.Hotline{}, "", fmt.Errorf("decoding hotline %s: %w", number, err)
		}
		h.Revision = uint64(rev)
		if h.ValidAt(t) {
			return h, from, rows.Close()
		}
	}
	if err := rows.Err(); err != nil {
		return registry.Hotline{}, "", err
	}
	return registry.Hotline{}, "", errs.E(errs.NotFound, "hotline %s is not in use on %s", number, registry.DateOf(t))
}

// History implements registry.Source.
func (r *Registry) History(ctx context.Context, number string) ([]registry.StatusChange, error) {
	s := r.s
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT doc FROM registry_history WHERE number = ? ORDER BY seq`), number)
	if err != nil {
		return nil, transient("reading hotline history", err)
	}
	defer rows.Close()
	var out []registry.StatusChange
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, transient("reading hotline history", err)
		}
		var c registry.StatusChange
		if err := json.Unmarshal([]byte(doc), &c); err != nil {
			return nil, fmt.Errorf("decoding history of hotline %s: %w", number, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, transient("reading hotline history", err)
	}
	return out, nil
}

// Revision returns the registry's current revision.
func (r *Registry) Revision(ctx context.Context) (uint64, error) {
	var rev int64
	if err := r.s.read.QueryRowContext(ctx, `SELECT revision FROM registry_state WHERE id = 1`).Scan(&rev); err != nil {
		return 0, transient("reading registry revision", err)
	}
	return uint64(rev), nil
}

// Watch implements registry.Source. It returns as soon as the revision differs
// from after: a change in this process wakes it at once, one made by another
// instance on the same database within WatchPoll.
func (r *Registry) Watch(ctx context.Context, after uint64) (uint64, error) {
	var tick *time.Ticker
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		// Take the channel before reading the revision: a change committed
		// after the read closes this channel.
		woken := r.s.reg.wait()
		rev, err := r.Revision(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, err
		}
		if rev != after {
			return rev, nil
		}
		if tick == nil {
			tick = time.NewTicker(WatchPoll)
			defer tick.Stop()
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-woken:
		case <-tick.C:
		}
	}
}
