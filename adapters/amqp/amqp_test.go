package amqp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/adaptertest"
	"github.com/switchboard12345/switchboard/internal/testnet"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// DefaultBrokerURL is used when SWITCHBOARD_TEST_AMQP is unset.
const DefaultBrokerURL = "amqp://guest:guest@127.0.0.1:5672/"

// brokerURL returns the URL of the RabbitMQ the tests use, skipping the test
// when it is unreachable (failing it under CI=true).
func brokerURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("SWITCHBOARD_TEST_AMQP")
	if u == "" {
		u = DefaultBrokerURL
	}
	conn, err := amqp091.DialConfig(u, amqp091.Config{Dial: amqp091.DefaultDial(5 * time.Second)})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("RabbitMQ is mandatory under CI=true but %s is unreachable: %v", redact(u), err)
		}
		t.Skipf("skipping: RabbitMQ at %s is unreachable (%v); set SWITCHBOARD_TEST_AMQP to run these tests", redact(u), err)
	}
	conn.Close()
	return u
}

func unique(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// queue is a test's own durable queue, deleted when the test ends, and the
// messages read from it so far.
type queue struct {
	name string
	url  string
	mu   sync.Mutex
	got  []amqp091.Delivery
}

func newQueue(t *testing.T, url string) *queue {
	t.Helper()
	q := &queue{name: unique("sbtest"), url: url}
	q.with(t, func(ch *amqp091.Channel) error {
		_, err := ch.QueueDeclare(q.name, true, false, false, false, nil)
		return err
	})
	t.Cleanup(func() {
		q.with(t, func(ch *amqp091.Channel) error {
			_, err := ch.QueueDelete(q.name, false, false, false)
			return err
		})
	})
	return q
}

// with runs f on a fresh channel of a fresh connection.
func (q *queue) with(t *testing.T, f func(*amqp091.Channel) error) {
	t.Helper()
	conn, err := amqp091.Dial(q.url)
	if err != nil {
		t.Fatalf("connecting to RabbitMQ: %v", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("opening a channel: %v", err)
	}
	if err := f(ch); err != nil {
		t.Fatalf("queue %s: %v", q.name, err)
	}
}

// messages returns every message that arrived so far: it reads the queue
// with basic.get until it is empty (bounded at 10s).
func (q *queue) messages(t *testing.T) []amqp091.Delivery {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.with(t, func(ch *amqp091.Channel) error {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			m, ok, err := ch.Get(q.name, true)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			q.got = append(q.got, m)
		}
		return errors.New("still not empty after 10s")
	})
	return append([]amqp091.Delivery(nil), q.got...)
}

func (q *queue) arrivals(t *testing.T) func() []adaptertest.Arrival {
	return func() []adaptertest.Arrival {
		var out []adaptertest.Arrival
		for _, m := range q.messages(t) {
			out = append(out, adaptertest.Arrival{Key: m.MessageId, Body: string(m.Body)})
		}
		return out
	}
}

func newAdapter(t *testing.T, settings map[string]string) *Adapter {
	t.Helper()
	a, err := New(adapters.Config{Backend: "gz-samr-mq", Settings: settings})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestConformance(t *testing.T) {
	url := brokerURL(t)
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) (adapters.Adapter, func() []adaptertest.Arrival) {
			q := newQueue(t, url)
			return newAdapter(t, map[string]string{"url": url, "queue": q.name, "declareQueue": "true"}), q.arrivals(t)
		},
		Rejecting: func(t *testing.T) adapters.Adapter {
			return newAdapter(t, map[string]string{"url": url, "exchange": "amq.direct", "routingKey": unique("sbtest-unbound")})
		},
		Down: func(t *testing.T) adapters.Adapter {
			return newAdapter(t, map[string]string{"url": "amqp://guest:guest@" + testnet.ClosedAddr(t) + "/"})
		},
		Hanging: func(t *testing.T) adapters.Adapter {
			return newAdapter(t, map[string]string{"url": "amqp://guest:guest@" + testnet.HangingAddr(t) + "/"})
		},
	})
}

func TestMessageAsReceived(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	q := newQueue(t, url)
	a := newAdapter(t, map[string]string{"url": url, "queue": q.name})
	d := adaptertest.Sample("props-1@adaptertest")
	if _, err := a.Deliver(context.Background(), d); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	msgs := q.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.MessageId != d.Key || m.ContentType != "application/json" || m.DeliveryMode != amqp091.Persistent || m.Type != d.Topic || m.AppId != "switchboard" {
		t.Errorf("properties: id %q type %q content %q mode %d app %q", m.MessageId, m.Type, m.ContentType, m.DeliveryMode, m.AppId)
	}
	if m.Headers[HeaderTopic] != "ticket.dispatch" || m.Headers[HeaderTracking] != "20261127-000123" || m.Headers[HeaderUnit] != "gz-samr" || m.Headers[HeaderAttempt] != int32(1) {
		t.Errorf("headers: %v", m.Headers)
	}
	var w wireMessage
	if err := json.Unmarshal(m.Body, &w); err != nil {
		t.Fatalf("body: %v", err)
	}
	if w.Ticket.Title != "预付卡退款" || w.Ticket.Content != d.Ticket.Content || w.Key != d.Key || !bytes.Contains(m.Body, []byte("西饼店倒闭")) {
		t.Errorf("body: %s", m.Body)
	}
}

func TestRoutingKeyDefaultsToTheUnit(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	q := newQueue(t, url)
	a := newAdapter(t, map[string]string{"url": url})
	d := adaptertest.Sample("unit-route")
	d.Unit = q.name
	if _, err := a.Deliver(context.Background(), d); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if n := len(q.messages(t)); n != 1 {
		t.Fatalf("%d messages in the unit's queue, want 1", n)
	}
}

func TestExchangeBinding(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	q := newQueue(t, url)
	a := newAdapter(t, map[string]string{"url": url, "exchange": "amq.direct", "queue": q.name, "routingKey": "12345.gz-samr." + q.name, "declareQueue": "true"})
	if _, err := a.Deliver(context.Background(), adaptertest.Sample("bound")); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if n := len(q.messages(t)); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
}

func TestMissingExchangeIsPermanentAndTheNextDeliveryWorks(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	a := newAdapter(t, map[string]string{"url": url, "exchange": unique("sbtest-missing"), "routingKey": "x"})
	_, err := a.Deliver(context.Background(), adaptertest.Sample("missing"))
	if !adapters.IsPermanent(err) || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v, want a permanent 404", err)
	}
	// The channel the broker closed is reopened: a second attempt gets the
	// same answer rather than a closed-channel error.
	_, err = a.Deliver(context.Background(), adaptertest.Sample("missing"))
	if !adapters.IsPermanent(err) {
		t.Fatalf("second attempt: err = %v, want permanent again", err)
	}
}

func TestReconnectsAfterTheConnectionDies(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	q := newQueue(t, url)
	a := newAdapter(t, map[string]string{"url": url, "queue": q.name})
	if _, err := a.Deliver(context.Background(), adaptertest.Sample("before")); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	a.sem <- struct{}{}
	first := a.conn
	a.raw.Close() // as if the network dropped it
	a.release()
	deadline := time.Now().Add(5 * time.Second)
	for !first.IsClosed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := a.Deliver(context.Background(), adaptertest.Sample("after")); err != nil {
		t.Fatalf("Deliver after the connection died: %v", err)
	}
	if a.conn == first {
		t.Fatal("the dead connection was reused")
	}
	if n := len(q.messages(t)); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
}

func TestHealthAndClose(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	a := newAdapter(t, map[string]string{"url": url, "queue": unique("sbtest-health")})
	if err := a.Health(context.Background()); err != nil {
		t.Fatalf("Health: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err := a.Deliver(context.Background(), adaptertest.Sample("closed"))
	if !errors.Is(err, ErrClosed) || adapters.IsPermanent(err) {
		t.Fatalf("Deliver after Close: %v, want ErrClosed (transient)", err)
	}
	if err := a.Health(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Health after Close: %v", err)
	}
	down := newAdapter(t, map[string]string{"url": "amqp://guest:guest@" + testnet.ClosedAddr(t) + "/"})
	if err := down.Health(context.Background()); err == nil {
		t.Fatal("Health of a closed port succeeded")
	}
}

func TestCancelInterruptsTheHandshake(t *testing.T) {
	t.Parallel()
	a := newAdapter(t, map[string]string{"url": "amqp://guest:guest@" + testnet.HangingAddr(t) + "/", "timeout": "1m"})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := a.Deliver(ctx, adaptertest.Sample("cancel"))
	if !errors.Is(err, context.Canceled) || adapters.IsPermanent(err) {
		t.Fatalf("err = %v, want a transient error wrapping context.Canceled", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("Deliver took %v after the cancel", time.Since(start))
	}
	// A delivery waiting behind a hung one honours its own deadline.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	a.sem <- struct{}{}
	_, err = a.Deliver(ctx2, adaptertest.Sample("queued"))
	a.release()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting for the channel: err = %v, want a deadline", err)
	}
}

func TestBodyGolden(t *testing.T) {
	t.Parallel()
	got, err := encodeBody(adaptertest.Sample("golden-key@adaptertest"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "body.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n got %s\nwant %s", path, got, want)
	}
	if !json.Valid(got) || bytes.Contains(got, []byte(`\u`)) {
		t.Errorf("the body is not plain UTF-8 JSON: %s", got)
	}
}

func TestPublishing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	d := adaptertest.Sample("k")
	d.Attempt = 3
	p := publishing(d, []byte("{}"), now)
	if p.MessageId != "k" || p.DeliveryMode != 2 || p.ContentType != "application/json" || !p.Timestamp.Equal(now) || p.Headers[HeaderAttempt] != int32(3) {
		t.Fatalf("%+v", p)
	}
	if err := p.Headers.Validate(); err != nil {
		t.Fatalf("headers: %v", err)
	}
}

func TestUnencodableIsPermanent(t *testing.T) {
	t.Parallel()
	a := newAdapter(t, map[string]string{"url": "amqp://guest:guest@" + testnet.ClosedAddr(t) + "/"})
	for _, key := range []string{"", strings.Repeat("k", 256)} {
		if _, err := a.Deliver(context.Background(), adaptertest.Sample(key)); !adapters.IsPermanent(err) {
			t.Errorf("key of %d bytes: err = %v, want permanent (nothing sent)", len(key), err)
		}
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		endpoints []string
		settings  map[string]string
		wantErr   string
		check     func(*testing.T, Config)
	}{
		{name: "Endpoint", endpoints: []string{DefaultBrokerURL}, check: func(t *testing.T, c Config) {
			if c.URL != DefaultBrokerURL || c.Exchange != "" || c.RoutingKey != "" || c.Timeout != DefaultTimeout || c.DeclareQueue {
				t.Errorf("%+v", c)
			}
		}},
		{name: "QueueIsTheRoutingKey", settings: map[string]string{"url": DefaultBrokerURL, "queue": "gz-samr.workorders", "declareQueue": "true", "timeout": "3s"}, check: func(t *testing.T, c Config) {
			if c.RoutingKey != "gz-samr.workorders" || !c.DeclareQueue || c.Timeout != 3*time.Second {
				t.Errorf("%+v", c)
			}
		}},
		{name: "Unknown", settings: map[string]string{"url": DefaultBrokerURL, "durable": "true"}, wantErr: `unknown setting "durable"`},
		{name: "NoURL", settings: map[string]string{}, wantErr: "url: required"},
		{name: "HTTP", settings: map[string]string{"url": "http://guest:secret@127.0.0.1:15672/"}, wantErr: "url:"},
		{name: "DeclareWithoutQueue", settings: map[string]string{"url": DefaultBrokerURL, "declareQueue": "true"}, wantErr: "declareQueue: needs queue"},
		{name: "BadBool", settings: map[string]string{"url": DefaultBrokerURL, "declareQueue": "oui"}, wantErr: "declareQueue:"},
		{name: "BadTimeout", settings: map[string]string{"url": DefaultBrokerURL, "timeout": "-1s"}, wantErr: "timeout:"},
		{name: "LongKey", settings: map[string]string{"url": DefaultBrokerURL, "routingKey": strings.Repeat("k", 256)}, wantErr: "routingKey:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Decode(adapters.Config{Backend: "b", Endpoints: tc.endpoints, Settings: tc.settings})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), `amqp backend "b"`) || strings.Contains(err.Error(), "secret") {
					t.Fatalf("err = %v, want one containing %q (and no password)", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
