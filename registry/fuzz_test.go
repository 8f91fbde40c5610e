package registry_test

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/registry"
)

// FuzzLocate feeds citizens' text to Locate: it never panics, and a place
// it returns lies in the registry, with a region and a valid name.
func FuzzLocate(f *testing.F) {
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		f.Fatal(err)
	}
	s := registry.NewSnapshot(p, 1)
	for _, seed := range []string{
		"广州市天河区体育西路1号的西饼店倒闭", "禅城区祖庙街道普君北路", "中山路", "天河区和海珠区",
		"广州市禅城区", "", "\xff\xfe天河区", "天河南街体育东社区居民委员会", "佛山禅城区，还有广州",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		pl, ok := s.Locate(text)
		if !ok {
			return
		}
		if _, err := s.Unit(t.Context(), pl.Unit); err != nil {
			t.Fatalf("Locate(%q) = unknown unit %q", text, pl.Unit)
		}
		if pl.Region == "" || !utf8.ValidString(pl.Name) {
			t.Fatalf("Locate(%q) = %+v", text, pl)
		}
	})
}
