package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"time"

	"github.com/switchboard12345/switchboard/internal/errs"
)

// An op is one write run inside a shared batch transaction. An op either fails
// before it writes anything, returning an error with a kind (a business outcome
// such as a conflict), or it writes. Any other error, or a failed commit, rolls
// the whole batch back; each of its ops is then retried in a transaction of its
// own, so one bad op cannot fail the others.
type op struct {
	ctx context.Context
	// creates is how many tracking numbers the op may take, per day.
	day     string
	creates int
	run     func(tx *sql.Tx, numbers *tracker) error
	// create, if set, makes the op a ticket creation, run by createAll
	// together with the other creations of its batch; run is then unused.
	create *create
	// outbox reports that the op writes outbox messages: its commit wakes
	// the dispatcher.
	outbox bool
	done   chan error
}

// lingerFor is how long a committer under load waits for more writes before it
// commits: a small share of a commit's fsync, which costs about half a
// millisecond here.
const lingerFor = 100 * time.Microsecond

// committer is the group commit: ops queue on a channel, and each committer
// goroutine takes whatever is queued (up to max) and commits it as one
// transaction.
type committer struct {
	s    *Store
	ops  chan *op
	max  int
	wg   sync.WaitGroup
	once sync.Once
	mu   sync.RWMutex // guards closed against sends
	shut bool

	statsMu sync.Mutex
	stats   BatchStats
}

// BatchStats describe the group commit since the store opened.
type BatchStats struct {
	Batches int64 // transactions committed by the group commit (retries included)
	Writes  int64 // writes they carried
	Max     int   // the largest batch
	// Sizes counts batches by size in powers of two: 1, 2–3, 4–7, …, 512+.
	Sizes [10]int64
	// Busy is the time spent in batch transactions, Commit the part of it
	// spent committing (writing the WAL or log, and syncing it).
	Busy, Commit time.Duration
}

// Sub returns the stats accumulated since earlier.
func (b BatchStats) Sub(earlier BatchStats) BatchStats {
	d := b
	d.Batches -= earlier.Batches
	d.Writes -= earlier.Writes
	for i := range d.Sizes {
		d.Sizes[i] -= earlier.Sizes[i]
	}
	d.Busy -= earlier.Busy
	d.Commit -= earlier.Commit
	return d
}

// BatchStats returns the group commit's statistics.
func (s *Store) BatchStats() BatchStats {
	s.commit.statsMu.Lock()
	defer s.commit.statsMu.Unlock()
	return s.commit.stats
}

func (c *committer) record(n int, busy, commit time.Duration) {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	st := &c.stats
	st.Batches++
	st.Writes += int64(n)
	st.Max = max(st.Max, n)
	st.Sizes[min(bits.Len(uint(n))-1, len(st.Sizes)-1)]++
	st.Busy += busy
	st.Commit += commit
}

func newCommitter(s *Store, max, n int) *committer {
	c := &committer{s: s, ops: make(chan *op, max*4), max: max}
	for range n {
		c.wg.Add(1)
		go c.loop()
	}
	return c
}

var errClosed = errs.E(errs.Transient, "store is closed")

// do queues o and waits for its batch to commit.
func (c *committer) do(o *op) error {
	o.done = make(chan error, 1)
	c.mu.RLock()
	if c.shut {
		c.mu.RUnlock()
		return errClosed
	}
	select {
	case c.ops <- o:
	case <-o.ctx.Done():
		c.mu.RUnlock()
		return o.ctx.Err()
	}
	c.mu.RUnlock()
	// Once queued the op runs even if ctx ends meanwhile: it may already be
	// committed, and the caller's retry with the same idempotency key is safe.
	return <-o.done
}

func (c *committer) close() {
	c.once.Do(func() {
		c.mu.Lock()
		c.shut = true
		close(c.ops)
		c.mu.Unlock()
		c.wg.Wait()
	})
}

func (c *committer) loop() {
	defer c.wg.Done()
	// Each committer has its own blocks of tracking numbers, so committers never
	// race for them.
	numbers := newTracker(c.s)
	batch := make([]*op, 0, c.max)
	last := 0 // size of the previous batch
	for first := range c.ops {
		batch = append(batch[:0], first)
		// A commit costs the same for one write as for a hundred. Under load
		// (the previous batch was not alone) linger a moment for the writes
		// that are on their way, rather than pay a commit for one.
		var linger <-chan time.Time
		if last > 1 {
			linger = time.After(lingerFor)
		}
	fill:
		for len(batch) < c.max {
			select {
			case o, ok := <-c.ops:
				if !ok {
					break fill
				}
				batch = append(batch, o)
				continue
			default:
			}
			if linger == nil {
				break
			}
			select {
			case o, ok := <-c.ops:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			case <-linger:
				break fill
			}
		}
		last = len(batch)
		c.runBatch(batch, numbers)
	}
}

func (c *committer) runBatch(batch []*op, numbers *tracker) {
	// Ops whose caller already gave up before the batch started are dropped.
	live := batch[:0:0]
	for _, o := range batch {
		if err := o.ctx.Err(); err != nil {
			o.done <- err
			continue
		}
		live = append(live, o)
	}
	if len(live) == 0 {
		return
	}
	if err := reserve(live, numbers); err != nil {
		for _, o := range live {
			o.done <- err
		}
		return
	}
	results, err := c.inTx(len(live), func(tx *sql.Tx) ([]error, error) {
		res := make([]error, len(live))
		for i := 0; i < len(live); {
			if live[i].create == nil {
				err := live[i].run(tx, numbers)
				if err != nil && errs.KindOf(err) == errs.Other {
					return nil, err
				}
				res[i] = err
				i++
				continue
			}
			// Consecutive creations run together; keeping the order of the
			// other writes keeps the batch equivalent to running its ops one
			// after another.
			j := i + 1
			for j < len(live) && live[j].create != nil {
				j++
			}
			if err := c.s.createAll(tx, live[i:j], res[i:j], numbers); err != nil {
				return nil, err
			}
			i = j
		}
		return res, nil
	})
	if err == nil {
		wrote := false
		for i, o := range live {
			wrote = wrote || (o.outbox && results[i] == nil)
			o.done <- results[i]
		}
		if wrote {
			c.s.notifyOutbox()
		}
		return
	}
	if len(live) > 1 {
		c.s.log.Warn("batch failed; retrying its writes one by one", "store", c.s.d.name, "writes", len(live), "err", err)
	}
	for _, o := range live {
		if err := reserve([]*op{o}, numbers); err != nil {
			o.done <- err
			continue
		}
		res, err := c.inTx(1, func(tx *sql.Tx) ([]error, error) {
			res := make([]error, 1)
			if o.create != nil {
				return res, c.s.createAll(tx, []*op{o}, res, numbers)
			}
			res[0] = o.run(tx, numbers)
			if res[0] != nil {
				return nil, res[0]
			}
			return res, nil
		})
		if err == nil {
			err = res[0]
		}
		if err == nil && o.outbox {
			c.s.notifyOutbox()
		}
		o.done <- err
	}
}

// reserve makes sure the tracker holds enough tracking numbers for the batch's
// creations, reserving blocks in transactions of their own before the batch
// starts (a reservation must survive the batch rolling back).
func reserve(batch []*op, numbers *tracker) error {
	need := map[string]int{}
	for _, o := range batch {
		if o.creates > 0 {
			need[o.day] += o.creates
		}
	}
	if len(need) > 0 {
		numbers.keep(need)
	}
	for day, n := range need {
		if err := numbers.ensure(day, n); err != nil {
			return fmt.Errorf("reserving tracking numbers: %w", err)
		}
	}
	return nil
}

// inTx runs fn, the n writes of a batch, in a write transaction and commits it
// unless fn fails.
func (c *committer) inTx(n int, fn func(tx *sql.Tx) ([]error, error)) ([]error, error) {
	start := time.Now()
	// The batch outlives any one caller's context: it is cancelled by nobody.
	tx, err := c.s.write.BeginTx(context.Background(), nil)
	if err != nil {
		return nil, transient("beginning transaction", err)
	}
	res, err := fn(tx)
	if err != nil {
		tx.Rollback()
		if errs.KindOf(err) != errs.Other {
			return nil, err
		}
		return nil, transient("writing", err)
	}
	committing := time.Now()
	if err := tx.Commit(); err != nil {
		return nil, transient("committing", err)
	}
	end := time.Now()
	c.record(n, end.Sub(start), end.Sub(committing))
	return res, nil
}

// transient wraps a database failure: nothing was committed, try again later.
func transient(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &errs.Error{Kind: errs.Transient, Msg: "store unavailable", Err: fmt.Errorf("%s: %w", what, err)}
}
