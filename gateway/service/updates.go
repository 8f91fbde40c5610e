package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/adapters"
	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
)

// Actions a department system reports (adapters.Update.Action).
const (
	UpdateSign             = "sign"
	UpdateReturn           = "return"
	UpdateRequestExtension = "requestExtension"
	UpdateReply            = "reply"
)

// BackendActorPrefix prefixes the actor of changes a backend reports:
// "backend:gz-samr-rest".
const BackendActorPrefix = "backend:"

// Event details written with a change a backend reported.
const (
	DetailStatusUpdate = "statusUpdate" // the update key, backendID/updateID
	DetailBackend      = "backend"
	DetailExternalID   = "externalId"
	DetailBackendTime  = "backendTime" // when the department says it acted
)

// errNotYours is what a backend hears about a ticket it may not act on: the
// same words as for a ticket that does not exist, so nothing leaks.
var errNotYours = &errs.Error{Kind: errs.NotFound, Msg: "ticket not found for this backend"}

// externalIDs resolves a department's case number; the store's outbox does.
type externalIDs interface {
	TicketByExternalID(ctx context.Context, backend, externalID string) (string, error)
}

// ApplyUpdate applies a status change that department system b reported (by
// webhook or by polling) to the ticket it names: sign, return (Text is the
// reason), requestExtension (Days and Text) or reply (Text). The actor is
// "backend:<id>". The ticket is named by TicketID (our id or tracking number)
// or by ExternalID (the case number b answered a delivery with), and must be
// handled or co-handled by b's unit; a co-handling unit may not return it.
//
// The change carries the update key b.ID + "/" + u.ID, so an update applied
// before fails with store.ErrDuplicateUpdate and changes nothing, whether it
// comes again by the same way or the other one. Other failures: NotFound (no
// such ticket for this backend, worded the same either way), Invalid (bad
// parameters), Precondition (the lifecycle refuses the action in the ticket's
// state), and store errors.
func (s *Tickets) ApplyUpdate(ctx context.Context, b registry.Backend, u adapters.Update) error {
	if strings.TrimSpace(u.ID) == "" {
		return errs.Invalidf("id", "required")
	}
	cmd, err := updateCommand(u)
	if err != nil {
		return err
	}
	cmd.Actor = BackendActorPrefix + b.ID
	key := b.ID + "/" + u.ID

	ref := strings.TrimSpace(u.TicketID)
	if ref == "" {
		ext := strings.TrimSpace(u.ExternalID)
		if ext == "" {
			return errs.Invalidf("ticketId", "ticketId or externalId is required")
		}
		r, ok := s.store.(externalIDs)
		if !ok {
			return errs.Invalidf("externalId", "this store cannot resolve case numbers; send ticketId")
		}
		if ref, err = r.TicketByExternalID(ctx, b.ID, ext); err != nil {
			if store.IsNotFound(err) {
				return errNotYours
			}
			return fmt.Errorf("resolving case number %q of backend %s: %w", ext, b.ID, err)
		}
	} else if len(ref) > 64 {
		return errNotYours
	}

	now := s.clock()
	snap := s.routes()
	var ticketID string
	t, err := s.store.UpdateTicket(ctx, ref, func(cur ticket.Ticket) (store.Change, error) {
		ticketID = cur.ID
		switch {
		case cur.HandlingUnit == b.Unit && b.Unit != "":
		case b.Unit != "" && slices.Contains(cur.CoHandlingUnits, b.Unit):
			if cmd.Action == lifecycle.Return {
				return store.Change{}, &errs.Error{Kind: errs.Precondition,
					Msg: "a co-handling unit cannot return the work order; the handling unit returns it"}
			}
		default:
			return store.Change{}, errNotYours
		}
		next, ev, err := s.machine.Apply(cur, cmd, now)
		if err != nil {
			return store.Change{}, err
		}
		ev.Details = maps.Clone(ev.Details)
		if ev.Details == nil {
			ev.Details = map[string]string{}
		}
		ev.Details[DetailStatusUpdate] = key
		ev.Details[DetailBackend] = b.ID
		if u.ExternalID != "" {
			ev.Details[DetailExternalID] = u.ExternalID
		}
		if !u.Time.IsZero() {
			ev.Details[DetailBackendTime] = u.Time.UTC().Format(time.RFC3339)
		}
		return store.Change{Ticket: next, Event: ev, Outbox: outboxFor(snap, cmd.Action, &next, &ev), UpdateKey: key}, nil
	})
	switch {
	case err == nil:
		s.log.InfoContext(ctx, "ticket "+string(cmd.Action)+" reported by backend", "ticket", t.ID, "backend", b.ID, "update", u.ID, "state", t.State)
		return nil
	case errors.Is(err, store.ErrDuplicateUpdate):
		return err
	}
	// A refusal may be the echo of an update applied before (a sign repeated
	// after the ticket was signed, a return after which the ticket is no
	// longer the unit's): the store checks the key only once the change is
	// computed, so look for it in the history. Only this backend's own
	// updates carry its key, so the answer tells it nothing new.
	if k := errs.KindOf(err); ticketID != "" && (k == errs.Precondition || k == errs.Invalid || k == errs.NotFound) {
		if applied, herr := s.appliedBefore(ctx, ticketID, key); herr == nil && applied {
			return fmt.Errorf("update %s: %w", key, store.ErrDuplicateUpdate)
		}
	}
	if store.IsNotFound(err) {
		return errNotYours
	}
	return err
}

// appliedBefore reports whether ticket id's history holds the update key.
func (s *Tickets) appliedBefore(ctx context.Context, id, key string) (bool, error) {
	evs, err := s.store.Events(ctx, id)
	if err != nil {
		return false, err
	}
	for i := range evs {
		if evs[i].Details[DetailStatusUpdate] == key {
			return true, nil
		}
	}
	return false, nil
}

// updateCommand maps a reported action onto the lifecycle.
func updateCommand(u adapters.Update) (lifecycle.Command, error) {
	switch u.Action {
	case UpdateSign:
		return lifecycle.Command{Action: lifecycle.Sign, Reason: u.Text}, nil
	case UpdateReturn:
		if strings.TrimSpace(u.Text) == "" {
			return lifecycle.Command{}, errs.Invalidf("text", "required for return: the reason")
		}
		return lifecycle.Command{Action: lifecycle.Return, Reason: u.Text}, nil
	case UpdateRequestExtension:
		return lifecycle.Command{Action: lifecycle.RequestExtension, Days: u.Days, Reason: u.Text}, nil
	case UpdateReply:
		return lifecycle.Command{Action: lifecycle.Reply, Text: u.Text}, nil
	case "":
		return lifecycle.Command{}, errs.Invalidf("action", "required: sign, return, requestExtension or reply")
	}
	return lifecycle.Command{}, errs.Invalidf("action", "unknown action %q: want sign, return, requestExtension or reply", u.Action)
}
