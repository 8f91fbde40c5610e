// Package server runs the front door: the gRPC server (with reflection and the
// standard health service) and the HTTP server that carries the REST API
// (grpc-gateway, in process), the OpenAPI document, Prometheus metrics and the
// health and readiness probes. New does no I/O; Run serves until its context
// ends and then shuts down gracefully.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/switchboard12345/switchboard/api"
	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/gateway/restjson"
	"github.com/switchboard12345/switchboard/store"
)

// Options configure a Server.
type Options struct {
	HTTPAddr string // e.g. 127.0.0.1:8080
	GRPCAddr string // e.g. 127.0.0.1:9090
	// MaxBodyBytes bounds a REST request body (default 1 MiB).
	MaxBodyBytes int64
	// ShutdownGrace is how long in-flight requests may take to finish after the
	// context ends (default 10s).
	ShutdownGrace time.Duration
	Tickets       pb.TicketServiceServer
	// Registry, if set, serves the registry API too.
	RegistryAPI pb.RegistryServiceServer
	// DispatchAPI, if set, serves units' inboxes and the dispatch API too.
	DispatchAPI pb.DispatchServiceServer
	// AuthAPI, if set, serves the access administration API too.
	AuthAPI pb.AuthServiceServer
	// TaxonomyAPI and KnowledgeAPI, if set, serve the category tree and the
	// knowledge base too.
	TaxonomyAPI  pb.TaxonomyServiceServer
	KnowledgeAPI pb.KnowledgeServiceServer
	// Guard authenticates and authorizes every call (guard.Guard.Unary). It
	// runs for gRPC calls and, through an in-process connection, for REST
	// calls alike. Required.
	Guard  grpc.UnaryServerInterceptor
	Store  store.Store
	Logger *slog.Logger
	// Registry receives the server's metrics; nil makes a private registry.
	Registry *prometheus.Registry
	// Degraded, if set, says why a dependency is failing while the server
	// still serves (e.g. the registry source is unreachable and routing runs
	// on the last good snapshot); "" when all is well. /readyz reports it.
	Degraded func() string
	// Handlers are further HTTP endpoints by ServeMux pattern (e.g. the
	// status webhook "POST /v1/backends/{backend}/updates"), served behind
	// the REST middleware: request ids, metrics, the body limit, UTF-8.
	Handlers map[string]http.Handler
}

// Server is the front door.
type Server struct {
	o       Options
	log     *slog.Logger
	grpc    *grpc.Server
	health  *health.Server
	http    *http.Server
	metrics *metrics
	codec   *utf8Codec

	mu        sync.Mutex
	httpAddr  net.Addr
	grpcAddr  net.Addr
	listening chan struct{}
}

// New builds the server without listening.
func New(o Options) (*Server, error) {
	if o.Tickets == nil || o.Store == nil || o.Guard == nil {
		return nil, errors.New("server: Tickets, Store and Guard are required")
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	s := &Server{o: o, log: o.Logger, listening: make(chan struct{})}
	s.metrics = newMetrics(o.Registry, o.Store)

	s.codec = newUTF8Codec()
	s.grpc = grpc.NewServer(
		grpc.ForceServerCodecV2(s.codec),
		grpc.ChainUnaryInterceptor(s.unaryInterceptor, o.Guard),
		grpc.MaxRecvMsgSize(int(o.MaxBodyBytes)+4096),
	)
	// REST reaches the same services through an in-process connection that
	// runs the same guard: one enforcement path for both transports.
	conn := newInproc(o.Guard)
	register := func(sd *grpc.ServiceDesc, impl any) {
		s.grpc.RegisterService(sd, impl)
		conn.register(sd, impl)
	}
	register(&pb.TicketService_ServiceDesc, o.Tickets)
	if o.RegistryAPI != nil {
		register(&pb.RegistryService_ServiceDesc, o.RegistryAPI)
	}
	if o.DispatchAPI != nil {
		register(&pb.DispatchService_ServiceDesc, o.DispatchAPI)
	}
	if o.AuthAPI != nil {
		register(&pb.AuthService_ServiceDesc, o.AuthAPI)
	}
	if o.TaxonomyAPI != nil {
		register(&pb.TaxonomyService_ServiceDesc, o.TaxonomyAPI)
	}
	if o.KnowledgeAPI != nil {
		register(&pb.KnowledgeService_ServiceDesc, o.KnowledgeAPI)
	}
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)

	gw := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, jsonMarshaler()),
		runtime.WithIncomingHeaderMatcher(headerMatcher),
		runtime.WithErrorHandler(s.restError),
		runtime.WithRoutingErrorHandler(s.routingError),
	)
	ctx := context.Background()
	regs := []func() error{
		func() error { return pb.RegisterTicketServiceHandlerClient(ctx, gw, pb.NewTicketServiceClient(conn)) },
	}
	if o.RegistryAPI != nil {
		regs = append(regs, func() error {
			return pb.RegisterRegistryServiceHandlerClient(ctx, gw, pb.NewRegistryServiceClient(conn))
		})
	}
	if o.DispatchAPI != nil {
		regs = append(regs, func() error {
			return pb.RegisterDispatchServiceHandlerClient(ctx, gw, pb.NewDispatchServiceClient(conn))
		})
	}
	if o.AuthAPI != nil {
		regs = append(regs, func() error { return pb.RegisterAuthServiceHandlerClient(ctx, gw, pb.NewAuthServiceClient(conn)) })
	}
	if o.TaxonomyAPI != nil {
		regs = append(regs, func() error {
			return pb.RegisterTaxonomyServiceHandlerClient(ctx, gw, pb.NewTaxonomyServiceClient(conn))
		})
	}
	if o.KnowledgeAPI != nil {
		regs = append(regs, func() error {
			return pb.RegisterKnowledgeServiceHandlerClient(ctx, gw, pb.NewKnowledgeServiceClient(conn))
		})
	}
	for _, reg := range regs {
		if err := reg(); err != nil {
			return nil, fmt.Errorf("registering REST handlers: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", s.restMiddleware(gw))
	for pattern, h := range o.Handlers {
		mux.Handle(pattern, s.restMiddleware(h))
	}
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(api.OpenAPI)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		restjson.Write(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		restjson.Error(w, http.StatusNotFound, "NOT_FOUND", "no such path: "+r.URL.Path, nil)
	})
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Addrs returns the bound HTTP and gRPC addresses once Run is listening.
func (s *Server) Addrs(ctx context.Context) (httpAddr, grpcAddr string, err error) {
	select {
	case <-s.listening:
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.httpAddr.String(), s.grpcAddr.String(), nil
}

// Run listens and serves until ctx ends, then stops taking new requests, lets
// in-flight ones finish within the shutdown grace, and returns.
func (s *Server) Run(ctx context.Context) error {
	hl, err := net.Listen("tcp", s.o.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listening for HTTP on %s: %w", s.o.HTTPAddr, err)
	}
	gl, err := net.Listen("tcp", s.o.GRPCAddr)
	if err != nil {
		hl.Close()
		return fmt.Errorf("listening for gRPC on %s: %w", s.o.GRPCAddr, err)
	}
	s.mu.Lock()
	s.httpAddr, s.grpcAddr = hl.Addr(), gl.Addr()
	s.mu.Unlock()
	close(s.listening)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(pb.TicketService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	s.log.Info("serving", "http", hl.Addr().String(), "grpc", gl.Addr().String())

	errc := make(chan error, 2)
	go func() { errc <- s.http.Serve(hl) }()
	go func() { errc <- s.grpc.Serve(gl) }()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		s.log.Error("server failed", "err", runErr)
	}
	s.log.Info("shutting down", "grace", s.o.ShutdownGrace.String())
	s.health.Shutdown()
	sctx, cancel := context.WithTimeout(context.Background(), s.o.ShutdownGrace)
	defer cancel()
	done := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(done) }()
	if err := s.http.Shutdown(sctx); err != nil {
		s.log.Warn("HTTP shutdown cut short", "err", err)
	}
	select {
	case <-done:
	case <-sctx.Done():
		s.log.Warn("gRPC shutdown cut short")
		s.grpc.Stop()
	}
	if errors.Is(runErr, http.ErrServerClosed) || errors.Is(runErr, grpc.ErrServerStopped) {
		runErr = nil
	}
	return runErr
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.o.Store.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		restjson.Write(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "store": "unreachable"})
		return
	}
	if s.o.Degraded != nil {
		if why := s.o.Degraded(); why != "" {
			restjson.Write(w, http.StatusOK, map[string]string{"status": "degraded", "store": "ok", "registry": why})
			return
		}
	}
	restjson.Write(w, http.StatusOK, map[string]string{"status": "ready", "store": "ok"})
}
