package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/gateway/service"
)

const dispatchUsage = `Usage: switchboard dispatch <action> [flags]

  status             per backend: breaker, queue, in flight, pending, oldest pending,
                     dead letters, attempts/delivered, latency p50/p99
                     [--watch] [--interval 2s] [--json]
  dead-letters       parked messages, oldest first   [--backend B] [--json]
  redrive            deliver parked messages again (attempts reset):
                     --id N (repeatable, or N,N,…) | --backend B | --all

Every action takes --server ADDR (default $SWITCHBOARD_SERVER or 127.0.0.1:9090),
--token TOKEN (default $SWITCHBOARD_TOKEN: a bearer token from "switchboard auth token create",
or from demo-tokens.json in the data directory of "serve --demo") and --timeout DURATION.
`

const inboxUsage = `Usage: switchboard inbox <action> --unit UNIT [flags]

The work queue of a unit without a legacy system (backend kind manual).

  list               open items (unclaimed, or whose claim expired)   [--all] [--page-size N] [--page-token T]
  claim              claim open items for yourself (the token's principal)   [--limit 10] [--lease 15m]
  ack KEY            acknowledge an item you hold (after signing, replying … with
                     switchboard ticket); keys look like 01M8…/2/gz-tianhe-tiyuxi

Every action takes --server ADDR (default $SWITCHBOARD_SERVER or 127.0.0.1:9090),
--token TOKEN (default $SWITCHBOARD_TOKEN: a bearer token from "switchboard auth token create",
or from demo-tokens.json in the data directory of "serve --demo") and --timeout DURATION.
`

func dispatchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	action, fs, ok, err := clientAction("dispatch", dispatchUsage, args, stderr, &cf)
	if !ok {
		return err
	}
	var (
		backend  string
		asJSON   bool
		watch    bool
		all      bool
		interval time.Duration
		ids      []int64
	)
	var call func(ctx context.Context, c pb.DispatchServiceClient) error
	switch action {
	case "status":
		fs.BoolVar(&watch, "watch", false, "refresh until interrupted")
		fs.DurationVar(&interval, "interval", 2*time.Second, "refresh period with --watch")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		call = func(ctx context.Context, c pb.DispatchServiceClient) error {
			for {
				cctx, cancel := context.WithTimeout(ctx, cf.timeout)
				st, err := c.GetDispatchStatus(cctx, &pb.GetDispatchStatusRequest{})
				cancel()
				if err != nil {
					return describe(err)
				}
				if watch {
					fmt.Fprintf(stdout, "\033[H\033[2J%s   (every %s; Ctrl-C to stop)\n\n", time.Now().In(cst).Format("2006-01-02 15:04:05 CST"), interval)
				}
				if asJSON {
					err = printJSON(stdout, st)
				} else {
					err = printDispatchStatus(stdout, st)
				}
				if err != nil || !watch {
					return err
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
			}
		}
	case "dead-letters":
		fs.StringVar(&backend, "backend", "", "only this backend's")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		call = func(ctx context.Context, c pb.DispatchServiceClient) error {
			ctx, cancel := context.WithTimeout(ctx, cf.timeout)
			defer cancel()
			req := &pb.ListDeadLettersRequest{Backend: backend, PageSize: int32(service.MaxPageSize)}
			resp, err := c.ListDeadLetters(ctx, req)
			for err == nil && resp.GetNextPageToken() != "" {
				req.PageToken = resp.GetNextPageToken()
				var more *pb.ListDeadLettersResponse
				if more, err = c.ListDeadLetters(ctx, req); err == nil {
					resp.DeadLetters = append(resp.DeadLetters, more.GetDeadLetters()...)
					resp.NextPageToken = more.GetNextPageToken()
				}
			}
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, resp)
			}
			return printDeadLetters(stdout, resp)
		}
	case "redrive":
		fs.Func("id", "a dead letter's `id` (repeatable, or comma-separated)", func(s string) error {
			for _, p := range splitList(s) {
				n, err := strconv.ParseInt(p, 10, 64)
				if err != nil || n <= 0 {
					return fmt.Errorf("want a positive id, got %q", p)
				}
				ids = append(ids, n)
			}
			return nil
		})
		fs.StringVar(&backend, "backend", "", "every dead letter of this backend")
		fs.BoolVar(&all, "all", false, "every dead letter")
		call = func(ctx context.Context, c pb.DispatchServiceClient) error {
			if len(ids) == 0 && backend == "" && !all {
				return usageError{"dispatch redrive: give --id, --backend or --all"}
			}
			ctx, cancel := context.WithTimeout(ctx, cf.timeout)
			defer cancel()
			resp, err := c.Redrive(ctx, &pb.RedriveRequest{Ids: ids, Backend: backend, All: all})
			if err != nil {
				return describe(err)
			}
			_, err = fmt.Fprintf(stdout, "redriven: %d message(s) pending again\n", resp.GetRedriven())
			return err
		}
	default:
		fmt.Fprint(stderr, dispatchUsage)
		return usageError{fmt.Sprintf("dispatch: unknown action %q", action)}
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("dispatch %s takes flags only", action)}
	}
	return withDispatch(ctx, &cf, call)
}

func inboxCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	action, fs, ok, err := clientAction("inbox", inboxUsage, args, stderr, &cf)
	if !ok {
		return err
	}
	var (
		unit, token string
		all         bool
		size, limit int
		lease       time.Duration
	)
	fs.StringVar(&unit, "unit", "", "the unit's id (required)")
	positional := 0
	var call func(ctx context.Context, c pb.DispatchServiceClient, pos []string) (proto.Message, error)
	switch action {
	case "list":
		fs.BoolVar(&all, "all", false, "claimed and acknowledged items too")
		fs.IntVar(&size, "page-size", 0, "items per page (default 50)")
		fs.StringVar(&token, "page-token", "", "continue from this token")
		call = func(ctx context.Context, c pb.DispatchServiceClient, _ []string) (proto.Message, error) {
			return c.ListInbox(ctx, &pb.ListInboxRequest{Unit: unit, All: all, PageSize: int32(size), PageToken: token})
		}
	case "claim":
		fs.IntVar(&limit, "limit", service.DefaultClaimLimit, "how many items at most")
		fs.DurationVar(&lease, "lease", service.DefaultLeaseSeconds*time.Second, "how long the claim holds")
		call = func(ctx context.Context, c pb.DispatchServiceClient, _ []string) (proto.Message, error) {
			return c.ClaimInbox(ctx, &pb.ClaimInboxRequest{Unit: unit, Limit: int32(limit), LeaseSeconds: int32(lease / time.Second)})
		}
	case "ack":
		positional = 1
		call = func(ctx context.Context, c pb.DispatchServiceClient, pos []string) (proto.Message, error) {
			return c.AckInbox(ctx, &pb.AckInboxRequest{Unit: unit, Key: pos[0]})
		}
	default:
		fmt.Fprint(stderr, inboxUsage)
		return usageError{fmt.Sprintf("inbox: unknown action %q", action)}
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case unit == "":
		return usageError{fmt.Sprintf("inbox %s: --unit is required", action)}
	case len(pos) != positional && positional == 0:
		return usageError{fmt.Sprintf("inbox %s takes flags only", action)}
	case len(pos) != positional:
		return usageError{fmt.Sprintf("inbox %s: give exactly one item key", action)}
	}
	return withDispatch(ctx, &cf, func(ctx context.Context, c pb.DispatchServiceClient) error {
		ctx, cancel := context.WithTimeout(ctx, cf.timeout)
		defer cancel()
		return printResult[proto.Message](stdout)(call(ctx, c, pos))
	})
}

// withDispatch dials the server and runs fn with a dispatch client; fn sets
// its own timeouts (status --watch makes many calls).
func withDispatch(ctx context.Context, cf *clientFlags, fn func(context.Context, pb.DispatchServiceClient) error) error {
	conn, err := cf.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx = cf.outgoing(ctx)
	return fn(ctx, pb.NewDispatchServiceClient(conn))
}

func printDispatchStatus(w io.Writer, st *pb.DispatchStatus) error {
	t := table{header: []string{"BACKEND", "KIND", "BREAKER", "QUEUE", "IN-FLIGHT", "PENDING", "OLDEST", "DEAD", "ATTEMPTS/DELIVERED", "P50/P99"}}
	var pending, dead int64
	for _, b := range st.GetBackends() {
		pending += b.GetPending()
		dead += b.GetDead()
		oldest := "-"
		if s := b.GetOldestPendingSeconds(); s > 0 {
			oldest = (time.Duration(s * float64(time.Second))).Round(time.Second).String()
		}
		latency := "-"
		if b.GetLatencyP50Ms() > 0 || b.GetLatencyP99Ms() > 0 {
			latency = fmtMillis(b.GetLatencyP50Ms()) + "/" + fmtMillis(b.GetLatencyP99Ms())
		}
		t.add(b.GetBackend(), dash(b.GetKind()), b.GetBreaker(),
			fmt.Sprintf("%d/%d", b.GetQueued(), b.GetQueueCap()),
			fmt.Sprintf("%d/%d", b.GetInFlight(), b.GetMaxInFlight()),
			fmt.Sprint(b.GetPending()), oldest, fmt.Sprint(b.GetDead()),
			fmt.Sprintf("%d/%d", b.GetAttempts(), b.GetDelivered()), latency)
	}
	t.write(w)
	_, err := fmt.Fprintf(w, "%d backends, %d pending, %d dead\n", len(st.GetBackends()), pending, dead)
	return err
}

// fmtMillis prints a latency: 0.8ms, 12ms, 2.5s.
func fmtMillis(ms float64) string {
	switch {
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	case ms < 1000:
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	}
	return strconv.FormatFloat(ms/1000, 'f', 1, 64) + "s"
}

func printDeadLetters(w io.Writer, resp *pb.ListDeadLettersResponse) error {
	if len(resp.GetDeadLetters()) == 0 {
		_, err := fmt.Fprintln(w, "no dead letters")
		return err
	}
	t := table{header: []string{"ID", "BACKEND", "UNIT", "TICKET", "TOPIC", "ATTEMPTS", "DEAD AT (CST)", "REASON"}}
	for _, d := range resp.GetDeadLetters() {
		tk := d.GetTrackingNumber()
		if tk == "" {
			tk = d.GetTicketId()
		}
		at := "-"
		if d.GetDeadTime() != nil {
			at = d.GetDeadTime().AsTime().In(cst).Format("2006-01-02 15:04")
		}
		t.add(fmt.Sprint(d.GetId()), dash(d.GetBackend()), d.GetUnit(), tk, d.GetTopic(), fmt.Sprint(d.GetAttempts()), at,
			oneLine(dash(d.GetDeadReason())))
	}
	t.write(w)
	_, err := fmt.Fprintf(w, "%d dead letters; redrive with: switchboard dispatch redrive --id N | --backend B | --all\n", len(resp.GetDeadLetters()))
	return err
}

// oneLine keeps a table row on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
