// Package httpx holds what the HTTP-based adapters (rest, open311, soap)
// share about talking to a department's web server: a client that does not
// follow redirects, a bounded read of an answer, the mapping of a refused
// answer's status onto package adapters' kinds of failure (Permanent,
// RetryAfter, transient), the Retry-After parser, and the clipping of
// backend text quoted in errors. What an answer means beyond its status
// (a JSON id, a GeoReport error array, a SOAP fault) stays in each adapter.
package httpx

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard12345/switchboard/adapters"
)

// NewClient returns an HTTP client with its own transport (a clone of
// http.DefaultTransport) that reports a redirect instead of following it: a
// redirected POST would become a GET or need a second body.
func NewClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// Keep as many connections as a backend's bulkhead lets calls run at
	// once (the default of 2 would reconnect for most calls under load).
	t.MaxIdleConnsPerHost = 64
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ReadBody reads at most limit bytes of r (an answer's body); the rest is
// left unread.
func ReadBody(r io.Reader, limit int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, limit))
}

// Classify wraps err, the failure of an answer with the given status, in
// the kind package adapters gives it: 400, 404, 405, 410, 413 and 422 (the
// message itself is refused) are Permanent; 429 and 503 are RetryAfter when
// the answer says when (see Retryable); anything else (5xx, 401 and 403,
// which are about credentials rather than the message, 408, redirects)
// stays transient.
func Classify(status int, h http.Header, now time.Time, err error) error {
	switch status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusGone,
		http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return &adapters.Permanent{Err: err}
	}
	return Retryable(status, h, now, err)
}

// Retryable returns err as an adapters.RetryAfter when status is 429 or 503
// and h carries a Retry-After that parses (see RetryAfter, dated by now);
// otherwise err as it is.
func Retryable(status int, h http.Header, now time.Time, err error) error {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return err
	}
	if d, ok := RetryAfter(h.Get("Retry-After"), now); ok {
		return &adapters.RetryAfter{After: d, Err: err}
	}
	return err
}

// RetryAfter parses a Retry-After value (RFC 9110 §10.2.3): a number of
// seconds (at most nine digits) or an HTTP date, which is turned into the
// delay from now (a date in the past means no delay). The delay is never
// negative; ok is false for an empty or unreadable value.
func RetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if len(v) <= 9 && strings.Trim(v, "0123456789") == "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// Clip returns backend text for an error: valid UTF-8, whitespace runs
// collapsed, without control characters, at most n bytes (cut at a
// character boundary, with "…"; n must be at least 3, the length of "…").
// It reads all of s.
func Clip(s string, n int) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	const ell = "…"
	cut := n - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}

// ClipHead is Clip of the first 4n bytes of s only, for text that may be
// large (a whole answer): usually enough to fill n bytes after collapsing,
// though text made mostly of whitespace or control characters there
// yields less.
func ClipHead(s string, n int) string {
	if len(s) > 4*n {
		s = s[:4*n]
	}
	return Clip(s, n)
}
