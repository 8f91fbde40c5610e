package sqlstore

import (
	"database/sql"
	"fmt"
	"sync"
)

// stmts caches prepared statements of the write pool: the hot writes are parsed
// once, not once per ticket.
type stmts struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// hotQueries are prepared when the store opens. They must be prepared while the
// write pool is idle: on SQLite its one connection is busy during a batch.
func hotQueries() []string {
	qs := []string{qInsertEvent, qInsertOutbox, qUpdateTicket, qInsertUnit,
		qOutboxDelivered, qOutboxRetry, qOutboxDead, qInsertUpdateKey}
	for _, m := range []multiRow{insertTickets, insertEvents, selectIdem} {
		qs = append(qs, m.all()...)
	}
	return qs
}

func (s *Store) prepareHot() error {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	s.stmts.m = map[string]*sql.Stmt{}
	for _, q := range hotQueries() {
		st, err := s.write.Prepare(s.q(q))
		if err != nil {
			return fmt.Errorf("preparing %q: %w", q, err)
		}
		s.stmts.m[q] = st
	}
	return nil
}

// exec runs a write statement in tx, prepared if it is a hot one.
func (s *Store) exec(tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	s.stmts.mu.Lock()
	st := s.stmts.m[query]
	s.stmts.mu.Unlock()
	if st == nil {
		return tx.Exec(s.q(query), args...)
	}
	return tx.Stmt(st).Exec(args...)
}

// query runs a query in tx, prepared if it is a hot one.
func (s *Store) query(tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	s.stmts.mu.Lock()
	st := s.stmts.m[query]
	s.stmts.mu.Unlock()
	if st == nil {
		return tx.Query(s.q(query), args...)
	}
	return tx.Stmt(st).Query(args...)
}

func (s *Store) closeStmts() {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	for _, st := range s.stmts.m {
		st.Close()
	}
	s.stmts.m = nil
}
