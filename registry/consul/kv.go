package consul

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/registry"
)

// Limits of one Consul transaction (Consul 1.14: at most 64 operations, and
// txn_max_req_len, 512 KiB by default, for the whole base64-encoded request).
const (
	maxTxnOps = 64
	// maxTxnValueBytes bounds the raw values of one transaction, leaving room
	// for base64 (4/3) and JSON framing within 512 KiB.
	maxTxnValueBytes = 256 << 10
	// maxChunkBytes bounds one units/ or backends/ chunk value.
	maxChunkBytes = 128 << 10
	// maxAttempts bounds the retries of a status change that lost a race it
	// may retry (expect 0, or a concurrent history append) and of reads that
	// raced an import.
	maxAttempts = 5
	// maxSweep bounds how many leftover generations one import deletes.
	maxSweep = 32
)

// Keys.

func (s *Source) stateKey() string             { return s.prefix + "/state/" }
func (s *Source) currentKey() string           { return s.prefix + "/state/current" }
func (s *Source) revisionKey() string          { return s.prefix + "/state/revision" }
func (s *Source) gensKey() string              { return s.prefix + "/state/gen/" }
func (s *Source) genKey(gen string) string     { return s.gensKey() + gen + "/" }
func (s *Source) historyKey(num string) string { return s.prefix + "/history/" + num + "/" }

func hotlineKey(genKey string, h *registry.Hotline) string {
	from := "-"
	if !h.ValidFrom.IsZero() {
		from = h.ValidFrom.String()
	}
	return genKey + "hotlines/" + h.Number + "/" + from
}

// safeNumber reports whether number can name keys: digits only (the registry
// accepts 3 to 8 of them).
func safeNumber(number string) bool {
	if number == "" || len(number) > 16 {
		return false
	}
	for i := 0; i < len(number); i++ {
		if number[i] < '0' || number[i] > '9' {
			return false
		}
	}
	return true
}

// Wire types: what the values hold.

// meta is a generation's state/gen/<id>/meta. The counts let Load notice a
// generation that lost keys.
type meta struct {
	Name     string `json:"name"`
	Actor    string `json:"actor,omitempty"`
	Units    int    `json:"units"`
	Hotlines int    `json:"hotlines"`
	Backends int    `json:"backends"`
	// Rules was added later: a generation written before has none.
	Rules int `json:"rules,omitempty"`
}

// unit is registry.Unit in JSON (Unit itself carries YAML tags only).
type unit struct {
	ID     string            `json:"id"`
	Name   string            `json:"name"`
	Kind   registry.UnitKind `json:"kind"`
	Parent string            `json:"parent,omitempty"`
	Region string            `json:"region,omitempty"`
}

// pointer is what state/current holds.
type pointer struct {
	Generation string `json:"generation"`
	// Epoch is carried from import to import; see revision.
	Epoch uint64 `json:"epoch"`
}

// change is what state/revision holds: the epoch, and the last change for
// operators.
type change struct {
	Epoch      uint64 `json:"epoch"`
	Op         string `json:"op"` // import or status
	Actor      string `json:"actor,omitempty"`
	Number     string `json:"number,omitempty"`
	Generation string `json:"generation,omitempty"`
	// Base is the index of the hotline key the change was made on. Consul does
	// not bump a key whose new value equals its old one, so every change must
	// write a value of its own: two changes of one number by one actor would
	// otherwise leave the revision, and every watcher, where they were.
	Base uint64 `json:"base,omitempty"`
}

// revision is the registry revision of a state/revision key: its
// ModifyIndex plus the registry's epoch, the time (in microseconds since
// 1970) of the first import into an empty prefix. Consul's index alone starts
// again from 1 when a cluster is rebuilt from nothing, and a re-import there
// could get the very index a watcher already saw (a dev agent replaying the
// same writes does): the watcher would then keep the old registry. With the
// epoch, a rebuilt store's revisions differ from the old ones (in practice
// they are larger), so watchers reload.
func revision(kv *api.KVPair) (uint64, error) {
	var c change
	if err := json.Unmarshal(kv.Value, &c); err != nil {
		return 0, errs.E(errs.Other, "decoding %s: %w", kv.Key, err)
	}
	return c.Epoch + kv.ModifyIndex, nil
}

func decodePointer(kv *api.KVPair) (pointer, error) {
	var p pointer
	if err := json.Unmarshal(kv.Value, &p); err != nil || p.Generation == "" {
		return p, errs.E(errs.Other, "decoding %s: %q is not a generation pointer", kv.Key, kv.Value)
	}
	return p, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("consul registry: encoding %T: %v", v, err)) // plain structs: cannot fail
	}
	return b
}

// chunks encodes items as JSON arrays of at most maxChunkBytes each (one
// item may exceed it alone), in order.
func chunks[T any](items []T) [][]byte {
	var out [][]byte
	var cur []json.RawMessage
	size := 2
	flush := func() {
		if len(cur) > 0 {
			out = append(out, mustJSON(cur))
			cur, size = nil, 2
		}
	}
	for _, it := range items {
		b := mustJSON(it)
		if len(cur) > 0 && size+len(b)+1 > maxChunkBytes {
			flush()
		}
		cur = append(cur, b)
		size += len(b) + 1
	}
	flush()
	return out
}

func seqKey(i int) string { return fmt.Sprintf("%06d", i) }

// Load returns the registry in force and its revision, read in one consistent
// query. An empty prefix is an empty registry at revision 0.
func (s *Source) Load(ctx context.Context) (*registry.ProvinceFile, uint64, error) {
	pairs, _, err := s.kv.List(s.stateKey(), (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx))
	if err != nil {
		return nil, 0, consulErr(ctx, "loading registry", err)
	}
	return s.decodeState(pairs)
}

// decodeState builds the province of the generation state/current names.
func (s *Source) decodeState(pairs api.KVPairs) (*registry.ProvinceFile, uint64, error) {
	var gen string
	var rev uint64
	for _, kv := range pairs {
		var err error
		switch kv.Key {
		case s.currentKey():
			var ptr pointer
			ptr, err = decodePointer(kv)
			gen = ptr.Generation
		case s.revisionKey():
			rev, err = revision(kv)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("loading registry: %w", err)
		}
	}
	p := &registry.ProvinceFile{}
	if gen == "" {
		return p, rev, nil
	}
	base := s.genKey(gen)
	slices.SortFunc(pairs, func(a, b *api.KVPair) int { return strings.Compare(a.Key, b.Key) })
	var m *meta
	bad := func(key string, err error) error {
		return errs.E(errs.Other, "loading registry: decoding %s: %w", key, err)
	}
	for _, kv := range pairs {
		rest, ok := strings.CutPrefix(kv.Key, base)
		if !ok {
			continue
		}
		switch {
		case rest == "meta":
			m = new(meta)
			if err := json.Unmarshal(kv.Value, m); err != nil {
				return nil, 0, bad(kv.Key, err)
			}
			p.Name = m.Name
		case strings.HasPrefix(rest, "units/"):
			var us []unit
			if err := json.Unmarshal(kv.Value, &us); err != nil {
				return nil, 0, bad(kv.Key, err)
			}
			for _, u := range us {
				p.Units = append(p.Units, registry.Unit{ID: u.ID, Name: u.Name, Kind: u.Kind, Parent: u.Parent, RegionCode: u.Region})
			}
		case strings.HasPrefix(rest, "backends/"):
			var bs []registry.Backend
			if err := json.Unmarshal(kv.Value, &bs); err != nil {
				return nil, 0, bad(kv.Key, err)
			}
			p.Backends = append(p.Backends, bs...)
		case strings.HasPrefix(rest, "rules/"):
			var rs []registry.Rule
			if err := json.Unmarshal(kv.Value, &rs); err != nil {
				return nil, 0, bad(kv.Key, err)
			}
			p.Rules = append(p.Rules, rs...)
		case strings.HasPrefix(rest, "hotlines/"):
			h, err := decodeHotline(kv)
			if err != nil {
				return nil, 0, err
			}
			p.Hotlines = append(p.Hotlines, h)
		}
	}
	if m == nil || m.Units != len(p.Units) || m.Hotlines != len(p.Hotlines) || m.Backends != len(p.Backends) || m.Rules != len(p.Rules) {
		return nil, 0, errs.E(errs.Other, "loading registry: generation %s under %s is incomplete", gen, base)
	}
	return p, rev, nil
}

func decodeHotline(kv *api.KVPair) (registry.Hotline, error) {
	var h registry.Hotline
	if err := json.Unmarshal(kv.Value, &h); err != nil {
		return h, errs.E(errs.Other, "decoding hotline %s: %w", kv.Key, err)
	}
	h.Revision = kv.ModifyIndex
	return h, nil
}

// Import validates p and replaces the registry with it: it writes a new
// generation, then flips state/current to it in one transaction.
func (s *Source) Import(ctx context.Context, p *registry.ProvinceFile, actor string) (uint64, error) {
	if err := p.Validate(); err != nil {
		return 0, err
	}
	q := (&api.QueryOptions{}).WithContext(ctx)
	cur, _, err := s.kv.Get(s.currentKey(), q)
	if err != nil {
		return 0, consulErr(ctx, "importing registry: reading the current generation", err)
	}
	oldGens, _, err := s.kv.Keys(s.gensKey(), "/", q)
	if err != nil {
		return 0, consulErr(ctx, "importing registry: listing generations", err)
	}

	epoch := uint64(s.now().UnixMicro())
	if cur != nil {
		ptr, err := decodePointer(cur)
		if err != nil {
			return 0, fmt.Errorf("importing registry: %w", err)
		}
		epoch = ptr.Epoch
	}
	gen := newGenID()
	base := s.genKey(gen)
	var sets []*api.KVTxnOp
	set := func(key string, value []byte) {
		sets = append(sets, &api.KVTxnOp{Verb: api.KVSet, Key: key, Value: value})
	}
	set(base+"meta", mustJSON(meta{Name: p.Name, Actor: actor, Units: len(p.Units), Hotlines: len(p.Hotlines), Backends: len(p.Backends), Rules: len(p.Rules)}))
	us := make([]unit, len(p.Units))
	for i, u := range p.Units {
		us[i] = unit{ID: u.ID, Name: u.Name, Kind: u.Kind, Parent: u.Parent, Region: u.RegionCode}
	}
	for i, c := range chunks(us) {
		set(base+"units/"+seqKey(i), c)
	}
	for i, c := range chunks(p.Backends) {
		set(base+"backends/"+seqKey(i), c)
	}
	for i, c := range chunks(p.Rules) {
		set(base+"rules/"+seqKey(i), c)
	}
	for _, h := range p.Hotlines {
		h.Revision = 0
		set(hotlineKey(base, &h), mustJSON(h))
	}

	// Write the generation; nobody reads it until state/current names it.
	for _, batch := range batches(sets) {
		if err := s.txn(ctx, batch); err != nil {
			s.dropGeneration(gen)
			return 0, fmt.Errorf("importing registry: writing generation %s: %w", gen, err)
		}
	}

	// Flip: one transaction makes the generation current, bumps the
	// revision and deletes the generations it replaces.
	flip := &api.KVTxnOp{Verb: api.KVCAS, Key: s.currentKey(), Value: mustJSON(pointer{Generation: gen, Epoch: epoch})}
	if cur != nil {
		flip.Index = cur.ModifyIndex
	}
	ops := api.TxnOps{
		{KV: flip},
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: s.revisionKey(), Value: mustJSON(change{Epoch: epoch, Op: "import", Actor: actor, Generation: gen})}},
	}
	swept := 0
	for _, k := range oldGens {
		if k != base && strings.HasSuffix(k, "/") && swept < maxSweep {
			ops = append(ops, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVDeleteTree, Key: k}})
			swept++
		}
	}
	ok, resp, _, err := s.client.Txn().Txn(ops, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		s.dropGeneration(gen)
		return 0, consulErr(ctx, "importing registry: making generation "+gen+" current", err)
	}
	if !ok {
		s.dropGeneration(gen)
		if failed(resp, 0) {
			return 0, errs.E(errs.Conflict, "importing registry: another import replaced the registry meanwhile; try again")
		}
		return 0, errs.E(errs.Other, "importing registry: making generation %s current: %s", gen, txnErrors(resp))
	}
	rev := epoch + resultIndex(resp, s.revisionKey())
	s.log.Info("registry imported", "revision", rev, "generation", gen, "actor", actor,
		"units", len(p.Units), "hotlines", len(p.Hotlines), "backends", len(p.Backends), "rules", len(p.Rules))
	return rev, nil
}

// batches splits ops into transactions within Consul's limits.
func batches(ops []*api.KVTxnOp) []api.TxnOps {
	var out []api.TxnOps
	var cur api.TxnOps
	size := 0
	for _, op := range ops {
		if len(cur) == maxTxnOps || (len(cur) > 0 && size+len(op.Value) > maxTxnValueBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, &api.TxnOp{KV: op})
		size += len(op.Value)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// dropGeneration deletes a generation that was never made current. It is
// best effort: the next import sweeps what is left.
func (s *Source) dropGeneration(gen string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.kv.DeleteTree(s.genKey(gen), (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		s.log.Warn("could not delete an unused registry generation; the next import will", "generation", gen, "err", err)
	}
}

func newGenID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// txn runs ops, which must all succeed.
func (s *Source) txn(ctx context.Context, ops api.TxnOps) error {
	ok, resp, _, err := s.client.Txn().Txn(ops, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return consulErr(ctx, "consul transaction", err)
	}
	if !ok {
		return errs.E(errs.Other, "consul transaction rolled back: %s", txnErrors(resp))
	}
	return nil
}

// failed reports whether op i of a rolled-back transaction failed.
func failed(resp *api.TxnResponse, i int) bool {
	if resp == nil {
		return false
	}
	for _, e := range resp.Errors {
		if e.OpIndex == i {
			return true
		}
	}
	return false
}

func txnErrors(resp *api.TxnResponse) string {
	if resp == nil || len(resp.Errors) == 0 {
		return "no reason given"
	}
	var b strings.Builder
	for i, e := range resp.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "op %d: %s", e.OpIndex, e.What)
	}
	return b.String()
}

// resultIndex returns the ModifyIndex a transaction gave key.
func resultIndex(resp *api.TxnResponse, key string) uint64 {
	for _, r := range resp.Results {
		if r != nil && r.KV != nil && r.KV.Key == key {
			return r.KV.ModifyIndex
		}
	}
	return 0
}

// SetStatus moves the use of number in force at c.At through
// registry.ChangeStatus and stores it with its history entry in one
// transaction that compare-and-sets the hotline's key.
func (s *Source) SetStatus(ctx context.Context, number string, c registry.StatusChange, expect uint64, guard registry.RetireGuard) (registry.Hotline, error) {
	if !safeNumber(number) {
		return registry.Hotline{}, errs.E(errs.NotFound, "hotline %q not found", number)
	}
	for attempt := 1; ; attempt++ {
		h, retry, err := s.setStatus(ctx, number, c, expect, guard)
		if !retry || attempt == maxAttempts {
			return h, err
		}
		s.log.Debug("status change raced another change; retrying", "hotline", number, "attempt", attempt, "err", err)
	}
}

// setStatus makes one attempt; retry says whether another may succeed.
func (s *Source) setStatus(ctx context.Context, number string, c registry.StatusChange, expect uint64, guard registry.RetireGuard) (_ registry.Hotline, retry bool, _ error) {
	q := (&api.QueryOptions{}).WithContext(ctx)
	cur, _, err := s.kv.Get(s.currentKey(), q)
	if err != nil {
		return registry.Hotline{}, false, consulErr(ctx, "changing status of "+number, err)
	}
	if cur == nil {
		return registry.Hotline{}, false, errs.E(errs.NotFound, "hotline %s not found: the registry is empty", number)
	}
	ptr, err := decodePointer(cur)
	if err != nil {
		return registry.Hotline{}, false, fmt.Errorf("changing status of %s: %w", number, err)
	}
	base := s.genKey(ptr.Generation)
	uses, _, err := s.kv.List(base+"hotlines/"+number+"/", q)
	if err != nil {
		return registry.Hotline{}, false, consulErr(ctx, "changing status of "+number, err)
	}
	var pair *api.KVPair
	var h registry.Hotline
	for _, kv := range uses {
		u, err := decodeHotline(kv)
		if err != nil {
			return registry.Hotline{}, false, err
		}
		if u.ValidAt(c.At) && (pair == nil || h.ValidFrom.Before(u.ValidFrom)) {
			pair, h = kv, u
		}
	}
	if pair == nil {
		// An import may have replaced the generation between the two reads.
		now, _, err := s.kv.Get(s.currentKey(), q)
		if err == nil && now != nil && now.ModifyIndex != cur.ModifyIndex {
			return registry.Hotline{}, true, errs.E(errs.Conflict, "hotline %s: the registry was re-imported meanwhile", number)
		}
		return registry.Hotline{}, false, errs.E(errs.NotFound, "hotline %s not found in force on %s", number, registry.DateOf(c.At))
	}
	if expect != 0 && expect != pair.ModifyIndex {
		return registry.Hotline{}, false, errs.E(errs.Conflict, "hotline %s changed since revision %d (now %d)", number, expect, pair.ModifyIndex)
	}
	next, rec, err := registry.ChangeStatus(h, c, guard)
	if err != nil {
		return registry.Hotline{}, false, err
	}
	seq, err := s.nextHistory(ctx, number)
	if err != nil {
		return registry.Hotline{}, false, err
	}
	stored := next
	stored.Revision = 0
	ops := api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: pair.Key, Value: mustJSON(stored), Index: pair.ModifyIndex}},
		// Index 0: create only, so two appends never take the same slot.
		{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: s.historyKey(number) + fmt.Sprintf("%010d", seq), Value: mustJSON(rec), Index: 0}},
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: s.revisionKey(), Value: mustJSON(change{Epoch: ptr.Epoch, Op: "status", Actor: c.Actor, Number: number, Base: pair.ModifyIndex})}},
	}
	ok, resp, _, err := s.client.Txn().Txn(ops, q)
	if err != nil {
		return registry.Hotline{}, false, consulErr(ctx, "changing status of "+number, err)
	}
	if !ok {
		switch {
		case failed(resp, 0):
			// Someone changed this hotline (or an import replaced it) since
			// we read it. Without an expected revision the change is simply
			// re-applied to the new state.
			return registry.Hotline{}, expect == 0, errs.E(errs.Conflict, "hotline %s changed concurrently (was revision %d)", number, pair.ModifyIndex)
		case failed(resp, 1):
			// Another use of the number appended history meanwhile.
			return registry.Hotline{}, true, errs.E(errs.Conflict, "hotline %s: concurrent history append", number)
		default:
			return registry.Hotline{}, false, errs.E(errs.Other, "changing status of %s: %s", number, txnErrors(resp))
		}
	}
	next.Revision = resultIndex(resp, pair.Key)
	s.log.Info("hotline status changed", "hotline", number, "from", rec.From, "to", rec.To, "actor", rec.Actor, "revision", next.Revision)
	return next, false, nil
}

// nextHistory returns the sequence number of number's next history entry.
func (s *Source) nextHistory(ctx context.Context, number string) (int, error) {
	keys, _, err := s.kv.Keys(s.historyKey(number), "/", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return 0, consulErr(ctx, "reading history of "+number, err)
	}
	next := 0
	for _, k := range keys {
		n, err := strconv.Atoi(strings.TrimPrefix(k, s.historyKey(number)))
		if err == nil && n >= next {
			next = n + 1
		}
	}
	return next, nil
}

// History returns the recorded status changes of number, oldest first.
func (s *Source) History(ctx context.Context, number string) ([]registry.StatusChange, error) {
	if !safeNumber(number) {
		return nil, nil
	}
	pairs, _, err := s.kv.List(s.historyKey(number), (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, consulErr(ctx, "reading history of "+number, err)
	}
	slices.SortFunc(pairs, func(a, b *api.KVPair) int { return cmp.Compare(a.Key, b.Key) })
	out := make([]registry.StatusChange, 0, len(pairs))
	for _, kv := range pairs {
		var c registry.StatusChange
		if err := json.Unmarshal(kv.Value, &c); err != nil {
			return nil, errs.E(errs.Other, "reading history of %s: decoding %s: %w", number, kv.Key, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// consulErr classifies a failed Consul call made while doing what: a
// cancelled ctx stays itself; an unreachable or overloaded Consul is
// Transient, a refused ACL token Permission.
func consulErr(ctx context.Context, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", what, ctxErr)
	}
	var se api.StatusError
	if errors.As(err, &se) {
		switch {
		case se.Code == 403:
			return errs.E(errs.Permission, "%s: consul refused the token: %w", what, err)
		case se.Code == 429 || se.Code >= 500:
			return errs.E(errs.Transient, "%s: consul unavailable: %w", what, err)
		}
		return errs.E(errs.Other, "%s: %w", what, err)
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errs.E(errs.Transient, "%s: consul unreachable: %w", what, err)
	}
	return errs.E(errs.Other, "%s: %w", what, err)
}
