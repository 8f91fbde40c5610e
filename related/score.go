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
//	named = cosine of the two whole titles' bigrams weighted by their
//	        rarity among the indexed titles (title.go), when the titles
//	        share a bigram few titles have
//	s     = max(text, titleWeight·title) at the same place (similar addresses,
//	        or a specific place name both name),
//	        else max(text, named − titleOffset)
//	score = s + placeBoost (same place)
//	          + regionBoost (same region code)
//	          − regionPenalty (both region codes set, unrelated)
//	          − placeConflict (both name places in title or address, none the
//	            same)
//
// where nothing is added or taken when s < textFloor: two requests at the
// same place are not related unless what they say is. What the title says
// counts only at the same place, since titles of one kind of matter
// ("路灯不亮") are alike everywhere; and a letter sent about two places (the
// same complaint with another estate's name) is two matters. Elsewhere the
// title counts by what it names: two titles naming one rare thing in other
// words ("A市政府机关食堂为什么不对外开放了", "A市政府食堂为什么不对外开放了")
// are alike though their letters are not, and no place name need be found
// in them. At the same place that cosine is left out, since the shared place
// name alone makes it high (an estate's parking fees and its lifts). The score is kept within [0, 1].
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
	// titleOffset is taken from the cosine of the idf-weighted title
	// bigrams (title.go) for it to count as text similarity anywhere.
	titleOffset float64
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
	titleOffset:   0.2,
}

// queryText is a request's text model with its location.
type queryText struct {
	prepared
	region string
	// tq weighs the title's grams by the index's titles.
	tq titleQuery
	// titleFloor is the title cosine below which the title cannot make a
	// match (Find's threshold): the cosine is not worked out below it.
	titleFloor float64
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
	} else if w.titleOffset > 0 {
		// Below max(titleFloor, titleOffset+s) the cosine changes nothing.
		if cos, rare := q.tq.cosine(e.tgrams, max(q.titleFloor, w.titleOffset+s)); rare && cos-w.titleOffset > s {
			sc.title = cos
			s = cos - w.titleOffset
		}
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
	if sc.title > sc.text {
		m.Reasons = append(m.Reasons, fmt.Sprintf("similar title %.2f", sc.title))
	}
	if sc.place != "" {
		m.Reasons = append(m.Reasons, "same place")
	}
	return m
}
