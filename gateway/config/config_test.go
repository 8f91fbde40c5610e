package config

import (
	"strings"
	"testing"
	"time"
)

func TestGoodFiles(t *testing.T) {
	t.Parallel()
	t.Run("empty keeps defaults", func(t *testing.T) {
		t.Parallel()
		c, err := Load("testdata/empty.good.yml")
		if err != nil {
			t.Fatal(err)
		}
		d := Default()
		if c.HTTP != d.HTTP || c.GRPC != d.GRPC || c.DataDir != "./data" || c.Store.Driver != "sqlite" || !c.Dispatch.AutoDispatch {
			t.Fatalf("defaults changed: %+v", c)
		}
	})
	t.Run("full", func(t *testing.T) {
		t.Parallel()
		c, err := Load("testdata/full.good.yml")
		if err != nil {
			t.Fatal(err)
		}
		if c.Store.Driver != "postgres" || c.Store.MaxBatch != 128 || c.ShutdownGrace != 30*time.Second || c.GRPC.Addr != "[::1]:9443" || c.Log.Format != "text" || c.Dispatch.AutoDispatch {
			t.Fatalf("full config decoded as %+v", c)
		}
	})
}

func TestBadFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []string // every one must appear in the error
	}{
		{"unknown-key.bad.yml", []string{"adress", "not found"}},
		{"bad-values.bad.yml", []string{"http.addr: must be host:port", "store.driver: must be sqlite or postgres", "log.level:"}},
		{"bad-limit.bad.yml", []string{"line 3", "5 days"}},
		{"postgres-no-dsn.bad.yml", []string{"store.postgresDSN: required"}},
		{"bad-dispatch.bad.yml", []string{"dispatch.maxInFlight: must be between 0", "dispatch.webhookWindow: must not be negative"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			_, err := Load("testdata/" + tc.file)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestDeadlineErrorsArePrefixed(t *testing.T) {
	t.Parallel()
	_, err := Decode(strings.NewReader("deadlines:\n  maxExtensionDays: -1\n"))
	if err == nil || !strings.Contains(err.Error(), "deadlines.maxExtensionDays") {
		t.Fatalf("error %v does not name deadlines.maxExtensionDays", err)
	}
}
