package registry_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/registry"
)

// ministryLines is shared/domain/legacy-hotlines.csv without its unidentified
// "?" row: each number and the mode its merger_mode column maps to.
var ministryLines = map[string]registry.Mode{
	// 整体并入
	"12396": registry.FullMerge, "12330": registry.FullMerge, "12300": registry.FullMerge,
	"12336": registry.FullMerge, "12301": registry.FullMerge, "12358": registry.FullMerge,
	"12312": registry.FullMerge, "12349": registry.FullMerge, "12356": registry.FullMerge,
	"12331": registry.FullMerge, "12365": registry.FullMerge, "12322": registry.FullMerge,
	"96119": registry.FullMerge,
	// 双号并行
	"12315": registry.DualNumbers, "12333": registry.DualNumbers, "12369": registry.DualNumbers,
	"12320": registry.DualNumbers, "12348": registry.DualNumbers, "12350": registry.DualNumbers,
	"12316": registry.DualNumbers, "12317": registry.DualNumbers, "12319": registry.DualNumbers,
	"12329": registry.DualNumbers, "12328": registry.DualNumbers, "12393": registry.DualNumbers,
	"12385": registry.DualNumbers,
	// 设分中心
	"12366": registry.SubCentre, "12360": registry.SubCentre, "12367": registry.SubCentre,
	"12313": registry.SubCentre, "12305": registry.SubCentre,
	// 紧急热线联动
	"110": registry.EmergencyLinkage, "119": registry.EmergencyLinkage,
	"120": registry.EmergencyLinkage, "122": registry.EmergencyLinkage,
	// 其他/未确认
	"12318": registry.Independent, "12314": registry.Independent, "12338": registry.Independent,
	"12355": registry.Independent, "12351": registry.Independent,
}

// ministryConfidence is the CSV's confidence column where it is not medium.
var ministryConfidence = map[string]string{
	"12336": "high", "12312": "high", "12349": "high", "96119": "high",
	"12315": "high", "12333": "high", "12328": "high", "12385": "low", "12366": "high",
	"110": "high", "119": "high", "120": "high", "122": "high",
	// 其他/未确认: the CSV says low for the row; the mode itself is unknown.
	"12318": "unknown", "12314": "unknown", "12338": "unknown", "12355": "unknown", "12351": "unknown",
}

func loadExampleProvince(t *testing.T) *registry.ProvinceFile {
	t.Helper()
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatalf("example province does not load: %v", err)
	}
	return p
}

// on returns noon of the given day in China.
func on(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 12, 0, 0, 0, time.FixedZone("CST", 8*3600))
}

func TestExampleProvinceUnits(t *testing.T) {
	t.Parallel()
	p := loadExampleProvince(t)
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	byID := map[string]registry.Unit{}
	for _, u := range p.Units {
		byID[u.ID] = u
	}
	// Ids the demo tickets, other tests and the CLI walk rely on.
	for _, id := range []string{"gd", "gd-12345", "gd-samr", "gd-12315-experts", "gd-hrss", "gd-12333-experts",
		"gz", "gz-samr", "gz-water", "gz-gas", "gz-power", "gz-tianhe", "gz-tianhe-tiyuxi", "gz-yuexiu",
		"gz-yuexiu-beijing", "gz-haizhu-binjiang", "sz", "sz-nanshan-yuehai", "fs", "fs-chancheng",
		"fs-chancheng-zumiao", "fs-nanhai"} {
		if _, ok := byID[id]; !ok {
			t.Errorf("unit %s is missing", id)
		}
	}
	depth := func(u registry.Unit) (n int, kinds []registry.UnitKind) {
		for {
			n++
			kinds = append([]registry.UnitKind{u.Kind}, kinds...)
			if u.Parent == "" {
				return n, kinds
			}
			u = byID[u.Parent]
		}
	}
	cities, communities := 0, 0
	want := []registry.UnitKind{registry.Province, registry.City, registry.District, registry.Street, registry.Community}
	for _, u := range p.Units {
		switch u.Kind {
		case registry.City:
			cities++
		case registry.Community:
			communities++
			if _, kinds := depth(u); !slices.Equal(kinds, want) {
				t.Errorf("community %s sits under %v, want %v", u.ID, kinds, want)
			}
		}
		if u.RegionCode != "" && (len(u.RegionCode) != 6 || !strings.HasPrefix(u.RegionCode, "44")) {
			t.Errorf("unit %s: region %q is not a 广东 GB/T 2260 code", u.ID, u.RegionCode)
		}
	}
	if cities < 3 || communities < 3 {
		t.Errorf("%d cities and %d communities, want at least 3 of each", cities, communities)
	}
}

func TestExampleProvinceHotlines(t *testing.T) {
	t.Parallel()
	p := loadExampleProvince(t)
	units := map[string]registry.Unit{}
	for _, u := range p.Units {
		units[u.ID] = u
	}
	numbers := map[string][]registry.Hotline{}
	modes := map[registry.Mode]int{}
	for _, h := range p.Hotlines {
		numbers[h.Number] = append(numbers[h.Number], h)
		modes[h.Mode]++
	}
	if len(numbers) < 60 {
		t.Errorf("%d distinct numbers, want at least 60", len(numbers))
	}
	for _, m := range []registry.Mode{registry.FullMerge, registry.DualNumbers, registry.SubCentre, registry.EmergencyLinkage, registry.Independent} {
		if modes[m] == 0 {
			t.Errorf("no hotline of mode %s", m)
		}
	}

	// The ministry lines carry the CSV's mode and confidence.
	perMode := map[registry.Mode]int{}
	for number, mode := range ministryLines {
		uses := numbers[number]
		i := slices.IndexFunc(uses, func(h registry.Hotline) bool { return h.Mode == mode })
		if i < 0 {
			t.Errorf("%s: no record of mode %s (have %d records)", number, mode, len(uses))
			continue
		}
		perMode[mode]++
		h := uses[i]
		conf := ministryConfidence[number]
		if conf == "" {
			conf = "medium"
		}
		if h.Confidence != conf {
			t.Errorf("%s: confidence %q, want %q", number, h.Confidence, conf)
		}
		if conf != "high" && h.Note == "" && (conf == "low" || conf == "unknown") {
			t.Errorf("%s: an unsure line needs a note", number)
		}
		if mode == registry.Independent && h.Status != registry.Unmerged {
			t.Errorf("%s: unconfirmed line is %s, want unmerged", number, h.Status)
		}
		if mode == registry.FullMerge && h.Status != registry.Retired && h.Status != registry.Merged {
			t.Errorf("%s: fully merged line is %s", number, h.Status)
		}
	}
	for mode, want := range map[registry.Mode]int{registry.FullMerge: 13, registry.DualNumbers: 13, registry.SubCentre: 5, registry.EmergencyLinkage: 4, registry.Independent: 5} {
		if perMode[mode] != want {
			t.Errorf("ministry lines of mode %s: %d, want %d", mode, perMode[mode], want)
		}
	}

	for _, h := range p.Hotlines {
		switch h.Mode {
		case registry.SubCentre:
			if g, ok := units[h.ExpertGroup]; !ok || g.Kind != registry.ExpertGroup {
				t.Errorf("sub-centre %s: expert group %q is not an expertGroup unit", h.Number, h.ExpertGroup)
			}
		case registry.EmergencyLinkage:
			if h.Status != registry.Linked {
				t.Errorf("emergency line %s is %s", h.Number, h.Status)
			}
		}
		if h.Confidence == "" {
			t.Errorf("%s: no confidence", h.Number)
		}
		if (h.Confidence == "low" || h.Confidence == "unknown") && h.Note == "" {
			t.Errorf("%s: confidence %s without a note", h.Number, h.Confidence)
		}
	}
	for _, n := range []string{"110", "119", "120", "122"} {
		if uses := numbers[n]; len(uses) != 1 || uses[0].Mode != registry.EmergencyLinkage || uses[0].Status != registry.Linked {
			t.Errorf("%s = %+v, want one emergency_linkage record, linked", n, uses)
		}
	}

	// 12356: the family-planning line, then the 心理援助热线, never both at once.
	uses := numbers["12356"]
	if len(uses) != 2 {
		t.Fatalf("12356 has %d records, want 2", len(uses))
	}
	for _, d := range []time.Time{on(2020, 1, 1), on(2022, 6, 1), on(2024, 12, 31), on(2025, 1, 1), on(2025, 6, 1), on(2030, 1, 1)} {
		var valid []string
		for _, h := range uses {
			if h.ValidAt(d) {
				valid = append(valid, h.Name)
			}
		}
		if len(valid) != 1 {
			t.Errorf("12356 on %s: %d records valid %v, want exactly 1", d.Format(time.DateOnly), len(valid), valid)
		}
	}
	for _, tc := range []struct {
		at   time.Time
		name string
		mode registry.Mode
	}{
		{on(2022, 6, 1), "计划生育法律法规咨询及举报热线", registry.FullMerge},
		{on(2025, 6, 1), "心理援助热线", registry.Independent},
	} {
		i := slices.IndexFunc(uses, func(h registry.Hotline) bool { return h.ValidAt(tc.at) })
		if i < 0 || uses[i].Name != tc.name || uses[i].Mode != tc.mode {
			t.Errorf("12356 on %s: got %+v, want %s (%s)", tc.at.Format(time.DateOnly), uses, tc.name, tc.mode)
		}
	}
	s := registry.NewSnapshot(p, 1)
	if h, ok := s.HotlineAt("12356", on(2025, 6, 1)); !ok || h.Status != registry.Unmerged {
		t.Errorf("snapshot: 12356 in 2025 = %+v %v", h, ok)
	}
	if h, ok := s.HotlineAt("12356", on(2022, 6, 1)); !ok || h.Status != registry.Retired {
		t.Errorf("snapshot: 12356 in 2022 = %+v %v", h, ok)
	}
}

func TestExampleProvinceBackends(t *testing.T) {
	t.Parallel()
	p := loadExampleProvince(t)
	s := registry.NewSnapshot(p, 1)
	byUnit := map[string][]registry.Backend{}
	kinds := map[string]int{}
	for _, b := range p.Backends {
		byUnit[b.Unit] = append(byUnit[b.Unit], b)
		kinds[b.Kind]++
		if b.Kind == "manual" && (len(b.Endpoints) > 0 || b.Service != "") {
			t.Errorf("manual backend %s has an address", b.ID)
		}
		for _, e := range b.Endpoints {
			if !strings.Contains(e, "://127.0.0.1:") {
				t.Errorf("backend %s: endpoint %s is not on loopback", b.ID, e)
			}
		}
	}
	for _, k := range registry.BackendKinds {
		if kinds[k] == 0 {
			t.Errorf("no backend of kind %s", k)
		}
	}
	for _, h := range p.Hotlines {
		if h.HandlingUnit == "" {
			continue
		}
		if _, ok := s.BackendFor(h.HandlingUnit, ""); !ok {
			t.Errorf("hotline %s: handling unit %s has no backend for uncategorised work orders", h.Number, h.HandlingUnit)
		}
	}
	// The demo dispatches to these.
	for _, u := range []string{"gz-samr", "gz-water", "gz-tianhe", "gz-yuexiu-beijing", "fs-chancheng-zumiao"} {
		if len(byUnit[u]) == 0 {
			t.Errorf("demo unit %s has no backend", u)
		}
	}
	for _, tc := range []struct{ unit, category, want string }{
		{"gz-samr", "110408", "gz-samr-market"}, // 市场监管 / 预付卡
		{"gz-samr", "1105", "gz-samr-market"},
		{"gz-samr", "0101", "gz-samr-rest"},
		{"gd-samr", "120401", "gd-samr-food"},
		{"gd-samr", "", "gd-samr-rest"},
	} {
		if b, ok := s.BackendFor(tc.unit, tc.category); !ok || b.ID != tc.want {
			t.Errorf("BackendFor(%s, %q) = %s, want %s", tc.unit, tc.category, b.ID, tc.want)
		}
	}
}

// provinceFixture is a small valid province the bad fixtures break one key of.
const provinceFixture = `name: 测试省
units:
  - {id: p, name: 测试省人民政府, kind: province}
  - {id: samr, name: 省市场监管局, kind: department, parent: p}
  - {id: tax, name: 省税务局, kind: department, parent: p}
  - {id: tax-experts, name: 12366专家坐席组, kind: expertGroup, parent: tax}
  - {id: police, name: 省公安厅, kind: department, parent: p}
  - {id: hw, name: 省卫生健康委, kind: department, parent: p}
`

func TestProvinceFixtureIsValid(t *testing.T) {
	t.Parallel()
	good := provinceFixture + `hotlines:
  - {number: "12315", name: 市场监管投诉举报热线, department: samr, mode: dual_numbers, status: dual_running, handlingUnit: samr}
  - {number: "12366", name: 纳税服务热线, department: tax, mode: sub_centre, status: merged, handlingUnit: tax, expertGroup: tax-experts}
  - {number: "110", name: 公安报警电话, department: police, mode: emergency_linkage, status: linked}
  - {number: "12356", name: 计划生育热线, department: hw, mode: full_merge, status: retired, handlingUnit: hw, cutover: 2021-12-31, validTo: 2025-01-01}
  - {number: "12356", name: 心理援助热线, department: hw, mode: independent, status: unmerged, validFrom: 2025-01-01}
backends:
  - {id: samr-rest, unit: samr, kind: rest, endpoints: ["http://127.0.0.1:18081/samr"], timeout: 5s, breaker: {consecutiveFailures: 5, openFor: 30s, halfOpenProbes: 1}}
  - {id: tax-soap, unit: tax, kind: soap, service: tax-ws}
  - {id: hw-manual, unit: hw, kind: manual}
`
	if _, err := registry.LoadProvince(strings.NewReader(good)); err != nil {
		t.Fatalf("the fixture itself is invalid: %v", err)
	}
}

func TestProvinceBadFixtures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		yaml string // appended to provinceFixture
		want []string
	}{
		{"unknown handling unit", `hotlines:
  - {number: "12315", name: 市场监管投诉举报热线, department: samr, mode: dual_numbers, status: dual_running, handlingUnit: gz-nowhere}
`, []string{"hotlines[0].handlingUnit", "gz-nowhere"}},
		{"merged line without handling unit", `hotlines:
  - {number: "12315", name: 市场监管投诉举报热线, department: samr, mode: dual_numbers, status: dual_running}
`, []string{"hotlines[0].handlingUnit"}},
		{"unknown department", `hotlines:
  - {number: "12315", name: 市场监管投诉举报热线, department: nope, mode: dual_numbers, status: dual_running, handlingUnit: samr}
`, []string{"hotlines[0].department", "nope"}},
		{"sub-centre without expert group", `hotlines:
  - {number: "12366", name: 纳税服务热线, department: tax, mode: sub_centre, status: merged, handlingUnit: tax}
`, []string{"hotlines[0].expertGroup", "sub-centre"}},
		{"expert group that is a department", `hotlines:
  - {number: "12366", name: 纳税服务热线, department: tax, mode: sub_centre, status: merged, handlingUnit: tax, expertGroup: samr}
`, []string{"hotlines[0].expertGroup", "samr"}},
		{"emergency line merged", `hotlines:
  - {number: "110", name: 公安报警电话, department: police, mode: emergency_linkage, status: merged}
`, []string{"hotlines[0].status", "linked"}},
		{"non-emergency line linked", `hotlines:
  - {number: "12315", name: 市场监管投诉举报热线, department: samr, mode: dual_numbers, status: linked, handlingUnit: samr}
`, []string{"hotlines[0].status"}},
		{"independent line merged", `hotlines:
  - {number: "12351", name: 职工维权服务热线, department: samr, mode: independent, status: merged}
`, []string{"hotlines[0].status", "independent"}},
		{"unknown mode", `hotlines:
  - {number: "12315", name: 市场监管投诉举报热线, department: samr, mode: merged_somehow, status: merged, handlingUnit: samr}
`, []string{"hotlines[0].mode", "merged_somehow"}},
		{"overlapping reuse of a number", `hotlines:
  - {number: "12356", name: 计划生育热线, department: hw, mode: full_merge, status: retired, handlingUnit: hw, validTo: 2025-06-01}
  - {number: "12356", name: 心理援助热线, department: hw, mode: independent, status: unmerged, validFrom: 2025-01-01}
`, []string{"hotlines[1].validFrom", "12356", "hotlines[0]"}},
		{"number used twice without dates", `hotlines:
  - {number: "12315", name: 市场监管投诉举报热线, department: samr, mode: dual_numbers, status: dual_running, handlingUnit: samr}
  - {number: "12315", name: 消费维权热线, department: samr, mode: dual_numbers, status: merged, handlingUnit: samr}
`, []string{"hotlines[1].validFrom", "12315"}},
		{"validTo before validFrom", `hotlines:
  - {number: "12356", name: 心理援助热线, department: hw, mode: independent, status: unmerged, validFrom: 2025-01-01, validTo: 2024-01-01}
`, []string{"hotlines[0].validTo"}},
		{"number too short", `hotlines:
  - {number: "12", name: 短号, department: samr, mode: independent, status: unmerged}
`, []string{"hotlines[0].number"}},
		{"number with letters", `hotlines:
  - {number: "1231A", name: 坏号, department: samr, mode: independent, status: unmerged}
`, []string{"hotlines[0].number", "1231A"}},
		{"bad confidence", `hotlines:
  - {number: "12351", name: 职工维权服务热线, department: samr, mode: independent, status: unmerged, confidence: sure}
`, []string{"hotlines[0].confidence", "sure"}},
		{"backend with unknown kind", `backends:
  - {id: samr-fax, unit: samr, kind: fax, endpoints: ["tel:+862000000000"]}
`, []string{"backends[0].kind", "fax"}},
		{"rest backend without endpoints", `backends:
  - {id: samr-rest, unit: samr, kind: rest}
`, []string{"backends[0].endpoints", "rest"}},
		{"backend with endpoints and a service", `backends:
  - {id: samr-rest, unit: samr, kind: rest, endpoints: ["http://127.0.0.1:18081/samr"], service: samr}
`, []string{"backends[0].service"}},
		{"backend of an unknown unit", `backends:
  - {id: x-rest, unit: nowhere, kind: rest, endpoints: ["http://127.0.0.1:18081/x"]}
`, []string{"backends[0].unit", "nowhere"}},
		{"duplicate backend id", `backends:
  - {id: samr-rest, unit: samr, kind: rest, endpoints: ["http://127.0.0.1:18081/samr"]}
  - {id: samr-rest, unit: tax, kind: manual}
`, []string{"backends[1].id", "samr-rest"}},
		{"negative maxInFlight", `backends:
  - {id: samr-rest, unit: samr, kind: rest, endpoints: ["http://127.0.0.1:18081/samr"], maxInFlight: -1}
`, []string{"backends[0].maxInFlight"}},
		// Decoding errors come from yaml.v3 with a line number.
		{"unknown YAML key", `hotlines:
  - {number: "12315", name: 市场监管投诉举报热线, department: samr, mode: dual_numbers, status: dual_running, handlingUnits: samr}
`, []string{"handlingUnits", "line 10"}},
		{"unknown backend key", `backends:
  - {id: samr-rest, unit: samr, kind: rest, endpoint: "http://127.0.0.1:18081/samr"}
`, []string{"endpoint ", "not found"}},
		// The date error names the value but not the key or line (see report).
		{"bad date", `hotlines:
  - {number: "12356", name: 心理援助热线, department: hw, mode: independent, status: unmerged, validFrom: 2021-13-01}
`, []string{"2021-13-01", "line "}},
		{"bad duration", `backends:
  - {id: samr-rest, unit: samr, kind: rest, endpoints: ["http://127.0.0.1:18081/samr"], timeout: five seconds}
`, []string{"line 10", "time.Duration"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := registry.LoadProvince(strings.NewReader(provinceFixture + tc.yaml))
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

func TestProvinceBadUnits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, yaml, want string }{
		{"two roots", "name: x\nunits:\n  - {id: a, name: 甲, kind: province}\n  - {id: b, name: 乙, kind: province}\n", "exactly one root"},
		{"child before parent", "name: x\nunits:\n  - {id: a, name: 甲, kind: province}\n  - {id: c, name: 丙, kind: street, parent: b}\n  - {id: b, name: 乙, kind: district, parent: a}\n", "units[1].parent"},
		{"unknown parent", "name: x\nunits:\n  - {id: a, name: 甲, kind: province}\n  - {id: c, name: 丙, kind: street, parent: zz}\n", "units[1].parent"},
		{"unknown kind", "name: x\nunits:\n  - {id: a, name: 甲, kind: county}\n", "units[0].kind"},
		{"duplicate id", "name: x\nunits:\n  - {id: a, name: 甲, kind: province}\n  - {id: a, name: 乙, kind: city, parent: a}\n", "units[1].id"},
		{"id with a slash", "name: x\nunits:\n  - {id: a/b, name: 甲, kind: province}\n", "units[0].id"},
		{"no name", "units:\n  - {id: a, name: 甲, kind: province}\n", "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := registry.LoadProvince(strings.NewReader(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}
