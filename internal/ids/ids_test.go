package ids

import (
	"sort"
	"testing"
	"time"
)

func TestIDsSortByTimeAndAreUnique(t *testing.T) {
	t.Parallel()
	s := NewSource()
	base := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	var got []string
	seen := map[string]bool{}
	for i := range 5000 {
		id := s.New(base.Add(time.Duration(i/10) * time.Millisecond)) // 10 ids per millisecond
		if len(id) != 26 {
			t.Fatalf("id %q has %d characters", id, len(id))
		}
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		got = append(got, id)
	}
	if !sort.StringsAreSorted(got) {
		t.Fatal("ids do not sort in creation order")
	}
	// A clock that steps back still yields increasing ids.
	a := s.New(base.Add(time.Hour))
	b := s.New(base)
	if b <= a {
		t.Fatalf("id after a clock step back %s <= %s", b, a)
	}
}

func TestEncodeKnownValue(t *testing.T) {
	t.Parallel()
	var b [16]byte
	if got := encode(b); got != "00000000000000000000000000" {
		t.Fatalf("zero encodes as %s", got)
	}
	for i := range b {
		b[i] = 0xff
	}
	if got := encode(b); got != "7ZZZZZZZZZZZZZZZZZZZZZZZZZ" {
		t.Fatalf("max encodes as %s", got)
	}
}
