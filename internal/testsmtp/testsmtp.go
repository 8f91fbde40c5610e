// Package testsmtp runs a real, private SMTP server for tests: Mailpit
// (github.com/axllent/mailpit), which speaks SMTP on one port and offers an
// HTTP API on another to read every message it received, raw.
//
// The binary is, in order: $SWITCHBOARD_MAILPIT, `mailpit` on PATH, or
// <repo root>/bin/mailpit (build it with scripts/mailpit.sh from the pinned
// tools module tools/mailpit; about a minute the first time). Without one the
// test is skipped, except under CI=true, where Start runs scripts/mailpit.sh
// to build it and fails the test if that fails.
//
// Every server listens on 127.0.0.1 only, on free ports picked at start, with
// its database and log in the test's temporary directory (the log is printed
// when the test fails). It accepts any AUTH PLAIN credentials, also without
// TLS. Options make it refuse recipients with 550 (AllowedRecipients) or
// answer with chosen error codes (ChaosTriggers).
package testsmtp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/internal/testbin"
	"github.com/switchboard12345/switchboard/internal/testnet"
)

// binary is how testbin finds mailpit.
var binary = testbin.Spec{
	Name:         "mailpit",
	EnvVar:       "SWITCHBOARD_MAILPIT",
	Prefix:       "testsmtp",
	BuildTimeout: 10 * time.Minute,
}

const (
	// ReadyTimeout bounds how long Start waits for both ports to answer.
	ReadyTimeout = 20 * time.Second
	// stopTimeout bounds how long Stop waits after SIGTERM before SIGKILL
	// (after which it waits for the exit for good).
	stopTimeout = 10 * time.Second
	// startAttempts bounds how often Start retries with fresh ports when
	// another process grabbed one between picking and binding it.
	startAttempts = 3
	// logTail is how much of the log is shown on failure.
	logTail = 32 << 10
)

// Options adjust the server. The zero value accepts every message.
type Options struct {
	// AllowedRecipients, if set, is a regular expression (Go syntax); RCPT
	// TO of an address that does not match is answered 550 5.1.0 mailbox
	// unavailable (mailpit --smtp-allowed-recipients).
	AllowedRecipients string
	// ChaosTriggers, if set, makes the server fail on purpose (mailpit
	// --enable-chaos --chaos-triggers), e.g. "Recipient:451:100" answers
	// every RCPT TO with 451, "Sender:554:100" every MAIL FROM with 554.
	ChaosTriggers string
	// IgnoreDuplicateIDs makes the server store a message whose Message-ID
	// it already has only once (it still answers 250).
	IgnoreDuplicateIDs bool
	// Args are further mailpit flags.
	Args []string
}

// Server is a running mailpit owned by one test.
type Server struct {
	// SMTPAddr is the SMTP address, "127.0.0.1:port".
	SMTPAddr string
	// APIURL is the base of the HTTP API, "http://127.0.0.1:port".
	APIURL string

	binary string
	dir    string
	log    testbin.Log // mailpit.log
	client *http.Client
	proc   testbin.Proc
}

// Message is one message the server received.
type Message struct {
	// ID is mailpit's own ID (the one its "queued as" reply names).
	ID string
	// MessageID is the Message-ID header without angle brackets.
	MessageID string
	// Raw is the message as received, with the Received header the server
	// added.
	Raw []byte
}

// Start starts a fresh server that accepts every message.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith starts a fresh server adjusted by o, waits until it answers on
// both ports, and stops it when the test ends. It skips the test (or fails it
// under CI=true) when no mailpit binary is available.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	bin := testbin.Find(t, binary)
	dir := t.TempDir()
	s := &Server{
		binary: bin,
		dir:    dir,
		log:    testbin.Log{Path: filepath.Join(dir, "mailpit.log"), Limit: logTail},
		client: &http.Client{Timeout: 10 * time.Second},
	}
	logShown := false
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() && !logShown {
			t.Logf("testsmtp: log of mailpit at %s (%s):\n%s", s.SMTPAddr, s.log.Path, s.logTail())
		}
	})
	err := testbin.StartOnFreePorts(t, "testsmtp", startAttempts, s.log, func() error {
		p, err := testbin.FreePorts(testbin.TCP, testbin.TCP)
		if err != nil {
			t.Fatalf("testsmtp: picking free ports: %v", err)
		}
		s.SMTPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p[0]))
		s.APIURL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(p[1]))
		return s.start(o)
	}, s.Stop)
	if err == nil {
		return s
	}
	logShown = true
	t.Fatalf("testsmtp: starting %s: %v\nlog (%s):\n%s", bin, err, s.log.Path, s.logTail())
	return nil
}

func (s *Server) start(o Options) error {
	args := []string{
		"--smtp", s.SMTPAddr,
		"--listen", strings.TrimPrefix(s.APIURL, "http://"),
		"--database", filepath.Join(s.dir, "mailpit.db"),
		"--log-file", s.log.Path,
		"--disable-version-check",
		"--smtp-disable-rdns",
		"--smtp-auth-accept-any",
		"--smtp-auth-allow-insecure",
		"--max", "0",
	}
	if o.AllowedRecipients != "" {
		args = append(args, "--smtp-allowed-recipients", o.AllowedRecipients)
	}
	if o.ChaosTriggers != "" {
		args = append(args, "--enable-chaos", "--chaos-triggers", o.ChaosTriggers)
	}
	if o.IgnoreDuplicateIDs {
		args = append(args, "--ignore-duplicate-ids")
	}
	args = append(args, o.Args...)
	// Output before the log file is open (flag errors) goes here too.
	out, err := os.OpenFile(filepath.Join(s.dir, "mailpit.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	fmt.Fprintf(out, "==> testsmtp: %s %s\n", s.binary, strings.Join(args, " "))
	cmd := exec.Command(s.binary, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = s.dir
	done, err := s.proc.Start(cmd)
	if err != nil {
		return err
	}
	return s.waitReady(done)
}

// waitReady polls /readyz and the SMTP port until both answer.
func (s *Server) waitReady(done <-chan struct{}) error {
	err := testbin.WaitReady(done, ReadyTimeout, 50*time.Millisecond, s.ready)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, testbin.ErrExited):
		return errors.New("mailpit exited during start")
	}
	return fmt.Errorf("not ready after %v: %v", ReadyTimeout, err)
}

func (s *Server) ready() error {
	resp, err := s.client.Get(s.APIURL + "/readyz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %s", resp.Status)
	}
	c, err := net.DialTimeout("tcp", s.SMTPAddr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("SMTP greeting: %v", err)
	}
	if !strings.HasPrefix(line, "220") {
		return fmt.Errorf("SMTP greeting %q", line)
	}
	return nil
}

// Stop terminates the server (SIGTERM, then SIGKILL) and waits for it to
// exit. Afterwards its ports refuse connections. Stopping twice does nothing.
func (s *Server) Stop() { s.proc.Stop(stopTimeout, 0) }

// Messages returns every message the server holds, oldest first, raw.
func (s *Server) Messages(t testing.TB) []Message {
	t.Helper()
	msgs, err := s.messages()
	if err != nil {
		t.Fatalf("testsmtp: reading messages from %s: %v", s.APIURL, err)
	}
	return msgs
}

func (s *Server) messages() ([]Message, error) {
	var list struct {
		Total    int `json:"total"`
		Messages []struct {
			ID        string `json:"ID"`
			MessageID string `json:"MessageID"`
		} `json:"messages"`
	}
	if err := s.getJSON("/api/v1/messages?limit=100000", &list); err != nil {
		return nil, err
	}
	if len(list.Messages) != list.Total {
		return nil, fmt.Errorf("the list holds %d of %d messages", len(list.Messages), list.Total)
	}
	out := make([]Message, 0, len(list.Messages))
	// The API lists the newest first.
	for i := len(list.Messages) - 1; i >= 0; i-- {
		m := list.Messages[i]
		raw, err := s.Raw(m.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, Message{ID: m.ID, MessageID: m.MessageID, Raw: raw})
	}
	return out, nil
}

// Raw returns the source of the message mailpit knows as id.
func (s *Server) Raw(id string) ([]byte, error) {
	resp, err := s.client.Get(s.APIURL + "/api/v1/message/" + url.PathEscape(id) + "/raw")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/message/%s/raw: %s: %s", id, resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}

func (s *Server) getJSON(path string, v any) error {
	resp, err := s.client.Get(s.APIURL + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(body))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %v", path, err)
	}
	return nil
}

// HangingAddr returns the address of a TCP listener on 127.0.0.1 that
// accepts connections and never says anything (no SMTP greeting), until the
// test ends.
func HangingAddr(t testing.TB) string {
	t.Helper()
	return testnet.HangingAddr(t)
}

// ClosedAddr returns an address on 127.0.0.1 that nothing listens on.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	return testnet.ClosedAddr(t)
}

func (s *Server) logTail() string {
	var b strings.Builder
	if out, err := os.ReadFile(filepath.Join(s.dir, "mailpit.out")); err == nil && len(out) > 0 {
		b.Write(out)
	}
	b.WriteString(s.log.Tail())
	return b.String()
}
