package registry_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/registry"
)

const rulesProvince = `
name: 测试省
units:
  - {id: p, name: 测试省人民政府, kind: province, region: "440000"}
  - {id: samr, name: 省市场监管局, kind: department, parent: p, region: "440000"}
  - {id: mpa, name: 省药监局, kind: department, parent: samr, region: "440000"}
  - {id: city, name: 甲市, kind: city, parent: p, region: "440100"}
  - {id: city-samr, name: 甲市市场监管局, kind: department, parent: city, region: "440100"}
  - {id: city-housing, name: 甲市住建局, kind: department, parent: city, region: "440100"}
  - {id: district, name: 甲区, kind: district, parent: city, region: "440106"}
  - {id: district-samr, name: 甲区市场监管所, kind: department, parent: district, region: "440106"}
  - {id: street, name: 甲街道, kind: street, parent: district}
  - {id: hrss, name: 省人社厅, kind: department, parent: p, region: "440000"}
rules:
  - {category: "1104", unit: samr, note: 市场监管兜底}
  - {category: "1104", region: "440100", unit: city-samr}
  - {category: "1104", region: "440106", unit: district-samr}
  - {category: "110405", region: "44", unit: samr, note: 广告监管一律省局}
  - {category: "1204", unit: samr}
  - {category: "120402", unit: mpa, note: 药品和医疗器械}
  - {category: "0110", region: "4401", unit: city-housing}
  - {category: "15", unit: hrss}
`

func TestRoute(t *testing.T) {
	t.Parallel()
	s := load(t, rulesProvince)
	for _, tc := range []struct {
		name, category, region, want string
	}{
		{"市场监管 in 甲区: the district's rule", "110403", "440106", "district-samr"},
		{"市场监管 in 甲市 elsewhere: the city's rule", "110403", "440104", "city-samr"},
		{"市场监管 at the city code itself", "1104", "440100", "city-samr"},
		{"市场监管 in 深圳: the province-wide rule", "110408", "440305", "samr"},
		{"市场监管 without a region", "110408", "", "samr"},
		{"广告监管: a longer category beats a longer region", "110405", "440106", "samr"},
		{"药品: the 3-level rule", "120402", "440106", "mpa"},
		{"食品安全: falls back to the 2-level rule", "120401", "440106", "samr"},
		{"住房公积金 in 甲市 (region 4401)", "011001", "440106", "city-housing"},
		{"劳动关系: a 1-level rule", "150601", "440305", "hrss"},
		{"住房 outside 甲市: no rule", "011001", "440305", ""},
		{"a category no rule names", "0101", "440106", ""},
		{"no category", "", "440106", ""},
		{"a category shorter than every rule", "1", "440106", ""},
		{"a region shorter than the rule's", "110403", "44", "samr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := s.Route(tc.category, tc.region)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("Route(%q, %q) = %q, %v; want %q", tc.category, tc.region, got, ok, tc.want)
			}
		})
	}
	if rs := s.Rules(); len(rs) != 8 || rs[0].Note != "市场监管兜底" {
		t.Errorf("Rules() = %+v", rs)
	}
	if _, ok := load(t, reuseProvince).Route("1104", "440106"); ok {
		t.Error("a registry without rules routed")
	}
}

func TestRouteDoesNotAllocate(t *testing.T) {
	s := exampleSnapshot(t)
	if n := testing.AllocsPerRun(100, func() { s.Route("110403", "440106") }); n != 0 {
		t.Fatalf("Route allocates %v times per call", n)
	}
}

func TestExampleProvinceRules(t *testing.T) {
	t.Parallel()
	s := exampleSnapshot(t)
	for _, tc := range []struct{ category, region, want string }{
		{"110403", "440106", "gz-samr"},    // 商品质量, 天河区
		{"110403", "440305", "sz-samr"},    // 商品质量, 南山区
		{"110403", "440604", "fs-samr"},    // 商品质量, 禅城区
		{"110403", "445100", "gd-samr"},    // 商品质量, 潮州: no city rule
		{"120402", "440106", "gd-mpa"},     // 药品和医疗器械
		{"120401", "440104", "gz-samr"},    // 食品安全, 越秀区
		{"011003", "440105", "gz-housing"}, // 物业服务, 海珠区
		{"011001", "440105", "gz-hpf"},     // 住房公积金
		{"150601", "440305", "sz-hrss"},    // 劳动合同纠纷, 深圳
		{"150601", "440604", "gd-hrss"},    // 劳动合同纠纷, 佛山: the province
		{"010216", "440111", "gz-water"},   // 自来水供应, 白云区
	} {
		if got, _ := s.Route(tc.category, tc.region); got != tc.want {
			t.Errorf("Route(%s, %s) = %q, want %q", tc.category, tc.region, got, tc.want)
		}
	}
	// Every rule's unit has a backend or is a unit a person handles in the
	// portal; at least the market rules reach a category-specific backend.
	if b, ok := s.BackendFor("gz-samr", "110408"); !ok || b.ID != "gz-samr-market" {
		t.Errorf("BackendFor(gz-samr, 110408) = %v", b.ID)
	}
}

func TestRuleErrors(t *testing.T) {
	t.Parallel()
	head := rulesProvince[:strings.Index(rulesProvince, "rules:")]
	for _, tc := range []struct {
		name, rules string
		want        []string
	}{
		{"unknown unit", `  - {category: "1104", unit: gz-nowhere}`, []string{"rules[0].unit", "gz-nowhere"}},
		{"missing unit", `  - {category: "1104"}`, []string{"rules[0].unit", "required"}},
		{"odd category", `  - {category: "110", unit: samr}`, []string{"rules[0].category", `"110"`}},
		{"category with letters", `  - {category: "11A4", unit: samr}`, []string{"rules[0].category"}},
		{"empty category", `  - {category: "", unit: samr}`, []string{"rules[0].category"}},
		{"category too long", `  - {category: "11040511223344", unit: samr}`, []string{"rules[0].category"}},
		{"region with letters", `  - {category: "1104", region: "44O1", unit: samr}`, []string{"rules[0].region", "44O1"}},
		{"region too short", `  - {category: "1104", region: "4", unit: samr}`, []string{"rules[0].region"}},
		{"tie: same category and region", "  - {category: \"1104\", region: \"4401\", unit: samr}\n  - {category: \"1104\", region: \"4401\", unit: city-samr}",
			[]string{"rules[1].region", "rules[0]"}},
		{"tie: a city code and its prefix", "  - {category: \"1104\", region: \"440100\", unit: samr}\n  - {category: \"1104\", region: \"4401\", unit: city-samr}",
			[]string{"rules[1].region", "rules[0]"}},
		{"tie: two province-wide rules", "  - {category: \"15\", unit: hrss}\n  - {category: \"15\", unit: samr}",
			[]string{"rules[1].region", "(any)"}},
		{"unknown key", `  - {category: "1104", unit: samr, regoin: "4401"}`, []string{"regoin", "line "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := registry.LoadProvince(strings.NewReader(head + "rules:\n" + tc.rules + "\n"))
			if err == nil {
				t.Fatal("loaded")
			}
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("kind %v, want invalid", errs.KindOf(err))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func exampleSnapshot(t testing.TB) *registry.Snapshot {
	t.Helper()
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	return registry.NewSnapshot(p, 1)
}

// BenchmarkRoute is the cost of choosing a unit by category and region: a
// 3-level category in a district, matched by a 2-level city rule.
func BenchmarkRoute(b *testing.B) {
	s := exampleSnapshot(b)
	b.ReportAllocs()
	for b.Loop() {
		if u, ok := s.Route("110403", "440106"); !ok || u != "gz-samr" {
			b.Fatal(u)
		}
	}
}
