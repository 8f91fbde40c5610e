package main

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/gateway/config"
	"github.com/switchboard12345/switchboard/internal/testpg"
)

// TestGrantReachesTheOtherInstance runs two complete gateway instances on one
// PostgreSQL database, as a province deploys them. An administrator grants a
// role through instance A's API; the new principal's calls to instance B must
// be allowed within a second (B hears the change over LISTEN/NOTIFY). The
// test prints the measured latency; revoking is measured the same way.
func TestGrantReachesTheOtherInstance(t *testing.T) {
	dsn := testpg.DSN(t)
	start := func(demo bool) (*app, *grpc.ClientConn, string) {
		ctx, cancel := context.WithCancel(context.Background())
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.HTTP.Addr, cfg.GRPC.Addr = "127.0.0.1:0", "127.0.0.1:0"
		cfg.Store.Driver, cfg.Store.PostgresDSN = "postgres", dsn
		cfg.Dispatch.Deliver = false
		a, err := build(ctx, cfg, demo, slog.New(slog.DiscardHandler))
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		go a.routes.Run(ctx)
		go a.authz.Run(ctx)
		done := make(chan error, 1)
		go func() { done <- a.server.Run(ctx) }()
		_, grpcAddr, err := a.server.Addrs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(); cancel(); <-done; a.store.Close() })
		return a, conn, cfg.DataDir
	}
	a, connA, dataA := start(true)
	_, connB, _ := start(false)
	admin := demoTokens(t, a, dataA)["admin"]
	as := func(token string) context.Context {
		return metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+token)
	}
	authA := pb.NewAuthServiceClient(connA)
	if _, err := authA.CreatePrincipal(as(admin), &pb.CreatePrincipalRequest{Principal: &pb.Principal{Id: "u-chenjing", Name: "陈静", Unit: "gd-12345"}}); err != nil {
		t.Fatal(err)
	}
	tok, err := authA.CreateToken(as(admin), &pb.CreateTokenRequest{Principal: "u-chenjing", Description: "两实例测试"})
	if err != nil {
		t.Fatal(err)
	}
	// Dispatch health needs read_stats over the province: an operator's,
	// not yet u-chenjing's. (B runs no dispatcher, so an allowed call
	// answers Unavailable.)
	dispatchB := pb.NewDispatchServiceClient(connB)
	allowedOnB := func() bool {
		_, err := dispatchB.GetDispatchStatus(as(tok.GetSecret()), &pb.GetDispatchStatusRequest{})
		return status.Code(err) != codes.PermissionDenied
	}
	if allowedOnB() {
		t.Fatal("the new principal may read dispatch health before any grant")
	}
	var grant, revoke []time.Duration
	for range 5 {
		t0 := time.Now()
		if _, err := authA.GrantRole(as(admin), &pb.GrantRoleRequest{Principal: "u-chenjing", Role: "operator", Unit: "gd-12345"}); err != nil {
			t.Fatal(err)
		}
		for !allowedOnB() {
			if time.Since(t0) > 5*time.Second {
				t.Fatal("instance B did not honour the grant within 5s")
			}
			time.Sleep(2 * time.Millisecond)
		}
		grant = append(grant, time.Since(t0))
		t0 = time.Now()
		if _, err := authA.RevokeRole(as(admin), &pb.RevokeRoleRequest{Principal: "u-chenjing", Role: "operator", Unit: "gd-12345"}); err != nil {
			t.Fatal(err)
		}
		for allowedOnB() {
			if time.Since(t0) > 5*time.Second {
				t.Fatal("instance B did not honour the revocation within 5s")
			}
			time.Sleep(2 * time.Millisecond)
		}
		revoke = append(revoke, time.Since(t0))
	}
	slices.Sort(grant)
	slices.Sort(revoke)
	t.Logf("grant on A honoured by B after %v; revocation after %v", grant, revoke)
	if grant[len(grant)/2] > time.Second || revoke[len(revoke)/2] > time.Second {
		t.Errorf("median over a second: grant %s, revoke %s", grant[len(grant)/2], revoke[len(revoke)/2])
	}
}
