// Package amqp delivers work orders to department systems that consume a
// RabbitMQ (AMQP 0-9-1) queue: one persistent message per delivery,
// published with publisher confirms, whose body is
//
//	{"key":…,"topic":…,"unit":…,"attempt":…,"ticket":{…},"event":{…}}
//
// in UTF-8 (Chinese as it is), with content type application/json, the
// idempotency key as the message id (MessageId), the topic as the type, and
// headers x-switchboard-topic, x-switchboard-tracking, x-switchboard-unit and
// x-switchboard-attempt.
//
// A delivery succeeds when the broker confirms (acks) the message, i.e. has
// taken responsibility for it (for a durable queue: written it to disk).
// Messages are published mandatory: one the broker cannot route to any
// queue comes back (basic.return) and the delivery is Permanent, as is a
// publish to an exchange that does not exist (channel closed with 404). A
// nack, a lost connection or channel, and a timeout are transient; after a
// timeout the broker may have the message, and the retry carries the same
// message id.
//
// The adapter keeps one connection and one channel in confirm mode, opened
// by the first delivery (New does no I/O) and reopened by the next delivery
// after either closes. Deliveries are serialised on that channel (publish,
// then wait for the confirm): this keeps a returned message attributable to
// its publish. When the context ends before the confirm arrives, the
// connection is dropped, so that nothing late on it is mistaken for the next
// delivery's answer. Close closes the connection; Health opens it if needed.
package amqp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/switchboard12345/switchboard/adapters"
)

// ErrClosed is returned by Deliver and Health after Close.
var ErrClosed = errors.New("amqp: adapter closed")

// Adapter is an AMQP (RabbitMQ) backend.
type Adapter struct {
	cfg Config
	now func() time.Time

	// sem is a one-slot semaphore guarding the fields below and
	// serialising deliveries; unlike a mutex, waiting for it honours a
	// context.
	sem     chan struct{}
	conn    *amqp091.Connection
	raw     net.Conn // conn's TCP connection, closed to interrupt it
	ch      *amqp091.Channel
	returns chan amqp091.Return
	closes  chan *amqp091.Error
	closed  bool
}

var (
	_ adapters.Adapter       = (*Adapter)(nil)
	_ adapters.Closer        = (*Adapter)(nil)
	_ adapters.HealthChecker = (*Adapter)(nil)
	_ adapters.Factory       = Factory
)

// New returns the adapter of an AMQP backend configured by c (see Config for
// the settings). It validates the settings; it does no I/O.
func New(c adapters.Config) (*Adapter, error) {
	cfg, err := Decode(c)
	if err != nil {
		return nil, err
	}
	return &Adapter{cfg: cfg, now: time.Now, sem: make(chan struct{}, 1)}, nil
}

// Factory is New as an adapters.Factory, for a registry of adapter kinds.
func Factory(c adapters.Config) (adapters.Adapter, error) {
	a, err := New(c)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Config returns the adapter's configuration, defaults applied.
func (a *Adapter) Config() Config { return a.cfg }

// Deliver publishes d and waits for the broker's confirm.
func (a *Adapter) Deliver(ctx context.Context, d adapters.Delivery) (adapters.Receipt, error) {
	what := "work order " + d.Ticket.TrackingNumber
	body, err := encodeBody(d)
	if err == nil && (d.Key == "" || len(d.Key) > 255) {
		err = fmt.Errorf("the idempotency key is empty or longer than 255 bytes (an AMQP message id)")
	}
	if err != nil {
		// Nothing was sent, and this message encodes the same every time.
		return adapters.Receipt{}, &adapters.Permanent{Err: fmt.Errorf("amqp: %s: %w", what, err)}
	}
	key := a.cfg.RoutingKey
	if key == "" {
		key = d.Unit
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	if err := a.acquire(ctx); err != nil {
		return adapters.Receipt{}, fmt.Errorf("amqp: %s: waiting for the channel: %w", what, err)
	}
	defer a.release()
	if err := a.ensure(ctx); err != nil {
		return adapters.Receipt{}, fmt.Errorf("amqp: %s: %w", what, err)
	}
	ch, raw, returns, closes := a.ch, a.raw, a.returns, a.closes
	// From here on, the end of ctx drops the connection: whatever blocks
	// returns, and nothing late is taken for the next delivery's answer.
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer func() {
		if !stop() {
			a.discard()
		}
	}()
	drainReturns(returns)

	dest := fmt.Sprintf("exchange %q routing key %q", a.cfg.Exchange, key)
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, a.cfg.Exchange, key, true, false, publishing(d, body, a.now()))
	if err != nil {
		a.discard()
		return adapters.Receipt{}, withCtx(ctx, fmt.Errorf("amqp: publishing %s to %s: %w", what, dest, err))
	}
	acked, err := dc.WaitContext(ctx)
	if err != nil {
		a.discard()
		return adapters.Receipt{}, withCtx(ctx, fmt.Errorf("amqp: waiting for the broker to confirm %s (it may have the message; a retry carries the same message id): %w", what, err))
	}
	if !acked {
		// Either the broker nacked, or the channel closed and the library
		// nacked what was pending; the channel's close reason tells.
		select {
		case e, ok := <-closes:
			a.discard()
			if ok && e != nil && e.Code == amqp091.NotFound {
				return adapters.Receipt{}, &adapters.Permanent{Err: fmt.Errorf("amqp: publishing %s to %s: %w", what, dest, e)}
			}
			if ok && e != nil {
				return adapters.Receipt{}, fmt.Errorf("amqp: publishing %s to %s: the channel closed: %w", what, dest, e)
			}
			return adapters.Receipt{}, withCtx(ctx, fmt.Errorf("amqp: publishing %s to %s: the connection closed before the broker confirmed", what, dest))
		default:
		}
		return adapters.Receipt{}, fmt.Errorf("amqp: the broker nacked %s (published to %s); retry later", what, dest)
	}
	// A mandatory message the broker could not route comes back before its
	// ack; the return channel is buffered, so it is there by now.
	select {
	case r, ok := <-returns:
		if ok && r.MessageId == d.Key {
			return adapters.Receipt{}, &adapters.Permanent{Err: fmt.Errorf("amqp: %s: the broker routes %s to no queue: %d %s", what, dest, r.ReplyCode, r.ReplyText)}
		}
	default:
	}
	return adapters.Receipt{}, nil
}

// Health opens the connection and channel if they are not open.
func (a *Adapter) Health(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	if err := a.acquire(ctx); err != nil {
		return fmt.Errorf("amqp: health: %w", err)
	}
	defer a.release()
	if err := a.ensure(ctx); err != nil {
		return fmt.Errorf("amqp: health: %w", err)
	}
	return nil
}

// Close closes the connection; later deliveries fail with ErrClosed. It
// waits for a delivery in progress (at most its timeout).
func (a *Adapter) Close() error {
	a.sem <- struct{}{}
	defer a.release()
	if a.closed {
		return nil
	}
	a.closed = true
	var err error
	if a.conn != nil && !a.conn.IsClosed() {
		err = a.conn.CloseDeadline(time.Now().Add(2 * time.Second))
	}
	a.discard()
	if errors.Is(err, amqp091.ErrClosed) {
		err = nil
	}
	return err
}

func (a *Adapter) acquire(ctx context.Context) error {
	select {
	case a.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *Adapter) release() { <-a.sem }

// ensure opens the connection and channel unless both are open. The caller
// holds sem.
func (a *Adapter) ensure(ctx context.Context) error {
	if a.closed {
		return ErrClosed
	}
	if a.conn != nil && !a.conn.IsClosed() && a.ch != nil && !a.ch.IsClosed() {
		return nil
	}
	a.discard()
	if err := a.connect(ctx); err != nil {
		a.discard()
		return err
	}
	return nil
}

// connect dials the broker, opens a channel in confirm mode and declares
// the queue if configured, all within ctx.
func (a *Adapter) connect(ctx context.Context) error {
	host := "the broker"
	if u, err := url.Parse(a.cfg.URL); err == nil {
		host = u.Host
	}
	var (
		mu  sync.Mutex
		raw net.Conn
	)
	// Until the channel is ready, the end of ctx closes the TCP connection,
	// which makes any call blocked on it return.
	interrupted := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		interrupted = true
		if raw != nil {
			raw.Close()
		}
	})
	defer stop()
	conn, err := amqp091.DialConfig(a.cfg.URL, amqp091.Config{
		Heartbeat:  10 * time.Second,
		Locale:     "en_US",
		Properties: amqp091.Table{"connection_name": "switchboard " + a.cfg.Backend},
		Dial: func(network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// Bounds the TLS and AMQP handshakes; the library clears it
			// once the connection is open.
			if dl, ok := ctx.Deadline(); ok {
				c.SetDeadline(dl)
			}
			mu.Lock()
			defer mu.Unlock()
			if interrupted {
				c.Close()
				return nil, ctx.Err()
			}
			raw = c
			return c, nil
		},
	})
	if err != nil {
		return withCtx(ctx, fmt.Errorf("connecting to %s: %w", host, err))
	}
	a.conn = conn
	mu.Lock()
	a.raw = raw
	mu.Unlock()
	ch, err := conn.Channel()
	if err != nil {
		return withCtx(ctx, fmt.Errorf("opening a channel on %s: %w", host, err))
	}
	a.ch = ch
	if err := ch.Confirm(false); err != nil {
		return withCtx(ctx, fmt.Errorf("turning on publisher confirms on %s: %w", host, err))
	}
	a.returns = ch.NotifyReturn(make(chan amqp091.Return, 16))
	a.closes = ch.NotifyClose(make(chan *amqp091.Error, 1))
	if a.cfg.DeclareQueue {
		if _, err := ch.QueueDeclare(a.cfg.Queue, true, false, false, false, nil); err != nil {
			return withCtx(ctx, fmt.Errorf("declaring queue %q on %s: %w", a.cfg.Queue, host, err))
		}
		if a.cfg.Exchange != "" {
			if err := ch.QueueBind(a.cfg.Queue, a.cfg.RoutingKey, a.cfg.Exchange, false, nil); err != nil {
				return withCtx(ctx, fmt.Errorf("binding queue %q to exchange %q on %s: %w", a.cfg.Queue, a.cfg.Exchange, host, err))
			}
		}
	}
	if !stop() {
		return withCtx(ctx, fmt.Errorf("connecting to %s: interrupted", host))
	}
	return nil
}

// discard drops the connection without waiting for the broker. The caller
// holds sem.
func (a *Adapter) discard() {
	if a.raw != nil {
		a.raw.Close()
	}
	a.conn, a.raw, a.ch, a.returns, a.closes = nil, nil, nil, nil, nil
}

// drainReturns empties returns of anything stale.
func drainReturns(returns chan amqp091.Return) {
	for {
		select {
		case _, ok := <-returns:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// withCtx adds ctx's error to err when ctx has ended, so that callers can
// tell a deadline (errors.Is(err, context.DeadlineExceeded)).
func withCtx(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if cerr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
		// The handshake's deadline is ctx's and may fire a moment before
		// ctx's own timer does.
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			cerr = context.DeadlineExceeded
		}
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}
