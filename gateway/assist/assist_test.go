package assist_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/classify"
	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/gateway/assist"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/registry"
)

// fixedModel always suggests the same labels.
type fixedModel []classify.Suggestion

func (m fixedModel) Predict(string, int) []classify.Suggestion { return m }
func (m fixedModel) Auto(classify.Suggestion) bool             { return false }

// seenRelated records the ticket it is asked about.
type seenRelated struct{ t ticket.Ticket }

func (r *seenRelated) Find(t ticket.Ticket, _ int) []assist.Match { r.t = t; return nil }

func TestProposeLocatesTheRequest(t *testing.T) {
	p, err := registry.LoadProvince(bytes.NewReader(examples.Province))
	if err != nil {
		t.Fatal(err)
	}
	snap := registry.NewSnapshot(p, 1)
	rel := &seenRelated{}
	a := &assist.Assistant{
		Category: fixedModel{{Label: "04", Confidence: 0.8}, {Label: "15", Confidence: 0.1}},
		Routes:   func() *registry.Snapshot { return snap },
		Related:  rel,
	}
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name                 string
		t                    ticket.Ticket
		region, place, unit0 string // want: filled region ("" none), its place, the first unit
	}{
		{"the text names a district", ticket.Ticket{Title: "化工厂偷排废气", Content: "广州市天河区石牌街道附近的化工厂晚上偷排废气。"},
			"440106", "天河区石牌街道", "gz-eco"},
		{"the address before the text", ticket.Ticket{Title: "噪音", Content: "我在佛山上班，家住这里，晚上工地很吵。",
			Location: ticket.Location{Address: "广州市海珠区滨江东路"}}, "440105", "海珠区", "gz-eco"},
		{"the caller's region stands", ticket.Ticket{Title: "噪音", Content: "广州市天河区工地很吵。",
			Location: ticket.Location{RegionCode: "440604"}}, "", "", "gd-eco"},
		{"no place named", ticket.Ticket{Title: "噪音", Content: "楼下工地晚上很吵。"}, "", "", "gd-eco"},
	} {
		prop := a.Propose(context.Background(), c.t, now, true)
		if prop.Region() != c.region {
			t.Errorf("%s: region %q, want %q", c.name, prop.Region(), c.region)
		}
		switch r := prop.Suggested.Region; {
		case c.region == "" && r != nil, c.region != "" && (r == nil || r.Code != c.region || r.Name != c.place):
			t.Errorf("%s: suggested region %+v, want %s (%s)", c.name, r, c.region, c.place)
		}
		if us := prop.Suggested.Units; len(us) == 0 || us[0].Code != c.unit0 {
			t.Errorf("%s: units %+v, want %s first", c.name, us, c.unit0)
		}
		want := c.t.Location.RegionCode
		if c.region != "" {
			want = c.region
		}
		if rel.t.Location.RegionCode != want {
			t.Errorf("%s: related tickets searched with region %q, want %q", c.name, rel.t.Location.RegionCode, want)
		}
	}
}
