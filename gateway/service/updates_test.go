package service_test

import (
	"errors"
	"testing"

	"github.com/switchboard12345/switchboard/adapters"
	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/internal/errs"
	"github.com/switchboard12345/switchboard/registry"
	"github.com/switchboard12345/switchboard/store"
)

func TestApplyUpdate(t *testing.T) {
	t.Parallel()
	f := newRouteFixture(t, false)
	tk, err := f.svc.CreateTicket(f.ctx, newTicket("12345", "", "440106"))
	if err != nil {
		t.Fatal(err)
	}
	// 广州市市场监管局 handles it, 天河区 co-handles.
	if _, err := f.svc.DispatchTicket(f.ctx, &pb.DispatchTicketRequest{Id: tk.GetId(), HandlingUnit: "gz-samr", CoHandlingUnits: []string{"gz-tianhe"}}); err != nil {
		t.Fatal(err)
	}
	samr := registry.Backend{ID: "gz-samr-rest", Unit: "gz-samr"}
	tianhe := registry.Backend{ID: "gz-tianhe-rest", Unit: "gz-tianhe"}
	tax := registry.Backend{ID: "gd-tax-soap", Unit: "gd-tax"}
	id := tk.GetId()
	for _, tc := range []struct {
		name    string
		b       registry.Backend
		u       adapters.Update
		kind    errs.Kind
		dup     bool
		ok      bool
		wantNot ticket.State // state the ticket must not be in afterwards ("" = no check)
	}{
		{name: "another unit's backend", b: tax, u: adapters.Update{ID: "1", TicketID: id, Action: "sign"}, kind: errs.NotFound},
		{name: "unknown action", b: samr, u: adapters.Update{ID: "2", TicketID: id, Action: "close"}, kind: errs.Invalid},
		{name: "co-handling unit may not return", b: tianhe, u: adapters.Update{ID: "3", TicketID: id, Action: "return", Text: "不属于本区职责"}, kind: errs.Precondition, wantNot: ticket.Returned},
		{name: "co-handling unit signs", b: tianhe, u: adapters.Update{ID: "4", TicketID: id, Action: "sign", Text: "天河区已签收"}, ok: true},
		{name: "the same update again", b: tianhe, u: adapters.Update{ID: "4", TicketID: id, Action: "sign", Text: "天河区已签收"}, dup: true},
		{name: "the same id from another backend is another update", b: samr, u: adapters.Update{ID: "4", TicketID: id, Action: "sign"}, kind: errs.Precondition},
		{name: "extension beyond the limit", b: samr, u: adapters.Update{ID: "5", TicketID: id, Action: "requestExtension", Days: 99, Text: "申请延期"}, kind: errs.Invalid},
		{name: "reply", b: samr, u: adapters.Update{ID: "6", TicketID: id, Action: "reply", Text: "已答复市民。"}, ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := f.svc.ApplyUpdate(f.ctx, tc.b, tc.u)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.dup && !errors.Is(err, store.ErrDuplicateUpdate):
				t.Fatalf("err %v, want a duplicate", err)
			case !tc.ok && !tc.dup && errs.KindOf(err) != tc.kind:
				t.Fatalf("err %v (kind %s), want kind %s", err, errs.KindOf(err), tc.kind)
			}
			if tc.wantNot != "" {
				if got, _ := f.store.GetTicket(f.ctx, id); got.State == tc.wantNot {
					t.Fatalf("ticket is %s", got.State)
				}
			}
		})
	}
	got, err := f.store.GetTicket(f.ctx, id)
	if err != nil || got.State != ticket.Replied || got.HandlingUnit != "gz-samr" {
		t.Fatalf("end: %s at %s, %v", got.State, got.HandlingUnit, err)
	}
}
