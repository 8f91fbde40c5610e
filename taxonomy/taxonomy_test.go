package taxonomy_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/taxonomy"
)

func example(t *testing.T) *taxonomy.Tree {
	t.Helper()
	tree, err := taxonomy.Parse(examples.Categories, taxonomy.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func TestExampleTree(t *testing.T) {
	t.Parallel()
	tree := example(t)
	if got := tree.CountByLevel(); !slices.Equal(got, []int{15, 118, 517}) {
		t.Errorf("CountByLevel = %v, want [15 118 517]", got)
	}
	c, ok := tree.Get("010213")
	if !ok || c.Name != "燃气供应" || c.Level != 3 || c.Parent != "0102" {
		t.Errorf("Get(010213) = %+v, %v", c, ok)
	}
	if got := tree.PathName("010213", "/"); got != "城乡建设/城市建设和市政管理/燃气供应" {
		t.Errorf("PathName = %q", got)
	}
	if roots := tree.Children(""); len(roots) != 15 || roots[0].Name != "城乡建设" || roots[14].Name != "劳动和社会保障" {
		t.Errorf("roots = %v", roots)
	}
	if kids := tree.Children("0102"); len(kids) != 16 || kids[12].Code != "010213" {
		t.Errorf("children of 0102 = %v", kids)
	}
	if tree.Children("010213") != nil && len(tree.Children("010213")) != 0 {
		t.Error("a leaf has children")
	}
	if p := tree.Path("nope"); p != nil {
		t.Errorf("Path of an unknown code = %v", p)
	}
	// Parents come before children, whatever the input order.
	seen := map[string]bool{}
	for _, c := range tree.All() {
		if c.Parent != "" && !seen[c.Parent] {
			t.Fatalf("%s listed before its parent", c.Code)
		}
		seen[c.Code] = true
	}
}

// TestWriteCSVRoundTrip: what WriteCSV writes, ParseCSV reads back as the
// same tree.
func TestWriteCSVRoundTrip(t *testing.T) {
	t.Parallel()
	tree := example(t)
	var b bytes.Buffer
	if err := tree.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	back, err := taxonomy.ParseCSV(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.All(), tree.All()) {
		t.Error("the tree changed on its way through CSV")
	}
}

// namesCSV writes tree in the 一级分类,二级分类,三级分类 shape.
func namesCSV(t *testing.T, tree *taxonomy.Tree) []byte {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"一级分类", "二级分类", "三级分类"})
	for _, c := range tree.All() {
		if c.Level == 3 {
			p := tree.Path(c.Code)
			w.Write([]string{p[0].Name, p[1].Name, p[2].Name})
		}
	}
	w.Flush()
	return b.Bytes()
}

// TestNamesShapeAssignsTheSameCodes: the 3-column shape gets codes in the
// order the names appear, which is how the example's codes were made.
func TestNamesShapeAssignsTheSameCodes(t *testing.T) {
	t.Parallel()
	tree := example(t)
	named, err := taxonomy.Parse(namesCSV(t, tree), taxonomy.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(named.All(), tree.All()) {
		t.Error("codes assigned from the names differ from the example's")
	}
}

// TestSharedAttachment1: the organisers' own 附件1 file, when ../shared is
// there, gives exactly the example tree.
func TestSharedAttachment1(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "shared", "datasets", "teddy2020c", "attachment1_taxonomy.csv")
	data, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true makes the shared data mandatory: %v", err)
		}
		t.Skipf("skipping: %v (the shared data sets are not here)", err)
	}
	tree, err := taxonomy.Parse(data, taxonomy.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tree.All(), example(t).All()) {
		t.Error("附件1 does not give the example tree")
	}
}

func TestYAML(t *testing.T) {
	t.Parallel()
	in := `# 示例
source: test
note: 编码非官方
tree:
  - code: "01"
    name: 城乡建设
    children:
      - code: "0101"
        name: 安全生产
        children:
          - {code: "010101", name: 事故处理}
          - {code: "010102", name: 安全生产管理, level: 3}
  - name: 环境保护
    children:
      - name: 噪音污染
      - name: 大气污染
        children: []
`
	tree, err := taxonomy.Parse([]byte(in), taxonomy.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range tree.All() {
		got = append(got, fmt.Sprintf("%s %d %s <%s>", c.Code, c.Level, c.Name, c.Parent))
	}
	want := []string{"01 1 城乡建设 <>", "0101 2 安全生产 <01>", "010101 3 事故处理 <0101>", "010102 3 安全生产管理 <0101>",
		"02 1 环境保护 <>", "0201 2 噪音污染 <02>", "0202 2 大气污染 <02>"}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSharedJSON: the shared JSON form of the tree is YAML too.
func TestSharedJSON(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "shared", "domain", "categories-petition-3level.json"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true makes the shared data mandatory: %v", err)
		}
		t.Skipf("skipping: %v (the shared domain data is not here)", err)
	}
	tree, err := taxonomy.Parse(data, taxonomy.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tree.All(), example(t).All()) {
		t.Error("the JSON tree differs from the CSV one")
	}
}

// TestBadInputs: every refusal names the line and what is wrong.
func TestBadInputs(t *testing.T) {
	t.Parallel()
	const head = "code,level,name,parent\n"
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty input"},
		{"unknown header", "编号,名称\n01,城乡建设\n", "line 1: unknown header"},
		{"duplicate code", head + "01,1,城乡建设,\n01,1,环境保护,\n", "line 3: code 01 is used by line 2 too"},
		{"missing parent", head + "01,1,城乡建设,\n0201,2,噪音污染,02\n", "line 3: parent 02 of 0201 does not exist"},
		{"empty name", head + "01,1,城乡建设,\n0101,2,,01\n", "line 3: name is empty"},
		{"level mismatch", head + "01,1,城乡建设,\n0101,3,安全生产,01\n", "line 3: 0101 is under 01 (level 1), so its level is 2, not 3"},
		{"root level", head + "01,2,城乡建设,\n", "line 2: 01 has no parent, so its level is 1, not 2"},
		{"bad level", head + "01,一,城乡建设,\n", `line 2: level "一" is not a number`},
		{"code not extending parent", head + "01,1,城乡建设,\n0201,2,安全生产,01\n", "line 3: code 0201 does not extend its parent's code 01"},
		{"bad code", head + "0 1,1,城乡建设,\n", `line 2: code "0 1" must be`},
		{"sibling names", head + "01,1,城乡建设,\n0101,2,其他,01\n0102,2,其他,01\n", "line 4: name 其他 is used by its sibling 0101 on line 3 too"},
		{"too deep", head + "1,,a,\n12,,b,1\n123,,c,12\n1234,,d,123\n12345,,e,1234\n123456,,f,12345\n", "line 7: 123456 is at level 6; at most 5 levels"},
		{"csv quote", head + "01,1,\"城乡建设,\n", "line 2:"},
		{"short line", head + "01\n", "line 2: 1 columns, want 4"},
		{"names gap", "一级分类,二级分类,三级分类\n城乡建设,,事故处理\n", "line 2: 三级分类 is given but 二级分类 is empty"},
		{"names repeat", "一级分类,二级分类,三级分类\n城乡建设,安全生产,事故处理\n城乡建设,安全生产,事故处理\n", "line 3: repeats line 2 (城乡建设 / 安全生产 / 事故处理)"},
		{"yaml unknown field", "tree:\n  - code: \"01\"\n    nme: 城乡建设\n", `line 3: unknown field "nme"`},
		{"yaml not a list", "tree: 城乡建设\n", "line 1: want a list of categories"},
		{"yaml alias", "tree:\n  - &a {code: \"01\", name: 城乡建设}\n  - *a\n", "line 3: aliases are not allowed"},
		{"yaml syntax", "tree:\n  - code: [\n", "line"},
		{"yaml level", "- code: \"01\"\n  name: 城乡建设\n  children:\n    - {code: \"0101\", name: 安全生产, level: 3}\n", "line 4: 0101 is nested at level 2 but says level 3"},
		{"invalid utf-8", head + "01,1,\xff,\n", "line 2: not valid UTF-8"},
		{"control char", head + "01,1,城乡\x01建设,\n", "line 2: name holds a control character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := taxonomy.Parse([]byte(tc.in), taxonomy.FormatAuto)
			if err == nil {
				t.Fatalf("accepted %q", tc.in)
			}
			var es taxonomy.Errors
			if !errors.As(err, &es) {
				t.Errorf("error %T is not taxonomy.Errors", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// TestTooManyChildren: the 一级分类 shape gives two digits per level.
func TestTooManyChildren(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("一级分类,二级分类\n")
	for i := range 100 {
		fmt.Fprintf(&b, "城乡建设,子类%d\n", i)
	}
	_, err := taxonomy.Parse([]byte(b.String()), taxonomy.FormatCSV)
	if err == nil || !strings.Contains(err.Error(), "line 101: category 01 has more than 99 children") {
		t.Errorf("got %v", err)
	}
}

// jiangsuShaped generates a tree shaped like the Jiangsu 12345 standard
// (13 first-level, 132 second-level and 1,095 third-level categories) with
// Chinese names, in the 一级分类 CSV shape.
func jiangsuShaped() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"一级分类", "二级分类", "三级分类"})
	l1 := []string{"城乡建设", "交通运输", "市场监管", "环境保护", "劳动保障", "教育文体", "卫生健康", "公共安全", "民政服务", "农业农村", "自然资源", "商贸旅游", "综合事务"}
	second, third := 0, 0
	for i, a := range l1 {
		n2 := 132 / 13
		if i < 132%13 {
			n2++
		}
		for j := range n2 {
			n3 := 1095 / 132
			if second < 1095%132 {
				n3++
			}
			second++
			for k := range n3 {
				third++
				w.Write([]string{a, fmt.Sprintf("%s事项%d", a, j+1), fmt.Sprintf("%s第%d类第%d项", a, j+1, k+1)})
			}
		}
	}
	w.Flush()
	return b.Bytes()
}

func TestJiangsuShapedTree(t *testing.T) {
	t.Parallel()
	tree, err := taxonomy.Parse(jiangsuShaped(), taxonomy.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if got := tree.CountByLevel(); !slices.Equal(got, []int{13, 132, 1095}) {
		t.Fatalf("CountByLevel = %v, want [13 132 1095]", got)
	}
	c, ok := tree.Get("130101")
	if !ok || c.Name != "综合事务第1类第1项" || tree.PathName(c.Code, "/") != "综合事务/综合事务事项1/综合事务第1类第1项" {
		t.Errorf("Get(130101) = %+v", c)
	}
	m := tree.Search("市场监管事项3", 5)
	if len(m) == 0 || m[0].Category.Code != "0303" || m[0].Score != 80 {
		t.Errorf("Search = %+v", m)
	}
	// And back through the coded shape.
	var b bytes.Buffer
	tree.WriteCSV(&b)
	back, err := taxonomy.Parse(b.Bytes(), taxonomy.FormatAuto)
	if err != nil || back.Len() != 13+132+1095 {
		t.Fatalf("round trip: %v", err)
	}
}

func TestNewDerivesLevels(t *testing.T) {
	t.Parallel()
	tree, err := taxonomy.New([]taxonomy.Category{
		{Code: "0101", Name: "安全生产", Parent: "01"}, // child first: order does not matter
		{Code: "01", Name: "城乡建设"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := tree.Get("0101"); c.Level != 2 {
		t.Errorf("level %d", c.Level)
	}
	if all := tree.All(); all[0].Code != "01" {
		t.Errorf("order %v", all)
	}
	_, err = taxonomy.New([]taxonomy.Category{{Code: "01", Name: "城乡建设"}, {Code: "0101", Name: "", Parent: "01"}})
	if err == nil || !strings.Contains(err.Error(), `category "0101": name is empty`) {
		t.Errorf("got %v", err)
	}
}

func TestDetectFormat(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"code,level,name,parent\n":    taxonomy.FormatCSV,
		"# c\n\n一级分类,二级分类,三级分类\n":     taxonomy.FormatCSV,
		"tree:\n  - code: x\n":        taxonomy.FormatYAML,
		"- code: \"01\"\n":            taxonomy.FormatYAML,
		"{\"tree\": []}":              taxonomy.FormatYAML,
		"\ufeffcode,name,parent\n":    taxonomy.FormatCSV,
		"code,name: x\n":              taxonomy.FormatCSV,
		"---\n- {code: a, name: b}\n": taxonomy.FormatYAML,
	} {
		if got := taxonomy.DetectFormat([]byte(in)); got != want {
			t.Errorf("DetectFormat(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSearch(t *testing.T) {
	t.Parallel()
	tree := example(t)
	tests := []struct {
		query     string
		wantFirst string
		by        string
	}{
		{"010213", "010213", "code"},      // the exact code
		{"0102", "0102", "code"},          // a code prefix: the category first, then its children
		{"燃气供应", "010213", "name"},        // the exact name
		{"燃气", "010213", "name"},          // a name prefix
		{"公积金", "011001", "name"},         // inside a name (住房公积金)
		{"小区燃气供应不足怎么办", "010213", "name"}, // a sentence naming a category
		{"城管 执法", "010202", "name"},       // every word must match
		{"ＰＭ２．５", "", ""},                 // full width folds, matches nothing
		{"噪声污染", "040203", "similar"},     // 噪音污染 shares 污染 and the pattern
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			got := tree.Search(tc.query, 5)
			if tc.wantFirst == "" {
				if len(got) != 0 {
					t.Errorf("Search(%q) = %v, want nothing", tc.query, got)
				}
				return
			}
			if len(got) == 0 || got[0].Category.Code != tc.wantFirst || got[0].By != tc.by {
				t.Errorf("Search(%q) = %+v, want %s by %s first", tc.query, got, tc.wantFirst, tc.by)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Score > got[i-1].Score {
					t.Errorf("not ordered by score: %+v", got)
				}
			}
		})
	}
	if n := len(tree.Search("其他", 1000)); n < 50 {
		t.Errorf("其他 matches %d categories; it is the name of many", n)
	}
	if got := tree.Search("住房公积金", 10); len(got) < 2 || got[0].Score != 80 || got[1].Score != 80 {
		t.Errorf("住房公积金 is the name of two categories (011001, 150305): %+v", got)
	}
}
