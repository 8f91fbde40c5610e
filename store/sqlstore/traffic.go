package sqlstore

import (
	"context"
	"time"
)

// CountByDialedNumber implements store.Store.
func (s *Store) CountByDialedNumber(ctx context.Context, since time.Time) (map[string]int64, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT dialed_number, count(*) FROM tickets WHERE created_at >= ? GROUP BY dialed_number`), millis(since))
	if err != nil {
		return nil, transient("counting traffic", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var number string
		var n int64
		if err := rows.Scan(&number, &n); err != nil {
			return nil, transient("counting traffic", err)
		}
		out[number] = n
	}
	return out, rows.Err()
}
