package main

// `switchboard bench dispatch`: the dispatcher's figures against simulated
// department systems (internal/legacysim) on loopback. zeroloss runs this
// binary as a subprocess and kills it; the other scenarios run the gateway in
// this process (build) so that acknowledgement and arrival share one clock.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard12345/switchboard/dispatch"
	"github.com/switchboard12345/switchboard/gateway/config"
	"github.com/switchboard12345/switchboard/internal/legacysim"
)

var benchScenarios = []string{"zeroloss", "isolation", "breaker", "retry", "latency"}

type benchDispatchOpts struct {
	tickets     int           // zeroloss
	kills       int           // zeroloss
	isoRate     int           // isolation, tickets/s
	isoDur      time.Duration // isolation, per run
	latRate     int           // latency, tickets/s
	latDur      time.Duration // latency
	outage      time.Duration // retry, hard-down period
	retryTickts int           // retry, tickets to the 50%-failing backend
}

func benchDispatchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench dispatch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenario := fs.String("scenario", "all", "all, or comma-separated of "+strings.Join(benchScenarios, ", "))
	var o benchDispatchOpts
	fs.IntVar(&o.tickets, "tickets", 100_000, "zeroloss: tickets to file")
	fs.IntVar(&o.kills, "kills", 3, "zeroloss: SIGKILLs during filing")
	fs.IntVar(&o.isoRate, "isolation-rate", 1000, "isolation: tickets/s")
	fs.DurationVar(&o.isoDur, "isolation-duration", 10*time.Second, "isolation: load per run (two runs)")
	fs.IntVar(&o.latRate, "latency-rate", 2000, "latency: tickets/s")
	fs.DurationVar(&o.latDur, "latency-duration", 10*time.Second, "latency: load duration")
	fs.DurationVar(&o.outage, "outage", 10*time.Second, "retry: how long the backend is hard down")
	fs.IntVar(&o.retryTickts, "retry-tickets", 1000, "retry: tickets to the backend failing 50%")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case o.tickets < 100 || o.tickets > 1_000_000:
		return usageError{"--tickets: between 100 and 1000000"}
	case o.kills < 0 || o.kills > 20:
		return usageError{"--kills: between 0 and 20"}
	case o.isoRate < 1 || o.isoRate > 20000 || o.latRate < 1 || o.latRate > 20000:
		return usageError{"rates: between 1 and 20000 tickets/s"}
	case o.isoDur <= 0 || o.isoDur > 5*time.Minute || o.latDur <= 0 || o.latDur > 5*time.Minute || o.outage <= 0 || o.outage > 5*time.Minute:
		return usageError{"durations: between 0 and 5m"}
	case o.retryTickts < 1 || o.retryTickts > 100000:
		return usageError{"--retry-tickets: between 1 and 100000"}
	}
	run := benchScenarios
	if *scenario != "all" {
		run = splitList(*scenario)
		for _, s := range run {
			if !slices.Contains(benchScenarios, s) {
				return usageError{fmt.Sprintf("--scenario: unknown %q (all, %s)", s, strings.Join(benchScenarios, ", "))}
			}
		}
	}
	stop, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	for _, s := range run {
		t0 := time.Now()
		var err error
		switch s {
		case "zeroloss":
			err = benchZeroLoss(ctx, stdout, o)
		case "isolation":
			err = benchIsolation(ctx, stdout, o)
		case "breaker":
			err = benchBreaker(ctx, stdout)
		case "retry":
			err = benchRetry(ctx, stdout, o)
		case "latency":
			err = benchLatency(ctx, stdout, o)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		fmt.Fprintf(stdout, "%s: took %s\n", s, time.Since(t0).Round(time.Millisecond))
	}
	return nil
}

func benchZeroLoss(ctx context.Context, w io.Writer, o benchDispatchOpts) error {
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "switchboard-zeroloss-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	res, err := runZeroLoss(ctx, zeroLossConfig{
		Bin: bin, Dir: dir, Tickets: o.tickets, Clients: 16, Backends: 60, Kills: o.kills,
		Filing: 10 * time.Minute, Drain: 5 * time.Minute,
		Logf: func(f string, a ...any) { fmt.Fprintf(w, "zeroloss:   "+f+"\n", a...) },
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "zeroloss: acknowledged=%d lost=%d duplicated_effects=%d repeat_arrivals=%d dead_lettered=%d\n",
		res.Acknowledged, len(res.Lost), res.DuplicatedEffects, res.RepeatArrivals, res.DeadLettered)
	fmt.Fprintf(w, "zeroloss: %s\n", res)
	if len(res.Lost) > 0 || res.DuplicatedEffects > 0 || res.Acknowledged != o.tickets {
		return fmt.Errorf("zero loss violated: %s", res)
	}
	return nil
}

// rig is a gateway in this process with its dispatcher, on SQLite in a
// temporary directory, routing to a legacysim of n REST backends; its client
// files tickets as an operator, with an API token (benchOperator).
type benchRig struct {
	p       simProvince
	sim     *legacysim.Sim
	a       *app
	base    string
	client  *http.Client
	cleanup []func()
}

func newBenchRig(ctx context.Context, n, maxInFlight int, tune config.Dispatch) (*benchRig, error) {
	r := &benchRig{p: simProvince{n: n, timeout: tune.Timeout, maxInFlight: maxInFlight}}
	sim, url, stop, err := startSim(r.p)
	if err != nil {
		return nil, err
	}
	r.sim, r.p.simURL = sim, url
	r.cleanup = append(r.cleanup, stop)
	dir, err := os.MkdirTemp("", "switchboard-benchdispatch-")
	if err != nil {
		r.close()
		return nil, err
	}
	r.cleanup = append(r.cleanup, func() { os.RemoveAll(dir) })
	province := filepath.Join(dir, "province.yaml")
	if err := os.WriteFile(province, []byte(r.p.yaml()), 0o644); err != nil {
		r.close()
		return nil, err
	}
	cfg := config.Default()
	cfg.DataDir, cfg.Province = dir, province
	cfg.HTTP.Addr, cfg.GRPC.Addr = "127.0.0.1:0", "127.0.0.1:0"
	tune.AutoDispatch, tune.Deliver = true, true
	cfg.Dispatch = tune
	a, err := build(ctx, cfg, false, slog.New(slog.DiscardHandler))
	if err != nil {
		r.close()
		return nil, err
	}
	r.a = a
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go a.routes.Run(sctx)
	sdone, ddone := make(chan error, 1), make(chan error, 1)
	go func() { ddone <- a.dispatcher.Run(sctx) }()
	go func() { sdone <- a.server.Run(sctx) }()
	r.cleanup = append(r.cleanup, func() { cancel(); <-sdone; <-ddone; a.store.Close() })
	httpAddr, _, err := a.server.Addrs(ctx)
	if err != nil {
		r.close()
		return nil, err
	}
	r.base = "http://" + httpAddr
	token, err := benchOperator(ctx, a)
	if err != nil {
		r.close()
		return nil, err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128, DisableCompression: true}
	r.client = &http.Client{Transport: bearerTransport{token, tr}, Timeout: 10 * time.Second}
	r.cleanup = append(r.cleanup, tr.CloseIdleConnections)
	return r, nil
}

func (r *benchRig) close() {
	for i := len(r.cleanup) - 1; i >= 0; i-- {
		r.cleanup[i]()
	}
	r.cleanup = nil
}

// filed is one acknowledged ticket.
type filed struct {
	key     string // its outbox key
	backend string
	ack     time.Time
}

// load files rate tickets/s for d (open loop: a ticket is due at its time
// whether or not earlier ones were answered), to the backend pick chooses.
func (r *benchRig) load(ctx context.Context, rate int, d time.Duration, pick func(i int) int) ([]filed, int, error) {
	total := int(float64(rate) * d.Seconds())
	due := make(chan int, total)
	var (
		mu     sync.Mutex
		out    = make([]filed, 0, total)
		failed int
		wg     sync.WaitGroup
	)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range due {
				b := pick(i)
				got, err := postTicket(r.client, r.base, fmt.Sprintf("bd-%d-%d", time.Now().UnixNano(), i), ticketBody(r.p.category(b), i))
				at := time.Now()
				mu.Lock()
				if err != nil || got.HandlingUnit != r.p.unit(b) {
					failed++
				} else {
					out = append(out, filed{got.ID + "/2/" + got.HandlingUnit, r.p.backend(b), at})
				}
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := 0; i < total && ctx.Err() == nil; i++ {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		due <- i
	}
	close(due)
	wg.Wait()
	if len(out) == 0 {
		return nil, failed, errors.New("no ticket acknowledged")
	}
	return out, failed, ctx.Err()
}

// status returns backend id's dispatch status.
func (r *benchRig) status(ctx context.Context, id string) (dispatch.BackendStatus, error) {
	st, err := r.a.dispatcher.Status(ctx)
	if err != nil {
		return dispatch.BackendStatus{}, err
	}
	for _, b := range st.Backends {
		if b.Backend == id {
			return b, nil
		}
	}
	return dispatch.BackendStatus{Backend: id}, nil
}

// drain waits (at most within) until no backend but those skipped has
// messages pending.
func (r *benchRig) drain(ctx context.Context, within time.Duration, skip ...string) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		st, err := r.a.dispatcher.Status(ctx)
		if err != nil {
			return err
		}
		var pending int64
		for _, b := range st.Backends {
			if !slices.Contains(skip, b.Backend) {
				pending += b.Pending
			}
		}
		if pending == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("outbox not drained within %s", within)
}

// latencies returns ack → first arrival at the sim for the tickets, sorted;
// missing counts those not arrived.
func (r *benchRig) latencies(fs []filed) (lats []time.Duration, missing int) {
	ledgers := map[string]map[string]legacysim.Entry{}
	for _, f := range fs {
		l, ok := ledgers[f.backend]
		if !ok {
			l = r.sim.Backend(f.backend).Ledger()
			ledgers[f.backend] = l
		}
		e, ok := l[f.key]
		if !ok {
			missing++
			continue
		}
		lats = append(lats, max(0, e.First.Sub(f.ack)))
	}
	slices.Sort(lats)
	return lats, missing
}

func pct(lats []time.Duration, q float64) time.Duration {
	if len(lats) == 0 {
		return 0
	}
	return lats[min(len(lats)-1, int(math.Ceil(q*float64(len(lats))))-1)]
}

func benchTuning() config.Dispatch {
	return config.Dispatch{Timeout: time.Second, MaxAttempts: 100000, BackoffBase: 20 * time.Millisecond,
		BackoffMax: 500 * time.Millisecond, ConsecutiveFailures: 5, OpenFor: time.Second}
}

func benchIsolation(ctx context.Context, w io.Writer, o benchDispatchOpts) error {
	const n = 60
	p99 := map[bool]time.Duration{}
	for _, hang := range []bool{false, true} {
		r, err := newBenchRig(ctx, n, 0, benchTuning())
		if err != nil {
			return err
		}
		if hang {
			r.sim.SetFaults(r.p.backend(0), legacysim.Faults{Hang: true})
		}
		fs, failed, err := r.load(ctx, o.isoRate, o.isoDur, func(i int) int { return i % n })
		if err == nil {
			err = r.drain(ctx, time.Minute, r.p.backend(0))
		}
		var others []filed
		for _, f := range fs {
			if f.backend != r.p.backend(0) {
				others = append(others, f)
			}
		}
		lats, missing := r.latencies(others)
		b0, _ := r.status(ctx, r.p.backend(0))
		r.close()
		if err != nil {
			return err
		}
		label := "all healthy"
		if hang {
			label = "b00 hanging"
		}
		p99[hang] = pct(lats, 0.99)
		fmt.Fprintf(w, "isolation: run=%q rate=%d/s duration=%s acknowledged=%d failed=%d other_backends_delivered=%d missing=%d p50=%s p99=%s (b00: breaker=%s pending=%d)\n",
			label, o.isoRate, o.isoDur, len(fs), failed, len(lats), missing, ms(pct(lats, 0.5)), ms(p99[hang]), b0.Breaker, b0.Pending)
	}
	fmt.Fprintf(w, "isolation: other_backends_p99 healthy=%s with_hang=%s ratio=%.2f (target <= 1.10)\n",
		ms(p99[false]), ms(p99[true]), float64(p99[true])/float64(max(p99[false], time.Microsecond)))
	return nil
}

func benchLatency(ctx context.Context, w io.Writer, o benchDispatchOpts) error {
	const n = 60
	r, err := newBenchRig(ctx, n, 0, benchTuning())
	if err != nil {
		return err
	}
	defer r.close()
	fs, failed, err := r.load(ctx, o.latRate, o.latDur, func(i int) int { return i % n })
	if err != nil {
		return err
	}
	if err := r.drain(ctx, time.Minute); err != nil {
		return err
	}
	lats, missing := r.latencies(fs)
	fmt.Fprintf(w, "latency: rate=%d/s duration=%s acknowledged=%d failed=%d delivered=%d missing=%d ack_to_arrival p50=%s p99=%s max=%s (targets p50 <= 5ms, p99 <= 50ms)\n",
		o.latRate, o.latDur, len(fs), failed, len(lats), missing, ms(pct(lats, 0.5)), ms(pct(lats, 0.99)), ms(pct(lats, 1)))
	return nil
}

// benchBreaker: a hard-down backend fed at 25 tickets/s; the breaker's
// reaction time from the first failed attempt (Status polled every 5 ms);
// then the backend hangs and a half-open probe must end within the call
// timeout.
func benchBreaker(ctx context.Context, w io.Writer) error {
	tune := benchTuning()
	r, err := newBenchRig(ctx, 1, 0, tune)
	if err != nil {
		return err
	}
	defer r.close()
	b := r.p.backend(0)
	r.sim.SetFaults(b, legacysim.Faults{Down: true})
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		r.load(lctx, 25, 20*time.Second, func(int) int { return 0 })
	}()
	defer func() { stop(); <-loadDone }()

	var firstFail, opened time.Time
	var failsAtOpen int64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && opened.IsZero(); time.Sleep(5 * time.Millisecond) {
		s, err := r.status(ctx, b)
		if err != nil {
			return err
		}
		now := time.Now()
		if firstFail.IsZero() && s.Failures > 0 {
			firstFail = now
		}
		if s.Breaker == "open" {
			opened, failsAtOpen = now, s.Failures
		}
	}
	if opened.IsZero() || firstFail.IsZero() {
		return errors.New("the breaker did not open within 10s of a hard-down backend")
	}
	fmt.Fprintf(w, "breaker: down_backend feed=25/s first_failure_to_open=%s failures_before_open=%d (consecutiveFailures=%d, poll 5ms)\n",
		ms(opened.Sub(firstFail)), failsAtOpen, tune.ConsecutiveFailures)

	// Now it hangs: the next half-open probe must give up at the call timeout.
	r.sim.SetFaults(b, legacysim.Faults{Hang: true})
	var probeStart, probeEnd time.Time
	var attemptsBefore int64
	for deadline := time.Now().Add(tune.OpenFor + 3*tune.Timeout + 2*time.Second); time.Now().Before(deadline) && probeEnd.IsZero(); time.Sleep(5 * time.Millisecond) {
		s, err := r.status(ctx, b)
		if err != nil {
			return err
		}
		now := time.Now()
		switch {
		case probeStart.IsZero() && s.InFlight > 0:
			probeStart, attemptsBefore = now, s.Attempts
		case !probeStart.IsZero() && s.InFlight == 0:
			probeEnd = now
			fmt.Fprintf(w, "breaker: half_open_probe_against_hang ended_in=%s call_timeout=%s breaker_after=%s probe_calls=%d\n",
				ms(probeEnd.Sub(probeStart)), tune.Timeout, s.Breaker, s.Attempts-attemptsBefore+1)
		}
	}
	if probeEnd.IsZero() {
		return errors.New("no half-open probe started and ended against the hanging backend")
	}
	return nil
}

// benchRetry: attempts per delivered ticket at 50% failures; attempts/s while
// the backend is hard down; arrivals per 100 ms after it recovers.
func benchRetry(ctx context.Context, w io.Writer, o benchDispatchOpts) error {
	tune := benchTuning()
	tune.BackoffBase, tune.BackoffMax = 100*time.Millisecond, 2*time.Second
	const bulkhead = 8
	r, err := newBenchRig(ctx, 1, bulkhead, tune)
	if err != nil {
		return err
	}
	defer r.close()
	b := r.p.backend(0)

	// 50% failures.
	r.sim.SetFaults(b, legacysim.Faults{ErrorRate: 0.5})
	fs, _, err := r.load(ctx, 200, time.Duration(o.retryTickts)*time.Second/200, func(int) int { return 0 })
	if err != nil {
		return err
	}
	if err := r.drain(ctx, 2*time.Minute); err != nil {
		return err
	}
	s, err := r.status(ctx, b)
	if err != nil {
		return err
	}
	arr := len(r.sim.Backend(b).Arrivals())
	fmt.Fprintf(w, "retry: error_rate=50%% tickets=%d delivered=%d attempts=%d attempts_per_delivered=%.2f (ideal 2) sim_accepted=%d\n",
		len(fs), s.Delivered, s.Attempts, float64(s.Attempts)/float64(max(s.Delivered, 1)), arr)

	// Hard down: attempts per second should fall to the probe rate.
	r.sim.SetFaults(b, legacysim.Faults{Down: true})
	lctx, stop := context.WithCancel(ctx)
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		r.load(lctx, 20, o.outage, func(int) int { return 0 })
	}()
	var perSec []int64
	prev := s.Attempts
	for range int(o.outage / time.Second) {
		time.Sleep(time.Second)
		s, err := r.status(ctx, b)
		if err != nil {
			stop()
			<-loadDone
			return err
		}
		perSec = append(perSec, s.Attempts-prev)
		prev = s.Attempts
	}
	stop()
	<-loadDone
	tail := perSec[len(perSec)/2:]
	var sum int64
	for _, v := range tail {
		sum += v
	}
	fmt.Fprintf(w, "retry: hard_down=%s feed=20/s attempts_per_second=%v second_half_mean=%.1f/s (probe rate 1/openFor = %.1f/s)\n",
		o.outage, perSec, float64(sum)/float64(max(len(tail), 1)), 1/tune.OpenFor.Seconds())

	// Recovery with 20 ms answers: the bulkhead allows 8 per 20 ms, 40 per 100 ms.
	pendingBefore, _ := r.status(ctx, b)
	r.sim.SetFaults(b, legacysim.Faults{Latency: 20 * time.Millisecond})
	rec := time.Now()
	time.Sleep(3 * time.Second)
	bins := make([]int, 30)
	for _, a := range r.sim.Backend(b).Arrivals() {
		if d := a.At.Sub(rec); d >= 0 && d < 3*time.Second {
			bins[int(d/(100*time.Millisecond))]++
		}
	}
	capacity := bulkhead * int(100*time.Millisecond/(20*time.Millisecond))
	fmt.Fprintf(w, "retry: recovery backlog=%d arrivals_per_100ms=%v max=%d bulkhead_capacity=%d/100ms\n",
		pendingBefore.Pending, bins, slices.Max(bins), capacity)
	return r.drain(ctx, time.Minute)
}
