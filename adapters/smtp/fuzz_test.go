package smtp

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/switchboard12345/switchboard/adapters"
)

var steps = []string{stepConnect, stepGreeting, stepHello, stepStartTLS, stepAuth, stepMail, stepRcpt, stepData, stepSend, stepEnd}

// FuzzReply feeds arbitrary server replies (code and text) to the reply
// classifier, the quoting of server text in errors and the queue-id
// extraction: they never panic; only a 5xx to MAIL, RCPT, DATA or the end
// of data is permanent, and never 530/534/535/538; an error quotes little
// server text, on one line; a queue id is a short printable token.
func FuzzReply(f *testing.F) {
	for _, s := range []struct {
		step int
		code int
		text string
	}{
		{6, 550, "5.1.0 Requested action not taken: mailbox unavailable"},
		{5, 553, "5.1.3 The address is not a valid RFC 5321 address"},
		{9, 554, "5.7.1 Message rejected as spam"},
		{9, 250, "2.0.0 Ok: queued as 4XkWmXj7Zf2bQm3zN9YwK"},
		{9, 250, "OK id=1tGZ9k-000Abc-2x"},
		{9, 250, "2.0.0 Ok: queued as <>"},
		{6, 451, "4.3.0 Chaos recipient error"},
		{6, 552, "5.2.2 mailbox full"},
		{4, 535, "5.7.8 Authentication credentials invalid"},
		{1, 554, "no SMTP service here"},
		{9, 550, "拒收：内容不合规\r\n第二行" + strings.Repeat("很长", 300)},
		{9, 550, "\xff\xfe\x00"},
	} {
		f.Add(s.step, s.code, s.text)
	}
	f.Fuzz(func(t *testing.T, step, code int, text string) {
		st := steps[uint(step)%uint(len(steps))]
		err := classify(st, code, text)
		if err == nil {
			t.Fatal("classify returned nil")
		}
		perm := adapters.IsPermanent(err)
		if perm && (code < 500 || code > 599) {
			t.Fatalf("%s %d classified permanent", st, code)
		}
		if perm && st != stepMail && st != stepRcpt && st != stepData && st != stepEnd {
			t.Fatalf("a %d to %s classified permanent", code, st)
		}
		if perm && (code == 530 || code == 534 || code == 535 || code == 538) {
			t.Fatalf("%d classified permanent", code)
		}
		if !perm && code >= 500 && code <= 599 && (st == stepMail || st == stepData) && code != 530 && code != 534 && code != 535 && code != 538 {
			t.Fatalf("a %d to %s classified transient", code, st)
		}
		msg := err.Error()
		if len(msg) > 300+len(st) || strings.ContainsAny(msg, "\r\n") || !utf8.ValidString(msg) {
			t.Fatalf("error %q", msg)
		}
		id := queueID(text)
		if len(id) > maxQueueID || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '<' || r == '>' }) {
			t.Fatalf("queueID(%q) = %q", text, id)
		}
	})
}
