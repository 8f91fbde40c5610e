// Package ids makes ticket ids: 26-character, time-ordered, random-suffixed
// strings in Crockford base32 (the ULID layout), so ids sort by creation time and
// keyset pagination by id lists newest first.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Source makes ids. It is safe for concurrent use. Within one millisecond its ids
// increase monotonically.
type Source struct {
	mu   sync.Mutex
	last uint64   // ms of the last id
	rnd  [10]byte // random part of the last id
}

// NewSource returns a Source.
func NewSource() *Source { return &Source{} }

// New returns an id for time now.
func (s *Source) New(now time.Time) string {
	ms := uint64(now.UnixMilli())
	s.mu.Lock()
	if ms <= s.last {
		ms = s.last
		increment(&s.rnd)
	} else {
		s.last = ms
		rand.Read(s.rnd[:])
		s.rnd[0] &= 0x7f // leave room to increment within the millisecond
	}
	var b [16]byte
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(b[:6], ts[2:])
	copy(b[6:], s.rnd[:])
	s.mu.Unlock()
	return encode(b)
}

func increment(r *[10]byte) {
	for i := len(r) - 1; i >= 0; i-- {
		r[i]++
		if r[i] != 0 {
			return
		}
	}
}

// encode writes 128 bits as 26 base32 characters, most significant first.
func encode(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
