#!/usr/bin/env bash
# gen-check.sh regenerates api/ and fails if the committed generated code differs.
# Needs protoc (Debian's protobuf-compiler, installed on demand). Off CI, a
# machine that cannot install it skips the check with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v protoc >/dev/null && ! { apt-get install -y -qq protobuf-compiler >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq protobuf-compiler >/dev/null 2>&1; }; }; then
  if [ "${CI:-}" = "true" ]; then echo "gen-check: protoc is required under CI=true and could not be installed" >&2; exit 1; fi
  echo "gen-check: skipped: protoc is not installed (apt-get install protobuf-compiler)" >&2
  exit 0
fi
scripts/gen-proto.sh >/dev/null
if ! git diff --quiet -- api; then
  echo "gen-check: generated code in api/ is stale; run 'make gen' and commit:" >&2
  git --no-pager diff --stat -- api >&2
  exit 1
fi
echo "gen-check: generated code is up to date"
