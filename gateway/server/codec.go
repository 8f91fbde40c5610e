package server

import (
	"fmt"
	"sync"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
)

// utf8Codec is the server's protobuf codec. It differs from grpc-go's in one
// way: grpc-go reports any request it cannot decode as Internal (a 500). Here a
// request whose string fields hold invalid UTF-8 is decoded with the bad bytes
// replaced, and a malformed one is left empty; either is remembered and refused
// by the interceptor as InvalidArgument naming each field.
type utf8Codec struct {
	base encoding.CodecV2
	bad  sync.Map // request message → []string field paths with invalid UTF-8
}

func newUTF8Codec() *utf8Codec {
	return &utf8Codec{base: encoding.GetCodecV2("proto")}
}

func (c *utf8Codec) Name() string { return "proto" }

func (c *utf8Codec) Marshal(v any) (mem.BufferSlice, error) { return c.base.Marshal(v) }

func (c *utf8Codec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.base.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return err
	}
	raw := data.Materialize()
	var fields []string
	fixed, ferr := sanitize(raw, m.ProtoReflect().Descriptor(), "", &fields)
	proto.Reset(m)
	if ferr != nil || len(fields) == 0 || proto.Unmarshal(fixed, m) != nil {
		proto.Reset(m)
		fields = []string{malformed}
	}
	c.bad.Store(m, fields)
	return nil
}

// malformed marks a request that is not protobuf at all.
const malformed = "\x00malformed"

// take returns and forgets the invalid-UTF-8 fields recorded for req.
func (c *utf8Codec) take(req any) error {
	v, ok := c.bad.LoadAndDelete(req)
	if !ok {
		return nil
	}
	fields := v.([]string)
	if fields[0] == malformed {
		return status.Error(codes.InvalidArgument, "invalid request: not a well-formed protobuf message")
	}
	br := &errdetails.BadRequest{}
	for _, f := range fields {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: f, Description: "not valid UTF-8"})
	}
	st := status.New(codes.InvalidArgument, fmt.Sprintf("invalid request: %s: not valid UTF-8", fields[0]))
	if d, err := st.WithDetails(br); err == nil {
		st = d
	}
	return st.Err()
}

// sanitize rewrites a wire-format message of type md with every invalid UTF-8
// string replaced by valid text, appending the JSON path of each such field.
func sanitize(b []byte, md protoreflect.MessageDescriptor, prefix string, bad *[]string) ([]byte, error) {
	out := make([]byte, 0, len(b)+16)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		field := b[:n+m]
		fd := md.Fields().ByNumber(num)
		if typ != protowire.BytesType || fd == nil {
			out = append(out, field...)
			b = b[n+m:]
			continue
		}
		val, _ := protowire.ConsumeBytes(b[n:])
		path := prefix + fd.JSONName()
		switch {
		case fd.Kind() == protoreflect.StringKind && !utf8.Valid(val):
			*bad = append(*bad, path)
			val = []byte(string([]rune(string(val)))) // invalid bytes become U+FFFD
		case fd.Kind() == protoreflect.MessageKind:
			var err error
			if val, err = sanitize(val, fd.Message(), path+".", bad); err != nil {
				return nil, err
			}
		}
		out = protowire.AppendTag(out, num, typ)
		out = protowire.AppendBytes(out, val)
		b = b[n+m:]
	}
	return out, nil
}
