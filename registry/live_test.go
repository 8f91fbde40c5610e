package registry_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/registry"
)

// flakySource is a Source whose content and reachability a test sets.
type flakySource struct {
	registry.Source // only Load and Watch are used
	mu              sync.Mutex
	p               *registry.ProvinceFile
	rev             uint64
	down            bool
	changed         chan struct{}
}

var errDown = errors.New("connection refused")

func (f *flakySource) Load(context.Context) (*registry.ProvinceFile, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, 0, errDown
	}
	return f.p, f.rev, nil
}

func (f *flakySource) Watch(ctx context.Context, after uint64) (uint64, error) {
	for {
		f.mu.Lock()
		down, rev, ch := f.down, f.rev, f.changed
		f.mu.Unlock()
		if down {
			return 0, errDown
		}
		if rev != after {
			return rev, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (f *flakySource) set(fn func()) {
	f.mu.Lock()
	fn()
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLiveSwapsKeepsLastGoodAndRecovers(t *testing.T) {
	t.Parallel()
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	src := &flakySource{p: p, rev: 1, changed: make(chan struct{})}
	live := registry.NewLive(src, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := live.Load(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- live.Run(ctx) }()

	first := live.Snapshot()
	renamed := *p
	renamed.Name = "广东省（更新）"
	src.set(func() { src.p, src.rev = &renamed, 2 })
	eventually(t, "the new snapshot", func() bool { return live.Snapshot().Revision == 2 })
	if live.Snapshot().Province != "广东省（更新）" || first.Province != "广东省" {
		t.Fatal("snapshots are not immutable values")
	}

	src.set(func() { src.down = true })
	eventually(t, "degraded", func() bool { return live.Degraded() != "" })
	if s := live.Snapshot(); s.Revision != 2 {
		t.Fatalf("lost the last good snapshot while degraded: revision %d", s.Revision)
	}
	if _, ok := live.Snapshot().HotlineAt("12315", time.Now()); !ok {
		t.Fatal("cannot route while degraded")
	}

	src.set(func() { src.down, src.rev = false, 3 })
	eventually(t, "recovery", func() bool { return live.Degraded() == "" && live.Snapshot().Revision == 3 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
