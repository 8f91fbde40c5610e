package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/gateway/service"
	"github.com/switchboard12345/switchboard/kb"
)

const kbUsage = `Usage: switchboard kb <action> [flags]

  search TEXT        the answers (答复口径) most relevant to TEXT, best first, with the matching
                     part of each answer (matches in 【】); --k 5, --at DATE (default now),
                     --category CODE
  show ID            an entry
  list               entries by id; --category CODE (a code prefix), --unit U, --valid-at DATE,
                     --limit 50
  add                a new entry: --title T --answer A [--category CODE] [--unit U]
                     [--valid-from DATE] [--valid-until DATE] [--keywords a,b] [--source S] [--id ID]
  update ID          change the flags given (as for add; an empty value clears a field), based on
                     the revision read first (or --revision N); a concurrent change is refused
  delete ID          remove an entry (--revision N to check it); to retire an answer but keep it,
                     set --valid-until instead
  import FILE        create or update (by id) the entries of a YAML or CSV file (- for standard
                     input); --replace deletes the entries the file does not hold, --dry-run only
                     counts, --format csv|yaml. A bad file is refused with its line numbers.

DATE is YYYY-MM-DD (China time) or RFC 3339. Reading actions take --json. Every action takes
--server ADDR (default $SWITCHBOARD_SERVER or 127.0.0.1:9090), --token TOKEN (default
$SWITCHBOARD_TOKEN) and --timeout DURATION. Changes need the admin_registry permission.
`

// entryFlags are the content flags of add and update.
type entryFlags struct {
	id, title, answer, category, unit, validFrom, validUntil, keywords, source string
}

func (e *entryFlags) register(fs *flag.FlagSet, withID bool) {
	if withID {
		fs.StringVar(&e.id, "id", "", "the entry's id (default: assigned)")
	}
	fs.StringVar(&e.title, "title", "", "what the answer is about, e.g. 住房公积金提取条件")
	fs.StringVar(&e.answer, "answer", "", "the approved answer")
	fs.StringVar(&e.category, "category", "", "a category code of the taxonomy")
	fs.StringVar(&e.unit, "unit", "", "the issuing unit (a unit id or an office's name)")
	fs.StringVar(&e.validFrom, "valid-from", "", "valid from this date (YYYY-MM-DD or RFC 3339)")
	fs.StringVar(&e.validUntil, "valid-until", "", "valid until this date, exclusive")
	fs.StringVar(&e.keywords, "keywords", "", "keywords, comma-separated")
	fs.StringVar(&e.source, "source", "", "where the answer comes from, e.g. a document number")
}

// kbDate reads a DATE flag into a timestamp (nil for "").
func kbDate(flagName, s string) (*timestamppb.Timestamp, error) {
	t, err := kb.ParseDate(s)
	if err != nil {
		return nil, usageError{"--" + flagName + ": " + err.Error()}
	}
	if t.IsZero() {
		return nil, nil
	}
	return timestamppb.New(t), nil
}

// apply sets the fields of e whose flags were given (all of them for a new
// entry: set is nil).
func (f *entryFlags) apply(e *pb.KnowledgeEntry, set map[string]bool) error {
	given := func(name string) bool { return set == nil || set[name] }
	if given("id") && f.id != "" {
		e.Id = f.id
	}
	if given("title") {
		e.Title = f.title
	}
	if given("answer") {
		e.Answer = f.answer
	}
	if given("category") {
		e.Category = f.category
	}
	if given("unit") {
		e.Unit = f.unit
	}
	if given("source") {
		e.Source = f.source
	}
	if given("keywords") {
		e.Keywords = kb.SplitKeywords(f.keywords)
	}
	var err error
	if given("valid-from") {
		if e.ValidFrom, err = kbDate("valid-from", f.validFrom); err != nil {
			return err
		}
	}
	if given("valid-until") {
		if e.ValidUntil, err = kbDate("valid-until", f.validUntil); err != nil {
			return err
		}
	}
	return nil
}

// importChunk is the most an import request carries; larger files go in
// several requests (the server takes 1 MiB by default).
const importChunk = 900 << 10

func kbCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	action, fs, ok, err := clientAction("kb", kbUsage, args, stderr, &cf)
	if !ok {
		return err
	}
	var (
		ef                                  entryFlags
		k, limit                            int
		revision                            int64
		at, category, unit, validAt, format string
		asJSON, replace, dryRun             bool
		minPos, maxPos                      int
		what                                string
	)
	jsonFlag := func() { fs.BoolVar(&asJSON, "json", false, "print JSON") }
	var call func(ctx context.Context, c pb.KnowledgeServiceClient, pos []string) error
	switch action {
	case "search":
		minPos, maxPos, what = 1, -1, "text to search for"
		fs.IntVar(&k, "k", 5, "at most this many answers")
		fs.StringVar(&at, "at", "", "only answers valid on this date (default now)")
		fs.StringVar(&category, "category", "", "only answers under this category code")
		jsonFlag()
		call = func(ctx context.Context, c pb.KnowledgeServiceClient, pos []string) error {
			when, err := kbDate("at", at)
			if err != nil {
				return err
			}
			resp, err := c.SearchEntries(ctx, &pb.SearchEntriesRequest{Text: strings.Join(pos, " "), K: int32(k), At: when, Category: category})
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, resp)
			}
			return printHits(stdout, resp)
		}
	case "show":
		minPos, maxPos, what = 1, 1, "entry id"
		jsonFlag()
		call = func(ctx context.Context, c pb.KnowledgeServiceClient, pos []string) error {
			e, err := c.GetEntry(ctx, &pb.GetEntryRequest{Id: pos[0]})
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, e)
			}
			printEntry(stdout, e)
			return nil
		}
	case "list":
		fs.StringVar(&category, "category", "", "only entries under this category code")
		fs.StringVar(&unit, "unit", "", "only entries of this issuing unit")
		fs.StringVar(&validAt, "valid-at", "", "only entries valid on this date")
		fs.IntVar(&limit, "limit", service.DefaultPageSize, "show at most this many entries")
		jsonFlag()
		call = func(ctx context.Context, c pb.KnowledgeServiceClient, _ []string) error {
			if limit < 1 {
				return usageError{"--limit: must be at least 1"}
			}
			when, err := kbDate("valid-at", validAt)
			if err != nil {
				return err
			}
			req := &pb.ListEntriesRequest{Category: category, Unit: unit, ValidAt: when}
			all := &pb.ListEntriesResponse{}
			for {
				req.PageSize = int32(min(limit-len(all.Entries), service.MaxPageSize))
				resp, err := c.ListEntries(ctx, req)
				if err != nil {
					return describe(err)
				}
				all.Entries = append(all.Entries, resp.GetEntries()...)
				all.NextPageToken = resp.GetNextPageToken()
				if all.NextPageToken == "" || len(all.Entries) >= limit {
					break
				}
				req.PageToken = all.NextPageToken
			}
			if asJSON {
				return printJSON(stdout, all)
			}
			t := table{header: []string{"ID", "TITLE", "CATEGORY", "UNIT", "VALID"}}
			for _, e := range all.GetEntries() {
				t.add(e.GetId(), truncRunes(e.GetTitle(), 30), dash(e.GetCategory()), dash(truncRunes(e.GetUnit(), 16)), validity(e))
			}
			t.write(stdout)
			if all.NextPageToken != "" {
				fmt.Fprintf(stdout, "(more: raise --limit)\n")
			}
			return nil
		}
	case "add":
		ef.register(fs, true)
		jsonFlag()
		call = func(ctx context.Context, c pb.KnowledgeServiceClient, _ []string) error {
			e := &pb.KnowledgeEntry{}
			if err := ef.apply(e, nil); err != nil {
				return err
			}
			created, err := c.CreateEntry(ctx, &pb.CreateEntryRequest{Entry: e})
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, created)
			}
			_, err = fmt.Fprintf(stdout, "added %s %s (revision %d)\n", created.GetId(), created.GetTitle(), created.GetRevision())
			return err
		}
	case "update":
		minPos, maxPos, what = 1, 1, "entry id"
		ef.register(fs, false)
		fs.Int64Var(&revision, "revision", 0, "the revision the change is based on (default: the one read first)")
		jsonFlag()
		call = func(ctx context.Context, c pb.KnowledgeServiceClient, pos []string) error {
			set := map[string]bool{}
			fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
			cur, err := c.GetEntry(ctx, &pb.GetEntryRequest{Id: pos[0]})
			if err != nil {
				return describe(err)
			}
			if revision == 0 {
				revision = cur.GetRevision()
			}
			if err := ef.apply(cur, set); err != nil {
				return err
			}
			updated, err := c.UpdateEntry(ctx, &pb.UpdateEntryRequest{Id: pos[0], Entry: cur, ExpectedRevision: revision})
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, updated)
			}
			_, err = fmt.Fprintf(stdout, "updated %s %s (revision %d)\n", updated.GetId(), updated.GetTitle(), updated.GetRevision())
			return err
		}
	case "delete":
		minPos, maxPos, what = 1, 1, "entry id"
		fs.Int64Var(&revision, "revision", 0, "delete only if the entry is at this revision")
		call = func(ctx context.Context, c pb.KnowledgeServiceClient, pos []string) error {
			resp, err := c.DeleteEntry(ctx, &pb.DeleteEntryRequest{Id: pos[0], ExpectedRevision: revision})
			if err != nil {
				return describe(err)
			}
			_, err = fmt.Fprintf(stdout, "deleted %s; knowledge base revision %d\n", pos[0], resp.GetRevision())
			return err
		}
	case "import":
		minPos, maxPos, what = 1, 1, "file to import (- for standard input)"
		fs.BoolVar(&replace, "replace", false, "delete the entries the file does not hold")
		fs.BoolVar(&dryRun, "dry-run", false, "only count what would change")
		fs.StringVar(&format, "format", "", "csv or yaml (default: detected)")
		call = func(ctx context.Context, c pb.KnowledgeServiceClient, pos []string) error {
			return importKnowledge(ctx, c, pos[0], format, replace, dryRun, stdout)
		}
	default:
		fmt.Fprint(stderr, kbUsage)
		return usageError{fmt.Sprintf("kb: unknown action %q", action)}
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) < minPos || maxPos >= 0 && len(pos) > maxPos {
		if maxPos == 0 {
			return usageError{fmt.Sprintf("kb %s takes flags only", action)}
		}
		return usageError{fmt.Sprintf("kb %s: give the %s", action, what)}
	}
	return withConn(ctx, &cf, func(ctx context.Context, conn *grpc.ClientConn) error {
		return call(ctx, pb.NewKnowledgeServiceClient(conn), pos)
	})
}

// importKnowledge sends file to the server, in several requests when it is
// larger than one request may be (not with --replace, which must be one).
func importKnowledge(ctx context.Context, c pb.KnowledgeServiceClient, file, format string, replace, dryRun bool, stdout io.Writer) error {
	b, err := readInput(file)
	if err != nil {
		return err
	}
	chunks := []string{string(b)}
	if len(b) > importChunk {
		// Parse here (the server parses again) to split between entries.
		entries, err := kb.ParseEntries(b, format)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if replace {
			return fmt.Errorf("%s: %d bytes is too large for one request, and --replace must be one; raise http.maxBodyBytes or import without --replace", file, len(b))
		}
		chunks = nil
		for start := 0; start < len(entries); {
			end, size := start, 0
			for end < len(entries) && (end == start || size+len(entries[end].Answer)*2+1024 < importChunk) {
				size += len(entries[end].Answer)*2 + len(entries[end].Title) + 512
				end++
			}
			y, err := kb.MarshalYAML(entries[start:end])
			if err != nil {
				return err
			}
			chunks = append(chunks, string(y))
			start = end
		}
		format = kb.FormatYAML
	}
	total := &pb.ImportEntriesResponse{}
	for _, chunk := range chunks {
		res, err := c.ImportEntries(ctx, &pb.ImportEntriesRequest{Content: chunk, Format: format, Replace: replace, ValidateOnly: dryRun})
		if err != nil {
			return fmt.Errorf("%s: %w", file, describe(err))
		}
		total.Created += res.GetCreated()
		total.Updated += res.GetUpdated()
		total.Unchanged += res.GetUnchanged()
		total.Deleted += res.GetDeleted()
		total.Revision = res.GetRevision()
	}
	verb := "imported"
	if dryRun {
		verb = "would import"
	}
	_, err = fmt.Fprintf(stdout, "%s %s: %d created, %d updated, %d unchanged, %d deleted; knowledge base revision %d\n",
		verb, file, total.Created, total.Updated, total.Unchanged, total.Deleted, total.Revision)
	return err
}

func truncRunes(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return string(rs[:n-1]) + "…"
}

// validity writes an entry's validity as FROM–UNTIL in China dates.
func validity(e *pb.KnowledgeEntry) string {
	d := func(ts *timestamppb.Timestamp) string {
		if ts == nil {
			return ""
		}
		return kb.FormatDate(ts.AsTime())
	}
	from, until := d(e.GetValidFrom()), d(e.GetValidUntil())
	if from == "" && until == "" {
		return "always"
	}
	return from + "–" + until
}

func printEntry(w io.Writer, e *pb.KnowledgeEntry) {
	fmt.Fprintf(w, "%s  %s\n", e.GetId(), e.GetTitle())
	if e.GetCategory() != "" {
		fmt.Fprintf(w, "category: %s %s\n", e.GetCategory(), e.GetCategoryPath())
	}
	if e.GetUnit() != "" {
		fmt.Fprintf(w, "unit:     %s\n", e.GetUnit())
	}
	fmt.Fprintf(w, "valid:    %s\n", validity(e))
	if len(e.GetKeywords()) > 0 {
		fmt.Fprintf(w, "keywords: %s\n", strings.Join(e.GetKeywords(), "、"))
	}
	if e.GetSource() != "" {
		fmt.Fprintf(w, "source:   %s\n", e.GetSource())
	}
	fmt.Fprintf(w, "revision: %d, created %s by %s, updated %s by %s\n\n%s\n", e.GetRevision(),
		e.GetCreateTime().AsTime().In(cst).Format(time.DateTime), e.GetCreatedBy(),
		e.GetUpdateTime().AsTime().In(cst).Format(time.DateTime), e.GetUpdatedBy(), e.GetAnswer())
}

// marked writes a snippet with its highlights in 【】.
func marked(snippet string, hs []*pb.Highlight) string {
	rs := []rune(snippet)
	var b strings.Builder
	last := 0
	for _, h := range hs {
		s, e := int(h.GetStart()), int(h.GetEnd())
		if s < last || e > len(rs) || s >= e {
			continue
		}
		b.WriteString(string(rs[last:s]))
		b.WriteString("【" + string(rs[s:e]) + "】")
		last = e
	}
	b.WriteString(string(rs[last:]))
	return b.String()
}

func printHits(w io.Writer, resp *pb.SearchEntriesResponse) error {
	if len(resp.GetHits()) == 0 {
		_, err := fmt.Fprintln(w, "no answer matches")
		return err
	}
	for i, h := range resp.GetHits() {
		e := h.GetEntry()
		fmt.Fprintf(w, "%d. %s  %s  (score %s)\n", i+1, e.GetId(), e.GetTitle(), strconv.FormatFloat(h.GetScore(), 'f', 2, 64))
		var meta []string
		if e.GetCategory() != "" {
			meta = append(meta, e.GetCategory()+" "+e.GetCategoryPath())
		}
		if e.GetUnit() != "" {
			meta = append(meta, e.GetUnit())
		}
		meta = append(meta, "valid "+validity(e))
		fmt.Fprintf(w, "   %s\n   %s\n", strings.Join(meta, " · "), marked(h.GetSnippet(), h.GetHighlights()))
	}
	return nil
}
