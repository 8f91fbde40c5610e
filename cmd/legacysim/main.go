// Command legacysim runs simulated department systems on loopback for demos,
// tests and benchmarks. Each backend answers under /b/{id}/ in the manner of its
// kind (rest, open311, soap) and records every delivery's idempotency key in a
// ledger; faults are changed at run time through /admin/faults/{id}.
//
//	legacysim --listen 127.0.0.1:18080 --backend gz-samr=rest --backend gd-tax=soap
//	curl -X PUT 127.0.0.1:18080/admin/faults/gz-samr -d '{"errorRate":0.5,"latency":50000000}'
//	curl 127.0.0.1:18080/admin/ledger/gz-samr
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard12345/switchboard/internal/legacysim"
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

func main() {
	bs := backends{}
	listen := flag.String("listen", "127.0.0.1:18080", "loopback `address` to serve on")
	flag.Var(bs, "backend", "a simulated backend `ID=KIND` (rest, open311, soap); repeatable")
	keep := flag.Bool("keep-bodies", false, "keep every delivery's body (memory grows with traffic)")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(*listen, bs, *keep, log); err != nil {
		fmt.Fprintln(os.Stderr, "legacysim:", err)
		os.Exit(1)
	}
}

func run(listen string, bs backends, keep bool, log *slog.Logger) error {
	if len(bs) == 0 {
		return errors.New("no backends: give at least one --backend ID=KIND")
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--listen %s: legacysim serves on loopback only", listen)
	}
	sim, err := legacysim.New(bs, keep)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: listen, Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("legacysim serving", "addr", listen, "backends", len(bs))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
