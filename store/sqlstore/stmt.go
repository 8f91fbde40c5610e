package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
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

// readStmt returns query prepared on the read pool, preparing it the first
// time. It serves the dispatcher's frequent reads, whose few shapes are
// otherwise parsed anew on every call.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	q := s.q(query)
	if st, ok := s.reads.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.read.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.reads.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

func (s *Store) closeReadStmts() {
	s.reads.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		s.reads.Delete(k)
		return true
	})
}

// placeholders returns "?, ?, …" for n values padded to a power of two, and
// the values padded by repeating the last, so that lists of any length share
// a few prepared statements.
func placeholders[T any](vals []T) (string, []any) {
	n := 1
	for n < len(vals) {
		n *= 2
	}
	args := make([]any, n)
	for i := range n {
		args[i] = vals[min(i, len(vals)-1)]
	}
	return "?" + strings.Repeat(", ?", n-1), args
}
