package amqp

import (
	"bytes"
	"encoding/json"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/switchboard12345/switchboard/adapters"
)

// Message headers besides the AMQP properties.
const (
	HeaderTopic    = "x-switchboard-topic"
	HeaderTracking = "x-switchboard-tracking"
	HeaderUnit     = "x-switchboard-unit"
	HeaderAttempt  = "x-switchboard-attempt"
)

// wireMessage is the JSON body: the delivery as the REST adapter sends it.
type wireMessage struct {
	Key     string          `json:"key"`
	Topic   string          `json:"topic"`
	Unit    string          `json:"unit"`
	Attempt int             `json:"attempt"`
	Ticket  adapters.Ticket `json:"ticket"`
	Event   adapters.Event  `json:"event"`
}

// encodeBody returns the JSON body of d, UTF-8 as is (no \u escapes, no
// HTML escaping), without a trailing newline.
func encodeBody(d adapters.Delivery) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(wireMessage{Key: d.Key, Topic: d.Topic, Unit: d.Unit, Attempt: d.Attempt, Ticket: d.Ticket, Event: d.Event}); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// publishing returns the message for d: persistent, JSON, the idempotency
// key as MessageId, the topic as Type, and headers naming the topic,
// tracking number, unit and attempt.
func publishing(d adapters.Delivery, body []byte, now time.Time) amqp091.Publishing {
	return amqp091.Publishing{
		Headers: amqp091.Table{
			HeaderTopic:    d.Topic,
			HeaderTracking: d.Ticket.TrackingNumber,
			HeaderUnit:     d.Unit,
			HeaderAttempt:  int32(d.Attempt),
		},
		ContentType:     "application/json",
		ContentEncoding: "",
		DeliveryMode:    amqp091.Persistent,
		MessageId:       d.Key,
		Timestamp:       now,
		Type:            d.Topic,
		AppId:           "switchboard",
		Body:            body,
	}
}
