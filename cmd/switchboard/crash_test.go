package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestKillDuringIntakeLosesNothing runs the real binary, drives concurrent
// creations, kills the process with SIGKILL in the middle, restarts it on the
// same data directory and reconciles: every acknowledged ticket is there with
// its tracking number, replaying every idempotency key returns the same ticket,
// and no tracking number is used twice.
func TestKillDuringIntakeLosesNothing(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "switchboard")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	data := t.TempDir()
	// The clients are an operator; the registry is empty, so the grant is
	// for the whole province (*).
	token, err := bootstrapToken(context.Background(), bin, "--data", data, "--principal", "intake", "--role", "operator")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--data", data, "--http", httpAddr, "--grpc", grpcAddr)
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitReady(t, "http://"+httpAddr+"/readyz")
		return cmd
	}
	srv := start()
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })

	type ack struct{ key, id, tracking string }
	var (
		mu    sync.Mutex
		acked []ack
		sent  []string
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // bounded load
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	for c := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil && i < 5000; i++ {
				key := fmt.Sprintf("crash-%d-%d", c, i)
				mu.Lock()
				sent = append(sent, key)
				mu.Unlock()
				id, tn, err := create(client, "http://"+httpAddr, token, key)
				if err != nil {
					return // the server died under us
				}
				mu.Lock()
				acked = append(acked, ack{key, id, tn})
				mu.Unlock()
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	srv.Process.Signal(syscall.SIGKILL)
	srv.Wait()
	cancel()
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d tickets acknowledged before the kill; the test proves nothing", len(acked))
	}

	srv = start()
	byKey := map[string]ack{}
	for _, a := range acked {
		byKey[a.key] = a
		req, _ := http.NewRequest(http.MethodGet, "http://"+httpAddr+"/v1/tickets/"+a.id, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != 200 || got["trackingNumber"] != a.tracking {
			t.Fatalf("acknowledged ticket %s (%s) lost after the kill: %d %v", a.id, a.tracking, resp.StatusCode, got)
		}
	}
	seen := map[string]string{}
	for _, key := range sent {
		id, tn, err := create(client, "http://"+httpAddr, token, key)
		if err != nil {
			t.Fatalf("replaying %s: %v", key, err)
		}
		if a, ok := byKey[key]; ok && (a.id != id || a.tracking != tn) {
			t.Fatalf("replay of acknowledged %s gave %s/%s, want %s/%s", key, id, tn, a.id, a.tracking)
		}
		if prev, dup := seen[tn]; dup && prev != id {
			t.Fatalf("tracking number %s used by %s and %s", tn, prev, id)
		}
		seen[tn] = id
	}
	t.Logf("%d acknowledged before SIGKILL, %d sent; all reconciled after restart", len(acked), len(sent))
}

func create(c *http.Client, base, token, key string) (id, tracking string, err error) {
	body := `{"channel":"PHONE","caller":{"name":"张三","phone":"13800138000"},"title":"预付卡退款","content":"西饼店倒闭，预付卡无法退款","location":{"address":"广州市天河区体育西路1号"},"requestType":"COMPLAINT"}`
	req, _ := http.NewRequest("POST", base+"/v1/tickets", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	var got struct{ ID, TrackingNumber string }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
		return "", "", fmt.Errorf("status %d: %v", resp.StatusCode, err)
	}
	return got.ID, got.TrackingNumber, nil
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitReady(t *testing.T, url string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not ready after 20s", url)
}
