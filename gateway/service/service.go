// Package service implements the TicketService gRPC API on top of intake, the
// lifecycle state machine and the store. REST reaches it through grpc-gateway's
// in-process handlers, so every check lives here, in one path for both.
package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/metadata"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/gateway/assist"
	"github.com/switchboard12345/switchboard/gateway/auth"
	"github.com/switchboard12345/switchboard/gateway/guard"
	"github.com/switchboard12345/switchboard/gateway/intake"
	"github.com/switchboard12345/switchboard/gateway/lifecycle"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
	"github.com/switchboard12345/switchboard/taxonomy"
)

// Tickets is the TicketService.
type Tickets struct {
	pb.UnimplementedTicketServiceServer

	store   store.Store
	machine *lifecycle.Machine
	routes  func() *registry.Snapshot
	retired RetiredNumbers
	now     func() time.Time
	newID   func(time.Time) string
	log     *slog.Logger
	legacy  LegacyCounter
	auto    bool
	assist  *assist.Assistant
	tax     *Taxonomy
	taxMu   sync.Mutex
	taxTree *taxonomy.Tree // the current tree, looked up at most every taxEvery
	taxAt   time.Time
	// onCreate, if set, hears of every ticket created (the related-tickets
	// index).
	onCreate func(ticket.Ticket)
}

// Config is what Tickets needs. Now and NewID are passed in so tests control
// time and ids.
type Config struct {
	Store   store.Store
	Machine *lifecycle.Machine
	// Routes returns the current registry snapshot (registry.Live.Snapshot).
	Routes func() *registry.Snapshot
	// RetiredNumbers says what happens to a request on a retired legacy number.
	RetiredNumbers RetiredNumbers
	Now            func() time.Time
	NewID          func(time.Time) string
	Logger         *slog.Logger
	// Legacy, if set, counts requests arriving on each legacy number.
	Legacy LegacyCounter
	// AutoDispatch files a ticket for which intake finds a unit (by a routing
	// rule or the legacy number's handling unit) already dispatched to it.
	AutoDispatch bool
	// Assist, if set, proposes categories, units, entities, knowledge-base
	// answers and related tickets for each new request; a category the
	// model is confident enough about is filed (and routed) without an
	// operator.
	Assist *assist.Assistant
	// OnCreate, if set, is called with every ticket created.
	OnCreate func(ticket.Ticket)
	// Taxonomy, if set, is the category tree codes are checked against
	// (once one has been imported): a code it does not hold is refused.
	Taxonomy *Taxonomy
}

// RetiredNumbers is the policy for requests arriving on a retired number.
type RetiredNumbers string

const (
	// RefuseRetired refuses them with a message naming the number and 12345.
	RefuseRetired RetiredNumbers = "refuse"
	// ForwardRetired files them as if 12345 had been dialed.
	ForwardRetired RetiredNumbers = "forward"
)

// LegacyCounter counts requests per legacy number (a Prometheus counter).
type LegacyCounter interface{ Inc(number string) }

// New returns the service.
func New(c Config) *Tickets {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.RetiredNumbers == "" {
		c.RetiredNumbers = RefuseRetired
	}
	return &Tickets{store: c.Store, machine: c.Machine, routes: c.Routes, retired: c.RetiredNumbers,
		now: c.Now, newID: c.NewID, log: c.Logger, legacy: c.Legacy, auto: c.AutoDispatch, assist: c.Assist, onCreate: c.OnCreate, tax: c.Taxonomy}
}

// Metadata keys the service reads. The REST mux maps the HTTP headers
// Idempotency-Key and X-Actor onto them.
const (
	MDIdempotencyKey = "idempotency-key"
	MDActor          = "x-actor"
)

// MaxIdempotencyKey bounds the idempotency key, in bytes.
const MaxIdempotencyKey = 200

// taxEvery is how long the current taxonomy is taken as known before it is
// looked up again (an import shows within this time).
const taxEvery = 2 * time.Second

// checkCategory refuses a category code the current taxonomy does not hold;
// without a taxonomy every well-formed code is accepted.
func (s *Tickets) checkCategory(ctx context.Context, field, code string) error {
	if s.tax == nil || code == "" {
		return nil
	}
	s.taxMu.Lock()
	if s.taxTree == nil || time.Since(s.taxAt) > taxEvery {
		if t, _, err := s.tax.treeOrEmpty(ctx, 0); err == nil {
			s.taxTree, s.taxAt = t, time.Now()
		}
	}
	t := s.taxTree
	s.taxMu.Unlock()
	if t == nil || t.Len() == 0 {
		return nil
	}
	if _, ok := t.Get(code); !ok {
		return errs.Invalidf(field, "unknown category code %q: not in the current taxonomy (GET /v1/categories)", code)
	}
	return nil
}

// clock returns the current time at millisecond precision, as stored.
func (s *Tickets) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func firstMD(ctx context.Context, key string) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(key); len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// actor names who acts: the authenticated principal the guard put in the
// context. Only a service called directly, without the server and its guard
// (a test), falls back to the x-actor metadata, percent-encoded when it is
// not ASCII, e.g. operator:%E6%9D%8E%E5%A8%9C.
func actor(ctx context.Context) string {
	if p, ok := auth.PrincipalFrom(ctx); ok {
		return p.ID
	}
	a := strings.TrimSpace(firstMD(ctx, MDActor))
	if dec, err := url.PathUnescape(a); err == nil && utf8.ValidString(dec) {
		a = dec
	}
	if a == "" || utf8.RuneCountInString(a) > 100 {
		return "anonymous"
	}
	return a
}

func (s *Tickets) fail(ctx context.Context, err error) error { return Status(ctx, s.log, err) }

// CreateTicket implements pb.TicketServiceServer.
func (s *Tickets) CreateTicket(ctx context.Context, req *pb.CreateTicketRequest) (*pb.Ticket, error) {
	key := req.GetIdempotencyKey()
	if key == "" {
		key = firstMD(ctx, MDIdempotencyKey)
	}
	if len(key) > MaxIdempotencyKey {
		return nil, s.fail(ctx, errs.Invalidf("idempotencyKey", "must be at most %d bytes", MaxIdempotencyKey))
	}
	if req.GetTicket() == nil {
		return nil, s.fail(ctx, errs.Invalidf("ticket", "required"))
	}
	t, err := intake.Normalize(toIntake(req.GetTicket()))
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if err := s.checkCategory(ctx, "category", t.Category); err != nil {
		return nil, s.fail(ctx, err)
	}
	fingerprint := intake.Fingerprint(t) // of the request as sent, before intake fills anything
	now := s.clock()
	snap := s.routes()
	var prop assist.Proposal
	if s.assist != nil {
		prop = s.assist.Propose(ctx, t, now, true)
		s.applyProposal(&t, prop)
	}
	if err := s.route(snap, &t, now); err != nil {
		return nil, s.fail(ctx, err)
	}
	if t.SuggestedUnit == "" && prop.Unit != "" {
		t.SuggestedUnit, t.SuggestedBy = prop.Unit, ticket.SuggestedByModel
	}
	t, ev := s.machine.NewTicket(t, s.newID(now), actor(ctx), now)
	c := store.Create{Ticket: t, Event: ev}
	if s.auto {
		s.autoDispatch(ctx, snap, &c, now)
	}
	if key != "" {
		c.IdempotencyKey, c.Fingerprint = key, fingerprint
	}
	stored, replayed, err := s.store.CreateTicket(ctx, c)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if replayed {
		s.log.InfoContext(ctx, "idempotent replay", "ticket", stored.ID)
	} else {
		s.log.InfoContext(ctx, "ticket created", "ticket", stored.ID, "tracking", stored.TrackingNumber)
		if s.onCreate != nil {
			s.onCreate(stored)
		}
	}
	out := toProto(&stored, now)
	out.Assist = assistProto(prop, stored.ID)
	return out, nil
}

// applyProposal files what intake proposes into the new ticket: the
// suggestions and entities, the category when the request came without one
// and the model is confident enough, and the region and address when the
// caller gave none but the text names them.
func (s *Tickets) applyProposal(t *ticket.Ticket, p assist.Proposal) {
	t.Suggested, t.Entities = p.Suggested, p.Entities
	if t.Category == "" && p.Category != "" {
		t.Category = p.Category
	}
	if t.Location.RegionCode == "" {
		t.Location.RegionCode = p.Region()
	}
	if t.Location.Address == "" {
		for _, e := range p.Entities {
			if e.Type == "address" {
				t.Location.Address = e.Text
				break
			}
		}
	}
}

// AssistIntake implements pb.TicketServiceServer: the proposal for a request
// that is not filed.
func (s *Tickets) AssistIntake(ctx context.Context, req *pb.AssistIntakeRequest) (*pb.Ticket, error) {
	if req.GetTicket() == nil {
		return nil, s.fail(ctx, errs.Invalidf("ticket", "required"))
	}
	t, err := intake.Normalize(toIntake(req.GetTicket()))
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	now := s.clock()
	var prop assist.Proposal
	if s.assist != nil {
		prop = s.assist.Propose(ctx, t, now, true)
		s.applyProposal(&t, prop)
	}
	snap := s.routes()
	if err := s.route(snap, &t, now); err != nil {
		return nil, s.fail(ctx, err)
	}
	if t.SuggestedUnit == "" && prop.Unit != "" {
		t.SuggestedUnit, t.SuggestedBy = prop.Unit, ticket.SuggestedByModel
	}
	t.State, t.CreateTime, t.UpdateTime = ticket.Received, now, now
	out := toProto(&t, now)
	out.Assist = assistProto(prop, "")
	return out, nil
}

// assistProto is the knowledge answers and related tickets of a proposal,
// leaving out the ticket self.
func assistProto(p assist.Proposal, self string) *pb.IntakeAssist {
	if len(p.Answers) == 0 && len(p.Related) == 0 {
		return nil
	}
	out := &pb.IntakeAssist{}
	for _, a := range p.Answers {
		out.Answers = append(out.Answers, &pb.KnowledgeAnswer{Id: a.ID, Title: a.Title, Answer: a.Answer, Category: a.Category, Unit: a.Unit, Score: a.Score})
	}
	for _, m := range p.Related {
		if m.TicketID == self {
			continue
		}
		out.Related = append(out.Related, &pb.RelatedTicket{Id: m.TicketID, TrackingNumber: m.TrackingNumber, Title: m.Title, Score: m.Score, Reasons: m.Reasons})
	}
	return out
}

// route tags a new ticket with the legacy hotline its dialed number belongs to
// (in force at now) and suggests the unit to dispatch it to: the unit of the
// routing rule for its category and region when it has a category and a rule
// matches, else the handling unit of the legacy hotline.
func (s *Tickets) route(snap *registry.Snapshot, t *ticket.Ticket, now time.Time) error {
	if err := s.tagHotline(snap, t, now); err != nil {
		return err
	}
	if t.Category != "" {
		if u, ok := snap.Route(t.Category, t.Location.RegionCode); ok {
			t.SuggestedUnit, t.SuggestedBy = u, ticket.SuggestedByRule
		}
	}
	return nil
}

// autoDispatch turns the creation c into the creation of a ticket already
// dispatched to its suggested unit: the dispatch event written with the
// creation event, and the work order's outbox messages. Emergency tickets are
// handed off by the operator and stay RECEIVED.
func (s *Tickets) autoDispatch(ctx context.Context, snap *registry.Snapshot, c *store.Create, now time.Time) {
	t := c.Ticket
	if t.SuggestedUnit == "" || t.Emergency {
		return
	}
	reason := "按原热线归口自动派单"
	if t.SuggestedBy == ticket.SuggestedByRule {
		reason = "按派单规则自动派单"
	}
	d, ev, err := s.machine.Apply(t, lifecycle.Command{Action: lifecycle.Dispatch, Actor: AutoDispatchActor,
		HandlingUnit: t.SuggestedUnit, Reason: reason}, now)
	if err != nil {
		// The registry vouches for the unit, so this is a bug; the ticket is
		// still filed, for an operator to dispatch.
		s.log.ErrorContext(ctx, "auto-dispatch refused; the ticket stays received", "ticket", t.ID, "unit", t.SuggestedUnit, "err", err)
		return
	}
	c.Ticket = d
	c.More = append(c.More, ev)
	c.Outbox = append(c.Outbox, outboxFor(snap, lifecycle.Dispatch, &d, &ev)...)
}

// AutoDispatchActor is the actor of dispatches made at intake.
const AutoDispatchActor = "system:auto-dispatch"

// tagHotline tags t with the legacy hotline dialed and suggests its handling
// unit; a retired number is refused or forwarded as configured.
func (s *Tickets) tagHotline(snap *registry.Snapshot, t *ticket.Ticket, now time.Time) error {
	if t.DialedNumber == "12345" {
		return nil
	}
	h, ok := snap.HotlineAt(t.DialedNumber, now)
	if !ok {
		return nil // not a legacy hotline: an ordinary number, or one we do not track
	}
	if s.legacy != nil {
		s.legacy.Inc(h.Number)
	}
	switch {
	case h.Status == registry.Retired && s.retired == RefuseRetired:
		return &errs.Error{Kind: errs.Precondition, Msg: fmt.Sprintf("hotline %s (%s) is retired; requests are taken on 12345", h.Number, h.Name)}
	case h.Status == registry.Retired:
		t.Hotline = h.Number + " " + h.Name + "（已停用，转12345）"
		return nil
	case h.Mode == registry.EmergencyLinkage:
		t.Emergency = true
		t.Urgency = ticket.Critical
	}
	t.Hotline = h.Number + " " + h.Name
	if h.HandlingUnit != "" {
		t.SuggestedUnit, t.SuggestedBy = h.HandlingUnit, ticket.SuggestedByHotline
	}
	return nil
}

// GetTicket implements pb.TicketServiceServer.
func (s *Tickets) GetTicket(ctx context.Context, req *pb.GetTicketRequest) (*pb.Ticket, error) {
	if err := requireID(req.GetId()); err != nil {
		return nil, s.fail(ctx, err)
	}
	t, ok := guard.Loaded(ctx, req.GetId()) // read by the access check
	if !ok {
		var err error
		if t, err = s.store.GetTicket(ctx, req.GetId()); err != nil {
			return nil, s.fail(ctx, err)
		}
	}
	return toProto(&t, s.clock()), nil
}

func requireID(id string) error {
	if strings.TrimSpace(id) == "" {
		return errs.Invalidf("id", "required")
	}
	if len(id) > 64 {
		return errs.Invalidf("id", "must be a ticket id or tracking number")
	}
	return nil
}

// Page sizes of ListTickets.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// ListTickets implements pb.TicketServiceServer.
func (s *Tickets) ListTickets(ctx context.Context, req *pb.ListTicketsRequest) (*pb.ListTicketsResponse, error) {
	now := s.clock()
	q, err := listQuery(req, now)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if q.Access, err = access(ctx); err != nil {
		return nil, s.fail(ctx, err)
	}
	p, err := s.store.ListTickets(ctx, q)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListTicketsResponse{Tickets: make([]*pb.Ticket, len(p.Tickets))}
	for i := range p.Tickets {
		resp.Tickets[i] = toProto(&p.Tickets[i], now)
	}
	if p.More {
		resp.NextPageToken = pageToken(p.Tickets[len(p.Tickets)-1].ID)
	}
	return resp, nil
}

// access is the caller's view of the tickets, compiled by the guard. A list
// that did not pass the guard is refused (deny by default).
func access(ctx context.Context) (*store.Access, error) {
	a, ok := guard.Filter(ctx)
	if !ok || a == nil {
		return nil, errs.E(errs.Permission, "tickets are listed only for an authorized caller")
	}
	return a, nil
}

// GetTicketStats implements pb.TicketServiceServer.
func (s *Tickets) GetTicketStats(ctx context.Context, req *pb.GetTicketStatsRequest) (*pb.TicketStats, error) {
	now := s.clock()
	q, err := listQuery(&pb.ListTicketsRequest{State: req.GetState(), HandlingUnit: req.GetHandlingUnit(), Category: req.GetCategory(),
		Overdue: req.Overdue, CreatedAfter: req.GetCreatedAfter(), CreatedBefore: req.GetCreatedBefore()}, now)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if q.Access, err = access(ctx); err != nil {
		return nil, s.fail(ctx, err)
	}
	counts, err := s.store.CountTickets(ctx, q)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &pb.TicketStats{ByState: map[string]int64{}}
	for st, n := range counts {
		out.ByState[string(st)] = n
		out.Total += n
	}
	return out, nil
}

func listQuery(req *pb.ListTicketsRequest, now time.Time) (store.Query, error) {
	var v errs.Violations
	q := store.Query{
		HandlingUnit:   req.GetHandlingUnit(),
		CategoryPrefix: req.GetCategory(),
		DialedNumber:   req.GetDialedNumber(),
		Now:            now,
		PageSize:       int(req.GetPageSize()),
	}
	switch {
	case q.PageSize == 0:
		q.PageSize = DefaultPageSize
	case q.PageSize < 0 || q.PageSize > MaxPageSize:
		v.Add("pageSize", "must be between 1 and %d, got %d", MaxPageSize, q.PageSize)
	}
	for i, st := range req.GetState() {
		name, ok := pb.State_name[int32(st)]
		if !ok || st == pb.State_STATE_UNSPECIFIED {
			v.Add(fmt.Sprintf("state[%d]", i), "unknown state %d", st)
			continue
		}
		q.States = append(q.States, ticket.State(name))
	}
	if req.Overdue != nil {
		o := req.GetOverdue()
		q.Overdue = &o
	}
	if ca := req.GetCreatedAfter(); ca != nil {
		if err := ca.CheckValid(); err != nil {
			v.Add("createdAfter", "%v", err)
		}
		q.CreatedAfter = ca.AsTime()
	}
	if cb := req.GetCreatedBefore(); cb != nil {
		if err := cb.CheckValid(); err != nil {
			v.Add("createdBefore", "%v", err)
		}
		q.CreatedBefore = cb.AsTime()
	}
	if tok := req.GetPageToken(); tok != "" {
		after, ok := parsePageToken(tok)
		if !ok {
			v.Add("pageToken", "not a token this API issued")
		}
		q.After = after
	}
	return q, v.Err()
}

// Page tokens are opaque to clients: the last id of the page, versioned.
func pageToken(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + lastID))
}

func parsePageToken(tok string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	id, ok := strings.CutPrefix(string(b), "v1:")
	if !ok || id == "" || len(id) > 64 {
		return "", false
	}
	return id, true
}

// ListTicketEvents implements pb.TicketServiceServer.
func (s *Tickets) ListTicketEvents(ctx context.Context, req *pb.ListTicketEventsRequest) (*pb.ListTicketEventsResponse, error) {
	if err := requireID(req.GetId()); err != nil {
		return nil, s.fail(ctx, err)
	}
	t, err := s.store.GetTicket(ctx, req.GetId())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	evs, err := s.store.Events(ctx, t.ID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListTicketEventsResponse{Events: make([]*pb.Event, len(evs))}
	for i := range evs {
		resp.Events[i] = eventToProto(&evs[i])
	}
	return resp, nil
}

// act applies one lifecycle command to ticket ref.
func (s *Tickets) act(ctx context.Context, ref string, c lifecycle.Command) (*pb.Ticket, error) {
	if err := requireID(ref); err != nil {
		return nil, s.fail(ctx, err)
	}
	c.Actor = actor(ctx)
	now := s.clock()
	snap := s.routes()
	t, err := s.store.UpdateTicket(ctx, ref, func(cur ticket.Ticket) (store.Change, error) {
		cmd := c
		if cmd.Action == lifecycle.Reclassify {
			// Route the (new) category in the (new) region; the machine
			// decides what the answer means in the ticket's state.
			category, region := cmd.Category, cmd.RegionCode
			if category == "" {
				category = cur.Category
			}
			if region == "" {
				region = cur.Location.RegionCode
			}
			cmd.HandlingUnit, _ = snap.Route(category, region)
		}
		next, ev, err := s.machine.Apply(cur, cmd, now)
		if err != nil {
			return store.Change{}, err
		}
		return store.Change{Ticket: next, Event: ev, Outbox: outboxFor(snap, c.Action, &next, &ev)}, nil
	})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.log.InfoContext(ctx, "ticket "+string(c.Action), "ticket", t.ID, "state", t.State, "unit", t.HandlingUnit)
	return toProto(&t, now), nil
}

// outboxFor returns the deliveries an action owes the units' systems: the
// work order itself when it is (re)assigned, and notices of what the centre
// decided about it. Actions the unit takes itself (sign, return, reply …) owe
// it nothing: they are recorded in the history only. A reclassification that
// moves the ticket sends the work order to the new unit and a withdrawal to
// the old one. Each message names the backend the registry chooses for its
// unit and the ticket's category (the one the old unit received it under, for
// a withdrawal).
func outboxFor(snap *registry.Snapshot, a lifecycle.Action, t *ticket.Ticket, ev *ticket.Event) []store.Message {
	type send struct{ topic, unit, category string }
	var sends []send
	switch a {
	case lifecycle.Dispatch, lifecycle.Reopen, lifecycle.Supervise, lifecycle.DecideExtension:
		sends = append(sends, send{"ticket." + string(a), t.HandlingUnit, t.Category})
		for _, u := range t.CoHandlingUnits {
			sends = append(sends, send{"ticket." + string(a), u, t.Category})
		}
	case lifecycle.Reclassify:
		old := ev.Details["previousHandlingUnit"]
		if old == "" {
			return nil // only the category changed
		}
		sends = append(sends,
			send{"ticket." + string(lifecycle.Dispatch), t.HandlingUnit, t.Category},
			send{TopicWithdraw, old, ev.Details["previousCategory"]})
	default:
		return nil
	}
	payload, err := json.Marshal(struct {
		Event  *ticket.Event  `json:"event"`
		Ticket *ticket.Ticket `json:"ticket"`
	}{ev, t})
	if err != nil {
		return nil // plain value types always marshal
	}
	msgs := make([]store.Message, 0, len(sends))
	for _, m := range sends {
		msg := store.Message{
			Topic:   m.topic,
			Unit:    m.unit,
			Key:     fmt.Sprintf("%s/%d/%s", t.ID, ev.Seq, m.unit),
			Payload: payload,
		}
		if snap != nil {
			if b, ok := snap.BackendFor(m.unit, m.category); ok {
				msg.Backend = b.ID
			}
		}
		msgs = append(msgs, msg)
	}
	return msgs
}

// TopicWithdraw is the topic of the message that tells a unit's system a work
// order was taken away from it (moved to another unit by a reclassification).
const TopicWithdraw = "ticket.withdraw"

// checkUnits verifies that dispatch names units the registry knows.
func (s *Tickets) checkUnits(ctx context.Context, unit string, co []string) error {
	var v errs.Violations
	check := func(field, id string) {
		if id == "" {
			return
		}
		if _, err := s.routes().Unit(ctx, id); err != nil {
			if errs.Is(err, errs.NotFound) {
				v.Add(field, "unknown unit %q", id)
				return
			}
			v.Add(field, "cannot be checked now")
		}
	}
	check("handlingUnit", unit)
	for i, u := range co {
		check(fmt.Sprintf("coHandlingUnits[%d]", i), u)
	}
	return v.Err()
}

// DispatchTicket implements pb.TicketServiceServer. Without a handling unit it
// dispatches to the unit the registry suggested at intake.
func (s *Tickets) DispatchTicket(ctx context.Context, req *pb.DispatchTicketRequest) (*pb.Ticket, error) {
	if req.GetHandlingUnit() == "" && requireID(req.GetId()) == nil {
		t, err := s.store.GetTicket(ctx, req.GetId())
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		req.HandlingUnit = t.SuggestedUnit // empty stays a "required" violation
	}
	if err := s.checkUnits(ctx, req.GetHandlingUnit(), req.GetCoHandlingUnits()); err != nil {
		return nil, s.fail(ctx, err)
	}
	if c := req.GetCategory(); c != "" {
		if !validCategory(c) {
			return nil, s.fail(ctx, errs.Invalidf("category", "must be a taxonomy code of 2 to 12 digits, got %q", c))
		}
		if err := s.checkCategory(ctx, "category", c); err != nil {
			return nil, s.fail(ctx, err)
		}
	}
	return s.act(ctx, req.GetId(), lifecycle.Command{
		Action:          lifecycle.Dispatch,
		HandlingUnit:    req.GetHandlingUnit(),
		CoHandlingUnits: req.GetCoHandlingUnits(),
		Category:        req.GetCategory(),
		Urgency:         ticket.Urgency(enumName(req.GetUrgency())),
		Reason:          req.GetReason(),
	})
}

// ReclassifyTicket implements pb.TicketServiceServer: a new category, and a
// move to another unit when a routing rule sends the new category there.
func (s *Tickets) ReclassifyTicket(ctx context.Context, req *pb.ReclassifyTicketRequest) (*pb.Ticket, error) {
	if err := requireID(req.GetId()); err != nil {
		return nil, s.fail(ctx, err)
	}
	switch c, r := req.GetCategory(), req.GetRegionCode(); {
	case c == "" && r == "":
		return nil, s.fail(ctx, errs.Invalidf("category", "required (or regionCode)"))
	case c != "" && !validCategory(c):
		return nil, s.fail(ctx, errs.Invalidf("category", "must be a taxonomy code of 2 to 12 digits, got %q", c))
	case r != "" && !registry.IsRegionCode(r):
		return nil, s.fail(ctx, errs.Invalidf("regionCode", "must be 6, 9 or 12 digits, got %q", r))
	}
	if c := req.GetCategory(); c != "" {
		if err := s.checkCategory(ctx, "category", c); err != nil {
			return nil, s.fail(ctx, err)
		}
	}
	return s.act(ctx, req.GetId(), lifecycle.Command{Action: lifecycle.Reclassify, Category: req.GetCategory(), RegionCode: req.GetRegionCode(), Reason: req.GetReason()})
}

// SignTicket implements pb.TicketServiceServer.
func (s *Tickets) SignTicket(ctx context.Context, req *pb.SignTicketRequest) (*pb.Ticket, error) {
	return s.act(ctx, req.GetId(), lifecycle.Command{Action: lifecycle.Sign, Reason: req.GetNote()})
}

// ReturnTicket implements pb.TicketServiceServer.
func (s *Tickets) ReturnTicket(ctx context.Context, req *pb.ReturnTicketRequest) (*pb.Ticket, error) {
	return s.act(ctx, req.GetId(), lifecycle.Command{Action: lifecycle.Return, Reason: req.GetReason()})
}

// RequestExtension implements pb.TicketServiceServer.
func (s *Tickets) RequestExtension(ctx context.Context, req *pb.RequestExtensionRequest) (*pb.Ticket, error) {
	return s.act(ctx, req.GetId(), lifecycle.Command{Action: lifecycle.RequestExtension, Days: int(req.GetDays()), Reason: req.GetReason()})
}

// DecideExtension implements pb.TicketServiceServer.
func (s *Tickets) DecideExtension(ctx context.Context, req *pb.DecideExtensionRequest) (*pb.Ticket, error) {
	return s.act(ctx, req.GetId(), lifecycle.Command{Action: lifecycle.DecideExtension, Approve: req.GetApprove(), Days: int(req.GetDays()), Reason: req.GetReason()})
}

// SuperviseTicket implements pb.TicketServiceServer.
func (s *Tickets) SuperviseTicket(ctx context.Context, req *pb.SuperviseTicketRequest) (*pb.Ticket, error) {
	c := lifecycle.Command{Action: lifecycle.Supervise, Reason: req.GetReason()}
	if rb := req.GetReplyBy(); rb != nil {
		if err := rb.CheckValid(); err != nil {
			return nil, s.fail(ctx, errs.Invalidf("replyBy", "%v", err))
		}
		c.ReplyBy = rb.AsTime()
	}
	return s.act(ctx, req.GetId(), c)
}

// ReplyTicket implements pb.TicketServiceServer.
func (s *Tickets) ReplyTicket(ctx context.Context, req *pb.ReplyTicketRequest) (*pb.Ticket, error) {
	return s.act(ctx, req.GetId(), lifecycle.Command{Action: lifecycle.Reply, Text: req.GetReply()})
}

// VisitTicket implements pb.TicketServiceServer.
func (s *Tickets) VisitTicket(ctx context.Context, req *pb.VisitTicketRequest) (*pb.Ticket, error) {
	return s.act(ctx, req.GetId(), lifecycle.Command{
		Action:       lifecycle.Visit,
		Satisfaction: ticket.Satisfaction(enumName(req.GetSatisfaction())),
		Resolved:     req.GetResolved(),
		Reason:       req.GetNote(),
	})
}

// ReopenTicket implements pb.TicketServiceServer.
func (s *Tickets) ReopenTicket(ctx context.Context, req *pb.ReopenTicketRequest) (*pb.Ticket, error) {
	return s.act(ctx, req.GetId(), lifecycle.Command{Action: lifecycle.Reopen, Reason: req.GetReason()})
}

// CloseTicket implements pb.TicketServiceServer.
func (s *Tickets) CloseTicket(ctx context.Context, req *pb.CloseTicketRequest) (*pb.Ticket, error) {
	return s.act(ctx, req.GetId(), lifecycle.Command{Action: lifecycle.Close, Reason: req.GetReason()})
}

// AnswerTicket implements pb.TicketServiceServer.
func (s *Tickets) AnswerTicket(ctx context.Context, req *pb.AnswerTicketRequest) (*pb.Ticket, error) {
	return s.act(ctx, req.GetId(), lifecycle.Command{Action: lifecycle.Answer, Text: req.GetAnswer()})
}

// validCategory reports whether c looks like a taxonomy code: an even number of
// digits, 2 to 12.
func validCategory(c string) bool {
	if len(c) < 2 || len(c) > 12 || len(c)%2 != 0 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}
