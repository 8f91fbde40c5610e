package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard12345/switchboard/gateway/assist"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/related"
	"github.com/switchboard12345/switchboard/store"
)

// openStates are the states in which a ticket is still being handled.
var openStates = []ticket.State{ticket.Received, ticket.Dispatched, ticket.Signed, ticket.InProgress,
	ticket.ExtensionRequested, ticket.Returned, ticket.Replied, ticket.Visited, ticket.Reopened}

// relatedTickets keeps a related.Index of the store's tickets current: it
// loads the open tickets and those of the window at start, hears of the
// tickets this instance files, and every few seconds picks up those other
// instances filed. A ticket closed since it was indexed is checked against
// the store when it would be suggested as the caller's open ticket.
type relatedTickets struct {
	ix     *related.Index
	st     store.Store
	window time.Duration
	log    *slog.Logger

	mu   sync.Mutex
	last time.Time // the newest creation time seen
}

func docOf(t ticket.Ticket) related.Doc {
	units := t.CoHandlingUnits
	if t.HandlingUnit != "" {
		units = append([]string{t.HandlingUnit}, units...)
	}
	return related.Doc{TicketID: t.ID, TrackingNumber: t.TrackingNumber, Phone: t.Caller.Phone, Title: t.Title, Text: t.Content,
		RegionCode: t.Location.RegionCode, Address: t.Location.Address, Units: units, Open: !t.State.Terminal(), Created: t.CreateTime}
}

// load indexes the open tickets (any age) and every ticket of the window.
func (r *relatedTickets) load(ctx context.Context, now time.Time) error {
	n := 0
	for _, q := range []store.Query{{States: openStates}, {CreatedAfter: now.Add(-r.window)}} {
		q.PageSize = 500
		for {
			p, err := r.st.ListTickets(ctx, q)
			if err != nil {
				return err
			}
			for _, t := range p.Tickets {
				r.add(t)
				n++
			}
			if !p.More {
				break
			}
			q.After = p.Tickets[len(p.Tickets)-1].ID
		}
	}
	r.log.Info("related-ticket index loaded", "tickets", n)
	return nil
}

func (r *relatedTickets) add(t ticket.Ticket) {
	if err := r.ix.Add(docOf(t)); err != nil {
		r.log.Warn("related-ticket index: ticket not indexed", "ticket", t.ID, "err", err)
	}
	r.mu.Lock()
	if t.CreateTime.After(r.last) {
		r.last = t.CreateTime
	}
	r.mu.Unlock()
}

// follow picks up tickets other instances filed, until ctx ends.
func (r *relatedTickets) follow(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		r.mu.Lock()
		since := r.last.Add(-time.Minute)
		r.mu.Unlock()
		q := store.Query{CreatedAfter: since, PageSize: 500}
		for {
			p, err := r.st.ListTickets(ctx, q)
			if err != nil {
				break
			}
			for _, t := range p.Tickets {
				r.add(t)
			}
			if !p.More {
				break
			}
			q.After = p.Tickets[len(p.Tickets)-1].ID
		}
	}
}

// Find implements assist.Related.
func (r *relatedTickets) Find(t ticket.Ticket, k int) []assist.Match {
	ms := r.ix.Find(related.Query{Phone: t.Caller.Phone, Title: t.Title, Text: t.Content, RegionCode: t.Location.RegionCode,
		Address: t.Location.Address, Exclude: t.ID}, k)
	out := make([]assist.Match, 0, len(ms))
	for _, m := range ms {
		title := ""
		if cur, err := r.st.GetTicket(context.Background(), m.TicketID); err == nil {
			if cur.State.Terminal() {
				r.ix.Update(docOf(cur)) // closed since it was indexed
				if len(m.Reasons) > 0 && m.Reasons[0] == "same caller" && len(m.Reasons) == 1 {
					continue
				}
			}
			title = cur.Title
		}
		out = append(out, assist.Match{TicketID: m.TicketID, TrackingNumber: m.TrackingNumber, Title: title, Score: m.Score, Reasons: m.Reasons})
	}
	return out
}
