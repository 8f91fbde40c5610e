package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/store"
)

// CreateTicket implements store.Store.
func (s *Store) CreateTicket(ctx context.Context, c store.Create) (ticket.Ticket, bool, error) {
	// Encode outside the group commit, which is serial: the stored document
	// leaves the tracking number to its column, assigned in the batch.
	t := c.Ticket
	t.TrackingNumber = ""
	doc, err := json.Marshal(t)
	if err != nil {
		return ticket.Ticket{}, false, err
	}
	details, err := eventDetails(c.Event)
	if err != nil {
		return ticket.Ticket{}, false, err
	}
	cr := &create{c: c, doc: string(doc), details: details, day: trackingDay(c.Ticket.CreateTime)}
	if err := s.commit.do(&op{ctx: ctx, day: cr.day, creates: 1, create: cr, outbox: len(c.Outbox) > 0}); err != nil {
		return ticket.Ticket{}, false, fmt.Errorf("storing ticket: %w", err)
	}
	if cr.replayed {
		var t ticket.Ticket
		if err := decodeTicket(cr.trackingNumber, cr.stored, &t); err != nil {
			return ticket.Ticket{}, false, fmt.Errorf("storing ticket: %w", err)
		}
		return t, true, nil
	}
	t = c.Ticket
	t.TrackingNumber = cr.trackingNumber
	return t, false, nil
}

// A create is a ticket creation queued for the group commit, with what can be
// prepared outside it.
type create struct {
	c       store.Create
	doc     string // the ticket without its tracking number, as JSON
	details string // the event's details, as JSON
	day     string // of the tracking number
	// Set by createAll: the tracking number, and for a replay the stored
	// document, decoded by the caller outside the group commit.
	trackingNumber string
	replayed       bool
	stored         string
}

// idemEntry is what an idempotency key is stored with.
type idemEntry struct{ fingerprint, trackingNumber, doc string }

// createAll runs consecutive creations of a batch together: one look-up of
// their idempotency keys and multi-row inserts. A creation that fails for a
// business reason gets its error in res; any other error fails them all.
func (s *Store) createAll(tx *sql.Tx, ops []*op, res []error, numbers *tracker) error {
	var keys []any
	for _, o := range ops {
		if k := o.create.c.IdempotencyKey; k != "" {
			keys = append(keys, k)
		}
	}
	seen, err := s.lookupIdem(tx, keys)
	if err != nil {
		return err
	}
	fresh := make([]*create, 0, len(ops))
	for i, o := range ops {
		cr := o.create
		cr.replayed, cr.stored = false, ""
		key := cr.c.IdempotencyKey
		if key != "" {
			// Stored before, or by an earlier creation of this batch.
			if e, ok := seen[key]; ok {
				if e.fingerprint != cr.c.Fingerprint {
					res[i] = store.ErrIdempotencyConflict
					continue
				}
				cr.replayed, cr.trackingNumber, cr.stored = true, e.trackingNumber, e.doc
				continue
			}
		}
		tn, err := numbers.take(cr.day)
		if err != nil {
			return err
		}
		cr.trackingNumber = tn
		fresh = append(fresh, cr)
		if key != "" {
			seen[key] = idemEntry{cr.c.Fingerprint, tn, cr.doc}
		}
	}
	args := make([]any, 0, min(len(fresh), maxRows)*ticketCols)
	err = insertRows(s, tx, insertTickets, fresh, args, func(args []any, cr *create) []any {
		t := &cr.c.Ticket
		var key, fp any
		if cr.c.IdempotencyKey != "" {
			key, fp = cr.c.IdempotencyKey, cr.c.Fingerprint
		}
		return append(args, t.ID, cr.trackingNumber, string(t.State), t.HandlingUnit, t.Category, t.DialedNumber,
			millis(t.SignBy), millis(t.ReplyBy), millis(t.CreateTime), millis(t.UpdateTime), t.Version,
			key, fp, cr.doc)
	})
	if err != nil {
		return err
	}
	err = insertRows(s, tx, insertEvents, fresh, args, func(args []any, cr *create) []any {
		e := &cr.c.Event
		return append(args, cr.c.Ticket.ID, e.Seq, e.Action, string(e.From), string(e.To), e.Actor, e.Reason, cr.details, millis(e.Time))
	})
	if err != nil {
		return err
	}
	for _, cr := range fresh {
		t := &cr.c.Ticket
		for _, e := range cr.c.More {
			e.TicketID = t.ID
			if err := s.insertEvent(tx, e); err != nil {
				return err
			}
		}
		if err := s.insertUnits(tx, t); err != nil {
			return err
		}
		seq := cr.c.Event.Seq
		if n := len(cr.c.More); n > 0 {
			seq = cr.c.More[n-1].Seq // the messages report the last event
		}
		if err := s.insertOutbox(tx, t.ID, cr.trackingNumber, seq, t.CreateTime, cr.c.Outbox); err != nil {
			return err
		}
	}
	return nil
}

// lookupIdem returns the stored entries of the idempotency keys.
func (s *Store) lookupIdem(tx *sql.Tx, keys []any) (map[string]idemEntry, error) {
	seen := make(map[string]idemEntry, len(keys))
	for len(keys) > 0 {
		n := chunk(len(keys))
		rows, err := s.query(tx, selectIdem.queries[n], keys[:n]...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var key string
			var e idemEntry
			if err := rows.Scan(&key, &e.fingerprint, &e.trackingNumber, &e.doc); err != nil {
				rows.Close()
				return nil, err
			}
			seen[key] = e
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		keys = keys[n:]
	}
	return seen, nil
}

// insertRows inserts a row for each item with multi-row statements; add
// appends an item's values to args.
func insertRows[T any](s *Store, tx *sql.Tx, m multiRow, items []T, args []any, add func(args []any, item T) []any) error {
	for len(items) > 0 {
		n := chunk(len(items))
		args = args[:0]
		for _, it := range items[:n] {
			args = add(args, it)
		}
		if _, err := s.exec(tx, m.queries[n], args...); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

func (s *Store) insertUnits(tx *sql.Tx, t *ticket.Ticket) error {
	for _, u := range t.CoHandlingUnits {
		if _, err := s.exec(tx, qInsertUnit, t.ID, u); err != nil {
			return err
		}
	}
	return nil
}

// GetTicket implements store.Store.
func (s *Store) GetTicket(ctx context.Context, ref string) (ticket.Ticket, error) {
	t, err := s.getTicket(ctx, s.read, ref)
	if err != nil {
		return ticket.Ticket{}, fmt.Errorf("getting ticket %q: %w", ref, err)
	}
	return t, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) getTicket(ctx context.Context, db queryer, ref string) (ticket.Ticket, error) {
	col := "id"
	if isTrackingNumber(ref) {
		col = "tracking_number"
	}
	var tn, doc string
	err := db.QueryRowContext(ctx, s.q(`SELECT tracking_number, doc FROM tickets WHERE `+col+` = ?`), ref).Scan(&tn, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return ticket.Ticket{}, store.ErrNotFound
	}
	if err != nil {
		return ticket.Ticket{}, transient("reading ticket", err)
	}
	var t ticket.Ticket
	return t, decodeTicket(tn, doc, &t)
}

// decodeTicket decodes a stored document; the tracking number column is
// authoritative (a document written at creation leaves it out).
func decodeTicket(trackingNumber, doc string, t *ticket.Ticket) error {
	if err := json.Unmarshal([]byte(doc), t); err != nil {
		return fmt.Errorf("decoding ticket: %w", err)
	}
	t.TrackingNumber = trackingNumber
	return nil
}

// isTrackingNumber reports whether ref looks like 20261128-000123.
func isTrackingNumber(ref string) bool {
	if len(ref) < 10 || ref[8] != '-' {
		return false
	}
	for i := 0; i < len(ref); i++ {
		if i != 8 && (ref[i] < '0' || ref[i] > '9') {
			return false
		}
	}
	return true
}

// UpdateTicket implements store.Store.
func (s *Store) UpdateTicket(ctx context.Context, ref string, fn store.UpdateFunc) (ticket.Ticket, error) {
	var out ticket.Ticket
	o := &op{ctx: ctx}
	o.run = func(tx *sql.Tx, _ *tracker) error {
		cur, err := s.getTicketForUpdate(tx, ref)
		if err != nil {
			return err
		}
		ch, err := fn(cur)
		if err != nil {
			if errs.KindOf(err) == errs.Other {
				// fn's own failures must not abort the other writes of the batch.
				return &errs.Error{Kind: errs.Transient, Msg: "update failed", Err: err}
			}
			return err
		}
		t := ch.Ticket
		if ch.UpdateKey != "" {
			// Checked before anything is written; recorded after. The ticket's
			// row lock (PostgreSQL) or the single writer (SQLite) keeps two
			// changes of one ticket from passing the check together.
			if err := s.checkUpdateKey(tx, ch.UpdateKey); err != nil {
				return err
			}
		}
		if t.ID != cur.ID || t.Version != cur.Version+1 {
			return fmt.Errorf("update of %s must advance version %d by one, got %d", cur.ID, cur.Version, t.Version)
		}
		doc, err := json.Marshal(t)
		if err != nil {
			return err
		}
		res, err := s.exec(tx, qUpdateTicket,
			string(t.State), t.HandlingUnit, t.Category, millis(t.SignBy), millis(t.ReplyBy),
			millis(t.UpdateTime), t.Version, string(doc), t.ID, cur.Version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return store.ErrVersionConflict
		}
		if !equalUnits(cur.CoHandlingUnits, t.CoHandlingUnits) {
			if _, err := s.exec(tx, `DELETE FROM ticket_units WHERE ticket_id = ?`, t.ID); err != nil {
				return err
			}
			if err := s.insertUnits(tx, &t); err != nil {
				return err
			}
		}
		ev := ch.Event
		ev.TicketID = t.ID
		if err := s.insertEvent(tx, ev); err != nil {
			return err
		}
		if err := s.insertOutbox(tx, t.ID, cur.TrackingNumber, ev.Seq, t.UpdateTime, ch.Outbox); err != nil {
			return err
		}
		if ch.UpdateKey != "" {
			if err := s.applyUpdateKey(tx, ch.UpdateKey, cur.ID, t.UpdateTime); err != nil {
				return err
			}
		}
		o.outbox = len(ch.Outbox) > 0
		out = t
		return nil
	}
	err := s.commit.do(o)
	if err != nil {
		return ticket.Ticket{}, fmt.Errorf("updating ticket %q: %w", ref, err)
	}
	return out, nil
}

func (s *Store) getTicketForUpdate(tx *sql.Tx, ref string) (ticket.Ticket, error) {
	if s.d.name != "postgres" {
		return s.getTicket(context.Background(), tx, ref)
	}
	col := "id"
	if isTrackingNumber(ref) {
		col = "tracking_number"
	}
	var tn, doc string
	err := tx.QueryRow(s.q(`SELECT tracking_number, doc FROM tickets WHERE `+col+` = ? FOR UPDATE`), ref).Scan(&tn, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return ticket.Ticket{}, store.ErrNotFound
	}
	if err != nil {
		return ticket.Ticket{}, err
	}
	var t ticket.Ticket
	return t, decodeTicket(tn, doc, &t)
}

func equalUnits(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// CountByState implements store.Store.
func (s *Store) CountByState(ctx context.Context) (map[ticket.State]int64, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT state, count(*) FROM tickets GROUP BY state`)
	if err != nil {
		return nil, transient("counting tickets", err)
	}
	defer rows.Close()
	out := map[ticket.State]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, transient("counting tickets", err)
		}
		out[ticket.State(st)] = n
	}
	return out, rows.Err()
}

// millis stores a time as Unix milliseconds; the zero time is 0.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
