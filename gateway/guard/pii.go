package guard

import (
	"context"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/gateway/authz"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/store"
)

// MaskPhone keeps a phone number's first three and last four digits:
// 13800138000 → 138****8000, 020-87654321 → 020****4321.
func MaskPhone(s string) string { return mask(s, 3, 4) }

// MaskID keeps an ID number's first six (the region) and last four
// characters: 440106199001011234 → 440106********1234.
func MaskID(s string) string { return mask(s, 6, 4) }

func mask(s string, head, tail int) string {
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return s
	}
	if n <= head+tail {
		return strings.Repeat("*", n)
	}
	r := []rune(s)
	return string(r[:head]) + strings.Repeat("*", n-head-tail) + string(r[n-tail:])
}

// protect masks the personal data of every ticket in resp that p may not see
// unmasked, and (when audit is set) writes an audit entry for every ticket
// whose personal data p does see, before the answer leaves. If the audit log
// cannot be written, the call fails: unmasked data never leaves unrecorded.
func (g *Guard) protect(ctx context.Context, p store.Principal, resp any, audit bool) error {
	var reads []store.AuditEntry
	now := g.Now().UTC()
	ticket := func(t *pb.Ticket) {
		c := t.GetCaller()
		fields := piiFields(c.GetPhone(), c.GetIdNumber())
		var pii []*pb.Entity // entities that are personal data
		for _, e := range t.GetEntities() {
			if e.GetType() == "phone" || e.GetType() == "id_number" {
				pii = append(pii, e)
			}
		}
		if len(pii) > 0 {
			fields = append(fields, "entities")
		}
		if len(fields) == 0 {
			return
		}
		if g.Authz.Allowed(p.ID, authz.ViewPII, authz.TicketObject(t.GetHandlingUnit(), t.GetCoHandlingUnits(), t.GetCategory())) {
			reads = append(reads, store.AuditEntry{At: now, Actor: p.ID, Action: "pii.read", Ticket: t.GetId(), Fields: fields})
			return
		}
		if c != nil {
			c.Phone, c.IdNumber = maskNonEmpty(c.GetPhone(), MaskPhone), maskNonEmpty(c.GetIdNumber(), MaskID)
		}
		for _, e := range pii {
			f := MaskPhone
			if e.GetType() == "id_number" {
				f = MaskID
			}
			e.Text, e.Value = maskNonEmpty(e.GetText(), f), maskNonEmpty(e.GetValue(), f)
		}
	}
	inbox := func(items []*pb.InboxItem) {
		for _, it := range items {
			c := payloadCaller(it.GetPayload())
			if c == nil {
				continue
			}
			phone, id := c.Fields["phone"].GetStringValue(), c.Fields["idNumber"].GetStringValue()
			if phone == "" && id == "" {
				continue
			}
			if g.Authz.Allowed(p.ID, authz.ViewPII, authz.UnitObject(it.GetUnit())) {
				reads = append(reads, store.AuditEntry{At: now, Actor: p.ID, Action: "pii.read", Ticket: it.GetTicketId(), Fields: piiFields(phone, id), Detail: "inbox " + it.GetUnit()})
				continue
			}
			if phone != "" {
				c.Fields["phone"] = structpb.NewStringValue(MaskPhone(phone))
			}
			if id != "" {
				c.Fields["idNumber"] = structpb.NewStringValue(MaskID(id))
			}
		}
	}
	switch m := resp.(type) {
	case *pb.Ticket:
		ticket(m)
		if a := m.GetAssist(); a != nil {
			a.Related = g.visible(ctx, p, a.GetRelated())
		}
	case *pb.ListTicketsResponse:
		for _, t := range m.GetTickets() {
			ticket(t)
		}
	case *pb.ListInboxResponse:
		inbox(m.GetItems())
	case *pb.ClaimInboxResponse:
		inbox(m.GetItems())
	case *pb.InboxItem:
		inbox([]*pb.InboxItem{m})
	}
	if len(reads) == 0 || !audit {
		return nil
	}
	if err := g.Audit.Audit(ctx, reads...); err != nil {
		g.Log.ErrorContext(ctx, "writing the audit log failed; personal data withheld", "err", err)
		return errs.E(errs.Transient, "the audit log is unavailable; try again")
	}
	if g.Metrics != nil {
		g.Metrics.piiReads.Add(float64(len(reads)))
	}
	return nil
}

// visible keeps the related tickets p may view: a suggestion must not reveal
// a ticket the policy hides.
func (g *Guard) visible(ctx context.Context, p store.Principal, rel []*pb.RelatedTicket) []*pb.RelatedTicket {
	out := rel[:0]
	for _, r := range rel {
		t, err := g.Tickets.GetTicket(ctx, r.GetId())
		if err != nil {
			continue
		}
		if g.Authz.Allowed(p.ID, authz.View, authz.TicketObject(t.HandlingUnit, t.CoHandlingUnits, t.Category)) {
			out = append(out, r)
		}
	}
	return out
}

func maskNonEmpty(s string, f func(string) string) string {
	if s == "" {
		return s
	}
	return f(s)
}

func piiFields(phone, id string) []string {
	var f []string
	if phone != "" {
		f = append(f, "caller.phone")
	}
	if id != "" {
		f = append(f, "caller.idNumber")
	}
	return f
}

// payloadCaller finds ticket.caller in an inbox message's payload.
func payloadCaller(s *structpb.Struct) *structpb.Struct {
	t := s.GetFields()["ticket"].GetStructValue()
	return t.GetFields()["caller"].GetStructValue()
}
