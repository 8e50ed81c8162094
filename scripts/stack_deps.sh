#!/usr/bin/env bash
# Debian packages of the production stack (docs/production.md): PostgreSQL (Airflow's
# metadata database) and Redis (the Celery broker). Idempotent; run as root. Used by
# `scripts/stack.sh up` and by `scripts/test.sh` (the suite's one stack test).
set -euo pipefail
need_apt=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need_apt+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "stack: installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
