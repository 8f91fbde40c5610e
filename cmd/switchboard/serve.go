package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/dispatch"
	"github.com/switchboard12345/switchboard/gateway/authz"
	"github.com/switchboard12345/switchboard/gateway/config"
	"github.com/switchboard12345/switchboard/gateway/deadline"
	"github.com/switchboard12345/switchboard/gateway/guard"
	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/server"
	"github.com/switchboard12345/switchboard/gateway/service"
	"github.com/switchboard12345/switchboard/gateway/statusback"
	"github.com/switchboard12345/switchboard/internal/ids"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/registry/consul"
	"github.com/switchboard12345/switchboard/related"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

func serveCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML config `file` (see README); flags below override it")
	dataDir := fs.String("data", "", "data `directory` (default ./data)")
	httpAddr := fs.String("http", "", "REST listen `address` (default 127.0.0.1:8080)")
	grpcAddr := fs.String("grpc", "", "gRPC listen `address` (default 127.0.0.1:9090)")
	demo := fs.Bool("demo", false, "load the example province and file a few sample tickets")
	model := fs.String("model", "", "category model `file` from \"switchboard classify train\" (intake.categoryModel)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", fs.Args())}
	}
	cfg := config.Default()
	if *configPath != "" {
		var err error
		if cfg, err = config.Load(*configPath); err != nil {
			return err
		}
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if *httpAddr != "" {
		cfg.HTTP.Addr = *httpAddr
	}
	if *grpcAddr != "" {
		cfg.GRPC.Addr = *grpcAddr
	}
	if *model != "" {
		cfg.Intake.CategoryModel = *model
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	return serve(ctx, cfg, *demo, log)
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.Level)) // validated
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if c.Format == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(server.LogHandler(h))
}

// app is everything serve wires together.
type app struct {
	store store.Store
	auth  store.Auth
	authz *authz.Authorizer
	newID func(time.Time) string
	// related keeps the related-ticket index of intake current.
	related *relatedTickets
	source  registry.Source
	routes  *registry.Live
	// register, if set, registers this gateway in the Consul catalog once it
	// listens, returning the deregistration.
	register func(ctx context.Context, httpAddr string) (func(context.Context) error, error)
	tickets  *service.Tickets
	server   *server.Server
	// dispatcher delivers the outbox; nil when dispatch.deliver is off.
	dispatcher *dispatch.Dispatcher
	// poller polls department systems for status updates (Open311); nil
	// when dispatch.deliver is off.
	poller *statusback.Poller
}

// build wires the application from cfg: explicit, in one place, no globals.
func build(ctx context.Context, cfg config.Config, demo bool, log *slog.Logger) (*app, error) {
	cal := deadline.DefaultCalendar()
	if cfg.Calendar != "" {
		f, err := os.Open(cfg.Calendar)
		if err != nil {
			return nil, fmt.Errorf("calendar: %w", err)
		}
		cal, err = deadline.LoadCalendar(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("calendar %s: %w", cfg.Calendar, err)
		}
	}
	for _, y := range cal.Years() {
		if cal.Projected(y) {
			log.Warn("working-day calendar for this year is projected, not published; load the official one with `calendar:` when the State Council publishes it", "year", y)
		}
	}
	policy, err := deadline.NewPolicy(cfg.Deadlines, cal)
	if err != nil {
		return nil, fmt.Errorf("deadlines: %w", err)
	}

	// The province file, if any, seeds an empty registry; after that the
	// registry lives in its source and changes through the registry API.
	var seed *registry.ProvinceFile
	switch {
	case cfg.Province != "":
		f, err := os.Open(cfg.Province)
		if err != nil {
			return nil, fmt.Errorf("province: %w", err)
		}
		seed, err = registry.LoadProvince(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("province %s: %w", cfg.Province, err)
		}
	case demo:
		seed, err = registry.LoadProvince(bytes.NewReader(examples.Province))
		if err != nil {
			return nil, fmt.Errorf("example province: %w", err)
		}
	}

	var st *sqlstore.Store
	opts := sqlstore.Options{MaxBatch: cfg.Store.MaxBatch, Logger: log}
	switch cfg.Store.Driver {
	case "postgres":
		st, err = sqlstore.OpenPostgres(ctx, cfg.Store.PostgresDSN, opts)
	default:
		path := filepath.Join(cfg.DataDir, "switchboard.db")
		st, err = sqlstore.OpenSQLite(ctx, path, opts)
		if err == nil {
			log.Info("store opened", "store", "sqlite", "path", path)
		}
	}
	if err != nil {
		return nil, err
	}
	var source registry.Source = st.Registry()
	var consulSource *consul.Source
	if cfg.Registry.Source == "consul" {
		c := cfg.Registry.Consul
		consulSource, err = consul.New(consul.Config{Address: c.Address, Prefix: c.Prefix, Token: os.Getenv(c.TokenEnv), Logger: log})
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("registry: %w", err)
		}
		source = consulSource
	}
	routes, err := openRegistry(ctx, source, seed, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	idSource := ids.NewSource()
	if err := seedPolicy(ctx, st, cfg, demo, log); err != nil {
		st.Close()
		return nil, err
	}
	if err := seedReference(ctx, st, demo, log); err != nil {
		st.Close()
		return nil, err
	}
	authn, az, err := accessDeps(ctx, cfg, st, routes.Snapshot, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	// One guard checks every call, gRPC and REST alike.
	metrics := prometheus.NewRegistry()
	gd := &guard.Guard{Authn: authn, Authz: az, Tickets: st, Audit: st, Now: time.Now, Log: log, Status: service.Status,
		Metrics: guard.NewMetrics(metrics)}
	legacy := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_legacy_requests_total",
		Help: "Requests arriving on each legacy hotline number.",
	}, []string{"number"})
	metrics.MustRegister(legacy)
	assistant, err := buildAssistant(ctx, cfg, routes.Snapshot, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	taxonomyAPI := service.NewTaxonomy(service.TaxonomyConfig{Store: st, Audit: st, Now: time.Now, Logger: log})
	knowledgeAPI := service.NewKnowledge(service.KnowledgeConfig{
		Store: st, Taxonomy: taxonomyAPI, Audit: st, Now: time.Now, NewID: idSource.New, Logger: log,
	})
	assistant.Categories = &categories{svc: taxonomyAPI}
	assistant.Knowledge = knowledge{svc: knowledgeAPI, log: log}
	rel := &relatedTickets{ix: related.New(related.Options{Window: cfg.Intake.RelatedWindow, Now: time.Now}), st: st,
		window: cfg.Intake.RelatedWindow, log: log.With("component", "related")}
	if err := rel.load(ctx, time.Now()); err != nil {
		st.Close()
		return nil, fmt.Errorf("loading the related-ticket index: %w", err)
	}
	assistant.Related = rel
	tickets := service.New(service.Config{
		Assist:         assistant,
		OnCreate:       rel.add,
		Taxonomy:       taxonomyAPI,
		Store:          st,
		Machine:        lifecycle.New(policy),
		Routes:         routes.Snapshot,
		RetiredNumbers: service.RetiredNumbers(cfg.RetiredNumbers),
		Now:            time.Now,
		NewID:          idSource.New,
		Logger:         log,
		Legacy:         counter{legacy},
		AutoDispatch:   cfg.Dispatch.AutoDispatch,
	})
	var dispatcher *dispatch.Dispatcher
	if cfg.Dispatch.Deliver {
		dispatcher, err = newDispatcher(cfg, st, routes, consulSource, metrics, log)
		if err != nil {
			st.Close()
			return nil, err
		}
	}
	// The dispatch API reports the dispatcher when this server runs one;
	// without it, status is Unavailable and the inbox and dead letters still work.
	var dispatchStatus service.DispatchStatus
	if dispatcher != nil {
		dispatchStatus = dispatcher
	}
	// Status back from department systems: signed webhooks on the HTTP
	// port, and polling where the adapter lists updates.
	webhook := statusback.NewHandler(statusback.HandlerConfig{
		Routes: routes.Snapshot, Apply: tickets, Logger: log.With("component", "statusback"), Metrics: metrics,
		Window: cfg.Dispatch.WebhookWindow,
	})
	var poller *statusback.Poller
	if cfg.Dispatch.Deliver {
		var endpoints func(ctx context.Context, service string) ([]string, error)
		if consulSource != nil {
			endpoints = consulSource.Endpoints
		}
		poller = statusback.NewPoller(statusback.PollerConfig{
			Routes: routes.Snapshot, Kinds: adapterKinds(st), Endpoints: endpoints, Cursors: st, Apply: tickets,
			Logger: log.With("component", "statuspoll"), Metrics: metrics,
		})
	}

	srv, err := server.New(server.Options{
		HTTPAddr:      cfg.HTTP.Addr,
		GRPCAddr:      cfg.GRPC.Addr,
		MaxBodyBytes:  cfg.HTTP.MaxBodyBytes,
		ShutdownGrace: cfg.ShutdownGrace,
		Tickets:       tickets,
		RegistryAPI: service.NewRegistry(service.RegistryConfig{
			Source: source, Routes: routes.Snapshot, Store: st, Now: time.Now, Logger: log,
		}),
		DispatchAPI: service.NewDispatch(service.DispatchConfig{
			Outbox: st, Inbox: st, Status: dispatchStatus, Routes: routes.Snapshot, Now: time.Now, Logger: log,
		}),
		AuthAPI: service.NewAccess(service.AccessConfig{
			Authz: az, Store: st, Tickets: st, Units: routes.Snapshot, Now: time.Now, NewID: idSource.New, Logger: log,
		}),
		TaxonomyAPI:  taxonomyAPI,
		KnowledgeAPI: knowledgeAPI,
		Guard:        gd.Unary,
		Store:        st,
		Logger:       log,
		Registry:     metrics,
		Degraded:     routes.Degraded,
		Handlers:     map[string]http.Handler{statusback.Pattern: webhook},
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	a := &app{store: st, auth: st, authz: az, newID: idSource.New, related: rel, source: source, routes: routes, tickets: tickets, server: srv, dispatcher: dispatcher, poller: poller}
	if consulSource != nil && cfg.Registry.Consul.Register {
		a.register = func(ctx context.Context, httpAddr string) (func(context.Context) error, error) {
			host, portText, _ := net.SplitHostPort(httpAddr)
			port, _ := strconv.Atoi(portText)
			id := "switchboard-" + strings.ReplaceAll(httpAddr, ":", "-")
			return consulSource.Register(ctx, id, "switchboard", host, port, "http://"+httpAddr+"/readyz")
		}
	}
	return a, nil
}

// openRegistry seeds an empty registry with the province file (if one is given)
// and returns the live view that routing reads.
func openRegistry(ctx context.Context, source registry.Source, seed *registry.ProvinceFile, log *slog.Logger) (*registry.Live, error) {
	current, _, err := source.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the registry: %w", err)
	}
	switch {
	case seed != nil && len(current.Units) == 0:
		if _, err := source.Import(ctx, seed, "system:startup"); err != nil {
			return nil, fmt.Errorf("importing the province: %w", err)
		}
		log.Info("registry seeded from the province file", "province", seed.Name, "units", len(seed.Units), "hotlines", len(seed.Hotlines), "backends", len(seed.Backends))
	case seed != nil:
		log.Info("registry already holds a province; the province file was not imported again (use `switchboard registry import`)", "province", current.Name)
	}
	live := registry.NewLive(source, log)
	if err := live.Load(ctx); err != nil {
		return nil, fmt.Errorf("loading the registry: %w", err)
	}
	snap := live.Snapshot()
	log.Info("registry loaded", "province", snap.Province, "revision", snap.Revision, "hotlines", len(snap.Hotlines()))
	return live, nil
}

// counter counts legacy-number requests in a Prometheus counter.
type counter struct{ *prometheus.CounterVec }

func (c counter) Inc(number string) { c.WithLabelValues(number).Inc() }

func serve(ctx context.Context, cfg config.Config, demo bool, log *slog.Logger) error {
	a, err := build(ctx, cfg, demo, log)
	if err != nil {
		return err
	}
	defer a.store.Close()
	if demo {
		n, err := seedDemo(ctx, a.tickets)
		if err != nil {
			return fmt.Errorf("filing demo tickets: %w", err)
		}
		log.Info("demo tickets filed", "tickets", n)
		path, err := writeDemoTokens(ctx, a.auth, cfg.DataDir, time.Now(), a.newID)
		if err != nil {
			return fmt.Errorf("demo tokens: %w", err)
		}
		log.Info("demo tokens written: a bearer token per role (operator, street, district, department, expert, leader, admin)", "file", path)
	} else {
		path, err := firstAdmin(ctx, a.auth, a.routes.Snapshot(), cfg.DataDir, time.Now(), a.newID)
		if err != nil {
			return fmt.Errorf("first administrator: %w", err)
		}
		if path != "" {
			log.Warn("no principal existed: created the administrator \"admin\"; its token is in the file (create the other principals and tokens with `switchboard auth`)", "file", path)
		}
	}
	go a.routes.Run(ctx)
	go a.authz.Run(ctx)
	go a.related.follow(ctx, 2*time.Second)
	if a.dispatcher != nil {
		// The dispatcher stops after the server (it may still deliver what
		// the last requests wrote) and before the store closes.
		dctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan error, 1)
		go func() { done <- a.dispatcher.Run(dctx) }()
		defer func() { stop(); <-done }()
	}
	if a.poller != nil {
		// Like the dispatcher: stopped after the server, before the store.
		pctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan error, 1)
		go func() { done <- a.poller.Run(pctx) }()
		defer func() { stop(); <-done }()
	}
	if a.register != nil {
		go func() {
			httpAddr, _, err := a.server.Addrs(ctx)
			if err != nil {
				return
			}
			deregister, err := a.register(ctx, httpAddr)
			if err != nil {
				log.Warn("registering in the Consul catalog failed", "err", err)
				return
			}
			log.Info("registered in the Consul catalog", "service", "switchboard")
			<-ctx.Done()
			dctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			deregister(dctx)
		}()
	}
	return a.server.Run(ctx)
}
