#!/usr/bin/env bash
# The production stack's fault tests (tests/deploy/test_stack_faults.py, marker deploy):
# a whole stack on free loopback ports, a Celery worker killed mid-run, the scheduler
# stopped for 2.5 min, PostgreSQL and Redis stopped for 30 s, seismo stream killed during
# an event, backup and restore. About 15 minutes on 2 cores, as root; their timings go to
# var/stack_faults.json. Not part of scripts/test.sh (CI's 30-minute budget).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
need_apt=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need_apt+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
export PATH="$ROOT/.venv/bin:$PATH"
exec python -m pytest -m deploy tests/deploy -v -s "$@"
