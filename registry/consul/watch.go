package consul

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/consul/api"
)

// watchWait is how long one blocking query waits before Consul answers
// unchanged and Watch asks again (Consul adds up to 1/16 of jitter).
const watchWait = 50 * time.Second

// Watch blocks until the registry's revision differs from after, or ctx
// ends, and returns the revision it saw. It is a loop of blocking queries on
// state/revision, whose ModifyIndex (plus the epoch) is the revision.
//
// A revision greater than after is a change. A revision smaller than after
// means the store went back (a Consul cluster rebuilt from nothing or a
// restored snapshot) and is returned too, so that the caller reloads. A
// missing revision key (nothing imported since such a reset) is waited out:
// the caller keeps its last good snapshot rather than an empty registry. An
// unreachable Consul fails with kind Transient.
func (s *Source) Watch(ctx context.Context, after uint64) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	key := s.revisionKey()
	var index uint64 // the first query does not block: it sees a reset at once
	for {
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: watchWait}).WithContext(ctx)
		pair, meta, err := s.kv.Get(key, q)
		if err != nil {
			return 0, consulErr(ctx, "watching registry", err)
		}
		if pair != nil {
			rev, err := revision(pair)
			if err != nil {
				return 0, fmt.Errorf("watching registry: %w", err)
			}
			if rev != after {
				return rev, nil
			}
			index = pair.ModifyIndex
		} else {
			// No revision yet: Consul reports the store's index, which moves
			// with any write; block on it rather than spin.
			index = max(meta.LastIndex, 1)
		}
	}
}
