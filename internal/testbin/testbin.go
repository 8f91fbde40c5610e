// Package testbin finds and runs the third-party server binaries that
// integration tests start as child processes (consul for internal/testconsul,
// mailpit for internal/testsmtp), using only the standard library.
//
// Find looks for a binary in the order: the Spec's environment variable,
// PATH, <repo root>/bin/<name>. Without one the test is skipped, except under
// CI=true, where Find runs scripts/<name>.sh to build it and fails the test if
// that fails. Proc, WaitReady, FreePorts and the log helpers are what both
// packages need to start such a child on free ports, wait until it answers,
// report its log and stop it.
package testbin

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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

// ModulePath is the module whose go.mod marks the repository root.
const ModulePath = "github.com/switchboard12345/switchboard"

// Spec describes a binary for Find.
type Spec struct {
	// Name is the binary's name on PATH and in bin/, and the script's
	// (scripts/<Name>.sh), e.g. "consul".
	Name string
	// EnvVar names the variable that may point at the binary, e.g.
	// "SWITCHBOARD_CONSUL".
	EnvVar string
	// Prefix starts Find's failure and log messages, e.g. "testconsul".
	Prefix string
	// OnPath is what the skip message asks to put on PATH ("consul
	// v1.14.x"); Name when empty.
	OnPath string
	// BuildTimeout bounds the run of scripts/<Name>.sh.
	BuildTimeout time.Duration
	// BuildNote is appended to the log line announcing that build, e.g.
	// " (the first build takes minutes)".
	BuildNote string
}

var (
	cacheMu sync.Mutex
	cache   = map[string]string{} // Spec.Name -> binary found
)

// Find returns the binary s describes, skipping the test when there is none,
// or failing it under CI=true when scripts/<Name>.sh cannot build one. The
// answer is remembered for the rest of the test binary's run.
func Find(t testing.TB, s Spec) string {
	t.Helper()
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if p := cache[s.Name]; p != "" {
		return p
	}
	p := find(t, s)
	cache[s.Name] = p
	return p
}

func find(t testing.TB, s Spec) string {
	t.Helper()
	if p := os.Getenv(s.EnvVar); p != "" {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			t.Fatalf("%s: %s=%s is not a %s binary: %v", s.Prefix, s.EnvVar, p, s.Name, err)
		}
		return p
	}
	if p, err := exec.LookPath(s.Name); err == nil {
		return p
	}
	root, rootErr := RepoRoot()
	if rootErr == nil {
		p := filepath.Join(root, "bin", s.Name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	if os.Getenv("CI") != "true" {
		onPath := s.OnPath
		if onPath == "" {
			onPath = s.Name
		}
		t.Skipf("skipping: no %s binary (set %s, put %s on PATH, or run scripts/%s.sh to build bin/%s)", s.Name, s.EnvVar, onPath, s.Name, s.Name)
	}
	if rootErr != nil {
		t.Fatalf("%s: %s is mandatory under CI=true but none was found and the repository root is unknown: %v", s.Prefix, s.Name, rootErr)
	}
	p, err := build(t, s, root)
	if err != nil {
		t.Fatalf("%s: %s is mandatory under CI=true but none was found and scripts/%s.sh failed: %v", s.Prefix, s.Name, s.Name, err)
	}
	return p
}

// build runs scripts/<Name>.sh and returns the path it prints.
func build(t testing.TB, s Spec, root string) (string, error) {
	t.Helper()
	t.Logf("%s: CI=true and no %s binary; running scripts/%s.sh%s", s.Prefix, s.Name, s.Name, s.BuildNote)
	ctx, cancel := context.WithTimeout(context.Background(), s.BuildTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", s.Name+".sh"))
	cmd.Dir = root
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(os.Stderr, &stderr) // show build progress live
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%v\n%s", err, stderr.Bytes())
	}
	p := strings.TrimSpace(stdout.String())
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return "", fmt.Errorf("it printed %q, which is not a binary (%v)\n%s", p, err, stderr.Bytes())
	}
	return p, nil
}

// RepoRoot walks up from the working directory to the directory whose go.mod
// declares ModulePath (skipping nested modules such as tools/consul).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 64 {
		if mod, err := modulePathOf(filepath.Join(dir, "go.mod")); err == nil && mod == ModulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("no go.mod for module %s above the working directory", ModulePath)
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

// Port says which protocols a port from FreePorts must be free on.
type Port int

const (
	TCP    Port = iota // free on TCP
	TCPUDP             // free on both TCP and UDP
)

// FreePorts picks one distinct free port on 127.0.0.1 per argument. All are
// held until every one is chosen.
func FreePorts(want ...Port) ([]int, error) {
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	pick := func(udp bool) (int, error) {
		for range 20 {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return 0, err
			}
			closers = append(closers, l)
			port := l.Addr().(*net.TCPAddr).Port
			if !udp {
				return port, nil
			}
			u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				continue // UDP side taken; keep the TCP listener so we do not get it again
			}
			closers = append(closers, u)
			return port, nil
		}
		return 0, errors.New("no port free on both TCP and UDP after 20 tries")
	}
	ports := make([]int, len(want))
	for i, w := range want {
		p, err := pick(w == TCPUDP)
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	return ports, nil
}

// StartOnFreePorts calls start up to attempts times. After a failed attempt
// it calls stop and tries again only if the part of log written during that
// attempt says "address already in use" (another process
// took a port between picking and binding it). It returns start's last error.
func StartOnFreePorts(t testing.TB, prefix string, attempts int, log Log, start func() error, stop func()) error {
	t.Helper()
	var err error
	for attempt := 1; attempt <= attempts; attempt++ {
		logStart := log.Size()
		if err = start(); err == nil {
			return nil
		}
		stop()
		if !strings.Contains(log.From(logStart), "address already in use") {
			break
		}
		t.Logf("%s: attempt %d: a port was taken meanwhile, retrying with new ports", prefix, attempt)
	}
	return err
}

// Proc is a child process, started by Start and ended by Stop. The zero
// value is a stopped process; Proc is safe for concurrent use.
type Proc struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts cmd, with SysProcAttr so that it dies with the test binary,
// and returns a channel that is closed when it has exited.
func (p *Proc) Start(cmd *exec.Cmd) (<-chan struct{}, error) {
	cmd.SysProcAttr = SysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	return done, nil
}

// Stop sends SIGTERM, waits up to term for the process to exit, then kills
// it and waits up to kill (for good if kill is 0). Stopping a stopped
// process does nothing.
func (p *Proc) Stop(term, kill time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	defer func() { p.cmd, p.done = nil, nil }()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(term):
	}
	_ = p.cmd.Process.Kill()
	if kill == 0 {
		<-p.done
		return
	}
	select {
	case <-p.done:
	case <-time.After(kill):
	}
}

// ErrExited is what WaitReady returns when the process exited first.
var ErrExited = errors.New("process exited")

// WaitReady calls ready every interval until it returns nil (WaitReady
// returns nil), done is closed (ErrExited), or timeout passes (ready's last
// error).
func WaitReady(done <-chan struct{}, timeout, interval time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	last := errors.New("never polled")
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return ErrExited
		default:
		}
		last = ready()
		if last == nil {
			return nil
		}
		select {
		case <-done:
			return ErrExited
		case <-time.After(interval):
		}
	}
	return last
}

// Log is a child's log file. Limit bounds how much of it From and Tail
// return.
type Log struct {
	Path  string
	Limit int64
}

// Size returns the size of the file, 0 if there is none.
func (l Log) Size() int64 {
	fi, err := os.Stat(l.Path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// From returns the file from byte offset off on (at most Limit bytes of it),
// or why it could not be read.
func (l Log) From(off int64) string {
	f, err := os.Open(l.Path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	b, _ := io.ReadAll(io.LimitReader(f, l.Limit))
	return string(b)
}

// Tail returns the end of the file (Limit bytes), for failure messages.
func (l Log) Tail() string {
	return l.From(max(0, l.Size()-l.Limit))
}
