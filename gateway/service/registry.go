package service

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gopkg.in/yaml.v3"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
)

// Registry is the RegistryService. Reads come from the live snapshot (Routes):
// they are fast and still answered while the registry source is unreachable.
// Writes go to the Source, which the live snapshot then follows.
type Registry struct {
	pb.UnimplementedRegistryServiceServer

	src         registry.Source
	routes      func() *registry.Snapshot
	store       store.Store
	now         func() time.Time
	log         *slog.Logger
	retireGuard int
}

// RegistryConfig is what Registry needs.
type RegistryConfig struct {
	// Source keeps the registry; every write goes to it.
	Source registry.Source
	// Routes returns the current snapshot (registry.Live.Snapshot).
	Routes func() *registry.Snapshot
	// Store counts the traffic on legacy numbers.
	Store  store.Store
	Now    func() time.Time
	Logger *slog.Logger
	// RetireGuardDays is how many days of traffic make retiring a number need
	// force (default 30; negative disables the guard).
	RetireGuardDays int
}

// DefaultRetireGuardDays is the traffic window of the retire guard.
const DefaultRetireGuardDays = 30

// NewRegistry returns the service.
func NewRegistry(c RegistryConfig) *Registry {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	switch {
	case c.RetireGuardDays == 0:
		c.RetireGuardDays = DefaultRetireGuardDays
	case c.RetireGuardDays < 0:
		c.RetireGuardDays = 0
	}
	return &Registry{src: c.Source, routes: c.Routes, store: c.Store, now: c.Now, log: c.Logger, retireGuard: c.RetireGuardDays}
}

// The modes and statuses in the order the API documents them.
var (
	apiModes = []registry.Mode{registry.FullMerge, registry.DualNumbers, registry.SubCentre,
		registry.EmergencyLinkage, registry.Independent}
	apiStatuses = []registry.Status{registry.Planned, registry.DualRunning, registry.Merged,
		registry.Retired, registry.Linked, registry.Unmerged}
)

func (s *Registry) fail(ctx context.Context, err error) error {
	// A stale expected revision is Aborted, as the API documents (HTTP 409),
	// rather than the AlreadyExists a Conflict is elsewhere.
	var e *errs.Error
	if errors.As(err, &e) && e.Kind == errs.Conflict {
		return status.Error(codes.Aborted, e.Msg)
	}
	return Status(ctx, s.log, err)
}

// snapshot returns the live snapshot, or an Unavailable error before the
// registry was ever loaded.
func (s *Registry) snapshot() (*registry.Snapshot, error) {
	if s.routes != nil {
		if snap := s.routes(); snap != nil {
			return snap, nil
		}
	}
	return nil, errs.E(errs.Transient, "the registry is not loaded yet")
}

func (s *Registry) source() (registry.Source, error) {
	if s.src == nil {
		return nil, errs.E(errs.Precondition, "this server's registry is read-only (it has no registry source)")
	}
	return s.src, nil
}

// checkNumber validates a hotline number: required, 3 to 8 digits.
func checkNumber(n string) error {
	if n == "" {
		return errs.Invalidf("number", "required")
	}
	if len(n) < 3 || len(n) > 8 || strings.Trim(n, "0123456789") != "" {
		return errs.Invalidf("number", "must be 3 to 8 digits, got %q", n)
	}
	return nil
}

// at returns the time a request names, or now.
func (s *Registry) at(field string, t *timestamppb.Timestamp) (time.Time, error) {
	if t == nil {
		return s.now(), nil
	}
	if err := t.CheckValid(); err != nil {
		return time.Time{}, errs.Invalidf(field, "%v", err)
	}
	return t.AsTime(), nil
}

func hotlineToProto(h registry.Hotline) *pb.Hotline {
	allowed := registry.AllowedStatuses(h)
	out := &pb.Hotline{
		Number:          h.Number,
		Name:            h.Name,
		Department:      h.Department,
		Mode:            string(h.Mode),
		Status:          string(h.Status),
		HandlingUnit:    h.HandlingUnit,
		ExpertGroup:     h.ExpertGroup,
		Cutover:         h.Cutover.String(),
		ValidFrom:       h.ValidFrom.String(),
		ValidTo:         h.ValidTo.String(),
		Confidence:      h.Confidence,
		Note:            h.Note,
		Revision:        h.Revision,
		AllowedStatuses: make([]string, len(allowed)),
	}
	for i, st := range allowed {
		out.AllowedStatuses[i] = string(st)
	}
	return out
}

func changeToProto(c registry.StatusChange) *pb.StatusChange {
	return &pb.StatusChange{
		Number:  c.Number,
		From:    string(c.From),
		To:      string(c.To),
		Actor:   c.Actor,
		Reason:  c.Reason,
		Force:   c.Force,
		Time:    ts(c.At),
		Cutover: c.Cutover.String(),
	}
}

// ListHotlines implements pb.RegistryServiceServer.
func (s *Registry) ListHotlines(ctx context.Context, req *pb.ListHotlinesRequest) (*pb.ListHotlinesResponse, error) {
	var v errs.Violations
	mode, st := registry.Mode(req.GetMode()), registry.Status(req.GetStatus())
	if mode != "" && !slices.Contains(apiModes, mode) {
		v.Add("mode", "unknown mode %q; one of %s", mode, join(apiModes))
	}
	if st != "" && !slices.Contains(apiStatuses, st) {
		v.Add("status", "unknown status %q; one of %s", st, join(apiStatuses))
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	snap, err := s.snapshot()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListHotlinesResponse{Revision: snap.Revision}
	for _, h := range snap.Hotlines() {
		if (mode == "" || h.Mode == mode) && (st == "" || h.Status == st) {
			resp.Hotlines = append(resp.Hotlines, hotlineToProto(h))
		}
	}
	return resp, nil
}

// GetHotline implements pb.RegistryServiceServer.
func (s *Registry) GetHotline(ctx context.Context, req *pb.GetHotlineRequest) (*pb.Hotline, error) {
	if err := checkNumber(req.GetNumber()); err != nil {
		return nil, s.fail(ctx, err)
	}
	at, err := s.at("at", req.GetAt())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	snap, err := s.snapshot()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	h, ok := snap.HotlineAt(req.GetNumber(), at)
	if !ok {
		return nil, s.fail(ctx, hotlineNotFound(snap, req.GetNumber(), at))
	}
	return hotlineToProto(h), nil
}

// hotlineNotFound says whether the number is unknown or only not in use at t.
func hotlineNotFound(snap *registry.Snapshot, number string, t time.Time) error {
	for _, h := range snap.Hotlines() {
		if h.Number == number {
			return errs.E(errs.NotFound, "hotline %s is not in use on %s", number, registry.DateOf(t))
		}
	}
	return errs.E(errs.NotFound, "hotline %s not found", number)
}

// SetHotlineStatus implements pb.RegistryServiceServer.
func (s *Registry) SetHotlineStatus(ctx context.Context, req *pb.SetHotlineStatusRequest) (*pb.Hotline, error) {
	var v errs.Violations
	number := req.GetNumber()
	if err := checkNumber(number); err != nil {
		v = append(v, err.(*errs.Error).Fields...)
	}
	to := registry.Status(req.GetStatus())
	switch {
	case to == "":
		v.Add("status", "required; one of %s", join(apiStatuses))
	case !slices.Contains(apiStatuses, to):
		v.Add("status", "unknown status %q; one of %s", to, join(apiStatuses))
	}
	var cutover registry.Date
	if c := req.GetCutover(); c != "" {
		d, err := registry.ParseDate(c)
		if err != nil {
			v.Add("cutover", "%v", err)
		}
		cutover = d
	}
	now := s.now()
	at := now
	if t := req.GetAt(); t != nil {
		if err := t.CheckValid(); err != nil {
			v.Add("at", "%v", err)
		} else {
			at = t.AsTime()
		}
	}
	if req.GetForce() && strings.TrimSpace(req.GetReason()) == "" {
		v.Add("reason", "required when forcing a change")
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	src, err := s.source()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	guard := registry.RetireGuard{}
	if to == registry.Retired && s.retireGuard > 0 && s.store != nil {
		guard.Days = s.retireGuard
		counts, err := s.store.CountByDialedNumber(ctx, now.AddDate(0, 0, -s.retireGuard))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		guard.Requests = counts[number]
	}
	c := registry.StatusChange{
		Number: number,
		To:     to,
		Actor:  actor(ctx),
		Reason: req.GetReason(),
		Force:  req.GetForce(),
		// At is when the change is recorded, and picks the use of a reused
		// number: now, unless the request names another time.
		At:      at,
		Cutover: cutover,
	}
	h, err := src.SetStatus(ctx, number, c, req.GetExpectedRevision(), guard)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.log.InfoContext(ctx, "hotline status changed", "number", number, "status", h.Status,
		"actor", c.Actor, "force", c.Force, "revision", h.Revision)
	return hotlineToProto(h), nil
}

// ListHotlineHistory implements pb.RegistryServiceServer.
func (s *Registry) ListHotlineHistory(ctx context.Context, req *pb.ListHotlineHistoryRequest) (*pb.ListHotlineHistoryResponse, error) {
	if err := checkNumber(req.GetNumber()); err != nil {
		return nil, s.fail(ctx, err)
	}
	src, err := s.source()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	changes, err := src.History(ctx, req.GetNumber())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if len(changes) == 0 {
		// A number without history: known (nothing changed yet) or unknown.
		if snap, err := s.snapshot(); err == nil && !knownNumber(snap, req.GetNumber()) {
			return nil, s.fail(ctx, errs.E(errs.NotFound, "hotline %s not found", req.GetNumber()))
		}
	}
	resp := &pb.ListHotlineHistoryResponse{Changes: make([]*pb.StatusChange, len(changes))}
	for i, c := range changes {
		resp.Changes[i] = changeToProto(c)
	}
	return resp, nil
}

func knownNumber(snap *registry.Snapshot, number string) bool {
	for _, h := range snap.Hotlines() {
		if h.Number == number {
			return true
		}
	}
	return false
}

// ListUnits implements pb.RegistryServiceServer.
func (s *Registry) ListUnits(ctx context.Context, req *pb.ListUnitsRequest) (*pb.ListUnitsResponse, error) {
	snap, err := s.snapshot()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	units, err := snap.Units(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	var keep map[string]bool
	if under := req.GetUnder(); under != "" {
		if _, err := snap.Unit(ctx, under); err != nil {
			return nil, s.fail(ctx, err)
		}
		keep = map[string]bool{under: true}
		for _, id := range snap.Descendants(under) {
			keep[id] = true
		}
	}
	resp := &pb.ListUnitsResponse{}
	for _, u := range units {
		if keep == nil || keep[u.ID] {
			resp.Units = append(resp.Units, &pb.Unit{Id: u.ID, Name: u.Name, Kind: string(u.Kind), Parent: u.Parent, RegionCode: u.RegionCode})
		}
	}
	return resp, nil
}

// ListBackends implements pb.RegistryServiceServer.
func (s *Registry) ListBackends(ctx context.Context, _ *pb.ListBackendsRequest) (*pb.ListBackendsResponse, error) {
	snap, err := s.snapshot()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListBackendsResponse{}
	for _, b := range snap.Backends() {
		resp.Backends = append(resp.Backends, &pb.Backend{
			Id:          b.ID,
			Unit:        b.Unit,
			Kind:        b.Kind,
			Endpoints:   b.Endpoints,
			Service:     b.Service,
			Categories:  b.Categories,
			MaxInFlight: int32(b.MaxInFlight),
		})
	}
	return resp, nil
}

// ImportRegistry implements pb.RegistryServiceServer. A bad file is refused
// with the line of each problem and changes nothing.
func (s *Registry) ImportRegistry(ctx context.Context, req *pb.ImportRegistryRequest) (*pb.ImportRegistryResponse, error) {
	if strings.TrimSpace(req.GetYaml()) == "" {
		return nil, s.fail(ctx, errs.Invalidf("yaml", "required: the province file"))
	}
	p, err := ParseProvince([]byte(req.GetYaml()))
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	src, err := s.source()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	who := actor(ctx)
	rev, err := src.Import(ctx, p, who)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.log.InfoContext(ctx, "registry imported", "actor", who, "revision", rev,
		"units", len(p.Units), "hotlines", len(p.Hotlines), "backends", len(p.Backends))
	return &pb.ImportRegistryResponse{Revision: rev, Units: int32(len(p.Units)),
		Hotlines: int32(len(p.Hotlines)), Backends: int32(len(p.Backends))}, nil
}

// ParseProvince decodes and validates a province file like
// registry.LoadProvince, and puts the line of each violation of the file's
// rules into its description (e.g. `hotlines[3].number: line 204: must be 3
// to 8 digits`). Decoding errors carry the decoder's line already.
func ParseProvince(b []byte) (*registry.ProvinceFile, error) {
	p, err := registry.LoadProvince(bytes.NewReader(b))
	if err == nil {
		return p, nil
	}
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return nil, err
	}
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil {
		return nil, err
	}
	out := &errs.Error{Kind: e.Kind, Msg: "invalid province file", Err: e.Err}
	for _, f := range e.Fields {
		if line := lineOf(&doc, f.Field); line > 0 {
			f.Description = fmt.Sprintf("line %d: %s", line, f.Description)
		}
		out.Fields = append(out.Fields, f)
	}
	return nil, out
}

// lineOf returns the line of the node at path (e.g. "units[3].parent") in a
// decoded document: the key's own line, or the line of the nearest enclosing
// node when the key is missing. 0 when nothing matches.
func lineOf(doc *yaml.Node, path string) int {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for part := range strings.SplitSeq(path, ".") {
		key, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			k, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err != nil {
				return line
			}
			key, idx = part[:i], k
		}
		if n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		if next == nil {
			return cmp.Or(line, n.Line)
		}
		n = next
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

// ExportRegistry implements pb.RegistryServiceServer.
func (s *Registry) ExportRegistry(ctx context.Context, _ *pb.ExportRegistryRequest) (*pb.ExportRegistryResponse, error) {
	src, err := s.source()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	p, rev, err := src.Load(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	b, err := MarshalProvince(p, fmt.Sprintf("Exported from Switchboard at registry revision %d, %s.",
		rev, s.now().UTC().Format(time.RFC3339)))
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.ExportRegistryResponse{Yaml: string(b), Revision: rev}, nil
}

// MarshalProvince writes p as a province file that registry.LoadProvince
// reads back to the same registry: UTF-8, units and rules one per line, hotlines and
// backends as blocks (lists of scalars on one line), and header as a comment
// on top.
func MarshalProvince(p *registry.ProvinceFile, header string) ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(p); err != nil {
		return nil, fmt.Errorf("encoding registry: %w", err)
	}
	if header != "" {
		doc.HeadComment = "# " + strings.ReplaceAll(header, "\n", "\n# ")
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if v := doc.Content[i].Value; v == "units" || v == "rules" {
			for _, u := range doc.Content[i+1].Content {
				u.Style = yaml.FlowStyle
			}
		}
	}
	flowScalarLists(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encoding registry: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding registry: %w", err)
	}
	return buf.Bytes(), nil
}

// flowScalarLists writes lists of scalars (endpoints, categories) on one line.
func flowScalarLists(n *yaml.Node) {
	if n.Kind == yaml.SequenceNode && len(n.Content) > 0 && !slices.ContainsFunc(n.Content, func(c *yaml.Node) bool { return c.Kind != yaml.ScalarNode }) {
		n.Style = yaml.FlowStyle
		return
	}
	for _, c := range n.Content {
		flowScalarLists(c)
	}
}

// Report windows of GetMigrationReport, in days.
const (
	reportShortDays = 7
	reportLongDays  = 30
)

// GetMigrationReport implements pb.RegistryServiceServer.
func (s *Registry) GetMigrationReport(ctx context.Context, _ *pb.GetMigrationReportRequest) (*pb.MigrationReport, error) {
	snap, err := s.snapshot()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	now := s.now()
	hotlines := snap.Hotlines()
	rep := &pb.MigrationReport{Revision: snap.Revision}

	// Counts per (mode, status), in the API's order.
	type key struct {
		m registry.Mode
		s registry.Status
	}
	counts := map[key]int32{}
	for _, h := range hotlines {
		counts[key{h.Mode, h.Status}]++
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(rank(apiModes, a.m), rank(apiModes, b.m)),
			cmp.Compare(rank(apiStatuses, a.s), rank(apiStatuses, b.s)),
			strings.Compare(string(a.m), string(b.m)), strings.Compare(string(a.s), string(b.s)))
	})
	for _, k := range keys {
		rep.Counts = append(rep.Counts, &pb.MigrationReport_Count{Mode: string(k.m), Status: string(k.s), Hotlines: counts[k]})
	}

	// Traffic still arriving on legacy numbers.
	if s.store != nil {
		long, err := s.store.CountByDialedNumber(ctx, now.AddDate(0, 0, -reportLongDays))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		short, err := s.store.CountByDialedNumber(ctx, now.AddDate(0, 0, -reportShortDays))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		seen := map[string]bool{}
		for _, h := range hotlines {
			if h.Number == "12345" || seen[h.Number] || long[h.Number]+short[h.Number] == 0 {
				continue
			}
			seen[h.Number] = true
			cur, ok := snap.HotlineAt(h.Number, now)
			if !ok {
				cur = latestUse(hotlines, h.Number)
			}
			rep.Traffic = append(rep.Traffic, &pb.MigrationReport_Traffic{Number: h.Number, Name: cur.Name,
				Status: string(cur.Status), Last_7Days: short[h.Number], Last_30Days: long[h.Number]})
		}
		slices.SortFunc(rep.Traffic, func(a, b *pb.MigrationReport_Traffic) int {
			return cmp.Or(cmp.Compare(b.Last_30Days, a.Last_30Days), cmp.Compare(b.Last_7Days, a.Last_7Days),
				strings.Compare(a.Number, b.Number))
		})
	}

	// Cutovers today or later.
	today := registry.DateOf(now)
	for _, h := range hotlines {
		if h.Cutover.IsZero() || h.Cutover.Before(today) {
			continue
		}
		rep.UpcomingCutovers = append(rep.UpcomingCutovers, &pb.MigrationReport_Cutover{Number: h.Number, Name: h.Name,
			Status: string(h.Status), Cutover: h.Cutover.String()})
	}
	slices.SortStableFunc(rep.UpcomingCutovers, func(a, b *pb.MigrationReport_Cutover) int {
		return cmp.Or(strings.Compare(a.Cutover, b.Cutover), strings.Compare(a.Number, b.Number))
	})
	return rep, nil
}

// latestUse returns the last use of number (hotlines are sorted by number,
// then validity).
func latestUse(hotlines []registry.Hotline, number string) registry.Hotline {
	var out registry.Hotline
	for _, h := range hotlines {
		if h.Number == number {
			out = h
		}
	}
	return out
}

// rank is v's place in list; values not in it come last.
func rank[T comparable](list []T, v T) int {
	if i := slices.Index(list, v); i >= 0 {
		return i
	}
	return len(list)
}

func join[T ~string](list []T) string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = string(v)
	}
	return strings.Join(out, ", ")
}
