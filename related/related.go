// Package related finds, at intake, the tickets a new request may repeat or
// belong with, for the operator to link: open tickets of the same caller (any
// age), and tickets of the last few days whose text is a near duplicate of the
// request's, the more so at the same place. Each suggestion carries a score
// and the reasons for it ("same caller", "near-duplicate text 0.87", "similar
// title 0.50", "same place").
//
// The Index lives in memory. The gateway fills it at startup from the store
// (Index.Load pages through it with a function the caller supplies, so this
// package does not know the store) and keeps it current with Add, Update and
// Remove as tickets are filed and change state. It is safe for concurrent use;
// Find takes a read lock and costs about 0.1 ms (p99 0.5 ms) at 100,000
// documents (BenchmarkFind).
//
// How texts are compared (text.go, minhash.go): normalised text (full-width
// folded, punctuation and spaces dropped, digits kept) is cut into character
// 3-grams; MinHash with LSH banding (16 bands of 2 rows) picks candidates, and
// each candidate is scored by the Jaccard similarity and containment of the
// two 3-gram sets, kept exactly for texts of up to 256 shingles and as a
// bottom-256 sample beyond. Titles are also compared by what they name
// (title.go): their character bigrams weighted by how rare they are among the
// indexed titles, which finds the same matter told in other words; the
// documents sharing a query title's rare bigrams are candidates too. What
// counts as the same place is in place.go, how the parts make a score in
// score.go; the evaluation that chose them (precision 0.98 at the default
// threshold on the Teddy Cup messages) is in testdata/README.md.
package related

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/switchboard12345/switchboard/internal/errs"
)

// placeBudget bounds how many documents found through the query's place
// names are scored: each costs about 2 µs, and a place in the news may be
// named by hundreds of tickets a week (the ones LSH finds by their text are
// scored anyway).
const placeBudget = 128

// Defaults of Options.
const (
	DefaultWindow    = 7 * 24 * time.Hour
	DefaultThreshold = 0.5
	DefaultMaxOpen   = 200_000
	// DefaultK is how many matches Find returns when asked for k ≤ 0.
	DefaultK = 10
)

// Options configure an Index. The zero value of each field takes its default.
type Options struct {
	// Window is how long after its creation a ticket stays a text candidate
	// (7 days). Open tickets stay same-caller candidates at any age.
	Window time.Duration
	// Threshold is the score a ticket that is not the caller's needs to be
	// suggested (DefaultThreshold). Same-caller matches are always returned.
	Threshold float64
	// Now is the clock (time.Now).
	Now func() time.Time
	// MaxOpen bounds how many tickets the index holds, open ones of any age and
	// closed ones within the window together (DefaultMaxOpen). Beyond it the
	// oldest are dropped first, open or not; a ticket costs about 1.7 KB (see
	// testdata/README.md), so the default bounds the index near 340 MB.
	MaxOpen int
}

// Doc is a ticket as the index sees it.
type Doc struct {
	TicketID       string
	TrackingNumber string
	// Phone is the caller's number, in any usual form.
	Phone string
	Title string
	Text  string
	// RegionCode and Address are the ticket's location.
	RegionCode string
	Address    string
	// Units are the handling and co-handling units, returned with a match.
	Units []string
	// Open is false once the ticket is closed or answered.
	Open bool
	// Created is when the ticket was filed; zero means now.
	Created time.Time
}

// Query is a new request.
type Query struct {
	Phone      string
	Title      string
	Text       string
	RegionCode string
	Address    string
	// Exclude is a ticket id never to return (the request itself, when it is
	// already filed).
	Exclude string
}

// Match is one suggestion.
type Match struct {
	TicketID       string
	TrackingNumber string
	// Score orders the matches, in [0, 1]: the text similarity, raised when
	// the place is the same and lowered when the region or the place differs,
	// and raised by 0.5 for the caller's own tickets (see score.go).
	Score float64
	// Reasons say why, in this order when present: "same caller",
	// "near-duplicate text 0.87" (the text similarity), "similar title 0.50"
	// (what the titles say, when that weighed more), "same place".
	Reasons []string
	// Place says which place evidence matched: a shared place name such as
	// "丽发新城小区", "address" or "region 440106"; empty when none did.
	Place string
	// Units, Open and Created are the ticket's, as last added or updated.
	Units   []string
	Open    bool
	Created time.Time
}

// Index holds the candidate tickets. Create it with New.
type Index struct {
	window    time.Duration
	threshold float64
	now       func() time.Time
	maxDocs   int
	score     scoring

	mu      sync.RWMutex
	entries []entry
	free    []int32
	byID    map[string]int32
	byPhone map[string][]int32
	buckets lsh
	// places maps a place name's hash to the documents (within the window)
	// naming it.
	places map[uint32][]int32
	// titles maps a title bigram's hash to how many documents (within the
	// window) have it in their title, and which while they are few
	// (title.go); titled counts the documents with a title indexed.
	titles map[uint32]gramPosting
	titled int
	// texts counts the documents with their text indexed.
	texts int
	// adds counts Adds since the last sweep.
	adds int
}

// entry is one held ticket. Its text part (indexed) is there while the
// ticket is within the window.
type entry struct {
	id, tracking string
	phone        string // normalised; in byPhone while open
	region       string
	units        []string
	created      int64 // Unix nanoseconds
	open, live   bool
	indexed      bool // text in buckets and places
	fingerprint  uint64
	text         sketch
	places       []uint32 // sorted hashes of the place names
	title        []uint32
	addr         []uint32
	tgrams       []uint32 // titleGrams
}

// New returns an empty index. It does no I/O.
func New(o Options) *Index {
	x := &Index{
		window:    cmp.Or(o.Window, DefaultWindow),
		threshold: cmp.Or(o.Threshold, DefaultThreshold),
		now:       o.Now,
		maxDocs:   cmp.Or(o.MaxOpen, DefaultMaxOpen),
		score:     defaultScoring,
		byID:      make(map[string]int32),
		byPhone:   make(map[string][]int32),
		buckets:   newLSH(),
		places:    make(map[uint32][]int32),
		titles:    make(map[uint32]gramPosting),
	}
	if x.now == nil {
		x.now = time.Now
	}
	return x
}

// prepared is a document's text model, computed outside the lock.
type prepared struct {
	text sketch
	keys [bands]uint32
	// places are the place names in the title and the address.
	places []placeKey
	// title holds the bigrams of what the title says (matterBigrams).
	title []uint32
	addr  []uint32
	// tgrams are the title's bigrams (titleGrams).
	tgrams []uint32
}

// byLength returns the distinct place names, the longest first.
func (p *prepared) byLength() []placeKey {
	ks := slices.Clone(p.places)
	slices.SortStableFunc(ks, func(a, b placeKey) int { return cmp.Or(len(b.name)-len(a.name), cmp.Compare(a.hash, b.hash)) })
	return slices.CompactFunc(ks, func(a, b placeKey) bool { return a.hash == b.hash })
}

// scratch buffers for preparing texts.
var runePool = sync.Pool{New: func() any { return new(scratch) }}

type scratch struct {
	runes  []rune
	hashes []uint32
	slots  []int32
	lsh    []int32
}

// prepare computes the text model of a title, text and address.
func prepare(title, text, address string) prepared {
	s := runePool.Get().(*scratch)
	defer runePool.Put(s)
	rs := appendNormalized(s.runes[:0], title)
	nt := len(rs)
	rs = appendNormalized(rs, text)
	set := shingleHashes(s.hashes[:0], rs)
	p := prepared{text: newSketch(set)}
	p.keys, _ = bandKeys(set)
	p.places = appendPlaceKeys(nil, rs[:nt])
	p.title = matterBigrams(rs[:nt], p.places)
	p.tgrams = titleGrams(rs[:nt])
	addr := appendNormalized(rs[len(rs):], address)
	p.addr = bigrams(addr)
	p.places = appendPlaceKeys(p.places, addr)
	s.runes, s.hashes = rs[:0], set[:0]
	return p
}

// fingerprint identifies the text fields of d, so that Update can tell a
// change of state from a change of text.
func fingerprint(d *Doc) uint64 {
	h := uint64(14695981039346656037)
	for _, s := range [...]string{d.Title, d.Text, d.Address, d.RegionCode} {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		h = mix64(h ^ uint64(len(s)))
	}
	return h
}

// Add indexes d, replacing the document with the same TicketID if there is
// one. A closed ticket older than the window is not held (and one held is
// dropped); an open one older than the window is held as a same-caller
// candidate only.
func (x *Index) Add(d Doc) error {
	if d.TicketID == "" {
		return errs.Invalidf("ticketId", "required")
	}
	now := x.now()
	if d.Created.IsZero() {
		d.Created = now
	}
	var p *prepared
	if x.inWindow(d.Created.UnixNano(), now) {
		pp := prepare(d.Title, d.Text, d.Address)
		p = &pp
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.put(&d, p, now)
	x.adds++
	x.maintain(now)
	return nil
}

// Update applies a change of a held ticket, typically of state (Open false
// when it is closed or answered); d is the whole ticket as it is now. A
// ticket not held is left alone and Update reports false. The text is
// prepared again only when the title, text, address or region changed.
func (x *Index) Update(d Doc) bool {
	now := x.now()
	x.mu.Lock()
	slot, ok := x.byID[d.TicketID]
	if !ok {
		x.mu.Unlock()
		return false
	}
	if d.Created.IsZero() {
		d.Created = time.Unix(0, x.entries[slot].created)
	}
	if e := &x.entries[slot]; e.fingerprint == fingerprint(&d) || !x.inWindow(d.Created.UnixNano(), now) {
		x.put(&d, nil, now)
		x.mu.Unlock()
		return true
	}
	x.mu.Unlock()
	p := prepare(d.Title, d.Text, d.Address)
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.byID[d.TicketID]; !ok {
		return false // removed meanwhile
	}
	x.put(&d, &p, now)
	return true
}

// Remove drops a ticket and reports whether it was held.
func (x *Index) Remove(ticketID string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	slot, ok := x.byID[ticketID]
	if ok {
		x.drop(slot)
	}
	return ok
}

// Len returns how many tickets the index holds and how many of them are text
// candidates.
func (x *Index) Len() (held, texts int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byID), x.texts
}

func (x *Index) inWindow(created int64, now time.Time) bool {
	return created >= now.Add(-x.window).UnixNano()
}

// put stores d in its slot (a new one if d is new). p is its text model when
// the text is (re)indexed; nil keeps the text model held, if any, or none for
// a ticket outside the window. Called with the lock held.
func (x *Index) put(d *Doc, p *prepared, now time.Time) {
	created := d.Created.UnixNano()
	inWindow := x.inWindow(created, now)
	slot, held := x.byID[d.TicketID]
	if !d.Open && !inWindow {
		if held {
			x.drop(slot)
		}
		return
	}
	if !held {
		slot = x.alloc()
		x.byID[d.TicketID] = slot
	}
	e := &x.entries[slot]
	if e.open && e.phone != "" {
		x.unlinkPhone(slot)
	}
	if e.indexed && (p != nil || !inWindow) {
		x.unlinkText(slot)
	}
	fp := fingerprint(d)
	if p == nil && e.fingerprint != fp {
		// The text changed and is not indexed (outside the window).
		e.text, e.places, e.title, e.addr, e.tgrams = sketch{}, nil, nil, nil, nil
	}
	*e = entry{
		id: d.TicketID, tracking: d.TrackingNumber, phone: normalizePhone(d.Phone),
		region: d.RegionCode, units: slices.Clone(d.Units), created: created,
		open: d.Open, live: true, indexed: e.indexed, fingerprint: fp,
		text: e.text, places: e.places, title: e.title, addr: e.addr, tgrams: e.tgrams,
	}
	if p != nil && inWindow {
		x.linkText(slot, p)
	}
	if e.open && e.phone != "" {
		x.byPhone[e.phone] = append(x.byPhone[e.phone], slot)
	}
}

func (x *Index) alloc() int32 {
	if n := len(x.free); n > 0 {
		slot := x.free[n-1]
		x.free = x.free[:n-1]
		return slot
	}
	x.entries = append(x.entries, entry{})
	return int32(len(x.entries) - 1)
}

// drop removes the ticket in slot. Called with the lock held.
func (x *Index) drop(slot int32) {
	e := &x.entries[slot]
	if e.open && e.phone != "" {
		x.unlinkPhone(slot)
	}
	if e.indexed {
		x.unlinkText(slot)
	}
	delete(x.byID, e.id)
	*e = entry{}
	x.free = append(x.free, slot)
}

func (x *Index) linkText(slot int32, p *prepared) {
	e := &x.entries[slot]
	e.text, e.title, e.addr, e.tgrams = p.text, p.title, p.addr, p.tgrams
	e.places = sortPlaceHashes(p.places)
	if e.text.n > 0 {
		x.buckets.insert(slot, &p.keys)
	}
	for _, h := range e.places {
		x.places[h] = append(x.places[h], slot)
	}
	for _, h := range e.tgrams {
		x.titles[h] = x.titles[h].add(slot)
	}
	if len(e.tgrams) > 0 {
		x.titled++
	}
	e.indexed = true
	x.texts++
}

func (x *Index) unlinkText(slot int32) {
	e := &x.entries[slot]
	if e.text.n > 0 {
		x.buckets.remove(slot)
	}
	for _, h := range e.places {
		if rest := removeSlot(x.places[h], slot); len(rest) == 0 {
			delete(x.places, h)
		} else {
			x.places[h] = rest
		}
	}
	for _, h := range e.tgrams {
		if rest := x.titles[h].remove(slot); rest.n == 0 {
			delete(x.titles, h)
		} else {
			x.titles[h] = rest
		}
	}
	if len(e.tgrams) > 0 {
		x.titled--
	}
	e.text, e.places, e.title, e.addr, e.tgrams, e.indexed = sketch{}, nil, nil, nil, nil, false
	x.texts--
}

func (x *Index) unlinkPhone(slot int32) {
	p := x.entries[slot].phone
	if rest := removeSlot(x.byPhone[p], slot); len(rest) == 0 {
		delete(x.byPhone, p)
	} else {
		x.byPhone[p] = rest
	}
}

// removeSlot removes slot from s, not keeping the order.
func removeSlot(s []int32, slot int32) []int32 {
	if i := slices.Index(s, slot); i >= 0 {
		s[i] = s[len(s)-1]
		s = s[:len(s)-1]
	}
	return s
}

// maintain sweeps the index when enough documents were added since the last
// sweep (an eighth of those held, at least 1,024), or when it holds more than
// maxDocs. Called with the lock held.
func (x *Index) maintain(now time.Time) {
	if len(x.byID) <= x.maxDocs && x.adds < max(1024, len(x.byID)/8) {
		return
	}
	x.sweep(now)
}

// Prune applies the window now: closed tickets older than the window are
// dropped and open ones keep only their caller. Add does this on its own from
// time to time; Prune is for a quiet index (call it every hour or so).
func (x *Index) Prune() {
	now := x.now()
	x.mu.Lock()
	defer x.mu.Unlock()
	x.sweep(now)
}

// sweep applies the window and then maxDocs, dropping the oldest tickets
// (down to 95% of maxDocs, so that sweeps stay rare). Called with the lock
// held.
func (x *Index) sweep(now time.Time) {
	x.adds = 0
	cutoff := now.Add(-x.window).UnixNano()
	for slot := range x.entries {
		e := &x.entries[slot]
		switch {
		case !e.live || e.created >= cutoff:
		case !e.open:
			x.drop(int32(slot))
		case e.indexed:
			x.unlinkText(int32(slot))
		}
	}
	if len(x.byID) <= x.maxDocs {
		return
	}
	order := make([]int32, 0, len(x.byID))
	for _, slot := range x.byID {
		order = append(order, slot)
	}
	slices.SortFunc(order, func(a, b int32) int {
		return cmp.Or(cmp.Compare(x.entries[a].created, x.entries[b].created), cmp.Compare(a, b))
	})
	excess := len(x.byID) - x.maxDocs*95/100
	for _, slot := range order[:excess] {
		x.drop(slot)
	}
}

// Find returns the tickets related to q, best first, at most k (DefaultK when
// k ≤ 0): the caller's open tickets, and tickets within the window scoring at
// least the threshold.
func (x *Index) Find(q Query, k int) []Match {
	if k <= 0 {
		k = DefaultK
	}
	now := x.now()
	cutoff := now.Add(-x.window).UnixNano()
	phone := normalizePhone(q.Phone)
	qp := prepare(q.Title, q.Text, q.Address)
	qt := queryText{prepared: qp, region: q.RegionCode}

	s := runePool.Get().(*scratch)
	defer runePool.Put(s)
	x.mu.RLock()
	defer x.mu.RUnlock()
	cands := s.slots[:0]
	if phone != "" {
		// At most maxChain of the caller's tickets (a shared switchboard
		// number may have thousands).
		mine := x.byPhone[phone]
		cands = append(cands, mine[max(0, len(mine)-maxChain):]...)
	}
	if qp.text.n > 0 {
		cands, s.lsh = x.buckets.candidates(cands, s.lsh, &qp.keys)
	}
	specific := x.specificDF()
	// The documents naming the query's places, the longest names first, at
	// most placeBudget in all.
	budget := placeBudget
	for _, pk := range qp.byLength() {
		if post := x.places[pk.hash]; len(post) <= specific && budget > 0 {
			take := post[max(0, len(post)-budget):]
			cands = append(cands, take...)
			budget -= len(take)
		}
	}
	// The documents whose titles share the query title's rarest grams, at
	// most titleBudget.
	qt.tq = newTitleQuery(qp.tgrams, x.titles, x.titled, specific)
	cands = qt.tq.candidates(cands)
	slices.Sort(cands)
	cands = slices.Compact(cands)
	s.slots = cands

	isSpecific := x.isSpecific(specific)
	var out []Match
	for _, slot := range cands {
		e := &x.entries[slot]
		if !e.live || e.id == q.Exclude {
			continue
		}
		caller := phone != "" && e.open && e.phone == phone
		textual := e.indexed && e.created >= cutoff
		if !caller && !textual {
			continue
		}
		var sc scored
		if textual {
			// A title alike by less than this cannot lift a ticket that
			// is not the caller's to the threshold.
			qt.titleFloor = 0
			if !caller {
				qt.titleFloor = x.threshold - x.score.regionBoost + x.score.titleOffset
			}
			sc = x.score.score(&qt, e, isSpecific)
		}
		if caller {
			sc.total = min(1, sc.total+x.score.callerBoost)
		} else if sc.total < x.threshold {
			continue
		}
		out = append(out, sc.match(e, caller))
	}
	slices.SortFunc(out, func(a, b Match) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), b.Created.Compare(a.Created), cmp.Compare(a.TicketID, b.TicketID))
	})
	if len(out) > k {
		out = out[:k]
	}
	return out
}

// specificDF is the most documents a place name may be found in and still
// say where a request is: 1% of the text candidates, at least placeMinDF.
func (x *Index) specificDF() int { return max(placeMinDF, x.texts/100) }

// isSpecific returns a test of whether a place name is specific.
func (x *Index) isSpecific(limit int) func(uint32) bool {
	return func(h uint32) bool { return len(x.places[h]) <= limit }
}

// Load adds the tickets that list returns, page after page: list is called
// with the empty cursor first and then with the cursor it returned last,
// until it returns an empty one. It returns how many documents it added.
// The gateway adapts its store's paged list to list, e.g. listing the tickets
// created within the window and the open ones.
func (x *Index) Load(ctx context.Context, list func(ctx context.Context, after string) ([]Doc, string, error)) (int, error) {
	n := 0
	after := ""
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		docs, next, err := list(ctx, after)
		if err != nil {
			return n, fmt.Errorf("loading related-ticket index after %q: %w", after, err)
		}
		for _, d := range docs {
			if err := x.Add(d); err != nil {
				return n, fmt.Errorf("loading related-ticket index: %w", err)
			}
			n++
		}
		if next == "" || next == after {
			return n, nil
		}
		after = next
	}
}
