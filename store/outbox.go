package store

import (
	"context"
	"time"

	"github.com/switchboard12345/switchboard/internal/errs"
)

// ErrDuplicateUpdate is returned (wrapped) by UpdateTicket when the change
// carries an UpdateKey that was applied before: a status update a backend
// reported twice (a webhook retried, a poll that overlapped). Nothing is written.
var ErrDuplicateUpdate = &errs.Error{Kind: errs.Conflict, Msg: "status update already applied"}

// ErrLeaseLost is returned when a dispatcher reports on a message whose lease
// it no longer holds (it expired and another instance claimed the message).
var ErrLeaseLost = &errs.Error{Kind: errs.Conflict, Msg: "outbox lease lost"}

// Outbox is the durable queue of deliveries to department systems. Messages are
// written with the ticket change they report (Create.Outbox, Change.Outbox);
// dispatchers claim them under a lease, deliver them and report the outcome.
//
// Order: a message is claimable only when no earlier message for the same
// ticket and unit is still pending, so events of one ticket reach its unit's
// system in order. Several dispatchers (gateway instances on one PostgreSQL)
// may claim at once; no message is leased to two of them at the same time.
type Outbox interface {
	// Claim leases up to Limit due messages to Owner until Until.
	Claim(ctx context.Context, c Claim) ([]Pending, error)
	// Delivered records that message id reached its backend.
	Delivered(ctx context.Context, id int64, owner string, d Delivered) error
	// Retry records a failed attempt and makes the message due again at next.
	// countAttempt is false for a call the breaker refused (no attempt made).
	Retry(ctx context.Context, id int64, owner string, next time.Time, lastErr string, countAttempt bool) error
	// DeadLetter parks the message: it is not delivered again until redriven.
	DeadLetter(ctx context.Context, id int64, owner string, reason string, at time.Time) error
	// Park makes backend's unleased pending messages due before until due at
	// until instead: its breaker is not closed, and claims should not read
	// past them meanwhile (its probes claim with Only).
	Park(ctx context.Context, backend string, now, until time.Time) (int, error)
	// Unpark makes backend's unleased pending messages due now: its breaker
	// closed again, the backend answers, and its backlog may flow.
	Unpark(ctx context.Context, backend string, now time.Time) (int, error)
	// ReleaseLeases drops the leases Owner holds (a clean shutdown, or a
	// single-instance store starting after a crash), making them due now.
	ReleaseLeases(ctx context.Context, owner string) (int, error)
	// DeadLetters lists parked messages, oldest first.
	DeadLetters(ctx context.Context, q DeadQuery) ([]Pending, error)
	// Redrive makes parked messages pending again with their attempts reset.
	// With no ids it redrives every parked message of Backend ("" = all).
	Redrive(ctx context.Context, r Redrive) (int, error)
	// OutboxStats summarises the queue per backend.
	OutboxStats(ctx context.Context, now time.Time) ([]QueueStats, error)
	// TicketByExternalID returns the id of the ticket whose delivery to
	// backend was answered with externalID (a department's own case number).
	TicketByExternalID(ctx context.Context, backend, externalID string) (string, error)
	// OutboxNotify returns a channel that receives (without blocking the
	// writer) after every commit that wrote outbox messages, so a dispatcher
	// wakes at once instead of polling.
	OutboxNotify() <-chan struct{}
}

// Claim is a request for due messages.
type Claim struct {
	Owner string
	Now   time.Time
	Until time.Time // the lease's end
	Limit int
	// Exclude names backends not to claim for (their queue is full or their
	// breaker is open).
	Exclude []string
	// Only, when set, claims for this backend alone, due or not: a
	// half-open breaker's probe, whose backend's messages are parked.
	Only string
	// NoLease reads the claimable messages without leasing them, oldest due
	// first. A dispatcher alone on its store (SQLite) keeps its claims in
	// memory: it must skip the messages it already holds, and may see them
	// again until it reports their outcome.
	NoLease bool
	// Skip, with NoLease, names messages the caller holds already; they are
	// left out (and do not count against Limit).
	Skip map[int64]struct{}
}

// Pending is a claimed or parked outbox message.
type Pending struct {
	ID             int64
	TicketID       string
	TrackingNumber string
	Seq            int64
	Topic          string
	Unit           string
	Backend        string
	Key            string
	Payload        []byte
	Created        time.Time
	Attempts       int // attempts made before this claim
	LastErr        string
	// Dead-letter details.
	DeadReason string
	DeadAt     time.Time
}

// Delivered is the outcome of a successful delivery.
type Delivered struct {
	At         time.Time
	ExternalID string
	Duplicate  bool
}

// DeadQuery selects parked messages.
type DeadQuery struct {
	Backend string // "" = all
	Limit   int
	After   int64 // keyset: the last id of the previous page
}

// Redrive selects parked messages to deliver again.
type Redrive struct {
	IDs     []int64
	Backend string
	Now     time.Time
}

// QueueStats describe one backend's part of the outbox.
type QueueStats struct {
	Backend string
	// Pending messages (due or waiting for a retry), and the creation time of
	// the oldest of them.
	Pending       int64
	OldestPending time.Time
	// InFlight is how many of them are leased right now.
	InFlight int64
	Dead     int64
	// Delivered counts delivered messages still kept; Attempts sums the
	// attempts of those.
	Delivered int64
	Attempts  int64
}

// Inbox is the work queue of units without a legacy system (the manual
// adapter): messages land there, and the unit's staff claim and acknowledge
// them through the API.
type Inbox interface {
	// PutInbox files m for its unit; a key filed before is not filed again
	// (fresh = false).
	PutInbox(ctx context.Context, m InboxItem) (fresh bool, err error)
	// ListInbox lists a unit's items: unclaimed (and claimed ones whose claim
	// expired) unless All, oldest first.
	ListInbox(ctx context.Context, q InboxQuery) ([]InboxItem, error)
	// ClaimInbox leases up to Limit open items of the unit to Claimant.
	ClaimInbox(ctx context.Context, unit, claimant string, now, until time.Time, limit int) ([]InboxItem, error)
	// AckInbox acknowledges an item: it leaves the queue for good. Acknowledging
	// an item claimed by someone else, whose claim has not expired, is a
	// conflict; acknowledging twice is not an error.
	AckInbox(ctx context.Context, unit, key, claimant string, now time.Time) (InboxItem, error)
}

// InboxItem is one message in a unit's inbox.
type InboxItem struct {
	Key          string
	Unit         string
	TicketID     string
	Topic        string
	Payload      []byte
	Created      time.Time
	ClaimedBy    string
	ClaimedUntil time.Time
	AckedBy      string
	AckedAt      time.Time
}

// InboxQuery selects inbox items.
type InboxQuery struct {
	Unit  string
	All   bool
	Now   time.Time
	Limit int
	After string // keyset: the last key of the previous page
}

// Cursors keep the position of polling adapters (Open311 updates) per backend.
type Cursors interface {
	Cursor(ctx context.Context, backend string) (string, error)
	SetCursor(ctx context.Context, backend, cursor string) error
}
