package entity

import (
	"slices"
	"unicode/utf8"
)

// Fields are the ticket fields that a message's entities suggest, for an
// operator to confirm. Fill never overwrites what a caller gave: the
// intake decides which suggestion to use.
type Fields struct {
	// CallerPhone is the first phone number's Value (the canonical form
	// of Caller.phone): a citizen who writes a number usually writes their
	// own. Empty when the text has none.
	CallerPhone string `json:"callerPhone,omitempty"`
	// Phones are every phone number's Value, in order, without repeats.
	Phones []string `json:"phones,omitempty"`
	// IDNumber is the first 18-character resident ID number with a valid
	// check character (Caller.id_number). It is personal data: display and
	// log IDNumberMasked.
	IDNumber       string `json:"idNumber,omitempty"`
	IDNumberMasked string `json:"idNumberMasked,omitempty"`
	// Address is the longest address (Location.address); without one, the
	// longest place that names more than a region (a road, estate,
	// village); else empty.
	Address string `json:"address,omitempty"`
	// RegionHints are the administrative divisions named, in order,
	// without repeats: places made of divisions only (商洛市商州区) and the
	// divisions an address starts with. A router maps them to region codes.
	RegionHints []string `json:"regionHints,omitempty"`
	// Places are the other places (roads, estates, villages, landmarks),
	// in order, without repeats.
	Places []string `json:"places,omitempty"`
	// Organisations are the organisations named, in order, without
	// repeats: the merchant complained about or the body asked to act.
	Organisations []string `json:"organisations,omitempty"`
	// Dates are the resolved dates (Value), in order, without repeats.
	Dates []string `json:"dates,omitempty"`
	// Amounts are the sums of money in yuan (Value), in order.
	Amounts []string `json:"amounts,omitempty"`
}

// Fill picks ticket fields from entities (as Extract returns them).
func Fill(entities []Entity) Fields {
	var f Fields
	add := func(list []string, v string) []string {
		if v == "" || slices.Contains(list, v) {
			return list
		}
		return append(list, v)
	}
	bestPlace := ""
	for _, e := range entities {
		switch e.Type {
		case Phone:
			if f.CallerPhone == "" {
				f.CallerPhone = e.Value
			}
			f.Phones = add(f.Phones, e.Value)
		case IDNumber:
			if f.IDNumber == "" && validResidentID(e.Value, Options{}) {
				f.IDNumber, f.IDNumberMasked = e.Value, e.Masked
			}
		case Address:
			if utf8.RuneCountInString(e.Text) > utf8.RuneCountInString(f.Address) {
				f.Address = e.Text
			}
			if r := regionPrefix(e.Text); r != "" {
				f.RegionHints = add(f.RegionHints, r)
			}
		case Place:
			if r := regionPrefix(e.Text); r == e.Text {
				f.RegionHints = add(f.RegionHints, r)
				continue
			}
			f.Places = add(f.Places, e.Text)
			if utf8.RuneCountInString(e.Text) > utf8.RuneCountInString(bestPlace) {
				bestPlace = e.Text
			}
		case Organisation:
			f.Organisations = add(f.Organisations, e.Text)
		case Date:
			f.Dates = add(f.Dates, e.Value)
		case Amount:
			if e.Value != "" {
				f.Amounts = append(f.Amounts, e.Value)
			}
		}
	}
	if f.Address == "" {
		f.Address = bestPlace
	}
	return f
}

// regionPrefix returns the administrative divisions a location starts
// with (A市A3区 of A市A3区联丰路…), or "".
func regionPrefix(loc string) string {
	d := newDoc(loc, Options{})
	end := 0
	for _, p := range d.locationParts() {
		if p.start != end || p.level >= levelVillage {
			break
		}
		end = p.end
	}
	return string(d.raw[:end])
}
