#!/usr/bin/env bash
# consul.sh prints the path of a Consul v1.14.x binary for the integration
# tests (internal/testconsul), building it only when none is available:
#   1. `consul` on PATH, if it reports v1.14.x;
#   2. bin/consul in the repository, if it exists;
#   3. otherwise it builds bin/consul from the pinned tools module
#      (tools/consul, github.com/hashicorp/consul v1.14.11). The first build
#      takes about 5 minutes on two cores; later runs reuse bin/consul.
# stdout carries only the path; progress and errors go to stderr. Exits
# non-zero when no binary can be found or built.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "consul.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

if path="$(command -v consul 2>/dev/null)"; then
  version="$("$path" version 2>/dev/null | head -1 || true)"
  case "$version" in
    "Consul v1.14."*)
      log "using $path ($version)"
      echo "$path"
      exit 0
      ;;
    *)
      log "ignoring $path: want Consul v1.14.x, it reports '${version:-nothing}'"
      ;;
  esac
fi

bin="$root/bin/consul"
if [ -x "$bin" ]; then
  log "using $bin"
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || die "go is not on PATH; cannot build $bin"
[ -f "$root/tools/consul/go.mod" ] || die "$root/tools/consul/go.mod is missing; cannot build $bin"
mkdir -p "$root/bin"
# Several test packages may ask at once (go test runs them in parallel): let
# one build while the others wait for it, then reuse its result.
if command -v flock >/dev/null; then
  exec 9>"$root/bin/.consul.lock"
  if ! flock -n 9; then
    log "another consul.sh is building $bin; waiting for it (at most 20 minutes)"
    flock -w 1200 9 || die "timed out waiting for the other build of $bin"
  fi
  if [ -x "$bin" ]; then
    log "using $bin (built meanwhile)"
    echo "$bin"
    exit 0
  fi
fi
log "building $bin from tools/consul (github.com/hashicorp/consul v1.14.11); the first build takes about 5 minutes"
start=$SECONDS
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# Build into a temporary file and rename, so an interrupted build never leaves
# a truncated bin/consul that later runs would mistake for a good one.
if ! (cd "$root/tools/consul" && go build -o "$tmp" github.com/hashicorp/consul) >&2; then
  die "go build of github.com/hashicorp/consul failed (see above)"
fi
mv -f "$tmp" "$bin"
trap - EXIT
version="$("$bin" version 2>/dev/null | head -1 || true)"
case "$version" in
  "Consul v1.14."*) ;;
  *) die "built $bin but it reports '${version:-nothing}', not Consul v1.14.x" ;;
esac
log "built $bin ($version) in $((SECONDS - start))s"
echo "$bin"
