// Command legacysim runs simulated department systems on loopback for demos,
// tests and benchmarks. Every simulated backend records each delivery's
// idempotency key in a ledger and misbehaves on demand (faults changed at run
// time); a department can also act on what it accepted and report it to the
// gateway as signed status callbacks.
//
// Province mode simulates every backend of a province file whose endpoints
// are on loopback, exactly at those endpoints: HTTP backends (rest, open311,
// soap) on each host:port, routed by path prefix; smtp backends as one SMTP
// server per address whose mailboxes (config "to") are the backends; amqp
// backends as consumers of the queue their messages are routed to on
// RabbitMQ (declared durable and bound to the backend's exchange and routing
// key). Manual backends and those found through Consul are skipped. The admin
// API listens on --admin:
//
//	legacysim --demo                                   # the embedded example province (广东省)
//	legacysim --province deploy/examples/province.yaml --admin 127.0.0.1:18080
//	legacysim --demo --callback http://127.0.0.1:8080 --callback-secret demo-secret \
//	    --actions '{"autoSign":true,"autoReplyAfter":"5s"}'
//
//	curl 127.0.0.1:18080/admin/backends                # kind, arrivals, distinct keys, repeats
//	curl 127.0.0.1:18080/admin/ledger/gz-samr-rest     # the ledger by key
//	curl -X PUT 127.0.0.1:18080/admin/faults/gz-samr-rest -d '{"errorRate":0.5,"latency":50000000}'
//	curl -X PUT 127.0.0.1:18080/admin/faults/gz-water-amqp -d '{"down":true}'   # messages wait in RabbitMQ
//	curl -X PUT 127.0.0.1:18080/admin/actions/gd-tax-soap -d '{"autoSign":true,"extensionDays":3}'
//
// Faults are errorRate (0–1), latency, hang, down, flapEvery and slowAccept
// (durations in nanoseconds). Actions are autoSign, signAfter (default 1s),
// returnRate, extensionDays and autoReplyAfter (durations as "2s"); with
// --callback each action is POSTed to {callback}/v1/backends/{id}/updates
// with X-Switchboard-Timestamp and X-Switchboard-Signature:
// v1=hex(HMAC-SHA256(secret, timestamp + "." + body)).
//
// Backend mode serves the named HTTP backends under /b/{id}/ and the admin
// API on one address:
//
//	legacysim --listen 127.0.0.1:18080 --backend gz-samr=rest --backend gd-tax=soap
//	curl -X PUT 127.0.0.1:18080/admin/faults/gz-samr -d '{"errorRate":0.5,"latency":50000000}'
//	curl 127.0.0.1:18080/admin/ledger/gz-samr
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/internal/legacysim"
	"github.com/switchboard12345/switchboard/registry"
)

type backends map[string]string

func (b backends) String() string { return fmt.Sprint(map[string]string(b)) }

func (b backends) Set(v string) error {
	id, kind, ok := strings.Cut(v, "=")
	if !ok || id == "" {
		return errors.New("want ID=KIND, e.g. gz-samr=rest")
	}
	b[id] = kind
	return nil
}

// config is what the flags say.
type config struct {
	listen, admin  string
	province       string
	demo           bool
	backends       backends
	keep           bool
	callback       string
	callbackSecret string
	actions        string
}

func main() {
	c := config{backends: backends{}}
	flag.StringVar(&c.listen, "listen", "127.0.0.1:18080", "backend mode: loopback `address` serving /b/{id}/ and /admin/")
	flag.Var(c.backends, "backend", "backend mode: a simulated backend `ID=KIND` (rest, open311, soap); repeatable")
	flag.StringVar(&c.province, "province", "", "province mode: simulate the backends of this province `file`")
	flag.BoolVar(&c.demo, "demo", false, "province mode with the embedded example province")
	flag.StringVar(&c.admin, "admin", "127.0.0.1:18080", "province mode: loopback `address` of the admin API")
	flag.BoolVar(&c.keep, "keep-bodies", false, "keep every delivery's body (memory grows with traffic)")
	flag.StringVar(&c.callback, "callback", "", "the gateway's base `URL` for status callbacks, e.g. http://127.0.0.1:8080 (default off)")
	flag.StringVar(&c.callbackSecret, "callback-secret", "demo-secret", "HMAC `secret` signing the callbacks")
	flag.StringVar(&c.actions, "actions", "", `every backend's actions as `+"`JSON`"+`, e.g. {"autoSign":true,"autoReplyAfter":"2s"}`)
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, log); err != nil {
		fmt.Fprintln(os.Stderr, "legacysim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config, log *slog.Logger) error {
	o := legacysim.Options{
		KeepBodies: c.keep,
		Log:        log,
		Callback:   legacysim.Callback{URL: c.callback, Secret: c.callbackSecret},
	}
	if c.actions != "" {
		dec := json.NewDecoder(strings.NewReader(c.actions))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o.Actions); err != nil {
			return fmt.Errorf("--actions: %w", err)
		}
	}
	if c.province != "" || c.demo {
		if len(c.backends) > 0 {
			return errors.New("give --province (or --demo) or --backend, not both")
		}
		return runProvince(ctx, c, o, log)
	}
	if len(c.backends) == 0 {
		return errors.New("nothing to simulate: give --province FILE, --demo or at least one --backend ID=KIND")
	}
	if err := loopback("--listen", c.listen); err != nil {
		return err
	}
	sim, err := legacysim.NewWith(c.backends, o)
	if err != nil {
		return err
	}
	defer sim.Close()
	log.Info("legacysim serving", "addr", c.listen, "backends", len(c.backends))
	return serveHTTP(ctx, c.listen, sim)
}

func runProvince(ctx context.Context, c config, o legacysim.Options, log *slog.Logger) error {
	if err := loopback("--admin", c.admin); err != nil {
		return err
	}
	var r io.Reader = bytes.NewReader(examples.Province)
	if c.province != "" {
		f, err := os.Open(c.province)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	p, err := registry.LoadProvince(r)
	if err != nil {
		return err
	}
	sim, err := legacysim.FromProvince(p, o)
	if err != nil {
		return err
	}
	defer sim.Close()
	for _, s := range sim.Skipped() {
		log.Info("backend not simulated", "backend", s)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	running, err := sim.Start(sctx, legacysim.Listen)
	if err != nil {
		return err
	}
	log.Info("legacysim serving the province", "province", p.Name, "backends", len(sim.IDs()), "admin", c.admin)
	err = serveHTTP(ctx, c.admin, sim.Admin())
	cancel()
	return errors.Join(err, running.Wait())
}

// serveHTTP serves h on addr until ctx ends.
func serveHTTP(ctx context.Context, addr string, h http.Handler) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return srv.Close()
	}
	return nil
}

// loopback refuses an address off this machine.
func loopback(flag, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s %s: %w", flag, addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s %s: legacysim serves on loopback only", flag, addr)
	}
	return nil
}
