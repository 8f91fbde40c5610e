package related

import (
	"fmt"
	"slices"
	"time"
)

// placeMinDF is the least number of documents a place name may be found in
// and still count as specific, whatever the index's size.
const placeMinDF = 20

// scoring holds the weights of a match's score. The score of a ticket that is
// not the caller's is
//
//	text  = max(Jaccard, containWeight·containment) of the 3-gram sets of
//	        title and text, containment counting only when the smaller text
//	        has minShingles shingles or more
//	title = Jaccard of what the two titles say (matterBigrams: without place
//	        names and words every title has)
//	s     = max(text, titleWeight·title) at the same place (similar addresses,
//	        or a specific place name both name), else text
//	score = s + placeBoost (same place)
//	          + regionBoost (same region code)
//	          − regionPenalty (both region codes set, unrelated)
//	          − placeConflict (both name places in title or address, none the
//	            same)
//
// where nothing is added or taken when s < textFloor: two requests at the
// same place are not related unless what they say is. The title counts only
// at the same place, since titles of one kind of matter ("路灯不亮") are alike
// everywhere; and a letter sent about two places (the same complaint with
// another estate's name) is two matters. The score is kept within [0, 1].
// The caller's own open tickets get callerBoost on top and are returned
// whatever their score. The values are the ones the evaluation on the Teddy
// Cup messages chose (testdata/README.md).
type scoring struct {
	containWeight float64
	minShingles   int32
	titleWeight   float64
	textFloor     float64
	placeBoost    float64
	regionBoost   float64
	regionPenalty float64
	placeConflict float64
	callerBoost   float64
}

var defaultScoring = scoring{
	containWeight: 0.8,
	minShingles:   20,
	titleWeight:   1.0,
	textFloor:     0.15,
	placeBoost:    0.15,
	regionBoost:   0.05,
	regionPenalty: 0.1,
	placeConflict: 0.35,
	callerBoost:   0.5,
}

// queryText is a request's text model with its location.
type queryText struct {
	prepared
	region string
}

// scored is a candidate's score and its parts.
type scored struct {
	total float64
	text  float64
	title float64
	place string
}

// score scores the indexed entry e against q; specific tells whether a place
// name is specific enough to be evidence.
func (w *scoring) score(q *queryText, e *entry, specific func(uint32) bool) scored {
	j, c := compare(q.text, e.text)
	text := j
	if min(q.text.n, e.text.n) >= w.minShingles {
		text = max(text, w.containWeight*c)
	}
	sc := scored{text: text, total: text}
	place, conflict := "", false
	if sameAddress(q.addr, e.addr) {
		place = "address"
	} else if len(q.places) > 0 && len(e.places) > 0 {
		var shared bool
		place, shared = sharedPlace(q.places, e.places, specific)
		conflict = !shared
	}
	s := text
	if place != "" {
		sc.title = jaccard(q.title, e.title)
		s = max(s, w.titleWeight*sc.title)
	}
	if s < w.textFloor {
		return sc
	}
	total := s
	if place != "" {
		sc.place, total = place, total+w.placeBoost
	}
	switch regionRelation(q.region, e.region) {
	case 1:
		total += w.regionBoost
		if sc.place == "" {
			sc.place = "region " + e.region
		}
	case -1:
		total -= w.regionPenalty
	}
	if conflict {
		total -= w.placeConflict
	}
	sc.total = min(1, max(0, total))
	return sc
}

// sharedPlace returns the longest specific place name of the query that the
// entry names too (the sorted hashes places), or "", and whether they share
// any name at all.
func sharedPlace(query []placeKey, places []uint32, specific func(uint32) bool) (name string, shared bool) {
	for _, k := range query {
		if _, ok := slices.BinarySearch(places, k.hash); ok {
			shared = true
			if len(k.name) > len(name) && specific(k.hash) {
				name = k.name
			}
		}
	}
	return name, shared
}

// match turns a scored entry into a Match.
func (sc scored) match(e *entry, caller bool) Match {
	m := Match{
		TicketID: e.id, TrackingNumber: e.tracking, Score: sc.total,
		Place: sc.place, Units: slices.Clone(e.units), Open: e.open, Created: time.Unix(0, e.created).UTC(),
	}
	if caller {
		m.Reasons = append(m.Reasons, "same caller")
	}
	if sc.text >= 0.05 {
		m.Reasons = append(m.Reasons, fmt.Sprintf("near-duplicate text %.2f", sc.text))
	}
	if sc.place != "" && sc.title > sc.text {
		m.Reasons = append(m.Reasons, fmt.Sprintf("similar title %.2f", sc.title))
	}
	if sc.place != "" {
		m.Reasons = append(m.Reasons, "same place")
	}
	return m
}
