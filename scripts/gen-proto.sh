#!/usr/bin/env bash
# gen-proto.sh regenerates the Go code and the OpenAPI document from api/**/*.proto,
# offline: protoc from Debian's protobuf-compiler, the plugins built from the Go
# module's pinned `tool` directives, google/api/*.proto copied out of the
# grpc-gateway v1.16.0 module and the OpenAPI options protos out of the
# grpc-gateway v2 module the code depends on, into a git-ignored folder.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v protoc >/dev/null; then
  echo "gen-proto: protoc not found; installing Debian's protobuf-compiler" >&2
  apt-get install -y -qq protobuf-compiler >/dev/null || { apt-get update -qq && apt-get install -y -qq protobuf-compiler >/dev/null; }
fi

mkdir -p bin .cache/protoinclude/google/api
for t in protoc-gen-go protoc-gen-go-grpc protoc-gen-grpc-gateway protoc-gen-openapiv2; do
  go build -o "bin/$t" "$(go list -f '{{.ImportPath}}' tool | grep "/$t\$")"
done

gw=$(go mod download -json github.com/grpc-ecosystem/grpc-gateway@v1.16.0 | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
cp "$gw"/third_party/googleapis/google/api/{annotations,http}.proto .cache/protoinclude/google/api/
# The OpenAPI options (security definitions) from the grpc-gateway v2 module the
# code depends on.
gw2=$(go mod download -json github.com/grpc-ecosystem/grpc-gateway/v2 | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
mkdir -p .cache/protoinclude/protoc-gen-openapiv2/options
cp "$gw2"/protoc-gen-openapiv2/options/{annotations,openapiv2}.proto .cache/protoinclude/protoc-gen-openapiv2/options/
chmod -R u+w .cache/protoinclude

protos=$(find api -name '*.proto' | sort)
PATH="$PWD/bin:$PATH" protoc -I api -I .cache/protoinclude -I /usr/include \
  --go_out=api --go_opt=paths=source_relative \
  --go-grpc_out=api --go-grpc_opt=paths=source_relative \
  --grpc-gateway_out=api --grpc-gateway_opt=paths=source_relative \
  --openapiv2_out=api/openapi --openapiv2_opt=allow_merge=true,merge_file_name=switchboard,json_names_for_fields=true \
  $protos
# The protoc version is not part of the output: a patch release of protoc must
# not make the check fail.
sed -i -E '/^\/\/ (\t|- )protoc +v[0-9.]+$/d' $(find api -name '*.pb.go')
gofmt -w $(find api -name '*.go')
echo "gen-proto: generated from $(echo $protos | wc -w) proto file(s)"
