#!/usr/bin/env bash
# mailpit.sh prints the path of a Mailpit binary (a real SMTP server with an
# HTTP API) for the e-mail integration tests (internal/testsmtp), building it
# only when none is available:
#   1. `mailpit` on PATH, if it reports v1.x;
#   2. bin/mailpit in the repository, if it exists;
#   3. otherwise it builds bin/mailpit from the pinned tools module
#      (tools/mailpit, github.com/axllent/mailpit v1.33.1). The first build
#      takes under a minute on two cores (measured: 44s with an empty build
#      cache); later runs reuse bin/mailpit.
# stdout carries only the path; progress and errors go to stderr. Exits
# non-zero when no binary can be found or built.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "mailpit.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

version_of() { "$1" version --no-release-check 2>/dev/null | head -1 || true; }

if path="$(command -v mailpit 2>/dev/null)"; then
  version="$(version_of "$path")"
  case "$version" in
    *"mailpit v1."*)
      log "using $path ($version)"
      echo "$path"
      exit 0
      ;;
    *)
      log "ignoring $path: want mailpit v1.x, it reports '${version:-nothing}'"
      ;;
  esac
fi

bin="$root/bin/mailpit"
if [ -x "$bin" ]; then
  log "using $bin"
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || die "go is not on PATH; cannot build $bin"
[ -f "$root/tools/mailpit/go.mod" ] || die "$root/tools/mailpit/go.mod is missing; cannot build $bin"
mkdir -p "$root/bin"
# Several test packages may ask at once: let one build while the others wait
# for it, then reuse its result.
if command -v flock >/dev/null; then
  exec 9>"$root/bin/.mailpit.lock"
  if ! flock -n 9; then
    log "another mailpit.sh is building $bin; waiting for it (at most 10 minutes)"
    flock -w 600 9 || die "timed out waiting for the other build of $bin"
  fi
  if [ -x "$bin" ]; then
    log "using $bin (built meanwhile)"
    echo "$bin"
    exit 0
  fi
fi
modversion="$(cd "$root/tools/mailpit" && go list -m -f '{{.Version}}' github.com/axllent/mailpit)"
log "building $bin from tools/mailpit (github.com/axllent/mailpit $modversion); the first build takes about a minute"
start=$SECONDS
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# Build into a temporary file and rename, so an interrupted build never leaves
# a truncated bin/mailpit that later runs would mistake for a good one.
if ! (cd "$root/tools/mailpit" && go build -o "$tmp" \
      -ldflags "-X github.com/axllent/mailpit/config.Version=$modversion" \
      github.com/axllent/mailpit) >&2; then
  die "go build of github.com/axllent/mailpit failed (see above)"
fi
mv -f "$tmp" "$bin"
trap - EXIT
version="$(version_of "$bin")"
case "$version" in
  *"mailpit v1."*) ;;
  *) die "built $bin but it reports '${version:-nothing}', not mailpit v1.x" ;;
esac
log "built $bin ($version) in $((SECONDS - start))s"
echo "$bin"
