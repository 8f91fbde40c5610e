package main

// The zero-loss drill shared by TestZeroLossUnderKills and `switchboard bench
// dispatch --scenario zeroloss`: a province of N departments, each with a
// REST backend on an in-process legacysim; the real gateway binary as a
// subprocess, SIGKILLed and restarted on the same data directory while
// clients file tickets with idempotency keys; then a drain and a
// reconciliation of every acknowledged ticket against the backends' ledgers
// and the dead letters.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchboard12345/switchboard/internal/legacysim"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/store/sqlstore"
)

// simProvince is a generated province: departments d00…, each with backend
// b00… under the sim's /b/{id}, and a rule sending category 9xxx to it.
type simProvince struct {
	n       int
	simURL  string
	timeout time.Duration
	// maxInFlight per backend; 0 leaves the dispatcher's default.
	maxInFlight int
}

func (p simProvince) backend(i int) string  { return fmt.Sprintf("b%02d", i) }
func (p simProvince) unit(i int) string     { return fmt.Sprintf("d%02d", i) }
func (p simProvince) category(i int) string { return fmt.Sprintf("9%03d01", i) } // rule "9%03d" matches it

// unitBackend maps each unit to its backend.
func (p simProvince) unitBackend() map[string]string {
	m := make(map[string]string, p.n)
	for i := range p.n {
		m[p.unit(i)] = p.backend(i)
	}
	return m
}

func (p simProvince) yaml() string {
	var b strings.Builder
	b.WriteString("name: 压测省\nunits:\n  - {id: root, name: 压测省人民政府, kind: province, region: \"440000\"}\n")
	for i := range p.n {
		fmt.Fprintf(&b, "  - {id: %s, name: 压测部门%02d, kind: department, parent: root, region: \"440000\"}\n", p.unit(i), i)
	}
	b.WriteString("backends:\n")
	for i := range p.n {
		fmt.Fprintf(&b, "  - {id: %s, unit: %s, kind: rest, endpoints: [\"%s/b/%s\"], timeout: %s", p.backend(i), p.unit(i), p.simURL, p.backend(i), p.timeout)
		if p.maxInFlight > 0 {
			fmt.Fprintf(&b, ", maxInFlight: %d", p.maxInFlight)
		}
		b.WriteString("}\n")
	}
	b.WriteString("rules:\n")
	for i := range p.n {
		fmt.Fprintf(&b, "  - {category: \"9%03d\", unit: %s}\n", i, p.unit(i))
	}
	return b.String()
}

// startSim serves a legacysim with n REST backends on loopback.
func startSim(p simProvince) (*legacysim.Sim, string, func(), error) {
	kinds := map[string]string{}
	for i := range p.n {
		kinds[p.backend(i)] = "rest"
	}
	sim, err := legacysim.New(kinds, false)
	if err != nil {
		return nil, "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	return sim, "http://" + l.Addr().String(), func() { sim.Close(); srv.Close() }, nil
}

// ticketBody is a create body routed by rule to the unit of category.
func ticketBody(category string, n int) string {
	return fmt.Sprintf(`{"channel":"PHONE","caller":{"name":"张三","phone":"13800138000"},"title":"压测工单%d","content":"小区夜间施工噪音扰民","location":{"address":"广州市天河区体育西路1号","regionCode":"440106"},"category":%q,"requestType":"COMPLAINT"}`, n, category)
}

// created is the part of a create answer the drills read.
type created struct {
	ID           string `json:"id"`
	State        string `json:"state"`
	HandlingUnit string `json:"handlingUnit"`
}

// errRefused is an answer that retrying the same request will not change.
var errRefused = errors.New("refused")

// postTicket files body under key once.
func postTicket(c *http.Client, base, key, body string) (created, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/tickets", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		return created{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return created{}, err
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return created{}, fmt.Errorf("status %d", resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return created{}, fmt.Errorf("%w: status %d: %s", errRefused, resp.StatusCode, data)
	}
	var got created
	if err := json.Unmarshal(data, &got); err != nil {
		return created{}, err
	}
	return got, nil
}

// bearerTransport sends an API token with every request (the gateway
// authenticates every API call).
type bearerTransport struct {
	token string
	base  http.RoundTripper
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// bootstrapToken runs `bin auth bootstrap args…`, which grants a role and
// creates a token on the store directly (before the gateway starts, or while
// it runs on the same SQLite file), and returns the token it prints.
func bootstrapToken(ctx context.Context, bin string, args ...string) (string, error) {
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, bin, append([]string{"auth", "bootstrap"}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("auth bootstrap: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	token := strings.TrimSpace(string(out))
	if token == "" || strings.ContainsAny(token, " \n") {
		return "", fmt.Errorf("auth bootstrap printed %q", out)
	}
	return token, nil
}

// pendingFromMetrics sums switchboard_dispatch_pending on base's /metrics.
func pendingFromMetrics(c *http.Client, base string) (int64, error) {
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("/metrics: status %d", resp.StatusCode)
	}
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "switchboard_dispatch_pending{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return int64(sum), sc.Err()
}

func waitHTTPReady(ctx context.Context, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s", url, within)
}

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// zeroLossConfig sizes the drill.
type zeroLossConfig struct {
	Bin      string // the switchboard binary to run as the gateway
	Dir      string // working directory (data, config, province, gateway log)
	Tickets  int
	Clients  int
	Backends int
	Kills    int
	// Filing and Drain bound the two phases.
	Filing, Drain time.Duration
	Logf          func(format string, args ...any)
}

// zeroLossResult is what the reconciliation found.
type zeroLossResult struct {
	Sent, Acknowledged   int
	Delivered            int // acknowledged and in their backend's ledger
	DeadLettered         int // acknowledged and parked
	Lost                 []string
	DuplicatedEffects    int // a ticket with two case numbers, or two tickets for one key
	RepeatArrivals       int // arrivals beyond the first, per key
	UnackedDeliveries    int // ledger keys no acknowledged ticket explains
	Unrouted             int // acknowledged without the expected handling unit
	NoTicketID           int // ledger entries whose payload named no ticket (blind to duplicates)
	Kills                int
	ClientRetries        int64
	GaveUp               int64 // keys a client abandoned at the filing deadline
	Refused              int64
	PendingAfterDrain    int64
	AttemptsPerDelivered float64
	FilingTime           time.Duration
	DrainTime            time.Duration
}

func (r zeroLossResult) String() string {
	return fmt.Sprintf("acknowledged=%d delivered=%d lost=%d duplicated_effects=%d repeat_arrivals=%d dead_lettered=%d unacked_deliveries=%d kills=%d client_retries=%d attempts_per_delivered=%.2f filing=%s drain=%s",
		r.Acknowledged, r.Delivered, len(r.Lost), r.DuplicatedEffects, r.RepeatArrivals, r.DeadLettered, r.UnackedDeliveries,
		r.Kills, r.ClientRetries, r.AttemptsPerDelivered, r.FilingTime.Round(time.Millisecond), r.DrainTime.Round(time.Millisecond))
}

// runZeroLoss runs the drill. An error means the drill could not run (or
// could not finish within its bounds); losses are in the result.
func runZeroLoss(ctx context.Context, c zeroLossConfig) (res zeroLossResult, err error) {
	logf := c.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	p := simProvince{n: c.Backends, timeout: time.Second}
	sim, simURL, stopSim, err := startSim(p)
	if err != nil {
		return res, err
	}
	defer stopSim()
	p.simURL = simURL
	provincePath := filepath.Join(c.Dir, "province.yaml")
	if err := os.WriteFile(provincePath, []byte(p.yaml()), 0o644); err != nil {
		return res, err
	}
	httpAddr, err := freeLoopbackAddr()
	if err != nil {
		return res, err
	}
	grpcAddr, err := freeLoopbackAddr()
	if err != nil {
		return res, err
	}
	dataDir := filepath.Join(c.Dir, "data")
	cfgPath := filepath.Join(c.Dir, "switchboard.yaml")
	cfg := fmt.Sprintf(`http: {addr: %q}
grpc: {addr: %q}
dataDir: %q
province: %q
log: {level: warn}
dispatch:
  autoDispatch: true
  deliver: true
  timeout: 1s
  maxAttempts: 100000
  backoffBase: 20ms
  backoffMax: 500ms
  openFor: 500ms
  consecutiveFailures: 5
`, httpAddr, grpcAddr, dataDir, provincePath)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return res, err
	}
	logFile, err := os.Create(filepath.Join(c.Dir, "gateway.log"))
	if err != nil {
		return res, err
	}
	defer logFile.Close()
	base := "http://" + httpAddr
	// The clients are an operator of the whole province: granted before the
	// first start, while the registry is still empty (the gateway imports the
	// province when it starts).
	token, err := bootstrapToken(ctx, c.Bin, "--config", cfgPath, "--principal", "zeroloss", "--role", "operator", "--unit", "*")
	if err != nil {
		return res, err
	}

	var (
		procMu sync.Mutex
		proc   *exec.Cmd
	)
	start := func() error {
		cmd := exec.Command(c.Bin, "serve", "--config", cfgPath)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			return err
		}
		procMu.Lock()
		proc = cmd
		procMu.Unlock()
		return waitHTTPReady(ctx, base+"/readyz", 30*time.Second)
	}
	defer func() {
		procMu.Lock()
		defer procMu.Unlock()
		if proc != nil && proc.ProcessState == nil {
			proc.Process.Kill()
			proc.Wait()
		}
	}()
	if err := start(); err != nil {
		return res, err
	}

	// Faults: error rates 0–50% everywhere, latency on a third, one flapping,
	// one down until half the tickets are in, one accepting slowly (it
	// records, then answers late: kills then leave repeat arrivals).
	rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
	const (
		downB  = 1
		flapB  = 2
		slowB  = 3
		cleanB = 0 // healthy throughout
	)
	for i := range p.n {
		f := legacysim.Faults{ErrorRate: rng.Float64() * 0.5}
		if i%3 == 0 {
			f.Latency = time.Duration(rng.IntN(10)) * time.Millisecond
		}
		switch i {
		case cleanB:
			f = legacysim.Faults{}
		case downB:
			f = legacysim.Faults{Down: true}
		case flapB:
			f.FlapEvery = 300 * time.Millisecond
		case slowB:
			f = legacysim.Faults{SlowAccept: 300 * time.Millisecond}
		}
		sim.SetFaults(p.backend(i), f)
	}

	// Kill points: fractions of the tickets acknowledged.
	points := make([]int, c.Kills)
	for i := range points {
		points[i] = int(float64(c.Tickets) * (0.1 + 0.75*rng.Float64()))
	}
	slices.Sort(points)

	type ack struct{ key, id, unit, wantUnit string }
	var (
		mu       sync.Mutex
		acks     = make([]ack, 0, c.Tickets)
		acked    atomic.Int64
		retries  atomic.Int64
		gaveUp   atomic.Int64
		refused  atomic.Int64
		wg       sync.WaitGroup
		firstErr error
	)
	fctx, cancel := context.WithTimeout(ctx, c.Filing)
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: c.Clients, MaxConnsPerHost: c.Clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: bearerTransport{token, tr}, Timeout: 10 * time.Second}
	run := rng.Uint32()
	t0 := time.Now()
	for cl := range c.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := cl; i < c.Tickets; i += c.Clients {
				b := (i*7 + cl) % p.n
				key := fmt.Sprintf("zl-%08x-%d", run, i)
				body := ticketBody(p.category(b), i)
				for try := 0; ; try++ {
					if fctx.Err() != nil {
						gaveUp.Add(1)
						return
					}
					got, err := postTicket(client, base, key, body)
					if err == nil {
						mu.Lock()
						acks = append(acks, ack{key, got.ID, got.HandlingUnit, p.unit(b)})
						mu.Unlock()
						acked.Add(1)
						break
					}
					if errors.Is(err, errRefused) {
						refused.Add(1)
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						break
					}
					retries.Add(1)
					time.Sleep(time.Duration(20+rand.IntN(30)) * time.Millisecond)
				}
			}
		}()
	}
	// The killer: SIGKILL at each point, restart on the same data directory.
	killErr := make(chan error, 1)
	go func() {
		defer close(killErr)
		downCleared := false
		for next := 0; fctx.Err() == nil && (next < len(points) || !downCleared); {
			n := int(acked.Load())
			if !downCleared && n >= c.Tickets/2 {
				sim.SetFaults(p.backend(downB), legacysim.Faults{})
				downCleared = true
			}
			if next < len(points) && n >= points[next] {
				procMu.Lock()
				cmd := proc
				procMu.Unlock()
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()
				res.Kills++
				logf("SIGKILL #%d at %d acknowledged (%s)", res.Kills, n, time.Since(t0).Round(time.Millisecond))
				time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond)
				if err := start(); err != nil {
					killErr <- fmt.Errorf("restart after kill %d: %w", res.Kills, err)
					return
				}
				next++
				continue
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	wg.Wait()
	cancel()
	if err := <-killErr; err != nil {
		return res, err
	}
	res.FilingTime = time.Since(t0)
	res.Sent, res.Acknowledged = c.Tickets, len(acks)
	res.ClientRetries, res.GaveUp, res.Refused = retries.Load(), gaveUp.Load(), refused.Load()
	logf("filed: %d acknowledged of %d in %s, %d client retries, %d kills", len(acks), c.Tickets, res.FilingTime.Round(time.Millisecond), res.ClientRetries, res.Kills)
	if firstErr != nil {
		return res, fmt.Errorf("%d creations refused, first: %w", res.Refused, firstErr)
	}

	// Drain: no faults, wait for the outbox to empty.
	for i := range p.n {
		sim.SetFaults(p.backend(i), legacysim.Faults{})
	}
	d0 := time.Now()
	zeros := 0
	res.PendingAfterDrain = -1
	for time.Since(d0) < c.Drain && ctx.Err() == nil {
		n, err := pendingFromMetrics(client, base)
		if err == nil {
			res.PendingAfterDrain = n
			if n == 0 {
				zeros++
			} else {
				zeros = 0
			}
			if zeros >= 2 {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	res.DrainTime = time.Since(d0)
	logf("drain: %d pending after %s", res.PendingAfterDrain, res.DrainTime.Round(time.Millisecond))

	// Stop the gateway cleanly and read the outbox.
	procMu.Lock()
	cmd := proc
	procMu.Unlock()
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dataDir, "switchboard.db"), sqlstore.Options{})
	if err != nil {
		return res, err
	}
	defer st.Close()
	dead := map[string]bool{}
	var after int64
	for range 10000 { // pages of 1000: bounded
		page, err := st.DeadLetters(ctx, store.DeadQuery{Limit: 1000, After: after})
		if err != nil {
			return res, err
		}
		for _, m := range page {
			dead[m.Key] = true
			after = m.ID
		}
		if len(page) < 1000 {
			break
		}
	}
	stats, err := st.OutboxStats(ctx, time.Now())
	if err != nil {
		return res, err
	}
	var delivered, attempts, pending int64
	for _, q := range stats {
		delivered += q.Delivered
		attempts += q.Attempts
		pending += q.Pending
	}
	res.PendingAfterDrain = pending
	if delivered > 0 {
		res.AttemptsPerDelivered = float64(attempts) / float64(delivered)
	}

	// Reconcile.
	ub := p.unitBackend()
	ledgers := map[string]map[string]legacysim.Entry{}
	for i := range p.n {
		ledgers[p.backend(i)] = sim.Backend(p.backend(i)).Ledger()
	}
	explained := map[string]bool{}
	for _, a := range acks {
		if a.unit != a.wantUnit {
			res.Unrouted++
		}
		key := a.id + "/2/" + a.unit
		explained[key] = true
		if e, ok := ledgers[ub[a.unit]][key]; ok && e.Arrivals >= 1 {
			res.Delivered++
		} else if dead[key] {
			res.DeadLettered++
		} else {
			res.Lost = append(res.Lost, key)
		}
	}
	for _, l := range ledgers {
		byTicket := map[string]int{}
		for key, e := range l {
			res.RepeatArrivals += e.Arrivals - 1
			if !explained[key] {
				res.UnackedDeliveries++
			}
			if e.TicketID != "" {
				byTicket[e.TicketID]++
			} else {
				res.NoTicketID++
			}
		}
		for _, n := range byTicket {
			res.DuplicatedEffects += n - 1
		}
	}
	// Every client retried its keys until acknowledged: a delivery no
	// acknowledgement explains is a second ticket for one call.
	if res.GaveUp == 0 {
		res.DuplicatedEffects += res.UnackedDeliveries
	}
	return res, nil
}
