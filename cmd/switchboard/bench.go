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
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard12345/switchboard/gateway/authz"
	"github.com/switchboard12345/switchboard/gateway/config"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "dispatch" {
		return benchDispatchCmd(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "access" {
		return benchAccessCmd(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "kb" {
		return benchKBCmd(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "classify" {
		return benchClassifyCmd(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "intake" {
		fmt.Fprintln(stderr, "Usage: switchboard bench intake [--duration D] [--clients 16,64]")
		fmt.Fprintln(stderr, "       switchboard bench dispatch [--scenario all]")
		fmt.Fprintln(stderr, "       switchboard bench access [--units 2000] [--users 20000] [--tickets 10000000] [--data DIR --keep]")
		fmt.Fprintln(stderr, "       switchboard bench kb [--entries 10000]")
		fmt.Fprintln(stderr, "       switchboard bench classify [--messages 10000]")
		return usageError{"bench: the benchmarks are intake, dispatch, access, kb and classify"}
	}
	fs := flag.NewFlagSet("bench intake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 10*time.Second, "how long each measurement drives load (bounded: at most 5m)")
	clientsFlag := fs.String("clients", "16,64", "concurrent clients, comma-separated")
	maxRequests := fs.Int("max-requests", 2_000_000, "stop a measurement after this many requests")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `file`")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *duration <= 0 || *duration > 5*time.Minute {
		return usageError{"--duration must be between 0 and 5m"}
	}
	var clients []int
	for _, s := range splitList(*clientsFlag) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1024 {
			return usageError{"--clients: numbers between 1 and 1024"}
		}
		clients = append(clients, n)
	}
	stop, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	return benchIntake(ctx, stdout, *duration, clients, *maxRequests)
}

// benchBody is the create body every request sends.
const benchBody = `{"channel":"PHONE","caller":{"name":"张三","phone":"13800138000"},"title":"预付卡退款","content":"西饼店倒闭，预付卡无法退款","location":{"address":"广州市天河区体育西路1号"},"requestType":"COMPLAINT","dialedNumber":"12345"}`

type benchResult struct {
	ok, failed int64
	elapsed    time.Duration
	p50, p99   time.Duration
}

func (r benchResult) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// benchIntake starts the real server on SQLite in a temporary directory and a
// bare net/http handler that decodes the same JSON, drives both the same way on
// loopback, and prints durable tickets/s, latency and the ratio.
func benchIntake(ctx context.Context, w io.Writer, d time.Duration, clients []int, maxRequests int) error {
	dir, err := os.MkdirTemp("", "switchboard-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.HTTP.Addr, cfg.GRPC.Addr = "127.0.0.1:0", "127.0.0.1:0"
	log := slog.New(slog.DiscardHandler)
	a, err := build(ctx, cfg, false, log)
	if err != nil {
		return err
	}
	defer a.store.Close()
	token, err := benchOperator(ctx, a)
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- a.server.Run(sctx) }()
	httpAddr, _, err := a.server.Addrs(ctx)
	if err != nil {
		return err
	}

	bare, err := startBare()
	if err != nil {
		return err
	}
	defer bare.Close()

	fmt.Fprintf(w, "intake benchmark: POST /v1/tickets on loopback, SQLite WAL synchronous=FULL with group commit (max batch %d), %d CPUs, %s per measurement\n",
		cfg.Store.MaxBatch, runtime.NumCPU(), d)
	fmt.Fprintf(w, "Switchboard side: every request authenticated (API token, cache TTL %s) and authorized (Casbin policy) as an operator; the bare net/http baseline does neither\n",
		cfg.Auth.TokenCacheTTL)
	fmt.Fprintf(w, "%-8s %12s %9s %9s %14s %9s %9s %7s\n", "clients", "tickets/s", "p50", "p99", "bare req/s", "bare p50", "bare p99", "ratio")
	var acked int64
	for _, n := range clients {
		base, err := drive(ctx, "http://"+bare.Addr().String()+"/v1/tickets", "", n, d, maxRequests, false)
		if err != nil {
			return err
		}
		var before sqlstore.BatchStats
		stats, _ := a.store.(interface{ BatchStats() sqlstore.BatchStats })
		if stats != nil {
			before = stats.BatchStats()
		}
		res, err := drive(ctx, "http://"+httpAddr+"/v1/tickets", token, n, d, maxRequests, true)
		if err != nil {
			return err
		}
		acked += res.ok
		fmt.Fprintf(w, "%-8d %12.0f %9s %9s %14.0f %9s %9s %6.0f%%\n", n, res.rate(), ms(res.p50), ms(res.p99),
			base.rate(), ms(base.p50), ms(base.p99), 100*res.rate()/base.rate())
		if res.failed > 0 {
			fmt.Fprintf(w, "         %d requests failed\n", res.failed)
		}
		if stats != nil {
			printBatches(w, stats.BatchStats().Sub(before), res.elapsed)
		}
	}
	counts, err := a.store.CountByState(ctx)
	if err != nil {
		return err
	}
	var stored int64
	for _, c := range counts {
		stored += c
	}
	fmt.Fprintf(w, "durable: %d tickets acknowledged, %d in the store\n", acked, stored)
	stop()
	if err := <-done; err != nil {
		return err
	}
	if stored != acked {
		return fmt.Errorf("acknowledged %d tickets but the store holds %d", acked, stored)
	}
	return nil
}

// benchOperator creates the principal "bench-operator", grants it the
// operator role in the whole province (*) and returns a new API token of it:
// the benchmarks' clients file tickets as an operator would.
func benchOperator(ctx context.Context, a *app) (string, error) {
	now := time.Now()
	const id = "bench-operator"
	if err := a.auth.PutPrincipal(ctx, store.Principal{ID: id, Name: "压测话务员", Kind: store.PrincipalUser, Unit: authz.Province, CreatedAt: now}); err != nil {
		return "", err
	}
	grant := store.Rule{PType: "g", Values: []string{id, "operator", authz.Province}}
	if _, err := a.authz.Change(ctx, store.PolicyChange{Add: []store.Rule{grant},
		Audit: store.AuditEntry{At: now, Actor: "system:bench", Action: "policy.grant", Detail: authz.FormatRule(grant)}}); err != nil {
		return "", fmt.Errorf("granting the bench operator: %w", err)
	}
	return newToken(ctx, a.auth, id, "bench", "system:bench", now, a.newID)
}

// printBatches describes the group commit of a measurement: how big batches
// were, and how busy the committer was (its share of the wall time).
func printBatches(w io.Writer, b sqlstore.BatchStats, elapsed time.Duration) {
	if b.Batches == 0 {
		return
	}
	fmt.Fprintf(w, "         batches: %d, mean %.1f writes, max %d; committer busy %.0f%% (commit %.0f%%), %.1fµs per write\n",
		b.Batches, float64(b.Writes)/float64(b.Batches), b.Max,
		100*b.Busy.Seconds()/elapsed.Seconds(), 100*b.Commit.Seconds()/elapsed.Seconds(),
		float64(b.Busy.Microseconds())/float64(b.Writes))
	fmt.Fprintf(w, "         sizes:")
	for i, n := range b.Sizes {
		if n > 0 {
			fmt.Fprintf(w, " %d+:%.0f%%", 1<<i, 100*float64(n)/float64(b.Batches))
		}
	}
	fmt.Fprintln(w)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

// startBare serves the machine's ceiling: decode the same JSON, answer.
func startBare() (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var seq atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Channel string `json:"channel"`
			Caller  struct {
				Name  string `json:"name"`
				Phone string `json:"phone"`
			} `json:"caller"`
			Title    string `json:"title"`
			Content  string `json:"content"`
			Location struct {
				Address string `json:"address"`
			} `json:"location"`
			RequestType  string `json:"requestType"`
			DialedNumber string `json:"dialedNumber"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"%d","title":%q,"state":"RECEIVED"}`, seq.Add(1), body.Title)
	})
	go http.Serve(l, h)
	return l, nil
}

// drive runs n clients against url for d (or maxRequests requests), each
// sending the create body (with a fresh idempotency key if idempotent, and
// token as the bearer token unless it is ""), and measures.
func drive(ctx context.Context, url, token string, n int, d time.Duration, maxRequests int, idempotent bool) (benchResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		lats    []time.Duration
		ok, bad atomic.Int64
		issued  atomic.Int64
	)
	body := []byte(benchBody)
	bearer := "Bearer " + token
	start := time.Now()
	for c := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for i := 0; ctx.Err() == nil && issued.Add(1) <= int64(maxRequests); i++ {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if token != "" {
					req.Header.Set("Authorization", bearer)
				}
				if idempotent {
					req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d-%d-%d", start.UnixNano(), c, i))
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
						bad.Add(1)
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					bad.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
				ok.Add(1)
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lats) == 0 {
		return benchResult{}, fmt.Errorf("no request to %s succeeded", url)
	}
	slices.Sort(lats)
	return benchResult{
		ok: ok.Load(), failed: bad.Load(), elapsed: elapsed,
		p50: lats[len(lats)/2], p99: lats[len(lats)*99/100],
	}, nil
}

// startCPUProfile writes a CPU profile to path ("" = none) until stop.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
