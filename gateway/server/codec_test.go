package server_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
)

// rawCodec sends pre-encoded bytes, as a non-conforming client could.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return proto.Unmarshal(data.Materialize(), v.(proto.Message))
}

// TestGRPCInvalidUTF8IsInvalidArgument: grpc-go would answer Internal for a
// request whose strings are not UTF-8; the server answers InvalidArgument naming
// the field, and stores nothing.
func TestGRPCInvalidUTF8IsInvalidArgument(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	var caller []byte
	caller = protowire.AppendTag(caller, 1, protowire.BytesType) // Caller.name
	caller = protowire.AppendBytes(caller, []byte("张\xff三"))
	var nt []byte
	nt = protowire.AppendTag(nt, 3, protowire.BytesType) // NewTicket.caller
	nt = protowire.AppendBytes(nt, caller)
	nt = protowire.AppendTag(nt, 4, protowire.BytesType) // NewTicket.title
	nt = protowire.AppendBytes(nt, []byte("\xfe预付卡"))
	var req []byte
	req = protowire.AppendTag(req, 1, protowire.BytesType) // CreateTicketRequest.ticket
	req = protowire.AppendBytes(req, nt)

	var out pb.Ticket
	err := s.conn.Invoke(context.Background(), "/switchboard.v1.TicketService/CreateTicket", req, &out, grpc.ForceCodecV2(rawCodec{}))
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code %v (%v), want InvalidArgument", st.Code(), err)
	}
	var got []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				got = append(got, v.GetField())
			}
		}
	}
	if strings.Join(got, ",") != "ticket.caller.name,ticket.title" {
		t.Fatalf("violations %v, want ticket.caller.name and ticket.title", got)
	}
	if n, _ := s.store.CountByState(context.Background()); len(n) != 0 {
		t.Fatalf("a refused request stored a ticket: %v", n)
	}
	// Truncated wire data stays a decoding error, not a crash.
	err = s.conn.Invoke(context.Background(), "/switchboard.v1.TicketService/CreateTicket", req[:len(req)-3], &out, grpc.ForceCodecV2(rawCodec{}))
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("truncated request: %v, want InvalidArgument", err)
	}
}
