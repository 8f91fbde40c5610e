package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/grpc"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
)

const categoryUsage = `Usage: switchboard category <action> [flags]

  list [CODE]        the first level, or the children of CODE; --all for the whole tree
  show CODE          a category with its path from the first level
  search TEXT        categories by code or name, best first (--limit 20)
  import FILE        import a tree as a new version (- for standard input): CSV code,level,name,parent,
                     CSV 一级分类,二级分类,三级分类 (codes assigned LL, LLMM, LLMMNN) or YAML (code,
                     name, children); --source S (default the file name), --note N, --format csv|yaml,
                     --dry-run (check and count only); a bad file is refused with its line numbers
  versions           the imported versions, newest first

Reading actions take --version N (default the current one) and --json. Every action takes
--server ADDR (default $SWITCHBOARD_SERVER or 127.0.0.1:9090), --token TOKEN (default
$SWITCHBOARD_TOKEN) and --timeout DURATION. Importing needs the admin_registry permission.
`

func categoryCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	action, fs, ok, err := clientAction("category", categoryUsage, args, stderr, &cf)
	if !ok {
		return err
	}
	var (
		version              int64
		limit                int
		asJSON, all, dryRun  bool
		source, note, format string
		minPos, maxPos       int
		what                 string
	)
	jsonFlag := func() { fs.BoolVar(&asJSON, "json", false, "print JSON") }
	versionFlag := func() { fs.Int64Var(&version, "version", 0, "taxonomy version (default: the current one)") }
	var call func(ctx context.Context, c pb.TaxonomyServiceClient, pos []string) error
	switch action {
	case "list":
		maxPos, what = 1, "category code at most"
		fs.BoolVar(&all, "all", false, "the whole tree, parents before children")
		jsonFlag()
		versionFlag()
		call = func(ctx context.Context, c pb.TaxonomyServiceClient, pos []string) error {
			req := &pb.ListCategoriesRequest{Version: version, All: all}
			if len(pos) > 0 {
				req.Parent = pos[0]
			}
			resp, err := c.ListCategories(ctx, req)
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, resp)
			}
			if resp.GetVersion() == 0 {
				_, err := fmt.Fprintln(stdout, "no taxonomy has been imported yet; import one with: switchboard category import FILE")
				return err
			}
			fmt.Fprintf(stdout, "# taxonomy version %d, %d categories\n", resp.GetVersion(), len(resp.GetCategories()))
			t := table{header: []string{"CODE", "NAME", "CHILDREN"}}
			for _, cat := range resp.GetCategories() {
				indent := ""
				if all {
					indent = strings.Repeat("  ", int(cat.GetLevel())-1)
				}
				t.add(indent+cat.GetCode(), cat.GetName(), strconv.Itoa(int(cat.GetChildCount())))
			}
			t.write(stdout)
			return nil
		}
	case "show":
		minPos, maxPos, what = 1, 1, "category code"
		jsonFlag()
		versionFlag()
		call = func(ctx context.Context, c pb.TaxonomyServiceClient, pos []string) error {
			cat, err := c.GetCategory(ctx, &pb.GetCategoryRequest{Code: pos[0], Version: version})
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, cat)
			}
			fmt.Fprintf(stdout, "%s %s (level %d, %d children; taxonomy version %d)\n", cat.GetCode(), cat.GetName(), cat.GetLevel(), cat.GetChildCount(), cat.GetVersion())
			fmt.Fprintf(stdout, "path: %s\n", categoryPath(cat.GetPath()))
			return nil
		}
	case "search":
		minPos, maxPos, what = 1, -1, "text to search for"
		fs.IntVar(&limit, "limit", 20, "at most this many results")
		jsonFlag()
		versionFlag()
		call = func(ctx context.Context, c pb.TaxonomyServiceClient, pos []string) error {
			resp, err := c.SearchCategories(ctx, &pb.SearchCategoriesRequest{Query: strings.Join(pos, " "), Version: version, Limit: int32(limit)})
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, resp)
			}
			if len(resp.GetMatches()) == 0 {
				_, err := fmt.Fprintln(stdout, "no category matches")
				return err
			}
			t := table{header: []string{"CODE", "NAME", "SCORE", "BY", "PATH"}}
			for _, m := range resp.GetMatches() {
				cat := m.GetCategory()
				t.add(cat.GetCode(), cat.GetName(), strconv.FormatFloat(m.GetScore(), 'f', 1, 64), m.GetMatchedBy(), categoryPath(cat.GetPath()))
			}
			t.write(stdout)
			return nil
		}
	case "import":
		minPos, maxPos, what = 1, 1, "file to import (- for standard input)"
		fs.StringVar(&source, "source", "", "what is imported, kept with the version (default: the file name)")
		fs.StringVar(&note, "note", "", "a note kept with the version")
		fs.StringVar(&format, "format", "", "csv or yaml (default: detected)")
		fs.BoolVar(&dryRun, "dry-run", false, "check the file and count its categories; import nothing")
		call = func(ctx context.Context, c pb.TaxonomyServiceClient, pos []string) error {
			b, err := readInput(pos[0])
			if err != nil {
				return err
			}
			if source == "" && pos[0] != "-" {
				source = filepath.Base(pos[0])
			}
			v, err := c.ImportTaxonomy(ctx, &pb.ImportTaxonomyRequest{Content: string(b), Format: format, Source: source, Note: note, ValidateOnly: dryRun})
			if err != nil {
				return fmt.Errorf("%s: %w", pos[0], describe(err))
			}
			if dryRun {
				_, err = fmt.Fprintf(stdout, "%s is a valid tree: %d categories, per level %v (not imported)\n", pos[0], v.GetCategories(), v.GetPerLevel())
				return err
			}
			_, err = fmt.Fprintf(stdout, "imported %s as taxonomy version %d: %d categories, per level %v\n", pos[0], v.GetVersion(), v.GetCategories(), v.GetPerLevel())
			return err
		}
	case "versions":
		jsonFlag()
		call = func(ctx context.Context, c pb.TaxonomyServiceClient, _ []string) error {
			resp, err := c.ListTaxonomyVersions(ctx, &pb.ListTaxonomyVersionsRequest{})
			if err != nil {
				return describe(err)
			}
			if asJSON {
				return printJSON(stdout, resp)
			}
			t := table{header: []string{"VERSION", "IMPORTED", "BY", "CATEGORIES", "PER LEVEL", "SOURCE", "NOTE"}}
			for _, v := range resp.GetVersions() {
				ver := strconv.FormatInt(v.GetVersion(), 10)
				if v.GetCurrent() {
					ver += " *"
				}
				t.add(ver, v.GetCreateTime().AsTime().In(cst).Format("2006-01-02 15:04"), v.GetCreatedBy(), strconv.Itoa(int(v.GetCategories())),
					fmt.Sprint(v.GetPerLevel()), dash(v.GetSource()), dash(v.GetNote()))
			}
			t.write(stdout)
			return nil
		}
	default:
		fmt.Fprint(stderr, categoryUsage)
		return usageError{fmt.Sprintf("category: unknown action %q", action)}
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) < minPos || maxPos >= 0 && len(pos) > maxPos {
		if maxPos == 0 {
			return usageError{fmt.Sprintf("category %s takes flags only", action)}
		}
		return usageError{fmt.Sprintf("category %s: give the %s", action, what)}
	}
	return withConn(ctx, &cf, func(ctx context.Context, conn *grpc.ClientConn) error {
		return call(ctx, pb.NewTaxonomyServiceClient(conn), pos)
	})
}

// categoryPath writes a path as 01 城乡建设 / 0102 城市建设和市政管理 / ….
func categoryPath(path []*pb.CategoryRef) string {
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = p.GetCode() + " " + p.GetName()
	}
	return strings.Join(parts, " / ")
}

// readInput reads file, or standard input for "-".
func readInput(file string) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(file)
}
