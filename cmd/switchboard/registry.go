package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
)

const registryUsage = `Usage: switchboard registry <action> [flags]

  import FILE        replace the registry with a province file (YAML, - for stdin);
                     a bad file is refused with its line and changes nothing
  export             write the registry as a province file   [--out FILE]
  list               list the legacy hotlines   [--mode M] [--status S] [--json]
  show NUMBER        show a hotline   [--at YYYY-MM-DD]
  set-status NUMBER  move a hotline through the merger (planned → dual_running → merged → retired)
                     --status S [--reason R] [--force] [--revision N] [--cutover YYYY-MM-DD] [--at YYYY-MM-DD]
  history NUMBER     a hotline's status changes, oldest first   [--json]
  report             hotlines per mode and status, traffic on old numbers, upcoming cutovers   [--json]

Modes: full_merge, dual_numbers, sub_centre, emergency_linkage, independent.
Statuses: planned, dual_running, merged, retired, linked, unmerged.

Every action takes --server ADDR (default $SWITCHBOARD_SERVER or 127.0.0.1:9090),
--token TOKEN (default $SWITCHBOARD_TOKEN: a bearer token from "switchboard auth token create",
or from demo-tokens.json in the data directory of "serve --demo") and --timeout DURATION.
`

func registryCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	action, fs, ok, err := clientAction("registry", registryUsage, args, stderr, &cf)
	if !ok {
		return err
	}
	var (
		out, mode, st, reason, cutover, at string
		asJSON, force                      bool
		revision                           uint64
	)
	// positional is how many positional arguments the action takes.
	positional := 0
	var call func(ctx context.Context, c pb.RegistryServiceClient, pos []string) error
	switch action {
	case "import":
		positional = 1
		call = func(ctx context.Context, c pb.RegistryServiceClient, pos []string) error {
			return importRegistry(ctx, c, pos[0], stdout)
		}
	case "export":
		fs.StringVar(&out, "out", "", "write to `file` instead of standard output")
		call = func(ctx context.Context, c pb.RegistryServiceClient, _ []string) error {
			resp, err := c.ExportRegistry(ctx, &pb.ExportRegistryRequest{})
			if err != nil {
				return describe(err)
			}
			if out == "" || out == "-" {
				_, err = io.WriteString(stdout, resp.GetYaml())
				return err
			}
			if err := os.WriteFile(out, []byte(resp.GetYaml()), 0o644); err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "exported registry revision %d to %s\n", resp.GetRevision(), out)
			return err
		}
	case "list":
		fs.StringVar(&mode, "mode", "", "only hotlines of this mode")
		fs.StringVar(&st, "status", "", "only hotlines of this status")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		call = func(ctx context.Context, c pb.RegistryServiceClient, _ []string) error {
			resp, err := c.ListHotlines(ctx, &pb.ListHotlinesRequest{Mode: mode, Status: st})
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, resp)
			}
			return printHotlines(stdout, resp)
		}
	case "show":
		positional = 1
		fs.StringVar(&at, "at", "", "the use of a reused number in force on this date, YYYY-MM-DD (default today)")
		call = func(ctx context.Context, c pb.RegistryServiceClient, pos []string) error {
			req := &pb.GetHotlineRequest{Number: pos[0]}
			var err error
			if req.At, err = onDate("--at", at); err != nil {
				return err
			}
			return printResult[*pb.Hotline](stdout)(c.GetHotline(ctx, req))
		}
	case "set-status":
		positional = 1
		fs.StringVar(&st, "status", "", "the new status (required)")
		fs.StringVar(&reason, "reason", "", "why, for the history (required with --force)")
		fs.BoolVar(&force, "force", false, "retire a number that still receives traffic")
		fs.Uint64Var(&revision, "revision", 0, "the hotline revision this change is based on (0: do not check)")
		fs.StringVar(&cutover, "cutover", "", "new cutover date, YYYY-MM-DD")
		fs.StringVar(&at, "at", "", "the use of a reused number in force on this date, YYYY-MM-DD (default today)")
		call = func(ctx context.Context, c pb.RegistryServiceClient, pos []string) error {
			if st == "" {
				return usageError{"registry set-status: --status is required"}
			}
			req := &pb.SetHotlineStatusRequest{Number: pos[0], Status: st, Reason: reason, Force: force,
				ExpectedRevision: revision, Cutover: cutover}
			var err error
			if req.At, err = onDate("--at", at); err != nil {
				return err
			}
			return printResult[*pb.Hotline](stdout)(c.SetHotlineStatus(ctx, req))
		}
	case "history":
		positional = 1
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		call = func(ctx context.Context, c pb.RegistryServiceClient, pos []string) error {
			resp, err := c.ListHotlineHistory(ctx, &pb.ListHotlineHistoryRequest{Number: pos[0]})
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, resp)
			}
			return printHistory(stdout, pos[0], resp)
		}
	case "report":
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		call = func(ctx context.Context, c pb.RegistryServiceClient, _ []string) error {
			resp, err := c.GetMigrationReport(ctx, &pb.GetMigrationReportRequest{})
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, resp)
			}
			return printReport(stdout, resp)
		}
	default:
		fmt.Fprint(stderr, registryUsage)
		return usageError{fmt.Sprintf("registry: unknown action %q", action)}
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != positional {
		switch positional {
		case 0:
			return usageError{fmt.Sprintf("registry %s takes flags only", action)}
		default:
			what := "hotline number"
			if action == "import" {
				what = "province file"
			}
			return usageError{fmt.Sprintf("registry %s: give exactly one %s", action, what)}
		}
	}
	return withRegistry(ctx, &cf, func(ctx context.Context, c pb.RegistryServiceClient) error {
		return call(ctx, c, pos)
	})
}

// withRegistry dials the server and runs fn with a registry client.
func withRegistry(ctx context.Context, cf *clientFlags, fn func(context.Context, pb.RegistryServiceClient) error) error {
	return withConn(ctx, cf, func(ctx context.Context, conn *grpc.ClientConn) error {
		return fn(ctx, pb.NewRegistryServiceClient(conn))
	})
}

// printResult prints a call's result as JSON, or describes its error.
func printResult[M proto.Message](w io.Writer) func(M, error) error {
	return func(m M, err error) error {
		if err != nil {
			return describe(err)
		}
		return printJSON(w, m)
	}
}

// cst is China Standard Time, in which registry dates are reckoned.
var cst = time.FixedZone("CST", 8*3600)

// onDate returns noon (China time) of a YYYY-MM-DD date, or nil when s is empty.
func onDate(flagName, s string) (*timestamppb.Timestamp, error) {
	if s == "" {
		return nil, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, s, cst)
	if err != nil {
		return nil, usageError{fmt.Sprintf("%s: want a date YYYY-MM-DD, got %q", flagName, s)}
	}
	return timestamppb.New(d.Add(12 * time.Hour)), nil
}

func importRegistry(ctx context.Context, c pb.RegistryServiceClient, file string, stdout io.Writer) error {
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
	resp, err := c.ImportRegistry(ctx, &pb.ImportRegistryRequest{Yaml: string(b)})
	if err != nil {
		// The server's message names the line; this names the file.
		return fmt.Errorf("%s: %w", file, describe(err))
	}
	_, err = fmt.Fprintf(stdout, "imported %s: registry revision %d, %d units, %d hotlines, %d backends\n",
		file, resp.GetRevision(), resp.GetUnits(), resp.GetHotlines(), resp.GetBackends())
	return err
}

func printHotlines(w io.Writer, resp *pb.ListHotlinesResponse) error {
	t := table{header: []string{"NUMBER", "NAME", "MODE", "STATUS", "HANDLING UNIT", "CUTOVER"}}
	for _, h := range resp.GetHotlines() {
		number := h.GetNumber()
		if h.GetValidFrom() != "" || h.GetValidTo() != "" {
			number += " (" + h.GetValidFrom() + "–" + h.GetValidTo() + ")"
		}
		t.add(number, h.GetName(), h.GetMode(), h.GetStatus(), dash(h.GetHandlingUnit()), dash(h.GetCutover()))
	}
	t.write(w)
	_, err := fmt.Fprintf(w, "%d hotlines, registry revision %d\n", len(resp.GetHotlines()), resp.GetRevision())
	return err
}

func printHistory(w io.Writer, number string, resp *pb.ListHotlineHistoryResponse) error {
	if len(resp.GetChanges()) == 0 {
		_, err := fmt.Fprintf(w, "hotline %s: no status changes recorded\n", number)
		return err
	}
	t := table{header: []string{"TIME (CST)", "FROM", "TO", "ACTOR", "CUTOVER", "REASON"}}
	for _, c := range resp.GetChanges() {
		to := c.GetTo()
		if c.GetForce() {
			to += " (forced)"
		}
		t.add(c.GetTime().AsTime().In(cst).Format("2006-01-02 15:04"), c.GetFrom(), to, c.GetActor(), dash(c.GetCutover()), dash(c.GetReason()))
	}
	t.write(w)
	return nil
}

func printReport(w io.Writer, r *pb.MigrationReport) error {
	total := int32(0)
	for _, c := range r.GetCounts() {
		total += c.GetHotlines()
	}
	fmt.Fprintf(w, "Migration report — registry revision %d, %d hotlines\n\n", r.GetRevision(), total)

	fmt.Fprintln(w, "Hotlines by mode and status")
	t := table{indent: "  ", header: []string{"MODE", "STATUS", "HOTLINES"}}
	for _, c := range r.GetCounts() {
		t.add(c.GetMode(), c.GetStatus(), fmt.Sprint(c.GetHotlines()))
	}
	t.write(w)

	fmt.Fprintln(w, "\nRequests still arriving on legacy numbers")
	if len(r.GetTraffic()) == 0 {
		fmt.Fprintln(w, "  none in the last 30 days")
	} else {
		t = table{indent: "  ", header: []string{"NUMBER", "NAME", "STATUS", "LAST 7 DAYS", "LAST 30 DAYS"}}
		for _, tr := range r.GetTraffic() {
			t.add(tr.GetNumber(), tr.GetName(), tr.GetStatus(), fmt.Sprint(tr.GetLast_7Days()), fmt.Sprint(tr.GetLast_30Days()))
		}
		t.write(w)
	}

	fmt.Fprintln(w, "\nUpcoming cutovers")
	if len(r.GetUpcomingCutovers()) == 0 {
		fmt.Fprintln(w, "  none")
	} else {
		t = table{indent: "  ", header: []string{"DATE", "NUMBER", "NAME", "STATUS"}}
		for _, c := range r.GetUpcomingCutovers() {
			t.add(c.GetCutover(), c.GetNumber(), c.GetName(), c.GetStatus())
		}
		t.write(w)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// table prints columns aligned by display width: a Chinese character takes
// two columns of a terminal, which text/tabwriter does not know.
type table struct {
	indent string
	header []string
	rows   [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) {
	widths := make([]int, len(t.header))
	for _, row := range append([][]string{t.header}, t.rows...) {
		for i, c := range row {
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	var b strings.Builder
	for _, row := range append([][]string{t.header}, t.rows...) {
		b.WriteString(t.indent)
		for i, c := range row {
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(c)+2))
			}
		}
		b.WriteString("\n")
	}
	io.WriteString(w, b.String())
}

// displayWidth is how many terminal columns s takes: East Asian wide and
// fullwidth characters take two.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r) || r == '\u200b':
		case wide(r):
			n += 2
		default:
			n++
		}
	}
	return n
}

func wide(r rune) bool {
	return r >= 0x1100 && r <= 0x115f || // Hangul Jamo
		r >= 0x2e80 && r <= 0x303e || // CJK radicals, punctuation
		r >= 0x3041 && r <= 0x33ff || // kana, CJK symbols
		r >= 0x3400 && r <= 0x4dbf || // CJK extension A
		r >= 0x4e00 && r <= 0x9fff || // CJK unified ideographs
		r >= 0xa000 && r <= 0xa4cf || // Yi
		r >= 0xac00 && r <= 0xd7a3 || // Hangul syllables
		r >= 0xf900 && r <= 0xfaff || // CJK compatibility ideographs
		r >= 0xfe30 && r <= 0xfe4f || // CJK compatibility forms
		r >= 0xff00 && r <= 0xff60 || // fullwidth forms
		r >= 0xffe0 && r <= 0xffe6 ||
		r >= 0x1f300 && r <= 0x1f64f || // emoji
		r >= 0x20000 && r <= 0x3fffd // CJK extensions B…
}
