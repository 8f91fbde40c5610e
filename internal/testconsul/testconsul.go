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
	"bytes"
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
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/internal/testbin"
)

// binary is how testbin finds consul.
var binary = testbin.Spec{
	Name:         "consul",
	EnvVar:       "SWITCHBOARD_CONSUL",
	Prefix:       "testconsul",
	OnPath:       "consul v1.14.x",
	BuildTimeout: 20 * time.Minute, // about 5 minutes the first time
	BuildNote:    " (the first build takes minutes)",
}

const (
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

	binary string
	dir    string      // temporary directory: data/ and consul.log
	log    testbin.Log // consul.log
	ports  ports

	proc     testbin.Proc
	logShown bool // a t.Fatal message already carried the log
}

type ports struct {
	http, serfLAN, serfWAN, server, grpc int
}

// Start starts a fresh consul dev agent, waits until it has elected itself
// leader, and stops it when the test ends. It skips the test (or fails it
// under CI=true) when no consul binary is available.
func Start(t testing.TB) *Agent {
	t.Helper()
	bin := testbin.Find(t, binary)
	dir := t.TempDir()
	a := &Agent{
		binary: bin,
		dir:    dir,
		log:    testbin.Log{Path: filepath.Join(dir, "consul.log"), Limit: logTail},
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatalf("testconsul: %v", err)
	}
	t.Cleanup(func() {
		a.Stop()
		if t.Failed() && !a.logShown {
			t.Logf("testconsul: log of the consul agent at %s (%s):\n%s", a.HTTPAddr, a.log.Path, a.log.Tail())
		}
	})
	err := testbin.StartOnFreePorts(t, "testconsul", startAttempts, a.log, func() error {
		p, err := testbin.FreePorts(testbin.TCP, testbin.TCPUDP, testbin.TCPUDP, testbin.TCP, testbin.TCP)
		if err != nil {
			t.Fatalf("testconsul: picking free ports: %v", err)
		}
		a.ports = ports{http: p[0], serfLAN: p[1], serfWAN: p[2], server: p[3], grpc: p[4]}
		a.HTTPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(a.ports.http))
		return a.start()
	}, a.Stop)
	if err == nil {
		return a
	}
	a.logShown = true
	t.Fatalf("testconsul: starting %s: %v\nagent log (%s):\n%s", bin, err, a.log.Path, a.log.Tail())
	return nil
}

// Stop terminates the agent (SIGTERM, then SIGKILL if it lingers) and waits
// for it to exit. Afterwards its ports refuse connections. Stopping a
// stopped agent does nothing.
func (a *Agent) Stop() { a.proc.Stop(stopTimeout, killTimeout) }

// Restart stops the agent if it is running and starts it again on the same
// ports and data directory, waiting for a leader. Dev mode keeps its state in
// memory, so the KV store and catalog start out empty again.
func (a *Agent) Restart(t testing.TB) {
	t.Helper()
	a.Stop()
	if err := a.start(); err != nil {
		a.Stop()
		a.logShown = true
		t.Fatalf("testconsul: restarting %s on %s: %v\nagent log (%s):\n%s", a.binary, a.HTTPAddr, err, a.log.Path, a.log.Tail())
	}
}

// start launches the process and waits until it reports a leader.
func (a *Agent) start() error {
	logf, err := os.OpenFile(a.log.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
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
	done, err := a.proc.Start(cmd)
	if err != nil {
		return err
	}
	return a.waitLeader(done)
}

// waitLeader polls /v1/status/leader until it names a leader, the process
// exits, or ReadyTimeout passes.
func (a *Agent) waitLeader(done <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	err := testbin.WaitReady(done, ReadyTimeout, 100*time.Millisecond, func() error {
		leader, err := getLeader(client, a.HTTPAddr)
		if err == nil && leader == "" {
			return errors.New("no leader yet")
		}
		return err
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, testbin.ErrExited):
		return errors.New("consul exited before electing a leader")
	}
	return fmt.Errorf("no leader at http://%s/v1/status/leader after %v (last: %v)", a.HTTPAddr, ReadyTimeout, err)
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
