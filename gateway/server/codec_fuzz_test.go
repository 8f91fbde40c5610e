package server

import (
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
)

// FuzzCodecUnmarshal feeds arbitrary bytes to the gRPC request decoder: it never
// fails (failures become InvalidArgument in the interceptor), never panics, and
// what it decodes is valid UTF-8 protobuf.
func FuzzCodecUnmarshal(f *testing.F) {
	good, _ := proto.Marshal(&pb.CreateTicketRequest{Ticket: &pb.NewTicket{Title: "预付卡退款", Caller: &pb.Caller{Name: "张三"}}})
	f.Add(good)
	f.Add([]byte{0x0a, 0x05, 0x22, 0x03, 0xff, 0xfe, 0xfd})
	f.Add([]byte{0x0a, 0xff})
	f.Add([]byte{})
	c := newUTF8Codec()
	f.Fuzz(func(t *testing.T, b []byte) {
		var req pb.CreateTicketRequest
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, &req); err != nil {
			t.Fatalf("Unmarshal failed: %v", err)
		}
		rejected := c.take(&req) != nil
		if !rejected {
			if _, err := proto.Marshal(&req); err != nil {
				t.Fatalf("accepted a message that does not re-encode: %v", err)
			}
		}
		if n := req.GetTicket(); !utf8.ValidString(n.GetTitle()) || !utf8.ValidString(n.GetCaller().GetName()) {
			t.Fatal("decoded invalid UTF-8")
		}
	})
}
