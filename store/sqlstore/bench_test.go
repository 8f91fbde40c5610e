package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/store/sqlstore"
	"github.com/switchboard12345/switchboard/store/storetest"
)

// BenchmarkCreateSQLite measures creations from 64 concurrent callers, as the
// intake benchmark drives them, without HTTP: wall time and CPU time per
// creation, and the group commit's batches.
func BenchmarkCreateSQLite(b *testing.B) {
	ctx := context.Background()
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "switchboard.db"), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var worker atomic.Int64
	start := time.Now().UnixNano()
	before := s.BatchStats()
	cpu0 := cpuTime()
	b.SetParallelism(64 / max(1, testingProcs()))
	b.ResetTimer()
	var mu sync.Mutex
	var lats []time.Duration
	b.RunParallel(func(pb *testing.PB) {
		w := worker.Add(1)
		var local []time.Duration
		defer func() {
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}()
		for i := 0; pb.Next(); i++ {
			t0 := time.Now()
			c := storetest.Sample()
			c.Ticket.CreateTime, c.Ticket.UpdateTime, c.Event.Time = time.Now(), time.Now(), time.Now()
			c.IdempotencyKey, c.Fingerprint = fmt.Sprintf("bench-%d-%d-%d", start, w, i), "fp"
			if _, _, err := s.CreateTicket(ctx, c); err != nil {
				b.Error(err)
				return
			}
			local = append(local, time.Since(t0))
		}
	})
	b.StopTimer()
	st := s.BatchStats().Sub(before)
	slices.Sort(lats)
	b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(st.Writes)/float64(max(st.Batches, 1)), "writes/batch")
	b.ReportMetric(float64(st.Busy.Microseconds())/float64(max(st.Writes, 1)), "busy-µs/op")
	b.ReportMetric(float64(st.Commit.Microseconds())/float64(max(st.Writes, 1)), "commit-µs/op")
}

func testingProcs() int {
	return runtime.GOMAXPROCS(0)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
