// Package adaptertest is the conformance suite of adapters.Adapter, like
// testing/fstest for file systems. An adapter's tests call Run with a Harness
// that points the adapter at a real (or, for a department's own system,
// simulated) backend and reads back what the backend received.
package adaptertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
)

// Arrival is one delivery as the backend received it.
type Arrival struct {
	// Key is the idempotency key as it arrived (header, field, Message-ID).
	Key string
	// Body is the message's text as received (JSON, XML, an e-mail …); the
	// suite looks for the work order's Chinese title and content in it.
	Body string
}

// Harness connects the suite to one adapter kind.
type Harness struct {
	// New returns an adapter delivering to a working backend, and a function
	// reading everything that backend has received so far.
	New func(t *testing.T) (adapters.Adapter, func() []Arrival)
	// Rejecting, if set, returns an adapter whose backend refuses every
	// message as malformed (HTTP 400, a SOAP client fault, SMTP 550 …).
	Rejecting func(t *testing.T) adapters.Adapter
	// Down, if set, returns an adapter whose backend is unreachable.
	Down func(t *testing.T) adapters.Adapter
	// Hanging, if set, returns an adapter whose backend accepts the
	// connection and never answers.
	Hanging func(t *testing.T) adapters.Adapter
}

// Sample is the delivery the suite sends (with its own key per test).
func Sample(key string) adapters.Delivery {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	return adapters.Delivery{
		Key:     key,
		Topic:   "ticket.dispatch",
		Unit:    "gz-samr",
		Attempt: 1,
		Ticket: adapters.Ticket{
			ID: "01M8G55CTP1VDNVKPCEM4DYNXK", TrackingNumber: "20261127-000123",
			Title: "预付卡退款", Content: "西饼店倒闭，预付卡余额一千二百元无法退款。",
			Category: "110408", RequestType: "COMPLAINT", Urgency: "NORMAL",
			Address: "广州市天河区体育西路1号", RegionCode: "440106",
			CallerName: "张三", CallerPhone: "138****8000",
			HandlingUnit: "gz-samr", SignBy: at.Add(72 * time.Hour), ReplyBy: at.Add(7 * 24 * time.Hour), CreateTime: at,
		},
		Event: adapters.Event{Seq: 2, Action: "dispatch", Actor: "operator:wangfang", Reason: "消费维权", Time: at},
	}
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Run("DeliversWithKeyAndChineseIntact", func(t *testing.T) {
		a, received := h.New(t)
		d := Sample(uniqueKey("deliver"))
		if _, err := deliver(a, d, 10*time.Second); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
		got := find(received(), d.Key)
		if len(got) != 1 {
			t.Fatalf("backend received the key %d times, want 1 (received %v)", len(got), received())
		}
		for _, want := range []string{d.Ticket.Title, d.Ticket.Content, d.Ticket.TrackingNumber} {
			if !strings.Contains(got[0].Body, want) {
				t.Errorf("the backend's copy lacks %q:\n%s", want, got[0].Body)
			}
		}
	})
	t.Run("RepeatCarriesTheSameKey", func(t *testing.T) {
		a, received := h.New(t)
		d := Sample(uniqueKey("repeat"))
		for attempt := 1; attempt <= 2; attempt++ {
			d.Attempt = attempt
			if _, err := deliver(a, d, 10*time.Second); err != nil {
				t.Fatalf("attempt %d: %v", attempt, err)
			}
		}
		if n := len(find(received(), d.Key)); n < 1 || n > 2 {
			t.Fatalf("backend saw the key %d times after 2 attempts", n)
		}
	})
	t.Run("ConcurrentDeliveries", func(t *testing.T) {
		a, received := h.New(t)
		const n = 20
		prefix := uniqueKey("concurrent")
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = deliver(a, Sample(fmt.Sprintf("%s-%d", prefix, i)), 20*time.Second)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("delivery %d: %v", i, err)
			}
		}
		all := received()
		for i := range n {
			if len(find(all, fmt.Sprintf("%s-%d", prefix, i))) != 1 {
				t.Fatalf("delivery %d did not arrive exactly once", i)
			}
		}
	})
	if h.Rejecting != nil {
		t.Run("RefusalIsPermanent", func(t *testing.T) {
			_, err := deliver(h.Rejecting(t), Sample("rejected"), 10*time.Second)
			if err == nil || !adapters.IsPermanent(err) {
				t.Fatalf("err = %v, want a permanent refusal", err)
			}
		})
	}
	if h.Down != nil {
		t.Run("UnreachableIsTransient", func(t *testing.T) {
			_, err := deliver(h.Down(t), Sample("down"), 10*time.Second)
			if err == nil || adapters.IsPermanent(err) {
				t.Fatalf("err = %v, want a transient error", err)
			}
		})
	}
	if h.Hanging != nil {
		t.Run("HonoursTheDeadline", func(t *testing.T) {
			a := h.Hanging(t)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() { _, err := a.Deliver(ctx, Sample("hang")); done <- err }()
			select {
			case err := <-done:
				if err == nil || adapters.IsPermanent(err) {
					t.Fatalf("err = %v, want a transient error when the deadline passes", err)
				}
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Logf("note: the error does not wrap context.DeadlineExceeded: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Deliver ignored its deadline")
			}
		})
	}
}

func deliver(a adapters.Adapter, d adapters.Delivery, within time.Duration) (adapters.Receipt, error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	return a.Deliver(ctx, d)
}

func find(all []Arrival, key string) []Arrival {
	var out []Arrival
	for _, a := range all {
		if a.Key == key {
			out = append(out, a)
		}
	}
	return out
}

// uniqueKey returns a fresh idempotency key, so that backends shared between
// subtests (one RabbitMQ, one SMTP server) tell the subtests' messages apart.
func uniqueKey(what string) string {
	return fmt.Sprintf("%s-%d@adaptertest", what, time.Now().UnixNano())
}
