package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/registry"
)

const reuseProvince = `
name: 测试省
units:
  - {id: p, name: 测试省人民政府, kind: province}
  - {id: hw, name: 省卫生健康委, kind: department, parent: p}
  - {id: samr, name: 省市场监管局, kind: department, parent: p}
  - {id: city, name: 甲市, kind: city, parent: p}
  - {id: district, name: 甲区, kind: district, parent: city}
  - {id: street, name: 甲街道, kind: street, parent: district}
hotlines:
  - {number: "12356", name: 计划生育法律法规咨询及举报热线, department: hw, mode: full_merge, status: retired, handlingUnit: hw, validTo: 2024-01-01}
  - {number: "12356", name: 心理援助热线, department: hw, mode: independent, status: unmerged, validFrom: 2024-01-01}
  - {number: "12315", name: 市场监管投诉举报热线, department: samr, mode: dual_numbers, status: dual_running, handlingUnit: samr}
backends:
  - {id: samr-rest, unit: samr, kind: rest, endpoints: ["http://127.0.0.1:18081/samr"]}
  - {id: samr-ads, unit: samr, kind: soap, endpoints: ["http://127.0.0.1:18082/ads"], categories: ["110405"]}
  - {id: samr-market, unit: samr, kind: amqp, endpoints: ["amqp://127.0.0.1:5672"], categories: ["1104"]}
`

func load(t testing.TB, y string) *registry.Snapshot {
	t.Helper()
	p, err := registry.LoadProvince(bytes.NewReader([]byte(y)))
	if err != nil {
		t.Fatal(err)
	}
	return registry.NewSnapshot(p, 1)
}

func TestSnapshotLookups(t *testing.T) {
	t.Parallel()
	s := load(t, reuseProvince)
	at := func(y int) time.Time { return time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC) }
	if h, ok := s.HotlineAt("12356", at(2022)); !ok || h.Name != "计划生育法律法规咨询及举报热线" {
		t.Errorf("12356 in 2022 = %v %v", h.Name, ok)
	}
	if h, ok := s.HotlineAt("12356", at(2025)); !ok || h.Name != "心理援助热线" {
		t.Errorf("12356 in 2025 = %v %v", h.Name, ok)
	}
	if _, ok := s.HotlineAt("99999", at(2025)); ok {
		t.Error("unknown number found")
	}
	for _, tc := range []struct{ category, want string }{
		{"110405", "samr-ads"}, {"110408", "samr-market"}, {"0101", "samr-rest"}, {"", "samr-rest"},
	} {
		if b, ok := s.BackendFor("samr", tc.category); !ok || b.ID != tc.want {
			t.Errorf("BackendFor(samr, %q) = %v, want %s", tc.category, b.ID, tc.want)
		}
	}
	if _, ok := s.BackendFor("street", ""); ok {
		t.Error("a unit without backends has one")
	}
	if got := fmt.Sprint(s.Descendants("city")); got != "[district street]" {
		t.Errorf("Descendants(city) = %s", got)
	}
	if _, err := s.Unit(context.Background(), "nope"); err == nil {
		t.Error("unknown unit found")
	}
}

// BenchmarkRoutingLookup is the per-ticket cost of routing from a snapshot: the
// legacy number's use at the call's time, then the handling unit's backend for
// the category.
func BenchmarkRoutingLookup(b *testing.B) {
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		b.Fatal(err)
	}
	s := registry.NewSnapshot(p, 1) // the example has 12315 and category-specific backends
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		h, ok := s.HotlineAt("12315", now)
		if !ok {
			b.Fatal("12315 not found")
		}
		if _, ok := s.BackendFor(h.HandlingUnit, "110408"); !ok {
			b.Fatal("no backend")
		}
	}
}
