package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestRunRefuses checks the flag combinations run refuses before opening
// anything.
func TestRunRefuses(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name string
		c    config
		want string
	}{
		{"nothing", config{backends: backends{}}, "nothing to simulate"},
		{"both modes", config{demo: true, backends: backends{"gz-samr": "rest"}}, "not both"},
		{"off loopback", config{listen: "0.0.0.0:18080", backends: backends{"gz-samr": "rest"}}, "loopback only"},
		{"admin off loopback", config{demo: true, admin: "10.0.0.1:18080"}, "loopback only"},
		{"bad actions", config{demo: true, admin: "127.0.0.1:0", actions: `{"autoSign":"是"}`}, "--actions"},
		{"unknown kind", config{listen: "127.0.0.1:0", backends: backends{"gz-samr": "fax"}}, "unknown kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := run(context.Background(), tc.c, log)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
