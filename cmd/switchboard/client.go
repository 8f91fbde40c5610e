package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
)

const ticketUsage = `Usage: switchboard ticket <action> [ID] [flags]

  create             file a ticket (--title, --content, --type, --channel, --phone, … or --json FILE)
  get ID             show a ticket by id or tracking number
  list               list tickets (--state, --unit, --category, --dialed, --overdue, --after, --before, --all)
  events ID          show a ticket's history
  dispatch ID        派单   --unit UNIT [--co UNIT,UNIT] [--category CODE] [--urgency U] [--reason R]
  sign ID            签收   [--note N]
  return ID          退单   --reason R
  request-extension ID  延期申请 --days N --reason R
  decide-extension ID   --approve|--deny [--days N] [--reason R]
  supervise ID       督办   [--reason R] [--reply-by RFC3339]
  reply ID           回复   --text T
  visit ID           回访   --satisfaction SATISFIED|BASICALLY_SATISFIED|DISSATISFIED [--resolved=false] [--note N]
  reopen ID          重办   --reason R
  close ID           办结   [--reason R]
  answer ID          直办   --text T
  reclassify ID      改类   --category CODE and/or --region CODE [--reason R]  (moves the ticket when a rule routes it to another unit)

Every action takes --server ADDR (default $SWITCHBOARD_SERVER or 127.0.0.1:9090),
--token TOKEN (default $SWITCHBOARD_TOKEN: a bearer token from "switchboard auth token create",
or from demo-tokens.json in the data directory of "serve --demo") and --timeout DURATION.
`

// clientFlags are the flags every ticket action has.
type clientFlags struct {
	server  string
	token   string
	timeout time.Duration
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	def := os.Getenv("SWITCHBOARD_SERVER")
	if def == "" {
		def = "127.0.0.1:9090"
	}
	fs.StringVar(&c.server, "server", def, "gRPC `address` of the server")
	fs.StringVar(&c.token, "token", os.Getenv("SWITCHBOARD_TOKEN"), "bearer `token` of the principal acting (default $SWITCHBOARD_TOKEN)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "give up after this long")
}

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// clientAction starts a client command `switchboard <command> <action> …`:
// it prints usage for help (ok false, err nil), and otherwise returns the
// action and a flag set with the client flags registered in cf.
func clientAction(command, usage string, args []string, stderr io.Writer, cf *clientFlags) (action string, fs *flag.FlagSet, ok bool, err error) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return "", nil, false, usageError{command + ": no action given"}
		}
		return "", nil, false, nil
	}
	fs = flag.NewFlagSet(command+" "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf.register(fs)
	return args[0], fs, true, nil
}

func ticketCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	action, fs, ok, err := clientAction("ticket", ticketUsage, args, stderr, &cf)
	if !ok {
		return err
	}

	// Flags of the actions; each action reads the ones it documents.
	var (
		unit, co, category, region, urgency, reason, note, text, satisfaction, replyBy string
		days                                                                           int
		approve, deny, resolved                                                        bool
	)
	call := map[string]func(c pb.TicketServiceClient, ctx context.Context, id string) (proto.Message, error){}
	switch action {
	case "create":
		return createTicket(ctx, fs, &cf, args[1:], stdout)
	case "list":
		return listTickets(ctx, fs, &cf, args[1:], stdout)
	case "get":
		call[action] = func(c pb.TicketServiceClient, ctx context.Context, id string) (proto.Message, error) {
			return c.GetTicket(ctx, &pb.GetTicketRequest{Id: id})
		}
	case "events":
		call[action] = func(c pb.TicketServiceClient, ctx context.Context, id string) (proto.Message, error) {
			return c.ListTicketEvents(ctx, &pb.ListTicketEventsRequest{Id: id})
		}
	case "dispatch":
		fs.StringVar(&unit, "unit", "", "handling unit id (主办)")
		fs.StringVar(&co, "co", "", "co-handling unit ids (协办), comma-separated")
		fs.StringVar(&category, "category", "", "reclassify to this category code")
		fs.StringVar(&urgency, "urgency", "", "NORMAL, URGENT or CRITICAL")
		fs.StringVar(&reason, "reason", "", "note for the history")
		call[action] = func(c pb.TicketServiceClient, ctx context.Context, id string) (proto.Message, error) {
			return c.DispatchTicket(ctx, &pb.DispatchTicketRequest{Id: id, HandlingUnit: unit, CoHandlingUnits: splitList(co),
				Category: category, Urgency: pb.Urgency(pb.Urgency_value[strings.ToUpper(urgency)]), Reason: reason})
		}
	case "sign":
		fs.StringVar(&note, "note", "", "note for the history")
		call[action] = func(c pb.TicketServiceClient, ctx context.Context, id string) (proto.Message, error) {
			return c.SignTicket(ctx, &pb.SignTicketRequest{Id: id, Note: note})
		}
	case "return":
		fs.StringVar(&reason, "reason", "", "why it is not this unit's duty (required)")
		call[action] = func(c pb.TicketServiceClient, ctx context.Context, id string) (proto.Message, error) {
			return c.ReturnTicket(ctx, &pb.ReturnTicketRequest{Id: id, Reason: reason})
		}
	case "request-extension":
		fs.IntVar(&days, "days", 0, "working days asked for")
		fs.StringVar(&reason, "reason", "", "why")
		call[action] = func(c pb.TicketServiceClient, ctx context.Context, id string) (proto.Message, error) {
			return c.RequestExtension(ctx, &pb.RequestExtensionRequest{Id: id, Days: int32(days), Reason: reason})
		}
	case "decide-extension":
		fs.BoolVar(&approve, "approve", false, "approve the extension")
		fs.BoolVar(&deny, "deny", false, "deny the extension")
		fs.IntVar(&days, "days", 0, "working days granted (0: as requested)")
		fs.StringVar(&reason, "reason", "", "why")
		call[action] = func(c pb.TicketServiceClient, ctx context.Context, id string) (proto.Message, error) {
			if approve == deny {
				return nil, usageError{"decide-extension: give exactly one of --approve and --deny"}
			}
			return c.DecideExtension(ctx, &pb.DecideExtensionRequest{Id: id, Approve: approve, Days: int32(days), Reason: reason})
		}
	case "supervise":
		fs.StringVar(&reason, "reason", "", "why")
		fs.StringVar(&replyBy, "reply-by", "", "new reply-by deadline, RFC 3339 (e.g. 2026-12-01T18:00:00+08:00)")
		call[action] = func(c pb.TicketServiceClient, ctx context.Context, id string) (proto.Message, error) {
			req := &pb.SuperviseTicketRequest{Id: id, Reason: reason}
			if replyBy != "" {
				t, err := time.Parse(time.RFC3339, replyBy)
				if err != nil {
					return nil, usageError{"--reply-by: " + err.Error()}
				}
				req.ReplyBy = timestamppb.New(t)
			}
			return c.SuperviseTicket(ctx, req)
		}
	case "reply":
		fs.StringVar(&text, "text", "", "the reply to the citizen")
		call[action] = func(c pb.TicketServiceClient, ctx context.Context, id string) (proto.Message, error) {
			return c.ReplyTicket(ctx, &pb.ReplyTicketRequest{Id: id, Reply: text})
		}
	case "visit":
		fs.StringVar(&satisfaction, "satisfaction", "", "SATISFIED, BASICALLY_SATISFIED or DISSATISFIED")
		fs.BoolVar(&resolved, "resolved", true, "whether the citizen says it was resolved")
		fs.StringVar(&note, "note", "", "note for the history")
		call[action] = func(c pb.TicketServiceClient, ctx context.Context, id string) (proto.Message, error) {
			return c.VisitTicket(ctx, &pb.VisitTicketRequest{Id: id, Satisfaction: pb.Satisfaction(pb.Satisfaction_value[strings.ToUpper(satisfaction)]),
				Resolved: resolved, Note: note})
		}
	case "reopen":
		fs.StringVar(&reason, "reason", "", "why (required)")
		call[action] = func(c pb.TicketServiceClient, ctx context.Context, id string) (proto.Message, error) {
			return c.ReopenTicket(ctx, &pb.ReopenTicketRequest{Id: id, Reason: reason})
		}
	case "close":
		fs.StringVar(&reason, "reason", "", "why (required when closing without a return visit)")
		call[action] = func(c pb.TicketServiceClient, ctx context.Context, id string) (proto.Message, error) {
			return c.CloseTicket(ctx, &pb.CloseTicketRequest{Id: id, Reason: reason})
		}
	case "reclassify":
		fs.StringVar(&category, "category", "", "the new category code (this or --region)")
		fs.StringVar(&region, "region", "", "the ticket's new region code (6, 9 or 12 digits), e.g. to correct the one read from the text")
		fs.StringVar(&reason, "reason", "", "why, for the history")
		call[action] = func(c pb.TicketServiceClient, ctx context.Context, id string) (proto.Message, error) {
			return c.ReclassifyTicket(ctx, &pb.ReclassifyTicketRequest{Id: id, Category: category, RegionCode: region, Reason: reason})
		}
	case "answer":
		fs.StringVar(&text, "text", "", "the answer given to the caller")
		call[action] = func(c pb.TicketServiceClient, ctx context.Context, id string) (proto.Message, error) {
			return c.AnswerTicket(ctx, &pb.AnswerTicketRequest{Id: id, Answer: text})
		}
	default:
		fmt.Fprint(stderr, ticketUsage)
		return usageError{fmt.Sprintf("ticket: unknown action %q", action)}
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{fmt.Sprintf("ticket %s: give exactly one ticket id or tracking number", action)}
	}
	return withClient(ctx, &cf, stdout, func(ctx context.Context, c pb.TicketServiceClient) (proto.Message, error) {
		return call[action](c, ctx, pos[0])
	})
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// outgoing adds the caller's bearer token to the call's metadata.
func (c *clientFlags) outgoing(ctx context.Context) context.Context {
	if c.token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+strings.TrimSpace(c.token))
}

// dial connects to the server cf names (plain text on loopback).
func (c *clientFlags) dial() (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(c.server, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", c.server, err)
	}
	return conn, nil
}

// withConn dials the server and runs fn with the call's context (timeout
// and bearer token applied).
func withConn(ctx context.Context, cf *clientFlags, fn func(context.Context, *grpc.ClientConn) error) error {
	conn, err := cf.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	return fn(cf.outgoing(ctx), conn)
}

// withClient dials the server, runs fn and prints its result as JSON.
func withClient(ctx context.Context, cf *clientFlags, stdout io.Writer, fn func(context.Context, pb.TicketServiceClient) (proto.Message, error)) error {
	return withConn(ctx, cf, func(ctx context.Context, conn *grpc.ClientConn) error {
		msg, err := fn(ctx, pb.NewTicketServiceClient(conn))
		if err != nil {
			return describe(err)
		}
		return printJSON(stdout, msg)
	})
}

func printJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// describe turns a gRPC error into a readable one, field violations included.
func describe(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", st.Code(), st.Message())
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fmt.Fprintf(&b, "\n  %s: %s", v.GetField(), v.GetDescription())
			}
		}
	}
	return fmt.Errorf("%s", b.String())
}

func createTicket(ctx context.Context, fs *flag.FlagSet, cf *clientFlags, args []string, stdout io.Writer) error {
	var (
		jsonFile, key                                           string
		channel, title, content, name, phone, idNumber, address string
		region, category, reqType, urgency, dialed              string
	)
	fs.StringVar(&jsonFile, "json", "", "read the ticket as JSON (the REST create body) from `file`, - for stdin")
	fs.StringVar(&key, "idempotency-key", "", "retrying with the same key returns the same ticket")
	fs.StringVar(&channel, "channel", "PHONE", "PHONE, WEB, APP, WECHAT, SMS, EMAIL, LETTER, WALK_IN or OPEN311")
	fs.StringVar(&title, "title", "", "title (required)")
	fs.StringVar(&content, "content", "", "what the citizen said (required)")
	fs.StringVar(&name, "name", "", "caller's name")
	fs.StringVar(&phone, "phone", "", "caller's phone")
	fs.StringVar(&idNumber, "id-number", "", "caller's resident ID number")
	fs.StringVar(&address, "address", "", "address of the matter")
	fs.StringVar(&region, "region", "", "region code")
	fs.StringVar(&category, "category", "", "category code")
	fs.StringVar(&reqType, "type", "", "CONSULTATION, HELP, COMPLAINT, REPORT, SUGGESTION, PRAISE or OTHER (required)")
	fs.StringVar(&urgency, "urgency", "", "NORMAL, URGENT or CRITICAL")
	fs.StringVar(&dialed, "dialed", "", "number the caller dialed (default 12345)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"ticket create takes flags only"}
	}
	n := &pb.NewTicket{}
	if jsonFile != "" {
		var b []byte
		if jsonFile == "-" {
			b, err = io.ReadAll(os.Stdin)
		} else {
			b, err = os.ReadFile(jsonFile)
		}
		if err != nil {
			return err
		}
		if err := protojson.Unmarshal(b, n); err != nil {
			return fmt.Errorf("%s: %w", jsonFile, err)
		}
	} else {
		n = &pb.NewTicket{
			Channel:      pb.Channel(pb.Channel_value[strings.ToUpper(channel)]),
			DialedNumber: dialed,
			Caller:       &pb.Caller{Name: name, Phone: phone, IdNumber: idNumber},
			Title:        title,
			Content:      content,
			Location:     &pb.Location{Address: address, RegionCode: region},
			Category:     category,
			RequestType:  pb.RequestType(pb.RequestType_value[strings.ToUpper(reqType)]),
			Urgency:      pb.Urgency(pb.Urgency_value[strings.ToUpper(urgency)]),
		}
	}
	return withClient(ctx, cf, stdout, func(ctx context.Context, c pb.TicketServiceClient) (proto.Message, error) {
		return c.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: n, IdempotencyKey: key})
	})
}

func listTickets(ctx context.Context, fs *flag.FlagSet, cf *clientFlags, args []string, stdout io.Writer) error {
	var (
		states, unit, category, dialed, overdue, after, before, token string
		size                                                          int
		all                                                           bool
	)
	fs.StringVar(&states, "state", "", "states, comma-separated (e.g. DISPATCHED,SIGNED)")
	fs.StringVar(&unit, "unit", "", "handling unit")
	fs.StringVar(&category, "category", "", "category code prefix")
	fs.StringVar(&dialed, "dialed", "", "dialed number")
	fs.StringVar(&overdue, "overdue", "", "true: only overdue; false: only not overdue")
	fs.StringVar(&after, "after", "", "created at or after, RFC 3339")
	fs.StringVar(&before, "before", "", "created before, RFC 3339")
	fs.IntVar(&size, "page-size", 0, "tickets per page (default 50)")
	fs.StringVar(&token, "page-token", "", "continue from this token")
	fs.BoolVar(&all, "all", false, "follow every page")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	req := &pb.ListTicketsRequest{HandlingUnit: unit, Category: category, DialedNumber: dialed, PageSize: int32(size), PageToken: token}
	for _, s := range splitList(states) {
		v, ok := pb.State_value[strings.ToUpper(s)]
		if !ok {
			return usageError{fmt.Sprintf("--state: unknown state %q", s)}
		}
		req.State = append(req.State, pb.State(v))
	}
	switch overdue {
	case "":
	case "true", "false":
		o := overdue == "true"
		req.Overdue = &o
	default:
		return usageError{"--overdue: true or false"}
	}
	for _, tf := range []struct {
		v   string
		dst **timestamppb.Timestamp
	}{{after, &req.CreatedAfter}, {before, &req.CreatedBefore}} {
		if tf.v != "" {
			t, err := time.Parse(time.RFC3339, tf.v)
			if err != nil {
				return usageError{"time: " + err.Error()}
			}
			*tf.dst = timestamppb.New(t)
		}
	}
	return withClient(ctx, cf, stdout, func(ctx context.Context, c pb.TicketServiceClient) (proto.Message, error) {
		resp, err := c.ListTickets(ctx, req)
		for all && err == nil && resp.GetNextPageToken() != "" {
			req.PageToken = resp.GetNextPageToken()
			var more *pb.ListTicketsResponse
			if more, err = c.ListTickets(ctx, req); err == nil {
				resp.Tickets = append(resp.Tickets, more.GetTickets()...)
				resp.NextPageToken = more.GetNextPageToken()
			}
		}
		return resp, err
	})
}
