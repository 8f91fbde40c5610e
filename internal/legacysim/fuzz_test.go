package legacysim

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzSMTPSession feeds arbitrary client input to the SMTP server's
// conversation: it never panics, every reply line is a three-digit code
// and a separator, and whatever it records has a key.
func FuzzSMTPSession(f *testing.F) {
	mail := "From: a@example.gov.cn\r\nTo: kjt-12345@example.gov.cn\r\nMessage-ID: <k1@switchboard>\r\nX-Switchboard-Topic: ticket.dispatch\r\n" +
		"Subject: =?UTF-8?b?5bel5Y2V?=\r\n\r\n预付卡退款\r\n..leading dot\r\n.\r\n"
	for _, seed := range []string{
		"EHLO x\r\nMAIL FROM:<a@example.gov.cn>\r\nRCPT TO:<kjt-12345@example.gov.cn>\r\nDATA\r\n" + mail + "QUIT\r\n",
		"HELO x\r\nMAIL FROM:<>\r\nRCPT TO:<KJT-12345@EXAMPLE.GOV.CN>\r\nDATA\r\nSubject: none\r\n\r\n.\r\nRSET\r\nNOOP\r\n",
		"MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n",
		"EHLO x\r\nMAIL FROM:a@b\r\nMAIL FROM:<a@b\r\nRCPT TO:<@route:kjt-12345@example.gov.cn>\r\nVRFY x\r\nAUTH PLAIN\r\n",
		strings.Repeat("X", 5000) + "\r\nQUIT\r\n",
		"EHLO x\nMAIL FROM:<a@b>\nRCPT TO:<kjt-12345@example.gov.cn>\nDATA\nMessage-ID: <\xff>\n\n.\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := newSim(Options{KeepBodies: true})
		b := s.add("gd-science-smtp", "smtp", nil)
		var out bytes.Buffer
		ss := &smtpSession{
			srv:  newMailServer(s, map[string][]*Backend{"kjt-12345@example.gov.cn": {b}}),
			r:    bufio.NewReaderSize(bytes.NewReader(in), maxLine),
			w:    bufio.NewWriter(&out),
			wait: func(time.Duration) bool { return true },
			hang: func() {},
		}
		ss.run()
		for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\r\n"), "\r\n") {
			if len(l) < 4 || l[0] < '2' || l[0] > '5' || (l[3] != ' ' && l[3] != '-') {
				t.Fatalf("bad reply line %q", l)
			}
		}
		for k, e := range b.Ledger() {
			if k == "" || e.Arrivals < 1 || strings.ContainsAny(k, "<> \r\n") {
				t.Fatalf("ledger entry %q: %+v", k, e)
			}
		}
	})
}

// FuzzParseMail reads arbitrary messages: it never panics, and a key has no
// angle brackets or white space.
func FuzzParseMail(f *testing.F) {
	f.Add([]byte("Message-ID: <k@switchboard>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/json\r\nContent-Transfer-Encoding: base64\r\n\r\neyJ0aWNrZXQiOnsiaWQiOiJUMSJ9fQ==\r\n--b--\r\n"))
	f.Add([]byte("Message-ID: k\r\n\r\n"))
	f.Add([]byte("no headers"))
	f.Fuzz(func(t *testing.T, in []byte) {
		key, _ := parseMail(in)
		if strings.ContainsAny(key, "<> \t\r\n") {
			t.Fatalf("key %q", key)
		}
	})
}

// FuzzParsePath reads arbitrary MAIL and RCPT arguments without panicking;
// an address it returns has an @ and no brackets or spaces.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"FROM:<a@b>", "TO:<a@b> NOTIFY=NEVER", "to:<@r:a@b>", "FROM:<>", "TO:<>", "TO:a@b", "FROM:<a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		for _, p := range []string{"FROM:", "TO:"} {
			a, err := parsePath(arg, p)
			if err == nil && a != "" && (!strings.Contains(a, "@") || strings.ContainsAny(a, "<> \t")) {
				t.Fatalf("parsePath(%q, %q) = %q", arg, p, a)
			}
		}
	})
}

func TestParseMailReadsTheJSONAttachment(t *testing.T) {
	t.Parallel()
	key, o := parseMail([]byte("Message-ID: <k@switchboard>\r\nX-Switchboard-Topic: ticket.supervise\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/json\r\nContent-Transfer-Encoding: base64\r\n\r\neyJ0aWNrZXQiOnsiaWQiOiJUMSJ9fQ==\r\n--b--\r\n"))
	if key != "k@switchboard" || o.ticketID != "T1" || o.topic != "ticket.supervise" || o.creates() {
		t.Fatalf("key %q, order %+v", key, o)
	}
}
