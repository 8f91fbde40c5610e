#!/usr/bin/env bash
# services.sh makes sure the services the integration tests use are running on
# this machine: PostgreSQL at 127.0.0.1:5432. It starts an installed but stopped
# cluster; it never installs a database. Under CI=true a missing service fails
# the tests that need it (they say so); elsewhere those tests skip.
set -uo pipefail
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
    echo "services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  fi
fi
if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "services: PostgreSQL is up at 127.0.0.1:5432"
else
  echo "services: PostgreSQL is not reachable at 127.0.0.1:5432; its tests will skip (or fail under CI=true)"
fi
exit 0
