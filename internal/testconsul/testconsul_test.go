package testconsul

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

func TestAgentKVStopRestart(t *testing.T) {
	a := Start(t)
	client := &http.Client{Timeout: 5 * time.Second}
	base := "http://" + a.HTTPAddr + "/v1/kv/switchboard/testconsul/greeting"
	const value = "12315 市场监管"

	// PUT the value and read it back, raw and through the JSON (base64) form.
	req, err := http.NewRequest(http.MethodPut, base, strings.NewReader(value))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("PUT: %v", err)
	}
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "true" {
		t.Fatalf("PUT: %s %q", resp.Status, body)
	}

	resp, err = client.Get(base + "?raw")
	if err != nil {
		t.Fatalf("GET raw: %v", err)
	}
	body = readAll(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET raw: %s %q", resp.Status, body)
	}
	if !utf8.Valid(body) || string(body) != value {
		t.Fatalf("GET raw = %q (valid UTF-8: %v), want %q", body, utf8.Valid(body), value)
	}

	resp, err = client.Get(base)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	body = readAll(t, resp)
	var entries []struct {
		Key   string
		Value string // base64
	}
	if err := json.Unmarshal(body, &entries); err != nil || len(entries) != 1 {
		t.Fatalf("GET: %s %q (%v)", resp.Status, body, err)
	}
	decoded, err := base64.StdEncoding.DecodeString(entries[0].Value)
	if err != nil || !bytes.Equal(decoded, []byte(value)) {
		t.Fatalf("GET JSON value = %q (%v), want %q", decoded, err, value)
	}

	// Stop: the HTTP port must refuse connections.
	a.Stop()
	conn, err := net.DialTimeout("tcp", a.HTTPAddr, 2*time.Second)
	if err == nil {
		conn.Close()
		t.Fatalf("after Stop, %s still accepts connections", a.HTTPAddr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("after Stop, dialing %s: %v, want connection refused", a.HTTPAddr, err)
	}
	a.Stop() // stopping twice is harmless

	// Restart: same address, a leader again, and (dev mode) an empty store.
	addr := a.HTTPAddr
	a.Restart(t)
	if a.HTTPAddr != addr {
		t.Fatalf("Restart moved the agent from %s to %s", addr, a.HTTPAddr)
	}
	leader, err := getLeader(client, a.HTTPAddr)
	if err != nil || leader == "" {
		t.Fatalf("after Restart, leader = %q, %v", leader, err)
	}
	resp, err = client.Get(base + "?raw")
	if err != nil {
		t.Fatalf("GET after Restart: %v", err)
	}
	body = readAll(t, resp)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET after Restart: %s %q, want 404 (dev mode keeps nothing)", resp.Status, body)
	}
}

// TestParallelAgents checks that two agents started at once get distinct
// ports and both come up.
func TestParallelAgents(t *testing.T) {
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := Start(t)
			leader, err := getLeader(&http.Client{Timeout: 5 * time.Second}, a.HTTPAddr)
			if err != nil || leader == "" {
				t.Fatalf("leader = %q, %v", leader, err)
			}
		})
	}
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	return b
}
