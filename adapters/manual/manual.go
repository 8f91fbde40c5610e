// Package manual delivers work orders to units that have no legacy system of
// their own (registry backend kind "manual"): the message is filed into the
// unit's inbox in Switchboard's own store, and the unit's staff pull it
// through the API (DispatchService: list, claim, acknowledge), then act on the
// ticket with the ticket API (sign, return, reply …).
//
// The inbox is keyed by the delivery's idempotency key, so a repeat files
// nothing new and reports Receipt.Duplicate. The inbox item's payload is the
// JSON of the delivery's ticket and event (see Payload), Chinese as it is.
//
// Errors: a delivery that cannot be filed at all (no key, no unit, no ticket
// id) is Permanent; a store that fails or is closed, and a deadline that
// passes before the store answered, are transient: the filing may have
// committed, and the retry carries the same key.
package manual

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/store"
)

// Adapter files deliveries into units' inboxes.
type Adapter struct {
	cfg   Config
	inbox store.Inbox
	now   func() time.Time
}

var _ adapters.Adapter = (*Adapter)(nil)

// New returns the factory of manual backends filing into inbox, stamping
// items with now (nil: time.Now). The factory validates a backend's settings
// and does no I/O.
func New(inbox store.Inbox, now func() time.Time) adapters.Factory {
	if now == nil {
		now = time.Now
	}
	return func(c adapters.Config) (adapters.Adapter, error) {
		if inbox == nil {
			return nil, fmt.Errorf("manual backend %q: no inbox store", c.Backend)
		}
		cfg, err := Decode(c)
		if err != nil {
			return nil, err
		}
		return &Adapter{cfg: cfg, inbox: inbox, now: now}, nil
	}
}

// Deliver implements adapters.Adapter: it files d into d.Unit's inbox.
func (a *Adapter) Deliver(ctx context.Context, d adapters.Delivery) (adapters.Receipt, error) {
	item, err := a.item(d)
	if err != nil {
		return adapters.Receipt{}, &adapters.Permanent{Err: err}
	}
	if err := ctx.Err(); err != nil {
		return adapters.Receipt{}, fmt.Errorf("filing into the inbox of %s: %w", d.Unit, err)
	}
	// The store finishes a write it has queued even when ctx ends; the
	// delivery's deadline is honoured here, and a write that commits after it
	// makes the retry a duplicate.
	type result struct {
		fresh bool
		err   error
	}
	done := make(chan result, 1)
	go func() {
		fresh, err := a.inbox.PutInbox(ctx, item)
		done <- result{fresh, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return adapters.Receipt{}, fmt.Errorf("filing into the inbox of %s: %w", d.Unit, r.err)
		}
		return adapters.Receipt{Duplicate: !r.fresh}, nil
	case <-ctx.Done():
		return adapters.Receipt{}, fmt.Errorf("filing into the inbox of %s: %w", d.Unit, ctx.Err())
	}
}

// item is the inbox item d becomes.
func (a *Adapter) item(d adapters.Delivery) (store.InboxItem, error) {
	switch {
	case d.Key == "":
		return store.InboxItem{}, fmt.Errorf("manual backend %q: the delivery has no idempotency key", a.cfg.Backend)
	case d.Unit == "":
		return store.InboxItem{}, fmt.Errorf("manual backend %q: the delivery names no unit", a.cfg.Backend)
	case d.Ticket.ID == "":
		return store.InboxItem{}, fmt.Errorf("manual backend %q: the delivery's ticket has no id", a.cfg.Backend)
	}
	payload, err := Encode(d)
	if err != nil {
		return store.InboxItem{}, fmt.Errorf("manual backend %q: %w", a.cfg.Backend, err)
	}
	return store.InboxItem{
		Key:      d.Key,
		Unit:     d.Unit,
		TicketID: d.Ticket.ID,
		Topic:    d.Topic,
		Payload:  payload,
		Created:  a.now().UTC().Truncate(time.Millisecond),
	}, nil
}
