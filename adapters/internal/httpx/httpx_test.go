package httpx

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchboard12345/switchboard/adapters"
)

var now = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"7", 7 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"999999999", 999999999 * time.Second, true},
		{"9999999999", 0, false}, // ten digits: not taken
		{"-1", 0, false},
		{"1.5", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{"Fri, 27 Nov 2026 02:00:30 GMT", 30 * time.Second, true},
		{"Thu, 01 Jan 1970 00:00:00 GMT", 0, true}, // in the past: now
	} {
		d, ok := RetryAfter(tc.v, now)
		if d != tc.want || ok != tc.ok {
			t.Errorf("RetryAfter(%q) = %s, %v; want %s, %v", tc.v, d, ok, tc.want, tc.ok)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"7", "0", "-1", "999999999", "9999999999", "Fri, 27 Nov 2026 02:00:30 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "", " \t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := RetryAfter(v, now)
		if d < 0 {
			t.Fatalf("RetryAfter(%q) = %s", v, d)
		}
		if !ok && d != 0 {
			t.Fatalf("RetryAfter(%q) = %s without ok", v, d)
		}
		if ok && strings.TrimSpace(v) == "" {
			t.Fatalf("RetryAfter(%q) ok for a blank value", v)
		}
	})
}

func TestClassify(t *testing.T) {
	base := errors.New("HTTP x")
	withRA := http.Header{"Retry-After": {"5"}}
	for _, tc := range []struct {
		status int
		h      http.Header
		want   string
	}{
		{400, nil, "permanent"}, {404, nil, "permanent"}, {405, nil, "permanent"},
		{410, nil, "permanent"}, {413, nil, "permanent"}, {422, nil, "permanent"},
		{429, withRA, "retryAfter"}, {503, withRA, "retryAfter"},
		{429, nil, "transient"}, {503, http.Header{"Retry-After": {"later"}}, "transient"},
		{500, withRA, "transient"}, {401, nil, "transient"}, {403, nil, "transient"},
		{408, nil, "transient"}, {302, nil, "transient"},
	} {
		err := Classify(tc.status, tc.h, now, base)
		got := "transient"
		if adapters.IsPermanent(err) {
			got = "permanent"
		} else if d, ok := adapters.RetryDelay(err); ok {
			got = "retryAfter"
			if d != 5*time.Second {
				t.Errorf("HTTP %d: delay %s", tc.status, d)
			}
		}
		if got != tc.want {
			t.Errorf("Classify(%d) is %s, want %s", tc.status, got, tc.want)
		}
		if !errors.Is(err, base) {
			t.Errorf("Classify(%d) = %v does not wrap the error", tc.status, err)
		}
	}
	// Retryable never makes an error permanent.
	if err := Retryable(400, nil, now, base); err != base {
		t.Errorf("Retryable(400) = %v", err)
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 20, "short"},
		{"  a \n\t b  ", 20, "a b"},
		{"a\x00b\x7fc", 20, "abc"},
		{"bad \xff utf8", 20, "bad \uFFFD utf8"},
		{strings.Repeat("x", 30), 20, strings.Repeat("x", 17) + "…"},
		{strings.Repeat("内", 10), 20, strings.Repeat("内", 5) + "…"}, // 15 + 3 bytes
	} {
		if got := Clip(tc.s, tc.n); got != tc.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
	long := strings.Repeat(" ", 100) + "text"
	if got := Clip(long, 20); got != "text" {
		t.Errorf("Clip reads all of s: got %q", got)
	}
	if got := ClipHead(long, 20); got != "" {
		t.Errorf("ClipHead reads the first 4n bytes only: got %q", got)
	}
	if got := ClipHead("  a  b  ", 20); got != "a b" {
		t.Errorf("ClipHead of short text = %q", got)
	}
}

func FuzzClip(f *testing.F) {
	f.Add("内部错误 \x00\xff", 20)
	f.Add(strings.Repeat("错", 100), 200)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = 3 + abs(n)%300
		for _, got := range []string{Clip(s, n), ClipHead(s, n)} {
			if len(got) > n || !utf8.ValidString(got) || strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("clip(%q, %d) = %q", s, n, got)
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

func TestReadBody(t *testing.T) {
	b, err := ReadBody(strings.NewReader("0123456789"), 4)
	if err != nil || string(b) != "0123" {
		t.Fatalf("ReadBody = %q, %v", b, err)
	}
}

func TestNewClientDoesNotFollowRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		t.Errorf("redirect followed to %s", r.URL.Path)
	}))
	defer srv.Close()
	c := NewClient()
	defer c.CloseIdleConnections()
	if c.Transport == http.DefaultTransport {
		t.Error("the client shares http.DefaultTransport")
	}
	resp, err := c.Post(srv.URL, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/elsewhere" {
		t.Fatalf("got %d to %q, want the 302 itself", resp.StatusCode, resp.Header.Get("Location"))
	}
}
