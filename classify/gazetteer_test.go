package classify

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func shangluoGazetteer(t *testing.T) *Gazetteer {
	t.Helper()
	f, err := os.Open("testdata/shangluo_gazetteer.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := ReadGazetteer(f)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGazetteerTokens(t *testing.T) {
	t.Parallel()
	g := shangluoGazetteer(t)
	tests := []struct {
		name, text string
		want       []string
		region     string
	}{
		{"town names its county", "我是山阳县色河铺镇花栗沟村人，村里通讯信号不畅通",
			[]string{"gz:region:山阳县", "gz:town", "gz:main:山阳县", "gz:regions:1"}, "山阳县"},
		{"town alone", "色河铺镇花栗沟村通讯信号不畅通",
			[]string{"gz:town", "gz:region:山阳县", "gz:main:山阳县", "gz:regions:1"}, "山阳县"},
		{"city level only", "商洛市区的公交车班次太少",
			[]string{"gz:city", "gz:regions:0"}, ""},
		{"two counties, the one named more often wins", "镇安县到柞水县的公路，镇安段常年失修",
			[]string{"gz:region:镇安县", "gz:region:柞水县", "gz:main:镇安县", "gz:regions:2+"}, "镇安县"},
		{"ambiguous street office names no region", "城关街道的路灯坏了",
			[]string{"gz:town", "gz:regions:0"}, ""},
		{"no place", "物业不作为，阻止业主车进小区", []string{"gz:none", "gz:regions:0"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := g.Tokens(tt.text)
			if !sameSet(got, tt.want) {
				t.Errorf("Tokens = %q, want %q", got, tt.want)
			}
			if r := g.Region(tt.text); r != tt.region {
				t.Errorf("Region = %q, want %q", r, tt.region)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestReadGazetteerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"two fields", "town\t洛南县\n", "line 1: want 3 tab-separated fields"},
		{"bad level", "village\t洛南县\t石门镇\n", `level "village"`},
		{"town without region", "town\t\t石门镇\n", "has no region"},
		{"empty", "# nothing\n", "no places"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadGazetteer(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
