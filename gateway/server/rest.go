package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/switchboard12345/switchboard/gateway/restjson"
	"github.com/switchboard12345/switchboard/gateway/service"
)

// jsonMarshaler speaks protojson: lowerCamelCase names, enums as strings,
// unknown fields rejected.
func jsonMarshaler() runtime.Marshaler {
	return &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: false, EmitUnpopulated: false},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}}
}

// headerMatcher forwards the HTTP headers the service reads as gRPC metadata.
func headerMatcher(key string) (string, bool) {
	switch strings.ToLower(key) {
	case "idempotency-key":
		return service.MDIdempotencyKey, true
	case "authorization":
		return "authorization", true
	case "x-request-id":
		return mdRequestID, true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// restError writes a gRPC status as JSON with the matching HTTP code.
func (s *Server) restError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st, ok := status.FromError(err)
	if !ok {
		st = status.New(codes.Internal, "internal error")
	}
	var fields []restjson.FieldViolation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, restjson.FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
			}
		}
	}
	msg := st.Message()
	if st.Code() == codes.InvalidArgument && len(fields) == 0 {
		// A body grpc-gateway could not decode: name the field protojson named.
		f := decodeViolation(msg)
		fields = []restjson.FieldViolation{f}
		msg = "invalid request body: " + f.Field + ": " + f.Description
	}
	if st.Code() == codes.Internal {
		msg = "internal error" // never leak internals
	}
	restjson.Error(w, runtime.HTTPStatusFromCode(st.Code()), statusName(st.Code()), msg, fields)
}

func (s *Server) routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		restjson.Error(w, httpStatus, "METHOD_NOT_ALLOWED", r.Method+" is not allowed on "+r.URL.Path, nil)
	default:
		restjson.Error(w, http.StatusNotFound, "NOT_FOUND", "no such path: "+r.URL.Path, nil)
	}
}

var (
	reUnknownField = regexp.MustCompile(`unknown field "([^"]+)"`)
	reFieldValue   = regexp.MustCompile(`invalid value for [a-z0-9 ]*field ([A-Za-z0-9_.]+): (.*)`)
	reSyntax       = regexp.MustCompile(`\(line \d+:\d+\)`)
)

// decodeViolation turns a protojson decoding error into a field violation.
func decodeViolation(msg string) restjson.FieldViolation {
	msg = strings.TrimPrefix(msg, "proto: ")
	switch {
	case strings.Contains(msg, "request body too large"):
		return restjson.FieldViolation{Field: "body", Description: "too large"}
	case reUnknownField.MatchString(msg):
		return restjson.FieldViolation{Field: reUnknownField.FindStringSubmatch(msg)[1], Description: "unknown field"}
	case reFieldValue.MatchString(msg):
		m := reFieldValue.FindStringSubmatch(msg)
		return restjson.FieldViolation{Field: m[1], Description: "invalid value " + m[2]}
	}
	return restjson.FieldViolation{Field: "body", Description: strings.TrimSpace(reSyntax.ReplaceAllString(msg, ""))}
}

var reLastKey = regexp.MustCompile(`"([A-Za-z0-9_]+)"\s*:\s*"?[^"]*$`)

// restMiddleware wraps the REST API: request ids, metrics, panics to 500s,
// the body size limit and the UTF-8 check.
func (s *Server) restMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 {
			id = newRequestID()
			r.Header.Set("X-Request-Id", id)
		}
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(withRequestID(r.Context(), id))
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				s.log.ErrorContext(r.Context(), "panic in REST handler", "panic", p)
				if !rec.wrote {
					restjson.Error(rec, http.StatusInternalServerError, "INTERNAL", "internal error", nil)
				}
			}
			s.metrics.observeHTTP(r.Method, routeOf(r), rec.code, time.Since(start))
		}()
		if r.Body != nil && r.Method != http.MethodGet {
			if r.ContentLength > s.o.MaxBodyBytes {
				restjson.Error(rec, http.StatusBadRequest, "INVALID_ARGUMENT", "request body must be at most "+strconv.FormatInt(s.o.MaxBodyBytes, 10)+" bytes",
					[]restjson.FieldViolation{{Field: "body", Description: "too large"}})
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(rec, r.Body, s.o.MaxBodyBytes))
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					restjson.Error(rec, http.StatusBadRequest, "INVALID_ARGUMENT", "request body must be at most "+strconv.FormatInt(s.o.MaxBodyBytes, 10)+" bytes",
						[]restjson.FieldViolation{{Field: "body", Description: "too large"}})
					return
				}
				restjson.Error(rec, http.StatusBadRequest, "INVALID_ARGUMENT", "reading request body failed", []restjson.FieldViolation{{Field: "body", Description: "unreadable"}})
				return
			}
			if !utf8.Valid(body) {
				field := "body"
				if m := reLastKey.FindSubmatch(body[:firstInvalidUTF8(body)]); m != nil {
					field = string(m[1])
				}
				restjson.Error(rec, http.StatusBadRequest, "INVALID_ARGUMENT", "request body is not valid UTF-8", []restjson.FieldViolation{{Field: field, Description: "not valid UTF-8"}})
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(rec, r)
	})
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// routeOf is a low-cardinality label for a request: the path with the ticket
// reference replaced.
func routeOf(r *http.Request) string {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/v1/tickets/"); ok {
		if i := strings.IndexAny(rest, ":/"); i >= 0 {
			return "/v1/tickets/{id}" + rest[i:]
		}
		return "/v1/tickets/{id}"
	}
	if p == "/v1/tickets" {
		return p
	}
	return "other"
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}
