package smtp

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard12345/switchboard/adapters"
)

// Headers every message carries besides the usual ones.
const (
	HeaderKey      = "X-Switchboard-Key"
	HeaderTracking = "X-Switchboard-Tracking"
	HeaderTopic    = "X-Switchboard-Topic"
	HeaderUnit     = "X-Switchboard-Unit"
	HeaderAttempt  = "X-Switchboard-Attempt"
)

// MessageIDDomain is the right-hand side of every Message-ID.
const MessageIDDomain = "switchboard"

// maxIDLeft bounds the left-hand side of a Message-ID; longer keys are
// shortened with a hash.
const maxIDLeft = 128

// MessageID returns the Message-ID of every message carrying idempotency
// key key, angle brackets included: <KEY@switchboard>. It is a pure function
// of the key, so a repeat has the Message-ID of the first attempt and a
// mailbox (or a person) can recognise it.
//
// Characters a msg-id may not hold (RFC 5322 dot-atom-text: letters, digits,
// !#$%&'*+-/?^_`{|}~ and single inner dots) are written as =XX, the hex of
// each UTF-8 byte; '=' itself is escaped too, so distinct keys give distinct
// Message-IDs. A left-hand side over 128 characters keeps its first 64 and
// appends "-" and 32 hex digits of the key's SHA-256.
func MessageID(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		dotOK := c == '.' && i > 0 && i < len(key)-1 && key[i-1] != '.'
		if (isAtext(c) && c != '=') || dotOK {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "=%02X", c)
	}
	left := b.String()
	if len(left) > maxIDLeft {
		sum := sha256.Sum256([]byte(key))
		left = strings.TrimRight(left[:64], ".") + "-" + hex.EncodeToString(sum[:16])
	}
	return "<" + left + "@" + MessageIDDomain + ">"
}

// isAtext reports whether c is an RFC 5322 atext character (ASCII only).
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// topicLabels names the topics in the department's language.
var topicLabels = map[string]string{
	"ticket.dispatch":        "派单",
	"ticket.reopen":          "重办",
	"ticket.supervise":       "督办",
	"ticket.decideExtension": "延期审核结果",
	"ticket.withdraw":        "撤单",
}

var requestTypeLabels = map[string]string{
	"CONSULTATION": "咨询",
	"HELP":         "求助",
	"COMPLAINT":    "投诉",
	"REPORT":       "举报",
	"SUGGESTION":   "建议",
	"PRAISE":       "表扬",
	"OTHER":        "其他",
}

var urgencyLabels = map[string]string{
	"NORMAL":   "一般",
	"URGENT":   "紧急",
	"CRITICAL": "特急",
}

// cst is China Standard Time (no daylight saving), in which the text shows
// times regardless of the machine's zone.
var cst = time.FixedZone("CST", 8*3600)

// Subject returns the subject line (before encoding): prefix, tracking
// number, title, and for topics other than a dispatch the topic's label:
// "[12345工单] 20261127-000123 预付卡退款" or
// "[12345工单] 督办 20261127-000123 预付卡退款".
func Subject(prefix string, d adapters.Delivery) string {
	parts := []string{prefix}
	if d.Topic != "ticket.dispatch" {
		parts = append(parts, label(topicLabels, d.Topic))
	}
	parts = append(parts, d.Ticket.TrackingNumber, d.Ticket.Title)
	return oneLine(strings.Join(nonEmpty(parts), " "))
}

// Text returns the message's plain-text body with Chinese labels, lines
// ending in CRLF.
func Text(d adapters.Delivery) string {
	t, e := d.Ticket, d.Event
	var b strings.Builder
	line := func(k, v string) {
		if v != "" {
			b.WriteString(k + "：" + v + "\r\n")
		}
	}
	b.WriteString("12345热线工单 — " + label(topicLabels, d.Topic) + "\r\n\r\n")
	line("工单编号", t.TrackingNumber)
	line("标题", t.Title)
	line("诉求类型", label(requestTypeLabels, t.RequestType))
	line("紧急程度", label(urgencyLabels, t.Urgency))
	line("分类代码", t.Category)
	line("地址", t.Address)
	line("行政区划代码", t.RegionCode)
	line("来电人", t.CallerName)
	line("联系电话", t.CallerPhone)
	line("承办单位", t.HandlingUnit)
	line("协办单位", strings.Join(t.CoHandling, "、"))
	line("受理时间", formatTime(t.CreateTime))
	line("签收时限", formatTime(t.SignBy))
	line("办结时限", formatTime(t.ReplyBy))
	b.WriteString("\r\n内容：\r\n")
	for _, l := range strings.Split(strings.ReplaceAll(t.Content, "\r\n", "\n"), "\n") {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("\r\n")
	line("事项", label(topicLabels, d.Topic))
	line("操作", e.Action)
	line("操作人", e.Actor)
	line("原因", e.Reason)
	line("操作时间", formatTime(e.Time))
	if e.Seq != 0 {
		line("事件序号", strconv.FormatInt(e.Seq, 10))
	}
	line("系统工单号", t.ID)
	line("幂等键", d.Key)
	b.WriteString("\r\n此邮件由12345热线工单系统（Switchboard）自动发送。同一幂等键（Message-ID）的邮件为同一消息的重发，请只处理一次。\r\n")
	return b.String()
}

// label returns the Chinese label of code followed by the code, or the code
// alone when it has none.
func label(labels map[string]string, code string) string {
	if l, ok := labels[strings.ToUpper(code)]; ok {
		return l + "（" + strings.ToUpper(code) + "）"
	}
	if l, ok := labels[code]; ok {
		return l
	}
	return code
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(cst).Format("2006-01-02 15:04 (北京时间)")
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// oneLine replaces control characters (line breaks included) by spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// wireMessage is the JSON attachment: the delivery as the REST adapter
// sends it.
type wireMessage struct {
	Key     string          `json:"key"`
	Topic   string          `json:"topic"`
	Unit    string          `json:"unit"`
	Attempt int             `json:"attempt"`
	Ticket  adapters.Ticket `json:"ticket"`
	Event   adapters.Event  `json:"event"`
}

// JSON returns the machine-readable form of d (indented, UTF-8 as is).
func JSON(d adapters.Delivery) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(wireMessage{Key: d.Key, Topic: d.Topic, Unit: d.Unit, Attempt: d.Attempt, Ticket: d.Ticket, Event: d.Event})
	return buf.Bytes(), err
}

// render returns the whole RFC 5322 message for d, CRLF line endings, 7-bit
// clean: headers with non-ASCII text are RFC 2047-encoded, the text part
// (and the JSON attachment) base64. Apart from the Date header it depends
// only on cfg and d.
func render(cfg *Config, d adapters.Delivery, date time.Time) ([]byte, error) {
	if d.Key == "" {
		return nil, errors.New("the delivery has no idempotency key")
	}
	if !utf8.ValidString(d.Ticket.Title) || !utf8.ValidString(d.Ticket.Content) {
		return nil, errors.New("the work order's title or content is not valid UTF-8")
	}
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("Date", date.Format(time.RFC1123Z))
	hdr("From", cfg.From.String())
	to := make([]string, len(cfg.To))
	for i, a := range cfg.To {
		to[i] = a.String()
	}
	hdr("To", strings.Join(to, ",\r\n "))
	hdr("Subject", encodeHeader(Subject(cfg.SubjectPrefix, d)))
	hdr("Message-ID", MessageID(d.Key))
	hdr(HeaderKey, encodeHeader(d.Key))
	hdr(HeaderTracking, encodeHeader(d.Ticket.TrackingNumber))
	hdr(HeaderTopic, encodeHeader(d.Topic))
	hdr(HeaderUnit, encodeHeader(d.Unit))
	hdr(HeaderAttempt, strconv.Itoa(d.Attempt))
	hdr("Auto-Submitted", "auto-generated")
	hdr("MIME-Version", "1.0")

	text := []byte(Text(d))
	if !cfg.AttachJSON {
		hdr("Content-Type", "text/plain; charset=UTF-8")
		hdr("Content-Transfer-Encoding", "base64")
		b.WriteString("\r\n")
		writeBase64(&b, text)
		return b.Bytes(), nil
	}

	js, err := JSON(d)
	if err != nil {
		return nil, fmt.Errorf("encoding the JSON attachment: %w", err)
	}
	sum := sha256.Sum256([]byte(d.Key))
	boundary := "switchboard-" + hex.EncodeToString(sum[:12])
	name := "ticket-" + fileSafe(d.Ticket.TrackingNumber) + ".json"
	hdr("Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": boundary}))
	b.WriteString("\r\nThis is a MIME message: a text part in Chinese and a JSON attachment.\r\n")

	b.WriteString("\r\n--" + boundary + "\r\n")
	hdr("Content-Type", "text/plain; charset=UTF-8")
	hdr("Content-Transfer-Encoding", "base64")
	b.WriteString("\r\n")
	writeBase64(&b, text)

	b.WriteString("\r\n--" + boundary + "\r\n")
	// name holds only letters, digits, '-', '_' and '.': no escaping.
	hdr("Content-Type", "application/json; charset=UTF-8;\r\n name=\""+name+"\"")
	hdr("Content-Disposition", "attachment;\r\n filename=\""+name+"\"")
	hdr("Content-Transfer-Encoding", "base64")
	b.WriteString("\r\n")
	writeBase64(&b, js)
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return b.Bytes(), nil
}

// encodeHeader returns s as a header value: as it is when it is printable
// ASCII, otherwise as RFC 2047 B-encoded UTF-8 words of at most 30 bytes of
// text each (52 characters), one per folded line, so that no line of the
// header exceeds 78 characters.
func encodeHeader(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	plain := !strings.Contains(s, "=?")
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] >= ' ' && s[i] < 0x7f
	}
	if plain && len(s) <= 900 {
		return s
	}
	var words []string
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > 30 {
				break
			}
			n += size
		}
		words = append(words, "=?UTF-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\r\n ")
}

// writeBase64 writes p base64-encoded in lines of 76 characters.
func writeBase64(b *bytes.Buffer, p []byte) {
	s := base64.StdEncoding.EncodeToString(p)
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	if s != "" {
		b.WriteString(s + "\r\n")
	}
}

// fileSafe keeps letters, digits, '-', '_' and '.' of s, at most 40.
func fileSafe(s string) string {
	out := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return -1
	}, s)
	if out == "" {
		return "message"
	}
	if len(out) > 40 {
		out = out[:40]
	}
	return out
}

// Steps of the SMTP conversation, for errors and classification.
const (
	stepConnect  = "connecting"
	stepGreeting = "reading the greeting"
	stepHello    = "EHLO"
	stepStartTLS = "STARTTLS"
	stepAuth     = "AUTH PLAIN"
	stepMail     = "MAIL FROM"
	stepRcpt     = "RCPT TO"
	stepData     = "DATA"
	stepSend     = "sending the message"
	stepEnd      = "end of data"
)

// maxQuote bounds how much of a server's reply text an error quotes.
const maxQuote = 200

// classify turns a failed step of the conversation into package adapters'
// kinds. A 5xx reply to MAIL FROM, RCPT TO, DATA or the end of data refuses
// this message: Permanent. Exceptions, which are transient: 530, 534, 535
// and 538 (authentication or TLS required or refused: the backend's
// configuration, not the message); 552 to RCPT TO (RFC 5321 §4.5.3.1.10 asks
// clients to treat it as 452). Every 4xx, every reply before MAIL FROM (a
// greeting of 554, a refused EHLO, STARTTLS or AUTH), every network error
// and timeout is transient. err is never nil for a reply outside 2xx/3xx.
func classify(step string, code int, text string) error {
	e := fmt.Errorf("%s: %d %s", step, code, quote(text))
	if permanentReply(step, code) {
		return &adapters.Permanent{Err: e}
	}
	return e
}

// permanentReply reports whether reply code to step refuses the message.
func permanentReply(step string, code int) bool {
	if code < 500 || code > 599 {
		return false
	}
	switch step {
	case stepMail, stepRcpt, stepData, stepEnd:
	default:
		return false
	}
	switch code {
	case 530, 534, 535, 538:
		return false
	case 552:
		return step != stepRcpt
	}
	return true
}

// replyOf returns the code and text of an SMTP reply error, if err is one.
func replyOf(err error) (code int, text string, ok bool) {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code, te.Msg, true
	}
	return 0, "", false
}

// quote returns at most maxQuote bytes of a server's text, one line, valid
// UTF-8, control characters replaced.
func quote(s string) string {
	s = oneLine(s)
	if len(s) > maxQuote {
		cut := maxQuote
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// maxQueueID bounds an ExternalID taken from a server's reply.
const maxQueueID = 64

// queueID extracts the server's reference for an accepted message from the
// text of its reply to the end of data: the token after "queued as" (Postfix,
// Mailpit: "2.0.0 Ok: queued as 4Xk2…"), or after "id=" (Exim: "OK
// id=1abcde-000…"). "" when there is none or it is not a plain token.
func queueID(text string) string {
	var rest string
	if i := indexASCIIFold(text, "queued as "); i >= 0 {
		rest = text[i+len("queued as "):]
	} else if i := indexASCIIFold(text, "id="); i >= 0 {
		rest = text[i+len("id="):]
	} else {
		return ""
	}
	rest = strings.Trim(strings.TrimSpace(rest), "<>")
	if i := strings.IndexAny(rest, " \t\r\n>"); i >= 0 {
		rest = rest[:i]
	}
	rest = strings.TrimRight(rest, ".,;)")
	if rest == "" || len(rest) > maxQueueID {
		return ""
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c <= ' ' || c >= 0x7f {
			return ""
		}
	}
	return rest
}

// indexASCIIFold is strings.Index ignoring ASCII case; the index is one of
// s itself (strings.ToLower may change lengths).
func indexASCIIFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// addrList returns the bare addresses of list, for the envelope.
func addrList(list []*mail.Address) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Address
	}
	return out
}
