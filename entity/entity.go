// Package entity finds the named things of a citizen's request text — phone
// numbers, ID-like numbers, addresses, places, organisations, dates and
// amounts of money — and picks from them the fields an operator would fill in
// on a ticket (Fill).
//
// It is pure Go and rule-based: dictionaries of suffixes (路, 小区, 有限公司…),
// stop words that bound a name on its left, number grammars (Arabic and
// Chinese numerals, full-width digits) and checksums. It needs no model and
// takes a few tens of microseconds for a typical message. The rules were
// written against the hand-annotated sample in testdata/annotated.jsonl,
// whose README states the annotation guidelines, which are also the contract
// of Extract: what an entity of each type is and where its span ends.
//
// Offsets are rune offsets (a Chinese character counts as one), so that
// Entity.Text is exactly the runes text[Start:End]. Nothing in the package
// reads the clock: relative dates resolve against Options.Now.
//
// ID numbers are personal data: Entity.Masked carries the form to show or
// log, and Entity implements slog.LogValuer so that logging an entity never
// writes an ID number's Text.
package entity

import (
	"log/slog"
	"slices"
	"time"
)

// Type is the kind of an entity.
type Type string

// Entity types.
const (
	// Phone is a telephone number: a mobile (1[3-9] and 9 digits), a
	// landline with its area code, a 400/800 service number, or — after a
	// word such as 电话 or 手机 — a local number or a number the source had
	// anonymised (0000-00000000). Short hotline numbers (12345, 110, 96177)
	// are not phones.
	Phone Type = "phone"
	// IDNumber is an identifying number that must be masked: an 18-character
	// resident ID with a valid check character, a 15-digit first-generation
	// ID with a plausible birth date, an 18-character unified social credit
	// code (统一社会信用代码) with a valid check character, or a bank card
	// number (16–19 digits passing the Luhn check, after a word such as
	// 银行卡 or 卡号, or starting with the UnionPay prefix 62). Order,
	// waybill, certificate and licence-plate numbers are not.
	IDNumber Type = "id_number"
	// Address is a composed location precise enough to go to: a chain of at
	// least two location parts of which at least one is below the township
	// level (village, community, group, road, estate, number, building, unit,
	// room), e.g. A市A3区联丰路米兰春天G2栋320, 福临镇冯家坡村菜水塘组100号,
	// 嘉雨路沁园小区b3栋.
	Address Type = "address"
	// Place is a location name that is not part of an address: one named
	// part standing alone (a district, town, village, community, estate,
	// road, bridge, station, park…), or a chain of administrative divisions
	// only (西地省L市L6县蒲稳乡), which names a region rather than a spot.
	Place Type = "place"
	// Organisation is a named merchant, company, school, hospital, bank or
	// public body (…有限公司, …店, …医院, …小学, A市住建局). A functional
	// government department counts even without a place (住建局, 信访局);
	// generic mentions (政府, 物业公司, 燃气公司, 学校, 超市, 开发商) do not.
	// An administrative division directly before the name is part of it
	// (A市社保局).
	Organisation Type = "organisation"
	// Date is a calendar day, month or year, absolute or relative to now
	// (2019年5月1日, 5月1号, 2018.9.10, 去年12月, 上周, 昨天, 春节前), or a
	// range of years (2015-2019年). Times of day and durations are not dates.
	Date Type = "date"
	// Amount is a sum of money: a number with a currency word (元, 块, 块钱,
	// 万元, ￥), or a bare number right after a money word (收费1980,
	// 罚款200, 收入6800万).
	Amount Type = "amount"
)

// Types lists every type, in the order tables show them.
var Types = []Type{Phone, IDNumber, Address, Place, Organisation, Date, Amount}

// Entity is one thing found in a text.
type Entity struct {
	Type Type `json:"type"`
	// Text is the entity as written: the runes text[Start:End]. For an ID
	// number it is personal data: show and log Masked instead.
	Text string `json:"text"`
	// Start and End are rune offsets into the text, End exclusive.
	Start int `json:"start"`
	End   int `json:"end"`
	// Value is the normalised value, when there is one:
	//   - phone: the canonical number of Caller.phone — 11 digits for a
	//     mobile, 0AA-NNNNNNNN for a landline, 10 digits for 400/800, the
	//     digits as written otherwise;
	//   - id_number: the number with an upper-case X;
	//   - date: YYYY-MM-DD, YYYY-MM or YYYY as precise as the text is,
	//     YYYY-Www for a week, FROM/TO (years) for a range; empty when the
	//     text needs a reference time and Options.Now is zero;
	//   - amount: yuan as a decimal number ("1200", "12000", "0.5"), the
	//     lower bound for "3万多元", LOW-HIGH for a range; empty for
	//     "几千元";
	//   - address, place, organisation: empty.
	Value string `json:"value,omitempty"`
	// Masked is the form to display and log: for an ID number its first
	// six and last four characters (440106********1234), for a phone its
	// first three and last four digits (138****8000).
	Masked string `json:"masked,omitempty"`
}

// LogValue keeps ID numbers out of logs: an ID number logs as its masked
// form only.
func (e Entity) LogValue() slog.Value {
	text := e.Text
	if e.Type == IDNumber {
		text = e.Masked
	}
	return slog.GroupValue(
		slog.String("type", string(e.Type)),
		slog.String("text", text),
		slog.Int("start", e.Start),
		slog.Int("end", e.End),
	)
}

// Options tune Extract.
type Options struct {
	// Now is the reference time of relative dates (昨天, 去年12月) and of
	// dates without a year: usually when the message came in. Zero leaves
	// such dates without a Value.
	Now time.Time
	// Places are known place names — the registry's unit names, road and
	// estate names — that Extract recognises as places even where its
	// rules would not, and that may start or continue an address.
	Places []string
}

// candidate is an entity before overlaps are resolved.
type candidate struct {
	Entity
	prio int // higher wins an overlap
}

// Extract finds the entities of text, ordered by Start. They never overlap.
func Extract(text string, opts Options) []Entity {
	if text == "" {
		return nil
	}
	d := newDoc(text, opts)
	var cands []candidate
	cands = d.numbers(cands)
	cands = d.dates(cands)
	cands = d.amounts(cands)
	cands = resolve(cands)
	d.block(cands)
	cands = append(cands, d.locations()...)
	cands = resolve(cands)
	out := make([]Entity, len(cands))
	for i, c := range cands {
		out[i] = c.Entity
	}
	return out
}

// resolve drops candidates that overlap a better one: higher priority
// first, then the longer, then the earlier.
func resolve(cands []candidate) []candidate {
	if len(cands) < 2 {
		return cands
	}
	order := slices.Clone(cands)
	slices.SortStableFunc(order, func(a, b candidate) int {
		if a.prio != b.prio {
			return b.prio - a.prio
		}
		if la, lb := a.End-a.Start, b.End-b.Start; la != lb {
			return lb - la
		}
		return a.Start - b.Start
	})
	end := 0
	for _, c := range order {
		end = max(end, c.End)
	}
	used := make([]bool, end)
	var kept []candidate
	for _, c := range order {
		if slices.Contains(used[c.Start:c.End], true) {
			continue
		}
		for i := c.Start; i < c.End; i++ {
			used[i] = true
		}
		kept = append(kept, c)
	}
	slices.SortFunc(kept, func(a, b candidate) int { return a.Start - b.Start })
	return kept
}
