package registry

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Live keeps the latest good Snapshot of a Source: it watches the source,
// rebuilds the snapshot on every change and swaps it in atomically. When the
// source is unreachable it keeps routing on the last good snapshot, reports
// itself degraded, and retries with jittered backoff until the source is back.
type Live struct {
	src  Source
	log  *slog.Logger
	cur  atomic.Pointer[Snapshot]
	err  atomic.Pointer[string] // the last failure while degraded; nil when healthy
	seen atomic.Uint64          // revisions applied, for tests and metrics
}

// NewLive returns a Live over src; Load must be called before use.
func NewLive(src Source, log *slog.Logger) *Live {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Live{src: src, log: log}
}

// NewStatic returns a Live that always answers with s (a single node with a
// fixed province, and tests).
func NewStatic(s *Snapshot) *Live {
	l := &Live{log: slog.New(slog.DiscardHandler)}
	l.cur.Store(s)
	return l
}

// Load reads the source once; it must succeed before the gateway serves.
func (l *Live) Load(ctx context.Context) error {
	p, rev, err := l.src.Load(ctx)
	if err != nil {
		return err
	}
	l.cur.Store(NewSnapshot(p, rev))
	l.seen.Add(1)
	return nil
}

// Snapshot returns the current snapshot. It never blocks.
func (l *Live) Snapshot() *Snapshot { return l.cur.Load() }

// Degraded returns why the source is unreachable, or "" when it is healthy.
func (l *Live) Degraded() string {
	if p := l.err.Load(); p != nil {
		return *p
	}
	return ""
}

// Run watches the source until ctx ends.
func (l *Live) Run(ctx context.Context) error {
	if l.src == nil {
		<-ctx.Done()
		return nil
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		rev := uint64(0)
		if s := l.cur.Load(); s != nil {
			rev = s.Revision
		}
		err := l.refresh(ctx, rev)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			msg := err.Error()
			if l.err.Swap(&msg) == nil {
				l.log.Warn("registry unreachable; routing on the last good snapshot", "revision", rev, "err", err)
			}
			// Full jitter, capped: a flapping source is not hammered.
			sleep := time.Duration(rand.Int64N(int64(backoff)))
			backoff = min(backoff*2, 5*time.Second)
			select {
			case <-time.After(sleep):
			case <-ctx.Done():
			}
			continue
		}
		backoff = 100 * time.Millisecond
		if l.err.Swap(nil) != nil {
			l.log.Info("registry reachable again", "revision", l.cur.Load().Revision)
		}
	}
	return nil
}

// refresh waits for a revision after rev and swaps in the new snapshot.
func (l *Live) refresh(ctx context.Context, rev uint64) error {
	next, err := l.src.Watch(ctx, rev)
	if err != nil {
		return err
	}
	if next == rev {
		return nil // a watch that timed out without change
	}
	p, loaded, err := l.src.Load(ctx)
	if err != nil {
		return err
	}
	if loaded < rev {
		// Only a reset source goes back (a Consul cluster rebuilt from
		// nothing); its content is the truth now.
		l.log.Warn("registry revision went back; the source was reset", "from", rev, "to", loaded)
	}
	l.cur.Store(NewSnapshot(p, loaded))
	l.seen.Add(1)
	l.log.Info("registry snapshot swapped", "revision", loaded)
	return nil
}
