package taxonomy_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/taxonomy"
)

// FuzzParse feeds the parser untrusted input (an administrator's upload) in
// every format: it must never panic, and a tree it accepts must hold the
// invariants and survive a round trip through CSV.
func FuzzParse(f *testing.F) {
	f.Add(examples.Categories[:2000], "")
	f.Add([]byte("code,level,name,parent\n01,1,城乡建设,\n0101,2,安全生产,01\n"), "csv")
	f.Add([]byte("一级分类,二级分类,三级分类\n城乡建设,安全生产,事故处理\n城乡建设,安全生产,安全隐患\n环境保护,,\n"), "")
	f.Add([]byte("tree:\n  - code: \"01\"\n    name: 城乡建设\n    children:\n      - name: 安全生产\n"), "yaml")
	f.Add([]byte("[{\"code\":\"01\",\"name\":\"城乡建设\",\"children\":[{\"name\":\"x\"}]}]"), "")
	f.Add([]byte("- &a {code: a, name: b}\n- *a\n"), "yaml")
	f.Fuzz(func(t *testing.T, data []byte, format string) {
		tree, err := taxonomy.Parse(data, format)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		all := tree.All()
		if len(all) == 0 || len(all) != tree.Len() {
			t.Fatalf("accepted a tree of %d categories (Len %d)", len(all), tree.Len())
		}
		seen := map[string]taxonomy.Category{}
		for _, c := range all {
			if c.Name == "" || c.Code == "" {
				t.Fatalf("accepted an empty code or name: %+v", c)
			}
			if c.Parent == "" {
				if c.Level != 1 {
					t.Fatalf("root at level %d", c.Level)
				}
			} else {
				p, ok := seen[c.Parent]
				if !ok || p.Level+1 != c.Level || !strings.HasPrefix(c.Code, c.Parent) {
					t.Fatalf("bad parent of %+v: %+v, %v", c, p, ok)
				}
			}
			if _, dup := seen[c.Code]; dup {
				t.Fatalf("duplicate code %s", c.Code)
			}
			seen[c.Code] = c
		}
		var b bytes.Buffer
		if err := tree.WriteCSV(&b); err != nil {
			t.Fatal(err)
		}
		back, err := taxonomy.Parse(b.Bytes(), taxonomy.FormatCSV)
		if err != nil {
			t.Fatalf("its own CSV does not parse: %v\n%s", err, b.Bytes())
		}
		if !slices.Equal(back.All(), all) {
			t.Fatal("round trip changed the tree")
		}
		tree.Search(string(data[:min(len(data), 20)]), 5)
	})
}
