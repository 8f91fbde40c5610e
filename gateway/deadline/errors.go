package deadline

import (
	"errors"
	"fmt"
)

// FieldError reports an invalid value in configuration or calendar data.
// Path names the offending key relative to the decoded document, such as
// "reply.rules[2].limit" or "years[1].holidays[0].to".
type FieldError struct {
	Path string // dotted key path with [i] indexes
	Err  error  // what is wrong with the value
}

// Error returns "path: message".
func (e *FieldError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

// fieldErrors collects FieldErrors in document order.
type fieldErrors []error

func (fe *fieldErrors) add(path, format string, args ...any) {
	*fe = append(*fe, &FieldError{Path: path, Err: fmt.Errorf(format, args...)})
}

func (fe fieldErrors) err() error { return errors.Join(fe...) }

// ErrExtension is returned (wrapped) by [Policy.Extend] when the requested
// number of working days is out of range.
var ErrExtension = errors.New("extension out of range")
