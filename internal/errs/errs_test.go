package errs

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorText(t *testing.T) {
	t.Parallel()
	cause := errors.New("disk full")
	tests := []struct {
		name string
		err  error
		want string
		kind Kind
	}{
		{"E wraps once", E(Transient, "writing ticket: %w", cause), "writing ticket: disk full", Transient},
		{"wrapped again", fmt.Errorf("storing: %w", E(Conflict, "key used")), "storing: key used", Conflict},
		{"violations", Violations{{"title", "required"}, {"caller.phone", "bad"}}.Err(), "invalid request: title: required; caller.phone: bad", Invalid},
		{"plain", errors.New("x"), "x", Other},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.err.Error() != tc.want || KindOf(tc.err) != tc.kind {
				t.Fatalf("%q (%v), want %q (%v)", tc.err.Error(), KindOf(tc.err), tc.want, tc.kind)
			}
		})
	}
	if !errors.Is(E(Transient, "writing: %w", cause), cause) {
		t.Error("cause not unwrapped")
	}
	if (Violations{}).Err() != nil {
		t.Error("no violations is not an error")
	}
}
