package legacysim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/switchboard12345/switchboard/registry"
)

// route sends requests under a path prefix of one listener to a backend.
type route struct {
	prefix string // without a trailing slash; "" for the whole listener
	b      *Backend
}

// FromProvince returns a Sim of the backends of p that have a system to
// simulate: every backend of kind rest, open311, soap, smtp or amqp whose
// endpoints are on loopback, served at those endpoints by Start. HTTP
// backends are routed by host:port and path prefix (backends may share a
// port); smtp backends sharing an address share one server and are told
// apart by their "to" mailboxes; an amqp backend consumes the queue its
// adapter's messages are routed to. Manual backends, backends found through
// Consul (service) and backends with endpoints elsewhere are skipped (see
// Skipped).
func FromProvince(p *registry.ProvinceFile, o Options) (*Sim, error) {
	s := newSim(o)
	s.httpRoutes = map[string][]route{}
	s.mailboxes = map[string]map[string][]*Backend{}
	schemeOf := map[string]string{} // host:port → the scheme served there
	claim := func(hostport, scheme, id string) error {
		if got, ok := schemeOf[hostport]; ok && got != scheme {
			return fmt.Errorf("backend %s: %s is served as %s by another backend, not %s", id, hostport, got, scheme)
		}
		schemeOf[hostport] = scheme
		return nil
	}
	for _, rb := range p.Backends {
		skip := func(why string) { s.skipped = append(s.skipped, rb.ID+": "+why) }
		switch {
		case rb.Kind == "manual":
			skip("manual (no system)")
			continue
		case !slices.Contains(Kinds, rb.Kind):
			skip("kind " + rb.Kind + " is not simulated")
			continue
		case len(rb.Endpoints) == 0:
			skip("no static endpoints (Consul service " + rb.Service + ")")
			continue
		}
		var eps []string
		for _, e := range rb.Endpoints {
			if _, ok := loopbackURL(e); ok {
				eps = append(eps, e)
			}
		}
		if len(eps) == 0 {
			skip("no loopback endpoint")
			continue
		}
		b := s.add(rb.ID, rb.Kind, eps)
		switch rb.Kind {
		case "rest", "open311", "soap":
			for _, e := range eps {
				u, _ := loopbackURL(e)
				if u.Scheme != "http" {
					return nil, fmt.Errorf("backend %s: endpoint %s: only http is simulated", rb.ID, e)
				}
				if err := claim(u.Host, "http", rb.ID); err != nil {
					return nil, err
				}
				prefix := strings.TrimRight(u.Path, "/")
				for _, r := range s.httpRoutes[u.Host] {
					if r.prefix == prefix {
						return nil, fmt.Errorf("backend %s: endpoint %s is backend %s's too", rb.ID, e, r.b.ID)
					}
				}
				s.httpRoutes[u.Host] = append(s.httpRoutes[u.Host], route{prefix: prefix, b: b})
			}
		case "smtp":
			to, err := mail.ParseAddressList(rb.Config["to"])
			if err != nil || len(to) == 0 {
				return nil, fmt.Errorf("backend %s: config.to: want the department's mailboxes: %v", rb.ID, err)
			}
			for _, e := range eps {
				u, _ := loopbackURL(e)
				if u.Scheme != "smtp" {
					return nil, fmt.Errorf("backend %s: endpoint %s: want smtp://host:port", rb.ID, e)
				}
				host := u.Host
				if u.Port() == "" {
					host = net.JoinHostPort(u.Hostname(), "25")
				}
				if err := claim(host, "smtp", rb.ID); err != nil {
					return nil, err
				}
				boxes := s.mailboxes[host]
				if boxes == nil {
					boxes = map[string][]*Backend{}
					s.mailboxes[host] = boxes
				}
				for _, a := range to {
					addr := strings.ToLower(a.Address)
					if !containsBackend(boxes[addr], b) {
						boxes[addr] = append(boxes[addr], b)
					}
				}
			}
		case "amqp":
			u, _ := loopbackURL(eps[0])
			if u.Scheme != "amqp" {
				return nil, fmt.Errorf("backend %s: endpoint %s: want amqp://host:port/", rb.ID, eps[0])
			}
			s.queues = append(s.queues, newConsumer(b, eps[0], rb.Unit, rb.Config))
		}
	}
	for _, rs := range s.httpRoutes {
		// Longest prefix first.
		sort.Slice(rs, func(i, j int) bool { return len(rs[i].prefix) > len(rs[j].prefix) })
	}
	return s, nil
}

// ServeHTTP routes a request to the backend of the longest matching prefix.
func (rs routes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, rt := range rs {
		if sub, ok := strings.CutPrefix(r.URL.Path, rt.prefix); ok && (sub == "" || sub[0] == '/') {
			rt.b.serveHTTP(w, r, sub)
			return
		}
	}
	http.NotFound(w, r)
}

type routes []route

// ListenFunc opens the listener of an address the province names
// (host:port); tests map them to free ports.
type ListenFunc func(addr string) (net.Listener, error)

// Listen is the ListenFunc that listens on the address itself.
func Listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// Running is a started Sim.
type Running struct {
	addrs map[string]string
	wg    sync.WaitGroup
	mu    sync.Mutex
	errs  []error
}

// Addr returns the address actually listened on for an address the
// province names ("" when none).
func (r *Running) Addr(declared string) string { return r.addrs[declared] }

// Wait blocks until everything started has stopped (after Start's context
// ended) and returns the failures of servers.
func (r *Running) Wait() error {
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.errs...)
}

func (r *Running) fail(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

// Start opens a listener for every HTTP and SMTP address of the province and
// starts the AMQP consumers; all stop when ctx ends. When a listener cannot
// be opened, nothing stays open and the error says which.
func (s *Sim) Start(ctx context.Context, listen ListenFunc) (*Running, error) {
	if listen == nil {
		listen = Listen
	}
	run := &Running{addrs: map[string]string{}}
	var ls []net.Listener
	open := func(addr string) (net.Listener, error) {
		l, err := listen(addr)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, fmt.Errorf("listening on %s: %w", addr, err)
		}
		ls = append(ls, l)
		run.addrs[addr] = l.Addr().String()
		return l, nil
	}
	type httpL struct {
		l  net.Listener
		rs routes
	}
	var hs []httpL
	for _, addr := range sortedKeys(s.httpRoutes) {
		l, err := open(addr)
		if err != nil {
			return nil, err
		}
		hs = append(hs, httpL{l, s.httpRoutes[addr]})
	}
	type mailL struct {
		l net.Listener
		m *mailServer
	}
	var ms []mailL
	for _, addr := range sortedKeys(s.mailboxes) {
		l, err := open(addr)
		if err != nil {
			return nil, err
		}
		ms = append(ms, mailL{l, newMailServer(s, s.mailboxes[addr])})
	}
	for _, h := range hs {
		srv := &http.Server{Handler: h.rs, ReadHeaderTimeout: 10 * time.Second}
		run.wg.Add(2)
		go func() {
			defer run.wg.Done()
			if err := srv.Serve(h.l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				run.fail(err)
			}
		}()
		go func() {
			defer run.wg.Done()
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if srv.Shutdown(sctx) != nil {
				srv.Close()
			}
		}()
		s.log.Info("serving http", "addr", h.l.Addr().String(), "backends", len(h.rs))
	}
	for _, m := range ms {
		run.wg.Add(2)
		go func() {
			defer run.wg.Done()
			if err := m.m.serve(m.l); err != nil {
				run.fail(err)
			}
		}()
		go func() {
			defer run.wg.Done()
			<-ctx.Done()
			m.l.Close()
			m.m.closeAll()
		}()
		s.log.Info("serving smtp", "addr", m.l.Addr().String(), "mailboxes", len(m.m.boxes))
	}
	for _, c := range s.queues {
		run.wg.Add(1)
		go func() {
			defer run.wg.Done()
			c.run(ctx)
		}()
	}
	return run, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
