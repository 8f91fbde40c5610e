package service

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/gateway/auth"
	"github.com/switchboard12345/switchboard/gateway/authz"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/internal/ids"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
)

// Access is the AuthService: the principals and their API tokens, the Casbin
// access policy, dry runs of it, and the audit log. The guard has already
// checked the caller's admin_policy action (every method but WhoAmI); Access
// validates the requests, makes the changes and audits every one of them,
// with the caller (auth.PrincipalFrom) as the actor.
type Access struct {
	pb.UnimplementedAuthServiceServer

	authz   *authz.Authorizer
	store   store.Auth
	tickets store.Store
	units   func() *registry.Snapshot
	now     func() time.Time
	newID   func(time.Time) string
	log     *slog.Logger
}

// AccessConfig is what Access needs.
type AccessConfig struct {
	// Authz enforces the policy; policy changes go through its Change.
	Authz *authz.Authorizer
	// Store keeps the principals, tokens and audit log.
	Store store.Auth
	// Tickets answers WhoCanSee's ticket lookups.
	Tickets store.Store
	// Units returns the registry's current snapshot, against which units
	// are checked.
	Units func() *registry.Snapshot
	// Now is the clock (nil: time.Now); NewID makes token ids (nil: ULIDs
	// from internal/ids).
	Now    func() time.Time
	NewID  func(time.Time) string
	Logger *slog.Logger
}

// NewAccess returns the service.
func NewAccess(c AccessConfig) *Access {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.NewID == nil {
		c.NewID = ids.NewSource().New
	}
	return &Access{authz: c.Authz, store: c.Store, tickets: c.Tickets, units: c.Units,
		now: c.Now, newID: c.NewID, log: c.Logger}
}

// Limits of the AuthService's requests.
const (
	MaxPrincipalName = 50  // characters
	MaxRoleName      = 64  // bytes
	MaxTokenNote     = 200 // characters of a token's description
)

// TokenIDPrefix starts the id of every API token (not its secret), as the
// tokens serve --demo makes.
const TokenIDPrefix = "tok-"

// principalID is the form of a principal id.
var principalID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// Audit log actions of the AuthService.
const (
	AuditPrincipalCreate = "principal.create"
	AuditPrincipalUpdate = "principal.update"
	AuditPolicyGrant     = "policy.grant"
	AuditPolicyRevoke    = "policy.revoke"
	AuditPolicyChange    = "policy.change"
	AuditPolicyImport    = "policy.import"
	AuditTokenCreate     = "token.create"
	AuditTokenRevoke     = "token.revoke"
)

func (s *Access) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func (s *Access) fail(ctx context.Context, err error) error { return Status(ctx, s.log, err) }

// principalErr names principal id in a not-found error of the store.
func principalErr(err error, id string) error {
	if errs.Is(err, errs.NotFound) {
		return errs.E(errs.NotFound, "principal %q not found", id)
	}
	return err
}

// caller is the authenticated principal the guard put in the context. A call
// that did not pass the guard is refused (deny by default); changes need it
// as the audit log's actor.
func caller(ctx context.Context) (store.Principal, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok || p.ID == "" {
		return store.Principal{}, errs.E(errs.Unauthenticated, "the access API needs an authenticated caller")
	}
	return p, nil
}

func (s *Access) snapshot() (*registry.Snapshot, error) {
	if s.units != nil {
		if snap := s.units(); snap != nil {
			return snap, nil
		}
	}
	return nil, errs.E(errs.Transient, "the registry is not loaded yet")
}

// checkPrincipalID adds a violation of field unless id is a well-formed
// principal id.
func checkPrincipalID(v *errs.Violations, field, id string) {
	switch {
	case id == "":
		v.Add(field, "required")
	case !principalID.MatchString(id):
		v.Add(field, "must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit, got %q", id)
	}
}

// checkRole adds a violation of field unless role can be a policy value.
func checkRole(v *errs.Violations, field, role string) {
	switch {
	case role == "":
		v.Add(field, "required")
	case len(role) > MaxRoleName:
		v.Add(field, "must be at most %d bytes", MaxRoleName)
	case !utf8.ValidString(role) || strings.ContainsFunc(role, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == ',' || r == '"' || r == '#'
	}):
		v.Add(field, "must not contain spaces, commas, quotes or '#', got %q", role)
	}
}

// checkUnit adds a violation of field unless unit is in the registry.
func checkUnit(ctx context.Context, v *errs.Violations, snap *registry.Snapshot, field, unit string) {
	if unit == "" {
		v.Add(field, "required")
		return
	}
	if _, err := snap.Unit(ctx, unit); err != nil {
		if errs.Is(err, errs.NotFound) {
			v.Add(field, "unknown unit %q", unit)
			return
		}
		v.Add(field, "cannot be checked now")
	}
}

// audit writes entries made by a change already applied. The change cannot
// be undone, so a failure is logged with the entries (the log then holds the
// record) and reported to the caller as an internal error.
func (s *Access) audit(ctx context.Context, entries ...store.AuditEntry) error {
	if err := s.store.Audit(ctx, entries...); err != nil {
		for _, e := range entries {
			s.log.ErrorContext(ctx, "writing the audit log failed after the change was made",
				"actor", e.Actor, "action", e.Action, "detail", e.Detail, "err", err)
		}
		return fmt.Errorf("auditing %s: %w", entries[0].Action, err)
	}
	return nil
}

func principalToProto(p store.Principal) *pb.Principal {
	return &pb.Principal{Id: p.ID, Name: p.Name, Kind: p.Kind, Unit: p.Unit, Disabled: p.Disabled, CreateTime: ts(p.CreatedAt)}
}

func tokenToProto(t store.Token) *pb.Token {
	return &pb.Token{Id: t.ID, Principal: t.Principal, Description: t.Description, CreatedBy: t.CreatedBy,
		CreateTime: ts(t.CreatedAt), ExpireTime: ts(t.ExpiresAt), RevokeTime: ts(t.RevokedAt)}
}

func grantsToProto(gs []authz.Grant) []*pb.Grant {
	out := make([]*pb.Grant, len(gs))
	for i, g := range gs {
		out[i] = &pb.Grant{Role: g.Role, Unit: g.Unit}
	}
	return out
}

// WhoAmI implements pb.AuthServiceServer.
func (s *Access) WhoAmI(ctx context.Context, _ *pb.WhoAmIRequest) (*pb.WhoAmIResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.WhoAmIResponse{Principal: principalToProto(p), Grants: grantsToProto(s.authz.Grants(p.ID)),
		PolicyRevision: s.authz.Revision()}, nil
}

// checkPrincipalName checks a display name: required, printable, at most
// MaxPrincipalName characters.
func checkPrincipalName(v *errs.Violations, field, name string) {
	switch n := utf8.RuneCountInString(name); {
	case name == "":
		v.Add(field, "required")
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		v.Add(field, "must be printable text")
	case n > MaxPrincipalName:
		v.Add(field, "must be at most %d characters, got %d", MaxPrincipalName, n)
	}
}

// UpdatePrincipal implements pb.AuthServiceServer: a new name or unit, or
// disabled (its tokens are refused within the token cache's time) or
// enabled again. The change is audited.
func (s *Access) UpdatePrincipal(ctx context.Context, req *pb.UpdatePrincipalRequest) (*pb.Principal, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	snap, err := s.snapshot()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	var v errs.Violations
	checkPrincipalID(&v, "id", req.GetId())
	if req.Name != nil {
		checkPrincipalName(&v, "name", strings.TrimSpace(req.GetName()))
	}
	if req.Unit != nil {
		checkUnit(ctx, &v, snap, "unit", req.GetUnit())
	}
	if req.Name == nil && req.Unit == nil && req.Disabled == nil {
		v.Add("name", "nothing to change: give name, unit or disabled")
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	p, err := s.store.GetPrincipal(ctx, req.GetId())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	var changes []string
	if req.Name != nil && strings.TrimSpace(req.GetName()) != p.Name {
		p.Name = strings.TrimSpace(req.GetName())
		changes = append(changes, "name "+p.Name)
	}
	if req.Unit != nil && req.GetUnit() != p.Unit {
		p.Unit = req.GetUnit()
		changes = append(changes, "unit "+p.Unit)
	}
	if req.Disabled != nil && req.GetDisabled() != p.Disabled {
		p.Disabled = req.GetDisabled()
		changes = append(changes, map[bool]string{true: "disabled", false: "enabled"}[p.Disabled])
	}
	if len(changes) == 0 {
		return principalToProto(p), nil
	}
	if err := s.store.PutPrincipal(ctx, p); err != nil {
		return nil, s.fail(ctx, err)
	}
	if err := s.audit(ctx, store.AuditEntry{At: s.clock(), Actor: who.ID, Action: AuditPrincipalUpdate,
		Detail: p.ID + ": " + strings.Join(changes, ", ")}); err != nil {
		return nil, s.fail(ctx, err)
	}
	return principalToProto(p), nil
}

// CreatePrincipal implements pb.AuthServiceServer. An id in use is a
// conflict: creating never replaces a principal.
func (s *Access) CreatePrincipal(ctx context.Context, req *pb.CreatePrincipalRequest) (*pb.Principal, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	snap, err := s.snapshot()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	in := req.GetPrincipal()
	if in == nil {
		return nil, s.fail(ctx, errs.Invalidf("principal", "required"))
	}
	p := store.Principal{ID: in.GetId(), Name: strings.TrimSpace(in.GetName()), Kind: in.GetKind(), Unit: in.GetUnit(),
		Disabled: in.GetDisabled(), CreatedAt: s.clock()}
	if p.Kind == "" {
		p.Kind = store.PrincipalUser
	}
	var v errs.Violations
	checkPrincipalID(&v, "principal.id", p.ID)
	checkPrincipalName(&v, "principal.name", p.Name)
	if p.Kind != store.PrincipalUser && p.Kind != store.PrincipalService {
		v.Add("principal.kind", "must be %q or %q, got %q", store.PrincipalUser, store.PrincipalService, p.Kind)
	}
	checkUnit(ctx, &v, snap, "principal.unit", p.Unit)
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	switch _, err := s.store.GetPrincipal(ctx, p.ID); {
	case err == nil:
		return nil, s.fail(ctx, errs.E(errs.Conflict, "principal %q exists already", p.ID))
	case !errs.Is(err, errs.NotFound):
		return nil, s.fail(ctx, err)
	}
	if err := s.store.PutPrincipal(ctx, p); err != nil {
		return nil, s.fail(ctx, err)
	}
	detail := fmt.Sprintf("%s %s (%s) in %s", p.ID, p.Name, p.Kind, p.Unit)
	if p.Disabled {
		detail += ", disabled"
	}
	if err := s.audit(ctx, store.AuditEntry{At: p.CreatedAt, Actor: who.ID, Action: AuditPrincipalCreate, Detail: detail}); err != nil {
		return nil, s.fail(ctx, err)
	}
	s.log.InfoContext(ctx, "principal created", "principal", p.ID, "unit", p.Unit, "actor", who.ID)
	return principalToProto(p), nil
}

// ListPrincipals implements pb.AuthServiceServer.
func (s *Access) ListPrincipals(ctx context.Context, _ *pb.ListPrincipalsRequest) (*pb.ListPrincipalsResponse, error) {
	if _, err := caller(ctx); err != nil {
		return nil, s.fail(ctx, err)
	}
	ps, err := s.store.ListPrincipals(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListPrincipalsResponse{Principals: make([]*pb.Principal, len(ps))}
	for i, p := range ps {
		resp.Principals[i] = principalToProto(p)
	}
	return resp, nil
}

// hasGrant reports whether the policy holds grant g. When the policy in force
// here lacks it, the store's newest policy is loaded first: another instance
// may have just made it.
func (s *Access) hasGrant(ctx context.Context, g authz.Grant) (bool, error) {
	has := func() bool { return slices.Contains(s.authz.Grants(g.Principal), g) }
	if has() {
		return true, nil
	}
	if _, err := s.authz.Reload(ctx); err != nil {
		return false, err
	}
	return has(), nil
}

func grantRule(g authz.Grant) store.Rule {
	return store.Rule{PType: "g", Values: []string{g.Principal, g.Role, g.Unit}}
}

// GrantRole implements pb.AuthServiceServer. Granting a role the principal
// holds already changes nothing and answers the revision in force.
func (s *Access) GrantRole(ctx context.Context, req *pb.GrantRoleRequest) (*pb.PolicyRevision, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	snap, err := s.snapshot()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	g := authz.Grant{Principal: req.GetPrincipal(), Role: req.GetRole(), Unit: req.GetUnit()}
	var v errs.Violations
	checkPrincipalID(&v, "principal", g.Principal)
	checkRole(&v, "role", g.Role)
	checkUnit(ctx, &v, snap, "unit", g.Unit)
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	if _, err := s.store.GetPrincipal(ctx, g.Principal); err != nil {
		return nil, s.fail(ctx, principalErr(err, g.Principal))
	}
	if has, err := s.hasGrant(ctx, g); err != nil || has {
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &pb.PolicyRevision{Revision: s.authz.Revision()}, nil
	}
	r := grantRule(g)
	rev, err := s.authz.Change(ctx, store.PolicyChange{Add: []store.Rule{r},
		Audit: store.AuditEntry{At: s.clock(), Actor: who.ID, Action: AuditPolicyGrant, Detail: authz.FormatRule(r)}})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.log.InfoContext(ctx, "role granted", "principal", g.Principal, "role", g.Role, "unit", g.Unit, "actor", who.ID, "revision", rev)
	return &pb.PolicyRevision{Revision: rev}, nil
}

// RevokeRole implements pb.AuthServiceServer. Neither the principal nor the
// unit need exist any more: a grant left behind can always be revoked.
func (s *Access) RevokeRole(ctx context.Context, req *pb.RevokeRoleRequest) (*pb.PolicyRevision, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	g := authz.Grant{Principal: req.GetPrincipal(), Role: req.GetRole(), Unit: req.GetUnit()}
	var v errs.Violations
	checkPrincipalID(&v, "principal", g.Principal)
	checkRole(&v, "role", g.Role)
	if g.Unit == "" {
		v.Add("unit", "required")
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	has, err := s.hasGrant(ctx, g)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if !has {
		return nil, s.fail(ctx, errs.E(errs.NotFound, "principal %q holds no role %q in unit %q", g.Principal, g.Role, g.Unit))
	}
	r := grantRule(g)
	rev, err := s.authz.Change(ctx, store.PolicyChange{Remove: []store.Rule{r},
		Audit: store.AuditEntry{At: s.clock(), Actor: who.ID, Action: AuditPolicyRevoke, Detail: authz.FormatRule(r)}})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.log.InfoContext(ctx, "role revoked", "principal", g.Principal, "role", g.Role, "unit", g.Unit, "actor", who.ID, "revision", rev)
	return &pb.PolicyRevision{Revision: rev}, nil
}

// ptypeOrder lists policy lines as the example policy does: the roles' lines,
// then the category grants, then the principals' grants.
var ptypeOrder = map[string]int{"p": 0, "g2": 1, "g": 2}

// storedPolicy returns the stored policy and its revision, read in one
// snapshot, in ptypeOrder.
func (s *Access) storedPolicy(ctx context.Context) ([]store.Rule, int64, error) {
	rules, rev, err := s.store.LoadPolicy(ctx)
	if err != nil {
		return nil, 0, err
	}
	slices.SortStableFunc(rules, func(a, b store.Rule) int {
		oa, ok := ptypeOrder[a.PType]
		if !ok {
			oa = len(ptypeOrder)
		}
		ob, ok := ptypeOrder[b.PType]
		if !ok {
			ob = len(ptypeOrder)
		}
		return oa - ob
	})
	return rules, rev, nil
}

// GetPolicy implements pb.AuthServiceServer. It answers the store's policy,
// rules and revision read together.
func (s *Access) GetPolicy(ctx context.Context, _ *pb.GetPolicyRequest) (*pb.Policy, error) {
	if _, err := caller(ctx); err != nil {
		return nil, s.fail(ctx, err)
	}
	rules, rev, err := s.storedPolicy(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &pb.Policy{Revision: rev, Rules: make([]*pb.Rule, len(rules))}
	for i, r := range rules {
		out.Rules[i] = &pb.Rule{Ptype: r.PType, Values: slices.Clone(r.Values)}
	}
	return out, nil
}

func ruleFromProto(r *pb.Rule) store.Rule {
	return store.Rule{PType: r.GetPtype(), Values: slices.Clone(r.GetValues())}
}

// ChangePolicy implements pb.AuthServiceServer. Lines to add must be valid
// (their units in the registry); lines to remove must be in the policy.
func (s *Access) ChangePolicy(ctx context.Context, req *pb.ChangePolicyRequest) (*pb.PolicyRevision, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	snap, err := s.snapshot()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	var v errs.Violations
	if len(req.GetAdd()) == 0 && len(req.GetRemove()) == 0 {
		v.Add("add", "give at least one policy line to add or remove")
	}
	c := store.PolicyChange{}
	for i, r := range req.GetAdd() {
		rule := ruleFromProto(r)
		if err := authz.ValidateRule(rule, snap); err != nil {
			v.Add(fmt.Sprintf("add[%d]", i), "%v", err)
		}
		c.Add = append(c.Add, rule)
	}
	for i, r := range req.GetRemove() {
		rule := ruleFromProto(r)
		// A line to remove need not name units still in the registry.
		if err := authz.ValidateRule(rule, nil); err != nil {
			v.Add(fmt.Sprintf("remove[%d]", i), "%v", err)
		}
		c.Remove = append(c.Remove, rule)
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	if len(c.Remove) > 0 {
		rules, _, err := s.store.LoadPolicy(ctx)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		for i, r := range c.Remove {
			if !slices.ContainsFunc(rules, func(x store.Rule) bool { return sameRule(x, r) }) {
				return nil, s.fail(ctx, errs.E(errs.NotFound, "remove[%d]: %q is not in the policy", i, authz.FormatRule(r)))
			}
		}
	}
	var detail strings.Builder
	if len(c.Add) > 0 {
		detail.WriteString("# add\n")
		detail.Write(authz.FormatCSV(c.Add))
	}
	if len(c.Remove) > 0 {
		detail.WriteString("# remove\n")
		detail.Write(authz.FormatCSV(c.Remove))
	}
	c.Audit = store.AuditEntry{At: s.clock(), Actor: who.ID, Action: AuditPolicyChange, Detail: detail.String()}
	rev, err := s.authz.Change(ctx, c)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.log.InfoContext(ctx, "policy changed", "added", len(c.Add), "removed", len(c.Remove), "actor", who.ID, "revision", rev)
	return &pb.PolicyRevision{Revision: rev}, nil
}

func sameRule(a, b store.Rule) bool { return a.PType == b.PType && slices.Equal(a.Values, b.Values) }

// ImportPolicy implements pb.AuthServiceServer. Every line is checked before
// anything changes; an error names the CSV line.
func (s *Access) ImportPolicy(ctx context.Context, req *pb.ImportPolicyRequest) (*pb.PolicyRevision, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	snap, err := s.snapshot()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	data := []byte(req.GetCsv())
	rules, err := authz.ParseCSV(data)
	if err != nil {
		return nil, s.fail(ctx, errs.Invalidf("csv", "%v", err))
	}
	if len(rules) == 0 {
		return nil, s.fail(ctx, errs.Invalidf("csv", "holds no policy lines"))
	}
	lines := csvRecordLines(data)
	var v errs.Violations
	for i, r := range rules {
		if err := authz.ValidateRule(r, snap); err != nil {
			line := "?"
			if i < len(lines) {
				line = strconv.Itoa(lines[i])
			}
			v.Add("csv", "line %s: %v", line, err)
		}
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	detail := authz.FormatCSV(rules)
	if req.GetReplace() {
		detail = append([]byte("# replace the policy with\n"), detail...)
	}
	rev, err := s.authz.Change(ctx, store.PolicyChange{Add: rules, Replace: req.GetReplace(),
		Audit: store.AuditEntry{At: s.clock(), Actor: who.ID, Action: AuditPolicyImport, Detail: string(detail)}})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.log.InfoContext(ctx, "policy imported", "lines", len(rules), "replace", req.GetReplace(), "actor", who.ID, "revision", rev)
	return &pb.PolicyRevision{Revision: rev}, nil
}

// csvRecordLines returns the line on which each rule authz.ParseCSV reads
// from data starts, reading it the same way (blank lines and comments
// skipped). It is called only on data ParseCSV accepted.
func csvRecordLines(data []byte) []int {
	r := csv.NewReader(bytes.NewReader(data))
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1
	r.Comment = '#'
	var out []int
	for {
		rec, err := r.Read()
		if err == io.EOF || err != nil {
			return out
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		line, _ := r.FieldPos(0)
		out = append(out, line)
	}
}

// ExportPolicy implements pb.AuthServiceServer: a Casbin policy CSV whose
// first line is a comment giving the revision.
func (s *Access) ExportPolicy(ctx context.Context, _ *pb.ExportPolicyRequest) (*pb.ExportPolicyResponse, error) {
	if _, err := caller(ctx); err != nil {
		return nil, s.fail(ctx, err)
	}
	rules, rev, err := s.storedPolicy(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Switchboard access policy, revision %d, exported %s\n", rev, s.clock().Format(time.RFC3339))
	b.Write(authz.FormatCSV(rules))
	return &pb.ExportPolicyResponse{Csv: b.String(), Revision: rev}, nil
}

// WhoCanSee implements pb.AuthServiceServer: every principal that may take
// some action on the ticket, with those actions.
func (s *Access) WhoCanSee(ctx context.Context, req *pb.WhoCanSeeRequest) (*pb.WhoCanSeeResponse, error) {
	if _, err := caller(ctx); err != nil {
		return nil, s.fail(ctx, err)
	}
	ref := req.GetTicket()
	switch {
	case strings.TrimSpace(ref) == "":
		return nil, s.fail(ctx, errs.Invalidf("ticket", "required"))
	case len(ref) > 64:
		return nil, s.fail(ctx, errs.Invalidf("ticket", "must be a ticket id or tracking number"))
	}
	t, err := s.tickets.GetTicket(ctx, ref)
	if err != nil {
		if store.IsNotFound(err) {
			err = errs.E(errs.NotFound, "ticket %q not found", ref)
		}
		return nil, s.fail(ctx, err)
	}
	obj := authz.TicketObject(t.HandlingUnit, t.CoHandlingUnits, t.Category)
	resp := &pb.WhoCanSeeResponse{TicketId: t.ID}
	for _, w := range s.authz.WhoCan(obj) {
		acts := slices.DeleteFunc(slices.Clone(w.Actions), func(a string) bool { return !ticketAction(a) })
		if len(acts) > 0 {
			resp.Access = append(resp.Access, &pb.Access{Principal: w.Principal, Actions: acts})
		}
	}
	return resp, nil
}

// ticketAction reports whether action a can be taken on an existing ticket
// (counting it in aggregates included). Filing a ticket and administering
// the registry or the policy cannot, though a policy line of scope * allows
// them "on" every object, so WhoCanSee leaves them out.
func ticketAction(a string) bool {
	switch a {
	case authz.Create, authz.AdminRegistry, authz.AdminPolicy:
		return false
	}
	return true
}

// ExplainAccess implements pb.AuthServiceServer. The principal must exist
// or hold a role.
func (s *Access) ExplainAccess(ctx context.Context, req *pb.ExplainAccessRequest) (*pb.ExplainAccessResponse, error) {
	if _, err := caller(ctx); err != nil {
		return nil, s.fail(ctx, err)
	}
	snap, err := s.snapshot()
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	var v errs.Violations
	checkPrincipalID(&v, "principal", req.GetPrincipal())
	checkUnit(ctx, &v, snap, "unit", req.GetUnit())
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	if len(s.authz.Grants(req.GetPrincipal())) == 0 {
		if _, err := s.store.GetPrincipal(ctx, req.GetPrincipal()); err != nil {
			return nil, s.fail(ctx, principalErr(err, req.GetPrincipal()))
		}
	}
	resp := &pb.ExplainAccessResponse{}
	for _, p := range s.authz.Explain(req.GetPrincipal(), req.GetUnit()) {
		resp.Permissions = append(resp.Permissions, &pb.Permission{Action: p.Action, On: p.On, Via: p.Via})
	}
	return resp, nil
}

// CreateToken implements pb.AuthServiceServer. The secret is in the answer
// only; the store keeps its hash and the audit log never sees it.
func (s *Access) CreateToken(ctx context.Context, req *pb.CreateTokenRequest) (*pb.CreateTokenResponse, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	now := s.clock()
	var v errs.Violations
	checkPrincipalID(&v, "principal", req.GetPrincipal())
	desc := strings.TrimSpace(req.GetDescription())
	switch {
	case !utf8.ValidString(desc) || strings.ContainsFunc(desc, unicode.IsControl):
		v.Add("description", "must be printable text")
	case utf8.RuneCountInString(desc) > MaxTokenNote:
		v.Add("description", "must be at most %d characters", MaxTokenNote)
	}
	var expires time.Time
	if ttl := req.GetTtl(); ttl != nil {
		if err := ttl.CheckValid(); err != nil {
			v.Add("ttl", "%v", err)
		} else if d := ttl.AsDuration(); d < 0 {
			v.Add("ttl", "must not be negative, got %s", d)
		} else if d > 0 {
			expires = now.Add(d)
		}
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	p, err := s.store.GetPrincipal(ctx, req.GetPrincipal())
	if err != nil {
		return nil, s.fail(ctx, principalErr(err, req.GetPrincipal()))
	}
	if p.Disabled {
		return nil, s.fail(ctx, errs.E(errs.Precondition, "principal %q is disabled", p.ID))
	}
	secret, hash, err := auth.NewToken(nil)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	t := store.Token{ID: TokenIDPrefix + s.newID(now), Principal: p.ID, Hash: hash, Description: desc, CreatedBy: who.ID,
		CreatedAt: now, ExpiresAt: expires}
	if err := s.store.CreateToken(ctx, t); err != nil {
		return nil, s.fail(ctx, err)
	}
	detail := fmt.Sprintf("token %s for %s", t.ID, t.Principal)
	if desc != "" {
		detail += ": " + desc
	}
	if !expires.IsZero() {
		detail += ", expires " + expires.Format(time.RFC3339)
	}
	if err := s.audit(ctx, store.AuditEntry{At: now, Actor: who.ID, Action: AuditTokenCreate, Detail: detail}); err != nil {
		return nil, s.fail(ctx, err)
	}
	s.log.InfoContext(ctx, "token created", "token", t.ID, "principal", t.Principal, "actor", who.ID)
	t.Hash = nil
	return &pb.CreateTokenResponse{Token: tokenToProto(t), Secret: secret}, nil
}

// ListTokens implements pb.AuthServiceServer: newest first, never a hash.
func (s *Access) ListTokens(ctx context.Context, req *pb.ListTokensRequest) (*pb.ListTokensResponse, error) {
	if _, err := caller(ctx); err != nil {
		return nil, s.fail(ctx, err)
	}
	if p := req.GetPrincipal(); p != "" {
		var v errs.Violations
		checkPrincipalID(&v, "principal", p)
		if err := v.Err(); err != nil {
			return nil, s.fail(ctx, err)
		}
	}
	toks, err := s.store.ListTokens(ctx, req.GetPrincipal())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListTokensResponse{Tokens: make([]*pb.Token, len(toks))}
	for i, t := range toks {
		resp.Tokens[i] = tokenToProto(t)
	}
	return resp, nil
}

// findToken returns token id (hash left out), or NotFound.
func (s *Access) findToken(ctx context.Context, id string) (store.Token, error) {
	toks, err := s.store.ListTokens(ctx, "")
	if err != nil {
		return store.Token{}, err
	}
	for _, t := range toks {
		if t.ID == id {
			return t, nil
		}
	}
	return store.Token{}, errs.E(errs.NotFound, "token %q not found", id)
}

// RevokeToken implements pb.AuthServiceServer. Revoking a revoked token
// changes nothing and answers it as it is.
func (s *Access) RevokeToken(ctx context.Context, req *pb.RevokeTokenRequest) (*pb.Token, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	id := req.GetId()
	switch {
	case id == "":
		return nil, s.fail(ctx, errs.Invalidf("id", "required"))
	case len(id) > 64:
		return nil, s.fail(ctx, errs.Invalidf("id", "must be a token id"))
	}
	t, err := s.findToken(ctx, id)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if !t.RevokedAt.IsZero() {
		return tokenToProto(t), nil
	}
	now := s.clock()
	if err := s.store.RevokeToken(ctx, id, now); err != nil {
		if errs.Is(err, errs.NotFound) {
			err = errs.E(errs.NotFound, "token %q not found", id)
		}
		return nil, s.fail(ctx, err)
	}
	if err := s.audit(ctx, store.AuditEntry{At: now, Actor: who.ID, Action: AuditTokenRevoke,
		Detail: fmt.Sprintf("token %s of %s", t.ID, t.Principal)}); err != nil {
		return nil, s.fail(ctx, err)
	}
	s.log.InfoContext(ctx, "token revoked", "token", t.ID, "principal", t.Principal, "actor", who.ID)
	if t, err = s.findToken(ctx, id); err != nil {
		return nil, s.fail(ctx, err)
	}
	return tokenToProto(t), nil
}

// ListAudit implements pb.AuthServiceServer: newest first, a page at a time.
func (s *Access) ListAudit(ctx context.Context, req *pb.ListAuditRequest) (*pb.ListAuditResponse, error) {
	if _, err := caller(ctx); err != nil {
		return nil, s.fail(ctx, err)
	}
	var v errs.Violations
	size := int(req.GetPageSize())
	switch {
	case size == 0:
		size = DefaultPageSize
	case size < 0 || size > MaxPageSize:
		v.Add("pageSize", "must be between 1 and %d, got %d", MaxPageSize, size)
	}
	var before int64
	if tok := req.GetPageToken(); tok != "" {
		last, ok := parsePageToken(tok)
		n, err := strconv.ParseInt(last, 10, 64)
		if !ok || err != nil || n <= 0 {
			v.Add("pageToken", "not a token this API issued")
		}
		before = n
	}
	for _, f := range []struct{ field, val string }{{"actor", req.GetActor()}, {"action", req.GetAction()}, {"ticket", req.GetTicket()}} {
		if len(f.val) > 200 {
			v.Add(f.field, "must be at most 200 bytes")
		}
	}
	if err := v.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	entries, more, err := s.store.ListAudit(ctx, store.AuditQuery{Actor: req.GetActor(), Action: req.GetAction(),
		Ticket: req.GetTicket(), PageSize: size, Before: before})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListAuditResponse{Entries: make([]*pb.AuditEntry, len(entries))}
	for i, e := range entries {
		resp.Entries[i] = &pb.AuditEntry{Id: e.ID, Time: timestamppb.New(e.At), Actor: e.Actor, Action: e.Action,
			Ticket: e.Ticket, Fields: e.Fields, Detail: e.Detail}
	}
	if more && len(entries) > 0 {
		resp.NextPageToken = pageToken(strconv.FormatInt(entries[len(entries)-1].ID, 10))
	}
	return resp, nil
}
