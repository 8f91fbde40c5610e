package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/store"
)

// The store.Auth tables (migration 0005): principals, api_tokens,
// policy_rules with policy_meta, and audit_log. Writes go through the group
// commit like every other write; reads use the read pool.

var _ store.Auth = (*Store)(nil)

// maxRuleValues is how many values a policy rule may have (columns v0…v5).
const maxRuleValues = 6

// ---- principals ----

// PutPrincipal implements store.Auth.
func (s *Store) PutPrincipal(ctx context.Context, p store.Principal) error {
	var v errs.Violations
	if p.ID == "" {
		v.Add("id", "required")
	}
	if p.Kind != store.PrincipalUser && p.Kind != store.PrincipalService {
		v.Add("kind", "must be %q or %q, not %q", store.PrincipalUser, store.PrincipalService, p.Kind)
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("storing principal %s: %w", p.ID, err)
	}
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		_, err := tx.Exec(s.q(`INSERT INTO principals (id, name, kind, unit, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, unit = excluded.unit,
				disabled = excluded.disabled, created_at = excluded.created_at`),
			p.ID, p.Name, p.Kind, p.Unit, p.Disabled, millis(p.CreatedAt))
		return err
	}})
	if err != nil {
		return fmt.Errorf("storing principal %s: %w", p.ID, err)
	}
	return nil
}

const principalCols = `id, name, kind, unit, disabled, created_at`

func scanPrincipal(row interface{ Scan(...any) error }) (store.Principal, error) {
	var p store.Principal
	var created int64
	if err := row.Scan(&p.ID, &p.Name, &p.Kind, &p.Unit, &p.Disabled, &created); err != nil {
		return store.Principal{}, err
	}
	p.CreatedAt = fromMillis(created)
	return p, nil
}

// GetPrincipal implements store.Auth.
func (s *Store) GetPrincipal(ctx context.Context, id string) (store.Principal, error) {
	p, err := scanPrincipal(s.read.QueryRowContext(ctx, s.q(`SELECT `+principalCols+` FROM principals WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Principal{}, fmt.Errorf("principal %s: %w", id, store.ErrPrincipalNotFound)
	}
	if err != nil {
		return store.Principal{}, transient("reading principal", err)
	}
	return p, nil
}

// ListPrincipals implements store.Auth.
func (s *Store) ListPrincipals(ctx context.Context) ([]store.Principal, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+principalCols+` FROM principals ORDER BY id`)
	if err != nil {
		return nil, transient("listing principals", err)
	}
	defer rows.Close()
	var out []store.Principal
	for rows.Next() {
		p, err := scanPrincipal(rows)
		if err != nil {
			return nil, transient("listing principals", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, transient("listing principals", err)
	}
	return out, nil
}

// ---- tokens ----

// CreateToken implements store.Auth. A token whose ID or hash is taken is a
// Conflict; an unknown principal is ErrPrincipalNotFound.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	var v errs.Violations
	if t.ID == "" {
		v.Add("id", "required")
	}
	if t.Principal == "" {
		v.Add("principal", "required")
	}
	if len(t.Hash) != sha256.Size {
		v.Add("hash", "must be a SHA-256 (%d bytes), not %d bytes", sha256.Size, len(t.Hash))
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("creating token %s: %w", t.ID, err)
	}
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		// Every check comes before the insert: a refusal writes nothing.
		var n int
		if err := tx.QueryRow(s.q(`SELECT count(*) FROM principals WHERE id = ?`), t.Principal).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("principal %s: %w", t.Principal, store.ErrPrincipalNotFound)
		}
		if err := tx.QueryRow(s.q(`SELECT count(*) FROM api_tokens WHERE id = ? OR hash = ?`), t.ID, t.Hash).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errs.E(errs.Conflict, "a token with this id or secret exists already")
		}
		_, err := tx.Exec(s.q(`INSERT INTO api_tokens (id, principal, hash, description, created_by, created_at, expires_at, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			t.ID, t.Principal, t.Hash, t.Description, t.CreatedBy, millis(t.CreatedAt), millis(t.ExpiresAt), millis(t.RevokedAt))
		return err
	}})
	if err != nil {
		return fmt.Errorf("creating token %s: %w", t.ID, err)
	}
	return nil
}

// scanToken scans the token columns, the hash first when withHash.
func scanToken(row interface{ Scan(...any) error }, withHash bool) (store.Token, error) {
	var t store.Token
	var created, expires, revoked int64
	dest := []any{&t.ID, &t.Principal, &t.Description, &t.CreatedBy, &created, &expires, &revoked}
	if withHash {
		dest = append(dest, &t.Hash)
	}
	if err := row.Scan(dest...); err != nil {
		return store.Token{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromMillis(created), fromMillis(expires), fromMillis(revoked)
	return t, nil
}

const tokenCols = `id, principal, description, created_by, created_at, expires_at, revoked_at`

// TokenByHash implements store.Auth.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	t, err := scanToken(s.read.QueryRowContext(ctx, s.q(`SELECT `+tokenCols+`, hash FROM api_tokens WHERE hash = ?`), hash), true)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("looking up token: %w", store.ErrTokenNotFound)
	}
	if err != nil {
		return store.Token{}, transient("looking up token", err)
	}
	return t, nil
}

// ListTokens implements store.Auth.
func (s *Store) ListTokens(ctx context.Context, principal string) ([]store.Token, error) {
	query, args := `SELECT `+tokenCols+` FROM api_tokens ORDER BY created_at DESC, id DESC`, []any(nil)
	if principal != "" {
		query = `SELECT ` + tokenCols + ` FROM api_tokens WHERE principal = ? ORDER BY created_at DESC, id DESC`
		args = []any{principal}
	}
	rows, err := s.read.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, transient("listing tokens", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows, false)
		if err != nil {
			return nil, transient("listing tokens", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, transient("listing tokens", err)
	}
	return out, nil
}

// RevokeToken implements store.Auth. A zero at means now.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		var revoked int64
		err := tx.QueryRow(s.q(`SELECT revoked_at FROM api_tokens WHERE id = ?`), id).Scan(&revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrTokenNotFound
		}
		if err != nil || revoked != 0 {
			return err // revoked already: the first time stays
		}
		_, err = tx.Exec(s.q(`UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0`), millis(at), id)
		return err
	}})
	if err != nil {
		return fmt.Errorf("revoking token %s: %w", id, err)
	}
	return nil
}

// ---- policy ----

// LoadPolicy implements store.Auth. Rules come ordered by ptype then values,
// bytewise, with their trailing empty values left out.
func (s *Store) LoadPolicy(ctx context.Context) ([]store.Rule, int64, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.d.name == "postgres" {
		// One snapshot for both statements: the revision matches the rules.
		// (A SQLite read transaction is one snapshot already.)
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.read.BeginTx(ctx, opts)
	if err != nil {
		return nil, 0, transient("loading policy", err)
	}
	defer tx.Rollback()
	var rev int64
	if err := tx.QueryRowContext(ctx, `SELECT revision FROM policy_meta WHERE id = 1`).Scan(&rev); err != nil {
		return nil, 0, transient("loading policy", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT ptype, v0, v1, v2, v3, v4, v5 FROM policy_rules ORDER BY ptype, v0, v1, v2, v3, v4, v5`)
	if err != nil {
		return nil, 0, transient("loading policy", err)
	}
	defer rows.Close()
	var out []store.Rule
	for rows.Next() {
		var r store.Rule
		var v [maxRuleValues]string
		if err := rows.Scan(&r.PType, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]); err != nil {
			return nil, 0, transient("loading policy", err)
		}
		if vals := trimValues(v[:]); len(vals) > 0 {
			r.Values = append([]string(nil), vals...)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, transient("loading policy", err)
	}
	return out, rev, nil
}

// trimValues drops the trailing empty values of a rule.
func trimValues(v []string) []string {
	for len(v) > 0 && v[len(v)-1] == "" {
		v = v[:len(v)-1]
	}
	return v
}

// ruleArgs returns the primary key of rule r: ptype and six values.
func ruleArgs(r store.Rule) []any {
	args := make([]any, 1+maxRuleValues)
	args[0] = r.PType
	for i := range maxRuleValues {
		args[1+i] = ""
		if i < len(r.Values) {
			args[1+i] = r.Values[i]
		}
	}
	return args
}

// checkRules reports the rules of list (field names it) that cannot be
// stored: without a ptype, or with more than six values.
func checkRules(v *errs.Violations, field string, rules []store.Rule) {
	for i, r := range rules {
		if r.PType == "" {
			v.Add(fmt.Sprintf("%s[%d].ptype", field, i), "required")
		}
		if n := len(trimValues(r.Values)); n > maxRuleValues {
			v.Add(fmt.Sprintf("%s[%d].values", field, i), "at most %d values, not %d", maxRuleValues, n)
		}
	}
}

// ChangePolicy implements store.Auth. An audit entry without a time is
// stamped now, one without an action is a "policy.change".
func (s *Store) ChangePolicy(ctx context.Context, c store.PolicyChange) (int64, error) {
	var v errs.Violations
	checkRules(&v, "add", c.Add)
	checkRules(&v, "remove", c.Remove)
	if err := v.Err(); err != nil {
		return 0, fmt.Errorf("changing policy: %w", err)
	}
	entry := c.Audit
	if entry.Action == "" {
		entry.Action = "policy.change"
	}
	audit, err := auditRow(entry)
	if err != nil {
		return 0, fmt.Errorf("changing policy: %w", err)
	}
	var rev int64
	err = s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		// The revision first: on PostgreSQL its row lock serialises policy
		// changes, whichever committer runs them.
		if err := tx.QueryRow(`UPDATE policy_meta SET revision = revision + 1 WHERE id = 1 RETURNING revision`).Scan(&rev); err != nil {
			return err
		}
		if c.Replace {
			if _, err := tx.Exec(`DELETE FROM policy_rules`); err != nil {
				return err
			}
		} else if err := execEach(tx, s.q(`DELETE FROM policy_rules WHERE ptype = ? AND v0 = ? AND v1 = ? AND v2 = ? AND v3 = ? AND v4 = ? AND v5 = ?`), c.Remove); err != nil {
			return err
		}
		if err := execEach(tx, s.q(`INSERT INTO policy_rules (ptype, v0, v1, v2, v3, v4, v5) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`), c.Add); err != nil {
			return err
		}
		if _, err := tx.Exec(s.q(qInsertAudit), audit...); err != nil {
			return err
		}
		if s.d.name == "postgres" {
			// Delivered to every listener when (and only if) this commits.
			if _, err := tx.Exec(`SELECT pg_notify($1, $2)`, store.PolicyChannel, strconv.FormatInt(rev, 10)); err != nil {
				return err
			}
		}
		return nil
	}})
	if err != nil {
		return 0, fmt.Errorf("changing policy: %w", err)
	}
	s.publishPolicy(rev)
	return rev, nil
}

// execEach runs the prepared statement query once for each rule.
func execEach(tx *sql.Tx, query string, rules []store.Rule) error {
	if len(rules) == 0 {
		return nil
	}
	st, err := tx.Prepare(query)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, r := range rules {
		if _, err := st.Exec(ruleArgs(r)...); err != nil {
			return err
		}
	}
	return nil
}

// PolicyRevision implements store.Auth.
func (s *Store) PolicyRevision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.read.QueryRowContext(ctx, `SELECT revision FROM policy_meta WHERE id = 1`).Scan(&rev); err != nil {
		return 0, transient("reading policy revision", err)
	}
	return rev, nil
}

// ---- policy notifications ----

// policySub is one PolicyNotify channel. put never blocks: the channel holds
// the latest revision not yet taken.
type policySub struct {
	mu     sync.Mutex
	ch     chan int64
	closed bool
}

func (p *policySub) put(rev int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	select {
	case p.ch <- rev:
	default:
		// Full: replace the older revision. Only put sends, under mu, so
		// once drained the buffer has room.
		select {
		case <-p.ch:
		default:
		}
		p.ch <- rev
	}
}

func (p *policySub) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		close(p.ch)
	}
}

// policySubs are a store's live PolicyNotify channels.
type policySubs struct {
	mu sync.Mutex
	m  map[*policySub]struct{}
}

func (s *Store) subscribePolicy(p *policySub) {
	s.policySubs.mu.Lock()
	defer s.policySubs.mu.Unlock()
	if s.policySubs.m == nil {
		s.policySubs.m = map[*policySub]struct{}{}
	}
	s.policySubs.m[p] = struct{}{}
}

func (s *Store) unsubscribePolicy(p *policySub) {
	s.policySubs.mu.Lock()
	defer s.policySubs.mu.Unlock()
	delete(s.policySubs.m, p)
}

// publishPolicy hands rev to this store's subscribers, never blocking.
func (s *Store) publishPolicy(rev int64) {
	s.policySubs.mu.Lock()
	defer s.policySubs.mu.Unlock()
	for p := range s.policySubs.m {
		p.put(rev)
	}
}

// Reconnection backoff of a policy listener.
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 10 * time.Second
)

// PolicyNotify implements store.Auth. Changes made through this store arrive
// as soon as they commit. On PostgreSQL each channel also has a connection of
// its own listening on store.PolicyChannel, opened before PolicyNotify
// returns; when it drops, it reconnects with backoff and then sends the
// current revision, so that changes made meanwhile are not missed.
// NOTIFY is per database, not per schema: stores on other schemas of the
// same database wake the channel too (a spurious wake-up, harmless to a
// watcher that compares revisions). End ctx before closing the store.
func (s *Store) PolicyNotify(ctx context.Context) (<-chan int64, error) {
	p := &policySub{ch: make(chan int64, 1)}
	if s.d.name != "postgres" {
		s.subscribePolicy(p)
		context.AfterFunc(ctx, func() {
			s.unsubscribePolicy(p)
			p.close()
		})
		return p.ch, nil
	}
	dsn, err := s.pgDSN(ctx)
	if err != nil {
		return nil, transient("listening for policy changes", err)
	}
	conn, err := listen(ctx, dsn)
	if err != nil {
		return nil, transient("listening for policy changes", err)
	}
	s.subscribePolicy(p)
	go s.listenPolicy(ctx, dsn, conn, p)
	return p.ch, nil
}

// pgDSN returns the DSN the store's PostgreSQL pool was opened with, as
// its connections keep it. (Their configuration itself cannot be reused: it
// routes notifications to the connection it made.)
func (s *Store) pgDSN(ctx context.Context) (string, error) {
	c, err := s.write.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	var dsn string
	err = c.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("driver connection is a %T, not a pgx one", dc)
		}
		dsn = pc.Conn().Config().ConnString()
		return nil
	})
	return dsn, err
}

// listen opens a connection listening on store.PolicyChannel.
func listen(ctx context.Context, dsn string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{store.PolicyChannel}.Sanitize()); err != nil {
		closeConn(conn)
		return nil, err
	}
	return conn, nil
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}

// listenPolicy forwards the notifications conn receives to p until ctx ends,
// reconnecting when the connection drops; then it closes p.
func (s *Store) listenPolicy(ctx context.Context, dsn string, conn *pgx.Conn, p *policySub) {
	defer func() {
		if conn != nil {
			closeConn(conn)
		}
		s.unsubscribePolicy(p)
		p.close()
	}()
	backoff := listenBackoffMin
	for {
		n, err := conn.WaitForNotification(ctx)
		if err == nil {
			backoff = listenBackoffMin
			rev, err := strconv.ParseInt(n.Payload, 10, 64)
			if err != nil {
				s.log.Warn("ignoring a policy notification that is not a revision", "store", s.d.name, "payload", n.Payload)
				continue
			}
			p.put(rev)
			continue
		}
		closeConn(conn)
		conn = nil
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("lost the policy notification connection; reconnecting", "store", s.d.name, "err", err)
		for conn == nil {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, listenBackoffMax)
			if conn, err = listen(ctx, dsn); err != nil {
				conn = nil
				if ctx.Err() != nil {
					return
				}
				s.log.Warn("reconnecting the policy notification connection", "store", s.d.name, "err", err, "retry_in", backoff)
			}
		}
		// Changes committed while disconnected were not notified: send the
		// current revision.
		if rev, err := s.PolicyRevision(ctx); err == nil {
			p.put(rev)
		}
	}
}

// ---- audit ----

const qInsertAudit = `INSERT INTO audit_log (at, actor, action, ticket_id, fields, detail) VALUES (?, ?, ?, ?, ?, ?)`

// auditRow returns the column values of e for qInsertAudit. A zero At is now.
func auditRow(e store.AuditEntry) ([]any, error) {
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	fields := e.Fields
	if fields == nil {
		fields = []string{}
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("encoding audit fields: %w", err)
	}
	return []any{at.UnixMilli(), e.Actor, e.Action, e.Ticket, string(b), e.Detail}, nil
}

// Audit implements store.Auth. Entries without a time are stamped now; IDs
// are assigned by the store.
func (s *Store) Audit(ctx context.Context, entries ...store.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	rows := make([][]any, len(entries))
	for i, e := range entries {
		r, err := auditRow(e)
		if err != nil {
			return fmt.Errorf("writing audit log: %w", err)
		}
		rows[i] = r
	}
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		st, err := tx.Prepare(s.q(qInsertAudit))
		if err != nil {
			return err
		}
		defer st.Close()
		for _, r := range rows {
			if _, err := st.Exec(r...); err != nil {
				return err
			}
		}
		return nil
	}})
	if err != nil {
		return fmt.Errorf("writing audit log: %w", err)
	}
	return nil
}

// ListAudit implements store.Auth: newest first, a page of q.PageSize after
// q.Before, and whether another page follows.
func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, bool, error) {
	if q.PageSize < 1 {
		return nil, false, fmt.Errorf("listing audit log: %w", errs.Invalidf("page_size", "must be at least 1"))
	}
	var where []string
	var args []any
	for _, f := range []struct {
		col, val string
	}{{"actor", q.Actor}, {"action", q.Action}, {"ticket_id", q.Ticket}} {
		if f.val != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.val)
		}
	}
	if q.Before > 0 {
		where = append(where, "id < ?")
		args = append(args, q.Before)
	}
	query := `SELECT id, at, actor, action, ticket_id, fields, detail FROM audit_log`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, q.PageSize+1)
	rows, err := s.read.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, false, transient("listing audit log", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		var at int64
		var fields string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Ticket, &fields, &e.Detail); err != nil {
			return nil, false, transient("listing audit log", err)
		}
		e.At = time.UnixMilli(at).UTC()
		if err := json.Unmarshal([]byte(fields), &e.Fields); err != nil {
			return nil, false, fmt.Errorf("decoding fields of audit entry %d: %w", e.ID, err)
		}
		if len(e.Fields) == 0 {
			e.Fields = nil
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, transient("listing audit log", err)
	}
	more := len(out) > q.PageSize
	if more {
		out = out[:q.PageSize]
	}
	return out, more, nil
}

// fromMillis is the inverse of millis: 0 is the zero time.
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
