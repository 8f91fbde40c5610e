package registry_test

import (
	"bytes"
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
