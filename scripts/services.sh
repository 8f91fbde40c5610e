#!/usr/bin/env bash
# services.sh makes sure the services the integration tests use are running on
# this machine: PostgreSQL at 127.0.0.1:5432 and RabbitMQ at 127.0.0.1:5672. It
# starts an installed but stopped service; it never installs one. Under CI=true a missing service fails
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
rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if ! rabbit_up && command -v rabbitmq-server >/dev/null; then
  echo "services: starting RabbitMQ"
  (rabbitmq-server -detached >/dev/null 2>&1 || true)
  for _ in $(seq 1 60); do rabbit_up && break; sleep 0.5; done
fi
if rabbit_up; then
  echo "services: RabbitMQ is up at 127.0.0.1:5672"
else
  echo "services: RabbitMQ is not reachable at 127.0.0.1:5672; the AMQP tests will skip (or fail under CI=true)"
fi
exit 0
