package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/store"
)

var _ store.Outbox = (*Store)(nil)

// insertOutbox writes the messages a change produces, in the change's
// transaction; the dispatcher delivers them later.
func (s *Store) insertOutbox(tx *sql.Tx, ticketID, trackingNumber string, seq int64, at time.Time, msgs []store.Message) error {
	for _, m := range msgs {
		if _, err := s.exec(tx, qInsertOutbox, ticketID, trackingNumber, seq, m.Topic, m.Unit, m.Backend, m.Key, m.Payload, millis(at)); err != nil {
			return err
		}
	}
	return nil
}

// OutboxNotify implements store.Outbox.
func (s *Store) OutboxNotify() <-chan struct{} { return s.outboxReady }

// notifyOutbox wakes a waiting dispatcher without ever blocking the writer.
func (s *Store) notifyOutbox() {
	select {
	case s.outboxReady <- struct{}{}:
	default:
	}
}

const pendingCols = `id, ticket_id, tracking_number, seq, topic, unit, backend, idem_key, payload, created_at, attempts, last_error, dead_reason, done_at`

func scanPending(rows *sql.Rows) ([]store.Pending, error) {
	defer rows.Close()
	var out []store.Pending
	for rows.Next() {
		var p store.Pending
		var created, deadAt int64
		if err := rows.Scan(&p.ID, &p.TicketID, &p.TrackingNumber, &p.Seq, &p.Topic, &p.Unit, &p.Backend, &p.Key, &p.Payload,
			&created, &p.Attempts, &p.LastErr, &p.DeadReason, &deadAt); err != nil {
			return nil, err
		}
		p.Created = time.UnixMilli(created).UTC()
		if p.DeadReason != "" {
			p.DeadAt = time.UnixMilli(deadAt).UTC()
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Claim implements store.Outbox. A message is due when it is pending, its
// next attempt time has come and no live lease holds it; it is claimable when,
// besides, no earlier message of its ticket for the same unit is pending.
func (s *Store) Claim(ctx context.Context, c store.Claim) ([]store.Pending, error) {
	if c.Limit <= 0 {
		return nil, nil
	}
	now := millis(c.Now)
	args := []any{now, now}
	exclude := ""
	if len(c.Exclude) > 0 {
		list, vals := placeholders(c.Exclude)
		exclude = " AND o.backend NOT IN (" + list + ")"
		args = append(args, vals...)
	}
	if c.Only != "" {
		args[0] = int64(math.MaxInt64) // a probe need not wait for its retry time
		exclude += " AND o.backend = ?"
		args = append(args, c.Only)
	}
	args = append(args, c.Limit)
	lock := ""
	if s.d.name == "postgres" {
		// Instances claim side by side: rows another one is claiming are
		// skipped, not waited for.
		lock = " FOR UPDATE SKIP LOCKED"
	}
	due := `FROM outbox o
		WHERE o.state = 'pending' AND o.next_at <= ? AND o.lease_until <= ?` + exclude + `
		AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.state = 'pending' AND e.ticket_id = o.ticket_id
			AND e.unit = o.unit AND e.id < o.id)
		ORDER BY o.next_at, o.id LIMIT ?`
	if c.NoLease {
		return s.readDue(ctx, c, due, args)
	}
	query := `UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE id IN (SELECT o.id ` + due + lock + `)
		RETURNING ` + pendingCols
	args = append([]any{c.Owner, millis(c.Until)}, args...)
	var out []store.Pending
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		rows, err := tx.Query(s.q(query), args...)
		if err != nil {
			return err
		}
		out, err = scanPending(rows)
		return err
	}})
	if err != nil {
		return nil, fmt.Errorf("claiming outbox messages: %w", err)
	}
	slices.SortFunc(out, func(a, b store.Pending) int { return int(a.ID - b.ID) })
	return out, nil
}

// readDue reads due messages without leasing them. A first query reads only
// ids, from the indexes, so the messages the caller holds cost little; the
// second reads the rest of the new ones. Neither writes, so neither waits for
// a commit.
func (s *Store) readDue(ctx context.Context, c store.Claim, due string, args []any) ([]store.Pending, error) {
	args[len(args)-1] = c.Limit + len(c.Skip)
	ids, err := s.readStmt(ctx, `SELECT o.id `+due)
	if err != nil {
		return nil, transient("reading due outbox messages", err)
	}
	rows, err := ids.QueryContext(ctx, args...)
	if err != nil {
		return nil, transient("reading due outbox messages", err)
	}
	var fresh []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, transient("reading due outbox messages", err)
		}
		if _, held := c.Skip[id]; !held && len(fresh) < c.Limit {
			fresh = append(fresh, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, transient("reading due outbox messages", err)
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	list, vals := placeholders(fresh)
	full, err := s.readStmt(ctx, `SELECT `+pendingCols+` FROM outbox WHERE id IN (`+list+`) ORDER BY id`)
	if err != nil {
		return nil, transient("reading due outbox messages", err)
	}
	rows, err = full.QueryContext(ctx, vals...)
	if err != nil {
		return nil, transient("reading due outbox messages", err)
	}
	out, err := scanPending(rows)
	if err != nil {
		return nil, transient("reading due outbox messages", err)
	}
	return out, nil
}

// settle runs one lease-checked update of message id.
func (s *Store) settle(ctx context.Context, what, query string, args ...any) error {
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		res, err := s.exec(tx, query, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n != 1 {
			return store.ErrLeaseLost
		}
		return nil
	}})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Delivered implements store.Outbox.
func (s *Store) Delivered(ctx context.Context, id int64, owner string, d store.Delivered) error {
	return s.settle(ctx, "recording delivery", qOutboxDelivered, millis(d.At), d.ExternalID, id, owner)
}

// Retry implements store.Outbox.
func (s *Store) Retry(ctx context.Context, id int64, owner string, next time.Time, lastErr string, countAttempt bool) error {
	n := 0
	if countAttempt {
		n = 1
	}
	return s.settle(ctx, "recording failed attempt", qOutboxRetry, n, millis(next), truncate(lastErr, 500), id, owner)
}

// DeadLetter implements store.Outbox.
func (s *Store) DeadLetter(ctx context.Context, id int64, owner string, reason string, at time.Time) error {
	if reason == "" {
		reason = "dead-lettered"
	}
	return s.settle(ctx, "dead-lettering", qOutboxDead, truncate(reason, 500), millis(at), id, owner)
}

// truncate cuts s to at most n bytes on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// Park implements store.Outbox.
func (s *Store) Park(ctx context.Context, backend string, now, until time.Time) (int, error) {
	return s.reschedule(ctx, "parking", `UPDATE outbox SET next_at = ? WHERE state = 'pending' AND next_at < ?
		AND backend = ? AND lease_until <= ?`, millis(until), millis(until), backend, millis(now))
}

// Unpark implements store.Outbox.
func (s *Store) Unpark(ctx context.Context, backend string, now time.Time) (int, error) {
	return s.reschedule(ctx, "unparking", `UPDATE outbox SET next_at = ? WHERE state = 'pending' AND next_at > ?
		AND backend = ? AND lease_until <= ?`, millis(now), millis(now), backend, millis(now))
}

// reschedule moves a backend's messages in time with query.
func (s *Store) reschedule(ctx context.Context, what, query string, args ...any) (int, error) {
	var n int64
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		res, err := tx.Exec(s.q(query), args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}})
	if err != nil {
		return 0, fmt.Errorf("%s %s's messages: %w", what, args[2], err)
	}
	return int(n), nil
}

// ReleaseLeases implements store.Outbox.
func (s *Store) ReleaseLeases(ctx context.Context, owner string) (int, error) {
	var n int64
	err := s.commit.do(&op{ctx: ctx, outbox: true, run: func(tx *sql.Tx, _ *tracker) error {
		q, args := `UPDATE outbox SET lease_owner = '', lease_until = 0 WHERE state = 'pending' AND lease_owner <> ''`, []any{}
		if owner != "" {
			q, args = q+` AND lease_owner = ?`, append(args, owner)
		}
		res, err := tx.Exec(s.q(q), args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}})
	if err != nil {
		return 0, fmt.Errorf("releasing leases: %w", err)
	}
	return int(n), nil
}

// DeadLetters implements store.Outbox.
func (s *Store) DeadLetters(ctx context.Context, q store.DeadQuery) ([]store.Pending, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	query, args := `SELECT `+pendingCols+` FROM outbox WHERE state = 'dead' AND id > ?`, []any{q.After}
	if q.Backend != "" {
		query, args = query+` AND backend = ?`, append(args, q.Backend)
	}
	rows, err := s.read.QueryContext(ctx, s.q(query+` ORDER BY id LIMIT ?`), append(args, q.Limit)...)
	if err != nil {
		return nil, transient("listing dead letters", err)
	}
	out, err := scanPending(rows)
	if err != nil {
		return nil, transient("listing dead letters", err)
	}
	return out, nil
}

// Redrive implements store.Outbox.
func (s *Store) Redrive(ctx context.Context, r store.Redrive) (int, error) {
	query := `UPDATE outbox SET state = 'pending', attempts = 0, next_at = ?, dead_reason = '', done_at = 0,
		lease_owner = '', lease_until = 0 WHERE state = 'dead'`
	args := []any{millis(r.Now)}
	switch {
	case len(r.IDs) > 0:
		query += ` AND id IN (?` + strings.Repeat(", ?", len(r.IDs)-1) + `)`
		for _, id := range r.IDs {
			args = append(args, id)
		}
	case r.Backend != "":
		query, args = query+` AND backend = ?`, append(args, r.Backend)
	}
	var n int64
	err := s.commit.do(&op{ctx: ctx, outbox: true, run: func(tx *sql.Tx, _ *tracker) error {
		res, err := tx.Exec(s.q(query), args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}})
	if err != nil {
		return 0, fmt.Errorf("redriving: %w", err)
	}
	return int(n), nil
}

// OutboxStats implements store.Outbox.
func (s *Store) OutboxStats(ctx context.Context, now time.Time) ([]store.QueueStats, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT backend,
		SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END),
		MIN(CASE WHEN state = 'pending' THEN created_at END),
		SUM(CASE WHEN state = 'pending' AND lease_until > ? THEN 1 ELSE 0 END),
		SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END),
		SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END),
		SUM(CASE WHEN state = 'done' THEN attempts ELSE 0 END)
		FROM outbox GROUP BY backend ORDER BY backend`), millis(now))
	if err != nil {
		return nil, transient("reading outbox statistics", err)
	}
	defer rows.Close()
	var out []store.QueueStats
	for rows.Next() {
		var q store.QueueStats
		var oldest sql.NullInt64
		if err := rows.Scan(&q.Backend, &q.Pending, &oldest, &q.InFlight, &q.Dead, &q.Delivered, &q.Attempts); err != nil {
			return nil, transient("reading outbox statistics", err)
		}
		if oldest.Valid {
			q.OldestPending = time.UnixMilli(oldest.Int64).UTC()
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, transient("reading outbox statistics", err)
	}
	return out, nil
}

// TicketByExternalID implements store.Outbox.
func (s *Store) TicketByExternalID(ctx context.Context, backend, externalID string) (string, error) {
	var id string
	err := s.read.QueryRowContext(ctx, s.q(`SELECT ticket_id FROM outbox WHERE backend = ? AND external_id = ?
		ORDER BY id DESC LIMIT 1`), backend, externalID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", transient("looking up case number", err)
	}
	return id, nil
}

// checkUpdateKey fails with ErrDuplicateUpdate if key was applied before.
func (s *Store) checkUpdateKey(tx *sql.Tx, key string) error {
	var n int
	if err := tx.QueryRow(s.q(`SELECT count(*) FROM applied_updates WHERE update_key = ?`), key).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return store.ErrDuplicateUpdate
	}
	return nil
}

// applyUpdateKey records a backend's status update as applied, in the change's
// transaction; a key applied before fails the change.
func (s *Store) applyUpdateKey(tx *sql.Tx, key, ticketID string, at time.Time) error {
	// ON CONFLICT DO NOTHING rather than a failing insert: on PostgreSQL a
	// failed statement would abort the whole batch's transaction.
	res, err := s.exec(tx, qInsertUpdateKey, key, ticketID, millis(at))
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		// checkUpdateKey passed in this transaction: another one recorded
		// the key meanwhile. Fail the batch (it is retried op by op) rather
		// than keep a change applied twice.
		return fmt.Errorf("status update %q was applied concurrently", key)
	}
	return nil
}

var _ store.Cursors = (*Store)(nil)

// Cursor implements store.Cursors.
func (s *Store) Cursor(ctx context.Context, backend string) (string, error) {
	var c string
	err := s.read.QueryRowContext(ctx, s.q(`SELECT cursor FROM poll_cursors WHERE backend = ?`), backend).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", transient("reading poll cursor", err)
	}
	return c, nil
}

// SetCursor implements store.Cursors.
func (s *Store) SetCursor(ctx context.Context, backend, cursor string) error {
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		_, err := tx.Exec(s.q(`INSERT INTO poll_cursors (backend, cursor, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (backend) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`),
			backend, cursor, time.Now().UnixMilli())
		return err
	}})
	if err != nil {
		return fmt.Errorf("storing poll cursor: %w", err)
	}
	return nil
}

var _ store.Inbox = (*Store)(nil)

const inboxCols = `idem_key, unit, ticket_id, topic, payload, created_at, claimed_by, claimed_until, acked_by, acked_at`

func scanInbox(rows *sql.Rows) ([]store.InboxItem, error) {
	defer rows.Close()
	var out []store.InboxItem
	for rows.Next() {
		var it store.InboxItem
		var created, until, acked int64
		if err := rows.Scan(&it.Key, &it.Unit, &it.TicketID, &it.Topic, &it.Payload, &created,
			&it.ClaimedBy, &until, &it.AckedBy, &acked); err != nil {
			return nil, err
		}
		it.Created = time.UnixMilli(created).UTC()
		if until > 0 {
			it.ClaimedUntil = time.UnixMilli(until).UTC()
		}
		if acked > 0 {
			it.AckedAt = time.UnixMilli(acked).UTC()
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// PutInbox implements store.Inbox.
func (s *Store) PutInbox(ctx context.Context, m store.InboxItem) (bool, error) {
	var fresh bool
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		res, err := tx.Exec(s.q(`INSERT INTO inbox (idem_key, unit, ticket_id, topic, payload, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING`),
			m.Key, m.Unit, m.TicketID, m.Topic, m.Payload, millis(m.Created))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		fresh = n == 1
		return err
	}})
	if err != nil {
		return false, fmt.Errorf("filing into inbox: %w", err)
	}
	return fresh, nil
}

// ListInbox implements store.Inbox.
func (s *Store) ListInbox(ctx context.Context, q store.InboxQuery) ([]store.InboxItem, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	query, args := `SELECT `+inboxCols+` FROM inbox WHERE unit = ? AND idem_key > ?`, []any{q.Unit, q.After}
	if !q.All {
		query, args = query+` AND acked_at = 0 AND claimed_until <= ?`, append(args, millis(q.Now))
	}
	rows, err := s.read.QueryContext(ctx, s.q(query+` ORDER BY idem_key LIMIT ?`), append(args, q.Limit)...)
	if err != nil {
		return nil, transient("listing inbox", err)
	}
	out, err := scanInbox(rows)
	if err != nil {
		return nil, transient("listing inbox", err)
	}
	return out, nil
}

// ClaimInbox implements store.Inbox.
func (s *Store) ClaimInbox(ctx context.Context, unit, claimant string, now, until time.Time, limit int) ([]store.InboxItem, error) {
	if limit <= 0 {
		return nil, nil
	}
	lock := ""
	if s.d.name == "postgres" {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []store.InboxItem
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		rows, err := tx.Query(s.q(`UPDATE inbox SET claimed_by = ?, claimed_until = ? WHERE idem_key IN (
			SELECT idem_key FROM inbox WHERE unit = ? AND acked_at = 0 AND claimed_until <= ?
			ORDER BY created_at, idem_key LIMIT ?`+lock+`) RETURNING `+inboxCols),
			claimant, millis(until), unit, millis(now), limit)
		if err != nil {
			return err
		}
		out, err = scanInbox(rows)
		return err
	}})
	if err != nil {
		return nil, fmt.Errorf("claiming inbox items: %w", err)
	}
	slices.SortFunc(out, func(a, b store.InboxItem) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// ErrInboxClaimed is returned when an item is acknowledged by someone other
// than the holder of its live claim.
var ErrInboxClaimed = &errs.Error{Kind: errs.Conflict, Msg: "inbox item is claimed by someone else"}

// AckInbox implements store.Inbox.
func (s *Store) AckInbox(ctx context.Context, unit, key, claimant string, now time.Time) (store.InboxItem, error) {
	var out store.InboxItem
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		rows, err := tx.Query(s.q(`SELECT `+inboxCols+` FROM inbox WHERE unit = ? AND idem_key = ?`), unit, key)
		if err != nil {
			return err
		}
		items, err := scanInbox(rows)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return &errs.Error{Kind: errs.NotFound, Msg: "inbox item not found"}
		}
		out = items[0]
		if !out.AckedAt.IsZero() {
			return nil
		}
		if out.ClaimedBy != "" && out.ClaimedBy != claimant && out.ClaimedUntil.After(now) {
			return ErrInboxClaimed
		}
		out.AckedBy, out.AckedAt = claimant, now.UTC().Truncate(time.Millisecond)
		_, err = tx.Exec(s.q(`UPDATE inbox SET acked_by = ?, acked_at = ? WHERE idem_key = ?`), claimant, millis(now), key)
		return err
	}})
	if err != nil {
		return store.InboxItem{}, fmt.Errorf("acknowledging inbox item: %w", err)
	}
	return out, nil
}
