package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/store"
)

// statusName is the canonical upper-case name of a gRPC code, e.g.
// INVALID_ARGUMENT.
func statusName(c codes.Code) string { return rpccode.Code(c).String() }

const mdRequestID = "x-request-id"

type requestIDKey struct{}

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id of ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// LogHandler wraps h so every record logged with a request's context carries
// its request id under the key "request".
func LogHandler(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// unaryInterceptor gives gRPC calls a request id, metrics and panic recovery.
func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	id := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(mdRequestID); len(v) > 0 && len(v[0]) <= 128 {
			id = v[0]
		}
	}
	if id == "" {
		id = newRequestID()
	}
	ctx = withRequestID(ctx, id)
	grpc.SetHeader(ctx, metadata.Pairs(mdRequestID, id))
	defer func() {
		if p := recover(); p != nil {
			s.log.ErrorContext(ctx, "panic in gRPC handler", "panic", p, "stack", string(debug.Stack()))
			err = status.Error(codes.Internal, "internal error")
		}
		s.metrics.observeGRPC(info.FullMethod, status.Code(err), time.Since(start))
	}()
	if err := s.codec.take(req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// metrics are the server's Prometheus metrics.
type metrics struct {
	httpRequests *prometheus.CounterVec
	httpLatency  *prometheus.HistogramVec
	grpcRequests *prometheus.CounterVec
	grpcLatency  *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry, st store.Store) *metrics {
	buckets := []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	m := &metrics{
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_http_requests_total", Help: "REST requests by method, route and status code.",
		}, []string{"method", "route", "code"}),
		httpLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_http_request_duration_seconds", Help: "REST request latency by method and route.", Buckets: buckets,
		}, []string{"method", "route"}),
		grpcRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_grpc_requests_total", Help: "gRPC requests by method and code.",
		}, []string{"method", "code"}),
		grpcLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_grpc_request_duration_seconds", Help: "gRPC request latency by method.", Buckets: buckets,
		}, []string{"method"}),
	}
	reg.MustRegister(m.httpRequests, m.httpLatency, m.grpcRequests, m.grpcLatency,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}),
		&ticketsCollector{store: st})
	return m
}

func (m *metrics) observeHTTP(method, route string, code int, d time.Duration) {
	m.httpRequests.WithLabelValues(method, route, strconv.Itoa(code)).Inc()
	m.httpLatency.WithLabelValues(method, route).Observe(d.Seconds())
}

func (m *metrics) observeGRPC(method string, code codes.Code, d time.Duration) {
	m.grpcRequests.WithLabelValues(method, code.String()).Inc()
	m.grpcLatency.WithLabelValues(method).Observe(d.Seconds())
}

// ticketsCollector reports tickets by state, counted by the store at most every
// 10 seconds so scrapes stay cheap on large stores.
type ticketsCollector struct {
	store store.Store
	mu    sync.Mutex
	at    time.Time
	last  map[ticket.State]int64
}

var ticketsDesc = prometheus.NewDesc("switchboard_tickets", "Tickets by lifecycle state.", []string{"state"}, nil)

func (c *ticketsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- ticketsDesc }

func (c *ticketsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > 10*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		counts, err := c.store.CountByState(ctx)
		cancel()
		if err == nil {
			c.last, c.at = counts, time.Now()
		}
	}
	for _, st := range ticket.AllStates {
		ch <- prometheus.MustNewConstMetric(ticketsDesc, prometheus.GaugeValue, float64(c.last[st]), string(st))
	}
}
