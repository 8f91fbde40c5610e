package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard12345/switchboard/internal/testauth"
)

// FuzzRESTIntake drives POST /v1/tickets with arbitrary bodies. Whatever arrives,
// the answer is a JSON 200 (a stored, readable ticket) or a JSON 4xx naming at
// least one field — never a 5xx, a panic or a half-written ticket.
func FuzzRESTIntake(f *testing.F) {
	for _, seed := range []string{
		createBody,
		`{}`,
		`{"channel":"PHONE"}`,
		`{"channel":"WEB","title":"小区噪音","content":"夜间施工","requestType":"COMPLAINT","caller":{"phone":"+86 138 0013 8000"}}`,
		`{"channel":"PHONE","caller":{"phone":"020-87654321","idNumber":"11010519491231002X"},"title":"t","content":"c","requestType":"HELP","urgency":"CRITICAL"}`,
		`{"title":null,"content":[1,2],"caller":"x"}`,
		"{\"title\":\"\x00\"}",
		`{"channel":7,"requestType":3,"urgency":99}`,
		`[]`, `null`, `"`, ``,
		`{"location":{"regionCode":"44010600100"},"category":"0101010"}`,
		strings.Replace(createBody, `"12345"`, `"12358"`, 1),
		strings.Replace(createBody, `"12345"`, `"110"`, 1),
	} {
		f.Add(seed)
	}
	s := newStack(f)
	client := &http.Client{}
	f.Fuzz(func(t *testing.T, body string) {
		req, _ := http.NewRequest("POST", s.rest+"/v1/tickets", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", testauth.Header(s.auth.Token))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var reply map[string]any
		if err := json.Unmarshal(raw, &reply); err != nil {
			t.Fatalf("status %d with a non-JSON body %q", resp.StatusCode, raw)
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			id := str(reply, "id")
			code, back := s.call(t, "GET", "/v1/tickets/"+id, "")
			if code != 200 || str(back, "trackingNumber") != str(reply, "trackingNumber") {
				t.Fatalf("acknowledged ticket %s not readable: %d %v", id, code, back)
			}
		case resp.StatusCode == http.StatusBadRequest:
			// A refusal names the bad field, or (a retired legacy number) says why.
			if len(fields(reply)) == 0 && str(reply, "error", "status") != "FAILED_PRECONDITION" {
				t.Fatalf("400 without a field violation: %s", raw)
			}
		default:
			t.Fatalf("status %d for body %q: %s", resp.StatusCode, body, raw)
		}
	})
}
