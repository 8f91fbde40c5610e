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
	"context"
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
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	modulePath = "github.com/switchboard12345/switchboard"

	// ReadyTimeout bounds how long Start waits for both ports to answer.
	ReadyTimeout = 20 * time.Second
	// stopTimeout bounds how long Stop waits after SIGTERM before SIGKILL.
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

	binary  string
	dir     string
	logPath string
	client  *http.Client

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
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
	bin := findBinary(t)
	dir := t.TempDir()
	s := &Server{
		binary:  bin,
		dir:     dir,
		logPath: filepath.Join(dir, "mailpit.log"),
		client:  &http.Client{Timeout: 10 * time.Second},
	}
	logShown := false
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() && !logShown {
			t.Logf("testsmtp: log of mailpit at %s (%s):\n%s", s.SMTPAddr, s.logPath, s.logTail())
		}
	})
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		var smtpPort, httpPort int
		smtpPort, httpPort, err = freePorts()
		if err != nil {
			t.Fatalf("testsmtp: picking free ports: %v", err)
		}
		s.SMTPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(smtpPort))
		s.APIURL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort))
		logStart := s.logSize()
		if err = s.start(o); err == nil {
			return s
		}
		s.Stop()
		if !strings.Contains(s.logFrom(logStart), "address already in use") {
			break
		}
		t.Logf("testsmtp: attempt %d: a port was taken meanwhile, retrying with new ports", attempt)
	}
	logShown = true
	t.Fatalf("testsmtp: starting %s: %v\nlog (%s):\n%s", bin, err, s.logPath, s.logTail())
	return nil
}

func (s *Server) start(o Options) error {
	args := []string{
		"--smtp", s.SMTPAddr,
		"--listen", strings.TrimPrefix(s.APIURL, "http://"),
		"--database", filepath.Join(s.dir, "mailpit.db"),
		"--log-file", s.logPath,
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
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return s.waitReady(done)
}

// waitReady polls /readyz and the SMTP port until both answer.
func (s *Server) waitReady(done <-chan struct{}) error {
	deadline := time.Now().Add(ReadyTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return errors.New("mailpit exited during start")
		default:
		}
		last = s.ready()
		if last == nil {
			return nil
		}
		select {
		case <-done:
			return errors.New("mailpit exited during start")
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("not ready after %v: %v", ReadyTimeout, last)
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
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	defer func() { s.cmd, s.done = nil, nil }()
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return
	case <-time.After(stopTimeout):
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testsmtp: %v", err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// ClosedAddr returns an address on 127.0.0.1 that nothing listens on.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testsmtp: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func (s *Server) logTail() string {
	var b strings.Builder
	if out, err := os.ReadFile(filepath.Join(s.dir, "mailpit.out")); err == nil && len(out) > 0 {
		b.Write(out)
	}
	b.WriteString(s.logFrom(max(0, s.logSize()-logTail)))
	return b.String()
}

func (s *Server) logSize() int64 {
	fi, err := os.Stat(s.logPath)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (s *Server) logFrom(off int64) string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	b, _ := io.ReadAll(io.LimitReader(f, logTail))
	return string(b)
}

// freePorts picks two distinct free TCP ports on 127.0.0.1.
func freePorts() (int, int, error) {
	a, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer a.Close()
	b, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer b.Close()
	return a.Addr().(*net.TCPAddr).Port, b.Addr().(*net.TCPAddr).Port, nil
}

var (
	binaryMu    sync.Mutex
	binaryCache string
)

// findBinary returns the mailpit binary to run, skipping or failing the test
// when there is none.
func findBinary(t testing.TB) string {
	t.Helper()
	binaryMu.Lock()
	defer binaryMu.Unlock()
	if binaryCache != "" {
		return binaryCache
	}
	if p := os.Getenv("SWITCHBOARD_MAILPIT"); p != "" {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			t.Fatalf("testsmtp: SWITCHBOARD_MAILPIT=%s is not a mailpit binary: %v", p, err)
		}
		binaryCache = p
		return p
	}
	if p, err := exec.LookPath("mailpit"); err == nil {
		binaryCache = p
		return p
	}
	root, rootErr := repoRoot()
	if rootErr == nil {
		p := filepath.Join(root, "bin", "mailpit")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			binaryCache = p
			return p
		}
	}
	if os.Getenv("CI") != "true" {
		t.Skipf("skipping: no mailpit binary (set SWITCHBOARD_MAILPIT, put mailpit on PATH, or run scripts/mailpit.sh to build bin/mailpit)")
	}
	if rootErr != nil {
		t.Fatalf("testsmtp: mailpit is mandatory under CI=true but none was found and the repository root is unknown: %v", rootErr)
	}
	p, err := buildBinary(t, root)
	if err != nil {
		t.Fatalf("testsmtp: mailpit is mandatory under CI=true but none was found and scripts/mailpit.sh failed: %v", err)
	}
	binaryCache = p
	return p
}

// buildBinary runs scripts/mailpit.sh and returns the path it prints.
func buildBinary(t testing.TB, root string) (string, error) {
	t.Helper()
	t.Logf("testsmtp: CI=true and no mailpit binary; running scripts/mailpit.sh")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "mailpit.sh"))
	cmd.Dir = root
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(os.Stderr, &stderr)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%v\n%s", err, stderr.Bytes())
	}
	p := strings.TrimSpace(stdout.String())
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return "", fmt.Errorf("it printed %q, which is not a binary (%v)\n%s", p, err, stderr.Bytes())
	}
	return p, nil
}

// repoRoot walks up from the working directory to the directory whose go.mod
// declares the switchboard module (skipping nested modules such as
// tools/mailpit).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 64 {
		if mod, err := modulePathOf(filepath.Join(dir, "go.mod")); err == nil && mod == modulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("no go.mod for module %s above the working directory", modulePath)
}

func modulePathOf(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("%s has no module line", gomod)
}
