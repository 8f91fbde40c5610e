// Package kb is the knowledge base (答复口径) operators answer callers from:
// entries holding a title, the approved answer, a category code, the unit
// that issued the answer, validity dates and keywords; their import from
// CSV or YAML (parse.go); and Index, an in-memory full-text index over the
// Chinese text that ranks entries for a caller's words (index.go).
//
// The index needs no word segmenter: it indexes every character and every
// pair of adjacent characters (bigrams) of the Han text, and whole words of
// Latin letters and digits (12315, PM2.5), and ranks with BM25 over three
// fields (title, keywords and answer, the title weighing most). The store
// keeps the entries; the index is rebuilt from it.
package kb

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard12345/switchboard/internal/errs"
)

// Entry is one answer of the knowledge base.
type Entry struct {
	ID     string // e.g. kb-teddy-2549; letters, digits, '.', '_', '-'
	Title  string // what the answer is about, e.g. 住房公积金提取条件
	Answer string // the approved answer (答复口径), read to or sent to the caller
	// Category is a code of the taxonomy ("" when the entry has none).
	Category string
	// Unit is the unit that issued the answer: a registry unit id or the
	// name of an office, e.g. A市住房公积金管理中心.
	Unit string
	// The answer holds from ValidFrom (inclusive; zero: always has) until
	// ValidUntil (exclusive; zero: open-ended).
	ValidFrom  time.Time
	ValidUntil time.Time
	Keywords   []string
	// Source says where the answer comes from, e.g. a document number or
	// teddy2020c-att4#2549.
	Source string

	// Revision is the knowledge base's revision at which the entry last
	// changed (set by the store, like etcd's mod_revision).
	Revision  int64
	CreatedAt time.Time
	CreatedBy string
	UpdatedAt time.Time
	UpdatedBy string
}

// Limits of an entry.
const (
	MaxIDLen       = 64    // bytes
	MaxTitle       = 200   // characters
	MaxAnswer      = 20000 // characters
	MaxUnit        = 100   // characters
	MaxSource      = 200   // characters
	MaxKeywords    = 30
	MaxKeyword     = 40 // characters of one keyword
	MaxCategoryLen = 32 // bytes, as taxonomy.MaxCodeLen
)

var (
	idPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	codePattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

// ValidID reports whether id may name an entry.
func ValidID(id string) bool { return len(id) <= MaxIDLen && idPattern.MatchString(id) }

// ValidAt reports whether the entry holds at t. A zero t matches every entry.
func (e *Entry) ValidAt(t time.Time) bool {
	if t.IsZero() {
		return true
	}
	return (e.ValidFrom.IsZero() || !t.Before(e.ValidFrom)) && (e.ValidUntil.IsZero() || t.Before(e.ValidUntil))
}

// Normalize trims the text fields and drops empty and repeated keywords.
func (e *Entry) Normalize() {
	e.ID = strings.TrimSpace(e.ID)
	e.Title = strings.TrimSpace(e.Title)
	e.Answer = strings.TrimSpace(e.Answer)
	e.Category = strings.TrimSpace(e.Category)
	e.Unit = strings.TrimSpace(e.Unit)
	e.Source = strings.TrimSpace(e.Source)
	var kws []string
	seen := map[string]bool{}
	for _, k := range e.Keywords {
		k = strings.TrimSpace(k)
		if k != "" && !seen[k] {
			seen[k] = true
			kws = append(kws, k)
		}
	}
	e.Keywords = kws
}

// Validate reports every field of e that cannot be stored, as an Invalid
// error whose violations name the fields with prefix (e.g. "entry.").
// requireID says whether an empty ID is a violation.
func (e *Entry) Validate(prefix string, requireID bool) error {
	var v errs.Violations
	e.Check(&v, prefix, requireID)
	return v.Err()
}

// Check adds the violations of e to v (see Validate).
func (e *Entry) Check(v *errs.Violations, prefix string, requireID bool) {
	text := func(field, s string, required bool, maxLen int) {
		switch {
		case s == "":
			if required {
				v.Add(prefix+field, "required")
			}
		case !utf8.ValidString(s):
			v.Add(prefix+field, "not valid UTF-8")
		case utf8.RuneCountInString(s) > maxLen:
			v.Add(prefix+field, "at most %d characters, got %d", maxLen, utf8.RuneCountInString(s))
		case strings.IndexFunc(s, badControl) >= 0:
			v.Add(prefix+field, "holds a control character")
		}
	}
	switch {
	case e.ID == "":
		if requireID {
			v.Add(prefix+"id", "required")
		}
	case !ValidID(e.ID):
		v.Add(prefix+"id", "must be 1 to %d letters, digits, '.', '_' or '-', starting with a letter or digit, got %q", MaxIDLen, e.ID)
	}
	text("title", e.Title, true, MaxTitle)
	text("answer", e.Answer, true, MaxAnswer)
	if e.Category != "" && (len(e.Category) > MaxCategoryLen || !codePattern.MatchString(e.Category)) {
		v.Add(prefix+"category", "must be a category code (letters, digits, '.', '_' or '-'), got %q", e.Category)
	}
	text("unit", e.Unit, false, MaxUnit)
	text("source", e.Source, false, MaxSource)
	if !e.ValidFrom.IsZero() && !e.ValidUntil.IsZero() && !e.ValidUntil.After(e.ValidFrom) {
		v.Add(prefix+"validUntil", "must be after validFrom (%s), got %s", e.ValidFrom.Format(time.RFC3339), e.ValidUntil.Format(time.RFC3339))
	}
	if len(e.Keywords) > MaxKeywords {
		v.Add(prefix+"keywords", "at most %d, got %d", MaxKeywords, len(e.Keywords))
	}
	for i, k := range e.Keywords {
		text(fmt.Sprintf("keywords[%d]", i), k, true, MaxKeyword)
	}
}

// badControl reports control characters other than line breaks and tabs,
// which answers may hold.
func badControl(r rune) bool {
	return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t'
}
