// Package restjson writes the gateway's JSON responses outside grpc-gateway:
// plain JSON bodies, and errors in the REST error shape of the gateway,
// Google's JSON error with the field violations lifted to the top so a
// client finds the bad field at once:
//
//	{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"…",
//	 "fieldViolations":[{"field":"…","description":"…"}],"requestId":"…"}}
//
// gateway/server and gateway/statusback both answer in it.
package restjson

import (
	"encoding/json"
	"net/http"
)

// FieldViolation names a bad field of a request.
type FieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

type restError struct {
	Error restErrorBody `json:"error"`
}

type restErrorBody struct {
	Code            int              `json:"code"`
	Status          string           `json:"status"`
	Message         string           `json:"message"`
	FieldViolations []FieldViolation `json:"fieldViolations,omitempty"`
	RequestID       string           `json:"requestId,omitempty"`
}

// Write answers code with v as JSON (HTML characters not escaped).
func Write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// Error answers httpCode with the error shape: status is the gRPC code's
// name ("INVALID_ARGUMENT"), fields may be nil, and the request ID is the
// X-Request-Id response header already set, if any.
func Error(w http.ResponseWriter, httpCode int, status, msg string, fields []FieldViolation) {
	Write(w, httpCode, restError{Error: restErrorBody{Code: httpCode, Status: status, Message: msg, FieldViolations: fields, RequestID: w.Header().Get("X-Request-Id")}})
}
