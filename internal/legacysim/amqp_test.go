package legacysim_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/adapters/amqp"
	"github.com/switchboard12345/switchboard/internal/legacysim"
	"github.com/switchboard12345/switchboard/registry"
)

const brokerURL = "amqp://guest:guest@127.0.0.1:5672/"

// broker skips the test when RabbitMQ is unreachable, and fails it under
// CI=true, where the broker is mandatory.
func broker(t *testing.T) *amqp091.Connection {
	t.Helper()
	conn, err := amqp091.DialConfig(brokerURL, amqp091.Config{Dial: amqp091.DefaultDial(5 * time.Second)})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("RabbitMQ at 127.0.0.1:5672 is mandatory under CI=true: %v", err)
		}
		t.Skipf("skipping: RabbitMQ at 127.0.0.1:5672 is unreachable (%v); start it (services.sh) to run this test", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// eventually polls cond until it holds or a generous bound passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never: %s", what)
}

// TestAMQP has a simulated department consume what adapters/amqp publishes
// for a backend shaped like the example province's gz-water-amqp (exchange
// and routing key), with an exchange of the test's own, and checks that a
// down department leaves messages queued until it is back up.
func TestAMQP(t *testing.T) {
	conn := broker(t)
	b := make([]byte, 4)
	rand.Read(b)
	exchange := "legacysim-test-" + hex.EncodeToString(b)
	p := &registry.ProvinceFile{
		Name:  "测试省",
		Units: []registry.Unit{{ID: "gz-water", Name: "广州市自来水有限公司", Kind: registry.Enterprise}},
		Backends: []registry.Backend{{
			ID: "gz-water-amqp", Unit: "gz-water", Kind: "amqp", Endpoints: []string{"amqp://127.0.0.1:5672/"},
			Config: map[string]string{"exchange": exchange, "routingKey": "gz-water"},
		}},
	}
	sim, err := legacysim.FromProvince(p, legacysim.Options{KeepBodies: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run, err := sim.Start(ctx, func(string) (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") })
	if err != nil {
		t.Fatal(err)
	}
	queue := "legacysim.gz-water-amqp"
	defer func() {
		cancel()
		sim.Close()
		run.Wait()
		if ch, err := conn.Channel(); err == nil {
			ch.QueueDelete(queue, false, false, false)
			ch.ExchangeDelete(exchange, false, false)
			ch.Close()
		}
	}()
	a, err := amqp.New(adapters.Config{Backend: "gz-water-amqp", Endpoints: []string{brokerURL}, Settings: p.Backends[0].Config})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	// Until the consumer has declared and bound its queue, the broker
	// returns the message (Permanent, nothing queued): try again.
	eventually(t, "a delivery the broker routes", func() bool {
		_, err := deliver(t, a, "amqp-1", 5*time.Second)
		return err == nil
	})
	led := sim.Backend("gz-water-amqp")
	eventually(t, "amqp-1 in the ledger", func() bool { _, ok := led.Ledger()["amqp-1"]; return ok })
	if e := led.Ledger()["amqp-1"]; e.TicketID == "" || !strings.Contains(led.Arrivals()[0].Body, "预付卡退款") {
		t.Fatalf("entry %+v, body %s", e, led.Arrivals()[0].Body)
	}

	// Down: the department stops consuming; the message waits in the queue.
	if err := sim.SetFaults("gz-water-amqp", legacysim.Faults{Down: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the consumer gone", func() bool { return consumers(t, conn, queue) == 0 })
	if _, err := deliver(t, a, "amqp-2", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	eventually(t, "amqp-2 queued", func() bool { return messages(t, conn, queue) == 1 })
	if _, ok := led.Ledger()["amqp-2"]; ok {
		t.Fatal("a down department consumed amqp-2")
	}
	sim.SetFaults("gz-water-amqp", legacysim.Faults{Latency: time.Millisecond})
	eventually(t, "amqp-2 in the ledger once up", func() bool { _, ok := led.Ledger()["amqp-2"]; return ok })
}

func inspect(t *testing.T, conn *amqp091.Connection, queue string) amqp091.Queue {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func consumers(t *testing.T, conn *amqp091.Connection, queue string) int {
	return inspect(t, conn, queue).Consumers
}

func messages(t *testing.T, conn *amqp091.Connection, queue string) int {
	return inspect(t, conn, queue).Messages
}
