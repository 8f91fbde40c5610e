package server

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// inproc is a grpc.ClientConnInterface that calls the registered services in
// this process through the same unary interceptor as the gRPC server, with
// no network or encoding in between. The REST gateway reaches the services
// through it (RegisterXHandlerClient), so a REST call is checked exactly as a
// gRPC call is: grpc-gateway's direct registration (RegisterXHandlerServer)
// would skip interceptors.
type inproc struct {
	methods     map[string]inprocMethod
	interceptor grpc.UnaryServerInterceptor
}

type inprocMethod struct {
	impl any
	desc grpc.MethodDesc
}

var _ grpc.ClientConnInterface = (*inproc)(nil)

func newInproc(interceptor grpc.UnaryServerInterceptor) *inproc {
	return &inproc{methods: map[string]inprocMethod{}, interceptor: interceptor}
}

// register adds a service's unary methods, as grpc.Server.RegisterService does.
func (c *inproc) register(sd *grpc.ServiceDesc, impl any) {
	for _, m := range sd.Methods {
		c.methods["/"+sd.ServiceName+"/"+m.MethodName] = inprocMethod{impl: impl, desc: m}
	}
}

// Invoke implements grpc.ClientConnInterface: the outgoing metadata the
// gateway set becomes the call's incoming metadata.
func (c *inproc) Invoke(ctx context.Context, method string, args, reply any, _ ...grpc.CallOption) error {
	m, ok := c.methods[method]
	if !ok {
		return status.Errorf(codes.Unimplemented, "unknown method %s", method)
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	ctx = metadata.NewIncomingContext(ctx, md.Copy())
	in, ok := args.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "request of %s is not a protobuf message", method)
	}
	dec := func(v any) error {
		dst, ok := v.(proto.Message)
		if !ok {
			return fmt.Errorf("inproc: %T is not a protobuf message", v)
		}
		proto.Merge(dst, in)
		return nil
	}
	out, err := m.desc.Handler(m.impl, ctx, dec, c.interceptor)
	if err != nil {
		return err
	}
	res, ok := out.(proto.Message)
	dst, ok2 := reply.(proto.Message)
	if !ok || !ok2 {
		return status.Errorf(codes.Internal, "answer of %s is not a protobuf message", method)
	}
	proto.Reset(dst)
	proto.Merge(dst, res)
	return nil
}

// NewStream implements grpc.ClientConnInterface; the API has no streams.
func (c *inproc) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Errorf(codes.Unimplemented, "streams are not served in process: %s", strings.TrimPrefix(method, "/"))
}
