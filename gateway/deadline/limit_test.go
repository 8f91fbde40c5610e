package deadline_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/gateway/deadline"
)

func TestParseLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    deadline.Limit
		text    string // canonical form; "" means same as in
		wantErr string
	}{
		{in: "15m", want: deadline.Limit{Duration: 15 * time.Minute}},
		{in: "30m", want: deadline.Limit{Duration: 30 * time.Minute}},
		{in: "1h30m", want: deadline.Limit{Duration: 90 * time.Minute}},
		{in: "24h", want: deadline.Limit{Duration: 24 * time.Hour}},
		{in: "90s", want: deadline.Limit{Duration: 90 * time.Second}, text: "1m30s"},
		{in: "1wd", want: deadline.Limit{WorkingDays: 1}},
		{in: "5wd", want: deadline.Limit{WorkingDays: 5}},
		{in: "05wd", want: deadline.Limit{WorkingDays: 5}, text: "5wd"},
		{in: "", wantErr: `invalid limit ""`},
		{in: "5d", wantErr: `invalid limit "5d": want a duration`},
		{in: "5", wantErr: `invalid limit "5"`},
		{in: "wd", wantErr: `invalid limit "wd"`},
		{in: "1.5wd", wantErr: `invalid limit "1.5wd"`},
		{in: "+3wd", wantErr: `invalid limit "+3wd"`},
		{in: "-3wd", wantErr: `invalid limit "-3wd"`},
		{in: "0wd", wantErr: `invalid limit "0wd": working days must be between 1 and 1000`},
		{in: "1001wd", wantErr: `invalid limit "1001wd": working days must be between 1 and 1000`},
		{in: "99999999999999999999wd", wantErr: `between 1 and 1000`},
		{in: "0m", wantErr: `invalid limit "0m": must be positive`},
		{in: "-15m", wantErr: `invalid limit "-15m": must be positive`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := deadline.ParseLimit(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseLimit(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseLimit(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			text := tc.text
			if text == "" {
				text = tc.in
			}
			if b, err := got.MarshalText(); err != nil || string(b) != text {
				t.Errorf("MarshalText() = %q, %v; want %q", b, err, text)
			}
		})
	}
}

func TestLimitMarshalInvalid(t *testing.T) {
	t.Parallel()
	for _, l := range []deadline.Limit{
		{Duration: time.Minute, WorkingDays: 1},
		{WorkingDays: -1},
		{Duration: -time.Minute},
	} {
		if b, err := l.MarshalText(); err == nil {
			t.Errorf("%#v.MarshalText() = %q, want error", l, b)
		}
	}
	if b, err := (deadline.Limit{}).MarshalText(); err != nil || len(b) != 0 {
		t.Errorf("zero Limit marshals to %q, %v; want empty", b, err)
	}
}
