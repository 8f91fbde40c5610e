package server_test

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/gateway/deadline"
	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/server"
	"github.com/switchboard12345/switchboard/gateway/service"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/ids"
	"github.com/switchboard12345/switchboard/internal/testauth"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

// slowStore holds every creation for a while, so a request is in flight when
// the server is told to stop.
type slowStore struct {
	store.Store
	started chan struct{}
}

func (s slowStore) CreateTicket(ctx context.Context, c store.Create) (ticket.Ticket, bool, error) {
	close(s.started)
	time.Sleep(300 * time.Millisecond)
	return s.Store.CreateTicket(ctx, c)
}

// TestShutdownLetsInFlightRequestsFinish: a creation in flight when the context
// ends is completed and acknowledged; Run then returns and the port is closed.
func TestShutdownLetsInFlightRequestsFinish(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "s.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	slow := slowStore{Store: st, started: make(chan struct{})}
	province, _ := registry.LoadProvince(bytes.NewReader(examples.Province))
	policy, _ := deadline.NewPolicy(deadline.DefaultPolicyConfig(), deadline.DefaultCalendar())
	svc := service.New(service.Config{Store: slow, Machine: lifecycle.New(policy), Routes: registry.NewStatic(registry.NewSnapshot(province, 1)).Snapshot, Now: time.Now, NewID: ids.NewSource().New})
	// The guard reads principals and policy from the store itself, not
	// through the slow wrapper.
	ta := testauth.New(t, slow, st, registry.NewStatic(registry.NewSnapshot(province, 1)).Snapshot)
	srv, err := server.New(server.Options{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Tickets: svc, Store: slow, ShutdownGrace: 5 * time.Second,
		Guard: ta.Guard.Unary})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	httpAddr, _, err := srv.Addrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		code int
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := testauth.Client(ta.Token).Post("http://"+httpAddr+"/v1/tickets", "application/json", strings.NewReader(createBody))
		if err != nil {
			res <- result{err: err}
			return
		}
		resp.Body.Close()
		res <- result{code: resp.StatusCode}
	}()
	<-slow.started
	stop() // SIGTERM, as main does it
	r := <-res
	if r.err != nil || r.code != 200 {
		t.Fatalf("in-flight request: %d %v, want 200", r.code, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := http.Get("http://" + httpAddr + "/healthz"); err == nil {
		t.Fatal("server still answering after shutdown")
	}
	counts, _ := st.CountByState(ctx)
	if counts[ticket.Received] != 1 {
		t.Fatalf("acknowledged ticket not stored: %v", counts)
	}
}
