package registry_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/registry"
)

func date(s string) registry.Date {
	d, err := registry.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestChangeStatus(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	dual := registry.Hotline{Number: "12315", Name: "市场监管投诉举报热线", Mode: registry.DualNumbers, Status: registry.DualRunning}
	sub := registry.Hotline{Number: "12366", Name: "纳税服务热线", Mode: registry.SubCentre, Status: registry.Planned}
	emergency := registry.Hotline{Number: "110", Name: "公安报警电话", Mode: registry.EmergencyLinkage, Status: registry.Linked}
	merged := registry.Hotline{Number: "12319", Name: "城建服务热线", Mode: registry.DualNumbers, Status: registry.Merged}
	change := func(to registry.Status, mod ...func(*registry.StatusChange)) registry.StatusChange {
		c := registry.StatusChange{To: to, Actor: "admin:chenjing", Reason: "按计划切换", At: at}
		for _, m := range mod {
			m(&c)
		}
		return c
	}
	force := func(c *registry.StatusChange) { c.Force = true }
	tests := []struct {
		name    string
		h       registry.Hotline
		c       registry.StatusChange
		traffic registry.RetireGuard
		kind    errs.Kind // 0 (Other) means success
		want    string    // in the error message, or the new status
	}{
		{"dual running to merged", dual, change(registry.Merged, func(c *registry.StatusChange) { c.Cutover = date("2026-12-31") }), registry.RetireGuard{}, errs.Other, "merged"},
		{"dual running back to planned", dual, change(registry.Planned), registry.RetireGuard{}, errs.Other, "planned"},
		{"same status", dual, change(registry.DualRunning), registry.RetireGuard{}, errs.Precondition, "already dual_running"},
		{"planned cannot retire", registry.Hotline{Number: "96510", Mode: registry.FullMerge, Status: registry.Planned}, change(registry.Retired), registry.RetireGuard{}, errs.Precondition, "allowed: dual_running, merged"},
		{"sub-centre needs an expert group", sub, change(registry.Merged), registry.RetireGuard{}, errs.Precondition, "expert-seat group"},
		{"sub-centre with its group", func() registry.Hotline { h := sub; h.ExpertGroup = "gd-12366-experts"; return h }(), change(registry.Merged), registry.RetireGuard{}, errs.Other, "merged"},
		{"emergency never merges", emergency, change(registry.Merged), registry.RetireGuard{}, errs.Precondition, "emergency linkage"},
		{"emergency never retires, even forced", emergency, change(registry.Retired, force), registry.RetireGuard{}, errs.Precondition, "emergency linkage"},
		{"retire with recent traffic needs force", merged, change(registry.Retired), registry.RetireGuard{Days: 30, Requests: 17}, errs.Precondition, "17 requests in the last 30 days"},
		{"retire with recent traffic, forced", merged, change(registry.Retired, force), registry.RetireGuard{Days: 30, Requests: 17}, errs.Other, "retired"},
		{"retire without traffic", merged, change(registry.Retired), registry.RetireGuard{Days: 30}, errs.Other, "retired"},
		{"force needs a reason", merged, change(registry.Retired, force, func(c *registry.StatusChange) { c.Reason = " " }), registry.RetireGuard{}, errs.Invalid, "reason"},
		{"actor required", dual, change(registry.Merged, func(c *registry.StatusChange) { c.Actor = "" }), registry.RetireGuard{}, errs.Invalid, "actor"},
		{"unknown status", dual, change("gone"), registry.RetireGuard{}, errs.Invalid, "unknown status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, rec, err := registry.ChangeStatus(tc.h, tc.c, tc.traffic)
			if tc.kind == errs.Other {
				if err != nil {
					t.Fatalf("ChangeStatus: %v", err)
				}
				if string(got.Status) != tc.want || rec.From != tc.h.Status || rec.To != got.Status || rec.Number != tc.h.Number {
					t.Fatalf("got %s, record %+v", got.Status, rec)
				}
				if !tc.c.Cutover.IsZero() && got.Cutover != tc.c.Cutover {
					t.Errorf("cutover %v not applied", tc.c.Cutover)
				}
				return
			}
			if errs.KindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (%v), want %v containing %q", err, errs.KindOf(err), tc.kind, tc.want)
			}
			if got.Status != tc.h.Status {
				t.Fatal("a refused change changed the hotline")
			}
		})
	}
}

func TestValidAtAndDates(t *testing.T) {
	t.Parallel()
	old := registry.Hotline{Number: "12356", ValidTo: date("2024-01-01")}
	reused := registry.Hotline{Number: "12356", ValidFrom: date("2024-01-01")}
	for _, tc := range []struct {
		at        time.Time
		old, used bool
	}{
		{time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC), true, false},
		{time.Date(2023, 12, 31, 15, 59, 0, 0, time.UTC), true, false}, // 23:59 in China
		{time.Date(2023, 12, 31, 16, 0, 0, 0, time.UTC), false, true},  // 2024-01-01 00:00 in China
		{time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), false, true},
	} {
		if old.ValidAt(tc.at) != tc.old || reused.ValidAt(tc.at) != tc.used {
			t.Errorf("at %v: old %v reused %v, want %v %v", tc.at, old.ValidAt(tc.at), reused.ValidAt(tc.at), tc.old, tc.used)
		}
	}
	if _, err := registry.ParseDate("2021-13-01"); err == nil {
		t.Error("month 13 accepted")
	}
	var d registry.Date
	if err := d.UnmarshalText([]byte("2026-02-15")); err != nil || d.String() != "2026-02-15" {
		t.Errorf("round trip: %v %v", d, err)
	}
}
