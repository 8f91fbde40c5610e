// Package sqlstore implements store.Store on SQLite (modernc.org/sqlite, pure Go,
// WAL, synchronous FULL) and on PostgreSQL (pgx). Both share one implementation;
// a dialect covers what differs: placeholders, DDL and connection setup.
//
// Writes go through a group committer: concurrent writes are queued and committed
// together in one transaction, so many acknowledged tickets share one fsync. A
// write returns only after its batch has committed.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver
)

//go:embed migrations
var migrations embed.FS

type dialect struct {
	name string
	// rebind turns the ? placeholders of a query into the dialect's own.
	rebind func(string) string
}

var (
	sqliteDialect   = dialect{name: "sqlite", rebind: func(q string) string { return q }}
	postgresDialect = dialect{name: "postgres", rebind: dollarPlaceholders}
)

// Options tune a store. The zero value is sensible.
type Options struct {
	// MaxBatch bounds how many writes one transaction commits (default 256).
	MaxBatch int
	// Committers is how many batches may commit at once (default 1 on SQLite,
	// which has one writer; 4 on PostgreSQL).
	Committers int
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
	// ListProbe is how many of the newest tickets a restricted list scans
	// before it looks the principal's units up one by one (default 4096; see
	// ListTickets). Tests set it low to exercise both ways.
	ListProbe int
}

// Store is a SQL ticket store.
type Store struct {
	d      dialect
	write  *sql.DB // the only connection pool that writes
	read   *sql.DB // may be the same as write
	commit *committer
	stmts  stmts
	log    *slog.Logger
	reg    regNotifier // wakes the registry's watchers in this process
	// outboxReady wakes the dispatcher after outbox messages commit.
	outboxReady chan struct{}
	reads       sync.Map // query → *sql.Stmt on the read pool, see readStmt
	listProbe   int
	policySubs  policySubs // PolicyNotify's channels in this process
}

// OpenSQLite opens (creating if needed) the SQLite database file path and
// migrates it.
func OpenSQLite(ctx context.Context, path string, o Options) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	// temp_store(MEMORY) keeps statement journals in memory: a multi-row
	// INSERT (see createAll) journals the pages it changes so that it can be
	// undone alone, which in a temporary file costs a write per page.
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)"
	w, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1) // SQLite has one writer; the committer serialises writes
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	o.Committers = 1
	return open(ctx, sqliteDialect, w, r, o)
}

// OpenPostgres connects to the PostgreSQL database dsn and migrates it.
func OpenPostgres(ctx context.Context, dsn string, o Options) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	if o.Committers == 0 {
		o.Committers = 4
	}
	return open(ctx, postgresDialect, db, db, o)
}

func open(ctx context.Context, d dialect, w, r *sql.DB, o Options) (*Store, error) {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ListProbe <= 0 {
		o.ListProbe = 4096
	}
	s := &Store{d: d, write: w, read: r, log: o.Logger, outboxReady: make(chan struct{}, 1), listProbe: o.ListProbe}
	closeAll := func() {
		w.Close()
		if r != w {
			r.Close()
		}
	}
	if err := w.PingContext(ctx); err != nil {
		closeAll()
		return nil, fmt.Errorf("connecting to %s: %w", d.name, err)
	}
	if err := s.migrate(ctx); err != nil {
		closeAll()
		return nil, err
	}
	if err := s.prepareHot(); err != nil {
		closeAll()
		return nil, err
	}
	s.commit = newCommitter(s, o.MaxBatch, o.Committers)
	return s, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.read.PingContext(ctx) }

// Close stops accepting writes, waits for queued ones and closes the database.
func (s *Store) Close() error {
	s.commit.close()
	s.closeStmts()
	s.closeReadStmts()
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// q rebinds a query for the dialect.
func (s *Store) q(query string) string { return s.d.rebind(query) }

// migrate applies the embedded migrations not yet applied, in order, each in its
// own transaction. On PostgreSQL an advisory lock keeps instances starting
// together from racing.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	defer conn.Close()
	if s.d.name == "postgres" {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(1234512345)`); err != nil {
			return fmt.Errorf("migrating: taking lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(1234512345)`)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	dir := "migrations/" + s.d.name
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(name, ".sql")
		var n int
		if err := conn.QueryRowContext(ctx, s.q(`SELECT count(*) FROM schema_migrations WHERE version = ?`), version).Scan(&n); err != nil {
			return fmt.Errorf("migrating: %w", err)
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(dir + "/" + name)
		if err != nil {
			return fmt.Errorf("migrating: %w", err)
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrating: %w", err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("applying migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), version, time.Now().UnixMilli()); err != nil {
			tx.Rollback()
			return fmt.Errorf("applying migration %s: %w", name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("applying migration %s: %w", name, err)
		}
		s.log.Info("applied migration", "store", s.d.name, "migration", name)
	}
	return nil
}

// dollarPlaceholders rewrites ? placeholders as $1, $2, … . Queries in this
// package never contain a literal question mark.
func dollarPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
