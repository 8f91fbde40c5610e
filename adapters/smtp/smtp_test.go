package smtp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/adaptertest"
	"github.com/switchboard12345/switchboard/internal/testsmtp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

const (
	from = "12345热线 <hotline@12345.example.gov.cn>"
	to   = "gz-samr@gz-samr.example.gov.cn"
)

func settings(addr string, kv ...string) map[string]string {
	s := map[string]string{"addr": addr, "from": from, "to": to, "timeout": "10s"}
	for i := 0; i+1 < len(kv); i += 2 {
		s[kv[i]] = kv[i+1]
	}
	return s
}

func newAdapter(t *testing.T, s map[string]string) *Adapter {
	t.Helper()
	a, err := New(adapters.Config{Backend: "gz-samr-mail", Settings: s})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// decoded is a received message taken apart.
type decoded struct {
	Header  mail.Header
	Subject string
	Key     string
	Text    string
	JSON    []byte
}

// decode parses a raw message as a mail reader would: RFC 2047 headers,
// multipart, base64 or quoted-printable parts.
func decode(t *testing.T, raw []byte) decoded {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("reading the message: %v\n%s", err, raw)
	}
	var dec mime.WordDecoder
	d := decoded{Header: m.Header}
	if d.Subject, err = dec.DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatalf("Subject: %v", err)
	}
	if d.Key, err = dec.DecodeHeader(m.Header.Get(HeaderKey)); err != nil {
		t.Fatalf("%s: %v", HeaderKey, err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		d.Text = string(body(t, m.Header.Get("Content-Transfer-Encoding"), m.Body))
		return d
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading a part: %v", err)
		}
		pt, pp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b := body(t, p.Header.Get("Content-Transfer-Encoding"), p)
		switch {
		case pt == "text/plain" && strings.EqualFold(pp["charset"], "utf-8"):
			d.Text = string(b)
		case pt == "application/json":
			d.JSON = b
		default:
			t.Fatalf("unexpected part %s", pt)
		}
	}
	return d
}

func body(t *testing.T, cte string, r io.Reader) []byte {
	t.Helper()
	switch strings.ToLower(cte) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding a %s body: %v", cte, err)
	}
	return b
}

func arrivals(t *testing.T, s *testsmtp.Server) func() []adaptertest.Arrival {
	return func() []adaptertest.Arrival {
		var out []adaptertest.Arrival
		for _, m := range s.Messages(t) {
			d := decode(t, m.Raw)
			out = append(out, adaptertest.Arrival{Key: d.Key, Body: d.Subject + "\n" + d.Text})
		}
		return out
	}
}

func TestConformance(t *testing.T) {
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) (adapters.Adapter, func() []adaptertest.Arrival) {
			s := testsmtp.Start(t)
			return newAdapter(t, settings(s.SMTPAddr)), arrivals(t, s)
		},
		Rejecting: func(t *testing.T) adapters.Adapter {
			s := testsmtp.StartWith(t, testsmtp.Options{AllowedRecipients: `@other\.example$`})
			return newAdapter(t, settings(s.SMTPAddr))
		},
		Down: func(t *testing.T) adapters.Adapter {
			return newAdapter(t, settings(testsmtp.ClosedAddr(t)))
		},
		Hanging: func(t *testing.T) adapters.Adapter {
			return newAdapter(t, settings(testsmtp.HangingAddr(t)))
		},
	})
}

// TestChineseSurvivesTheServer sends the sample through a real SMTP server
// and reads it back as a mail client would.
func TestChineseSurvivesTheServer(t *testing.T) {
	t.Parallel()
	s := testsmtp.Start(t)
	a := newAdapter(t, settings("smtp://"+s.SMTPAddr, "to", to+", 备案 <records@gz-samr.example.gov.cn>"))
	d := adaptertest.Sample("chinese-1@adaptertest")
	r, err := a.Deliver(context.Background(), d)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	msgs := s.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	if r.ExternalID != msgs[0].ID {
		t.Errorf("ExternalID = %q, want the server's id %q", r.ExternalID, msgs[0].ID)
	}
	got := decode(t, msgs[0].Raw)
	if want := "[12345工单] 20261127-000123 预付卡退款"; got.Subject != want {
		t.Errorf("Subject = %q, want %q", got.Subject, want)
	}
	if got.Header.Get("Message-ID") != MessageID(d.Key) || msgs[0].MessageID != "chinese-1=40adaptertest@switchboard" {
		t.Errorf("Message-ID = %q (server: %q), want %q", got.Header.Get("Message-ID"), msgs[0].MessageID, MessageID(d.Key))
	}
	if got.Key != d.Key || got.Header.Get(HeaderTracking) != "20261127-000123" {
		t.Errorf("%s = %q, %s = %q", HeaderKey, got.Key, HeaderTracking, got.Header.Get(HeaderTracking))
	}
	for _, want := range []string{
		"工单编号：20261127-000123", "标题：预付卡退款", "西饼店倒闭，预付卡余额一千二百元无法退款。",
		"地址：广州市天河区体育西路1号", "诉求类型：投诉（COMPLAINT）", "紧急程度：一般（NORMAL）",
		"签收时限：2026-11-30 10:00", "办结时限：2026-12-04 10:00", "原因：消费维权",
	} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("the text lacks %q:\n%s", want, got.Text)
		}
	}
	var w wireMessage
	if err := json.Unmarshal(got.JSON, &w); err != nil {
		t.Fatalf("the JSON attachment: %v\n%s", err, got.JSON)
	}
	if w.Key != d.Key || w.Ticket.Title != d.Ticket.Title || w.Ticket.Content != d.Ticket.Content || !w.Ticket.ReplyBy.Equal(d.Ticket.ReplyBy) {
		t.Errorf("the JSON attachment = %+v", w)
	}
	addrs, err := got.Header.AddressList("To")
	if err != nil || len(addrs) != 2 || addrs[1].Name != "备案" {
		t.Errorf("To = %v, %v", addrs, err)
	}
}

func TestRepeatHasTheSameMessageID(t *testing.T) {
	t.Parallel()
	s := testsmtp.StartWith(t, testsmtp.Options{IgnoreDuplicateIDs: true})
	a := newAdapter(t, settings(s.SMTPAddr))
	d := adaptertest.Sample("repeat 重复/1")
	for attempt := 1; attempt <= 3; attempt++ {
		d.Attempt = attempt
		if _, err := a.Deliver(context.Background(), d); err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
	}
	msgs := s.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("a server dropping duplicate Message-IDs kept %d messages, want 1", len(msgs))
	}
	if got := decode(t, msgs[0].Raw); got.Key != d.Key {
		t.Fatalf("%s = %q, want %q", HeaderKey, got.Key, d.Key)
	}
}

func TestReplies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		opts      testsmtp.Options
		permanent bool
	}{
		{"RecipientRefused550", testsmtp.Options{AllowedRecipients: `@elsewhere\.example$`}, true},
		{"Recipient451", testsmtp.Options{ChaosTriggers: "Recipient:451:100"}, false},
		{"Recipient553", testsmtp.Options{ChaosTriggers: "Recipient:553:100"}, true},
		{"Sender554", testsmtp.Options{ChaosTriggers: "Sender:554:100"}, true},
		{"Sender421", testsmtp.Options{ChaosTriggers: "Sender:421:100"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := testsmtp.StartWith(t, tc.opts)
			a := newAdapter(t, settings(s.SMTPAddr))
			_, err := a.Deliver(context.Background(), adaptertest.Sample("replies"))
			if err == nil || adapters.IsPermanent(err) != tc.permanent {
				t.Fatalf("err = %v, want permanent=%v", err, tc.permanent)
			}
			if n := len(s.Messages(t)); n != 0 {
				t.Fatalf("the server stored %d messages", n)
			}
		})
	}
}

func TestOneRefusedRecipientStopsTheMessage(t *testing.T) {
	t.Parallel()
	s := testsmtp.StartWith(t, testsmtp.Options{AllowedRecipients: `@gz-samr\.example\.gov\.cn$`})
	a := newAdapter(t, settings(s.SMTPAddr, "to", to+", someone@elsewhere.example"))
	_, err := a.Deliver(context.Background(), adaptertest.Sample("partial"))
	if !adapters.IsPermanent(err) || !strings.Contains(err.Error(), "someone@elsewhere.example") {
		t.Fatalf("err = %v, want a permanent refusal naming the recipient", err)
	}
	if n := len(s.Messages(t)); n != 0 {
		t.Fatalf("the server stored %d messages; want none when a recipient is refused", n)
	}
}

func TestAuthPlain(t *testing.T) {
	t.Parallel()
	s := testsmtp.Start(t)
	a := newAdapter(t, settings(s.SMTPAddr, "username", "hotline", "passwordEnv", "SB_TEST_SMTP_PASSWORD"))
	a.getenv = func(string) string { return "" }
	if _, err := a.Deliver(context.Background(), adaptertest.Sample("auth")); err == nil || adapters.IsPermanent(err) || !strings.Contains(err.Error(), "SB_TEST_SMTP_PASSWORD") {
		t.Fatalf("with the variable empty: err = %v, want a transient error naming it", err)
	}
	a.getenv = func(k string) string { return map[string]string{"SB_TEST_SMTP_PASSWORD": "s3cret"}[k] }
	if _, err := a.Deliver(context.Background(), adaptertest.Sample("auth")); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if n := len(s.Messages(t)); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
	if err := a.Health(context.Background()); err != nil {
		t.Fatalf("Health: %v", err)
	}
}

func TestStartTLSRequiredButNotOffered(t *testing.T) {
	t.Parallel()
	s := testsmtp.Start(t)
	a := newAdapter(t, settings(s.SMTPAddr, "startTLS", "true"))
	_, err := a.Deliver(context.Background(), adaptertest.Sample("tls"))
	if err == nil || adapters.IsPermanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want a transient error about STARTTLS", err)
	}
	if n := len(s.Messages(t)); n != 0 {
		t.Fatalf("%d messages sent without TLS", n)
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	s := testsmtp.Start(t)
	if err := newAdapter(t, settings(s.SMTPAddr)).Health(context.Background()); err != nil {
		t.Fatalf("Health: %v", err)
	}
	if err := newAdapter(t, settings(testsmtp.ClosedAddr(t))).Health(context.Background()); err == nil {
		t.Fatal("Health of a closed port succeeded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := newAdapter(t, settings(testsmtp.HangingAddr(t))).Health(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Health of a silent server: %v, want a deadline error", err)
	}
}

func TestCancelInterruptsTheConversation(t *testing.T) {
	t.Parallel()
	a := newAdapter(t, settings(testsmtp.HangingAddr(t), "timeout", "1m"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := a.Deliver(ctx, adaptertest.Sample("cancel"))
	if !errors.Is(err, context.Canceled) || adapters.IsPermanent(err) {
		t.Fatalf("err = %v, want a transient error wrapping context.Canceled", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("Deliver took %v after the cancel", time.Since(start))
	}
}

// fixedDate is the Date of the golden messages.
var fixedDate = time.Date(2026, 11, 27, 10, 0, 5, 0, time.FixedZone("CST", 8*3600))

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		golden string
		kv     []string
		change func(*adapters.Delivery)
	}{
		{"message.golden", nil, nil},
		{"message-plain.golden", []string{"attachJSON", "false"}, nil},
		{"message-supervise.golden", []string{"attachJSON", "false", "subjectPrefix", "【12345】", "to", "a@x.example, 备案 <b@x.example>"}, func(d *adapters.Delivery) {
			d.Topic = "ticket.supervise"
			d.Event = adapters.Event{Seq: 5, Action: "supervise", Actor: "supervisor:li", Reason: "逾期未签收，请尽快处理", Time: fixedDate}
			d.Ticket.Urgency = "URGENT"
			d.Ticket.CoHandling = []string{"gz-th-gov", "gz-police"}
			d.Ticket.Content = "第一行\n第二行\r\n第三行"
		}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			a := newAdapter(t, settings("127.0.0.1:2525", tc.kv...))
			d := adaptertest.Sample("golden-key@adaptertest")
			if tc.change != nil {
				tc.change(&d)
			}
			got, err := render(&a.cfg, d, fixedDate)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.golden, got)
			// The rendering is 7-bit clean with CRLF line ends of at most 78
			// characters, and decodes back to the text.
			for i, line := range strings.Split(strings.TrimSuffix(string(got), "\r\n"), "\r\n") {
				if len(line) > 78 || strings.ContainsAny(line, "\r\n") || strings.ContainsFunc(line, func(r rune) bool { return r > 0x7e }) {
					t.Errorf("line %d is not 7-bit, CRLF-terminated and short: %q", i+1, line)
				}
			}
			dec := decode(t, got)
			if dec.Text != Text(d) {
				t.Errorf("the decoded text differs from Text(d)")
			}
			if tc.golden == "message.golden" {
				checkGolden(t, "text.golden", []byte(dec.Text))
				checkGolden(t, "ticket.json.golden", dec.JSON)
			}
		})
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendering (go test -update rewrites it):\n--- got\n%s", path, got)
	}
}

func TestRenderDependsOnlyOnTheDelivery(t *testing.T) {
	t.Parallel()
	a := newAdapter(t, settings("127.0.0.1:2525"))
	d := adaptertest.Sample("same")
	m1, _ := render(&a.cfg, d, fixedDate)
	m2, _ := render(&a.cfg, d, fixedDate)
	if !bytes.Equal(m1, m2) {
		t.Fatal("two renderings of one delivery differ")
	}
	d.Key = ""
	if _, err := a.Deliver(context.Background(), d); !adapters.IsPermanent(err) {
		t.Fatalf("a delivery without a key: err = %v, want permanent (nothing sent)", err)
	}
}

// msgID is RFC 5322's msg-id with a dot-atom-text left side.
var msgID = regexp.MustCompile("^<[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@switchboard>$")

func TestMessageID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ key, want string }{
		{"01M8G55CTP1VDNVKPCEM4DYNXK-2", "<01M8G55CTP1VDNVKPCEM4DYNXK-2@switchboard>"},
		{"deliver-1@adaptertest", "<deliver-1=40adaptertest@switchboard>"},
		{"a.b", "<a.b@switchboard>"},
		{".a..b.", "<=2Ea.=2Eb=2E@switchboard>"},
		{"k=v", "<k=3Dv@switchboard>"},
		{"k=3Dv", "<k=3D3Dv@switchboard>"},
		{"with space<>\r\n", "<with=20space=3C=3E=0D=0A@switchboard>"},
		{"工单", "<=E5=B7=A5=E5=8D=95@switchboard>"},
	} {
		if got := MessageID(tc.key); got != tc.want {
			t.Errorf("MessageID(%q) = %s, want %s", tc.key, got, tc.want)
		}
	}
	long := strings.Repeat("工", 100)
	got := MessageID(long)
	if got != MessageID(long) || len(got) > maxIDLeft+len("<@switchboard>") || got == MessageID(long+"x") {
		t.Errorf("MessageID of a long key: %s", got)
	}
}

func FuzzMessageID(f *testing.F) {
	for _, s := range []string{"", "a", "a.b", "..", "a@b", "k=3D", "工单", strings.Repeat("x.", 100)} {
		f.Add(s, "other")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if a == "" {
			return
		}
		id := MessageID(a)
		if !msgID.MatchString(id) {
			t.Fatalf("MessageID(%q) = %q is not a msg-id", a, id)
		}
		if id != MessageID(a) {
			t.Fatal("not deterministic")
		}
		if a != b && b != "" && id == MessageID(b) {
			t.Fatalf("MessageID(%q) == MessageID(%q) = %s", a, b, id)
		}
	})
}

func TestDecode(t *testing.T) {
	t.Parallel()
	ok := func(kv ...string) map[string]string { return settings("127.0.0.1:2525", kv...) }
	for _, tc := range []struct {
		name      string
		endpoints []string
		settings  map[string]string
		wantErr   string
		check     func(*testing.T, Config)
	}{
		{name: "Defaults", settings: ok(), check: func(t *testing.T, c Config) {
			if c.SubjectPrefix != DefaultSubjectPrefix || c.StartTLS || !c.AttachJSON || c.Timeout != 10*time.Second || c.Addr != "127.0.0.1:2525" {
				t.Errorf("%+v", c)
			}
		}},
		{name: "EndpointURL", endpoints: []string{"smtp://mail.gz.example:587"}, settings: map[string]string{"from": from, "to": to}, check: func(t *testing.T, c Config) {
			if c.Addr != "mail.gz.example:587" || !c.StartTLS || c.Timeout != DefaultTimeout {
				t.Errorf("%+v", c)
			}
		}},
		{name: "NoPort", settings: ok("addr", "localhost"), check: func(t *testing.T, c Config) {
			if c.Addr != "localhost:25" || c.StartTLS {
				t.Errorf("%+v", c)
			}
		}},
		{name: "IPv6Loopback", settings: ok("addr", "smtp://[::1]:2525"), check: func(t *testing.T, c Config) {
			if c.Addr != "[::1]:2525" || c.StartTLS {
				t.Errorf("%+v", c)
			}
		}},
		{name: "Unknown", settings: ok("cc", "x@y"), wantErr: `unknown setting "cc"`},
		{name: "NoAddr", settings: map[string]string{"from": from, "to": to}, wantErr: "addr: required"},
		{name: "SMTPS", settings: ok("addr", "smtps://mail.example:465"), wantErr: "addr: scheme"},
		{name: "BadPort", settings: ok("addr", "mail.example:0"), wantErr: "addr:"},
		{name: "NoFrom", settings: ok("from", ""), wantErr: "from: required"},
		{name: "BadFrom", settings: ok("from", "not an address"), wantErr: "from:"},
		{name: "NoTo", settings: ok("to", ""), wantErr: "to: required"},
		{name: "BadTo", settings: ok("to", "a@b.example, not an address"), wantErr: "to:"},
		{name: "UsernameAlone", settings: ok("username", "u"), wantErr: "username and passwordEnv"},
		{name: "BadEnv", settings: ok("username", "u", "passwordEnv", "1X"), wantErr: "passwordEnv:"},
		{name: "PlainInClear", settings: ok("addr", "mail.example:25", "startTLS", "false", "username", "u", "passwordEnv", "P"), wantErr: "startTLS"},
		{name: "BadStartTLS", settings: ok("startTLS", "sometimes"), wantErr: "startTLS:"},
		{name: "BadAttach", settings: ok("attachJSON", "ja"), wantErr: "attachJSON:"},
		{name: "BadTimeout", settings: ok("timeout", "soon"), wantErr: "timeout:"},
		{name: "NegativeTimeout", settings: ok("timeout", "-1s"), wantErr: "timeout:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Decode(adapters.Config{Backend: "b", Endpoints: tc.endpoints, Settings: tc.settings})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), `smtp backend "b"`) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
