package registry_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/registry"
)

func TestLocate(t *testing.T) {
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	s := registry.NewSnapshot(p, 1)
	for _, c := range []struct {
		text, unit, region string
	}{
		{"禅城区祖庙街道普君北路的工地每晚十一点后还在施工", "fs-chancheng-zumiao", "440604"},
		{"广州市天河区体育西路1号的西饼店倒闭", "gz-tianhe", "440106"},
		{"我住在天河南街体育东社区，楼下烧烤油烟很大", "gz-tianhe-tiyuxi-tiyudong", "440106"},
		{"南海区里水镇的河涌发臭", "fs-nanhai-lishui", "440605"},
		{"广州的地铁太挤了", "gz", "440100"},
		{"深圳市罗湖区东门街道商户占道经营", "sz-luohu-dongmen", "440303"},
	} {
		got, ok := s.Locate(c.text)
		if !ok || got.Unit != c.unit || got.Region != c.region {
			t.Errorf("Locate(%q) = %+v, %v; want unit %s region %s", c.text, got, ok, c.unit, c.region)
		}
	}
	if got, ok := s.Locate("小区电梯经常坏，物业不修"); ok {
		t.Errorf("a text naming no place located at %+v", got)
	}
	// Every place name is unique and at least two characters long.
	seen := map[string]bool{}
	for _, pl := range s.Places() {
		if seen[pl.Name] || len([]rune(pl.Name)) < 2 {
			t.Errorf("place %+v repeated or too short", pl)
		}
		seen[pl.Name] = true
	}
	for _, want := range []string{"广东", "广州", "天河区", "祖庙街道", "体育东社区", "里水镇"} {
		if !seen[want] {
			t.Errorf("no place %q", want)
		}
	}
}

func TestLocateResolvesConflictsAndCommonWords(t *testing.T) {
	s := load(t, `name: 乙省
units:
  - {id: p, name: 乙省人民政府, kind: province, region: "450000"}
  - {id: zs, name: 中山市人民政府, kind: city, parent: p, region: "442000"}
  - {id: gz, name: 广州市人民政府, kind: city, parent: p, region: "440100"}
  - {id: th, name: 天河区人民政府, kind: district, parent: gz, region: "440106"}
  - {id: hz, name: 海珠区人民政府, kind: district, parent: gz, region: "440105"}
  - {id: th-dongfeng, name: 东风村民委员会, kind: community, parent: th}
  - {id: th-jiefang, name: 解放居民委员会, kind: community, parent: th}
  - {id: fs, name: 佛山市人民政府, kind: city, parent: p, region: "440600"}
  - {id: cc, name: 禅城区人民政府, kind: district, parent: fs, region: "440604"}
`)
	for _, c := range []struct {
		text, unit string // "" when nothing is located
	}{
		{"中山路上的井盖坏了", ""},             // a road, not the city 中山
		{"中山大学门口", ""},                // a university
		{"中山的公交车", "zs"},              // the city
		{"东风路的路灯坏了", ""},              // 东风 alone is no village
		{"东风村的水渠堵了", "th-dongfeng"},   // 村民委员会 → 村
		{"解放社区门口垃圾没人清", "th-jiefang"}, // 居民委员会 → 社区
		{"天河区和海珠区交界的桥", "gz"},         // two districts: their city
		{"广州市禅城区的商户", ""},             // places that do not nest: only the province holds both
		{"广州市天河区东风村", "th-dongfeng"},  // a chain: the most precise
		{"佛山禅城区，还有广州", ""},            // two cities
	} {
		got, ok := s.Locate(c.text)
		if (c.unit == "") == ok || ok && got.Unit != c.unit {
			t.Errorf("Locate(%q) = %+v, %v; want %q", c.text, got, ok, c.unit)
		}
	}
	if !slices.Contains(s.PlaceNames(), "东风村") {
		t.Errorf("place names %v", s.PlaceNames())
	}
}

func TestUnitThatIsItsOwnParentIsRefused(t *testing.T) {
	_, err := registry.LoadProvince(strings.NewReader(`name: 丙省
units:
  - {id: p, name: 丙省人民政府, kind: province}
  - {id: c, name: 丙市人民政府, kind: city, parent: c}
`))
	if err == nil || !strings.Contains(err.Error(), "units[1].parent") {
		t.Fatalf("a unit its own parent: %v", err)
	}
	_, err = registry.LoadProvince(strings.NewReader(`name: 丙省
units:
  - {id: p, name: 丙省人民政府, kind: province, region: "4400"}
`))
	if err == nil || !strings.Contains(err.Error(), "units[0].region") {
		t.Fatalf("a region code of 4 digits: %v", err)
	}
}
