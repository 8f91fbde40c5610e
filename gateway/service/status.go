package service

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchboard12345/switchboard/internal/errs"
)

// codeOf maps an error kind to its gRPC code. This is the one place that does.
func codeOf(k errs.Kind) codes.Code {
	switch k {
	case errs.Invalid:
		return codes.InvalidArgument
	case errs.NotFound:
		return codes.NotFound
	case errs.Conflict:
		return codes.AlreadyExists
	case errs.Precondition, errs.Rejected:
		return codes.FailedPrecondition
	case errs.Permission:
		return codes.PermissionDenied
	case errs.Unauthenticated:
		return codes.Unauthenticated
	case errs.Transient, errs.RetryAfter:
		return codes.Unavailable
	}
	return codes.Internal
}

// Status converts err to a gRPC status error. Invalid errors carry a BadRequest
// detail naming each field. Internal failures are logged with their cause and
// reach the caller only as "internal error".
func Status(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok && errs.KindOf(err) == errs.Other {
		return err // already a status (e.g. from an interceptor)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		log.ErrorContext(ctx, "internal error", "err", err)
		return status.Error(codes.Internal, "internal error")
	}
	code := codeOf(e.Kind)
	switch code {
	case codes.Internal:
		log.ErrorContext(ctx, "internal error", "err", err)
		return status.Error(codes.Internal, "internal error")
	case codes.Unavailable:
		log.WarnContext(ctx, "unavailable", "err", err)
		return status.Error(codes.Unavailable, e.Msg+"; try again")
	}
	// The message is the error's own, without causes: they may hold a backend's
	// words, which never reach a citizen.
	st := status.New(code, (&errs.Error{Kind: e.Kind, Msg: e.Msg, Fields: e.Fields}).Error())
	if len(e.Fields) > 0 {
		br := &errdetails.BadRequest{}
		for _, f := range e.Fields {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: f.Field, Description: f.Description})
		}
		if withDetails, derr := st.WithDetails(br); derr == nil {
			st = withDetails
		}
	}
	return st.Err()
}
