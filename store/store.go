// Package store is the durable record of tickets, their events and the outbox of
// deliveries to department systems. The contract lives here; sqlstore implements
// it on SQLite (the embedded default) and PostgreSQL, and storetest is the
// conformance suite both pass.
//
// Every write is one transaction: a ticket, its event and its outbox messages
// become durable together or not at all, and a method returns only after commit.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
)

// ErrNotFound is returned (wrapped) when a ticket does not exist.
var ErrNotFound = &errs.Error{Kind: errs.NotFound, Msg: "ticket not found"}

// ErrIdempotencyConflict is returned (wrapped) when an idempotency key was used
// before with a different request body.
var ErrIdempotencyConflict = &errs.Error{Kind: errs.Conflict, Msg: "idempotency key already used with a different request body"}

// ErrVersionConflict is returned when an update lost a race with another one.
var ErrVersionConflict = &errs.Error{Kind: errs.Conflict, Msg: "ticket was changed concurrently; retry"}

// Store is the ticket store.
type Store interface {
	// CreateTicket stores a new ticket with its first event and outbox messages.
	// The store assigns TrackingNumber (the Asia/Shanghai date of CreateTime and a
	// sequence). With a non-empty idempotency key, a key stored before with the
	// same fingerprint returns the stored ticket and replayed = true; with another
	// fingerprint it fails with ErrIdempotencyConflict.
	CreateTicket(ctx context.Context, c Create) (t ticket.Ticket, replayed bool, err error)

	// GetTicket returns the ticket whose id or tracking number is ref.
	GetTicket(ctx context.Context, ref string) (ticket.Ticket, error)

	// UpdateTicket loads the ticket ref, calls fn with it, and stores the ticket
	// fn returns together with the event and outbox messages, all in one
	// transaction. If fn returns an error nothing is written and the error is
	// returned. fn may be called more than once; it must not have side effects.
	UpdateTicket(ctx context.Context, ref string, fn UpdateFunc) (ticket.Ticket, error)

	// ListTickets returns one page of tickets matching q, newest first.
	ListTickets(ctx context.Context, q Query) (Page, error)

	// Events returns the history of ticket id, oldest first.
	Events(ctx context.Context, ticketID string) ([]ticket.Event, error)

	// CountByDialedNumber returns how many tickets were created since the given
	// time, by the number the caller dialed (the traffic still arriving on
	// legacy numbers).
	CountByDialedNumber(ctx context.Context, since time.Time) (map[string]int64, error)

	// CountByState returns how many tickets are in each state.
	CountByState(ctx context.Context) (map[ticket.State]int64, error)

	// CountTickets returns how many tickets match q (its paging ignored), by
	// state: the aggregates a leader reads over the tickets of q.Access.
	CountTickets(ctx context.Context, q Query) (map[ticket.State]int64, error)

	// Ping checks that the store answers.
	Ping(ctx context.Context) error

	// Close waits for pending writes and releases the store.
	Close() error
}

// Create is a new ticket with everything written with it.
type Create struct {
	Ticket ticket.Ticket
	Event  ticket.Event
	// More are further events written with the first, e.g. the dispatch of a
	// ticket routed automatically at intake.
	More   []ticket.Event
	Outbox []Message
	// IdempotencyKey, when set, makes the creation replayable; Fingerprint is a
	// digest of the request body it was used with.
	IdempotencyKey string
	Fingerprint    string
}

// Change is what an update writes.
type Change struct {
	Ticket ticket.Ticket
	Event  ticket.Event
	Outbox []Message
	// UpdateKey, when set, names the backend status update the change applies
	// ("backend/update id"); a key applied before fails the change with
	// ErrDuplicateUpdate and nothing is written.
	UpdateKey string
}

// UpdateFunc computes a change from the current ticket.
type UpdateFunc func(current ticket.Ticket) (Change, error)

// Message is one outbox row: something to deliver to a backend about a ticket.
type Message struct {
	// Topic names what happened, e.g. "ticket.dispatched".
	Topic string
	// Unit is the unit the message is for.
	Unit string
	// Backend is the backend the message goes to, chosen by routing when the
	// message is written; empty lets the dispatcher choose.
	Backend string
	// Key is the idempotency key the delivery carries to the backend.
	Key     string
	Payload []byte
}

// Query selects tickets for a list.
type Query struct {
	States         []ticket.State
	HandlingUnit   string
	CategoryPrefix string
	DialedNumber   string
	// Overdue, when not nil, keeps only overdue (true) or not overdue (false)
	// tickets as of Now.
	Overdue       *bool
	Now           time.Time
	CreatedAfter  time.Time // inclusive
	CreatedBefore time.Time // exclusive
	// PageSize is at least 1; After is the id of the last ticket of the previous
	// page (keyset pagination), empty for the first page.
	PageSize int
	After    string
	// Access, when not nil, keeps only the tickets a principal may see: the
	// access policy compiled for the list (authz.Filter). Nil means no
	// restriction, for the system's own reads.
	Access *Access
}

// Access is a principal's view of the tickets, compiled from the policy: a
// ticket is in it when All is set, when its handling unit or one of its
// co-handling units is in Units, when its handling unit is in HandlerUnits,
// or when its category starts with one of CategoryPrefixes. The zero Access
// matches nothing (deny by default).
type Access struct {
	All              bool
	Units            []string
	HandlerUnits     []string
	CategoryPrefixes []string
}

// Empty reports whether a matches no ticket at all.
func (a *Access) Empty() bool {
	return a != nil && !a.All && len(a.Units) == 0 && len(a.HandlerUnits) == 0 && len(a.CategoryPrefixes) == 0
}

// Page is one page of a list.
type Page struct {
	Tickets []ticket.Ticket
	// More reports whether another page follows; the next one starts after the
	// last ticket of this one.
	More bool
}

// IsNotFound reports whether err means a missing ticket.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) || errs.Is(err, errs.NotFound) }
