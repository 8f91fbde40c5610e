package open311

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
)

var fuzzNow = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

// FuzzCreated feeds arbitrary answers to a POSTed service request to the
// parser and the mapping: they never panic; the answer is an id, a token or
// an error, never two; only a 2xx yields an id or a token; an error quotes
// little backend text and is never both permanent and retry-after.
func FuzzCreated(f *testing.F) {
	for _, seed := range []string{
		`[{"service_request_id":"638344","service_notice":"","account_id":null}]`,
		`[{"service_request_id":638344}]`,
		`[{"token":"12345"}]`,
		`{"token":12345}`,
		`[{"code":400,"description":"service_code 不存在"}]`,
		`[{"code":"403","description":"Invalid api_key"},{"code":400,"description":"x"}]`,
		`[{"code":{"x":1}}]`,
		`[]`, ``, `null`, `<html>502</html>`, "[\"\xff\"]",
		`[{"service_request_id":"a\nb","token":"t"}]`,
	} {
		f.Add(200, []byte(seed))
		f.Add(400, []byte(seed))
		f.Add(503, []byte(seed))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		status = 100 + abs(status)%500
		h := http.Header{"Retry-After": {"3"}}
		id, token, err := interpretCreated(status, h, body, fuzzNow)
		switch {
		case err != nil:
			if id != "" || token != "" {
				t.Fatalf("an error %v with id %q, token %q", err, id, token)
			}
			if len(err.Error()) > 600 {
				t.Fatalf("error of %d bytes: %.700s", len(err.Error()), err)
			}
			if _, ok := adapters.RetryDelay(err); ok && adapters.IsPermanent(err) {
				t.Fatalf("both permanent and retry-after: %v", err)
			}
		case (id == "") == (token == ""):
			t.Fatalf("id %q, token %q: want exactly one", id, token)
		case status < 200 || status >= 300:
			t.Fatalf("HTTP %d accepted: id %q, token %q", status, id, token)
		default:
			for _, s := range []string{id, token} {
				if len(s) > maxIDLen || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 }) {
					t.Fatalf("identifier %q", s)
				}
			}
		}
	})
}

// FuzzToken feeds arbitrary answers to a token poll to its parser: it never
// panics, and an id it finds is short and printable.
func FuzzToken(f *testing.F) {
	for _, seed := range []string{
		`[{"service_request_id":"638344","token":"12345"}]`,
		`[{"service_request_id":null,"token":"12345"}]`,
		`[{"service_request_id":"","token":"12345"},{"service_request_id":7}]`,
		`{"service_request_id":"S"}`,
		`[{"code":404,"description":"unknown token"}]`,
		`[]`, ``, `[[]]`, `"x"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, err := parseToken(body)
		if err != nil && id != "" {
			t.Fatalf("id %q with error %v", id, err)
		}
		if len(id) > maxIDLen || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("id %q", id)
		}
	})
}

// FuzzUpdates feeds arbitrary lists of service requests and cursors to the
// parser and the mapping to updates: they never panic; every update has an
// id of the form service_request_id@updated_datetime, a known action and a
// time; updates come oldest first; the next cursor is the given one or an
// updated_datetime of the list, never earlier than the given one.
func FuzzUpdates(f *testing.F) {
	for _, seed := range []struct{ body, cursor string }{
		{`[{"service_request_id":"GZ-2","status":"closed","status_notes":"已办结","updated_datetime":"2026-11-29T09:30:00+08:00"},{"service_request_id":1,"status":"open","updated_datetime":"2026-11-27T10:20:00.5Z"}]`, ""},
		{`[{"service_request_id":"GZ-3","status":"OPEN","updated_datetime":"2026-11-30 08:00:00"}]`, "2026-12-01T00:00:00Z"},
		{`[{"service_request_id":"","status":"closed","updated_datetime":"2026-12-01T08:00:00+08:00"},{"status":"closed"}]`, "garbage"},
		{`[{"service_request_id":"X","status":"closed","updated_datetime":"yesterday"}]`, Epoch},
		{`{"service_request_id":"X"}`, ""},
		{`[null,{}]`, ""},
		{`[{"service_request_id":"Z","status":"open","updated_datetime":"0001-01-01T00:00:00Z"}]`, ""},
		{``, ""},
	} {
		f.Add([]byte(seed.body), seed.cursor)
	}
	f.Fuzz(func(t *testing.T, body []byte, cursor string) {
		rs, err := parseRequests(body)
		if err != nil {
			if len(err.Error()) > 300 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			return
		}
		ups, next := mapUpdates(rs, cursor)
		for i, u := range ups {
			if u.ExternalID == "" || !strings.HasPrefix(u.ID, u.ExternalID+"@") || len(u.ID) == len(u.ExternalID)+1 {
				t.Fatalf("update %+v: bad ID", u)
			}
			if u.Action != ActionSign && u.Action != ActionReply {
				t.Fatalf("update %+v: action", u)
			}
			if u.Time.IsZero() {
				t.Fatalf("update %+v: no time", u)
			}
			if i > 0 && u.Time.Before(ups[i-1].Time) {
				t.Fatalf("updates out of order: %+v", ups)
			}
		}
		if next != cursor {
			found := false
			for _, r := range rs {
				if strings.TrimSpace(r.UpdatedDatetime) == next {
					found = true
				}
			}
			if !found {
				t.Fatalf("next cursor %q is neither %q nor a datetime of the list", next, cursor)
			}
			nt, ok := parseTime(next)
			if ct, cok := parseTime(cursor); !ok || cok && nt.Before(ct) {
				t.Fatalf("next cursor %q goes back from %q", next, cursor)
			}
		}
	})
}

// FuzzServices feeds arbitrary service lists to their parser: it never
// panics and keywords are trimmed and non-empty.
func FuzzServices(f *testing.F) {
	for _, seed := range []string{
		`[{"service_code":"a","service_name":"消费投诉","metadata":true,"type":"realtime","keywords":"预付卡, 退款,","group":"g"}]`,
		`[{"service_code":1104,"metadata":"false","keywords":null}]`,
		`[{"metadata":"maybe"}]`, `{}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ss, err := parseServices(body)
		if err != nil {
			return
		}
		for _, s := range ss {
			for _, k := range s.Keywords {
				if k == "" || k != strings.TrimSpace(k) || strings.Contains(k, ",") {
					t.Fatalf("keyword %q", k)
				}
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
