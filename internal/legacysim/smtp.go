package legacysim

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// Limits of the SMTP server.
const (
	maxLine       = 4096     // a command line (RFC 5321 asks for 512)
	maxMessage    = 10 << 20 // one message
	maxRecipients = 100
	maxErrors     = 10 // bad commands before the server hangs up
	maxParts      = 32 // MIME parts looked at for the JSON attachment
	smtpIdle      = 5 * time.Minute
)

// mailServer is one SMTP server: the mailboxes it holds, each a backend's
// (several backends share a server, each with its own recipients).
type mailServer struct {
	sim   *Sim
	boxes map[string][]*Backend // lowercase address → backends

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newMailServer(s *Sim, boxes map[string][]*Backend) *mailServer {
	return &mailServer{sim: s, boxes: boxes, conns: map[net.Conn]struct{}{}}
}

// serve accepts connections until l is closed.
func (m *mailServer) serve(l net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		m.mu.Lock()
		m.conns[conn] = struct{}{}
		m.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				m.mu.Lock()
				delete(m.conns, conn)
				m.mu.Unlock()
				conn.Close()
			}()
			m.handle(conn)
		}()
	}
}

// closeAll hangs up every connection.
func (m *mailServer) closeAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for c := range m.conns {
		c.Close()
	}
}

func (m *mailServer) handle(conn net.Conn) {
	gone := make(chan struct{})
	defer close(gone)
	ss := &smtpSession{
		srv: m,
		r:   bufio.NewReaderSize(conn, maxLine),
		w:   bufio.NewWriter(conn),
		wait: func(d time.Duration) bool {
			return m.sim.wait(d, gone)
		},
		hang: func() {
			// Read (and drop) until the client hangs up or the server
			// closes the connection.
			conn.SetReadDeadline(time.Time{})
			io.Copy(io.Discard, conn)
		},
		idle: func() { conn.SetReadDeadline(time.Now().Add(smtpIdle)) },
	}
	ss.run()
}

// smtpSession is one SMTP conversation over r and w (a connection, or bytes
// in a fuzz test).
type smtpSession struct {
	srv  *mailServer
	r    *bufio.Reader
	w    *bufio.Writer
	wait func(time.Duration) bool // false when the conversation ended meanwhile
	hang func()                   // returns when the connection is gone
	idle func()                   // arms the idle timeout before a read

	helo     bool
	mail     bool
	rcpts    []*Backend
	errCount int
}

func (ss *smtpSession) reply(lines ...string) bool {
	for _, l := range lines {
		ss.w.WriteString(l + "\r\n")
	}
	return ss.w.Flush() == nil
}

func (ss *smtpSession) reset() { ss.mail, ss.rcpts = false, nil }

// run converses until QUIT, a hang-up, a fault or too many errors.
func (ss *smtpSession) run() {
	if !ss.reply("220 legacysim ESMTP 12345 部门邮箱模拟") {
		return
	}
	for {
		if ss.idle != nil {
			ss.idle()
		}
		line, err := readLine(ss.r)
		if errors.Is(err, errLineTooLong) {
			if !ss.bad("500 5.5.2 line too long") {
				return
			}
			continue
		}
		if err != nil {
			return
		}
		verb, arg := parseCommand(line)
		if !ss.command(verb, arg) {
			return
		}
	}
}

// bad answers a bad command; false once there were too many.
func (ss *smtpSession) bad(reply string) bool {
	ss.errCount++
	if ss.errCount >= maxErrors {
		ss.reply("421 4.7.0 too many errors, closing")
		return false
	}
	return ss.reply(reply)
}

// command handles one command; false ends the conversation.
func (ss *smtpSession) command(verb, arg string) bool {
	switch verb {
	case "EHLO":
		ss.helo = true
		ss.reset()
		return ss.reply("250-legacysim", "250-8BITMIME", "250-SMTPUTF8", fmt.Sprintf("250 SIZE %d", maxMessage))
	case "HELO":
		ss.helo = true
		ss.reset()
		return ss.reply("250 legacysim")
	case "MAIL":
		switch {
		case !ss.helo:
			return ss.bad("503 5.5.1 send EHLO first")
		case ss.mail:
			return ss.bad("503 5.5.1 nested MAIL command")
		}
		if _, err := parsePath(arg, "FROM:"); err != nil {
			return ss.bad("501 5.5.4 " + err.Error())
		}
		ss.mail = true
		return ss.reply("250 2.1.0 Ok")
	case "RCPT":
		if !ss.mail {
			return ss.bad("503 5.5.1 need MAIL first")
		}
		addr, err := parsePath(arg, "TO:")
		if err != nil {
			return ss.bad("501 5.5.4 " + err.Error())
		}
		bs := ss.srv.boxes[strings.ToLower(addr)]
		if len(bs) == 0 {
			return ss.bad("550 5.1.1 <" + addr + ">: 无此邮箱 (no such mailbox)")
		}
		if len(ss.rcpts) >= maxRecipients {
			return ss.reply("452 4.5.3 too many recipients")
		}
		for _, b := range bs {
			if f, _ := b.state(); ss.srv.sim.down(f) {
				return false // a down department: the connection drops
			}
			ss.rcpts = append(ss.rcpts, b)
		}
		return ss.reply("250 2.1.5 Ok")
	case "DATA":
		if len(ss.rcpts) == 0 {
			return ss.bad("503 5.5.1 need RCPT first")
		}
		if !ss.reply("354 End data with <CR><LF>.<CR><LF>") {
			return false
		}
		data, err := io.ReadAll(io.LimitReader(textproto.NewReader(ss.r).DotReader(), maxMessage+1))
		if err != nil {
			return false
		}
		if len(data) > maxMessage {
			ss.reset()
			// The rest of the message is still coming: drain it.
			io.Copy(io.Discard, textproto.NewReader(ss.r).DotReader())
			return ss.reply("552 5.3.4 message too big")
		}
		ok := ss.deliver(data)
		ss.reset()
		return ok
	case "RSET":
		ss.reset()
		return ss.reply("250 2.0.0 Ok")
	case "NOOP":
		return ss.reply("250 2.0.0 Ok")
	case "VRFY":
		return ss.reply("252 2.0.0 cannot verify, send a message")
	case "QUIT":
		ss.reply("221 2.0.0 Bye")
		return false
	case "STARTTLS", "AUTH":
		return ss.bad("502 5.5.1 not offered")
	}
	return ss.bad("500 5.5.2 command unrecognised")
}

// deliver applies the recipients' faults to a received message, records it
// in each recipient's ledger and answers; false ends the conversation.
func (ss *smtpSession) deliver(data []byte) bool {
	key, o := parseMail(data)
	if key == "" {
		return ss.reply("554 5.6.0 no Message-ID")
	}
	var bs []*Backend
	var f Faults
	fail := false
	for _, b := range ss.rcpts {
		if containsBackend(bs, b) {
			continue
		}
		bs = append(bs, b)
		bf, _ := b.state()
		f.Hang = f.Hang || bf.Hang
		f.Latency = max(f.Latency, bf.Latency)
		f.SlowAccept = max(f.SlowAccept, bf.SlowAccept)
		fail = fail || failing(bf)
	}
	if f.Hang {
		ss.hang()
		return false
	}
	if !ss.wait(f.Latency) {
		return false
	}
	if fail {
		return ss.reply("451 4.3.0 simulated temporary failure, try again later")
	}
	var ext string
	for i, b := range bs {
		if e := b.record(key, data, o); i == 0 {
			ext = e
		}
	}
	if !ss.wait(f.SlowAccept) {
		return false
	}
	return ss.reply("250 2.0.0 Ok: queued as " + ext)
}

func containsBackend(bs []*Backend, b *Backend) bool {
	for _, x := range bs {
		if x == b {
			return true
		}
	}
	return false
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line without its CRLF (or LF). A line longer than the
// reader's buffer is consumed to its end and reported as errLineTooLong.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
		if err != nil {
			return "", err
		}
		return "", errLineTooLong
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// parseCommand splits a command line into its verb (upper case) and
// argument.
func parseCommand(line string) (verb, arg string) {
	verb, arg, _ = strings.Cut(line, " ")
	return strings.ToUpper(verb), strings.TrimSpace(arg)
}

// parsePath reads "FROM:<addr> params" or "TO:<addr>" (prefix "FROM:" or
// "TO:", any case) and returns addr. The null path <> is allowed for FROM.
func parsePath(arg, prefix string) (string, error) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", fmt.Errorf("syntax: want %s<address>", prefix)
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", errors.New("syntax: the address must be in angle brackets")
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", errors.New("syntax: unterminated address")
	}
	addr := rest[1:end]
	if i := strings.LastIndexByte(addr, ':'); i >= 0 && strings.HasPrefix(addr, "@") {
		addr = addr[i+1:] // a source route, obsolete
	}
	if addr == "" {
		if prefix == "FROM:" {
			return "", nil
		}
		return "", errors.New("empty recipient")
	}
	if strings.ContainsAny(addr, " \t<>") || !strings.Contains(addr, "@") {
		return "", fmt.Errorf("bad address %q", addr)
	}
	return addr, nil
}

// parseMail reads a message's idempotency key, its Message-ID without angle
// brackets (as adapters/smtp writes it: <KEY@switchboard>), and the topic
// (X-Switchboard-Topic) and ticket id (from the JSON attachment) when
// present. The key is "" when the message has no usable Message-ID.
func parseMail(data []byte) (string, order) {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return "", order{}
	}
	id := strings.TrimSpace(msg.Header.Get("Message-Id"))
	id = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">"))
	if id == "" || len(id) > 998 || strings.ContainsAny(id, " \t\r\n<>") {
		return "", order{}
	}
	o := order{topic: strings.TrimSpace(msg.Header.Get("X-Switchboard-Topic"))}
	o.ticketID = attachedTicketID(msg)
	return id, o
}

// attachedTicketID reads ticket.id from the message's JSON part, if any.
func attachedTicketID(msg *mail.Message) string {
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return ""
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for range maxParts {
		p, err := mr.NextPart()
		if err != nil {
			return ""
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if pt != "application/json" {
			continue
		}
		var r io.Reader = io.LimitReader(p, maxMessage)
		if strings.EqualFold(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")), "base64") {
			r = base64.NewDecoder(base64.StdEncoding, r) // skips line breaks
		}
		raw, err := io.ReadAll(r)
		if err != nil {
			return ""
		}
		return jsonOrder(raw).ticketID
	}
	return ""
}
