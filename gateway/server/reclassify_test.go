package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/internal/testauth"
)

// 商品质量 (110403) in 天河区 (440106): the rule for 广州 routes it to gz-samr.
const routedBody = `{"channel":"PHONE","caller":{"name":"王芳","phone":"13800138000"},"title":"电饭煲质量问题","content":"新买的电饭煲内胆涂层脱落，商家拒绝退换","location":{"address":"广州市天河区体育西路1号","regionCode":"440106"},"category":"110403","requestType":"COMPLAINT","dialedNumber":"12345"}`

// TestReclassifyOverRESTAndGRPC: a ticket routed by rule is dispatched to the
// suggested unit, then reclassified over REST to a category another unit
// handles; bad categories are refused on both transports, naming the field.
func TestReclassifyOverRESTAndGRPC(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	code, tk := s.call(t, "POST", "/v1/tickets", routedBody)
	if code != 200 || str(tk, "suggestedUnit") != "gz-samr" || str(tk, "suggestedBy") != "rule" || str(tk, "state") != "RECEIVED" {
		t.Fatalf("create: %d %v", code, tk)
	}
	id := str(tk, "id")
	if code, d := s.call(t, "POST", "/v1/tickets/"+id+":dispatch", `{}`); code != 200 || str(d, "handlingUnit") != "gz-samr" {
		t.Fatalf("dispatch to the suggestion: %d %v", code, d)
	}

	// 物业服务 (011003) in 广州 belongs to gz-housing: the ticket moves, by
	// 李娜's hand (her token's principal, not the X-Actor header).
	lina := s.principal(t, "u-lina")
	code, moved := s.call(t, "POST", "/v1/tickets/"+id+":reclassify", `{"category":"011003","reason":"实为物业服务纠纷"}`,
		"Authorization", testauth.Header(lina), "X-Actor", "operator:%E6%9D%8E%E5%A8%9C")
	if code != 200 || str(moved, "handlingUnit") != "gz-housing" || str(moved, "state") != "DISPATCHED" || str(moved, "category") != "011003" {
		t.Fatalf("reclassify: %d %v", code, moved)
	}
	evs, err := s.grpc.ListTicketEvents(context.Background(), &pb.ListTicketEventsRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	last := evs.GetEvents()[len(evs.GetEvents())-1]
	if last.GetAction() != "reclassify" || last.GetActor() != "u-lina" || last.GetDetails()["previousHandlingUnit"] != "gz-samr" {
		t.Fatalf("last event %v", last)
	}

	for _, body := range []string{`{"category":"11A403"}`, `{"category":"110"}`, `{}`, `{"category":"1104051122334455"}`} {
		code, reply := s.call(t, "POST", "/v1/tickets/"+id+":reclassify", body)
		if code != http.StatusBadRequest || str(reply, "error", "status") != "INVALID_ARGUMENT" || !slices.Equal(fields(reply), []string{"category"}) {
			t.Errorf("REST %s: %d %v", body, code, reply)
		}
	}
	_, err = s.grpc.ReclassifyTicket(context.Background(), &pb.ReclassifyTicketRequest{Id: id, Category: "市场监管"})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "category") {
		t.Fatalf("gRPC bad category: %v", err)
	}
	var named bool
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				named = named || v.GetField() == "category"
			}
		}
	}
	if !named {
		t.Errorf("gRPC error details do not name category: %v", st.Details())
	}
	// The same category again is refused by the lifecycle, naming the field.
	_, err = s.grpc.ReclassifyTicket(context.Background(), &pb.ReclassifyTicketRequest{Id: id, Category: "011003"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "category") {
		t.Fatalf("same category: %v", err)
	}
	if _, err := s.grpc.ReclassifyTicket(context.Background(), &pb.ReclassifyTicketRequest{Id: "", Category: "011003"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("no id: %v", err)
	}
	if _, err := s.grpc.ReclassifyTicket(context.Background(), &pb.ReclassifyTicketRequest{Id: "01NOSUCHTICKET", Category: "011003"}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown ticket: %v", err)
	}
}
