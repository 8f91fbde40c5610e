// Package api holds the Switchboard API: the protobuf definitions under
// switchboard/v1 with their generated Go code, and the OpenAPI document generated
// from them (scripts/gen-proto.sh regenerates both).
package api

import _ "embed"

// OpenAPI is the OpenAPI (Swagger 2.0) document of the REST API, served at
// /openapi.json.
//
//go:embed openapi/switchboard.swagger.json
var OpenAPI []byte
