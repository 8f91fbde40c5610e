package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/gateway/authz"
	"github.com/switchboard12345/switchboard/gateway/service"
	"github.com/switchboard12345/switchboard/store"
)

const authUsage = `Usage: switchboard auth <action> [flags]

  whoami                         who the token belongs to, its roles, the policy revision
  principal add ID --name N --unit U [--kind user|service]
                                 create a user (default) or a backend's service account
  principal list                 every principal
  principal update ID [--name N] [--unit U]
  principal disable ID | principal enable ID
                                 a disabled principal's tokens and JWTs are refused
  grant PRINCIPAL ROLE UNIT      grant a role in a unit (a policy line "g, PRINCIPAL, ROLE, UNIT")
  revoke PRINCIPAL ROLE UNIT     take it away
  policy show                    every policy line and the revision in force
  policy add LINE …              add policy lines, each one argument: "p, auditor, *, subtree, read_stats"
  policy remove LINE …           remove policy lines
  policy import FILE [--replace] load a Casbin policy CSV (- for stdin), adding to the policy
                                 or, with --replace, replacing it; a bad line is refused with
                                 its number and changes nothing
  policy export [--out FILE]     write the policy as a Casbin policy CSV
  who-can-see TICKET             who may do what to a ticket (id or tracking number; a dry run)
  can PRINCIPAL UNIT             what a principal may do in a unit, and the line allowing it (a dry run)
  token create PRINCIPAL [--description D] [--ttl 720h]
                                 make an API token (--ttl 0: until revoked); the secret alone goes to
                                 standard output, shown once: TOKEN=$(switchboard auth token create …)
  token list [PRINCIPAL]         tokens, newest first (never their secrets)
  token revoke ID                revoke a token at once
  audit [--actor A] [--action X] [--ticket T] [--limit 50]
                                 the audit log, newest first (actions: principal.create, policy.grant,
                                 policy.revoke, policy.change, policy.import, token.create,
                                 token.revoke, pii.read …)

  bootstrap --principal ID --role ROLE [--unit UNIT] [--name N] [--config FILE] [--data DIR]
                                 on the store directly, not over the API: the first administrator,
                                 or one to let back in when every administrator is locked out

Listing actions take --json. Every action takes --server ADDR (default $SWITCHBOARD_SERVER
or 127.0.0.1:9090), --token TOKEN (default $SWITCHBOARD_TOKEN) and --timeout DURATION.
Every action over the API but whoami needs the admin_policy permission.
`

// authSubactions are the actions that take a second word.
var authSubactions = map[string]string{
	"principal": "add, list, update, disable or enable",
	"policy":    "show, add, remove, import or export",
	"token":     "create, list or revoke",
}

func authCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "bootstrap" {
		// On the store directly, not over the API.
		return bootstrapCmd(ctx, args[1:], stdout, stderr)
	}
	var cf clientFlags
	action, fs, ok, err := clientAction("auth", authUsage, args, stderr, &cf)
	if !ok {
		return err
	}
	rest := args[1:]
	if subs, ok := authSubactions[action]; ok {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprint(stderr, authUsage)
			return usageError{fmt.Sprintf("auth %s: give an action: %s", action, subs)}
		}
		action += " " + rest[0]
		rest = rest[1:]
		fs.Init("auth "+action, flag.ContinueOnError)
	}

	var (
		name, unit, kind, out, description, actor, auditAction, ticket string
		replace, asJSON                                                bool
		ttl                                                            time.Duration
		limit                                                          int
	)
	jsonFlag := func() { fs.BoolVar(&asJSON, "json", false, "print JSON") }
	// minPos and maxPos bound the positional arguments (maxPos -1: any number).
	minPos, maxPos, what := 0, 0, ""
	var call func(ctx context.Context, c pb.AuthServiceClient, pos []string) error
	switch action {
	case "whoami":
		jsonFlag()
		call = func(ctx context.Context, c pb.AuthServiceClient, _ []string) error {
			resp, err := c.WhoAmI(ctx, &pb.WhoAmIRequest{})
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, resp)
			}
			return printWhoAmI(stdout, resp)
		}
	case "principal add":
		minPos, maxPos, what = 1, 1, "principal id"
		fs.StringVar(&name, "name", "", "display name, e.g. 李娜 (required)")
		fs.StringVar(&unit, "unit", "", "the unit the principal belongs to (required)")
		fs.StringVar(&kind, "kind", store.PrincipalUser, "user, or service for a backend's service account")
		call = func(ctx context.Context, c pb.AuthServiceClient, pos []string) error {
			p, err := c.CreatePrincipal(ctx, &pb.CreatePrincipalRequest{Principal: &pb.Principal{Id: pos[0], Name: name, Kind: kind, Unit: unit}})
			if err != nil {
				return describe(err)
			}
			_, err = fmt.Fprintf(stdout, "created %s %s %s in %s; grant it a role with: switchboard auth grant %s ROLE UNIT\n",
				p.GetKind(), p.GetId(), p.GetName(), p.GetUnit(), p.GetId())
			return err
		}
	case "principal update", "principal disable", "principal enable":
		minPos, maxPos, what = 1, 1, "principal id"
		if action == "principal update" {
			fs.StringVar(&name, "name", "", "new display name")
			fs.StringVar(&unit, "unit", "", "new unit")
		}
		call = func(ctx context.Context, c pb.AuthServiceClient, pos []string) error {
			req := &pb.UpdatePrincipalRequest{Id: pos[0]}
			switch action {
			case "principal disable":
				req.Disabled = proto.Bool(true)
			case "principal enable":
				req.Disabled = proto.Bool(false)
			}
			if name != "" {
				req.Name = proto.String(name)
			}
			if unit != "" {
				req.Unit = proto.String(unit)
			}
			p, err := c.UpdatePrincipal(ctx, req)
			if err != nil {
				return describe(err)
			}
			state := "enabled"
			if p.GetDisabled() {
				state = "disabled (its tokens are refused)"
			}
			_, err = fmt.Fprintf(stdout, "%s %s in %s, %s\n", p.GetId(), p.GetName(), p.GetUnit(), state)
			return err
		}
	case "principal list":
		jsonFlag()
		call = func(ctx context.Context, c pb.AuthServiceClient, _ []string) error {
			resp, err := c.ListPrincipals(ctx, &pb.ListPrincipalsRequest{})
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, resp)
			}
			return printPrincipals(stdout, resp)
		}
	case "grant", "revoke":
		minPos, maxPos, what = 3, 3, "principal, role and unit"
		call = func(ctx context.Context, c pb.AuthServiceClient, pos []string) error {
			var rev *pb.PolicyRevision
			var err error
			msg := "granted: %s holds role %s in %s; policy revision %d\n"
			if action == "grant" {
				rev, err = c.GrantRole(ctx, &pb.GrantRoleRequest{Principal: pos[0], Role: pos[1], Unit: pos[2]})
			} else {
				msg = "revoked: %s no longer holds role %s in %s; policy revision %d\n"
				rev, err = c.RevokeRole(ctx, &pb.RevokeRoleRequest{Principal: pos[0], Role: pos[1], Unit: pos[2]})
			}
			if err != nil {
				return describe(err)
			}
			_, err = fmt.Fprintf(stdout, msg, pos[0], pos[1], pos[2], rev.GetRevision())
			return err
		}
	case "policy show":
		jsonFlag()
		call = func(ctx context.Context, c pb.AuthServiceClient, _ []string) error {
			resp, err := c.GetPolicy(ctx, &pb.GetPolicyRequest{})
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, resp)
			}
			fmt.Fprintf(stdout, "# policy revision %d, %d lines\n", resp.GetRevision(), len(resp.GetRules()))
			for _, r := range resp.GetRules() {
				fmt.Fprintln(stdout, authz.FormatRule(store.Rule{PType: r.GetPtype(), Values: r.GetValues()}))
			}
			return nil
		}
	case "policy add", "policy remove":
		minPos, maxPos, what = 1, -1, `policy line ("p, role, *, subtree, view")`
		call = func(ctx context.Context, c pb.AuthServiceClient, pos []string) error {
			rules, err := policyLines(pos)
			if err != nil {
				return err
			}
			req := &pb.ChangePolicyRequest{}
			if action == "policy add" {
				req.Add = rules
			} else {
				req.Remove = rules
			}
			rev, err := c.ChangePolicy(ctx, req)
			if err != nil {
				return describe(err)
			}
			verb := "added"
			if action == "policy remove" {
				verb = "removed"
			}
			_, err = fmt.Fprintf(stdout, "%s %d line(s); policy revision %d\n", verb, len(rules), rev.GetRevision())
			return err
		}
	case "policy import":
		minPos, maxPos, what = 1, 1, "policy file (- for standard input)"
		fs.BoolVar(&replace, "replace", false, "replace the whole policy (default: add to it)")
		call = func(ctx context.Context, c pb.AuthServiceClient, pos []string) error {
			file := pos[0]
			var b []byte
			var err error
			if file == "-" {
				b, err = io.ReadAll(os.Stdin)
			} else {
				b, err = os.ReadFile(file)
			}
			if err != nil {
				return err
			}
			rev, err := c.ImportPolicy(ctx, &pb.ImportPolicyRequest{Csv: string(b), Replace: replace})
			if err != nil {
				// The server's message names the line; this names the file.
				return fmt.Errorf("%s: %w", file, describe(err))
			}
			how := "added to the policy"
			if replace {
				how = "replaced the policy"
			}
			_, err = fmt.Fprintf(stdout, "imported %s: %s; policy revision %d\n", file, how, rev.GetRevision())
			return err
		}
	case "policy export":
		fs.StringVar(&out, "out", "", "write to `file` instead of standard output")
		call = func(ctx context.Context, c pb.AuthServiceClient, _ []string) error {
			resp, err := c.ExportPolicy(ctx, &pb.ExportPolicyRequest{})
			if err != nil {
				return describe(err)
			}
			if out == "" || out == "-" {
				_, err = io.WriteString(stdout, resp.GetCsv())
				return err
			}
			if err := os.WriteFile(out, []byte(resp.GetCsv()), 0o644); err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "exported policy revision %d to %s\n", resp.GetRevision(), out)
			return err
		}
	case "who-can-see":
		minPos, maxPos, what = 1, 1, "ticket id or tracking number"
		jsonFlag()
		call = func(ctx context.Context, c pb.AuthServiceClient, pos []string) error {
			resp, err := c.WhoCanSee(ctx, &pb.WhoCanSeeRequest{Ticket: pos[0]})
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, resp)
			}
			return printWhoCanSee(stdout, pos[0], resp)
		}
	case "can":
		minPos, maxPos, what = 2, 2, "principal and unit"
		jsonFlag()
		call = func(ctx context.Context, c pb.AuthServiceClient, pos []string) error {
			resp, err := c.ExplainAccess(ctx, &pb.ExplainAccessRequest{Principal: pos[0], Unit: pos[1]})
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, resp)
			}
			return printExplain(stdout, pos[0], pos[1], resp)
		}
	case "token create":
		minPos, maxPos, what = 1, 1, "principal"
		fs.StringVar(&description, "description", "", "what the token is for, e.g. 天河区工单系统对接")
		fs.DurationVar(&ttl, "ttl", 720*time.Hour, "how long the token is valid (0: until revoked)")
		call = func(ctx context.Context, c pb.AuthServiceClient, pos []string) error {
			if ttl < 0 {
				return usageError{"--ttl: must not be negative"}
			}
			req := &pb.CreateTokenRequest{Principal: pos[0], Description: description}
			if ttl > 0 {
				req.Ttl = durationpb.New(ttl)
			}
			resp, err := c.CreateToken(ctx, req)
			if err != nil {
				return describe(err)
			}
			// The secret alone on standard output, so that it can be captured;
			// what it is on standard error.
			if _, err := fmt.Fprintln(stdout, resp.GetSecret()); err != nil {
				return err
			}
			tk := resp.GetToken()
			expires := "never (until revoked)"
			if tk.GetExpireTime() != nil {
				expires = tk.GetExpireTime().AsTime().In(cst).Format("2006-01-02 15:04 CST")
			}
			fmt.Fprintf(stderr, "token %s for %s created by %s; expires %s.\nThe secret above is shown only now: keep it safe. Revoke with: switchboard auth token revoke %s\n",
				tk.GetId(), tk.GetPrincipal(), tk.GetCreatedBy(), expires, tk.GetId())
			return nil
		}
	case "token list":
		minPos, maxPos, what = 0, 1, "principal at most"
		jsonFlag()
		call = func(ctx context.Context, c pb.AuthServiceClient, pos []string) error {
			req := &pb.ListTokensRequest{}
			if len(pos) > 0 {
				req.Principal = pos[0]
			}
			resp, err := c.ListTokens(ctx, req)
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, resp)
			}
			return printTokens(stdout, resp, time.Now())
		}
	case "token revoke":
		minPos, maxPos, what = 1, 1, "token id"
		call = func(ctx context.Context, c pb.AuthServiceClient, pos []string) error {
			tk, err := c.RevokeToken(ctx, &pb.RevokeTokenRequest{Id: pos[0]})
			if err != nil {
				return describe(err)
			}
			_, err = fmt.Fprintf(stdout, "token %s of %s revoked at %s\n", tk.GetId(), tk.GetPrincipal(),
				tk.GetRevokeTime().AsTime().In(cst).Format("2006-01-02 15:04:05 CST"))
			return err
		}
	case "audit":
		fs.StringVar(&actor, "actor", "", "only entries of this principal")
		fs.StringVar(&auditAction, "action", "", "only entries of this action, e.g. policy.grant")
		fs.StringVar(&ticket, "ticket", "", "only entries about this ticket id")
		fs.IntVar(&limit, "limit", service.DefaultPageSize, "show at most this many entries")
		jsonFlag()
		call = func(ctx context.Context, c pb.AuthServiceClient, _ []string) error {
			if limit < 1 {
				return usageError{"--limit: must be at least 1"}
			}
			resp, err := listAudit(ctx, c, &pb.ListAuditRequest{Actor: actor, Action: auditAction, Ticket: ticket}, limit)
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, resp)
			}
			return printAudit(stdout, resp)
		}
	default:
		fmt.Fprint(stderr, authUsage)
		return usageError{fmt.Sprintf("auth: unknown action %q", action)}
	}
	pos, err := parse(fs, rest)
	if err != nil {
		return err
	}
	switch {
	case len(pos) < minPos || maxPos >= 0 && len(pos) > maxPos:
		if maxPos == 0 {
			return usageError{fmt.Sprintf("auth %s takes flags only", action)}
		}
		return usageError{fmt.Sprintf("auth %s: give the %s", action, what)}
	}
	return withAuth(ctx, &cf, func(ctx context.Context, c pb.AuthServiceClient) error {
		return call(ctx, c, pos)
	})
}

// withAuth dials the server and runs fn with an access API client.
func withAuth(ctx context.Context, cf *clientFlags, fn func(context.Context, pb.AuthServiceClient) error) error {
	return withConn(ctx, cf, func(ctx context.Context, conn *grpc.ClientConn) error {
		return fn(ctx, pb.NewAuthServiceClient(conn))
	})
}

// policyLines parses policy lines given as arguments, one or more CSV lines
// each.
func policyLines(args []string) ([]*pb.Rule, error) {
	var out []*pb.Rule
	for _, a := range args {
		rules, err := authz.ParseCSV([]byte(a))
		if err != nil {
			return nil, usageError{fmt.Sprintf("policy line %q: %v", a, err)}
		}
		if len(rules) == 0 {
			return nil, usageError{fmt.Sprintf("policy line %q: no line, want e.g. \"p, role, *, subtree, view\"", a)}
		}
		for _, r := range rules {
			out = append(out, &pb.Rule{Ptype: r.PType, Values: r.Values})
		}
	}
	return out, nil
}

// listAudit reads up to limit entries, page after page.
func listAudit(ctx context.Context, c pb.AuthServiceClient, req *pb.ListAuditRequest, limit int) (*pb.ListAuditResponse, error) {
	all := &pb.ListAuditResponse{}
	for {
		req.PageSize = int32(min(limit-len(all.Entries), service.MaxPageSize))
		resp, err := c.ListAudit(ctx, req)
		if err != nil {
			return nil, err
		}
		all.Entries = append(all.Entries, resp.GetEntries()...)
		all.NextPageToken = resp.GetNextPageToken()
		if all.NextPageToken == "" || len(all.Entries) >= limit {
			return all, nil
		}
		req.PageToken = all.NextPageToken
	}
}

func printWhoAmI(w io.Writer, r *pb.WhoAmIResponse) error {
	p := r.GetPrincipal()
	fmt.Fprintf(w, "%s  %s  (%s of %s)\n", p.GetId(), p.GetName(), dash(p.GetKind()), dash(p.GetUnit()))
	if len(r.GetGrants()) == 0 {
		fmt.Fprintln(w, "no roles")
	} else {
		t := table{indent: "  ", header: []string{"ROLE", "UNIT"}}
		for _, g := range r.GetGrants() {
			t.add(g.GetRole(), g.GetUnit())
		}
		t.write(w)
	}
	_, err := fmt.Fprintf(w, "policy revision %d\n", r.GetPolicyRevision())
	return err
}

func printPrincipals(w io.Writer, r *pb.ListPrincipalsResponse) error {
	t := table{header: []string{"ID", "NAME", "KIND", "UNIT", "STATUS", "CREATED (CST)"}}
	for _, p := range r.GetPrincipals() {
		st := "active"
		if p.GetDisabled() {
			st = "disabled"
		}
		t.add(p.GetId(), dash(p.GetName()), p.GetKind(), dash(p.GetUnit()), st, cstTime(p.GetCreateTime().AsTime(), p.GetCreateTime() != nil))
	}
	t.write(w)
	_, err := fmt.Fprintf(w, "%d principals\n", len(r.GetPrincipals()))
	return err
}

func printWhoCanSee(w io.Writer, ref string, r *pb.WhoCanSeeResponse) error {
	id := r.GetTicketId()
	if id != ref {
		id = ref + " (" + id + ")"
	}
	if len(r.GetAccess()) == 0 {
		_, err := fmt.Fprintf(w, "ticket %s: no principal may act on it\n", id)
		return err
	}
	fmt.Fprintf(w, "ticket %s\n", id)
	t := table{header: []string{"PRINCIPAL", "ACTIONS"}}
	for _, a := range r.GetAccess() {
		t.add(a.GetPrincipal(), strings.Join(a.GetActions(), ", "))
	}
	t.write(w)
	return nil
}

func printExplain(w io.Writer, principal, unit string, r *pb.ExplainAccessResponse) error {
	if len(r.GetPermissions()) == 0 {
		_, err := fmt.Fprintf(w, "%s may do nothing in %s\n", principal, unit)
		return err
	}
	fmt.Fprintf(w, "what %s may do in %s\n", principal, unit)
	t := table{header: []string{"ACTION", "ON", "VIA"}}
	for _, p := range r.GetPermissions() {
		t.add(p.GetAction(), p.GetOn(), p.GetVia())
	}
	t.write(w)
	return nil
}

func printTokens(w io.Writer, r *pb.ListTokensResponse, now time.Time) error {
	if len(r.GetTokens()) == 0 {
		_, err := fmt.Fprintln(w, "no tokens")
		return err
	}
	t := table{header: []string{"ID", "PRINCIPAL", "DESCRIPTION", "CREATED BY", "CREATED (CST)", "EXPIRES (CST)", "STATUS"}}
	for _, tk := range r.GetTokens() {
		st := "active"
		switch {
		case tk.GetRevokeTime() != nil:
			st = "revoked " + cstTime(tk.GetRevokeTime().AsTime(), true)
		case tk.GetExpireTime() != nil && !now.Before(tk.GetExpireTime().AsTime()):
			st = "expired"
		}
		expires := "never"
		if tk.GetExpireTime() != nil {
			expires = cstTime(tk.GetExpireTime().AsTime(), true)
		}
		t.add(tk.GetId(), tk.GetPrincipal(), oneLine(dash(tk.GetDescription())), dash(tk.GetCreatedBy()),
			cstTime(tk.GetCreateTime().AsTime(), tk.GetCreateTime() != nil), expires, st)
	}
	t.write(w)
	_, err := fmt.Fprintf(w, "%d tokens\n", len(r.GetTokens()))
	return err
}

// maxAuditDetail is how many characters of an entry's detail a table row
// shows; --json shows them all.
const maxAuditDetail = 80

func printAudit(w io.Writer, r *pb.ListAuditResponse) error {
	if len(r.GetEntries()) == 0 {
		_, err := fmt.Fprintln(w, "no audit entries")
		return err
	}
	t := table{header: []string{"ID", "TIME (CST)", "ACTOR", "ACTION", "TICKET", "FIELDS", "DETAIL"}}
	clipped := false
	for _, e := range r.GetEntries() {
		d := oneLine(e.GetDetail())
		if rs := []rune(d); len(rs) > maxAuditDetail {
			d, clipped = string(rs[:maxAuditDetail-1])+"…", true
		}
		t.add(fmt.Sprint(e.GetId()), cstTime(e.GetTime().AsTime(), e.GetTime() != nil), e.GetActor(), e.GetAction(),
			dash(e.GetTicket()), dash(strings.Join(e.GetFields(), ",")), dash(d))
	}
	t.write(w)
	more := ""
	if r.GetNextPageToken() != "" {
		more = "; older entries follow (raise --limit)"
	}
	if clipped {
		more += "; details shortened (--json shows them whole)"
	}
	_, err := fmt.Fprintf(w, "%d entries%s\n", len(r.GetEntries()), more)
	return err
}

// cstTime formats t in China time, or "-" when it is not set.
func cstTime(t time.Time, set bool) string {
	if !set {
		return "-"
	}
	return t.In(cst).Format("2006-01-02 15:04")
}
