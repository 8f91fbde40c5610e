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

	"github.com/golang-jwt/jwt/v5"

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

// TestSingleSignOnJWT: with auth.jwt configured, a provincial single sign-on's
// HS256 token whose sub names a principal authenticates it; a forged or
// expired one is refused.
func TestSingleSignOnJWT(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	secret := "省统一身份认证平台-测试密钥-至少三十二字节长"
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr, cfg.GRPC.Addr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Dispatch.Deliver = false
	cfg.Auth.JWT.HS256Secret = secret
	cfg.Auth.JWT.Issuer = "https://sso.gd.gov.cn"
	a, err := build(ctx, cfg, true, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.store.Close()
	demoTokens(t, a, cfg.DataDir) // creates the demo principals
	done := make(chan error, 1)
	go func() { done <- a.server.Run(ctx) }()
	defer func() { cancel(); <-done }()
	_, grpcAddr, err := a.server.Addrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sign := func(key string, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	whoami := func(token string) (*pb.WhoAmIResponse, error) {
		c := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		return pb.NewAuthServiceClient(conn).WhoAmI(c, &pb.WhoAmIRequest{})
	}
	now := time.Now()
	good := sign(secret, jwt.MapClaims{"sub": "demo-district", "iss": "https://sso.gd.gov.cn", "exp": now.Add(time.Hour).Unix()})
	me, err := whoami(good)
	if err != nil || me.GetPrincipal().GetId() != "demo-district" || len(me.GetGrants()) != 1 {
		t.Fatalf("whoami with the SSO token: %v %v", me, err)
	}
	for name, tok := range map[string]string{
		"forged":       sign("另一个密钥-另一个密钥-另一个密钥-另一个密钥", jwt.MapClaims{"sub": "demo-district", "iss": "https://sso.gd.gov.cn", "exp": now.Add(time.Hour).Unix()}),
		"expired":      sign(secret, jwt.MapClaims{"sub": "demo-district", "iss": "https://sso.gd.gov.cn", "exp": now.Add(-time.Hour).Unix()}),
		"other issuer": sign(secret, jwt.MapClaims{"sub": "demo-district", "iss": "https://evil.example", "exp": now.Add(time.Hour).Unix()}),
		"unknown user": sign(secret, jwt.MapClaims{"sub": "u-nobody", "iss": "https://sso.gd.gov.cn", "exp": now.Add(time.Hour).Unix()}),
	} {
		if _, err := whoami(tok); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s JWT: %v, want Unauthenticated", name, err)
		}
	}
}
