package rest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/adaptertest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// request is one request as the fake backend received it.
type request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// backend is a fake webhook receiver recording what it receives.
type backend struct {
	mu   sync.Mutex
	reqs []request
	url  string
}

func (b *backend) requests() []request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]request(nil), b.reqs...)
}

func (b *backend) arrivals() []adaptertest.Arrival {
	var out []adaptertest.Arrival
	for _, r := range b.requests() {
		out = append(out, adaptertest.Arrival{Key: r.Header.Get(DefaultIdempotencyHeader), Body: string(r.Body)})
	}
	return out
}

// newBackend starts a fake backend answering with respond (nil: 201 and an
// id derived from the key).
func newBackend(t *testing.T, respond func(w http.ResponseWriter, r request)) *backend {
	t.Helper()
	if respond == nil {
		respond = func(w http.ResponseWriter, r request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":"GZSAMR-`+r.Header.Get(DefaultIdempotencyHeader)+`","status":"accepted"}`)
		}
	}
	b := &backend{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
		b.mu.Lock()
		b.reqs = append(b.reqs, req)
		b.mu.Unlock()
		respond(w, req)
	}))
	t.Cleanup(srv.Close)
	b.url = srv.URL + "/api/12345/workorders"
	return b
}

// answer returns a responder writing status, headers and body.
func answer(status int, body string, headers ...string) func(http.ResponseWriter, request) {
	return func(w http.ResponseWriter, _ request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func newAdapter(t *testing.T, settings map[string]string, endpoints ...string) *Adapter {
	t.Helper()
	a, err := New(adapters.Config{Backend: "gz-samr-rest", Endpoints: endpoints, Settings: settings})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// closedURL returns the URL of a port on 127.0.0.1 that nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/hook"
}

// hangingURL returns the URL of a server whose handler blocks until the test
// ends.
func hangingURL(t *testing.T) string {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	return srv.URL + "/hook"
}

func TestConformance(t *testing.T) {
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) (adapters.Adapter, func() []adaptertest.Arrival) {
			b := newBackend(t, nil)
			return newAdapter(t, nil, b.url), b.arrivals
		},
		Rejecting: func(t *testing.T) adapters.Adapter {
			b := newBackend(t, answer(400, `{"error":"invalid payload"}`))
			return newAdapter(t, nil, b.url)
		},
		Down: func(t *testing.T) adapters.Adapter {
			return newAdapter(t, nil, closedURL(t))
		},
		Hanging: func(t *testing.T) adapters.Adapter {
			return newAdapter(t, nil, hangingURL(t))
		},
	})
}

// TestGoldenBodies compares the exact body of the sample delivery with
// testdata. Run with -update to rewrite testdata/*.golden.
func TestGoldenBodies(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]string
	}{
		{"body", nil},
		{"body-fieldmap", map[string]string{"fieldMap": "title=subject, content=description, trackingNumber=caseNo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t, nil)
			a := newAdapter(t, tc.settings, b.url)
			if _, err := a.Deliver(context.Background(), adaptertest.Sample("golden-key-1")); err != nil {
				t.Fatal(err)
			}
			got := b.requests()[0].Body
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, append(bytes.Clone(got), '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if !bytes.Equal(got, bytes.TrimSuffix(want, []byte("\n"))) {
				t.Errorf("body differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

func TestRequestShape(t *testing.T) {
	b := newBackend(t, nil)
	a := newAdapter(t, map[string]string{"method": "put", "idempotencyHeader": "X-Request-Id"}, b.url)
	d := adaptertest.Sample("shape-1")
	d.Ticket.Content = `含 <标签> & "引号"`
	if _, err := a.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	r := b.requests()[0]
	if r.Method != http.MethodPut || r.Path != "/api/12345/workorders" {
		t.Errorf("%s %s, want PUT /api/12345/workorders", r.Method, r.Path)
	}
	if got := r.Header.Get("X-Request-Id"); got != "shape-1" {
		t.Errorf("X-Request-Id = %q", got)
	}
	if got := r.Header.Get("Idempotency-Key"); got != "" {
		t.Errorf("Idempotency-Key = %q, want none with a custom header", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if r.Header.Get(HeaderSignature) != "" || r.Header.Get(HeaderTimestamp) != "" {
		t.Error("signature headers sent without a signing secret")
	}
	if bytes.Contains(r.Body, []byte(`\u`)) {
		t.Errorf("body has \\u escapes: %s", r.Body)
	}
	for _, want := range []string{`"title":"预付卡退款"`, `"content":"含 <标签> & \"引号\""`, `"key":"shape-1"`, `"reason":"消费维权"`} {
		if !bytes.Contains(r.Body, []byte(want)) {
			t.Errorf("body lacks %s: %s", want, r.Body)
		}
	}
	var m Message
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatal(err)
	}
	var tk adapters.Ticket
	if err := json.Unmarshal(m.Ticket, &tk); err != nil {
		t.Fatal(err)
	}
	if m.Key != d.Key || m.Topic != d.Topic || m.Unit != d.Unit || m.Attempt != d.Attempt || !m.Event.Time.Equal(d.Event.Time) || m.Event.Reason != d.Event.Reason {
		t.Errorf("envelope %+v does not match %+v", m, d)
	}
	if tk.Title != d.Ticket.Title || tk.Content != d.Ticket.Content || tk.TrackingNumber != d.Ticket.TrackingNumber || !tk.ReplyBy.Equal(d.Ticket.ReplyBy) {
		t.Errorf("ticket %+v does not match %+v", tk, d.Ticket)
	}
}

func TestFieldMap(t *testing.T) {
	b := newBackend(t, nil)
	a := newAdapter(t, map[string]string{"fieldMap": "title=subject,content=description,trackingNumber=caseNo,callerPhone=phone"}, b.url)
	d := adaptertest.Sample("fieldmap-1")
	if _, err := a.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Key    string
		Ticket map[string]any
	}
	if err := json.Unmarshal(b.requests()[0].Body, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"subject": d.Ticket.Title, "description": d.Ticket.Content, "caseNo": d.Ticket.TrackingNumber,
		"phone": d.Ticket.CallerPhone, "address": d.Ticket.Address, "id": d.Ticket.ID,
	}
	for k, v := range want {
		if m.Ticket[k] != v {
			t.Errorf("ticket[%q] = %v, want %q", k, m.Ticket[k], v)
		}
	}
	for _, gone := range []string{"title", "content", "trackingNumber", "callerPhone"} {
		if _, ok := m.Ticket[gone]; ok {
			t.Errorf("ticket still has %q", gone)
		}
	}
	if m.Key != d.Key {
		t.Errorf("key = %q: fieldMap must not touch the envelope", m.Key)
	}
}

func TestSignature(t *testing.T) {
	const secret = "s3cr3t-密钥"
	at := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	b := newBackend(t, nil)
	a := newAdapter(t, map[string]string{"signingSecretEnv": "GZ_SAMR_HOOK_SECRET"}, b.url)
	a.getenv = func(k string) string {
		if k == "GZ_SAMR_HOOK_SECRET" {
			return secret
		}
		return ""
	}
	a.now = func() time.Time { return at }
	if _, err := a.Deliver(context.Background(), adaptertest.Sample("signed-1")); err != nil {
		t.Fatal(err)
	}
	r := b.requests()[0]
	ts := r.Header.Get(HeaderTimestamp)
	if ts != strconv.FormatInt(at.Unix(), 10) {
		t.Errorf("%s = %q, want %d", HeaderTimestamp, ts, at.Unix())
	}
	// Verify as a receiver would, from the received bytes.
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(r.Body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	got := r.Header.Get(HeaderSignature)
	if !hmac.Equal([]byte(got), []byte(want)) {
		t.Errorf("%s = %q, want %q", HeaderSignature, got, want)
	}
	// A tampered body does not verify.
	mac.Reset()
	mac.Write([]byte(ts + "." + strings.Replace(string(r.Body), "预付卡", "储值卡", 1)))
	if hmac.Equal([]byte(got), []byte("sha256="+hex.EncodeToString(mac.Sum(nil)))) {
		t.Error("the signature does not cover the body")
	}

	t.Run("SecretMissing", func(t *testing.T) {
		b := newBackend(t, nil)
		a := newAdapter(t, map[string]string{"signingSecretEnv": "GZ_SAMR_HOOK_SECRET"}, b.url)
		a.getenv = func(string) string { return "" }
		_, err := a.Deliver(context.Background(), adaptertest.Sample("unsigned-1"))
		if err == nil || adapters.IsPermanent(err) || !strings.Contains(err.Error(), "GZ_SAMR_HOOK_SECRET") {
			t.Fatalf("err = %v, want a transient error naming the variable", err)
		}
		if n := len(b.requests()); n != 0 {
			t.Fatalf("%d requests sent without a secret", n)
		}
	})
}

// kind names an outcome for tables.
func kind(r adapters.Receipt, err error) string {
	switch {
	case err == nil && r.Duplicate:
		return "duplicate"
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
		respond func(http.ResponseWriter, request)
		want    string
		id      string
		after   time.Duration // for retryAfter; <0: only > 0 checked
	}{
		{"200 with id", answer(200, `{"id":"GZ-1"}`), "ok", "GZ-1", 0},
		{"201 numeric id", answer(201, `{"id":123456789012,"ok":true}`), "ok", "123456789012", 0},
		{"202 empty", answer(202, ``), "ok", "", 0},
		{"200 text", answer(200, `OK`), "ok", "", 0},
		{"200 id not a string", answer(200, `{"id":{"x":1}}`), "ok", "", 0},
		{"200 array", answer(200, `[{"id":"A-1"}]`), "ok", "A-1", 0},
		{"409 duplicate", answer(409, `{"error":"duplicate","id":"GZ-1"}`), "duplicate", "GZ-1", 0},
		{"409 echoing our key", func(w http.ResponseWriter, r request) {
			w.Header().Set("Idempotency-Key", r.Header.Get("Idempotency-Key"))
			w.WriteHeader(409)
		}, "duplicate", "", 0},
		{"409 naming another key in the header", answer(409, `{}`, "Idempotency-Key", "someone-else"), "transient", "", 0},
		{"409 naming another key in the body", answer(409, `{"key":"someone-else","error":"conflict"}`), "transient", "", 0},
		{"429 Retry-After seconds", answer(429, `slow down`, "Retry-After", "7"), "retryAfter", "", 7 * time.Second},
		{"429 without Retry-After", answer(429, `slow down`), "transient", "", 0},
		{"503 Retry-After date", answer(503, `maintenance`, "Retry-After", date), "retryAfter", "", -1},
		{"503 Retry-After garbage", answer(503, ``, "Retry-After", "soon"), "transient", "", 0},
		{"503 without Retry-After", answer(503, `busy`), "transient", "", 0},
		{"500", answer(500, `{"error":"NullPointerException"}`), "transient", "", 0},
		{"502", answer(502, `<html>Bad Gateway</html>`), "transient", "", 0},
		{"504", answer(504, ``), "transient", "", 0},
		{"400", answer(400, `{"error":"title required"}`), "permanent", "", 0},
		{"404", answer(404, `not found`), "permanent", "", 0},
		{"405", answer(405, ``), "permanent", "", 0},
		{"410", answer(410, ``), "permanent", "", 0},
		{"413", answer(413, ``), "permanent", "", 0},
		{"422", answer(422, `{"error":"字段 title 缺失"}`), "permanent", "", 0},
		{"401", answer(401, `bad signature`), "transient", "", 0},
		{"403", answer(403, ``), "transient", "", 0},
		{"408", answer(408, ``), "transient", "", 0},
		{"302 not followed", answer(302, ``, "Location", "/login"), "transient", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t, tc.respond)
			a := newAdapter(t, nil, b.url)
			r, err := a.Deliver(context.Background(), adaptertest.Sample("mapping-1"))
			if got := kind(r, err); got != tc.want {
				t.Fatalf("outcome %s (%+v, %v), want %s", got, r, err, tc.want)
			}
			if r.ExternalID != tc.id {
				t.Errorf("ExternalID = %q, want %q", r.ExternalID, tc.id)
			}
			if tc.want == "retryAfter" {
				d, _ := adapters.RetryDelay(err)
				if tc.after >= 0 && d != tc.after || tc.after < 0 && (d <= 0 || d > 90*time.Second) {
					t.Errorf("RetryAfter %s, want %s", d, tc.after)
				}
			}
			if len(b.requests()) != 1 {
				t.Errorf("%d requests, want 1 (no retries inside the adapter)", len(b.requests()))
			}
		})
	}
}

func TestIDField(t *testing.T) {
	b := newBackend(t, answer(200, `{"code":0,"data":{"caseNo":"SAMR-2026-42"}}`))
	a := newAdapter(t, map[string]string{"idField": "data.caseNo"}, b.url)
	r, err := a.Deliver(context.Background(), adaptertest.Sample("idfield-1"))
	if err != nil || r.ExternalID != "SAMR-2026-42" {
		t.Fatalf("Deliver = %+v, %v; want ExternalID SAMR-2026-42", r, err)
	}
}

func TestBackendTextBounded(t *testing.T) {
	long := strings.Repeat("服务器内部错误 ", 2000)
	for _, status := range []int{400, 500, 503} {
		b := newBackend(t, answer(status, long))
		a := newAdapter(t, nil, b.url)
		_, err := a.Deliver(context.Background(), adaptertest.Sample("long-1"))
		if err == nil {
			t.Fatalf("HTTP %d accepted", status)
		}
		if n := strings.Count(err.Error(), "服务器内部错误"); n == 0 || len(err.Error()) > 350 {
			t.Errorf("HTTP %d: error of %d bytes quoting %d repeats: %s", status, len(err.Error()), n, err)
		}
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
		err       string // a substring of the error; "" for none
	}{
		{"endpoint", nil, []string{"https://samr.gz.gov.cn/hook"}, ""},
		{"url wins", map[string]string{"url": "http://a/hook"}, []string{"http://b/hook"}, ""},
		{"all", map[string]string{"url": "http://a/", "method": "PATCH", "idempotencyHeader": "X-Key", "signingSecretEnv": "HOOK_SECRET_1",
			"fieldMap": "title=subject", "idField": "data.id", "timeout": "3s"}, nil, ""},
		{"no url", nil, nil, "url: required"},
		{"bad url", map[string]string{"url": "ftp://a/"}, nil, "url:"},
		{"unknown key", map[string]string{"url": "http://a/", "urll": "x"}, nil, `unknown setting "urll"`},
		{"method", map[string]string{"url": "http://a/", "method": "GET"}, nil, "method:"},
		{"header", map[string]string{"url": "http://a/", "idempotencyHeader": "Bad Header"}, nil, "idempotencyHeader:"},
		{"env name", map[string]string{"url": "http://a/", "signingSecretEnv": "1-SECRET"}, nil, "signingSecretEnv:"},
		{"fieldMap syntax", map[string]string{"url": "http://a/", "fieldMap": "title"}, nil, "fieldMap:"},
		{"fieldMap unknown", map[string]string{"url": "http://a/", "fieldMap": "titel=subject"}, nil, `fieldMap: "titel"`},
		{"fieldMap twice", map[string]string{"url": "http://a/", "fieldMap": "title=a,title=b"}, nil, "renamed twice"},
		{"fieldMap collision", map[string]string{"url": "http://a/", "fieldMap": "title=content"}, nil, "same name"},
		{"fieldMap swap", map[string]string{"url": "http://a/", "fieldMap": "title=content,content=title"}, nil, ""},
		{"idField", map[string]string{"url": "http://a/", "idField": "data..id"}, nil, "idField:"},
		{"timeout syntax", map[string]string{"url": "http://a/", "timeout": "10"}, nil, "timeout:"},
		{"timeout negative", map[string]string{"url": "http://a/", "timeout": "-1s"}, nil, "timeout:"},
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

	c, err := Decode(adapters.Config{Endpoints: []string{"http://a/"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Method != "POST" || c.IdempotencyHeader != "Idempotency-Key" || c.IDField != "id" || c.Timeout != 10*time.Second {
		t.Errorf("defaults: %+v", c)
	}
	if _, err := Factory(adapters.Config{}); err == nil {
		t.Error("Factory accepted an empty config")
	} else if a, _ := Factory(adapters.Config{}); a != nil {
		t.Error("Factory returned a non-nil adapter with its error")
	}
}
