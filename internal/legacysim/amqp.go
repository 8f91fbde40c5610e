package legacysim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// consumer is a simulated department that takes its work orders from a
// RabbitMQ queue: the queue the amqp adapter's messages for the backend are
// routed to.
type consumer struct {
	b   *Backend
	url string
	// exchange and routingKey are where the adapter publishes; queue is the
	// queue consumed, declared durable and bound to exchange with routingKey
	// (no binding for the default exchange, which routes by queue name).
	exchange, routingKey, queue string
}

// newConsumer derives the queue of an amqp backend from its settings the way
// adapters/amqp publishes: routing key = routingKey, else queue, else the
// backend's unit id; the queue is the configured one, else (default exchange)
// the routing key, else legacysim.{backend}.
func newConsumer(b *Backend, endpoint, unit string, settings map[string]string) *consumer {
	c := &consumer{b: b, url: endpoint, exchange: strings.TrimSpace(settings["exchange"])}
	c.queue = strings.TrimSpace(settings["queue"])
	c.routingKey = strings.TrimSpace(settings["routingKey"])
	if c.routingKey == "" {
		c.routingKey = c.queue
	}
	if c.routingKey == "" {
		c.routingKey = unit
	}
	if c.queue == "" {
		if c.exchange == "" {
			c.queue = c.routingKey
		} else {
			c.queue = "legacysim." + b.ID
		}
	}
	return c
}

// run consumes until ctx ends, reconnecting after failures and pausing while
// the backend is down.
func (c *consumer) run(ctx context.Context) {
	s := c.b.sim
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		f, changed := c.b.state()
		if s.down(f) {
			wait := time.Duration(0)
			if f.FlapEvery > 0 {
				wait = f.FlapEvery / 4
			}
			if wait <= 0 {
				wait = time.Hour
			}
			select {
			case <-ctx.Done():
			case <-changed:
			case <-time.After(wait):
			}
			continue
		}
		err := c.consume(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn("amqp consumer", "backend", c.b.ID, "queue", c.queue, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
	}
}

// consume opens a connection, declares the queue and handles messages until
// ctx ends, the backend goes down (nil) or the connection fails.
func (c *consumer) consume(ctx context.Context) error {
	conn, err := amqp091.DialConfig(c.url, amqp091.Config{
		Dial:       amqp091.DefaultDial(5 * time.Second),
		Properties: amqp091.Table{"connection_name": "legacysim " + c.b.ID},
	})
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := c.declare(conn); err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	if err := ch.Qos(64, 0, false); err != nil {
		return err
	}
	deliveries, err := ch.Consume(c.queue, "legacysim-"+c.b.ID, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consuming %q: %w", c.queue, err)
	}
	c.b.sim.log.Info("amqp consumer started", "backend", c.b.ID, "queue", c.queue, "exchange", c.exchange, "routingKey", c.routingKey)
	for {
		f, changed := c.b.state()
		if c.b.sim.down(f) {
			// Closing the channel returns unacknowledged messages to the queue.
			ch.Close()
			return nil
		}
		var flap <-chan time.Time
		if f.FlapEvery > 0 {
			flap = time.After(f.FlapEvery / 4)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-flap:
		case d, ok := <-deliveries:
			if !ok {
				return errors.New("the channel closed")
			}
			c.handle(ctx, d, f, changed)
		}
	}
}

// declare makes sure the exchange exists (declaring a durable direct one if
// not) and declares and binds the durable queue.
func (c *consumer) declare(conn *amqp091.Connection) error {
	if c.exchange != "" && !strings.HasPrefix(c.exchange, "amq.") {
		ch, err := conn.Channel()
		if err != nil {
			return err
		}
		if err := ch.ExchangeDeclarePassive(c.exchange, "direct", true, false, false, false, nil); err != nil {
			// The failed passive declaration closed that channel.
			ch, err = conn.Channel()
			if err != nil {
				return err
			}
			if err := ch.ExchangeDeclare(c.exchange, "direct", true, false, false, false, nil); err != nil {
				return fmt.Errorf("declaring exchange %q: %w", c.exchange, err)
			}
		}
		ch.Close()
	}
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	if _, err := ch.QueueDeclare(c.queue, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declaring queue %q: %w", c.queue, err)
	}
	if c.exchange != "" {
		if err := ch.QueueBind(c.queue, c.routingKey, c.exchange, false, nil); err != nil {
			return fmt.Errorf("binding queue %q to exchange %q with %q: %w", c.queue, c.exchange, c.routingKey, err)
		}
	}
	return nil
}

// handle applies the faults to one message and acknowledges it: hang holds
// it unacknowledged until the faults change; latency delays the ack; an
// error returns it to the queue (a redelivery follows); slow acceptance
// records it and then delays the ack.
func (c *consumer) handle(ctx context.Context, d amqp091.Delivery, f Faults, changed chan struct{}) {
	s := c.b.sim
	if d.MessageId == "" {
		s.log.Warn("amqp message without message id, dropped", "backend", c.b.ID)
		d.Reject(false)
		return
	}
	if f.Hang {
		select {
		case <-ctx.Done():
		case <-changed:
		case <-s.quit:
		}
		d.Nack(false, true)
		return
	}
	if !s.wait(f.Latency, ctx.Done()) {
		return
	}
	if failing(f) {
		s.wait(50*time.Millisecond, ctx.Done()) // no hot redelivery loop
		d.Nack(false, true)
		return
	}
	o := jsonOrder(d.Body)
	if o.topic == "" {
		o.topic = d.Type
	}
	c.b.record(d.MessageId, d.Body, o)
	if !s.wait(f.SlowAccept, ctx.Done()) {
		return
	}
	d.Ack(false)
}

// loopbackURL reports whether an endpoint URL names this machine.
func loopbackURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, false
	}
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") {
		return u, true
	}
	ip := net.ParseIP(h)
	return u, ip != nil && ip.IsLoopback()
}
