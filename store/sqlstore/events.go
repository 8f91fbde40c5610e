package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/store"
)

// eventDetails encodes an event's details as stored.
func eventDetails(e ticket.Event) (string, error) {
	if len(e.Details) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(e.Details)
	return string(b), err
}

func (s *Store) insertEvent(tx *sql.Tx, e ticket.Event) error {
	details, err := eventDetails(e)
	if err != nil {
		return err
	}
	_, err = s.exec(tx, qInsertEvent,
		e.TicketID, e.Seq, e.Action, string(e.From), string(e.To), e.Actor, e.Reason, details, millis(e.Time))
	return err
}

// Events implements store.Store.
func (s *Store) Events(ctx context.Context, ticketID string) ([]ticket.Event, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT seq, action, from_state, to_state, actor, reason, details, at
		FROM events WHERE ticket_id = ? ORDER BY seq`), ticketID)
	if err != nil {
		return nil, transient("reading events", err)
	}
	defer rows.Close()
	var out []ticket.Event
	for rows.Next() {
		e := ticket.Event{TicketID: ticketID}
		var from, to, details string
		var at int64
		if err := rows.Scan(&e.Seq, &e.Action, &from, &to, &e.Actor, &e.Reason, &details, &at); err != nil {
			return nil, transient("reading events", err)
		}
		e.From, e.To = ticket.State(from), ticket.State(to)
		e.Time = time.UnixMilli(at).UTC()
		if details != "{}" {
			if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
				return nil, fmt.Errorf("decoding event details: %w", err)
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, transient("reading events", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("events of %q: %w", ticketID, store.ErrNotFound)
	}
	return out, nil
}
