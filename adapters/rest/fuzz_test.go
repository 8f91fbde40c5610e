package rest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/internal/httpx"
)

// FuzzResponse feeds arbitrary answers (status, Retry-After, body) to the
// response mapping, the Retry-After parser and the JSON id extraction: they
// never panic; an answer is either a receipt or an error; only 2xx and 409
// are acceptances; a delay is never negative; an ExternalID is short and
// printable; an error quotes little backend text.
func FuzzResponse(f *testing.F) {
	for _, seed := range []struct {
		status int
		ra     string
		body   string
	}{
		{200, "", `{"id":"GZ-1"}`},
		{201, "", `{"id":12345678901234567890}`},
		{200, "", `{"data":{"caseNo":"X"}}`},
		{200, "", `[{"id":"A"}]`},
		{200, "", `[]`},
		{409, "", `{"key":"k","id":"B"}`},
		{429, "7", `slow`},
		{503, "Fri, 27 Nov 2026 02:00:30 GMT", ``},
		{503, "Thu, 01 Jan 1970 00:00:00 GMT", ``},
		{503, "-1", ``},
		{503, "999999999999", ``},
		{500, "", `{"error":"内部错误"}`},
		{422, "", "\xff\xfe{\"id\":"},
		{200, "", `{"id":"a\nb"}`},
		{200, "", `{"id":` + strings.Repeat("[", 300)},
	} {
		f.Add(seed.status, seed.ra, []byte(seed.body))
	}
	cfg := &Config{IdempotencyHeader: DefaultIdempotencyHeader, IDField: "data.caseNo"}
	cfgTop := &Config{IdempotencyHeader: DefaultIdempotencyHeader, IDField: "id"}
	now := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, ra string, body []byte) {
		if len(body) > maxResponse {
			body = body[:maxResponse]
		}
		if d, ok := httpx.RetryAfter(ra, now); ok && d < 0 {
			t.Fatalf("retryAfter(%q) = %s", ra, d)
		}
		for _, path := range []string{"id", "data.caseNo", "key"} {
			if id, ok := extractID(body, path); ok != (id != "") || len(id) > maxIDLen || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 }) {
				t.Fatalf("extractID(%q) = %q, %v", path, id, ok)
			}
		}
		status = 100 + abs(status)%500
		h := http.Header{"Retry-After": {ra}}
		for _, c := range []*Config{cfg, cfgTop} {
			r, err := interpret(c, "k", status, h, body, now)
			if err != nil {
				if r != (adapters.Receipt{}) {
					t.Fatalf("both a receipt %+v and an error %v", r, err)
				}
				if len(err.Error()) > 400 {
					t.Fatalf("error of %d bytes: %.500s", len(err.Error()), err)
				}
				if d, ok := adapters.RetryDelay(err); ok && d < 0 {
					t.Fatalf("negative delay %s", d)
				}
				continue
			}
			if (status < 200 || status >= 300) && status != http.StatusConflict {
				t.Fatalf("HTTP %d accepted as %+v", status, r)
			}
			if r.Duplicate != (status == http.StatusConflict) {
				t.Fatalf("HTTP %d: Duplicate = %v", status, r.Duplicate)
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -(n + 1)
	}
	return n
}
