package sqlstore

import (
	"database/sql"
	"time"

	"github.com/switchboard12345/switchboard/store"
)

// insertOutbox writes the messages a change produces, in the change's
// transaction; the dispatcher delivers them later.
func (s *Store) insertOutbox(tx *sql.Tx, ticketID string, seq int64, at time.Time, msgs []store.Message) error {
	for _, m := range msgs {
		if _, err := s.exec(tx, qInsertOutbox, ticketID, seq, m.Topic, m.Unit, m.Key, m.Payload, millis(at)); err != nil {
			return err
		}
	}
	return nil
}
