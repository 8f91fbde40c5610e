package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
)

// BulkLoadTickets stores tickets as they are, in one transaction: their rows
// (every column CreateTicket fills) and their co-handling units, with the
// prepared multi-row statements of the creation path. It is for benchmarks
// and for imports of history, not for intake: it writes no event, no outbox
// message and no idempotency key, so nothing is delivered for a loaded ticket
// and it has no history (Events reports it not found, as for any ticket
// without events; later actions append to it as usual).
//
// A ticket keeps its TrackingNumber when it has one (an import of history);
// otherwise it gets the next numbers of its creation day from the same
// counters CreateTicket uses, reserved in the load's transaction, so they
// never collide with a number issued before or after. Each ticket needs an ID
// (ids sort by creation time; see internal/ids) and a CreateTime; an ID or a
// tracking number stored already fails the whole load and nothing is written.
// Loads of a few ten thousand tickets at a time suit it best.
func (s *Store) BulkLoadTickets(ctx context.Context, ts []ticket.Ticket) error {
	if len(ts) == 0 {
		return nil
	}
	// Encode outside the group commit, which is serial.
	rows := make([]bulkRow, len(ts))
	need := map[string]int64{} // creation day → tracking numbers to assign
	var v errs.Violations
	for i := range ts {
		t := ts[i]
		if t.ID == "" {
			v.Add(fmt.Sprintf("tickets[%d].id", i), "required")
		}
		if t.CreateTime.IsZero() {
			v.Add(fmt.Sprintf("tickets[%d].createTime", i), "required")
		}
		r := &rows[i]
		r.t, r.trackingNumber = &ts[i], t.TrackingNumber
		if r.trackingNumber == "" {
			r.day = trackingDay(t.CreateTime)
			need[r.day]++
		}
		t.TrackingNumber = "" // the column is authoritative, as for CreateTicket
		doc, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("loading tickets: %w", err)
		}
		r.doc = string(doc)
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("loading tickets: %w", err)
	}
	days := make([]string, 0, len(need))
	for d := range need {
		days = append(days, d)
	}
	slices.Sort(days)
	err := s.commit.do(&op{ctx: ctx, run: func(tx *sql.Tx, _ *tracker) error {
		next := make(map[string]int64, len(days))
		for _, d := range days {
			var hi int64
			if err := tx.QueryRow(s.q(`INSERT INTO tracking_counters (day, next) VALUES (?, ?)
				ON CONFLICT (day) DO UPDATE SET next = tracking_counters.next + excluded.next
				RETURNING next`), d, need[d]).Scan(&hi); err != nil {
				return err
			}
			next[d] = hi - need[d] + 1
		}
		for i := range rows {
			if r := &rows[i]; r.trackingNumber == "" {
				r.trackingNumber = formatTracking(r.day, next[r.day])
				next[r.day]++
			}
		}
		args := make([]any, 0, min(len(rows), maxRows)*ticketCols)
		err := insertRows(s, tx, insertTickets, rows, args, func(args []any, r bulkRow) []any {
			t := r.t
			return append(args, t.ID, r.trackingNumber, string(t.State), t.HandlingUnit, t.Category, t.DialedNumber,
				millis(t.SignBy), millis(t.ReplyBy), millis(t.CreateTime), millis(t.UpdateTime), t.Version,
				nil, nil, r.doc)
		})
		if err != nil {
			return err
		}
		for i := range rows {
			if err := s.insertUnits(tx, rows[i].t); err != nil {
				return err
			}
		}
		return nil
	}})
	if err != nil {
		return fmt.Errorf("loading %d tickets: %w", len(ts), err)
	}
	return nil
}

// bulkRow is a ticket of a bulk load with what is prepared for its row.
type bulkRow struct {
	t              *ticket.Ticket
	trackingNumber string
	day            string // of the tracking number to assign, when it has none
	doc            string
}
