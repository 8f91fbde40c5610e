package sqlstore

// The hot write statements, prepared once when the store opens.
const (
	qInsertEvent = `INSERT INTO events (ticket_id, seq, action, from_state, to_state, actor, reason, details, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qInsertOutbox = `INSERT INTO outbox (ticket_id, seq, topic, unit, idem_key, payload, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`
	qSelectIdem   = `SELECT idem_fingerprint, tracking_number, doc FROM tickets WHERE idem_key = ?`
	qInsertTicket = `INSERT INTO tickets (id, tracking_number, state, handling_unit, category, dialed_number,
		sign_by, reply_by, created_at, updated_at, version, idem_key, idem_fingerprint, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qInsertUnit   = `INSERT INTO ticket_units (ticket_id, unit) VALUES (?, ?)`
	qUpdateTicket = `UPDATE tickets SET state = ?, handling_unit = ?, category = ?, sign_by = ?, reply_by = ?,
			updated_at = ?, version = ?, doc = ? WHERE id = ? AND version = ?`
)
