// Package assist computes what intake proposes for a new request: the top
// categories and handling units from models trained on the deployment's own
// history (package classify), the entities in the text (package entity),
// knowledge-base answers (package kb) and related open tickets (package
// related). Each part is optional; an Assistant with none proposes nothing.
// It does no I/O of its own: the parts are in memory, kept current by their
// owners.
package assist

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/classify"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/registry"
)

// Model is a trained classifier (a *classify.Model).
type Model interface {
	Predict(text string, k int) []classify.Suggestion
	Auto(top classify.Suggestion) bool
}

// Categories turns a model's labels into category codes and names: a label
// may be a code of the taxonomy or the name of one of its categories (a
// model trained on 一级分类 names).
type Categories interface {
	// Resolve returns the code and name of label, ok false if unknown.
	Resolve(label string) (code, name string, ok bool)
}

// Extractor finds entities in a text.
type Extractor interface {
	Extract(text string, now time.Time) []ticket.Entity
}

// Answer is a knowledge-base entry matching a request.
type Answer struct {
	ID, Title, Answer, Category, Unit string
	Score                             float64
}

// Knowledge searches the knowledge base.
type Knowledge interface {
	Search(text string, k int, at time.Time) []Answer
}

// Match is a related ticket.
type Match struct {
	TicketID, TrackingNumber, Title string
	Score                           float64
	Reasons                         []string
}

// Related finds related tickets of a request.
type Related interface {
	Find(t ticket.Ticket, k int) []Match
}

// Assistant is the set of parts.
type Assistant struct {
	// Category, if set, suggests categories; CategoryVersion names it.
	Category        Model
	CategoryVersion string
	// Unit, if set, suggests handling units directly (labels are unit ids).
	Unit        Model
	UnitVersion string
	Categories  Categories
	// Routes, if set, turns suggested categories into suggested units by
	// the registry's routing rules (category × region).
	Routes    func() *registry.Snapshot
	Extractor Extractor
	Knowledge Knowledge
	Related   Related
	// K is how many suggestions, answers and related tickets to return
	// (default 3).
	K int
}

// Proposal is what the assistant proposes for one request.
type Proposal struct {
	Suggested ticket.Suggested
	Entities  []ticket.Entity
	// Category is the category to file the ticket under when the request
	// came without one and the top suggestion is confident enough (Auto);
	// empty otherwise.
	Category string
	// Unit is the unit model's top unit when it is confident enough; empty
	// otherwise.
	Unit    string
	Answers []Answer
	Related []Match
}

// Region is the region code of the most precise territorial unit the text
// names, when the request came without one (Suggested.Region); empty
// otherwise.
func (p Proposal) Region() string {
	if p.Suggested.Region == nil {
		return ""
	}
	return p.Suggested.Region.Code
}

// Text is the text the models read: title and content on two lines. Entity
// offsets count characters into it.
func Text(t ticket.Ticket) string { return t.Title + "\n" + t.Content }

// Propose computes the proposal for a new ticket t (already normalised) at
// now. Knowledge answers and related tickets are left out when withContext
// is false (intake files many tickets; the operator's screen wants them).
func (a *Assistant) Propose(ctx context.Context, t ticket.Ticket, now time.Time, withContext bool) Proposal {
	k := a.K
	if k <= 0 {
		k = 3
	}
	text := Text(t)
	var p Proposal
	var snap *registry.Snapshot
	if a.Routes != nil {
		snap = a.Routes() // one registry revision for the whole proposal
	}
	if a.Category != nil {
		sug := a.Category.Predict(text, k)
		for i, s := range sug {
			g := ticket.Guess{Code: s.Label, Confidence: round(s.Confidence)}
			if a.Categories != nil {
				if code, name, ok := a.Categories.Resolve(s.Label); ok {
					g.Code, g.Name = code, name
				}
			}
			p.Suggested.Categories = append(p.Suggested.Categories, g)
			if i == 0 && a.Category.Auto(s) {
				p.Suggested.Auto = true
				p.Category = g.Code
			}
		}
		p.Suggested.Model = a.CategoryVersion
	}
	units := map[string]bool{}
	if a.Unit != nil {
		for i, s := range a.Unit.Predict(text, k) {
			p.Suggested.Units = append(p.Suggested.Units, ticket.Guess{Code: s.Label, Name: unitName(snap, s.Label), Confidence: round(s.Confidence)})
			units[s.Label] = true
			if i == 0 && a.Unit.Auto(s) {
				p.Unit = s.Label
			}
		}
		if a.UnitVersion != "" {
			p.Suggested.Model = strings.TrimPrefix(p.Suggested.Model+" + "+a.UnitVersion, " + ")
		}
	}
	if snap != nil && t.Location.RegionCode == "" {
		// The jurisdiction the caller's words name (属地): the most
		// precise territorial unit of the registry in the address, else
		// in the title and content.
		place, ok := snap.Locate(t.Location.Address)
		if !ok {
			place, ok = snap.Locate(text)
		}
		if ok && place.Region != "" {
			p.Suggested.Region = &ticket.Guess{Code: place.Region, Name: place.Name}
			t.Location.RegionCode = place.Region
		}
	}
	if snap != nil && len(p.Suggested.Units) < k {
		// Units the routing rules give for the suggested categories in the
		// request's region, with the category's confidence.
		for _, g := range p.Suggested.Categories {
			if u, ok := snap.Route(g.Code, t.Location.RegionCode); ok && !units[u] && len(p.Suggested.Units) < k {
				units[u] = true
				p.Suggested.Units = append(p.Suggested.Units, ticket.Guess{Code: u, Name: unitName(snap, u), Confidence: g.Confidence})
			}
		}
	}
	if a.Extractor != nil {
		p.Entities = a.Extractor.Extract(text, now)
	}
	if withContext {
		if a.Knowledge != nil {
			p.Answers = a.Knowledge.Search(text, k, now)
		}
		if a.Related != nil {
			p.Related = a.Related.Find(t, k)
		}
	}
	return p
}

func unitName(snap *registry.Snapshot, id string) string {
	if snap == nil {
		return ""
	}
	u, err := snap.Unit(context.Background(), id)
	if err != nil {
		return ""
	}
	return u.Name
}

// round keeps four decimals: enough for an operator, stable in JSON.
func round(f float64) float64 { return math.Round(f*1e4) / 1e4 }
