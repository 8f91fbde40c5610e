// Package adapters is the contract between Switchboard's dispatcher and the
// legacy systems of the departments, in the manner of database/sql/driver: a
// small Adapter interface, the values that cross it, the ways a delivery can
// fail, and optional abilities found by type assertion. Each backend kind has its
// own subpackage (rest, open311, soap, smtp, amqp, manual) that translates;
// routing, retries and breakers are the dispatcher's business, not an
// adapter's. adaptertest is the conformance suite every adapter passes.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Adapter delivers work-order messages to one department system.
type Adapter interface {
	// Deliver hands d to the system and returns once the system has accepted
	// it (or refused it). It must honour ctx's deadline. The idempotency key
	// d.Key travels with the delivery (a header, a field or the Message-ID) so
	// that a repeat after a crash has one effect at the backend.
	//
	// Errors: Permanent when the backend refused the message and a retry
	// cannot help (a bad request); RetryAfter when it asked to be called later;
	// anything else is transient. An adapter never calls an error permanent
	// when the backend may already have acted.
	Deliver(ctx context.Context, d Delivery) (Receipt, error)
}

// Delivery is one message about one work order for one unit's system.
type Delivery struct {
	// Key is the idempotency key: the same for every attempt of this message.
	Key string
	// Topic says what happened: ticket.dispatch, ticket.reopen,
	// ticket.supervise, ticket.decideExtension, ticket.withdraw.
	Topic   string
	Unit    string
	Attempt int // 1 for the first attempt
	Ticket  Ticket
	Event   Event
}

// Ticket is the work order as department systems see it.
type Ticket struct {
	ID             string    `json:"id"`
	TrackingNumber string    `json:"trackingNumber"`
	Title          string    `json:"title"`
	Content        string    `json:"content"`
	Category       string    `json:"category,omitempty"`
	RequestType    string    `json:"requestType"`
	Urgency        string    `json:"urgency"`
	Address        string    `json:"address,omitempty"`
	RegionCode     string    `json:"regionCode,omitempty"`
	CallerName     string    `json:"callerName,omitempty"`
	CallerPhone    string    `json:"callerPhone,omitempty"`
	HandlingUnit   string    `json:"handlingUnit"`
	CoHandling     []string  `json:"coHandlingUnits,omitempty"`
	SignBy         time.Time `json:"signBy,omitzero"`
	ReplyBy        time.Time `json:"replyBy,omitzero"`
	CreateTime     time.Time `json:"createTime"`
}

// Event is the action the message reports.
type Event struct {
	Seq    int64     `json:"seq"`
	Action string    `json:"action"`
	Actor  string    `json:"actor,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Time   time.Time `json:"time"`
}

// Receipt is what the system answered.
type Receipt struct {
	// ExternalID is the system's own reference for the work order, if it
	// gave one (Open311 service_request_id, a SOAP case number …).
	ExternalID string
	// Duplicate reports that the system recognised the key as one it had
	// already accepted.
	Duplicate bool
}

// Permanent marks a refusal that retrying cannot change.
type Permanent struct{ Err error }

func (e *Permanent) Error() string { return "rejected by backend: " + e.Err.Error() }
func (e *Permanent) Unwrap() error { return e.Err }

// RetryAfter asks the dispatcher to try again no earlier than After.
type RetryAfter struct {
	After time.Duration
	Err   error
}

func (e *RetryAfter) Error() string {
	return fmt.Sprintf("backend asked to retry after %s: %v", e.After, e.Err)
}
func (e *RetryAfter) Unwrap() error { return e.Err }

// IsPermanent reports whether err is a permanent refusal.
func IsPermanent(err error) bool {
	var p *Permanent
	return errors.As(err, &p)
}

// RetryDelay returns the delay a backend asked for, if any.
func RetryDelay(err error) (time.Duration, bool) {
	var r *RetryAfter
	if errors.As(err, &r) {
		return r.After, true
	}
	return 0, false
}

// Optional abilities, found by type assertion.

// HealthChecker reports whether the system answers at all.
type HealthChecker interface {
	Health(ctx context.Context) error
}

// Closer releases connections an adapter holds.
type Closer interface {
	Close() error
}

// Update is a status change reported by a department system.
type Update struct {
	// ID identifies the update at the backend, for de-duplication.
	ID string
	// TicketID or ExternalID names the work order.
	TicketID   string
	ExternalID string
	// Action is sign, return, requestExtension or reply.
	Action string
	Text   string
	Days   int
	Time   time.Time
}

// UpdateFetcher polls a system for status updates (Open311 service request
// updates). cursor is opaque; "" starts from the beginning.
type UpdateFetcher interface {
	Updates(ctx context.Context, cursor string) (updates []Update, next string, err error)
}

// Endpoint is where an adapter delivers: one of a backend's static endpoints
// or a passing instance from the Consul catalog.
type Endpoint = string

// Config is what every adapter's constructor receives: the backend's
// endpoints and its kind-specific settings (registry.Backend.Config), from
// which the adapter builds and validates its own typed configuration.
type Config struct {
	Backend   string
	Endpoints []Endpoint
	Settings  map[string]string
}

// Factory builds an adapter of one kind; it does no I/O.
type Factory func(c Config) (Adapter, error)
