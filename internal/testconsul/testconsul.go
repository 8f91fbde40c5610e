// Package testconsul runs a real, private Consul agent (`consul agent -dev`)
// for tests, using only the standard library: it execs the consul binary and
// talks to its HTTP API.
//
// The binary is, in order: $SWITCHBOARD_CONSUL, `consul` on PATH, or
// <repo root>/bin/consul (build it with scripts/consul.sh; Consul v1.14.x is
// expected). Without one the test is skipped, except under CI=true, where
// Start runs scripts/consul.sh to build it and fails the test if that fails.
//
// Every agent listens on 127.0.0.1 only, on free ports picked at start (so
// parallel tests and packages do not collide), with DNS disabled, a temporary
// data directory and its log captured to a file that is printed when the test
// fails. Agent.Stop and Agent.Restart let outage tests take it down and bring
// it back on the same address.
package testconsul

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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

	// ReadyTimeout bounds how long Start and Restart wait for a leader.
	ReadyTimeout = 30 * time.Second
	// stopTimeout bounds how long Stop waits after SIGTERM before SIGKILL.
	stopTimeout = 15 * time.Second
	// killTimeout bounds how long Stop waits after SIGKILL.
	killTimeout = 5 * time.Second
	// startAttempts bounds how often Start retries with fresh ports when
	// another process grabbed one between picking and binding it.
	startAttempts = 3
	// logTail is how much of the agent log is shown on failure.
	logTail = 64 << 10
)

// Agent is a running (or stopped) consul dev agent owned by one test.
type Agent struct {
	// HTTPAddr is the agent's HTTP API address, "127.0.0.1:port". It stays
	// the same across Stop and Restart.
	HTTPAddr string

	binary  string
	dir     string // temporary directory: data/ and consul.log
	logPath string
	ports   ports

	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{} // closed when cmd has exited
	logShown bool          // a t.Fatal message already carried the log
}

type ports struct {
	http, serfLAN, serfWAN, server, grpc int
}

// Start starts a fresh consul dev agent, waits until it has elected itself
// leader, and stops it when the test ends. It skips the test (or fails it
// under CI=true) when no consul binary is available.
func Start(t testing.TB) *Agent {
	t.Helper()
	bin := findBinary(t)
	dir := t.TempDir()
	a := &Agent{
		binary:  bin,
		dir:     dir,
		logPath: filepath.Join(dir, "consul.log"),
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatalf("testconsul: %v", err)
	}
	t.Cleanup(func() {
		a.Stop()
		if t.Failed() && !a.logShown {
			t.Logf("testconsul: log of the consul agent at %s (%s):\n%s", a.HTTPAddr, a.logPath, a.logTail())
		}
	})
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		logStart := a.logSize()
		a.ports, err = freePorts()
		if err != nil {
			t.Fatalf("testconsul: picking free ports: %v", err)
		}
		a.HTTPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(a.ports.http))
		err = a.start()
		if err == nil {
			return a
		}
		a.Stop()
		if !strings.Contains(a.logFrom(logStart), "address already in use") {
			break
		}
		t.Logf("testconsul: attempt %d: a port was taken meanwhile, retrying with new ports", attempt)
	}
	a.logShown = true
	t.Fatalf("testconsul: starting %s: %v\nagent log (%s):\n%s", bin, err, a.logPath, a.logTail())
	return nil
}

// Stop terminates the agent (SIGTERM, then SIGKILL if it lingers) and waits
// for it to exit. Afterwards its ports refuse connections. Stopping a
// stopped agent does nothing.
func (a *Agent) Stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd == nil {
		return
	}
	defer func() { a.cmd, a.done = nil, nil }()
	select {
	case <-a.done:
		return
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
		return
	case <-time.After(stopTimeout):
	}
	_ = a.cmd.Process.Kill()
	select {
	case <-a.done:
	case <-time.After(killTimeout):
	}
}

// Restart stops the agent if it is running and starts it again on the same
// ports and data directory, waiting for a leader. Dev mode keeps its state in
// memory, so the KV store and catalog start out empty again.
func (a *Agent) Restart(t testing.TB) {
	t.Helper()
	a.Stop()
	if err := a.start(); err != nil {
		a.Stop()
		a.logShown = true
		t.Fatalf("testconsul: restarting %s on %s: %v\nagent log (%s):\n%s", a.binary, a.HTTPAddr, err, a.logPath, a.logTail())
	}
}

// start launches the process and waits until it reports a leader.
func (a *Agent) start() error {
	logf, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy of the descriptor
	p := a.ports
	args := []string{
		"agent", "-dev",
		"-bind", "127.0.0.1",
		"-client", "127.0.0.1",
		"-data-dir", filepath.Join(a.dir, "data"),
		"-http-port", strconv.Itoa(p.http),
		"-https-port", "-1",
		"-dns-port", "-1",
		"-serf-lan-port", strconv.Itoa(p.serfLAN),
		"-serf-wan-port", strconv.Itoa(p.serfWAN),
		"-server-port", strconv.Itoa(p.server),
		"-grpc-port", strconv.Itoa(p.grpc),
		"-grpc-tls-port", "-1", // dev mode would otherwise claim 8503
		"-hcl", "disable_update_check = true",
		"-log-level", "info",
	}
	fmt.Fprintf(logf, "==> testconsul: %s %s\n", a.binary, strings.Join(args, " "))
	cmd := exec.Command(a.binary, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Dir = a.dir
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	a.mu.Lock()
	a.cmd, a.done = cmd, done
	a.mu.Unlock()
	return a.waitLeader(done)
}

// waitLeader polls /v1/status/leader until it names a leader, the process
// exits, or ReadyTimeout passes.
func (a *Agent) waitLeader(done <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(ReadyTimeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return errors.New("consul exited before electing a leader")
		default:
		}
		leader, err := getLeader(client, a.HTTPAddr)
		if err == nil && leader != "" {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = "no leader yet"
		}
		select {
		case <-done:
			return errors.New("consul exited before electing a leader")
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("no leader at http://%s/v1/status/leader after %v (last: %s)", a.HTTPAddr, ReadyTimeout, last)
}

// getLeader returns the address in GET /v1/status/leader ("" while there is
// none).
func getLeader(client *http.Client, addr string) (string, error) {
	resp, err := client.Get("http://" + addr + "/v1/status/leader")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	leader, err := strconv.Unquote(string(bytes.TrimSpace(body)))
	if err != nil {
		return "", fmt.Errorf("unexpected leader response %q", body)
	}
	return leader, nil
}

// logTail returns the end of the agent log, for failure messages.
func (a *Agent) logTail() string {
	return a.logFrom(max(0, a.logSize()-logTail))
}

func (a *Agent) logSize() int64 {
	fi, err := os.Stat(a.logPath)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logFrom returns the agent log from byte offset off on (at most logTail
// bytes of it).
func (a *Agent) logFrom(off int64) string {
	f, err := os.Open(a.logPath)
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

// freePorts picks distinct free ports on 127.0.0.1. The serf ports need TCP
// and UDP; the others TCP only. All are held until every one is chosen.
func freePorts() (ports, error) {
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
	var p ports
	var err error
	for _, f := range []struct {
		dst *int
		udp bool
	}{{&p.http, false}, {&p.serfLAN, true}, {&p.serfWAN, true}, {&p.server, false}, {&p.grpc, false}} {
		if *f.dst, err = pick(f.udp); err != nil {
			return ports{}, err
		}
	}
	return p, nil
}

var (
	binaryMu    sync.Mutex
	binaryCache string
)

// findBinary returns the consul binary to run, skipping or failing the test
// when there is none.
func findBinary(t testing.TB) string {
	t.Helper()
	binaryMu.Lock()
	defer binaryMu.Unlock()
	if binaryCache != "" {
		return binaryCache
	}
	if p := os.Getenv("SWITCHBOARD_CONSUL"); p != "" {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			t.Fatalf("testconsul: SWITCHBOARD_CONSUL=%s is not a consul binary: %v", p, err)
		}
		binaryCache = p
		return p
	}
	if p, err := exec.LookPath("consul"); err == nil {
		binaryCache = p
		return p
	}
	root, rootErr := repoRoot()
	if rootErr == nil {
		p := filepath.Join(root, "bin", "consul")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			binaryCache = p
			return p
		}
	}
	if os.Getenv("CI") != "true" {
		t.Skipf("skipping: no consul binary (set SWITCHBOARD_CONSUL, put consul v1.14.x on PATH, or run scripts/consul.sh to build bin/consul)")
	}
	if rootErr != nil {
		t.Fatalf("testconsul: consul is mandatory under CI=true but none was found and the repository root is unknown: %v", rootErr)
	}
	p, err := buildBinary(t, root)
	if err != nil {
		t.Fatalf("testconsul: consul is mandatory under CI=true but none was found and scripts/consul.sh failed: %v", err)
	}
	binaryCache = p
	return p
}

// buildBinary runs scripts/consul.sh (which builds bin/consul, about 5
// minutes the first time) and returns the path it prints.
func buildBinary(t testing.TB, root string) (string, error) {
	t.Helper()
	t.Logf("testconsul: CI=true and no consul binary; running scripts/consul.sh (the first build takes minutes)")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "consul.sh"))
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

// repoRoot walks up from the working directory to the directory whose go.mod
// declares the switchboard module (skipping nested modules such as
// tools/consul).
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
