// Package errs is Switchboard's closed set of error kinds. Code that fails wraps
// what it was doing around an *Error carrying one Kind; the API layer maps kinds to
// gRPC and HTTP codes in one place. Errors are matched by kind, never by text.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller can do about it.
type Kind uint8

// The kinds. The set is closed: add one only with its mapping in the API layer.
const (
	Other           Kind = iota // an internal failure; the details are not for the caller
	Invalid                     // the request is malformed; see the field violations
	NotFound                    // the thing does not exist (or the caller may not know it does)
	Conflict                    // the request conflicts with existing state (idempotency key, version)
	Precondition                // the action is not allowed in the current state
	Permission                  // the caller may not do this
	Unauthenticated             // the caller is not known
	Transient                   // try again later; nothing was done
	Rejected                    // a backend refused the request permanently
	RetryAfter                  // a backend asked to be retried later
)

var kindNames = [...]string{"internal", "invalid", "not found", "conflict", "failed precondition",
	"permission denied", "unauthenticated", "transient", "rejected", "retry after"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// FieldViolation names one bad field of a request, with its path in the API's
// JSON spelling (e.g. "caller.phone").
type FieldViolation struct {
	Field       string
	Description string
}

// Error is an error of a known kind.
type Error struct {
	Kind   Kind
	Msg    string           // what went wrong, safe to show to the caller
	Fields []FieldViolation // for Invalid
	Err    error            // the underlying cause, if any; not shown to callers
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Msg)
	for i, f := range e.Fields {
		if i == 0 && e.Msg != "" {
			b.WriteString(": ")
		} else if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		b.WriteString(": ")
		b.WriteString(f.Description)
	}
	// E puts the cause's text in Msg already (its format wraps it with %w).
	if e.Err != nil && !strings.HasSuffix(e.Msg, e.Err.Error()) {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// E returns an error of kind k with a message formatted from format and args. A
// %w verb wraps the cause as with fmt.Errorf.
func E(k Kind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: k, Msg: err.Error(), Err: errors.Unwrap(err)}
}

// Invalidf returns an Invalid error for one field.
func Invalidf(field, format string, args ...any) error {
	return &Error{Kind: Invalid, Msg: "invalid request", Fields: []FieldViolation{{Field: field, Description: fmt.Sprintf(format, args...)}}}
}

// KindOf returns the kind of the first *Error in err's chain, or Other.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Other
}

// Is reports whether err's kind is k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// Violations collects field violations; its Err returns nil when there are none.
type Violations []FieldViolation

// Add records a violation of field.
func (v *Violations) Add(field, format string, args ...any) {
	*v = append(*v, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Err returns an Invalid error listing every violation, or nil.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Msg: "invalid request", Fields: v}
}
