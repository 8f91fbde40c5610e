package sqlstore

import "strings"

// The hot write statements, prepared once when the store opens.
const (
	qInsertEvent = `INSERT INTO events (ticket_id, seq, action, from_state, to_state, actor, reason, details, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qInsertOutbox = `INSERT INTO outbox (ticket_id, tracking_number, seq, topic, unit, backend, idem_key, payload, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qOutboxDelivered = `UPDATE outbox SET state = 'done', done_at = ?, external_id = ?, attempts = attempts + 1,
			last_error = '', lease_owner = '', lease_until = 0 WHERE id = ? AND lease_owner = ? AND state = 'pending'`
	qOutboxRetry = `UPDATE outbox SET attempts = attempts + ?, next_at = ?, last_error = ?,
			lease_owner = '', lease_until = 0 WHERE id = ? AND lease_owner = ? AND state = 'pending'`
	qOutboxDead = `UPDATE outbox SET state = 'dead', attempts = attempts + 1, dead_reason = ?, done_at = ?,
			lease_owner = '', lease_until = 0 WHERE id = ? AND lease_owner = ? AND state = 'pending'`
	qInsertUpdateKey = `INSERT INTO applied_updates (update_key, ticket_id, at) VALUES (?, ?, ?)
			ON CONFLICT (update_key) DO NOTHING`
	qInsertUnit   = `INSERT INTO ticket_units (ticket_id, unit) VALUES (?, ?)`
	qUpdateTicket = `UPDATE tickets SET state = ?, handling_unit = ?, category = ?, sign_by = ?, reply_by = ?,
			updated_at = ?, version = ?, doc = ? WHERE id = ? AND version = ?`
)

// Creations are written with multi-row statements: a batch's n rows take one
// statement per set bit of n, each prepared once (for 1, 2, 4, … maxRows rows).
const maxRows = 128

const ticketCols = 14

var (
	insertTickets = newMultiRow(`INSERT INTO tickets (id, tracking_number, state, handling_unit, category, dialed_number,
		sign_by, reply_by, created_at, updated_at, version, idem_key, idem_fingerprint, doc) VALUES `, "", ticketCols)
	insertEvents = newMultiRow(`INSERT INTO events (ticket_id, seq, action, from_state, to_state, actor, reason, details, at) VALUES `, "", 9)
	selectIdem   = newMultiRow(`SELECT idem_key, idem_fingerprint, tracking_number, doc FROM tickets WHERE idem_key IN (`, ")", 1)
)

// multiRow is a statement for n rows (or values), n a power of two up to
// maxRows.
type multiRow struct{ queries map[int]string }

func newMultiRow(prefix, suffix string, cols int) multiRow {
	row := "?" + strings.Repeat(", ?", cols-1)
	if cols > 1 {
		row = "(" + row + ")"
	}
	m := multiRow{queries: map[int]string{}}
	for n := 1; n <= maxRows; n *= 2 {
		m.queries[n] = prefix + row + strings.Repeat(", "+row, n-1) + suffix
	}
	return m
}

func (m multiRow) all() []string {
	out := make([]string, 0, len(m.queries))
	for _, q := range m.queries {
		out = append(out, q)
	}
	return out
}

// chunk is how many of n rows the next statement takes: the largest power of
// two not above n or maxRows.
func chunk(n int) int {
	k := 1
	for k*2 <= min(n, maxRows) {
		k *= 2
	}
	return k
}
