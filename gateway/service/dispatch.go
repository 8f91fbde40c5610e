package service

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/dispatch"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
)

// DispatchStatus reports the dispatcher's state; *dispatch.Dispatcher is one.
// If it also has a Wake() method, a redrive wakes it so that delivery starts
// at once.
type DispatchStatus interface {
	Status(ctx context.Context) (dispatch.Status, error)
}

// waker is the optional ability of a DispatchStatus to claim at once.
type waker interface{ Wake() }

// Dispatch is the DispatchService: units' inboxes (the manual adapter's
// queue) and the state of delivery.
type Dispatch struct {
	pb.UnimplementedDispatchServiceServer

	outbox store.Outbox
	inbox  store.Inbox
	status DispatchStatus
	routes func() *registry.Snapshot
	now    func() time.Time
	log    *slog.Logger
}

// DispatchConfig is what Dispatch needs.
type DispatchConfig struct {
	Outbox store.Outbox
	Inbox  store.Inbox
	// Status, if set, reports the dispatcher (GetDispatchStatus); nil means
	// this server runs none and the status is Unavailable. Never pass a nil
	// pointer in it.
	Status DispatchStatus
	// Routes returns the current registry snapshot (registry.Live.Snapshot),
	// against which units and backends are checked.
	Routes func() *registry.Snapshot
	Now    func() time.Time
	Logger *slog.Logger
}

// Limits of the DispatchService's requests.
const (
	DefaultClaimLimit   = 10
	MaxClaimLimit       = 100
	DefaultLeaseSeconds = 900
	MinLeaseSeconds     = 10
	MaxLeaseSeconds     = 86400
	MaxInboxKey         = 300
)

// NewDispatch returns the service.
func NewDispatch(c DispatchConfig) *Dispatch {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Dispatch{outbox: c.Outbox, inbox: c.Inbox, status: c.Status, routes: c.Routes, now: c.Now, log: c.Logger}
}

func (s *Dispatch) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// fail maps err to a status. An acknowledgement of an item someone else holds
// is Aborted (HTTP 409), as the API documents, like a stale registry revision.
func (s *Dispatch) fail(ctx context.Context, err error) error {
	var e *errs.Error
	if errors.As(err, &e) && e.Kind == errs.Conflict {
		return status.Error(codes.Aborted, e.Msg)
	}
	return Status(ctx, s.log, err)
}

func (s *Dispatch) snapshot() (*registry.Snapshot, error) {
	if s.routes != nil {
		if snap := s.routes(); snap != nil {
			return snap, nil
		}
	}
	return nil, errs.E(errs.Transient, "the registry is not loaded yet")
}

// checkUnit validates a unit id: required, and known to the registry.
func (s *Dispatch) checkUnit(ctx context.Context, unit string) error {
	if unit == "" {
		return errs.Invalidf("unit", "required")
	}
	snap, err := s.snapshot()
	if err != nil {
		return err
	}
	_, err = snap.Unit(ctx, unit)
	return err
}

// checkBackend reports NotFound for a backend neither the registry nor the
// outbox knows. A backend removed from the registry whose messages are still
// parked stays known, so that they can be listed and redriven.
func (s *Dispatch) checkBackend(ctx context.Context, backend string) error {
	snap, err := s.snapshot()
	if err != nil {
		return err
	}
	for _, b := range snap.Backends() {
		if b.ID == backend {
			return nil
		}
	}
	parked, err := s.outbox.DeadLetters(ctx, store.DeadQuery{Backend: backend, Limit: 1})
	if err != nil {
		return err
	}
	if len(parked) == 0 {
		return errs.E(errs.NotFound, "backend %q not found", backend)
	}
	return nil
}

// claimant is who claims and acknowledges inbox items: the caller. A claim
// by nobody in particular would be shared by every anonymous caller.
func claimant(ctx context.Context) (string, error) {
	a := actor(ctx)
	if a == "anonymous" {
		return "", errs.E(errs.Unauthenticated, "inbox claims need the caller's name (header X-Actor, metadata x-actor)")
	}
	return a, nil
}

// ListInbox implements pb.DispatchServiceServer.
func (s *Dispatch) ListInbox(ctx context.Context, req *pb.ListInboxRequest) (*pb.ListInboxResponse, error) {
	var v errs.Violations
	size := int(req.GetPageSize())
	switch {
	case size == 0:
		size = DefaultPageSize
	case size < 0 || size > MaxPageSize:
		v.Add("pageSize", "must be between 1 and %d, got %d", MaxPageSize, size)
	}
	after, ok := parseKeyToken(req.GetPageToken())
	if !ok {
		v.Add("pageToken", "not a token this API issued")
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	if err := s.checkUnit(ctx, req.GetUnit()); err != nil {
		return nil, s.fail(ctx, err)
	}
	items, err := s.inbox.ListInbox(ctx, store.InboxQuery{Unit: req.GetUnit(), All: req.GetAll(), Now: s.clock(), Limit: size + 1, After: after})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListInboxResponse{}
	if len(items) > size {
		items = items[:size]
		resp.NextPageToken = keyToken(items[size-1].Key)
	}
	for i := range items {
		resp.Items = append(resp.Items, s.inboxItem(ctx, &items[i]))
	}
	return resp, nil
}

// ClaimInbox implements pb.DispatchServiceServer.
func (s *Dispatch) ClaimInbox(ctx context.Context, req *pb.ClaimInboxRequest) (*pb.ClaimInboxResponse, error) {
	var v errs.Violations
	limit := int(req.GetLimit())
	switch {
	case limit == 0:
		limit = DefaultClaimLimit
	case limit < 0 || limit > MaxClaimLimit:
		v.Add("limit", "must be between 1 and %d, got %d", MaxClaimLimit, limit)
	}
	lease := int(req.GetLeaseSeconds())
	switch {
	case lease == 0:
		lease = DefaultLeaseSeconds
	case lease < MinLeaseSeconds || lease > MaxLeaseSeconds:
		v.Add("leaseSeconds", "must be between %d and %d, got %d", MinLeaseSeconds, MaxLeaseSeconds, lease)
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	if err := s.checkUnit(ctx, req.GetUnit()); err != nil {
		return nil, s.fail(ctx, err)
	}
	who, err := claimant(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	now := s.clock()
	items, err := s.inbox.ClaimInbox(ctx, req.GetUnit(), who, now, now.Add(time.Duration(lease)*time.Second), limit)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ClaimInboxResponse{Items: make([]*pb.InboxItem, 0, len(items))}
	for i := range items {
		resp.Items = append(resp.Items, s.inboxItem(ctx, &items[i]))
	}
	if len(items) > 0 {
		s.log.InfoContext(ctx, "inbox items claimed", "unit", req.GetUnit(), "actor", who, "items", len(items))
	}
	return resp, nil
}

// AckInbox implements pb.DispatchServiceServer.
func (s *Dispatch) AckInbox(ctx context.Context, req *pb.AckInboxRequest) (*pb.InboxItem, error) {
	switch key := req.GetKey(); {
	case key == "":
		return nil, s.fail(ctx, errs.Invalidf("key", "required"))
	case len(key) > MaxInboxKey:
		return nil, s.fail(ctx, errs.Invalidf("key", "must be at most %d bytes", MaxInboxKey))
	}
	if err := s.checkUnit(ctx, req.GetUnit()); err != nil {
		return nil, s.fail(ctx, err)
	}
	who, err := claimant(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	it, err := s.inbox.AckInbox(ctx, req.GetUnit(), req.GetKey(), who, s.clock())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return s.inboxItem(ctx, &it), nil
}

// GetDispatchStatus implements pb.DispatchServiceServer.
func (s *Dispatch) GetDispatchStatus(ctx context.Context, _ *pb.GetDispatchStatusRequest) (*pb.DispatchStatus, error) {
	if s.status == nil {
		return nil, status.Error(codes.Unavailable, "dispatcher not running (dispatch.deliver is off on this server)")
	}
	st, err := s.status.Status(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &pb.DispatchStatus{Backends: make([]*pb.BackendDispatchStatus, 0, len(st.Backends))}
	for _, b := range st.Backends {
		out.Backends = append(out.Backends, &pb.BackendDispatchStatus{
			Backend: b.Backend, Unit: b.Unit, Kind: b.Kind, Breaker: b.Breaker,
			Queued: int32(b.Queued), QueueCap: int32(b.QueueCap), InFlight: int32(b.InFlight), MaxInFlight: int32(b.MaxInFlight),
			Pending: b.Pending, OldestPendingSeconds: b.OldestPending.Seconds(), Dead: b.Dead,
			Attempts: b.Attempts, Delivered: b.Delivered, Failures: b.Failures, Rejected: b.Rejected,
			LatencyP50Ms: millisOf(b.LatencyP50), LatencyP99Ms: millisOf(b.LatencyP99),
		})
	}
	return out, nil
}

func millisOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ListDeadLetters implements pb.DispatchServiceServer.
func (s *Dispatch) ListDeadLetters(ctx context.Context, req *pb.ListDeadLettersRequest) (*pb.ListDeadLettersResponse, error) {
	var v errs.Violations
	size := int(req.GetPageSize())
	switch {
	case size == 0:
		size = DefaultPageSize
	case size < 0 || size > MaxPageSize:
		v.Add("pageSize", "must be between 1 and %d, got %d", MaxPageSize, size)
	}
	var after int64
	if tok := req.GetPageToken(); tok != "" {
		last, ok := parseKeyToken(tok)
		n, err := strconv.ParseInt(last, 10, 64)
		if !ok || err != nil || n <= 0 {
			v.Add("pageToken", "not a token this API issued")
		}
		after = n
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	if b := req.GetBackend(); b != "" {
		if err := s.checkBackend(ctx, b); err != nil {
			return nil, s.fail(ctx, err)
		}
	}
	dead, err := s.outbox.DeadLetters(ctx, store.DeadQuery{Backend: req.GetBackend(), Limit: size + 1, After: after})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListDeadLettersResponse{DeadLetters: make([]*pb.DeadLetter, 0, min(len(dead), size))}
	if len(dead) > size {
		dead = dead[:size]
		resp.NextPageToken = keyToken(strconv.FormatInt(dead[size-1].ID, 10))
	}
	for _, p := range dead {
		d := &pb.DeadLetter{
			Id: p.ID, TicketId: p.TicketID, TrackingNumber: p.TrackingNumber, Seq: p.Seq, Topic: p.Topic,
			Unit: p.Unit, Backend: p.Backend, Key: p.Key, Attempts: int32(p.Attempts),
			LastError: p.LastErr, DeadReason: p.DeadReason, CreateTime: timestamppb.New(p.Created),
		}
		if !p.DeadAt.IsZero() {
			d.DeadTime = timestamppb.New(p.DeadAt)
		}
		resp.DeadLetters = append(resp.DeadLetters, d)
	}
	return resp, nil
}

// Redrive implements pb.DispatchServiceServer.
func (s *Dispatch) Redrive(ctx context.Context, req *pb.RedriveRequest) (*pb.RedriveResponse, error) {
	ids, backend, all := req.GetIds(), req.GetBackend(), req.GetAll()
	var v errs.Violations
	switch {
	case len(ids) == 0 && backend == "" && !all:
		v.Add("ids", "give the ids of dead letters, a backend, or all=true")
	case len(ids) > 0 && (backend != "" || all):
		v.Add("ids", "give ids, a backend or all=true, not several")
	case backend != "" && all:
		v.Add("all", "cannot be combined with a backend")
	}
	if len(ids) > MaxPageSize {
		v.Add("ids", "at most %d at once, got %d", MaxPageSize, len(ids))
	}
	for i, id := range ids {
		if id <= 0 {
			v.Add(fmt.Sprintf("ids[%d]", i), "must be a positive id, got %d", id)
		}
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	if backend != "" {
		if err := s.checkBackend(ctx, backend); err != nil {
			return nil, s.fail(ctx, err)
		}
	}
	n, err := s.outbox.Redrive(ctx, store.Redrive{IDs: ids, Backend: backend, Now: s.clock()})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if n > 0 {
		if w, ok := s.status.(waker); ok {
			w.Wake()
		}
	}
	s.log.InfoContext(ctx, "dead letters redriven", "backend", backend, "ids", len(ids), "messages", n, "actor", actor(ctx))
	return &pb.RedriveResponse{Redriven: int32(n)}, nil
}

// inboxItem converts an inbox item. The payload, JSON written by the manual
// adapter, becomes a JSON object; the tracking number is read from it.
func (s *Dispatch) inboxItem(ctx context.Context, it *store.InboxItem) *pb.InboxItem {
	out := &pb.InboxItem{
		Key: it.Key, Unit: it.Unit, TicketId: it.TicketID, Topic: it.Topic,
		CreateTime: timestamppb.New(it.Created), ClaimedBy: it.ClaimedBy, AckedBy: it.AckedBy,
	}
	if !it.ClaimedUntil.IsZero() {
		out.ClaimExpireTime = timestamppb.New(it.ClaimedUntil)
	}
	if !it.AckedAt.IsZero() {
		out.AckTime = timestamppb.New(it.AckedAt)
	}
	if len(it.Payload) > 0 {
		p := &structpb.Struct{}
		if err := protojson.Unmarshal(it.Payload, p); err != nil {
			s.log.WarnContext(ctx, "inbox item payload is not a JSON object", "unit", it.Unit, "key", it.Key, "err", err)
		} else {
			out.Payload = p
			out.TrackingNumber = p.GetFields()["ticket"].GetStructValue().GetFields()["trackingNumber"].GetStringValue()
		}
	}
	return out
}

// Page tokens of the DispatchService are opaque to clients: the last key (or
// id) of the page, versioned. "" is the first page.
func keyToken(last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + last))
}

func parseKeyToken(tok string) (string, bool) {
	if tok == "" {
		return "", true
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	last, ok := strings.CutPrefix(string(b), "v1:")
	if !ok || last == "" || len(last) > MaxInboxKey {
		return "", false
	}
	return last, true
}
