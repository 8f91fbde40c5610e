// Package smtp delivers work orders to a department mailbox by e-mail: one
// message per delivery, sent over SMTP (optionally with STARTTLS and AUTH
// PLAIN) to the configured recipients.
//
// The message is 7-bit clean MIME: an RFC 2047 UTF-8 subject
// ("[12345工单] 20261127-000123 预付卡退款"), a text/plain; charset=UTF-8 part
// (base64) listing the work order under Chinese labels (工单编号, 标题, 内容,
// 地址, 诉求类型, 紧急程度, 签收时限, 办结时限 …), and, unless attachJSON is
// false, the machine-readable message as a JSON attachment. The idempotency
// key travels as the Message-ID (<KEY@switchboard>, see MessageID; the same
// for every attempt, so a mailbox that drops duplicate Message-IDs, or a
// person, sees one message) and verbatim in X-Switchboard-Key, with the
// tracking number in X-Switchboard-Tracking.
//
// Replies map to package adapters' kinds (see classify): a 5xx refusal of
// the sender, a recipient, DATA or the message (550 mailbox unavailable,
// 553, 554 …) is Permanent; 4xx replies, refusals before MAIL FROM
// (greeting, EHLO, STARTTLS, AUTH), network failures and timeouts are
// transient. A message goes to all recipients or none: the first refused
// recipient ends the transaction before DATA. When the connection fails after
// the message was sent but before the server answered, the server may have
// accepted it; the error is transient and the retry carries the same
// Message-ID. Receipt.ExternalID is the server's queue id when its final
// reply names one ("queued as …").
//
// Each delivery uses its own connection, whose deadline is the earlier of
// the caller's and the configured timeout; cancelling the context interrupts
// the conversation.
package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	setting "github.com/switchboard12345/switchboard/adapters/internal/settings"
)

// Adapter is an e-mail (SMTP) backend.
type Adapter struct {
	cfg    Config
	now    func() time.Time
	getenv func(string) string
	// tlsConfig, if set, replaces the STARTTLS configuration (tests trust
	// their own certificate with it).
	tlsConfig *tls.Config
}

var (
	_ adapters.Adapter       = (*Adapter)(nil)
	_ adapters.HealthChecker = (*Adapter)(nil)
	_ adapters.Factory       = Factory
)

// New returns the adapter of an e-mail backend configured by c (see Config
// for the settings). It validates the settings; it does no I/O.
func New(c adapters.Config) (*Adapter, error) {
	cfg, err := Decode(c)
	if err != nil {
		return nil, err
	}
	return &Adapter{cfg: cfg, now: time.Now, getenv: os.Getenv}, nil
}

// Factory is New as an adapters.Factory, for a registry of adapter kinds.
func Factory(c adapters.Config) (adapters.Adapter, error) {
	a, err := New(c)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Config returns the adapter's configuration, defaults applied.
func (a *Adapter) Config() Config { return a.cfg }

// Deliver sends d as one e-mail and interprets the server's replies.
func (a *Adapter) Deliver(ctx context.Context, d adapters.Delivery) (adapters.Receipt, error) {
	msg, err := render(&a.cfg, d, a.now())
	if err != nil {
		// Nothing was sent, and this message renders the same every time.
		return adapters.Receipt{}, &adapters.Permanent{Err: fmt.Errorf("smtp: work order %s: %w", d.Ticket.TrackingNumber, err)}
	}
	password, err := a.password()
	if err != nil {
		return adapters.Receipt{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()

	s, err := a.open(ctx, password)
	if err != nil {
		return adapters.Receipt{}, fmt.Errorf("smtp: delivering work order %s: %w", d.Ticket.TrackingNumber, err)
	}
	defer s.close()
	id, err := s.send(ctx, a.cfg.From.Address, addrList(a.cfg.To), msg)
	if err != nil {
		return adapters.Receipt{}, fmt.Errorf("smtp: delivering work order %s to %s: %w", d.Ticket.TrackingNumber, a.cfg.Addr, err)
	}
	s.quit()
	return adapters.Receipt{ExternalID: id}, nil
}

// Health connects, greets the server (with STARTTLS and AUTH when
// configured), sends NOOP and QUIT.
func (a *Adapter) Health(ctx context.Context) error {
	password, err := a.password()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	s, err := a.open(ctx, password)
	if err != nil {
		return fmt.Errorf("smtp: health of %s: %w", a.cfg.Addr, err)
	}
	defer s.close()
	if err := s.c.Noop(); err != nil {
		return fmt.Errorf("smtp: health of %s: %w", a.cfg.Addr, s.fail(ctx, "NOOP", err))
	}
	s.quit()
	return nil
}

// password returns the AUTH password, if authentication is configured.
func (a *Adapter) password() (string, error) {
	if a.cfg.PasswordEnv == "" {
		return "", nil
	}
	p, err := setting.Secret(a.getenv, "passwordEnv", a.cfg.PasswordEnv)
	if err != nil {
		// Nothing was sent; setting the variable and retrying can help.
		return "", fmt.Errorf("smtp backend %q: %w", a.cfg.Backend, err)
	}
	return p, nil
}

// session is one SMTP connection, bounded by a context.
type session struct {
	conn net.Conn
	c    *smtp.Client
	stop func() bool // unregisters the context's interruption
}

// open connects, reads the greeting, says EHLO, and does STARTTLS and AUTH
// as configured. The connection's deadline is ctx's; cancelling ctx
// interrupts any read or write.
func (a *Adapter) open(ctx context.Context, password string) (*session, error) {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", a.cfg.Addr)
	if err != nil {
		return nil, withCtx(ctx, fmt.Errorf("%s to %s: %w", stepConnect, a.cfg.Addr, err))
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	s := &session{conn: conn}
	s.stop = context.AfterFunc(ctx, func() {
		// Wake up whatever read or write is blocked.
		conn.SetDeadline(time.Unix(1, 0))
	})
	c, err := smtp.NewClient(conn, a.cfg.Host())
	if err != nil {
		s.close()
		return nil, s.fail(ctx, stepGreeting, err)
	}
	s.c = c
	if err := c.Hello("localhost"); err != nil {
		s.close()
		return nil, s.fail(ctx, stepHello, err)
	}
	if a.cfg.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			s.close()
			return nil, fmt.Errorf("%s: %s does not offer STARTTLS and startTLS is on; nothing was sent", stepStartTLS, a.cfg.Addr)
		}
		tc := a.tlsConfig
		if tc == nil {
			tc = &tls.Config{ServerName: a.cfg.Host(), MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(tc); err != nil {
			s.close()
			return nil, s.fail(ctx, stepStartTLS, err)
		}
	}
	if a.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", a.cfg.Username, password, a.cfg.Host())); err != nil {
			s.close()
			return nil, s.fail(ctx, stepAuth, err)
		}
	}
	return s, nil
}

// send runs one mail transaction and returns the server's queue id, if its
// final reply names one.
func (s *session) send(ctx context.Context, from string, to []string, msg []byte) (string, error) {
	if err := s.c.Mail(from); err != nil {
		return "", s.fail(ctx, stepMail, err)
	}
	for _, rcpt := range to {
		if err := s.c.Rcpt(rcpt); err != nil {
			s.c.Reset() // end the transaction: all recipients or none
			return "", s.fail(ctx, stepRcpt+" <"+rcpt+">", err)
		}
	}
	// DATA by hand rather than Client.Data, whose Close drops the text of
	// the final reply (where the queue id is).
	t := s.c.Text
	id, err := t.Cmd("DATA")
	if err != nil {
		return "", s.fail(ctx, stepData, err)
	}
	t.StartResponse(id)
	_, _, err = t.ReadResponse(354)
	t.EndResponse(id)
	if err != nil {
		return "", s.fail(ctx, stepData, err)
	}
	w := t.DotWriter()
	if _, err := w.Write(msg); err != nil {
		return "", s.fail(ctx, stepSend, err)
	}
	if err := w.Close(); err != nil {
		return "", s.fail(ctx, stepSend, err)
	}
	_, text, err := t.ReadResponse(250)
	if err != nil {
		return "", s.fail(ctx, stepEnd, err)
	}
	return queueID(text), nil
}

// fail describes err at step: an SMTP reply is classified (see classify);
// anything else is a transient failure of the connection, wrapping ctx's
// error when ctx has ended.
func (s *session) fail(ctx context.Context, step string, err error) error {
	if code, text, ok := replyOf(err); ok {
		err := classify(stepBase(step), code, text)
		if step != stepBase(step) {
			err = relabel(err, step, code, text)
		}
		return err
	}
	e := fmt.Errorf("%s: %w", step, err)
	if step == stepSend || step == stepEnd {
		e = fmt.Errorf("%w (the server may have accepted the message; a retry carries the same Message-ID)", e)
	}
	return withCtx(ctx, e)
}

// stepBase strips the recipient from "RCPT TO <x>".
func stepBase(step string) string {
	if len(step) > len(stepRcpt) && step[:len(stepRcpt)] == stepRcpt {
		return stepRcpt
	}
	return step
}

// relabel keeps err's kind but names the full step (the recipient).
func relabel(err error, step string, code int, text string) error {
	e := fmt.Errorf("%s: %d %s", step, code, quote(text))
	if adapters.IsPermanent(err) {
		return &adapters.Permanent{Err: e}
	}
	return e
}

// withCtx adds ctx's error to err when ctx has ended, so that callers can
// tell a deadline (errors.Is(err, context.DeadlineExceeded)).
func withCtx(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if cerr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection's deadline is ctx's and may fire a moment before
		// ctx's own timer does.
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			cerr = context.DeadlineExceeded
		}
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

// quit ends the conversation politely; its errors do not matter.
func (s *session) quit() {
	if s.c != nil {
		s.c.Quit()
	}
}

func (s *session) close() {
	s.stop()
	if s.c != nil {
		s.c.Close()
		return
	}
	s.conn.Close()
}
