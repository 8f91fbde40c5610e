package open311

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/adaptertest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// post is one service request as the fake server received it.
type post struct {
	Header http.Header
	Raw    string     // the body as sent
	Form   url.Values // the body decoded
}

// server is a fake GeoReport v2 server. By default it answers a POST with a
// service_request_id; with tokens, it answers with a token whose id appears
// after pollsUntilID polls.
type server struct {
	t   *testing.T
	url string // the API base

	// Set before use.
	tokens       bool
	pollsUntilID int
	create       func(w http.ResponseWriter, p post) // overrides the answer to a POST
	poll         func(w http.ResponseWriter, n int)  // overrides the answer to the n-th poll (1-based); nil: default
	requests     string                              // the body of GET requests.json
	services     string                              // the body of GET services.json

	mu      sync.Mutex
	posts   []post
	polls   map[string]int // token → polls so far
	ids     map[string]string
	queries []url.Values // of GET requests
	paths   []string
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{t: t, polls: map[string]int{}, ids: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/open311/v2"
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, "/open311/v2/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.paths = append(s.paths, r.Method+" "+path)
	s.queries = append(s.queries, r.URL.Query())
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch {
	case r.Method == http.MethodPost && path == "requests.json":
		b, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(b))
		if err != nil {
			w.WriteHeader(400)
			io.WriteString(w, `[{"code":400,"description":"bad form"}]`)
			return
		}
		p := post{Header: r.Header.Clone(), Raw: string(b), Form: form}
		s.mu.Lock()
		s.posts = append(s.posts, p)
		n := len(s.posts)
		s.mu.Unlock()
		if s.create != nil {
			s.create(w, p)
			return
		}
		id := fmt.Sprintf("GZ-%06d", n)
		if s.tokens {
			token := fmt.Sprintf("tok-%d", n)
			s.mu.Lock()
			s.ids[token] = id
			s.mu.Unlock()
			fmt.Fprintf(w, `[{"token":%q}]`, token)
			return
		}
		fmt.Fprintf(w, `[{"service_request_id":%q,"service_notice":"已受理","account_id":null}]`, id)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "tokens/") && strings.HasSuffix(path, ".json"):
		token := strings.TrimSuffix(strings.TrimPrefix(path, "tokens/"), ".json")
		s.mu.Lock()
		s.polls[token]++
		n, id, known, until := s.polls[token], s.ids[token], s.ids[token] != "", s.pollsUntilID
		s.mu.Unlock()
		if s.poll != nil {
			s.poll(w, n)
			return
		}
		if !known {
			w.WriteHeader(404)
			io.WriteString(w, `[{"code":404,"description":"unknown token"}]`)
			return
		}
		if n < until {
			fmt.Fprintf(w, `[{"service_request_id":null,"token":%q}]`, token)
			return
		}
		fmt.Fprintf(w, `[{"service_request_id":%q,"token":%q}]`, id, token)
	case r.Method == http.MethodGet && path == "requests.json":
		io.WriteString(w, s.requests)
	case r.Method == http.MethodGet && path == "services.json":
		io.WriteString(w, s.services)
	default:
		http.NotFound(w, r)
	}
}

func (s *server) received() []post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.posts)
}

// arrivals reads the posts for the conformance suite: the key from
// attribute[switchboard_key], the body as its decoded fields, one a line.
func (s *server) arrivals() []adaptertest.Arrival {
	var out []adaptertest.Arrival
	for _, p := range s.received() {
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(p.Form)) {
			fmt.Fprintf(&b, "%s=%s\n", k, p.Form.Get(k))
		}
		out = append(out, adaptertest.Arrival{Key: p.Form.Get(AttributeKey), Body: b.String()})
	}
	return out
}

func (s *server) pollCount(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls[token]
}

const codeMap = "1104=consumer-complaint,11=market,default=general"

func newAdapter(t *testing.T, settings map[string]string, endpoints ...string) *Adapter {
	t.Helper()
	if settings == nil {
		settings = map[string]string{}
	}
	if _, ok := settings["serviceCodeMap"]; !ok {
		settings["serviceCodeMap"] = codeMap
	}
	a, err := New(adapters.Config{Backend: "gz-open311", Endpoints: endpoints, Settings: settings})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	a.pollMin, a.pollMax = 5*time.Millisecond, 20*time.Millisecond
	t.Cleanup(func() { a.Close() })
	return a
}

func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/open311/v2"
}

func hangingURL(t *testing.T) string {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	return srv.URL + "/open311/v2"
}

func TestConformance(t *testing.T) {
	for _, tokens := range []bool{false, true} {
		t.Run(map[bool]string{false: "Immediate", true: "Token"}[tokens], func(t *testing.T) {
			adaptertest.Run(t, adaptertest.Harness{
				New: func(t *testing.T) (adapters.Adapter, func() []adaptertest.Arrival) {
					s := newServer(t)
					s.tokens, s.pollsUntilID = tokens, 2
					return newAdapter(t, nil, s.url), s.arrivals
				},
				Rejecting: func(t *testing.T) adapters.Adapter {
					s := newServer(t)
					s.create = func(w http.ResponseWriter, _ post) {
						w.WriteHeader(400)
						io.WriteString(w, `[{"code":400,"description":"service_code is invalid"}]`)
					}
					return newAdapter(t, nil, s.url)
				},
				Down: func(t *testing.T) adapters.Adapter {
					return newAdapter(t, nil, closedURL(t))
				},
				Hanging: func(t *testing.T) adapters.Adapter {
					return newAdapter(t, nil, hangingURL(t))
				},
			})
		})
	}
}

// TestGoldenForm compares the exact form body of the sample delivery with
// testdata. Run with -update to rewrite testdata/*.golden.
func TestGoldenForm(t *testing.T) {
	s := newServer(t)
	a := newAdapter(t, map[string]string{"apiKey": "k-123", "jurisdictionId": "gz.gov.cn"}, s.url)
	if _, err := a.Deliver(context.Background(), adaptertest.Sample("golden-key-1")); err != nil {
		t.Fatal(err)
	}
	got := s.received()[0].Raw + "\n"
	golden := filepath.Join("testdata", "request.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("form differs from %s (go test -update rewrites it):\n--- got\n%s--- want\n%s", golden, got, want)
	}
}

func TestForm(t *testing.T) {
	s := newServer(t)
	a := newAdapter(t, map[string]string{"apiKey": "k-123", "jurisdictionId": "gz.gov.cn"}, s.url)
	d := adaptertest.Sample("form-1")
	r, err := a.Deliver(context.Background(), d)
	if err != nil || r.ExternalID != "GZ-000001" || r.Duplicate {
		t.Fatalf("Deliver = %+v, %v", r, err)
	}
	p := s.received()[0]
	if ct := p.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q", ct)
	}
	want := map[string]string{
		"api_key":               "k-123",
		"jurisdiction_id":       "gz.gov.cn",
		"service_code":          "consumer-complaint",
		"description":           "预付卡退款\n西饼店倒闭，预付卡余额一千二百元无法退款。",
		"address_string":        "广州市天河区体育西路1号",
		"first_name":            "张三",
		"phone":                 "138****8000",
		AttributeKey:            "form-1",
		AttributeTrackingNumber: "20261127-000123",
	}
	for k, v := range want {
		if got := p.Form.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(p.Form) != len(want) {
		t.Errorf("form has %d fields, want %d: %v", len(p.Form), len(want), p.Form)
	}

	// Without a caller, an address, a key or a jurisdiction those fields are
	// left out.
	s2 := newServer(t)
	a2 := newAdapter(t, nil, s2.url)
	d.Key = "form-2"
	d.Ticket.CallerName, d.Ticket.CallerPhone, d.Ticket.Address = "", "", ""
	if _, err := a2.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"api_key", "jurisdiction_id", "first_name", "phone", "address_string"} {
		if v, ok := s2.received()[0].Form[k]; ok {
			t.Errorf("%s = %q sent, want it left out", k, v)
		}
	}
}

func TestServiceCodeMapping(t *testing.T) {
	cfg, err := Decode(adapters.Config{Endpoints: []string{"http://x/v2"}, Settings: map[string]string{"serviceCodeMap": codeMap}})
	if err != nil {
		t.Fatal(err)
	}
	for category, want := range map[string]string{
		"110408": "consumer-complaint", "1104": "consumer-complaint", "1105": "market", "11": "market",
		"1": "general", "2201": "general", "": "general",
	} {
		if got, ok := cfg.ServiceCode(category); !ok || got != want {
			t.Errorf("ServiceCode(%q) = %q, %v; want %q", category, got, ok, want)
		}
	}

	// Without a default, an unmapped category is refused before sending.
	s := newServer(t)
	a := newAdapter(t, map[string]string{"serviceCodeMap": "1104=consumer-complaint"}, s.url)
	d := adaptertest.Sample("unmapped-1")
	d.Ticket.Category = "2201"
	if _, err := a.Deliver(context.Background(), d); !adapters.IsPermanent(err) || !strings.Contains(err.Error(), "2201") {
		t.Fatalf("err = %v, want a permanent refusal naming the category", err)
	}
	d.Ticket.Category = "110499"
	if _, err := a.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if p := s.received(); len(p) != 1 || p[0].Form.Get("service_code") != "consumer-complaint" {
		t.Fatalf("posts %v, want one with consumer-complaint", p)
	}
}

func TestTopics(t *testing.T) {
	s := newServer(t)
	a := newAdapter(t, nil, s.url)
	for _, topic := range []string{"ticket.supervise", "ticket.decideExtension", "ticket.withdraw", ""} {
		d := adaptertest.Sample("topic-" + topic)
		d.Topic = topic
		if _, err := a.Deliver(context.Background(), d); !adapters.IsPermanent(err) {
			t.Errorf("%q: err = %v, want a permanent refusal", topic, err)
		}
	}
	if n := len(s.received()); n != 0 {
		t.Fatalf("%d requests created for topics GeoReport cannot carry", n)
	}
	d := adaptertest.Sample("topic-reopen")
	d.Topic = "ticket.reopen"
	if _, err := a.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

func TestTokenPolling(t *testing.T) {
	s := newServer(t)
	s.tokens, s.pollsUntilID = true, 4
	a := newAdapter(t, map[string]string{"jurisdictionId": "gz.gov.cn"}, s.url)
	r, err := a.Deliver(context.Background(), adaptertest.Sample("token-1"))
	if err != nil || r.ExternalID != "GZ-000001" {
		t.Fatalf("Deliver = %+v, %v; want GZ-000001", r, err)
	}
	if n := s.pollCount("tok-1"); n != 4 {
		t.Errorf("%d polls, want 4", n)
	}
	s.mu.Lock()
	q := s.queries[len(s.queries)-1]
	s.mu.Unlock()
	if q.Get("jurisdiction_id") != "gz.gov.cn" || q.Has("api_key") {
		t.Errorf("poll query %v, want jurisdiction_id and no api_key", q)
	}
	if len(a.pending) != 0 {
		t.Errorf("pending tokens %v after success", a.pending)
	}
}

func TestTokenPollFailuresAreRetried(t *testing.T) {
	s := newServer(t)
	s.tokens = true
	s.poll = func(w http.ResponseWriter, n int) {
		switch n {
		case 1:
			w.WriteHeader(500)
		case 2:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(503)
		case 3:
			io.WriteString(w, `not json`)
		default:
			io.WriteString(w, `[{"service_request_id":"GZ-42"}]`)
		}
	}
	a := newAdapter(t, nil, s.url)
	r, err := a.Deliver(context.Background(), adaptertest.Sample("token-2"))
	if err != nil || r.ExternalID != "GZ-42" {
		t.Fatalf("Deliver = %+v, %v; want GZ-42", r, err)
	}
}

// TestTokenResumes: when the deadline passes before the id is known the
// delivery fails transiently, and the next attempt of the same key polls the
// same token instead of creating a second request.
func TestTokenResumes(t *testing.T) {
	s := newServer(t)
	s.tokens, s.pollsUntilID = true, 1<<30
	a := newAdapter(t, nil, s.url)
	d := adaptertest.Sample("token-3")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := a.Deliver(ctx, d)
	if err == nil || adapters.IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "tok-1") {
		t.Fatalf("err = %v, want a transient deadline error naming the token", err)
	}
	s.mu.Lock()
	s.pollsUntilID = 0
	s.mu.Unlock()
	d.Attempt = 2
	r, err := a.Deliver(context.Background(), d)
	if err != nil || r.ExternalID != "GZ-000001" {
		t.Fatalf("second attempt = %+v, %v; want GZ-000001", r, err)
	}
	if n := len(s.received()); n != 1 {
		t.Fatalf("%d requests created, want 1", n)
	}
}

func kind(r adapters.Receipt, err error) string {
	switch {
	case err == nil:
		return "ok"
	case adapters.IsPermanent(err):
		return "permanent"
	}
	if _, ok := adapters.RetryDelay(err); ok {
		return "retryAfter"
	}
	return "transient"
}

func TestResponseMapping(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		headers []string
		want    string
		id      string // for ok; for errors, a substring of the error
	}{
		{"201 id", 201, `[{"service_request_id":"638344","service_notice":"","account_id":null}]`, nil, "ok", "638344"},
		{"200 numeric id", 200, `[{"service_request_id":638344}]`, nil, "ok", "638344"},
		{"200 object", 200, `{"service_request_id":"S-1"}`, nil, "ok", "S-1"},
		{"200 empty array", 200, `[]`, nil, "transient", "neither"},
		{"200 not JSON", 200, `<html>ok</html>`, nil, "transient", "may have been created"},
		{"200 error array 400", 200, `[{"code":400,"description":"service_code 不存在"}]`, nil, "permanent", "service_code 不存在"},
		{"200 error array 500", 200, `[{"code":"500","description":"db down"}]`, nil, "transient", "db down"},
		{"400 error array", 400, `[{"code":400,"description":"缺少 address_string"},{"code":400,"description":"lat required"}]`, nil, "permanent", "缺少 address_string; lat required"},
		{"404", 404, `not found`, nil, "permanent", "HTTP 404"},
		{"422", 422, `[{"code":422,"description":"bad"}]`, nil, "permanent", "bad"},
		{"403 invalid api_key", 403, `[{"code":403,"description":"Invalid api_key"}]`, nil, "transient", "Invalid api_key"},
		{"429 Retry-After", 429, ``, []string{"Retry-After", "5"}, "retryAfter", "HTTP 429"},
		{"503 Retry-After date", 503, ``, []string{"Retry-After", date}, "retryAfter", "HTTP 503"},
		{"503", 503, `busy`, nil, "transient", "busy"},
		{"500", 500, `[{"code":500,"description":"internal"}]`, nil, "transient", "internal"},
		{"302", 302, ``, []string{"Location", "/login"}, "transient", "redirect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			s.create = func(w http.ResponseWriter, _ post) {
				for i := 0; i+1 < len(tc.headers); i += 2 {
					w.Header().Set(tc.headers[i], tc.headers[i+1])
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}
			a := newAdapter(t, nil, s.url)
			r, err := a.Deliver(context.Background(), adaptertest.Sample("mapping-1"))
			if got := kind(r, err); got != tc.want {
				t.Fatalf("outcome %s (%+v, %v), want %s", got, r, err, tc.want)
			}
			if err == nil && r.ExternalID != tc.id {
				t.Errorf("ExternalID = %q, want %q", r.ExternalID, tc.id)
			}
			if err != nil && !strings.Contains(err.Error(), tc.id) {
				t.Errorf("err = %v, want it to mention %q", err, tc.id)
			}
			if n := len(s.received()); n != 1 {
				t.Errorf("%d posts, want 1 (no retries inside the adapter)", n)
			}
		})
	}
}

func TestBackendTextBounded(t *testing.T) {
	long := strings.Repeat("服务器内部错误 ", 2000)
	for _, body := range []string{long, `[{"code":400,"description":"` + long + `"}]`} {
		s := newServer(t)
		s.create = func(w http.ResponseWriter, _ post) {
			w.WriteHeader(400)
			io.WriteString(w, body)
		}
		a := newAdapter(t, nil, s.url)
		_, err := a.Deliver(context.Background(), adaptertest.Sample("long-1"))
		if err == nil || strings.Count(err.Error(), "服务器内部错误") == 0 || len(err.Error()) > 400 {
			t.Errorf("error of %d bytes: %v", len(err.Error()), err)
		}
	}
}

func TestUpdates(t *testing.T) {
	s := newServer(t)
	s.requests = `[
	 {"service_request_id":"GZ-2","status":"closed","status_notes":"已为市民办理退款。","agency_responsible":"天河区市场监督管理局","updated_datetime":"2026-11-29T09:30:00+08:00","requested_datetime":"2026-11-27T10:05:00+08:00"},
	 {"service_request_id":1,"status":"open","status_notes":null,"updated_datetime":"2026-11-27T10:20:00+08:00"},
	 {"service_request_id":"GZ-3","status":"in_progress","updated_datetime":"2026-11-30T08:00:00+08:00"},
	 {"service_request_id":"","status":"closed","updated_datetime":"2026-12-01T08:00:00+08:00"},
	 {"service_request_id":"GZ-4","status":"closed","updated_datetime":"yesterday"}
	]`
	a := newAdapter(t, map[string]string{"jurisdictionId": "gz.gov.cn", "apiKey": "k-123"}, s.url)
	ups, next, err := a.Updates(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	cst := time.FixedZone("", 8*3600)
	want := []adapters.Update{
		{ID: "1@2026-11-27T10:20:00+08:00", ExternalID: "1", Action: "sign", Time: time.Date(2026, 11, 27, 10, 20, 0, 0, cst)},
		{ID: "GZ-2@2026-11-29T09:30:00+08:00", ExternalID: "GZ-2", Action: "reply", Text: "已为市民办理退款。", Time: time.Date(2026, 11, 29, 9, 30, 0, 0, cst)},
	}
	if len(ups) != len(want) {
		t.Fatalf("updates %+v, want %+v", ups, want)
	}
	for i := range want {
		if ups[i].ID != want[i].ID || ups[i].ExternalID != want[i].ExternalID || ups[i].Action != want[i].Action ||
			ups[i].Text != want[i].Text || !ups[i].Time.Equal(want[i].Time) || ups[i].TicketID != "" {
			t.Errorf("update %d = %+v, want %+v", i, ups[i], want[i])
		}
	}
	if next != "2026-11-30T08:00:00+08:00" {
		t.Errorf("next = %q, want the latest updated_datetime", next)
	}
	s.mu.Lock()
	q, path := s.queries[0], s.paths[0]
	s.mu.Unlock()
	if path != "GET requests.json" || q.Get("updated_after") != Epoch || q.Get("jurisdiction_id") != "gz.gov.cn" || q.Has("api_key") {
		t.Errorf("%s ? %v", path, q)
	}

	// The next poll passes the cursor; nothing newer keeps it.
	s.requests = `[{"service_request_id":"GZ-3","status":"in_progress","updated_datetime":"2026-11-30T08:00:00+08:00"}]`
	ups, next2, err := a.Updates(context.Background(), next)
	if err != nil || len(ups) != 0 || next2 != next {
		t.Errorf("Updates(%q) = %v, %q, %v", next, ups, next2, err)
	}
	s.mu.Lock()
	q = s.queries[1]
	s.mu.Unlock()
	if q.Get("updated_after") != next {
		t.Errorf("updated_after = %q, want %q", q.Get("updated_after"), next)
	}

	// An empty list from the start keeps the empty cursor.
	s.requests = `[]`
	if ups, next, err := a.Updates(context.Background(), ""); err != nil || len(ups) != 0 || next != "" {
		t.Errorf("Updates(\"\") on an empty list = %v, %q, %v", ups, next, err)
	}
}

func TestUpdatesErrors(t *testing.T) {
	for _, body := range []string{`{"not":"a list"}`, `<html>`} {
		s := newServer(t)
		s.requests = body
		a := newAdapter(t, nil, s.url)
		ups, next, err := a.Updates(context.Background(), "2026-11-30T08:00:00+08:00")
		if err == nil || ups != nil || next != "2026-11-30T08:00:00+08:00" {
			t.Errorf("%s: Updates = %v, %q, %v; want an error and the cursor kept", body, ups, next, err)
		}
	}
	a := newAdapter(t, nil, closedURL(t))
	if _, _, err := a.Updates(context.Background(), ""); err == nil || adapters.IsPermanent(err) {
		t.Errorf("Updates from a closed port: %v, want a transient error", err)
	}
}

func TestServices(t *testing.T) {
	s := newServer(t)
	s.services = `[
	 {"service_code":"consumer-complaint","service_name":"消费投诉","description":"预付卡、退款等","metadata":true,"type":"realtime","keywords":"预付卡, 退款,","group":"市场监管"},
	 {"service_code":1104,"service_name":"Market","metadata":"false","type":"batch","keywords":null,"group":""}
	]`
	a := newAdapter(t, map[string]string{"jurisdictionId": "gz.gov.cn"}, s.url)
	got, err := a.Services(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Code != "consumer-complaint" || got[0].Name != "消费投诉" || !got[0].Metadata ||
		!slices.Equal(got[0].Keywords, []string{"预付卡", "退款"}) || got[0].Group != "市场监管" ||
		got[1].Code != "1104" || got[1].Metadata || got[1].Keywords != nil || got[1].Type != "batch" {
		t.Errorf("Services = %+v", got)
	}
	if err := a.Health(context.Background()); err != nil {
		t.Errorf("Health: %v", err)
	}
	s.services = `oops`
	if err := a.Health(context.Background()); err == nil {
		t.Error("Health accepted an unreadable service list")
	}
}

func TestAPIKeyEnv(t *testing.T) {
	s := newServer(t)
	a := newAdapter(t, map[string]string{"apiKeyEnv": "GZ_OPEN311_KEY"}, s.url)
	a.getenv = func(k string) string {
		if k == "GZ_OPEN311_KEY" {
			return "from-env"
		}
		return ""
	}
	if _, err := a.Deliver(context.Background(), adaptertest.Sample("env-1")); err != nil {
		t.Fatal(err)
	}
	if got := s.received()[0].Form.Get("api_key"); got != "from-env" {
		t.Errorf("api_key = %q", got)
	}
	a.getenv = func(string) string { return "" }
	_, err := a.Deliver(context.Background(), adaptertest.Sample("env-2"))
	if err == nil || adapters.IsPermanent(err) || !strings.Contains(err.Error(), "GZ_OPEN311_KEY") {
		t.Fatalf("err = %v, want a transient error naming the variable", err)
	}
	if n := len(s.received()); n != 1 {
		t.Fatalf("%d posts, want 1", n)
	}
}

func TestOwnTimeout(t *testing.T) {
	a := newAdapter(t, map[string]string{"timeout": "150ms"}, hangingURL(t))
	start := time.Now()
	_, err := a.Deliver(context.Background(), adaptertest.Sample("timeout-1"))
	if err == nil || adapters.IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a transient deadline error", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %s with a 150ms timeout", el)
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name      string
		settings  map[string]string
		endpoints []string
		err       string
	}{
		{"endpoint", map[string]string{"serviceCodeMap": "default=x"}, []string{"https://311.gz.gov.cn/open311/v2/"}, ""},
		{"all", map[string]string{"url": "http://a/v2", "apiKey": "k", "jurisdictionId": "gz", "serviceCodeMap": "11=a, 1104 = b ,default=c", "timeout": "3s"}, nil, ""},
		{"no url", map[string]string{"serviceCodeMap": "default=x"}, nil, "url: required"},
		{"bad url", map[string]string{"url": "mailto:x", "serviceCodeMap": "default=x"}, nil, "url:"},
		{"url with query", map[string]string{"url": "http://a/v2?x=1", "serviceCodeMap": "default=x"}, nil, "url:"},
		{"unknown key", map[string]string{"url": "http://a/v2", "serviceCodeMap": "default=x", "api_key": "k"}, nil, `unknown setting "api_key"`},
		{"no map", map[string]string{"url": "http://a/v2"}, nil, "serviceCodeMap: required"},
		{"map syntax", map[string]string{"url": "http://a/v2", "serviceCodeMap": "11"}, nil, "serviceCodeMap: entry"},
		{"map empty code", map[string]string{"url": "http://a/v2", "serviceCodeMap": "11="}, nil, "serviceCodeMap: entry"},
		{"map twice", map[string]string{"url": "http://a/v2", "serviceCodeMap": "11=a,11=b"}, nil, "mapped twice"},
		{"both keys", map[string]string{"url": "http://a/v2", "serviceCodeMap": "default=x", "apiKey": "k", "apiKeyEnv": "K"}, nil, "apiKey, apiKeyEnv"},
		{"env name", map[string]string{"url": "http://a/v2", "serviceCodeMap": "default=x", "apiKeyEnv": "A-B"}, nil, "apiKeyEnv:"},
		{"timeout", map[string]string{"url": "http://a/v2", "serviceCodeMap": "default=x", "timeout": "-5s"}, nil, "timeout:"},
		{"timeout syntax", map[string]string{"url": "http://a/v2", "serviceCodeMap": "default=x", "timeout": "ten"}, nil, "timeout:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := New(adapters.Config{Backend: "b", Endpoints: tc.endpoints, Settings: tc.settings})
			if tc.err == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("New = %v, %v; want an error containing %q", a, err, tc.err)
			}
		})
	}
	c, err := Decode(adapters.Config{Endpoints: []string{"http://a/open311/v2/"}, Settings: map[string]string{"serviceCodeMap": "default=x"}})
	if err != nil || c.URL != "http://a/open311/v2" || c.Timeout != DefaultTimeout {
		t.Errorf("Decode = %+v, %v", c, err)
	}
	if a, err := Factory(adapters.Config{}); err == nil || a != nil {
		t.Errorf("Factory(empty) = %v, %v; want nil and an error", a, err)
	}
}
